//! `application/x-www-form-urlencoded` as RFC 9421 §2.2.8 uses it for `@query-param`:
//! parse per WHATWG URL §5.1, then re-encode each name and value with "percent-encode after
//! encoding" over the urlencoded percent-encode set (a space becomes `%20`, never `+`).

/// Decodes one name or value: `+` is a space, `%XX` is a byte (a `%` not followed by two hex
/// digits stays as it is), and the bytes are read as UTF-8 with U+FFFD for invalid sequences.
pub(crate) fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1).zip(b.get(i + 2));
                match hex.and_then(|(h, l)| Some(hex_val(*h)? << 4 | hex_val(*l)?)) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes UTF-8 bytes, leaving only ASCII alphanumerics and `*-._` as they are
/// (the urlencoded percent-encode set), with upper-case hex digits.
pub(crate) fn form_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The re-encoded values of every query parameter whose re-encoded name is `encoded_name`,
/// in order of appearance.
pub(crate) fn values_named(query: &str, encoded_name: &str) -> Vec<String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_encode(&form_decode(name)) == encoded_name)
                .then(|| form_encode(&form_decode(value)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9421_section_2_2_8_examples() {
        // The query of the RFC's example request and its expected component values.
        let q = "var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something";
        assert_eq!(
            values_named(q, "var"),
            ["this%20is%20a%20big%0Amultiline%20value"]
        );
        assert_eq!(values_named(q, "bar"), ["with%20plus%20whitespace"]);
        assert_eq!(values_named(q, "fa%C3%A7ade%22%3A%20"), ["something"]);
        assert_eq!(
            form_encode(&form_decode("fa%C3%A7ade%22%3A%20")),
            "fa%C3%A7ade%22%3A%20"
        );
    }

    #[test]
    fn empty_missing_and_repeated() {
        let q = "param=value&foo=bar&baz=batman&qux=&a=1&a=2&flag";
        assert_eq!(values_named(q, "qux"), [""]);
        assert_eq!(values_named(q, "flag"), [""]);
        assert_eq!(values_named(q, "a"), ["1", "2"]);
        assert!(values_named(q, "nope").is_empty());
        assert!(values_named("", "a").is_empty());
    }

    #[test]
    fn decoding_edge_cases() {
        assert_eq!(form_decode("%"), "%");
        assert_eq!(form_decode("%4"), "%4");
        assert_eq!(form_decode("%zz"), "%zz");
        assert_eq!(form_decode("%41%4a"), "AJ");
        assert_eq!(form_decode("%FF"), "\u{FFFD}");
        assert_eq!(form_encode("a b~'!"), "a%20b%7E%27%21");
        assert_eq!(form_encode("*-._Az09"), "*-._Az09");
    }
}
