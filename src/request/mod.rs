//! The request model the verifier decides on, independent of any HTTP library.

use std::fmt;

pub(crate) mod body;

use body::{Body, BodyDigests};

/// Header section limits; a request beyond them is refused as `malformed_request`.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// See [`MAX_HEADER_BYTES`].
pub const MAX_HEADERS: usize = 256;
/// The longest path and query accepted (RFC 9112 §3 recommends supporting at least 8000
/// octets); a longer one is refused as `malformed_request`.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;

/// A request that could not be read at all (as opposed to one that is read and refused).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestError {
    /// Byte offset into the input, when the input was bytes.
    pub offset: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl RequestError {
    pub(crate) fn new(offset: Option<usize>, message: impl Into<String>) -> Self {
        RequestError {
            offset,
            message: message.into(),
        }
    }

    /// The stable code of this error at the JS boundary.
    pub fn code(&self) -> &'static str {
        crate::ErrorCode::RequestInvalid.as_str()
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} (at byte {o})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RequestError {}

/// A span of [`Request`]'s text.
type Span = (u32, u32);

/// The header fields a decision looks up on every request, most often to find them absent:
/// a request notes which it has, so looking up an absent one scans nothing.
const KNOWN: [&str; 8] = [
    "authorization",
    "x-api-key",
    "signature",
    "signature-input",
    "content-digest",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Header fields through which frameworks let a request override its method (Express
/// `method-override`, ASP.NET, Google APIs, Symfony): a decision reads each as a method, a
/// signature bound to the method must cover those present, and the signer covers them.
pub(crate) const METHOD_OVERRIDE_FIELDS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The fields a decision reads from a request that carries no signature fields (no
/// `Signature`, `Signature-Input` or `webhook-signature`): [`KNOWN`] and the Standard Webhooks
/// fields. A request read with [`Request::push_header_unread`] keeps only these; any other
/// field is counted against the section limits and checked, not kept.
const READ_UNSIGNED: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// Whether a decision of a request without signature fields reads the field `name` (any case).
pub(crate) fn read_unsigned(name: &str) -> bool {
    known_bit(name).is_some() || READ_UNSIGNED.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The field a decision reads that `name` (any case, containing `_`) spells with `_` for some
/// `-`, if any: `X_API_Key`, `X_HTTP_Method_Override`, `Content_Digest`, `webhook_id`. CGI-style
/// origins (CGI, FastCGI/PHP, WSGI, nginx with `underscores_in_headers on`) map `-` and `_` to
/// the same `HTTP_*` variable, so such an origin may act on a key or a method override that the
/// decision never saw. The request is refused as malformed instead.
// Out of line: only requests with a `_` in a field name need it, and V8 compiles a wasm
// function whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
fn underscore_twin(name: &str) -> Option<&'static str> {
    const DASHED: [&str; 9] = [
        "X-API-Key",
        "Signature-Input",
        "Content-Digest",
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ];
    DASHED.into_iter().find(|d| {
        d.len() == name.len()
            && d.bytes()
                .zip(name.bytes())
                .all(|(d, n)| d.eq_ignore_ascii_case(&n) || (d == b'-' && n == b'_'))
    })
}

/// Whether `name` (any case) is a signature field: a request carrying one may cover any field,
/// so every field is kept.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn is_signature_field(name: &str) -> bool {
    ["signature", "signature-input", "webhook-signature"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// Panics (fails closed) when a decision looks up a field of a request that kept only some
/// and not this one: reading it as absent could judge the request on fields it does not have.
#[inline(never)]
fn not_kept(name: &str) {
    assert!(
        read_unsigned(name),
        "a decision looked up a header field this request did not keep"
    );
}

/// The bit of a [`KNOWN`] field name (any case), if it is one: by length first, so most names
/// are told apart without comparing a byte.
fn known_bit(name: &str) -> Option<u16> {
    let candidates: &[usize] = match name.len() {
        9 => &[1, 2],
        13 => &[0, 6],
        14 => &[4],
        15 => &[3],
        17 => &[7],
        22 => &[5],
        _ => return None,
    };
    candidates
        .iter()
        .find(|&&i| KNOWN[i].eq_ignore_ascii_case(name))
        .map(|&i| 1 << i)
}

/// An HTTP request: method, target URI parts, header fields and body.
///
/// Its text lives in one buffer, which every part points into: building one request is a
/// handful of copies, and a request cleared with [`Request::reset`] is refilled without
/// allocating.
#[derive(Clone)]
pub struct Request {
    text: String,
    method: Span,
    scheme: Span,
    authority: Span,
    path: Span,
    query: Option<Span>,
    /// Names (lower-cased) and values (trimmed).
    headers: Vec<(Span, Span)>,
    pub(crate) body: Body,
    pub(crate) defects: Vec<String>,
    header_bytes: usize,
    /// Header fields read (kept or not), for the field count limit.
    fields: usize,
    /// Some fields were counted and checked but not kept (see [`Request::push_header_unread`]).
    partial: bool,
    /// The [`KNOWN`] fields present (a bit each).
    known: u16,
    /// Where the path is in the URL given to [`Request::new`] (bytes), when it is there.
    pub(crate) url_path: Option<(u32, u32)>,
}

impl Default for Request {
    fn default() -> Self {
        Request::empty("GET", "https", "")
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may hold credentials: print names only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| self.at(*n)).collect();
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("scheme", &self.scheme())
            .field("authority", &self.authority())
            .field("path", &self.path())
            .field("header_names", &names)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// RFC 9110 `tchar`, as a table (checked for every byte of every header name).
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Checks an HTTP token (method, header name).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

impl Request {
    /// A request for `method` on an absolute URL such as `https://api.example.com/v1/x?y=1`.
    pub fn new(method: &str, url: &str) -> Result<Request, RequestError> {
        let mut req = Request::default();
        req.start(method, url)?;
        Ok(req)
    }

    /// Empties the request for reuse (its buffers keep their capacity).
    pub(crate) fn reset(&mut self) {
        self.text.clear();
        self.headers.clear();
        self.defects.clear();
        self.body = Body::None;
        self.query = None;
        self.header_bytes = 0;
        self.fields = 0;
        self.partial = false;
        self.known = 0;
        self.url_path = None;
    }

    /// Releases the buffers' spare capacity (a request kept while its decision waits holds
    /// no more than its own bytes), and returns the heap bytes it then holds.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn shrink(&mut self) -> usize {
        self.text.shrink_to_fit();
        self.headers.shrink_to_fit();
        self.defects.shrink_to_fit();
        let body = match &self.body {
            Body::Bytes(b) => b.capacity(),
            _ => 0,
        };
        self.text.capacity()
            + self.headers.capacity() * std::mem::size_of::<(Span, Span)>()
            + self
                .defects
                .iter()
                .map(|d| d.capacity() + std::mem::size_of::<String>())
                .sum::<usize>()
            + body
    }

    /// Resets the request and starts it again with `method` and an absolute `url`.
    pub(crate) fn start(&mut self, method: &str, url: &str) -> Result<(), RequestError> {
        if !is_token(method) {
            return Err(RequestError::new(
                None,
                format!("{method:?} is not an HTTP method token"),
            ));
        }
        let b = url.as_bytes();
        let colon = b.iter().position(|&c| c == b':');
        let (scheme, rest) = match colon {
            Some(i) if b[i + 1..].starts_with(b"//") => (&url[..i], &url[i + 3..]),
            // The URL itself is not repeated: it may carry credentials.
            _ => {
                return Err(RequestError::new(
                    None,
                    "the URL is not absolute (expected scheme://authority/path)",
                ));
            }
        };
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !scheme_ok {
            return Err(RequestError::new(
                Some(0),
                format!("URL scheme {scheme:?} is invalid"),
            ));
        }
        let rest = match rest.bytes().position(|c| c == b'#') {
            Some(i) => &rest[..i],
            None => rest,
        };
        let auth_end = rest
            .bytes()
            .position(|c| c == b'/' || c == b'?')
            .unwrap_or(rest.len());
        let (authority, target) = rest.split_at(auth_end);
        if authority.contains('@') {
            return Err(RequestError::new(
                None,
                "the URL must not carry user information (user:password@)",
            ));
        }
        if authority.is_empty() || authority.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(RequestError::new(
                None,
                format!("URL authority {authority:?} is invalid"),
            ));
        }
        self.begin(method, scheme, authority);
        self.set_target(target);
        let path_len = target.find('?').unwrap_or(target.len());
        if path_len > 0 {
            let start = scheme.len() + 3 + auth_end;
            self.url_path = Some((start as u32, (start + path_len) as u32));
        }
        Ok(())
    }

    pub(crate) fn empty(method: &str, scheme: &str, authority: &str) -> Request {
        let mut r = Request::blank();
        r.begin(method, scheme, authority);
        r
    }

    /// A request holding nothing, not even a method (no allocation): a stand-in while a
    /// reused one is out, never decided.
    pub(crate) fn blank() -> Request {
        Request {
            text: String::new(),
            method: (0, 0),
            scheme: (0, 0),
            authority: (0, 0),
            path: (0, 0),
            query: None,
            headers: Vec::new(),
            body: Body::None,
            defects: Vec::new(),
            header_bytes: 0,
            fields: 0,
            partial: false,
            known: 0,
            url_path: None,
        }
    }

    /// Resets the request to `method`, `scheme` (lower-cased) and `authority`, path `/`.
    fn begin(&mut self, method: &str, scheme: &str, authority: &str) {
        self.reset();
        self.method = self.push_text(method);
        self.scheme = self.push_text(scheme);
        let (a, b) = self.scheme;
        self.text[a as usize..b as usize].make_ascii_lowercase();
        self.authority = self.push_text(authority);
        self.path = self.push_text("/");
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        (start as u32, self.text.len() as u32)
    }

    fn at(&self, (a, b): Span) -> &str {
        &self.text[a as usize..b as usize]
    }

    /// Sets the authority (the `Host` of an origin-form request).
    pub(crate) fn set_authority(&mut self, authority: &str) {
        self.authority = self.push_text(authority);
    }

    /// Sets path and query from an origin-form target (`/path?query`).
    pub(crate) fn set_target(&mut self, target: &str) {
        if target.len() > MAX_TARGET_BYTES {
            self.defects
                .push(format!("request target exceeds {MAX_TARGET_BYTES} bytes"));
        }
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        self.path = if path.is_empty() {
            self.push_text("/")
        } else {
            self.push_text(path)
        };
        self.query = query.map(|q| self.push_text(q));
    }

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
    /// ([`is_signature_field`]), and otherwise with `push_header`. Looking up a field that was
    /// not kept is a bug, and panics (fails closed) rather than reading it as absent.
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

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Body::Bytes(body.into());
        self
    }

    /// Sets the body to the digests of a body that was hashed as it streamed past (see
    /// [`BodyHasher`](crate::BodyHasher)): enough to check a `Content-Digest`.
    pub fn with_body_digests(mut self, digests: BodyDigests) -> Request {
        self.body = Body::Digests(digests);
        self
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: Body) {
        self.body = body;
    }

    /// The method, as sent.
    pub fn method(&self) -> &str {
        self.at(self.method)
    }

    /// The scheme, lower-cased.
    pub fn scheme(&self) -> &str {
        self.at(self.scheme)
    }

    /// The authority (host and optional port), as sent.
    pub fn authority(&self) -> &str {
        self.at(self.authority)
    }

    /// The path, as sent (never empty).
    pub fn path(&self) -> &str {
        self.at(self.path)
    }

    /// The query without its `?`, when present.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|q| self.at(q))
    }

    /// The body's bytes, when present as bytes.
    pub fn body(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The body as the verifier sees it: absent, bytes, or digests only.
    pub fn body_kind(&self) -> &Body {
        &self.body
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

    /// Problems found while reading the request; a request with any is refused.
    pub fn defects(&self) -> &[String] {
        &self.defects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_urls() {
        let r = Request::new("GET", "HTTPS://api.example.com:8443/v1/x?y=1&z#frag").unwrap();
        assert_eq!(r.scheme(), "https");
        assert_eq!(r.authority(), "api.example.com:8443");
        assert_eq!(r.path(), "/v1/x");
        assert_eq!(r.query(), Some("y=1&z"));
        let url = "HTTPS://api.example.com:8443/v1/x?y=1&z#frag";
        let (a, b) = r.url_path.unwrap();
        assert_eq!(&url[a as usize..b as usize], "/v1/x");
        let r = Request::new("GET", "https://h?q").unwrap();
        assert_eq!((r.path(), r.query()), ("/", Some("q")));
        assert_eq!(r.url_path, None);
        assert!(Request::new("GET", "/relative").is_err());
        assert!(Request::new("GE T", "https://h/").is_err());
        let e = Request::new("GET", "https://user:hunter2@h/").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{e}");
        let e = Request::new("GET", "/relative?token=s3cret").unwrap_err();
        assert!(!e.message.contains("s3cret"), "{e}");
    }

    #[test]
    fn tchar_is_rfc_9110s() {
        let listed =
            b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), listed.contains(&b), "{b:#04x}");
        }
    }

    #[test]
    fn every_known_field_has_its_own_bit() {
        for (i, k) in KNOWN.iter().enumerate() {
            assert_eq!(known_bit(k), Some(1 << i), "{k}");
            assert_eq!(known_bit(&k.to_ascii_uppercase()), Some(1 << i), "{k}");
        }
        for other in [
            "",
            "x-api-kez",
            "host",
            "signatures",
            "content-type",
            "x-http-method-overrid",
        ] {
            assert_eq!(known_bit(other), None, "{other}");
        }
    }

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
    fn fields_a_decision_reads_without_signature_fields() {
        for n in KNOWN.iter().chain(READ_UNSIGNED.iter()) {
            assert!(
                read_unsigned(n) && read_unsigned(&n.to_ascii_uppercase()),
                "{n}"
            );
        }
        for n in [
            "accept",
            "host",
            "x-api-keys",
            "x_api_key",
            "forwarded",
            "content-type",
        ] {
            assert!(!read_unsigned(n), "{n}");
        }
        for n in ["signature", "Signature-Input", "WEBHOOK-SIGNATURE"] {
            assert!(is_signature_field(n) && read_unsigned(n), "{n}");
        }
        assert!(!is_signature_field("webhook-id"));
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
