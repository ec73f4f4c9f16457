//! JWE compact serialization (RFC 7516 §7.1) with `alg: "dir"` and `enc: "A256GCM"` (RFC 7518
//! §4.5, §5.3): the only form a sealed secret takes.
//!
//! `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`: the
//! encrypted key is empty (the seal key is used directly), the IV is 96 bits, the tag 128, and
//! the additional authenticated data is the ASCII of the header's base64url text as written, so
//! the header (and the `kid` in it) is bound by the tag. Any JOSE library writes this form;
//! member order in the header is free. Errors name the part and never a byte of a plaintext.

use aes_gcm::aead::AeadInOut as _;
use aes_gcm::{Aes256Gcm, KeyInit as _};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::encoding::{b64url_decode, b64url_encode};
use crate::json::parse_strict;

/// The longest protected header accepted, decoded.
pub(crate) const MAX_HEADER_BYTES: usize = 1024;
/// The longest ciphertext accepted (a sealed secret is at most a 1024-byte HMAC key as text).
pub(crate) const MAX_CIPHERTEXT_BYTES: usize = 2048;
/// The longest `kid`.
pub(crate) const MAX_KID_LEN: usize = 128;

/// A JWE read from its text, not yet decrypted.
pub(crate) struct Jwe<'a> {
    header_b64: &'a str,
    pub(crate) kid: String,
    iv: [u8; 12],
    ciphertext: Vec<u8>,
    tag: [u8; 16],
}

fn part<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let b = b64url_decode(text).map_err(|e| format!("JWE {what}: {e}"))?;
    let n = b.len();
    b.try_into()
        .map_err(|_| format!("JWE {what}: {N} bytes for A256GCM, found {n}"))
}

impl<'a> Jwe<'a> {
    /// Reads the compact serialization and its protected header.
    pub(crate) fn parse(text: &'a str) -> Result<Jwe<'a>, String> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 5 {
            return Err(format!(
                "expected a JWE in compact serialization (5 base64url parts separated by '.'), found {} part{}",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" }
            ));
        }
        let [header_b64, key, iv, ciphertext, tag] =
            [parts[0], parts[1], parts[2], parts[3], parts[4]];
        if header_b64.len() > MAX_HEADER_BYTES * 4 / 3 + 3 {
            return Err(format!(
                "JWE protected header: longer than {MAX_HEADER_BYTES} bytes"
            ));
        }
        let header = b64url_decode(header_b64).map_err(|e| format!("JWE protected header: {e}"))?;
        let kid = read_header(&header)?;
        if !key.is_empty() {
            return Err(
                "JWE encrypted key: must be empty for alg \"dir\" (the seal key is used directly)"
                    .into(),
            );
        }
        let iv = part::<12>(iv, "initialization vector")?;
        if ciphertext.len() > MAX_CIPHERTEXT_BYTES * 4 / 3 + 3 {
            return Err(format!(
                "JWE ciphertext: longer than {MAX_CIPHERTEXT_BYTES} bytes"
            ));
        }
        let ciphertext = b64url_decode(ciphertext).map_err(|e| format!("JWE ciphertext: {e}"))?;
        // The text bound above lets one byte more through: the exact bound is on the bytes.
        if ciphertext.len() > MAX_CIPHERTEXT_BYTES {
            return Err(format!(
                "JWE ciphertext: longer than {MAX_CIPHERTEXT_BYTES} bytes"
            ));
        }
        if ciphertext.is_empty() {
            return Err("JWE ciphertext: empty (nothing is sealed)".into());
        }
        let tag = part::<16>(tag, "authentication tag")?;
        Ok(Jwe {
            header_b64,
            kid,
            iv,
            ciphertext,
            tag,
        })
    }

    /// Decrypts with `key`; `None` when the tag does not verify (a wrong key, or an altered
    /// header, IV, ciphertext or tag: AES-GCM cannot tell them apart, and says nothing more).
    pub(crate) fn open(&self, cipher: &Aes256Gcm) -> Option<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(self.ciphertext.clone());
        cipher
            .decrypt_inout_detached(
                (&self.iv).into(),
                self.header_b64.as_bytes(),
                buf.as_mut_slice().into(),
                (&self.tag).into(),
            )
            .ok()?;
        Some(buf)
    }
}

/// The protected header: `alg: "dir"`, `enc: "A256GCM"` and a `kid` are required; `zip` and
/// `crit` are refused (keygate neither decompresses nor knows any extension); other members
/// (`typ`, `cty`, ...) are ignored, as RFC 7515 §4 asks. Returns the kid.
fn read_header(bytes: &[u8]) -> Result<String, String> {
    let v = parse_strict(bytes).map_err(|e| format!("JWE protected header: invalid JSON: {e}"))?;
    let Value::Object(h) = v else {
        return Err("JWE protected header: expected a JSON object".into());
    };
    let member = |name: &str| -> Result<Option<&str>, String> {
        match h.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("JWE protected header: {name:?} must be a string")),
        }
    };
    match member("alg")? {
        Some("dir") => {}
        Some(other) => {
            return Err(format!(
                "JWE protected header: alg {other:?} is not supported (a sealed secret uses \"dir\")"
            ));
        }
        None => return Err("JWE protected header: \"alg\" missing (expected \"dir\")".into()),
    }
    match member("enc")? {
        Some("A256GCM") => {}
        Some(other) => {
            return Err(format!(
                "JWE protected header: enc {other:?} is not supported (a sealed secret uses \"A256GCM\")"
            ));
        }
        None => return Err("JWE protected header: \"enc\" missing (expected \"A256GCM\")".into()),
    }
    if h.contains_key("zip") {
        return Err(
            "JWE protected header: \"zip\" (a compressed plaintext) is not supported".into(),
        );
    }
    if h.contains_key("crit") {
        return Err("JWE protected header: \"crit\" names extensions keygate does not know".into());
    }
    let kid =
        member("kid")?.ok_or("JWE protected header: \"kid\" missing (it names the seal key)")?;
    if kid.is_empty() || kid.chars().count() > MAX_KID_LEN {
        return Err(format!(
            "JWE protected header: a kid is 1 to {MAX_KID_LEN} characters"
        ));
    }
    Ok(kid.to_string())
}

/// Seals `plaintext` under `cipher` (seal key `kid`) with the 12-byte `iv`, which must never
/// repeat under one key (the caller draws it at random).
pub(crate) fn seal(
    cipher: &Aes256Gcm,
    kid: &str,
    iv: &[u8; 12],
    plaintext: &[u8],
) -> Result<String, String> {
    // Never seal what `Jwe::parse` refuses to open.
    if plaintext.is_empty() {
        return Err("nothing to seal: the secret is empty".into());
    }
    if plaintext.len() > MAX_CIPHERTEXT_BYTES {
        return Err(format!(
            "a sealed secret is at most {MAX_CIPHERTEXT_BYTES} bytes, this one has {}",
            plaintext.len()
        ));
    }
    let header = b64url_encode(
        json!({"alg": "dir", "enc": "A256GCM", "kid": kid})
            .to_string()
            .as_bytes(),
    );
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(iv.into(), header.as_bytes(), buf.as_mut_slice().into())
        .map_err(|_| "the secret is too long to seal".to_string())?;
    Ok(format!(
        "{header}..{}.{}.{}",
        b64url_encode(iv),
        b64url_encode(&buf),
        b64url_encode(&tag)
    ))
}

/// A cipher for a 32-byte key.
pub(crate) fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::hex;

    /// Wycheproof AES-GCM, every case with a 256-bit key, a 96-bit IV and a 128-bit tag: the
    /// decryption this module relies on (AAD, ciphertext and tag as given).
    #[test]
    fn wycheproof_aes_256_gcm() {
        let doc: Value = serde_json::from_str(include_str!(
            "../../tests/vectors/wycheproof/aes_gcm_256_test.json"
        ))
        .unwrap();
        let mut n = 0;
        for g in doc["testGroups"].as_array().unwrap() {
            if g["keySize"] != 256 || g["ivSize"] != 96 || g["tagSize"] != 128 {
                continue;
            }
            for t in g["tests"].as_array().unwrap() {
                let key: [u8; 32] = hex(t["key"].as_str().unwrap()).try_into().unwrap();
                let iv: [u8; 12] = hex(t["iv"].as_str().unwrap()).try_into().unwrap();
                let aad = hex(t["aad"].as_str().unwrap());
                let mut ct = hex(t["ct"].as_str().unwrap());
                let tag: [u8; 16] = hex(t["tag"].as_str().unwrap()).try_into().unwrap();
                let msg = hex(t["msg"].as_str().unwrap());
                let ok = cipher(&key)
                    .decrypt_inout_detached(
                        (&iv).into(),
                        &aad,
                        ct.as_mut_slice().into(),
                        (&tag).into(),
                    )
                    .is_ok();
                let valid = t["result"] != "invalid";
                assert_eq!(ok, valid, "tcId {}", t["tcId"]);
                if ok {
                    assert_eq!(ct, msg, "tcId {}", t["tcId"]);
                }
                n += 1;
            }
        }
        assert!(n > 50, "only {n} cases");
    }

    #[test]
    fn seal_then_open_and_tamper() {
        let key = [9u8; 32];
        let c = cipher(&key);
        let text = seal(&c, "k1", &[1; 12], b"c2VjcmV0").unwrap();
        let jwe = Jwe::parse(&text).unwrap();
        assert_eq!(jwe.kid, "k1");
        assert_eq!(jwe.open(&c).unwrap().as_slice(), b"c2VjcmV0");
        assert!(jwe.open(&cipher(&[8; 32])).is_none());
        // A header rewritten to name another kid no longer authenticates.
        let parts: Vec<&str> = text.split('.').collect();
        let other = b64url_encode(br#"{"alg":"dir","enc":"A256GCM","kid":"k2"}"#);
        let swapped = format!("{other}..{}.{}.{}", parts[2], parts[3], parts[4]);
        assert!(Jwe::parse(&swapped).unwrap().open(&c).is_none());
    }

    #[test]
    fn form_errors_name_the_part() {
        let h = |j: &str| b64url_encode(j.as_bytes());
        let ok = h(r#"{"alg":"dir","enc":"A256GCM","kid":"k"}"#);
        let iv = b64url_encode(&[0; 12]);
        let tag = b64url_encode(&[0; 16]);
        let cases = [
            ("a.b.c".to_string(), "found 3 parts"),
            (
                format!("{ok}.AAAA.{iv}.AAAA.{tag}"),
                "encrypted key: must be empty",
            ),
            (
                format!("{ok}..AAAA.AAAA.{tag}"),
                "initialization vector: 12 bytes",
            ),
            (
                format!("{ok}..{iv}.AAAA.AAAA"),
                "authentication tag: 16 bytes",
            ),
            (format!("{ok}..{iv}..{tag}"), "ciphertext: empty"),
            (
                format!(
                    "{}..{iv}.AAAA.{tag}",
                    h(r#"{"alg":"A256KW","enc":"A256GCM","kid":"k"}"#)
                ),
                "alg \"A256KW\"",
            ),
            (
                format!(
                    "{}..{iv}.AAAA.{tag}",
                    h(r#"{"alg":"dir","enc":"A128GCM","kid":"k"}"#)
                ),
                "enc \"A128GCM\"",
            ),
            (
                format!(
                    "{}..{iv}.AAAA.{tag}",
                    h(r#"{"alg":"dir","enc":"A256GCM","kid":"k","zip":"DEF"}"#)
                ),
                "\"zip\"",
            ),
            (
                format!(
                    "{}..{iv}.AAAA.{tag}",
                    h(r#"{"alg":"dir","enc":"A256GCM","kid":"k","crit":["x"],"x":1}"#)
                ),
                "\"crit\"",
            ),
            (
                format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"dir","enc":"A256GCM"}"#)),
                "\"kid\" missing",
            ),
            (
                format!(
                    "{}..{iv}.AAAA.{tag}",
                    h(r#"{"alg":"dir","alg":"dir","enc":"A256GCM","kid":"k"}"#)
                ),
                "invalid JSON",
            ),
            (
                format!("{ok}=..{iv}.AAAA.{tag}"),
                "protected header: invalid base64url",
            ),
        ];
        for (text, want) in cases {
            match Jwe::parse(&text) {
                Ok(_) => panic!("{text}: accepted"),
                Err(e) => assert!(e.contains(want), "{text}: {e}"),
            }
        }
        let typ = h(r#"{"typ":"JWE","kid":"k","enc":"A256GCM","alg":"dir","cty":"text/plain"}"#);
        assert!(Jwe::parse(&format!("{typ}..{iv}.AAAA.{tag}")).is_ok());
    }
}
