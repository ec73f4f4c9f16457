//! The three header fields of a Standard Webhooks delivery, read strictly:
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (space-separated `version,base64`
//! tokens). The signed content is `<id>.<timestamp>.<body>`.
//!
//! Strict because the content is a plain concatenation: an id holding `.` could be read as
//! another id and timestamp (the specification forbids it), and a timestamp spelled `+1`,
//! `0123` or `1.0` is signed as one text and compared as another number by other verifiers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::keys::Scheme;
use crate::request::Request;

/// The longest `webhook-id` accepted.
pub const MAX_ID_LEN: usize = 256;
/// The most tokens a `webhook-signature` may carry (rotation needs two or three).
pub const MAX_TOKENS: usize = 8;
/// The header names, as a delivery carries them.
pub const HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// One signature of `webhook-signature` keygate can check.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// Its scheme.
    pub scheme: Scheme,
    /// The signature: 32 bytes (v1) or 64 (v1a).
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}, {} bytes)", self.scheme, self.bytes.len())
    }
}

/// A delivery's header fields, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// `webhook-id`: 1 to 256 visible ASCII characters, no `.`.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds.
    pub timestamp: i64,
    /// The usable tokens (of known versions, decoded), in header order.
    pub tokens: Vec<Token>,
}

impl Delivery {
    /// The start of the signed content: `<id>.<timestamp>.` (the body follows).
    pub fn prefix(&self) -> String {
        format!("{}.{}.", self.id, self.timestamp)
    }
}

/// The one value of header `name`, `None` when absent; `Err` when it appears more than once.
fn single<'r>(req: &'r Request, name: &'static str) -> Result<Option<&'r str>, String> {
    let mut values = req.header_values(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(format!("{name} appears more than once"));
    }
    Ok(first)
}

/// Whether the request carries any of the three fields.
pub fn present(req: &Request) -> bool {
    HEADERS
        .iter()
        .any(|h| req.header_values(h).next().is_some())
}

/// Reads the three fields: `Ok(None)` when none is present, `Err` (in words naming the field)
/// when they are incomplete or malformed.
pub fn read(req: &Request) -> Result<Option<Delivery>, String> {
    let id = single(req, "webhook-id")?;
    let ts = single(req, "webhook-timestamp")?;
    let sig = single(req, "webhook-signature")?;
    let (id, ts, sig) = match (id, ts, sig) {
        (None, None, None) => return Ok(None),
        (Some(i), Some(t), Some(s)) => (i, t, s),
        (i, t, s) => {
            let missing: Vec<&str> = [(i, HEADERS[0]), (t, HEADERS[1]), (s, HEADERS[2])]
                .into_iter()
                .filter(|(v, _)| v.is_none())
                .map(|(_, n)| n)
                .collect();
            return Err(format!(
                "{} missing (a Standard Webhooks delivery carries webhook-id, webhook-timestamp and webhook-signature)",
                missing.join(" and ")
            ));
        }
    };
    check_id(id)?;
    let timestamp = parse_timestamp(ts)?;
    let tokens = parse_signature(sig)?;
    Ok(Some(Delivery {
        id: id.to_string(),
        timestamp,
        tokens,
    }))
}

/// `webhook-id`: 1 to 256 bytes of visible ASCII, no `.` (the content would not be
/// unambiguous otherwise). The message never repeats the id.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!(
            "webhook-id is 1 to {MAX_ID_LEN} characters, this one has {}",
            id.len()
        ));
    }
    if let Some(i) = id
        .bytes()
        .position(|b| !(0x21..=0x7e).contains(&b) || b == b'.')
    {
        let what = if id.as_bytes()[i] == b'.' {
            "'.' (the signed content is id.timestamp.body: a '.' in the id makes it ambiguous)"
        } else {
            "a character outside visible ASCII"
        };
        return Err(format!("webhook-id holds {what} at byte {i}"));
    }
    Ok(())
}

/// `webhook-timestamp`: Unix seconds as `[1-9][0-9]{0,11}` (no sign, no leading zero, no
/// fraction: the text signed is exactly the integer other verifiers compare).
pub fn parse_timestamp(ts: &str) -> Result<i64, String> {
    let ok = !ts.is_empty()
        && ts.len() <= 12
        && ts.bytes().all(|b| b.is_ascii_digit())
        && !ts.starts_with('0');
    if !ok {
        return Err(
            "webhook-timestamp must be Unix seconds written as a plain integer (1 to 12 digits, no sign, no leading zero, no fraction)".into(),
        );
    }
    ts.parse()
        .map_err(|_| "webhook-timestamp is not an integer".to_string())
}

/// `webhook-signature`: up to 8 tokens separated by spaces, each `version,base64`. Tokens of
/// other versions are ignored (forward compatible); a `v1`/`v1a` token whose value is not the
/// canonical padded standard base64 of 32/64 bytes is unusable. At least one must be usable.
pub fn parse_signature(value: &str) -> Result<Vec<Token>, String> {
    let parts: Vec<&str> = value.split(' ').filter(|p| !p.is_empty()).collect();
    if parts.len() > MAX_TOKENS {
        return Err(format!(
            "webhook-signature carries {} signatures, at most {MAX_TOKENS} are checked",
            parts.len()
        ));
    }
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let Some((version, value)) = p.split_once(',') else {
            return Err(format!(
                "webhook-signature: signature {} is not version,signature",
                i + 1
            ));
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "webhook-signature: signature {} has no version tag",
                i + 1
            ));
        }
        let Some(scheme) = Scheme::from_tag(version) else {
            continue;
        };
        let len = match scheme {
            Scheme::V1 => 32,
            Scheme::V1a => 64,
        };
        match STANDARD.decode(value) {
            Ok(bytes) if bytes.len() == len => out.push(Token { scheme, bytes }),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err("webhook-signature carries no usable v1 or v1a signature".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_timestamps() {
        assert!(check_id("msg_p5jXN8AQM9LWM0D4loKWxJek").is_ok());
        for bad in ["", "a.b", "a b", "é", &"x".repeat(257)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_id(&"x".repeat(256)).is_ok());
        assert_eq!(parse_timestamp("1614265330"), Ok(1_614_265_330));
        for bad in [
            "",
            "0",
            "+1",
            "-1",
            "0123",
            "1.0",
            " 1",
            "1614265330.5",
            "1234567890123",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signature_tokens() {
        let v1 = STANDARD.encode([1u8; 32]);
        let v1a = STANDARD.encode([2u8; 64]);
        let t = parse_signature(&format!("v1,{v1}  v1a,{v1a} v2,xyz")).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].scheme, t[1].scheme), (Scheme::V1, Scheme::V1a));
        // Unpadded, base64url, the wrong length: unusable, and alone: an error.
        for bad in [
            format!("v1,{}", v1.trim_end_matches('=')),
            format!("v1,{}", STANDARD.encode([1u8; 31])),
            format!("v1a,{v1}"),
            "v2,abc".to_string(),
        ] {
            assert!(
                parse_signature(&bad).unwrap_err().contains("no usable"),
                "{bad}"
            );
        }
        assert!(
            parse_signature("v1")
                .unwrap_err()
                .contains("not version,signature")
        );
        assert!(
            parse_signature(&format!(",{v1}"))
                .unwrap_err()
                .contains("no version")
        );
        let nine = vec![format!("v1,{v1}"); 9].join(" ");
        assert!(parse_signature(&nine).unwrap_err().contains("at most 8"));
    }
}
