//! Request paths as origins read them: one canonical spelling, or a refusal.
//!
//! The gateway judges a path and the origin behind it acts on the path as *it* reads it. Every
//! spelling that two common origins read as two different paths is either normalised here to
//! the one reading they share, or refused (`ambiguous_path`), so no spelling reaches a weaker
//! rule than the resource deserves. The classes, and the origin behaviour each one models, are
//! in `docs/security.md` ("Paths"):
//!
//! - refused: `\` and `%5C` (IIS and WHATWG URL read `/`), `;` and `%3B` (Tomcat and Jetty
//!   strip path parameters), `%2F` (nginx and old Tomcat read `/`), `%00` and other encoded or
//!   raw control characters, `%25` (double encoding: `%252e` is `.` to a double-decoding
//!   origin), `%` not followed by two hex digits (IIS `%u002e`), escapes that do not decode to
//!   UTF-8 (overlong `%c0%ae`), non-ASCII characters some origin folds to ASCII (`／`, `ı`),
//!   segments ending in `.` or a space (Windows strips them), a raw `#`, and `..` after an
//!   empty segment (nginx merges slashes before resolving dots, WHATWG URL after);
//! - normalised: every escape decoded (origins route on the decoded path), `.` and `..` in
//!   every encoding resolved (RFC 3986 §5.2.4, as WHATWG URL and nginx do), repeated slashes
//!   merged (nginx `merge_slashes`).
//!
//! Letter case and the trailing slash are kept: route matching reads them both ways
//! (see [`Reading`](super::Reading)).

use std::fmt;

use super::confusable::folds_to_ascii;

/// A request path in canonical form: decoded segments, no dot or empty segments. Two are
/// equal when they are the same canonical path, however each was spelled when read.
#[derive(Clone, Debug)]
pub struct NormalizedPath {
    /// The decoded, non-empty segments, each after a `/` (empty for the root). A decoded
    /// segment never holds a `/`: an encoded one is refused.
    pub(super) text: String,
    /// The number of segments.
    pub(super) len: usize,
    /// Whether the path ends with `/` (never for the root).
    pub(super) trailing_slash: bool,
    /// Set by the lenient [`normalize_path`] for a path [`NormalizedPath::parse`] refuses:
    /// such a path matches no pattern.
    pub(super) refused: bool,
    /// The canonical form is the path as sent.
    as_sent: bool,
}

impl PartialEq for NormalizedPath {
    fn eq(&self, other: &Self) -> bool {
        // `as_sent` says how the path was spelled, not which path it is.
        self.text == other.text
            && self.len == other.len
            && self.trailing_slash == other.trailing_slash
            && self.refused == other.refused
    }
}

impl Eq for NormalizedPath {}

/// Whether a path is already canonical: only characters that need no escape (RFC 3986
/// `pchar` without `%`), no empty, dot or dot-ending segment. Most paths are; they skip the
/// decoding and copying of [`NormalizedPath::parse`]'s general case (which would yield them
/// unchanged).
fn already_canonical(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    let mut seg_start = 1;
    for i in 1..=b.len() {
        let c = b.get(i).copied();
        if c.is_none() || c == Some(b'/') {
            let seg = &b[seg_start..i];
            let last = c.is_none();
            // An empty segment is only the final one (a trailing slash) or the root's.
            if (seg.is_empty() && !last) || seg.last() == Some(&b'.') {
                return false;
            }
            seg_start = i + 1;
            continue;
        }
        let c = c.unwrap_or(0);
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&c)) {
            return false;
        }
    }
    true
}

/// Why a path was refused as ambiguous (`ambiguous_path`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AmbiguousPath {
    /// Byte offset in the path where the ambiguity starts.
    pub offset: usize,
    /// What origins would read differently, in words.
    pub message: String,
}

impl fmt::Display for AmbiguousPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for AmbiguousPath {}

/// One segment's problem: offset in the segment and a description.
pub(super) type SegmentError = (usize, String);

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one raw segment (between slashes) to its text, or says why origins would read it
/// differently. Also used for the literal segments of route patterns.
pub(super) fn decode_segment(raw: &str) -> Result<String, SegmentError> {
    let b = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    // Where each decoded byte came from, for error offsets.
    let mut from: Vec<usize> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let refuse = |what: &str| Err((i, what.to_string()));
        match c {
            b'\\' => return refuse("a backslash, which IIS and WHATWG URL parsers read as '/'"),
            b';' => {
                return refuse(
                    "';' starts a path parameter, which Tomcat and Jetty strip before routing",
                );
            }
            b'#' => return refuse("a raw '#', which URL parsers read as the start of a fragment"),
            0..=0x1f | 0x7f => return refuse("a control character"),
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) else {
                    return refuse(
                        "'%' not followed by two hex digits (IIS reads %uXXXX escapes, others refuse)",
                    );
                };
                let v = h * 16 + l;
                let why = match v {
                    b'/' => {
                        "an encoded '/' (%2F), which nginx and some servlet containers read as a separator"
                    }
                    b'\\' => "an encoded backslash (%5C), which IIS reads as a separator",
                    0 => "an encoded NUL (%00), which C-based origins read as the end of the path",
                    1..=0x1f | 0x7f => "an encoded control character",
                    b';' => {
                        "an encoded ';' (%3B), which double-decoding origins read as a path parameter"
                    }
                    b'%' => {
                        "an encoded '%' (%25): double encoding, which double-decoding origins decode twice"
                    }
                    _ => {
                        out.push(v);
                        from.push(i);
                        i += 3;
                        continue;
                    }
                };
                return refuse(why);
            }
            _ => {
                out.push(c);
                from.push(i);
            }
        }
        i += 1;
    }
    let at = |decoded: usize| from.get(decoded).copied().unwrap_or(raw.len());
    let text = String::from_utf8(out).map_err(|e| {
        (
            at(e.utf8_error().valid_up_to()),
            "escapes that do not decode to UTF-8 (overlong forms such as %C0%AE are read as '.' by some decoders)"
                .to_string(),
        )
    })?;
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| folds_to_ascii(c)) {
        return Err((
            at(i),
            format!(
                "U+{:04X}, which origins that fold Unicode (NFKC, best-fit code pages, simple case mapping) read as ASCII",
                u32::from(c)
            ),
        ));
    }
    if text != "." && text != ".." && (text.ends_with('.') || text.ends_with(' ')) {
        return Err((
            raw.len() - 1,
            "a segment ending in '.' or a space, which Windows and IIS strip".to_string(),
        ));
    }
    Ok(text)
}

/// A raw segment, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Empty,
    Dot,
    DotDot,
    Text(String),
}

/// Resolves dot segments. With `keep_empty` empty segments stay until the end, so a `..` can
/// remove one (WHATWG URL); without, they are merged away first (nginx). Climbing above the
/// root stays at the root (RFC 3986 §5.2.4).
fn resolve(segs: &[Seg], keep_empty: bool) -> (Vec<&str>, bool) {
    let mut out: Vec<&str> = Vec::with_capacity(segs.len());
    for s in segs {
        match s {
            Seg::Empty if keep_empty => out.push(""),
            Seg::Empty | Seg::Dot => {}
            Seg::DotDot => {
                out.pop();
            }
            Seg::Text(t) => out.push(t),
        }
    }
    let trailing = matches!(segs.last(), Some(Seg::Empty | Seg::Dot | Seg::DotDot));
    out.retain(|s| !s.is_empty());
    let trailing = trailing && !out.is_empty();
    (out, trailing)
}

/// The reading of an origin that resolves only the literal dot segments of the still-encoded
/// path (Java's `URI.normalize()`, a proxy that normalises before forwarding), in front of one
/// that decodes and resolves the rest. `encoded` are the indexes of the dot segments spelled
/// with an escape: names to the first pass.
fn resolve_literal_first(segs: &[Seg], encoded: &[usize]) -> (Vec<String>, bool) {
    let mut first: Vec<&Seg> = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::Dot | Seg::DotDot if encoded.contains(&i) => first.push(s),
            Seg::Dot => {}
            Seg::DotDot => {
                first.pop();
            }
            _ => first.push(s),
        }
    }
    // A path that ended in a literal dot segment ends with '/'.
    if matches!(segs.last(), Some(Seg::Dot | Seg::DotDot)) && !encoded.contains(&(segs.len() - 1)) {
        first.push(&Seg::Empty);
    }
    let first: Vec<Seg> = first.into_iter().cloned().collect();
    let (out, trailing) = resolve(&first, false);
    (out.into_iter().map(str::to_string).collect(), trailing)
}

impl NormalizedPath {
    /// Reads a request path (without its query) into its canonical form.
    ///
    /// # Errors
    /// An [`AmbiguousPath`] when origins would read the path differently (see the module
    /// documentation and `docs/security.md`).
    pub fn parse(path: &str) -> Result<NormalizedPath, AmbiguousPath> {
        if already_canonical(path) {
            let trailing_slash = path.len() > 1 && path.ends_with('/');
            let text = if trailing_slash {
                &path[..path.len() - 1]
            } else if path == "/" {
                ""
            } else {
                path
            };
            return Ok(NormalizedPath {
                text: text.to_string(),
                len: text.bytes().filter(|&b| b == b'/').count(),
                trailing_slash,
                refused: false,
                as_sent: true,
            });
        }
        Self::parse_general(path)
    }

    /// [`parse`](Self::parse) without the shortcut for paths already in canonical form (out of
    /// line: V8 compiles a wasm function whole on its first call, and most paths take the
    /// shortcut).
    #[inline(never)]
    fn parse_general(path: &str) -> Result<NormalizedPath, AmbiguousPath> {
        let Some(rest) = path.strip_prefix('/') else {
            return Err(AmbiguousPath {
                offset: 0,
                message: "the path does not start with '/'".into(),
            });
        };
        let mut segs = Vec::new();
        // Dot segments spelled with an escape (`%2e`), with their offsets.
        let mut encoded_dots = Vec::new();
        // Whether a name spelled with a leading '.' (`.well-known`, `.x`) came before: Node's
        // URL parser then leaves the literal dot segments after it unresolved.
        let mut dot_name_before = false;
        let mut offset = 1;
        for raw in rest.split('/') {
            let seg = if raw.is_empty() {
                Seg::Empty
            } else {
                match decode_segment(raw) {
                    Ok(t) if (t == "." || t == "..") && raw.contains('%') => {
                        encoded_dots.push((segs.len(), offset));
                        if t == "." { Seg::Dot } else { Seg::DotDot }
                    }
                    Ok(t) if t == "." || t == ".." => {
                        if dot_name_before {
                            return Err(AmbiguousPath {
                                offset,
                                message: "a dot segment after a name that begins with '.': \
                                          Node's URL parser (ada, in Node 20 and 22) leaves it \
                                          unresolved, so an application under Node reads another \
                                          path"
                                    .into(),
                            });
                        }
                        if t == "." { Seg::Dot } else { Seg::DotDot }
                    }
                    Ok(t) => {
                        dot_name_before |= raw.starts_with('.');
                        Seg::Text(t)
                    }
                    Err((at, message)) => {
                        return Err(AmbiguousPath {
                            offset: offset + at,
                            message,
                        });
                    }
                }
            };
            segs.push(seg);
            offset += raw.len() + 1;
        }
        let whatwg = resolve(&segs, true);
        let merged = resolve(&segs, false);
        if whatwg != merged {
            let at = path.find("//").unwrap_or(0);
            return Err(AmbiguousPath {
                offset: at,
                message: "'..' after an empty segment: origins that merge slashes first (nginx) \
                          and those that do not (WHATWG URL) resolve it to different paths"
                    .into(),
            });
        }
        if let Some(&(_, at)) = encoded_dots.first() {
            let encoded: Vec<usize> = encoded_dots.iter().map(|&(i, _)| i).collect();
            let (other, trailing) = resolve_literal_first(&segs, &encoded);
            if other != merged.0 || trailing != merged.1 {
                return Err(AmbiguousPath {
                    offset: at,
                    message: "an encoded dot segment ('%2e') that a literal '..' removes: origins \
                              that resolve dots before decoding (Java's URI.normalize, normalising \
                              proxies) and those that decode first read different paths"
                        .into(),
                });
            }
        }
        let (segs, trailing_slash) = merged;
        let mut text = String::with_capacity(path.len());
        for seg in &segs {
            text.push('/');
            text.push_str(seg);
        }
        let mut p = NormalizedPath {
            text,
            len: segs.len(),
            trailing_slash,
            refused: false,
            as_sent: false,
        };
        p.as_sent = p.as_string() == path;
        Ok(p)
    }

    /// Whether the canonical form ([`as_string`](Self::as_string)) is the path as it was
    /// given to [`parse`](Self::parse).
    pub fn is_as_sent(&self) -> bool {
        self.as_sent
    }

    /// The path written back out in canonical form, e.g. `/v1/orders/7`: characters outside
    /// RFC 3986 `pchar` are percent-encoded with upper-case hex, everything else is literal.
    /// This is the spelling a gateway forwards (`Decision::path`).
    pub fn as_string(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1);
        for seg in self.segments() {
            s.push('/');
            encode_segment(seg, &mut s);
        }
        if s.is_empty() || self.trailing_slash {
            s.push('/');
        }
        s
    }

    /// The decoded segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.text.split('/').skip(1)
    }

    /// Whether the path ends with `/` (never for `/` itself).
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }
}

fn encode_segment(seg: &str, out: &mut String) {
    for c in seg.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,=:@".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
            }
        }
    }
}

/// Normalises the path of a request target (anything after `?` or `#` is dropped).
///
/// Lenient: a path that [`NormalizedPath::parse`] refuses comes back marked so that it
/// matches no pattern, and written out as `/`. The verifier refuses such paths
/// (`ambiguous_path`); use `NormalizedPath::parse` to do the same.
#[deprecated(note = "use NormalizedPath::parse, which refuses ambiguous paths")]
pub fn normalize_path(target: &str) -> NormalizedPath {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    NormalizedPath::parse(path).unwrap_or(NormalizedPath {
        text: String::new(),
        len: 0,
        trailing_slash: false,
        refused: true,
        as_sent: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_shortcut_agrees_with_the_general_case() {
        let pchar = "abZ09-._~!$&'()*+,=:@";
        let mut paths = vec![
            "/".to_string(),
            "/a".into(),
            "/a/".into(),
            "/v1/orders/42".into(),
            "/a.b/c~d".into(),
            "/a./b".into(),
            "/./a".into(),
            "/a/..".into(),
            "//a".into(),
            "/a//".into(),
            "/.".into(),
            "/a%41".into(),
            "a".into(),
        ];
        // Every path of up to three segments of up to two characters from the alphabet, '/'.
        let alphabet: Vec<char> = pchar.chars().chain(['/', '.', '%']).collect();
        for a in &alphabet {
            for b in &alphabet {
                for c in &alphabet {
                    paths.push(format!("/{a}{b}{c}"));
                    paths.push(format!("/{a}/{b}{c}/"));
                }
            }
        }
        for p in &paths {
            let general = NormalizedPath::parse_general(p);
            assert_eq!(NormalizedPath::parse(p), general, "{p:?}");
            if let Ok(n) = general {
                assert_eq!(n.is_as_sent(), n.as_string() == *p, "{p:?}");
            }
        }
    }

    fn ok(p: &str) -> String {
        NormalizedPath::parse(p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .as_string()
    }

    fn refused(p: &str) -> String {
        NormalizedPath::parse(p).unwrap_err().message
    }

    #[test]
    fn dot_segments_in_every_encoding_resolve() {
        for p in [
            "/a/../b",
            "/a/%2e%2e/b",
            "/a/%2E%2e/b",
            "/a/.%2e/b",
            "/a/%2e./b",
            "/./b",
            "/%2e/b",
            "/a/x/../../b",
            "/../../b",
        ] {
            assert_eq!(ok(p), "/b", "{p}");
        }
        assert_eq!(ok("/a/b/.."), "/a/");
        assert_eq!(ok("/a/."), "/a/");
        assert_eq!(ok("/.."), "/");
    }

    #[test]
    fn escapes_decode_and_re_encode_canonically() {
        assert_eq!(ok("/%61dmin/x"), "/admin/x");
        assert_eq!(ok("/a%3Ab/%7e"), "/a:b/~");
        assert_eq!(ok("/caf%C3%A9/x%20y"), "/caf%C3%A9/x%20y");
        assert_eq!(ok("/café"), "/caf%C3%A9");
        assert_eq!(ok("/a%3fb"), "/a%3Fb");
        assert_eq!(ok("//a///b/"), "/a/b/");
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/ADMIN/X/"), "/ADMIN/X/");
    }

    #[test]
    fn ambiguous_spellings_are_refused() {
        for (p, why) in [
            ("/a\\b", "backslash"),
            ("/a/..;/b", "path parameter"),
            ("/a;x/b", "path parameter"),
            ("/a%3bx", "%3B"),
            ("/a/..%2Fb", "%2F"),
            ("/a%5c..", "%5C"),
            ("/a%00.json", "NUL"),
            ("/a%0d%0ab", "control"),
            ("/a\tb", "control"),
            ("/a/%252e%252e/b", "%25"),
            ("/a/%%32%65", "two hex"),
            ("/a/%u002e", "two hex"),
            ("/a/%2", "two hex"),
            ("/a/%c0%ae%c0%ae/b", "UTF-8"),
            ("/a/%ed%a0%80", "UTF-8"),
            ("/a/%e9t%e9", "UTF-8"),
            ("/a\u{FF0F}b", "U+FF0F"),
            ("/adm\u{0131}n", "U+0131"),
            ("/a/%EF%BC%8F", "U+FF0F"),
            ("/admin./x", "ending in '.'"),
            ("/admin%2e/x", "ending in '.'"),
            ("/admin%20/x", "ending in '.' or a space"),
            ("/.../x", "ending in '.'"),
            ("/a#b", "fragment"),
            ("/a/b//../c", "merge slashes"),
            ("*", "start with '/'"),
            ("", "start with '/'"),
        ] {
            let m = refused(p);
            assert!(m.contains(why), "{p}: {m}");
        }
    }

    #[test]
    fn empty_segments_before_dots_only_refused_when_readings_differ() {
        // WHATWG keeps "//" and lets ".." remove the empty segment; nginx merges first.
        assert_eq!(ok("/a//b/../c"), "/a/c");
        assert!(NormalizedPath::parse("/a/b//..").is_err());
        assert_eq!(ok("//../a"), "/a");
    }

    #[test]
    fn encoded_dots_refused_only_where_a_literal_dot_dot_removes_them() {
        // Java's URI.normalize resolves `..` against the still-encoded `%2e%2e`: /a/c.
        for p in [
            "/a/%2e%2e/../c",
            "/a/b/%2E/../c",
            "/v/x/%2e/..",
            "/a/.%2e/../c",
        ] {
            assert!(refused(p).contains("encoded dot segment"), "{p}");
        }
        assert_eq!(ok("/a/%2e%2e/c"), "/c");
        assert_eq!(ok("/a/%2e/b/../c"), "/a/c");
        assert_eq!(ok("/a/b/../%2e%2e/c"), "/c");
        assert_eq!(ok("/a/%2e%2e/./c"), "/c");
        let e = NormalizedPath::parse("/a/b/%2e/../c").unwrap_err();
        assert_eq!(e.offset, 5);
    }

    #[test]
    fn literal_dots_after_a_dot_name_are_refused() {
        // Node's URL parser keeps /x/.a/../b as is; everyone else reads /x/b.
        for p in [
            "/x/.a/../b",
            "/api/admin/.x/../../public/y",
            "/x/.a/y/./b",
            "/.a/../b",
        ] {
            assert!(refused(p).contains("name that begins with '.'"), "{p}");
        }
        assert_eq!(ok("/x/.well-known/a"), "/x/.well-known/a");
        assert_eq!(ok("/x/../.a/b"), "/.a/b");
        assert_eq!(ok("/x/.a/%2e%2e/b"), "/x/b");
        assert_eq!(ok("/x/..a/b"), "/x/..a/b");
        assert_eq!(NormalizedPath::parse("/x/.a/../b").unwrap_err().offset, 6);
    }

    #[test]
    fn offsets_point_at_the_problem() {
        let e = NormalizedPath::parse("/api/public/..%2Fadmin").unwrap_err();
        assert_eq!(e.offset, 14);
        assert!(e.to_string().ends_with("(at byte 14)"));
    }

    #[test]
    #[allow(deprecated)]
    fn the_lenient_helper_marks_refused_paths() {
        assert_eq!(normalize_path("/a/../b?x=1").as_string(), "/b");
        assert!(normalize_path("/a;b").refused);
        assert_eq!(normalize_path("").as_string(), "/");
    }
}
