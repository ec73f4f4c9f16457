//! How a key entry holds its secrets — in clear text or sealed (`crate::seal`) — and the
//! opening of a sealed value at its JSON path while the set is read.
//!
//! A sealed value's plaintext is exactly the text the clear field would hold, so the field's own
//! parser judges both. Errors say what is wrong with the plaintext by length and offset only.

use serde_json::Value;
use zeroize::Zeroizing;

use super::ctx::Ctx;
use crate::json::JsonPath;
use crate::seal::Unseal;

/// How one secret of a key entry is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Form {
    /// The entry has no such secret (or a public key).
    #[default]
    None,
    /// In clear text, at this member below the credential (`secret`, `jwk.k`).
    Clear(&'static str),
    /// Sealed under seal key `kid`; `opened` is false when the set was read by form only.
    Sealed { kid: Box<str>, opened: bool },
}

/// The forms of a key entry's secrets (`None` on the entry when it has none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SecretForms {
    pub(crate) signing: Form,
    pub(crate) webhook: Form,
}

impl SecretForms {
    pub(crate) fn boxed(self) -> Option<Box<SecretForms>> {
        (self != SecretForms::default()).then(|| Box::new(self))
    }
}

/// A sealed value as read.
pub(super) enum Sealed {
    /// Opened: the plaintext text (wiped on drop).
    Opened(Zeroizing<String>, Box<str>),
    /// Checked by form only: it verifies nothing.
    Unopened(Box<str>),
}

impl Sealed {
    pub(super) fn form(&self) -> Form {
        match self {
            Sealed::Opened(_, kid) => Form::Sealed {
                kid: kid.clone(),
                opened: true,
            },
            Sealed::Unopened(kid) => Form::Sealed {
                kid: kid.clone(),
                opened: false,
            },
        }
    }
}

/// Reads the sealed value at `path` as the load's [`Unseal`] mode says: opened, checked by
/// form only, or refused (recorded at `path`).
pub(super) fn open(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Option<Sealed> {
    let text = cx.string(v, path)?;
    let refuse = |cx: &mut Ctx<'_>, m: String| {
        cx.err(path, m);
        None
    };
    match cx.unseal {
        Unseal::Refuse => refuse(
            cx,
            "a sealed secret needs the seal keys to open it (--seal-key, sealKeys or KEYGATE_SEAL_KEYS)".into(),
        ),
        Unseal::FormOnly => match crate::seal::jwe::Jwe::parse(text) {
            Ok(jwe) => Some(Sealed::Unopened(jwe.kid.into())),
            Err(e) => refuse(cx, e),
        },
        Unseal::Keys(keys) => {
            let jwe = match crate::seal::jwe::Jwe::parse(text) {
                Ok(jwe) => jwe,
                Err(e) => return refuse(cx, e),
            };
            let plain = match keys.open_jwe(&jwe) {
                Ok(p) => p,
                Err(e) => return refuse(cx, e),
            };
            match std::str::from_utf8(&plain) {
                Ok(s) => Some(Sealed::Opened(Zeroizing::new(s.to_string()), jwe.kid.into())),
                Err(e) => refuse(
                    cx,
                    format!(
                        "the sealed value decrypts to bytes that are not UTF-8 text (byte {})",
                        e.valid_up_to()
                    ),
                ),
            }
        }
    }
}

/// An error about a sealed value's plaintext, as reported at the `sealed` member.
pub(super) fn plaintext_error(e: &str) -> String {
    format!("the sealed value decrypts to an invalid secret: {e}")
}
