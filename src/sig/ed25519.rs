//! What `verify_strict` checks beyond the curve equation, by encoding alone, so that a runtime's
//! own Ed25519 (WebCrypto) can do the equation and the answer is still `verify_strict`'s.
//!
//! ed25519-dalek's `verify_strict` refuses a signature whose `S` is not below the group order
//! `L`, whose `R` or public key `A` is of small order, and whose `R` is not the canonical
//! encoding of the recomputed point. The common engines behind WebCrypto (BoringSSL in workerd
//! and Chromium, OpenSSL in Node) refuse `S ≥ L` too, and compare encodings as dalek does, so a
//! non-canonical `R` fails there; but they accept a small-order `R` or `A`. Measured on the
//! CCTV, speccheck, Wycheproof and RFC 8032 vectors (see `tests/vectors/ed25519/README.md`):
//! with the checks below in front, those engines answer exactly as `verify_strict` does.
//!
//! - `S < L`: checked here (a 32-byte comparison; the engines check it too);
//! - `R` not one of the 14 encodings of the 8 small-order points (the list of the CCTV
//!   vectors' README: the canonical encodings and their non-canonical alternatives). A
//!   blocklist suffices: any other encoding of a small-order point does not decode at all;
//! - `A` canonical and not of small order: checked when the key set loads
//!   (`VerifierKey::ed25519`).

/// The group order `L = 2^252 + 27742317777372353535851937790883648493`, little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Every encoding of a point of small order (order 1, 2, 4 or 8): the eight points in their
/// canonical encodings, then the six non-canonical encodings that still decode.
pub(crate) const SMALL_ORDER_ENCODINGS: [[u8; 32]; 14] = [
    canonical(0x00, 0x00, [0; 30]),
    canonical(0x00, 0x80, [0; 30]),
    canonical(0x01, 0x00, [0; 30]),
    hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    high(0xec, 0x7f),
    high(0xed, 0x7f),
    high(0xed, 0xff),
    canonical(0x01, 0x80, [0; 30]),
    high(0xee, 0x7f),
    high(0xee, 0xff),
    high(0xec, 0xff),
];

/// `first`, 30 middle bytes, `last`.
const fn canonical(first: u8, last: u8, middle: [u8; 30]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0] = first;
    let mut i = 0;
    while i < 30 {
        out[i + 1] = middle[i];
        i += 1;
    }
    out[31] = last;
    out
}

/// `first`, 30 bytes of 0xff, `last` (the encodings near `p = 2^255 - 19`).
const fn high(first: u8, last: u8) -> [u8; 32] {
    canonical(first, last, [0xff; 30])
}

const fn hex(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lower-case hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64, "64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Whether the little-endian scalar `s` is below the group order.
fn below_order(s: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if s[i] != ORDER[i] {
            return s[i] < ORDER[i];
        }
    }
    false
}

/// The 64-byte signature when it passes the checks `verify_strict` makes on the signature
/// alone (length, `S < L`, `R` not of small order); `None` when `verify_strict` would refuse it
/// whatever the key and message.
pub(crate) fn strict_signature(sig: &[u8]) -> Option<[u8; 64]> {
    let sig: [u8; 64] = sig.try_into().ok()?;
    let (r, s) = sig.split_at(32);
    let r: &[u8; 32] = r.try_into().ok()?;
    let s: &[u8; 32] = s.try_into().ok()?;
    (below_order(s) && !SMALL_ORDER_ENCODINGS.contains(r)).then_some(sig)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::edwards::CompressedEdwardsY;

    use super::*;

    #[test]
    fn the_blocklist_is_every_small_order_point_in_every_encoding_that_decodes() {
        for enc in SMALL_ORDER_ENCODINGS {
            let p = CompressedEdwardsY(enc)
                .decompress()
                .expect("every listed encoding decodes");
            assert!(p.is_small_order(), "{enc:02x?}");
        }
        // The eight canonical encodings are those of the eight points of the torsion subgroup.
        let mut canon: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        canon.sort_unstable();
        let mut listed = SMALL_ORDER_ENCODINGS[..8].to_vec();
        listed.sort_unstable();
        assert_eq!(canon, listed);
        let mut all = SMALL_ORDER_ENCODINGS.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 14);
    }

    /// The split the wasm module makes: a key keygate loads, a signature passing
    /// [`strict_signature`], then a cofactorless verification that compares encodings (the
    /// ref10 formula of BoringSSL and OpenSSL, here ed25519-dalek's non-strict `verify`):
    /// exactly `verify_strict` on every CCTV and speccheck vector.
    #[test]
    fn the_checks_plus_a_ref10_verifier_are_verify_strict() {
        use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len() / 2)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        };
        let cctv: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/ed25519/cctv.json")).unwrap();
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/ed25519/speccheck.json"))
                .unwrap();
        let mut cases: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
        for v in cctv.as_array().unwrap() {
            let s = |k: &str| v[k].as_str().unwrap();
            cases.push((hex(s("key")), hex(s("sig")), s("msg").as_bytes().to_vec()));
        }
        for c in spec.as_array().unwrap() {
            let s = |k: &str| c[k].as_str().unwrap();
            cases.push((hex(s("pub_key")), hex(s("signature")), hex(s("message"))));
        }
        let mut reached = 0;
        for (i, (pk, sig, msg)) in cases.iter().enumerate() {
            let strict = crate::sig::VerifierKey::ed25519(pk).is_ok_and(|k| k.verify(msg, sig));
            let split = crate::sig::VerifierKey::ed25519(pk).is_ok()
                && strict_signature(sig).is_some_and(|sig| {
                    reached += 1;
                    let key = VerifyingKey::from_bytes(pk.as_slice().try_into().unwrap()).unwrap();
                    key.verify(msg, &Signature::from_bytes(&sig)).is_ok()
                });
            assert_eq!(split, strict, "case {i}");
        }
        assert!(reached > 100, "{reached}");
    }

    #[test]
    fn scalars_at_and_above_the_order_are_refused() {
        let mut sig = [0u8; 64];
        sig[0] = 0x58; // R: the base point's encoding (not small order)
        sig[1..32].fill(0x66);
        sig[32..].copy_from_slice(&ORDER);
        assert!(strict_signature(&sig).is_none(), "S = L");
        sig[32] -= 1;
        assert!(strict_signature(&sig).is_some(), "S = L - 1");
        sig[63] = 0x20;
        assert!(strict_signature(&sig).is_none(), "S > L");
        assert!(strict_signature(&sig[..63]).is_none(), "63 bytes");
        sig[63] = 0;
        sig[..32].copy_from_slice(&SMALL_ORDER_ENCODINGS[2]);
        assert!(strict_signature(&sig).is_none(), "R = identity");
    }
}
