//! The request model the verifier decides on, independent of any HTTP library.
//!
//! Here: [`Request`], its one text buffer and the accessors of its parts. `target` reads the
//! method and URL, `headers` reads and looks up header fields, `fields` knows the field names
//! a decision reads, `limits` holds the section limits and [`RequestError`], `body` the body.

use std::fmt;

pub(crate) mod body;
mod fields;
mod headers;
mod limits;
mod target;

use body::{Body, BodyDigests};
#[cfg(target_arch = "wasm32")]
pub(crate) use fields::is_signature_field;
pub(crate) use fields::{METHOD_OVERRIDE_FIELDS, is_token};
pub use limits::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_TARGET_BYTES, RequestError};

/// A span of [`Request`]'s text.
type Span = (u32, u32);

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
    /// The `fields::KNOWN` fields present (a bit each).
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

impl Request {
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

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        (start as u32, self.text.len() as u32)
    }

    fn at(&self, (a, b): Span) -> &str {
        &self.text[a as usize..b as usize]
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

    /// Problems found while reading the request; a request with any is refused.
    pub fn defects(&self) -> &[String] {
        &self.defects
    }
}
