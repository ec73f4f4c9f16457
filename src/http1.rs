//! Reading a raw HTTP/1.1 request (request line, header lines, blank line, body) from bytes.
//!
//! A file without a parseable request line is a [`RequestError`]. Problems inside a
//! parseable request (a malformed header line, oversized headers) are recorded on the
//! [`Request`] and refused by the verifier as `malformed_request`, so a file can show
//! exactly what a gateway would do with such a request.

use crate::request::{Request, RequestError, is_token};

/// Parses a raw HTTP/1.x request. `scheme` supplies `@scheme` (the raw text has none).
pub fn parse_request(bytes: &[u8], scheme: &str) -> Result<Request, RequestError> {
    let mut lines = Lines { bytes, pos: 0 };
    // Tolerate leading blank lines, as RFC 9112 §2.2 suggests.
    let (line_start, line) = loop {
        match lines.next() {
            None => {
                return Err(RequestError::new(
                    Some(0),
                    "empty input: expected a request line such as \"GET /path HTTP/1.1\"",
                ));
            }
            Some((_, [])) => {}
            Some(x) => break x,
        }
    };
    let line = std::str::from_utf8(line).map_err(|e| {
        RequestError::new(
            Some(line_start + e.valid_up_to()),
            "request line is not valid UTF-8",
        )
    })?;
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(RequestError::new(
            Some(line_start),
            format!(
                "expected a request line \"METHOD TARGET HTTP/1.1\", found {:?}",
                truncate(line)
            ),
        ));
    };
    if !is_token(method) {
        return Err(RequestError::new(
            Some(line_start),
            format!("{method:?} is not an HTTP method"),
        ));
    }
    if !(version.len() == 8
        && version.starts_with("HTTP/")
        && version.as_bytes()[5].is_ascii_digit()
        && version.as_bytes()[6] == b'.'
        && version.as_bytes()[7].is_ascii_digit())
    {
        return Err(RequestError::new(
            Some(line_start + method.len() + target.len() + 2),
            format!(
                "expected an HTTP version such as HTTP/1.1, found {:?}",
                truncate(version)
            ),
        ));
    }
    if target.is_empty() || target.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(RequestError::new(
            Some(line_start + method.len() + 1),
            "invalid request target",
        ));
    }
    // Origin form (`/path`, `*`) takes its authority from Host; anything else must be an
    // absolute URL. (A path may itself hold "://", as in `/r/https://x`: still origin form.)
    let absolute = !(target.starts_with('/') || target == "*");
    let mut req = if !absolute {
        let mut r = Request::empty(method, &scheme.to_ascii_lowercase(), "");
        r.set_target(target);
        r
    } else if target.contains("://") {
        Request::new(method, target)
            .map_err(|e| RequestError::new(Some(line_start + method.len() + 1), e.message))?
    } else {
        return Err(RequestError::new(
            Some(line_start + method.len() + 1),
            format!(
                "unsupported request target {:?} (expected /path or an absolute URL)",
                truncate(target)
            ),
        ));
    };

    let mut body_start = bytes.len();
    let mut host_count = 0;
    while let Some((start, raw)) = lines.next() {
        if raw.is_empty() {
            body_start = lines.pos;
            break;
        }
        if raw[0] == b' ' || raw[0] == b'\t' {
            req.defects
                .push(format!("obsolete line folding at byte {start}"));
            continue;
        }
        let text = decode_field(raw);
        let Some((name, value)) = text.split_once(':') else {
            req.defects
                .push(format!("header line without ':' at byte {start}"));
            continue;
        };
        if !is_token(name) {
            req.defects.push(format!(
                "invalid header name {:?} at byte {start}",
                truncate(name)
            ));
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            host_count += 1;
            if !absolute {
                req.set_authority(value.trim_matches([' ', '\t']));
            }
        }
        req.push_header(name, value);
    }
    if host_count > 1 {
        req.defects.push("more than one Host header".to_string());
    } else if host_count == 0 && !absolute {
        req.defects
            .push("missing Host header (required by HTTP/1.1)".to_string());
    }
    if body_start < bytes.len() {
        req.body = crate::request::body::Body::Bytes(bytes[body_start..].to_vec());
    }
    Ok(req)
}

/// Header bytes as text: UTF-8 when valid, else byte-per-character (ISO-8859-1), which is
/// how the Fetch API presents header values to JavaScript.
fn decode_field(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its LF or CRLF, with its start offset.
    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.bytes[start..];
        let (line, consumed) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += consumed;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((start, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_body() {
        let r = parse_request(b"POST /v1/x?a=b HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: text/plain\r\n\r\nhello\r\n", "https").unwrap();
        assert_eq!(r.method(), "POST");
        assert_eq!(r.authority(), "api.example.com");
        assert_eq!(r.path(), "/v1/x");
        assert_eq!(r.query(), Some("a=b"));
        assert_eq!(r.body(), Some(&b"hello\r\n"[..]));
        assert!(r.defects().is_empty());
    }

    #[test]
    fn lf_only_and_no_body() {
        let r = parse_request(b"GET / HTTP/1.1\nHost: h\n\n", "http").unwrap();
        assert_eq!(r.scheme(), "http");
        assert_eq!(r.body(), None);
        let r = parse_request(b"GET / HTTP/1.1\nHost: h", "https").unwrap();
        assert!(r.defects().is_empty());
    }

    #[test]
    fn unparseable_request_lines_are_errors() {
        assert!(parse_request(b"", "https").is_err());
        assert!(parse_request(b"hello\n", "https").is_err());
        assert!(parse_request(b"GET /\n", "https").is_err());
        let e = parse_request(b"GET / HTTP/x\n", "https").unwrap_err();
        assert_eq!(e.offset, Some(6));
        assert!(parse_request(b"GET example.com:443 HTTP/1.1\n", "https").is_err());
        assert!(parse_request(b"\xff / HTTP/1.1\n", "https").is_err());
    }

    #[test]
    fn malformed_headers_are_defects_not_errors() {
        let r = parse_request(
            b"GET / HTTP/1.1\nHost: h\nno colon here\n folded\nBad Name: x\n\n",
            "https",
        )
        .unwrap();
        assert_eq!(r.defects().len(), 3, "{:?}", r.defects());
        assert!(r.defects()[0].contains("at byte 23"));
        let r = parse_request(b"GET / HTTP/1.1\n\n", "https").unwrap();
        assert!(r.defects()[0].contains("missing Host"));
    }

    #[test]
    fn absolute_form_and_latin1() {
        let r = parse_request(
            b"GET https://api.example.com/x HTTP/1.1\nX-Name: caf\xe9\n\n",
            "http",
        )
        .unwrap();
        assert_eq!(r.authority(), "api.example.com");
        assert_eq!(r.scheme(), "https");
        assert_eq!(r.header_values("x-name").next(), Some("caf\u{e9}"));
    }
}
