//! Checking an envelope's signatures over the exact `protected.payload` text of the input.

use ed25519_dalek::{Signature, StreamVerifier, VerifyingKey};

use super::{Entry, Envelope, LoadError, MAX_SIGNATURES};
use crate::encoding::b64url_decode;
use crate::keyset::publisher::PublisherKeys;

/// Ed25519 verification as strict as `VerifyingKey::verify_strict` (no small-order public key
/// or `R`, canonical `s`), over a message given in parts, so that the signing input
/// `protected || '.' || payload` is hashed straight from the envelope text, never copied.
pub(crate) fn verify_strict_parts(key: &VerifyingKey, parts: &[&[u8]], sig: &Signature) -> bool {
    let Some(mut v) = strict_stream(key, sig) else {
        return false;
    };
    for p in parts {
        v.update(p);
    }
    v.finalize_and_verify().is_ok()
}

/// A streaming Ed25519 verifier for `sig` under `key` with `verify_strict`'s checks made up
/// front (dalek's stream skips the small-order checks): `None` when the key or `R` is of
/// small order, or `s` is not canonical. Feed it the message, then `finalize_and_verify`.
pub(crate) fn strict_stream(key: &VerifyingKey, sig: &Signature) -> Option<StreamVerifier> {
    if key.is_weak() {
        return None;
    }
    match VerifyingKey::from_bytes(sig.r_bytes()) {
        Ok(r) if !r.is_weak() => {}
        _ => return None,
    }
    // `verify_stream` refuses a non-canonical `s`, as `verify_strict` does.
    key.verify_stream(sig).ok()
}

impl Envelope<'_> {
    /// Verifies the envelope against pinned keys and only then decodes the payload, which it
    /// returns. A `kid` selects its key (a `kid` naming no pinned key is refused); without one,
    /// every key is tried. The envelope passes when any one signature verifies.
    pub fn verify(&self, keys: &PublisherKeys) -> Result<Vec<u8>, LoadError> {
        // Each verification hashes the whole payload: bound how many an envelope may cause
        // (enough for one kid-less signature to meet every pinned key once).
        let mut budget = MAX_SIGNATURES.max(keys.keys().len());
        let mut reasons = Vec::new();
        for (i, s) in self.signatures.iter().enumerate() {
            match self.check(s, keys, &mut budget) {
                Ok(()) => return Ok(self.unverified_payload()),
                Err(r) => reasons.push(if self.signatures.len() > 1 {
                    format!("signature {i}: {r}")
                } else {
                    r
                }),
            }
        }
        Err(LoadError::SignatureInvalid(reasons.join("; ")))
    }

    /// The payload bytes, decoded without checking any signature (for inspection and
    /// hashing only: never trust them).
    pub fn unverified_payload(&self) -> Vec<u8> {
        // Its base64url was checked when the envelope was read.
        b64url_decode(&self.payload_b64).unwrap_or_default()
    }

    fn check(&self, s: &Entry<'_>, keys: &PublisherKeys, budget: &mut usize) -> Result<(), String> {
        match s.alg.as_deref() {
            Some("EdDSA" | "Ed25519") => {}
            Some(other) => return Err(format!("algorithm {other:?} is not accepted (only EdDSA)")),
            None => return Err("the protected header has no \"alg\"".into()),
        }
        if s.crit {
            return Err("\"crit\" header parameters are not supported".into());
        }
        if s.b64_false {
            return Err("unencoded payloads (\"b64\": false) are not supported".into());
        }
        let Some(sig) = s.signature else {
            return Err("an Ed25519 signature is 64 bytes".into());
        };
        let sig = Signature::from_bytes(&sig);
        let input: [&[u8]; 3] = [
            s.protected_b64.as_bytes(),
            b".",
            self.payload_b64.as_bytes(),
        ];
        let candidates: Vec<_> = match &s.kid {
            Some(kid) => match keys.get(kid) {
                Some(k) => vec![k],
                None => return Err(format!("kid {kid:?} names no pinned publisher key")),
            },
            None => keys.keys().iter().collect(),
        };
        for k in candidates {
            if *budget == 0 {
                return Err("too many signature checks for one envelope".into());
            }
            *budget -= 1;
            if verify_strict_parts(&k.key, &input, &sig) {
                return Ok(());
            }
        }
        Err("the signature does not verify with the pinned publisher key(s)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::hex;

    /// Every Wycheproof Ed25519 vector gets the same verdict from the streaming verifier as
    /// from `verify_strict` (and a valid one also verifies with its message in parts).
    #[test]
    fn streaming_is_as_strict_as_verify_strict() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/vectors/wycheproof/ed25519_test.json"
        ))
        .unwrap();
        let mut n = 0;
        for g in doc["testGroups"].as_array().unwrap() {
            let pk: [u8; 32] = hex(g["publicKey"]["pk"].as_str().unwrap())
                .try_into()
                .unwrap();
            let Ok(key) = VerifyingKey::from_bytes(&pk) else {
                continue;
            };
            for t in g["tests"].as_array().unwrap() {
                let msg = hex(t["msg"].as_str().unwrap());
                let Ok(sig) = <[u8; 64]>::try_from(hex(t["sig"].as_str().unwrap()).as_slice())
                else {
                    continue;
                };
                let sig = Signature::from_bytes(&sig);
                let strict = key.verify_strict(&msg, &sig).is_ok();
                assert_eq!(
                    verify_strict_parts(&key, &[&msg], &sig),
                    strict,
                    "tcId {}",
                    t["tcId"]
                );
                if strict {
                    let (a, b) = msg.split_at(msg.len() / 3);
                    let (b, c) = b.split_at(b.len() / 2);
                    assert!(verify_strict_parts(&key, &[a, b, c, &[]], &sig));
                }
                if t["result"] == "valid" {
                    assert!(strict, "tcId {}", t["tcId"]);
                }
                n += 1;
            }
        }
        assert!(n > 100, "{n} vectors");
    }
}
