//! Helpers shared by the crate's unit tests.

/// Bytes from hex text, as published vectors write them (RFC 4231, Wycheproof).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
