//! Byte encodings used across the key set and the wire: base64url, base62, CRC-32.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// base64url without padding (RFC 4648 §5), as used throughout the key set.
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no whitespace, no stray trailing bits.
/// The error names the first offending byte offset.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = vec![0; decoded_len(s.len())];
    if b64url_decode_into(s.as_bytes(), &mut out) {
        return Ok(out);
    }
    b64url_decode_slow(s)
}

/// The length of the bytes `n` characters of unpadded base64 hold (for a valid length).
const fn decoded_len(n: usize) -> usize {
    n / 4 * 3 + (n % 4).saturating_sub(1)
}

/// `SEXTETS[c]`: the value of base64url character `c`, or 0x80 for any other byte.
static SEXTETS: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 64 {
        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i];
        t[c as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes strict base64url (as [`b64url_decode`] accepts it) into `out`, which must be
/// exactly as long as the decoded bytes; false, with `out` unspecified, for anything else
/// (the caller then asks [`b64url_decode`] why). Key digests (100,000 in a large set) and
/// envelope payloads (megabytes) are decoded here.
pub(crate) fn b64url_decode_into(s: &[u8], out: &mut [u8]) -> bool {
    let n = s.len();
    if n % 4 == 1 || out.len() != decoded_len(n) {
        return false;
    }
    // Invalid characters map to 0x80: OR-ed together, one test of that bit at the end.
    let mut bad = 0u8;
    let mut chunks = s.chunks_exact(4);
    let mut o = out.chunks_exact_mut(3);
    for (c, w) in (&mut chunks).zip(&mut o) {
        let (a, b, x, d) = (
            SEXTETS[c[0] as usize],
            SEXTETS[c[1] as usize],
            SEXTETS[c[2] as usize],
            SEXTETS[c[3] as usize],
        );
        bad |= a | b | x | d;
        let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(x) << 6 | u32::from(d);
        w[0] = (v >> 16) as u8;
        w[1] = (v >> 8) as u8;
        w[2] = v as u8;
    }
    let rest = chunks.remainder();
    let tail = o.into_remainder();
    let mut spare = 0u32;
    let mut v = 0u32;
    for &c in rest {
        let x = SEXTETS[c as usize];
        bad |= x;
        v = v << 6 | u32::from(x);
    }
    match rest.len() {
        0 => {}
        2 => {
            // 12 bits: one byte, and 4 spare bits that must be zero (canonical).
            spare = v & 0xf;
            tail[0] = (v >> 4) as u8;
        }
        _ => {
            // 3: 18 bits, two bytes and 2 spare bits.
            spare = v & 0x3;
            tail[0] = (v >> 10) as u8;
            tail[1] = (v >> 2) as u8;
        }
    }
    bad & 0x80 == 0 && spare == 0
}

/// [`b64url_decode`] by the general decoder, with its error messages.
fn b64url_decode_slow(s: &str) -> Result<Vec<u8>, String> {
    // The offending character is not quoted: the text may be a secret.
    if let Some(i) = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        let hint = match s.as_bytes()[i] {
            b'+' | b'/' => " (this looks like standard base64; use base64url: '-' and '_')",
            b'=' => " (base64url here is written without '=' padding)",
            _ => "",
        };
        return Err(format!("invalid base64url character at byte {i}{hint}"));
    }
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("invalid base64url: {}", describe_b64_error(&e)))
}

/// Checks that `s` is strict base64url exactly as [`b64url_decode`] does (same verdict, same
/// message) without decoding it; returns the decoded length. Used on unauthenticated input,
/// where a multi-megabyte string must not be copied just to be judged.
pub fn b64url_check(s: &[u8]) -> Result<usize, String> {
    if let Some(i) = s
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
    {
        let hint = match s[i] {
            b'+' | b'/' => " (this looks like standard base64; use base64url: '-' and '_')",
            b'=' => " (base64url here is written without '=' padding)",
            _ => "",
        };
        return Err(format!("invalid base64url character at byte {i}{hint}"));
    }
    let n = s.len();
    // The bits of the last character that no output byte holds must be zero (canonical).
    let spare_mask = match n % 4 {
        1 => {
            return Err(format!(
                "invalid base64url: {}",
                describe_b64_error(&base64::DecodeError::InvalidLength(n))
            ));
        }
        2 => 0b1111,
        3 => 0b11,
        _ => 0,
    };
    if let Some(&last) = s.last()
        && sextet(last) & spare_mask != 0
    {
        return Err(format!(
            "invalid base64url: {}",
            describe_b64_error(&base64::DecodeError::InvalidLastSymbol(n - 1, last))
        ));
    }
    Ok(n / 4 * 3 + (n % 4).saturating_sub(1))
}

/// The value of a base64url character (the caller has checked the alphabet).
fn sextet(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        _ => 63,
    }
}

fn describe_b64_error(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidLength(n) => {
            format!("length {n} is not a valid base64url length")
        }
        base64::DecodeError::InvalidLastSymbol(i, _) => {
            format!("non-canonical final character at byte {i}")
        }
        base64::DecodeError::InvalidByte(i, _) => format!("invalid character at byte {i}"),
        base64::DecodeError::InvalidPadding => "unexpected padding".to_string(),
    }
}

/// The base62 alphabet: `0-9`, then `A-Z`, then `a-z`.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `bytes` as a big-endian number in base62, left-padded with `0` to `width` characters.
///
/// # Panics
/// If the number needs more than `width` digits (a caller bug: widths are fixed by the format).
pub fn base62_encode(bytes: &[u8], width: usize) -> String {
    let mut num: Vec<u8> = bytes.to_vec();
    let mut out = vec![b'0'; width];
    let mut pos = width;
    while num.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        assert!(pos > 0, "base62 value wider than {width} digits");
        pos -= 1;
        out[pos] = BASE62[rem as usize];
    }
    String::from_utf8(out).expect("base62 digits are ASCII")
}

/// True when every byte of `s` is a base62 digit.
pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// CRC-32 (IEEE 802.3, reflected, as in zlib and PNG).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC32_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value for CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn base62_known_values() {
        assert_eq!(base62_encode(&[0], 3), "000");
        assert_eq!(base62_encode(&[61], 2), "0z");
        assert_eq!(base62_encode(&[62], 2), "10");
        assert_eq!(base62_encode(&0xFFFF_FFFFu32.to_be_bytes(), 6), "4gfFC3");
    }

    #[test]
    fn base62_max_256_bit_fits_43_digits() {
        let s = base62_encode(&[0xFF; 32], 43);
        assert_eq!(s.len(), 43);
        assert!(is_base62(&s));
    }

    #[test]
    fn b64url_is_strict() {
        assert_eq!(b64url_decode("AQID").unwrap(), vec![1, 2, 3]);
        assert!(b64url_decode("AQI=").unwrap_err().contains("padding"));
        assert!(
            b64url_decode("a+b/")
                .unwrap_err()
                .contains("standard base64")
        );
        assert!(b64url_decode("AQJ").unwrap_err().contains("non-canonical"));
        assert!(b64url_decode("A").is_err());
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn the_fast_decoder_agrees_with_the_general_one() {
        // Every length 0..=12 over an alphabet with each kind of fault, and the spare bits of
        // the last character in every value.
        let alphabet: &[u8] = b"AQw_-z09+/=. \x80";
        let general = |s: &[u8]| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .ok()
        };
        let mut rng = crate::test_util::XorShift::new(crate::test_util::XorShift::SEED);
        for len in 0..=12usize {
            for _ in 0..400 {
                let mut s = Vec::with_capacity(len);
                for _ in 0..len {
                    s.push(alphabet[rng.below(alphabet.len())]);
                }
                let mut out = vec![0; decoded_len(len)];
                let fast = (len % 4 != 1 && b64url_decode_into(&s, &mut out)).then_some(out);
                assert_eq!(fast, general(&s), "{:?}", String::from_utf8_lossy(&s));
                if let Ok(text) = std::str::from_utf8(&s) {
                    assert_eq!(b64url_decode(text).ok(), general(&s), "{text:?}");
                }
            }
        }
        for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
            for prefix in ["AA", "AAA", "AAAAAA", "AAAAAAA"] {
                let s = [prefix.as_bytes(), &[*c]].concat();
                let mut out = vec![0; decoded_len(s.len())];
                let fast = b64url_decode_into(&s, &mut out).then_some(out);
                assert_eq!(fast, general(&s), "{:?}", String::from_utf8_lossy(&s));
            }
        }
        // A digest's 43 characters, and a wrong output length.
        let d = b64url_encode(&[0xa5; 32]);
        let mut out = [0u8; 32];
        assert!(b64url_decode_into(d.as_bytes(), &mut out));
        assert_eq!(out, [0xa5; 32]);
        assert!(!b64url_decode_into(d.as_bytes(), &mut [0u8; 31]));
    }

    #[test]
    fn b64url_check_agrees_with_decoding() {
        // Every string of up to 5 characters over an alphabet covering each case: canonical
        // and non-canonical final characters, padding, standard-base64 characters, junk.
        let alphabet = b"AQgw_-B9=+/ .";
        let mut strings = vec![Vec::new()];
        for _ in 0..5 {
            let last: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, Vec::len))
                .cloned()
                .collect();
            for s in last {
                for &c in alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    strings.push(t);
                }
            }
        }
        assert!(strings.len() > 100_000);
        for s in &strings {
            let text = std::str::from_utf8(s).unwrap();
            let decoded = b64url_decode(text).map(|v| v.len());
            assert_eq!(b64url_check(s), decoded, "{text:?}");
        }
    }
}
