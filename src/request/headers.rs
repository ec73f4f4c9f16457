//! Header fields: read into a request (checked, counted against the section limits, kept or
//! only counted), and looked up.

use super::Request;
use super::fields::{is_token, known_bit, not_kept, read_unsigned, underscore_twin};
use super::limits::{MAX_HEADER_BYTES, MAX_HEADERS};

impl Request {
    /// Adds a header field (names are case-insensitive and stored lower-cased). A name or
    /// value that is not valid HTTP is recorded and the request is refused as
    /// `malformed_request`.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.push_header(name, value);
        self
    }

    /// Adds a header field; see [`Request::with_header`].
    pub fn push_header(&mut self, name: &str, value: &str) {
        if self.check_header(name, value) {
            self.keep_header(name, value);
        }
    }

    /// Reads a header field as [`Request::push_header`] does (the same checks, the same count
    /// against the section limits, the same defects) but keeps it only when a decision of a
    /// request without signature fields reads it ([`read_unsigned`]). For the wasm boundary:
    /// the caller reads every field of a request this way only when none is a signature field
    /// ([`is_signature_field`](super::fields::is_signature_field)), and otherwise with
    /// `push_header`. Looking up a field that was not kept is a bug, and panics (fails closed)
    /// rather than reading it as absent.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn push_header_unread(&mut self, name: &str, value: &str) {
        if self.check_header(name, value) {
            if read_unsigned(name) {
                self.keep_header(name, value);
            } else {
                self.partial = true;
            }
        }
    }

    /// Checks a field and counts it against the section limits (recording any defect);
    /// false when it is not a valid field (then it is neither counted nor kept).
    fn check_header(&mut self, name: &str, value: &str) -> bool {
        if !is_token(name) {
            self.defects
                .push(format!("header name {name:?} is not a valid token"));
            return false;
        }
        if value
            .bytes()
            .any(|b| b <= b'\r' && (b == b'\r' || b == b'\n' || b == 0))
        {
            self.defects
                .push(format!("header {name:?} contains CR, LF or NUL"));
            return false;
        }
        if name.contains('_')
            && let Some(read) = underscore_twin(name)
        {
            self.defects.push(format!(
                "header name {name:?} is {read} spelled with '_': CGI-style origins read both as one field"
            ));
        }
        let before = self.header_bytes;
        self.header_bytes += name.len() + value.len() + 4;
        if self.header_bytes > MAX_HEADER_BYTES && before <= MAX_HEADER_BYTES {
            self.defects
                .push(format!("header section exceeds {MAX_HEADER_BYTES} bytes"));
        }
        if self.fields == MAX_HEADERS {
            self.defects
                .push(format!("more than {MAX_HEADERS} header fields"));
        }
        self.fields += 1;
        true
    }

    /// Keeps a field that [`Request::check_header`] accepted.
    fn keep_header(&mut self, name: &str, value: &str) {
        let n = self.push_text(name);
        self.text[n.0 as usize..n.1 as usize].make_ascii_lowercase();
        if let Some(bit) = known_bit(name) {
            self.known |= bit;
        }
        let v = self.push_text(value.trim_matches([' ', '\t']));
        self.headers.push((n, v));
    }

    /// The values of every field with this name, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        // A known field is always kept; it is absent unless its bit is set.
        let bit = known_bit(name);
        if bit.is_none() && self.partial {
            not_kept(name);
        }
        let absent = bit.is_some_and(|bit| self.known & bit == 0);
        let headers = if absent { &[][..] } else { &self.headers[..] };
        headers
            .iter()
            .filter(move |(n, _)| self.at(*n).eq_ignore_ascii_case(name))
            .map(|(_, v)| self.at(*v))
    }

    /// Whether the request has a header field `name` (lower-case). Out of line, for checks
    /// that only ask whether a field is there.
    #[inline(never)]
    pub(crate) fn has_field(&self, name: &str) -> bool {
        self.header_values(name).next().is_some()
    }

    /// Every header field as (lower-case name, value), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        assert!(
            !self.partial,
            "every header field was asked of a request that did not keep them all"
        );
        self.headers.iter().map(|(n, v)| (self.at(*n), self.at(*v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::MAX_TARGET_BYTES;

    #[test]
    fn known_fields_are_found_in_any_case_and_absent_ones_without_a_scan() {
        let r = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("X-Api-Key", "a")
            .with_header("x-api-key", "b")
            .with_header("Other", "c");
        assert_eq!(r.header_values("X-API-KEY").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(r.header_values("other").collect::<Vec<_>>(), ["c"]);
        assert_eq!(r.header_values("authorization").count(), 0);
        assert_eq!(r.header_values("Signature").count(), 0);
    }

    #[test]
    fn unread_fields_are_checked_and_counted_as_kept_ones_are() {
        // The same fields pushed both ways: the same defects, in the same order, and the
        // fields a decision reads are there.
        let big = "a".repeat(MAX_HEADER_BYTES);
        let many: Vec<String> = (0..MAX_HEADERS).map(|i| format!("x-f{i}")).collect();
        let mut fields: Vec<(&str, &str)> = vec![("Authorization", "Bearer k"), ("bad name", "v")];
        fields.extend(many.iter().map(|n| (n.as_str(), "v")));
        fields.extend([
            ("x-crlf", "a\r\nb"),
            ("X-API-Key", " k "),
            ("x-big", big.as_str()),
            ("webhook-id", "m"),
        ]);
        let mut kept = Request::new("GET", "https://h/").unwrap();
        let mut unread = Request::new("GET", "https://h/").unwrap();
        for (n, v) in &fields {
            kept.push_header(n, v);
            unread.push_header_unread(n, v);
        }
        assert_eq!(kept.defects(), unread.defects());
        assert_eq!(kept.defects().len(), 4, "{:?}", kept.defects());
        for name in [
            "authorization",
            "x-api-key",
            "webhook-id",
            "signature",
            "content-digest",
        ] {
            assert_eq!(
                kept.header_values(name).collect::<Vec<_>>(),
                unread.header_values(name).collect::<Vec<_>>(),
                "{name}"
            );
        }
        assert_eq!(unread.header_values("x-api-key").collect::<Vec<_>>(), ["k"]);
        // Exactly at the bounds: no defect either way.
        let mut at = Request::new("GET", "https://h/").unwrap();
        for n in &many {
            at.push_header_unread(n, "v");
        }
        assert!(at.defects().is_empty());
        at.push_header_unread("x-one-more", "v");
        assert_eq!(
            at.defects(),
            [format!("more than {MAX_HEADERS} header fields")]
        );
        let mut at = Request::new("GET", "https://h/").unwrap();
        at.push_header("authorization", "Bearer k");
        // Bytes in UTF-8: U+00E9 counts two.
        let rest = MAX_HEADER_BYTES - ("authorization".len() + "Bearer k".len() + 4) - 5 - 4;
        let value = "a".repeat(rest % 2) + &"\u{e9}".repeat(rest / 2);
        at.push_header_unread("x-big", &value);
        assert!(at.defects().is_empty(), "{:?}", at.defects());
        at.push_header_unread("x", "");
        assert_eq!(
            at.defects(),
            [format!("header section exceeds {MAX_HEADER_BYTES} bytes")]
        );
    }

    #[test]
    #[should_panic(expected = "did not keep")]
    fn looking_up_a_field_that_was_not_kept_fails_closed() {
        let mut r = Request::new("GET", "https://h/").unwrap();
        r.push_header_unread("accept", "text/plain");
        let _ = r.header_values("accept").count();
    }

    #[test]
    fn headers_and_defects() {
        let r = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("X-API-Key", " k ")
            .with_header("bad name", "v");
        assert_eq!(r.header_values("x-api-key").collect::<Vec<_>>(), ["k"]);
        assert_eq!(r.defects().len(), 1);
        let big = "a".repeat(MAX_HEADER_BYTES);
        let r = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("x", &big)
            .with_header("y", &big);
        assert_eq!(r.defects().len(), 1);
        assert!(!format!("{r:?}").contains("aaaa"));
        let long = format!("https://h/{}", "a".repeat(MAX_TARGET_BYTES));
        assert_eq!(Request::new("GET", &long).unwrap().defects().len(), 1);
    }

    #[test]
    fn underscore_spellings_of_read_fields_are_defects() {
        for (name, read) in [
            ("x_api_key", "X-API-Key"),
            ("X-API_KEY", "X-API-Key"),
            ("x_http_method_override", "X-HTTP-Method-Override"),
            ("X_HTTP_Method", "X-HTTP-Method"),
            ("x_method_override", "X-Method-Override"),
            ("content_digest", "Content-Digest"),
            ("signature_input", "Signature-Input"),
            ("Webhook_Id", "webhook-id"),
        ] {
            let r = Request::new("GET", "https://h/")
                .unwrap()
                .with_header(name, "v");
            assert_eq!(r.defects().len(), 1, "{name}");
            assert!(r.defects()[0].contains(read), "{name}: {:?}", r.defects());
            // Counted and checked like any field, whichever way it is read.
            let mut unread = Request::new("GET", "https://h/").unwrap();
            unread.push_header_unread(name, "v");
            assert_eq!(unread.defects(), r.defects());
        }
        for name in [
            "x_request_id",
            "x-api-key_",
            "_x-api-key",
            "x_api_keys",
            "x_keygate_key_id",
        ] {
            let r = Request::new("GET", "https://h/")
                .unwrap()
                .with_header(name, "v");
            assert!(r.defects().is_empty(), "{name}: {:?}", r.defects());
        }
    }
}
