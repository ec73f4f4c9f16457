//! The `sealed` target: sealed secrets (JWE compact, `dir` + `A256GCM`: `SealKeys::open`),
//! seal key texts (`SealKeys::parse`), and key sets holding sealed secrets and JWK members,
//! read with the seal keys (`KeySet::from_json_with`).
//!
//! Input: one selector byte (`% 4`: 0 a sealed value; 1 a plaintext the harness seals, then a
//! position and a byte that alter the sealed text; 2 seal key text; 3 a key set), then the
//! text. The seal keys are `tests/vectors/sealed/jose.json`'s. Properties, beyond "never
//! panics":
//! - a value opens only in its one spelling: each part is the canonical base64url of its
//!   bytes (nothing else decodes to the same value), the encrypted key is empty;
//! - what the harness seals opens to the same plaintext; altered anywhere it is refused, or
//!   (when the alteration is no change) opens to the same plaintext; no error shows the
//!   plaintext or a key;
//! - seal keys read back from their own JWK (`to_jwk`) with the same kid, and seal and open;
//!   no error shows a key (`k`);
//! - a key set that is refused shows in no error, `Display` or `Debug` the plaintext of any
//!   sealed value it holds, nor a clear secret; an accepted one shows neither in `Debug`.

use std::sync::LazyLock;

use keygate::encoding_util::b64url_encode;
use keygate::{KeySet, SealKeys, Unseal};
use serde_json::Value;

use crate::envelopes::b64url;
use crate::keysets::no_secret_shown;

pub static KEYS: LazyLock<SealKeys> = LazyLock::new(|| {
    let v: Value = serde_json::from_str(include_str!("../../tests/vectors/sealed/jose.json"))
        .expect("sealed vectors");
    SealKeys::parse(&v["seal_keys"].to_string()).expect("vector seal keys")
});

/// The `k` of every seal key, as written.
static KEY_TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let v: Value = serde_json::from_str(include_str!("../../tests/vectors/sealed/jose.json"))
        .expect("sealed vectors");
    v["seal_keys"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["k"].as_str().expect("k").to_string())
        .collect()
});

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 4 {
        0 => {
            if let Ok(t) = std::str::from_utf8(rest) {
                open(t);
            }
        }
        1 => seal_and_alter(rest),
        2 => {
            if let Ok(t) = std::str::from_utf8(rest) {
                seal_keys(t);
            }
        }
        _ => keyset(rest),
    }
}

fn no_key_shown(shown: &str) {
    for k in KEY_TEXTS.iter() {
        assert!(!shown.contains(k.as_str()), "a seal key is shown: {shown}");
    }
}

/// Opens `text`; when it opens, checks that it is the one spelling of its value.
fn open(text: &str) -> Option<Vec<u8>> {
    match KEYS.open(text) {
        Ok(pt) => {
            let parts: Vec<&str> = text.split('.').collect();
            assert_eq!(parts.len(), 5, "{text}");
            assert!(parts[1].is_empty(), "opened with an encrypted key: {text}");
            for (i, p) in parts.iter().enumerate() {
                let bytes = b64url(p).unwrap_or_else(|| {
                    panic!("opened, but part {i} is not canonical base64url: {text}")
                });
                assert_eq!(&b64url_encode(&bytes), p, "part {i}");
            }
            Some(pt.to_vec())
        }
        Err(e) => {
            assert!(!e.is_empty());
            no_key_shown(&e);
            None
        }
    }
}

fn seal_and_alter(rest: &[u8]) {
    let [at, byte, plaintext @ ..] = rest else {
        return;
    };
    let key = &KEYS.keys()[usize::from(*at) % 2];
    let Ok(sealed) = key.seal(plaintext) else {
        return;
    };
    let opened = open(&sealed).expect("a value the harness sealed opens");
    assert_eq!(opened, plaintext, "opens to another plaintext");
    let mut altered = sealed.clone().into_bytes();
    let i = usize::from(*at) * 7 % altered.len();
    altered[i] = *byte;
    let Ok(altered) = String::from_utf8(altered) else {
        return;
    };
    match KEYS.open(&altered) {
        Ok(pt) => {
            assert_eq!(altered, sealed, "an altered value opens: {altered}");
            assert_eq!(pt.as_slice(), plaintext);
        }
        Err(e) => {
            no_key_shown(&e);
            if plaintext.len() >= 8 {
                let p = String::from_utf8_lossy(plaintext);
                assert!(!e.contains(p.as_ref()), "the plaintext is shown: {e}");
            }
        }
    }
}

fn seal_keys(text: &str) {
    let ks: Vec<String> = match serde_json::from_str::<Value>(text) {
        Ok(v) => {
            let mut out = Vec::new();
            let mut each = |o: &Value| {
                if let Some(k) = o.get("k").and_then(Value::as_str) {
                    out.push(k.to_string());
                }
            };
            each(&v);
            if let Some(list) = v.get("keys").and_then(Value::as_array) {
                list.iter().for_each(&mut each);
            }
            out
        }
        Err(_) => Vec::new(),
    };
    match SealKeys::parse(text) {
        Err(e) => {
            let shown = format!("{e} {e:?}");
            for k in ks.iter().filter(|k| k.len() >= 16) {
                assert!(!shown.contains(k.as_str()), "a key is shown: {shown}");
            }
        }
        Ok(keys) => {
            let shown = format!("{keys:?}");
            for k in ks.iter().filter(|k| k.len() >= 16) {
                assert!(!shown.contains(k.as_str()), "Debug shows a key: {shown}");
            }
            for k in keys.keys() {
                let again = SealKeys::parse(&k.to_jwk().to_string())
                    .unwrap_or_else(|e| panic!("a key's own JWK is refused: {e}"));
                assert_eq!(again.keys()[0].kid(), k.kid());
                if let Ok(s) = k.seal(b"round trip") {
                    assert_eq!(keys.open(&s).expect("opens").as_slice(), b"round trip");
                    assert_eq!(again.open(&s).expect("opens").as_slice(), b"round trip");
                }
            }
        }
    }
}

/// The plaintexts of every sealed value in a document that the seal keys open.
fn plaintexts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "sealed"
                    && let Value::String(s) = x
                    && let Ok(p) = KEYS.open(s)
                {
                    out.push(String::from_utf8_lossy(&p).into_owned());
                }
                plaintexts(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| plaintexts(x, out)),
        _ => {}
    }
}

fn keyset(doc: &[u8]) {
    let r = KeySet::from_json_with(doc, Unseal::Keys(&KEYS));
    let shown = match &r {
        Err(e) => {
            for err in e.errors() {
                assert!(err.path.starts_with('$'), "{err}");
            }
            format!("{e} {e:?}")
        }
        Ok(ks) => format!("{ks:?} {:?}", ks.keys()),
    };
    no_secret_shown(doc, &shown);
    no_key_shown(&shown);
    if let Ok(v) = serde_json::from_slice::<Value>(doc) {
        let mut found = Vec::new();
        plaintexts(&v, &mut found);
        for p in found.iter().filter(|p| p.len() >= 16) {
            assert!(
                !shown.contains(p.as_str()),
                "a sealed secret's plaintext is shown: {shown}"
            );
        }
    }
    // By form only, the same document is refused at the same paths or accepted.
    let form = KeySet::from_json_with(doc, Unseal::FormOnly);
    if let (Ok(_), Err(e)) = (&r, &form) {
        panic!("opens with the keys, refused by form: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sealed_vectors_run() {
        let v: Value =
            serde_json::from_str(include_str!("../../tests/vectors/sealed/jose.json")).unwrap();
        let mut opened = 0;
        for c in v["valid"].as_array().unwrap() {
            let s = c["sealed"].as_str().unwrap();
            opened += usize::from(open(s).is_some());
            let mut input = vec![0u8];
            input.extend(s.bytes());
            run(&input);
        }
        assert!(opened >= 2);
        for c in v["invalid"].as_array().unwrap() {
            let refused_by_open = c["contains"]
                .as_str()
                .is_some_and(|m| m.contains("does not decrypt") || m.contains("no seal key"));
            if let Some(s) = c["sealed"].as_str().filter(|_| refused_by_open) {
                assert!(open(s).is_none(), "{s}");
            }
        }
        for sel in 0..4u8 {
            let mut input = vec![1, sel, b'x'];
            input.extend(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
            run(&input);
        }
        let mut input = vec![2u8];
        input.extend(v["seal_keys"].to_string().bytes());
        run(&input);
    }
}
