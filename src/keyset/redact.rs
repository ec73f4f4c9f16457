//! Key set errors never quote a secret (nor do the errors of the other readers of JSON that
//! holds secrets: [`redact_message`]).
//!
//! A message may quote a value of the document (`expected "hmac-sha256" or "ed25519", found
//! "..."`), and a secret written into the wrong field — an HMAC secret as `alg`, a private key
//! as a `status` — would be quoted with it, into CI logs, CLI output and push responses. So
//! before a refused key set's errors leave the validator, every string the document holds as
//! a secret (a `secret`, a JWK's `k` or `d`, wherever they stand) is blanked out of every
//! message and path (a path names members: a secret pasted as a member name). So is every
//! key text that says what it is, under whatever member it was pasted (as a value, a member
//! name, or after other text): a Standard Webhooks secret or private key (`whsec_`, `whsk_`)
//! and an API key in keygate's format (its checksum matches). Valid documents cost nothing; a
//! refused one is read once more, streaming, keeping only those strings.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroizing;

use super::KeysetError;

/// Members whose string values are secrets wherever they appear.
const SECRET_MEMBERS: [&str; 3] = ["secret", "k", "d"];
/// Shorter values are left alone: blanking them would blank ordinary words. (A usable HMAC
/// secret or Ed25519 private key is at least 43 base64url characters.)
const MIN_LEN: usize = 8;
/// What a message shows instead.
const SHOWN: &str = "<secret>";
/// Prefixes that make a string a secret wherever it stands: a Standard Webhooks v1 secret and
/// a v1a private key (`crate::webhook`), which say what they are.
const SECRET_PREFIXES: [&str; 2] = ["whsec_", "whsk_"];

/// Adds to `out` every key text `s` holds that is a secret by its own form, wherever it starts
/// in `s` (the whole value, a member name, or a word after other text): each run of base64
/// characters and `_` that starts with a prefix of [`SECRET_PREFIXES`], or that is an API key
/// in keygate's format (a bearer secret, told from other words by its checksum).
fn secrets_by_form(s: &str, out: &mut Vec<Zeroizing<String>>) {
    for run in s
        .as_bytes()
        .split(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'/' | b'=')))
    {
        // ASCII only: always text.
        let Ok(run) = std::str::from_utf8(run) else {
            continue;
        };
        if run.len() < MIN_LEN {
            continue;
        }
        if SECRET_PREFIXES.iter().any(|p| run.starts_with(p))
            || crate::apikey::classify(run) == crate::apikey::Shape::Valid
        {
            out.push(Zeroizing::new(run.to_string()));
        }
    }
}

/// Blanks every secret string of `doc` out of `errors`' messages.
pub(super) fn redact(doc: &[u8], errors: &mut [KeysetError]) {
    if errors.is_empty() {
        return;
    }
    let secrets = secrets_of(doc, &SECRET_MEMBERS);
    for e in errors {
        blank(&secrets, &mut e.message);
        // A path names the document's members: a secret pasted as a member name too.
        blank(&secrets, &mut e.path);
    }
}

/// Blanks out of `message` every string that `doc` (JSON) holds under one of `members`, at
/// any depth: for the other readers of JSON that holds secrets (publisher secrets and keys,
/// seal keys), whose messages may quote a member's value (`JWK alg "..."`).
pub(crate) fn redact_message(doc: &[u8], members: &[&str], message: &mut String) {
    blank(&secrets_of(doc, members), message);
}

/// The strings `doc` holds under one of `members`, longest first (so that a secret that
/// contains another is blanked whole).
fn secrets_of(doc: &[u8], members: &[&str]) -> Vec<Zeroizing<String>> {
    let mut secrets: Vec<Zeroizing<String>> = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(doc);
    // A syntax error ends the walk; what was collected before it still counts.
    let _ = Walk(&mut secrets, false, members).deserialize(&mut de);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

fn blank(secrets: &[Zeroizing<String>], message: &mut String) {
    for s in secrets {
        let quoted = format!("{:?}", s.as_str());
        let escaped = &quoted[1..quoted.len() - 1];
        for form in [s.as_str(), escaped] {
            if message.contains(form) {
                *message = message.replace(form, SHOWN);
            }
        }
    }
}

/// Walks a JSON value; `.1` is set for the value of a secret member (one of `.2`).
struct Walk<'a, 'm>(&'a mut Vec<Zeroizing<String>>, bool, &'m [&'m str]);

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.1 && v.len() >= MIN_LEN {
            self.0.push(Zeroizing::new(v.to_string()));
        }
        secrets_by_form(v, self.0);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            secrets_by_form(&key, self.0);
            let secret = self.2.contains(&&*key);
            map.next_value_seed(Walk(&mut *self.0, secret, self.2))?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk(&mut *self.0, false, self.2))?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(doc: &str) -> Vec<String> {
        crate::KeySet::from_json(doc.as_bytes())
            .unwrap_err()
            .errors()
            .iter()
            .map(|e| e.message.clone())
            .collect()
    }

    const SECRET: &str = "JCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQ";

    #[test]
    fn a_secret_in_the_wrong_field_is_not_quoted() {
        // The secret pasted as the algorithm, next to it, and as another key's status.
        let doc = format!(
            r#"{{"keygate":1,"revision":1,"keys":[
                {{"id":"a","signing":{{"alg":"x{SECRET}","secret":"{SECRET}"}}}},
                {{"id":"b","status":"{SECRET}","api_key_hash":"sha256:c_IXt8EU6r1ESm28lL8hl8M-wbpxl-nrKyVLI1DsF9M"}}]}}"#
        );
        let errors = errors_of(&doc);
        assert_eq!(errors.len(), 2, "{errors:?}");
        for e in &errors {
            assert!(!e.contains(SECRET), "{e}");
            assert!(e.contains(SHOWN), "{e}");
        }
        assert!(errors[0].contains("found \"x<secret>\""), "{errors:?}");
    }

    #[test]
    fn private_jwk_members_and_escapes() {
        let d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
        let doc = format!(
            r#"{{"keygate":1,"revision":1,"keys":[{{"id":"a","status":"{d}",
                "signing":{{"alg":"ed25519","jwk":{{"kty":"OKP","crv":"Ed25519","x":"AA","d":"{d}"}}}}}}]}}"#
        );
        assert!(errors_of(&doc).iter().all(|e| !e.contains(d)));
        let mut errors = vec![KeysetError {
            path: "$".into(),
            message: "found \"a\\\"b-secret-with-quote\"".into(),
        }];
        redact(br#"{"secret":"a\"b-secret-with-quote"}"#, &mut errors);
        assert_eq!(errors[0].message, "found \"<secret>\"");
    }

    #[test]
    fn short_values_and_valid_documents_are_left_alone() {
        let mut errors = vec![KeysetError {
            path: "$".into(),
            message: "expected an object".into(),
        }];
        redact(br#"{"secret":"object"}"#, &mut errors);
        assert_eq!(errors[0].message, "expected an object");
        redact(b"{not json", &mut errors);
        assert_eq!(errors[0].message, "expected an object");
    }
}
