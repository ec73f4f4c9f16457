//! The `envelope` target: signed envelopes (JWS JSON serialization, EdDSA) for each document
//! kind a verifier loads (key set, delta, manifest), and the publisher key texts
//! (`PublisherKeys::parse`, `PublisherSecret::parse`).
//!
//! Input: one selector byte (`% 5`: 0 key set, 1 delta, 2 manifest loaded from the input as
//! an envelope with pinned publisher keys; 3 publisher keys text; 4 publisher secret text),
//! then the text. Properties, beyond "never panics":
//! - an accepted envelope verifies, read independently (serde_json, a strict base64url
//!   decoder, `ed25519-dalek`'s `verify_strict`): one of its signatures, over exactly
//!   `protected || "." || payload` of the input, under a pinned key; its JSON names no member
//!   twice; the document loaded is its payload, which loads bare to the same thing;
//! - a refused one gets a stable code and status, and its message shows no secret of the text;
//! - publisher keys parse to distinct kids, and each key's JWK (`to_jwk`) reads back to the
//!   same key and kid; a parsed publisher secret signs an envelope that its public key
//!   verifies, and no error or `Debug` shows the private key text.

use ed25519_dalek::{Signature, VerifyingKey};
use keygate::{
    Delta, KeySet, LoadError, LoadOptions, Manifest, PublisherKeys, PublisherSecret, Unseal,
    load_delta, load_keyset_with, load_manifest, sign_envelope,
};
use serde_json::Value;

use crate::keysets::{PINNED, has_duplicate_members, no_secret_shown};

const CODES: [&str; 4] = [
    "envelope_invalid",
    "envelope_signature_invalid",
    "keyset_invalid",
    "publisher_keys_missing",
];

pub fn run(data: &[u8]) {
    let Some((&sel, doc)) = data.split_first() else {
        return;
    };
    match sel % 5 {
        k @ 0..=2 => envelope(k, doc),
        3 => publisher_keys(doc),
        _ => publisher_secret(doc),
    }
}

/// Strict base64url without padding: the alphabet only, and no bits set beyond the last
/// byte (one text per byte string).
pub fn b64url(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let b = s.as_bytes();
    if b.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() * 3 / 4);
    for chunk in b.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = acc << 6 | val(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            3 => {
                if acc & 3 != 0 {
                    return None;
                }
                out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]);
            }
            2 => {
                if acc & 15 != 0 {
                    return None;
                }
                out.push((acc >> 4) as u8);
            }
            _ => {}
        }
    }
    Some(out)
}

/// Whether some signature of the envelope verifies under a pinned key, read independently.
/// Returns the payload then.
fn verifies(doc: &[u8]) -> Option<Vec<u8>> {
    let v: Value = serde_json::from_slice(doc).ok()?;
    let top = v.as_object()?;
    let payload_b64 = top.get("payload")?.as_str()?;
    let entries: Vec<&serde_json::Map<String, Value>> = match top.get("signatures") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).collect(),
        _ => vec![top],
    };
    for e in entries {
        let Some(protected_b64) = e.get("protected").and_then(Value::as_str) else {
            continue;
        };
        let Some(sig) = e
            .get("signature")
            .and_then(Value::as_str)
            .and_then(b64url)
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
        else {
            continue;
        };
        let sig = Signature::from_bytes(&sig);
        let input = format!("{protected_b64}.{payload_b64}");
        for k in PINNED.keys() {
            let Some(raw) = b64url(&k.public_key_b64()).and_then(|b| <[u8; 32]>::try_from(b).ok())
            else {
                continue;
            };
            let Ok(key) = VerifyingKey::from_bytes(&raw) else {
                continue;
            };
            if key.verify_strict(input.as_bytes(), &sig).is_ok() {
                return b64url(payload_b64);
            }
        }
    }
    None
}

fn envelope(kind: u8, doc: &[u8]) {
    let opts = LoadOptions::new().publisher_keys(Some(&PINNED));
    let loaded: Result<Vec<u8>, LoadError> = match kind {
        0 => load_keyset_with(doc, &opts).map(|ks| {
            // The payload is found again below; here the set it gave.
            format!("{}", ks.revision()).into_bytes()
        }),
        1 => load_delta(doc, &opts).map(|d| format!("{}", d.revision()).into_bytes()),
        _ => load_manifest(doc, &opts).map(|(m, payload)| {
            assert!(
                Manifest::from_json(&payload, Unseal::Refuse)
                    .is_ok_and(|b| b.revision() == m.revision())
            );
            format!("{}", m.revision()).into_bytes()
        }),
    };
    match loaded {
        Ok(revision) => {
            assert!(
                !has_duplicate_members(doc),
                "accepted an envelope naming a member twice"
            );
            let payload = verifies(doc).unwrap_or_else(|| {
                panic!(
                    "accepted an envelope that does not verify: {}",
                    String::from_utf8_lossy(doc)
                )
            });
            let bare = match kind {
                0 => KeySet::from_json(&payload).map(|ks| ks.revision()).ok(),
                1 => Delta::from_json(&payload).map(|d| d.revision()).ok(),
                _ => Manifest::from_json(&payload, Unseal::Refuse)
                    .map(|m| m.revision())
                    .ok(),
            };
            assert_eq!(
                bare.map(|r| r.to_string().into_bytes()),
                Some(revision),
                "the payload does not load bare to the same document"
            );
        }
        Err(e) => {
            assert!(CODES.contains(&e.code()), "{}", e.code());
            assert!([400, 401].contains(&e.http_status()));
            let shown = format!("{e} {e:?}");
            assert!(!shown.is_empty());
            no_secret_shown(doc, &shown);
            if let Some(payload) = verifies(doc).filter(|_| !has_duplicate_members(doc)) {
                no_secret_shown(&payload, &shown);
            }
        }
    }
}

fn publisher_keys(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(keys) = PublisherKeys::parse(text) else {
        return;
    };
    let list = keys.keys();
    assert!(!list.is_empty());
    for (i, k) in list.iter().enumerate() {
        assert!(
            list[..i].iter().all(|o| o.kid() != k.kid()),
            "kid {:?} twice",
            k.kid()
        );
        let jwk = k.to_jwk();
        let again = PublisherKeys::from_json(&jwk)
            .unwrap_or_else(|e| panic!("a key's own JWK is refused: {e} ({jwk})"));
        let again = &again.keys()[0];
        assert_eq!(again.kid(), k.kid(), "{jwk}");
        assert_eq!(again.public_key_b64(), k.public_key_b64());
        let raw = PublisherKeys::parse(&k.public_key_b64()).expect("raw key text reads");
        assert_eq!(raw.keys()[0].public_key_b64(), k.public_key_b64());
    }
}

/// The texts of a publisher secret that are secret: the whole bare text (when it is written
/// like a key), or the private key members of a JSON one.
fn secret_texts(t: &str) -> Vec<String> {
    let t = t.trim();
    if !t.starts_with('{') {
        // Key text is base64url; other text (words of a message, as the fuzzer tries) is not
        // a secret the message could leak.
        let key_like = t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+/=".contains(&b));
        return if key_like {
            vec![t.to_string()]
        } else {
            Vec::new()
        };
    }
    let Ok(Value::Object(o)) = serde_json::from_str::<Value>(t) else {
        return Vec::new();
    };
    ["d", "private_key", "key", "signing_key"]
        .iter()
        .filter_map(|m| o.get(*m).and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn publisher_secret(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let secrets: Vec<String> = secret_texts(text)
        .into_iter()
        .filter(|s| s.len() >= 16)
        .collect();
    match PublisherSecret::parse(text) {
        Err(e) => {
            let shown = format!("{e} {e:?}");
            for s in &secrets {
                assert!(
                    !shown.contains(s.as_str()),
                    "a private key is shown: {shown}"
                );
            }
        }
        Ok(secret) => {
            let shown = format!("{secret:?}");
            for s in &secrets {
                assert!(
                    !shown.contains(s.as_str()),
                    "Debug shows the private key: {shown}"
                );
            }
            let doc = br#"{"keygate":1,"revision":3,"keys":[]}"#;
            let env = sign_envelope(doc, &secret).to_string();
            let pinned = PublisherKeys::new(vec![secret.public_key()]).expect("one key");
            let ks = load_keyset_with(
                env.as_bytes(),
                &LoadOptions::new().publisher_keys(Some(&pinned)),
            )
            .unwrap_or_else(|e| panic!("an envelope the secret signed is refused: {e}"));
            assert_eq!(ks.revision(), 3);
            assert_eq!(secret.public_key().kid(), secret.kid());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate::encoding_util::b64url_encode;

    #[test]
    fn strict_base64url_reads_what_is_written() {
        for n in 0..70u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64url(&b64url_encode(&bytes)), Some(bytes));
        }
        assert_eq!(b64url("AB"), None, "bits beyond the byte");
        assert_eq!(b64url("A"), None);
        assert_eq!(b64url("AA=="), None);
    }

    #[test]
    fn envelope_vectors_run() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/envelopes/envelopes.json"))
                .unwrap();
        let mut accepted = 0;
        for c in vectors["cases"].as_array().unwrap() {
            let env = match &c["envelope"] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let mut input = vec![0u8];
            input.extend(env.bytes());
            run(&input);
            accepted += usize::from(verifies(env.as_bytes()).is_some());
        }
        assert!(accepted >= 1);
        let secret = PublisherSecret::from_seed(&[9; 32], None);
        let env = sign_envelope(br#"{"keygate":1,"revision":1,"keys":[]}"#, &secret);
        assert!(
            verifies(env.to_string().as_bytes()).is_none(),
            "not a pinned key"
        );
        for t in [
            b64url_encode(&[9; 32]),
            format!(
                "{{\"d\":\"{}\",\"kty\":\"OKP\",\"crv\":\"Ed25519\"}}",
                b64url_encode(&[9; 32])
            ),
            "nope".into(),
        ] {
            let mut input = vec![4u8];
            input.extend(t.bytes());
            run(&input);
        }
    }
}
