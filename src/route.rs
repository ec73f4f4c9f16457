//! Route path patterns and request-path normalisation.
//!
//! Patterns are literal segments, `*` (exactly one non-empty segment) and a trailing `/**`
//! (any rest, including nothing). Request paths are normalised before matching so that an
//! encoded or dotted spelling of a protected path cannot slip past its route:
//! `%XX` escapes of unreserved characters are decoded, `.`/`..` segments are removed
//! (RFC 3986 §5.2.4) and runs of `/` are collapsed. The query is ignored.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Any,
}

/// A compiled route path pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segs: Vec<Seg>,
    rest: bool,
}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({:?})", self.source)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PathPattern {
    /// Compiles a pattern such as `/v1/orders/**` or `/v1/*/items`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err(format!("path pattern {s:?} must start with '/'"));
        }
        if s.contains(['?', '#']) {
            return Err(format!(
                "path pattern {s:?} must not contain '?' or '#' (the query is ignored)"
            ));
        }
        let parts: Vec<&str> = s[1..].split('/').collect();
        let mut segs = Vec::new();
        let mut rest = false;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            match *part {
                "**" if last => rest = true,
                "**" => {
                    return Err(format!(
                        "in {s:?}: '**' is only allowed as the last segment"
                    ));
                }
                "*" => segs.push(Seg::Any),
                "." | ".." => return Err(format!("in {s:?}: dot segments are not allowed")),
                p if p.contains('*') => {
                    return Err(format!(
                        "in {s:?}: '*' must be a whole segment, not part of {p:?}"
                    ));
                }
                "" if !last => return Err(format!("in {s:?}: empty segment ('//')")),
                p => segs.push(Seg::Lit(normalize_segment(p))),
            }
        }
        Ok(PathPattern {
            source: s.to_string(),
            segs,
            rest,
        })
    }

    /// The pattern as written in the key set.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a normalised path (see [`normalize_path`]) matches.
    pub fn matches(&self, path: &NormalizedPath) -> bool {
        let p = &path.segs;
        if self.rest {
            if p.len() < self.segs.len() {
                return false;
            }
        } else if p.len() != self.segs.len() {
            return false;
        }
        self.segs.iter().zip(p).all(|(s, seg)| match s {
            Seg::Any => !seg.is_empty(),
            Seg::Lit(l) => l == seg,
        })
    }

    /// True when every path this pattern matches is also matched by `earlier`
    /// (so this one can never be reached for the same methods).
    pub fn is_shadowed_by(&self, earlier: &PathPattern) -> bool {
        let covered = |a: &Seg, b: &Seg| match (a, b) {
            (_, Seg::Any) => true,
            (Seg::Lit(x), Seg::Lit(y)) => x == y,
            (Seg::Any, Seg::Lit(_)) => false,
        };
        if earlier.rest {
            self.segs.len() >= earlier.segs.len()
                && earlier
                    .segs
                    .iter()
                    .zip(&self.segs)
                    .all(|(e, s)| covered(s, e))
        } else {
            !self.rest
                && self.segs.len() == earlier.segs.len()
                && earlier
                    .segs
                    .iter()
                    .zip(&self.segs)
                    .all(|(e, s)| covered(s, e))
        }
    }
}

/// A request path split into normalised segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizedPath {
    segs: Vec<String>,
}

impl NormalizedPath {
    /// The path written back out, e.g. `/v1/orders/7`.
    pub fn as_string(&self) -> String {
        let mut s = String::new();
        for seg in &self.segs {
            s.push('/');
            s.push_str(seg);
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }
}

/// Normalises the path of a request target (anything after `?` or `#` is dropped).
pub fn normalize_path(target: &str) -> NormalizedPath {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let mut segs: Vec<String> = Vec::new();
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    for (i, raw) in parts.into_iter().enumerate() {
        let last = i + 1 == n;
        let seg = normalize_segment(raw);
        match seg.as_str() {
            "." => {
                if last {
                    segs.push(String::new());
                }
            }
            ".." => {
                segs.pop();
                if last {
                    segs.push(String::new());
                }
            }
            "" => {
                // Leading '/', and '//' runs, carry no segment; a trailing '/' is kept.
                if last && i > 0 {
                    segs.push(String::new());
                }
            }
            _ => segs.push(seg),
        }
    }
    if segs.is_empty() {
        segs.push(String::new());
    }
    NormalizedPath { segs }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes escapes of unreserved characters and upper-cases the hex of all others
/// (RFC 3986 §6.2.2).
fn normalize_segment(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            let v = h * 16 + l;
            if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') {
                out.push(v as char);
            } else {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(h)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(l)]));
            }
            i += 3;
            continue;
        }
        let ch = s[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, path: &str) -> bool {
        PathPattern::parse(pat)
            .unwrap()
            .matches(&normalize_path(path))
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("/health", "/health"));
        assert!(m("/health", "/health?x=1"));
        assert!(!m("/health", "/health/"));
        assert!(!m("/health", "/healthz"));
        assert!(m("/v1/*/items", "/v1/a/items"));
        assert!(!m("/v1/*/items", "/v1/items"));
        assert!(!m("/v1/*", "/v1/"));
        assert!(m("/files/**", "/files"));
        assert!(m("/files/**", "/files/"));
        assert!(m("/files/**", "/files/a/b"));
        assert!(!m("/files/**", "/filesx"));
        assert!(m("/**", "/"));
        assert!(m("/**", "/anything/at/all"));
        assert!(m("/", "/"));
        assert!(!m("/", "/a"));
    }

    #[test]
    fn encoded_and_dotted_paths_cannot_escape_their_route() {
        assert!(m("/admin/**", "/%61dmin/x"));
        assert!(m("/admin/**", "/public/../admin/x"));
        assert!(m("/admin/**", "/public/%2e%2e/admin/x"));
        assert!(m("/admin/**", "//admin//x"));
        assert!(m("/admin/**", "/./admin"));
        assert!(!m("/admin/**", "/admin%2Fx"));
        assert!(m("/a/*", "/a/b%2fc"));
        assert_eq!(normalize_path("/a/b%2fc").as_string(), "/a/b%2Fc");
        assert_eq!(normalize_path("/../../x").as_string(), "/x");
        assert_eq!(normalize_path("").as_string(), "/");
        assert_eq!(normalize_path("/a/b/..").as_string(), "/a/");
    }

    #[test]
    fn bad_patterns() {
        assert!(PathPattern::parse("health").is_err());
        assert!(PathPattern::parse("/a/**/b").is_err());
        assert!(PathPattern::parse("/a/b*").is_err());
        assert!(PathPattern::parse("/a//b").is_err());
        assert!(PathPattern::parse("/a/../b").is_err());
        assert!(PathPattern::parse("/a?x").is_err());
    }

    #[test]
    fn shadowing() {
        let p = |s| PathPattern::parse(s).unwrap();
        assert!(p("/v1/orders/x").is_shadowed_by(&p("/v1/orders/**")));
        assert!(p("/v1/orders/**").is_shadowed_by(&p("/v1/**")));
        assert!(p("/v1/a").is_shadowed_by(&p("/v1/*")));
        assert!(!p("/v1/*").is_shadowed_by(&p("/v1/a")));
        assert!(!p("/v1/**").is_shadowed_by(&p("/v1/*")));
        assert!(!p("/v2/a").is_shadowed_by(&p("/v1/**")));
    }
}
