//! How origins behind a gateway read a request path: independent models, written without
//! looking at keygate's normaliser, each a pipeline from the raw path to the segments the
//! origin routes on. The path target holds keygate to them: whatever keygate lets through must
//! not fall under a weaker rule than the one an origin applies to its own reading.

use unicode_normalization::UnicodeNormalization;

/// How an origin compares a path segment with the name in its route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Byte for byte (nginx locations, Go's ServeMux, case-sensitive routers).
    Exact,
    /// ASCII letters in any case (Express and Spring by default).
    AsciiCase,
    /// Unicode simple case mappings (.NET `OrdinalIgnoreCase`, Java `equalsIgnoreCase`,
    /// Go `strings.EqualFold`).
    UnicodeCase,
    /// The widest reading keygate admits under `path_case: insensitive`: ASCII letters in any
    /// case, and any two names that both hold non-ASCII text (keygate does not normalise
    /// Unicode, so it may read them as one: towards the stricter rule).
    Widest,
}

/// One origin's reading of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Which origin behaviour this models.
    pub origin: &'static str,
    /// Decoded, non-empty segments.
    pub segs: Vec<String>,
    /// Whether the path ends with `/` (never for the root).
    pub trailing: bool,
    pub compare: Compare,
}

/// Percent-decodes `s` (strict: `None` on a `%` without two hex digits).
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = char::from(*b.get(i + 1)?).to_digit(16)?;
            let l = char::from(*b.get(i + 2)?).to_digit(16)?;
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn decode_utf8(s: &str) -> Option<String> {
    String::from_utf8(percent_decode(s)?).ok()
}

/// A raw segment as a dot-resolver sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Name(String),
    Dot,
    DotDot,
}

/// RFC 3986 §5.2.4-style resolution over `parts`; with `keep_empty`, empty segments stay
/// until the end (so `..` can remove one), else they are merged away first. Returns the
/// non-empty segments and whether the path ends with `/`.
fn resolve(parts: Vec<Part>, keep_empty: bool) -> (Vec<String>, bool) {
    let trailing = match parts.last() {
        Some(Part::Dot | Part::DotDot) => true,
        Some(Part::Name(n)) => n.is_empty(),
        None => false,
    };
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        match p {
            Part::Name(n) if n.is_empty() && !keep_empty => {}
            Part::Name(n) => out.push(n),
            Part::Dot => {}
            Part::DotDot => {
                out.pop();
            }
        }
    }
    out.retain(|s| !s.is_empty());
    let trailing = trailing && !out.is_empty();
    (out, trailing)
}

fn classify(seg: String) -> Part {
    match seg.as_str() {
        "." => Part::Dot,
        ".." => Part::DotDot,
        _ => Part::Name(seg),
    }
}

/// nginx: decode the whole path first (so `%2F` is a separator), merge slashes, then resolve
/// dot segments. Go's `path.Clean` over `URL.Path` and Tomcat after `;` stripping read the same.
fn nginx(raw: &str) -> Option<Reading> {
    let decoded = decode_utf8(raw)?;
    let rest = decoded.strip_prefix('/')?;
    let (segs, trailing) = resolve(rest.split('/').map(|s| classify(s.into())).collect(), false);
    Some(Reading {
        origin: "nginx (decode, merge slashes, resolve dots)",
        segs,
        trailing,
        compare: Compare::Exact,
    })
}

/// Tomcat and Jetty: strip `;parameters` from every segment, then as nginx.
fn servlet(raw: &str) -> Option<Reading> {
    let stripped: Vec<&str> = raw
        .split('/')
        .map(|s| s.split(';').next().unwrap_or(""))
        .collect();
    let mut r = nginx(&stripped.join("/"))?;
    r.origin = "Tomcat/Jetty (strip ;parameters, decode, resolve)";
    r.compare = Compare::AsciiCase;
    Some(r)
}

/// The WHATWG URL parser's path state (URL Standard §4.4, for a special scheme such as
/// `http`), as a Node or Workers origin gets `new URL(req.url).pathname`: `\` is a separator,
/// `.`, `..` and their `%2e` spellings are resolved on the raw path with empty segments kept,
/// and the application decodes the segments afterwards and routes on the non-empty ones
/// (leading and trailing controls and spaces are stripped and tabs and newlines removed
/// first, as the parser does with the whole URL).
/// (Written from the standard rather than taken from the `url` crate, which keeps a `C:`-like
/// segment that `..` should remove in http URLs: servo/rust-url#1130.)
fn whatwg(raw: &str) -> Option<Reading> {
    let input: String = raw
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let raw = input.as_str();
    let rest = raw.strip_prefix(['/', '\\'])?;
    let single = |b: &str| b == "." || b.eq_ignore_ascii_case("%2e");
    let double = |b: &str| {
        b == ".."
            || [".%2e", "%2e.", "%2e%2e"]
                .iter()
                .any(|d| b.eq_ignore_ascii_case(d))
    };
    let mut path: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut chars = rest.chars();
    loop {
        let c = chars.next();
        let end = matches!(c, None | Some('?' | '#'));
        if end || matches!(c, Some('/' | '\\')) {
            if double(&buf) {
                path.pop();
                if end {
                    path.push(String::new());
                }
            } else if single(&buf) {
                if end {
                    path.push(String::new());
                }
            } else {
                path.push(std::mem::take(&mut buf));
            }
            buf.clear();
            if end {
                break;
            }
        } else if let Some(ch) = c {
            buf.push(ch);
        }
    }
    let trailing = path.last().is_some_and(String::is_empty);
    let mut segs = Vec::new();
    for s in &path {
        if !s.is_empty() {
            segs.push(decode_utf8(s)?);
        }
    }
    let trailing = trailing && !segs.is_empty();
    Some(Reading {
        origin: "WHATWG URL pathname, segments decoded by the app",
        segs,
        trailing,
        compare: Compare::AsciiCase,
    })
}

/// Node's URL parser (ada, in Node 20.20 and 22.23; see ada-url/ada#935), as observed against
/// the fuzz corpus: when the path has no `%` or `\`, does not start with `/.`, and its first
/// `/.` begins a name (`/x/.a/../b`), the path is taken as it is, dot segments and all; else
/// it is the WHATWG reading. A Hono application under Node routes on that.
fn node_url(raw: &str) -> Option<Reading> {
    let keeps = !raw.contains(['%', '\\'])
        && !raw.starts_with("/.")
        && raw
            .find("/.")
            .is_some_and(|i| !matches!(raw[i + 2..].chars().next(), None | Some('.' | '/')));
    if !keeps {
        let mut r = whatwg(raw)?;
        r.origin = "Node's URL parser (ada), segments decoded by the app";
        return Some(r);
    }
    let rest = raw.strip_prefix('/')?;
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Some(Reading {
        origin: "Node's URL parser (ada), which keeps this path as is",
        trailing: raw.ends_with('/') && !segs.is_empty(),
        segs,
        compare: Compare::AsciiCase,
    })
}

/// An RFC 3986 normaliser that resolves only the literal dot segments of the still-encoded
/// path (Java's `URI.normalize()`, proxies that normalise before forwarding), in front of an
/// origin that decodes and resolves again (a servlet container, a file server).
fn encoded_first(raw: &str) -> Option<Reading> {
    let rest = raw.strip_prefix('/')?;
    let (first, trailing1) = resolve(rest.split('/').map(|s| classify(s.into())).collect(), true);
    let mut parts = Vec::with_capacity(first.len());
    for s in &first {
        parts.push(classify(decode_utf8(s)?));
    }
    let (segs, trailing2) = resolve(parts, false);
    Some(Reading {
        origin: "literal dots resolved before decoding (Java URI.normalize), then decoded and resolved",
        trailing: (trailing1 || trailing2) && !segs.is_empty(),
        segs,
        compare: Compare::Exact,
    })
}

/// IIS: `%uXXXX` and `%XX` escapes decoded, `\` read as `/`, trailing dots and spaces of a
/// segment stripped (Windows file names), names compared case-insensitively.
fn iis(raw: &str) -> Option<Reading> {
    let mut decoded = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find("%u") {
        decoded.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 6)?;
        let cp = u32::from_str_radix(hex, 16).ok()?;
        decoded.push(char::from_u32(cp)?);
        rest = &rest[i + 6..];
    }
    decoded.push_str(rest);
    let decoded = decode_utf8(&decoded)?.replace('\\', "/");
    let rest = decoded.strip_prefix('/')?;
    let parts = rest
        .split('/')
        .map(|s| classify(s.trim_end_matches(['.', ' ']).to_string()).or_dots(s))
        .collect();
    let (segs, trailing) = resolve(parts, false);
    Some(Reading {
        origin: "IIS (%u escapes, backslash, trailing dots and spaces stripped)",
        segs,
        trailing,
        compare: Compare::UnicodeCase,
    })
}

impl Part {
    /// `.` and `..` stay dot segments even though trimming trailing dots empties them.
    fn or_dots(self, original: &str) -> Part {
        match original {
            "." => Part::Dot,
            ".." => Part::DotDot,
            _ => self,
        }
    }
}

/// Frameworks that apply Unicode compatibility normalisation (NFKC) to the decoded path
/// before routing (`／` is `/`, `ａｄｍｉｎ` is `admin`).
fn nfkc(raw: &str) -> Option<Reading> {
    let decoded: String = decode_utf8(raw)?.nfkc().collect();
    let rest = decoded.strip_prefix('/')?;
    let (segs, trailing) = resolve(rest.split('/').map(|s| classify(s.into())).collect(), false);
    Some(Reading {
        origin: "NFKC-normalising framework",
        segs,
        trailing,
        compare: Compare::Exact,
    })
}

/// Origins that decode twice (a decoding proxy in front of a decoding application).
fn double_decode(raw: &str) -> Option<Reading> {
    let once = decode_utf8(raw)?;
    let mut r = nginx(&once)?;
    r.origin = "double-decoding proxy and origin";
    Some(r)
}

/// Every reading the models give of `raw` (an origin-form path, no query).
pub fn readings(raw: &str) -> Vec<Reading> {
    let mut out: Vec<Reading> = [
        nginx,
        servlet,
        whatwg,
        node_url,
        encoded_first,
        iis,
        nfkc,
        double_decode,
    ]
    .iter()
    .filter_map(|m| m(raw))
    .collect();
    // Case-insensitive variants of the case-sensitive ones (Express, Spring, .NET).
    let folded: Vec<Reading> = out
        .iter()
        .filter(|r| r.compare == Compare::Exact)
        .map(|r| Reading {
            compare: Compare::UnicodeCase,
            ..r.clone()
        })
        .collect();
    out.extend(folded);
    out
}

fn simple(mut it: impl Iterator<Item = char>, c: char) -> char {
    match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Two characters equal under simple (one-to-one) case mapping.
pub fn char_eq_ignore_case(a: char, b: char) -> bool {
    a == b
        || simple(a.to_uppercase(), a) == simple(b.to_uppercase(), b)
        || simple(a.to_lowercase(), a) == simple(b.to_lowercase(), b)
}

impl Compare {
    pub fn eq(self, a: &str, b: &str) -> bool {
        match self {
            Compare::Exact => a == b,
            Compare::AsciiCase => a.eq_ignore_ascii_case(b),
            Compare::UnicodeCase => {
                a.chars().count() == b.chars().count()
                    && a.chars()
                        .zip(b.chars())
                        .all(|(x, y)| char_eq_ignore_case(x, y))
            }
            Compare::Widest => match (a.is_ascii(), b.is_ascii()) {
                (true, true) => a.eq_ignore_ascii_case(b),
                (false, false) => true,
                _ => false,
            },
        }
    }
}

/// A route pattern as an origin's router reads it: `*` one segment, a final `/**` any rest, a
/// final `/` the directory form; literal segments percent-decoded.
#[derive(Debug)]
pub struct Pattern {
    segs: Vec<Option<String>>,
    rest: bool,
    trailing: bool,
}

impl Pattern {
    pub fn parse(s: &str) -> Option<Pattern> {
        let parts: Vec<&str> = s.strip_prefix('/')?.split('/').collect();
        let mut p = Pattern {
            segs: Vec::new(),
            rest: false,
            trailing: false,
        };
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            match *part {
                "**" if last => p.rest = true,
                "*" => p.segs.push(None),
                "" if last => p.trailing = !p.segs.is_empty(),
                lit => p.segs.push(Some(decode_utf8(lit)?)),
            }
        }
        Some(p)
    }

    /// Whether the origin routes `r` to this pattern; `slash_blind` for routers that serve
    /// `/a/` as `/a` (Express without strict routing).
    pub fn matches(&self, r: &Reading, slash_blind: bool) -> bool {
        self.matches_segs(&r.segs, r.trailing, r.compare, slash_blind)
    }

    pub fn matches_segs(
        &self,
        segs: &[String],
        trailing: bool,
        compare: Compare,
        slash_blind: bool,
    ) -> bool {
        let shape = if self.rest {
            segs.len() >= self.segs.len()
        } else {
            segs.len() == self.segs.len() && (slash_blind || trailing == self.trailing)
        };
        shape
            && self.segs.iter().zip(segs).all(|(p, s)| match p {
                None => true,
                Some(l) => compare.eq(l, s),
            })
    }
}

/// A reading written as a route pattern that matches exactly it (`*` escaped as `%2A`).
pub fn as_pattern(r: &Reading) -> String {
    let mut s = String::new();
    for seg in &r.segs {
        s.push('/');
        for b in seg.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                s.push(char::from(b));
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if s.is_empty() || r.trailing {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(f: fn(&str) -> Option<Reading>, raw: &str) -> String {
        let r = f(raw).unwrap();
        as_pattern(&r)
    }

    #[test]
    fn models_read_paths_as_their_origins_do() {
        assert_eq!(reading(nginx, "/a/%2e%2e/b"), "/b");
        assert_eq!(reading(nginx, "/a/..%2Fb"), "/b");
        assert_eq!(reading(nginx, "//a///b/"), "/a/b/");
        assert_eq!(reading(nginx, "/a/b//../c"), "/a/c");
        assert_eq!(reading(whatwg, "/a/b//../c"), "/a/b/c");
        assert_eq!(reading(whatwg, "/a/%2E%2e/b"), "/b");
        assert_eq!(reading(whatwg, "/a\\..\\b"), "/b");
        assert_eq!(reading(whatwg, "/a:/.."), "/");
        assert_eq!(reading(whatwg, "/a/b/%2e"), "/a/b/");
        assert_eq!(reading(whatwg, "/a/b/.%2E"), "/a/");
        assert_eq!(reading(whatwg, "/x/.a/../b"), "/x/b");
        assert_eq!(reading(node_url, "/x/.a/../b"), "/x/.a/../b");
        assert_eq!(reading(node_url, "/.a/x/../b"), "/.a/b");
        assert_eq!(reading(node_url, "/x/.a/%2e%2e/b"), "/x/b");
        assert_eq!(reading(node_url, "/x/..a/../b"), "/x/b");
        assert_eq!(reading(servlet, "/api/public/..;/admin/x"), "/api/admin/x");
        assert_eq!(reading(encoded_first, "/a/%2e%2e/../c"), "/a/c");
        assert_eq!(reading(encoded_first, "/a/%2e%2e/c"), "/c");
        assert_eq!(reading(iis, "/admin./x"), "/admin/x");
        assert_eq!(reading(iis, "/a%u002fb"), "/a/b");
        assert_eq!(reading(nfkc, "/a\u{FF0F}b"), "/a/b");
        assert_eq!(reading(double_decode, "/a/%252e%252e/b"), "/b");
        assert_eq!(reading(nginx, "/"), "/");
        assert_eq!(reading(nginx, "/a/.."), "/");
        assert_eq!(reading(nginx, "/a/b/.."), "/a/");
        assert!(nginx("/a%zz").is_none());
    }

    #[test]
    fn patterns_and_case() {
        let r = nginx("/API/Admin/x/").unwrap();
        let p = Pattern::parse("/api/admin/**").unwrap();
        assert!(!p.matches(&r, false));
        assert!(p.matches(
            &Reading {
                compare: Compare::AsciiCase,
                ..r.clone()
            },
            false
        ));
        let lit = Pattern::parse("/api/admin/x").unwrap();
        let folded = Reading {
            compare: Compare::UnicodeCase,
            ..r
        };
        assert!(!lit.matches(&folded, false));
        assert!(lit.matches(&folded, true));
        assert!(Compare::UnicodeCase.eq("CAFÉ", "café"));
        assert!(Compare::UnicodeCase.eq("\u{212A}", "k"));
        assert!(!Compare::AsciiCase.eq("CAFÉ", "café"));
    }
}

#[cfg(test)]
mod sweep {
    use unicode_normalization::UnicodeNormalization;

    /// Every code point some origin reads as (part of) an ASCII spelling — its NFKC form
    /// holds ASCII, or its simple upper or lower case is ASCII — is refused in a path, at
    /// the Unicode version of this toolchain and of `unicode-normalization` (keygate's table
    /// was generated once; a newer Unicode adds characters).
    #[test]
    fn every_character_that_folds_to_ascii_is_refused() {
        let mut missing = Vec::new();
        for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            let nfkc_ascii = c.to_string().nfkc().any(|x| x.is_ascii());
            let case_ascii = [
                c.to_lowercase().collect::<Vec<_>>(),
                c.to_uppercase().collect(),
            ]
            .iter()
            .any(|m| m.len() == 1 && m[0].is_ascii());
            if (nfkc_ascii || case_ascii)
                && keygate::NormalizedPath::parse(&format!("/a{c}b")).is_ok()
            {
                missing.push(format!("U+{:04X}", u32::from(c)));
            }
        }
        assert!(
            missing.is_empty(),
            "{} not refused: {}",
            missing.len(),
            missing.join(" ")
        );
    }
}
