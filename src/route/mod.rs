//! Route path patterns, and request paths read the ways origins read them.
//!
//! Patterns are literal segments, `*` (exactly one segment) and a trailing `/**` (any rest,
//! including nothing); a pattern ending in `/` asks for the trailing slash. Request paths are
//! first put in canonical form or refused ([`NormalizedPath::parse`], see `path.rs`). What is
//! left to origins' taste, letter case and the trailing slash, is matched by [`Reading`]s:
//! the decision checks the rule of every reading (`src/decide/routes.rs`), so the stricter
//! rule wins whichever way the origin reads the path.

mod confusable;
mod path;

use std::fmt;

#[allow(deprecated)]
pub use path::normalize_path;
pub use path::{AmbiguousPath, NormalizedPath};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    /// Decoded text.
    Lit(String),
    Any,
}

/// A compiled route path pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segs: Vec<Seg>,
    /// Ends in `/` (a directory-style literal pattern).
    trailing_slash: bool,
    /// Ends in `/**`.
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

/// One way an origin may read a canonical path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Reading {
    /// Letters compared ASCII-case-insensitively (IIS, Express and Spring by default).
    pub(crate) fold_case: bool,
    /// The trailing slash ignored: `/a` and `/a/` are one path (Express's non-strict
    /// routing, older Spring MVC).
    pub(crate) ignore_slash: bool,
}

impl Reading {
    /// The readings a key set's policy admits: always the path as sent, plus the case-folded
    /// and the slash-blind readings unless the policy opts out.
    pub(crate) fn all(
        case_sensitive: bool,
        slash_significant: bool,
    ) -> impl Iterator<Item = Reading> {
        [(false, false), (true, false), (false, true), (true, true)]
            .into_iter()
            .filter(move |&(f, t)| !(f && case_sensitive || t && slash_significant))
            .map(|(fold_case, ignore_slash)| Reading {
                fold_case,
                ignore_slash,
            })
    }
}

/// Whether an origin that folds names may read the segments `a` and `b` as one name: ASCII
/// letters in any case, and non-ASCII text under Unicode case mapping or normalisation (NFC,
/// NFKC), which keygate does not compute itself. Those never turn non-ASCII text into ASCII
/// (characters that would are refused, see `confusable.rs`), never change ASCII text, and
/// only merge an ASCII character with the non-ASCII ones after it (`e` + U+0301 is `é`). So
/// two names that both hold non-ASCII text are read as one unless the ASCII text before
/// their first non-ASCII character (less its last character) or after their last one tells
/// them apart: `café` is `CAFÉ` and `cafe\u{301}`, not `thé`. It errs towards the stricter
/// rule (two CJK names are read as one); `policy.path_case: "sensitive"` compares bytes.
fn same_name_folded(a: &str, b: &str) -> bool {
    match (a.is_ascii(), b.is_ascii()) {
        (true, true) => return a.eq_ignore_ascii_case(b),
        (false, false) => {}
        _ => return false,
    }
    // The ASCII prefix before the first non-ASCII character, less the character that may
    // combine with it; the ASCII suffix after the last one.
    let head = |s: &'_ str| -> usize { s.find(|c: char| !c.is_ascii()).unwrap_or(0) };
    let tail = |s: &'_ str| -> usize {
        s.char_indices()
            .rfind(|(_, c)| !c.is_ascii())
            .map_or(s.len(), |(i, c)| i + c.len_utf8())
    };
    let (pa, pb) = (head(a).saturating_sub(1), head(b).saturating_sub(1));
    let n = pa.min(pb);
    a[..n].eq_ignore_ascii_case(&b[..n]) && a[tail(a)..].eq_ignore_ascii_case(&b[tail(b)..])
}

impl PathPattern {
    /// Compiles a pattern such as `/v1/orders/**` or `/v1/*/items`.
    ///
    /// # Errors
    /// When the pattern is malformed or could never match a request path (a literal segment
    /// that requests may not spell: a dot segment, `;`, an encoded `/`, a trailing dot, ...).
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
        let mut trailing_slash = false;
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
                p if p.contains('*') => {
                    return Err(format!(
                        "in {s:?}: '*' must be a whole segment, not part of {p:?}"
                    ));
                }
                "" if last => trailing_slash = !segs.is_empty(),
                "" => return Err(format!("in {s:?}: empty segment ('//')")),
                p => match path::decode_segment(p) {
                    Ok(t) if t == "." || t == ".." => {
                        return Err(format!("in {s:?}: dot segments are not allowed"));
                    }
                    Ok(t) => segs.push(Seg::Lit(t)),
                    Err((_, why)) => {
                        return Err(format!(
                            "in {s:?}: segment {p:?} can never match: requests spelling {why} are refused"
                        ));
                    }
                },
            }
        }
        Ok(PathPattern {
            source: s.to_string(),
            segs,
            trailing_slash,
            rest,
        })
    }

    /// The pattern as written in the key set.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a canonical path matches under any reading (letters in any case, with or
    /// without the trailing slash). A path refused as ambiguous matches nothing.
    pub fn matches(&self, path: &NormalizedPath) -> bool {
        Reading::all(false, false).any(|r| self.matches_reading(path, r))
    }

    /// Whether a canonical path matches when read as `r`.
    pub(crate) fn matches_reading(&self, path: &NormalizedPath, r: Reading) -> bool {
        if path.refused {
            return false;
        }
        if self.rest {
            if path.len < self.segs.len() {
                return false;
            }
        } else if path.len != self.segs.len()
            || (!r.ignore_slash && path.trailing_slash != self.trailing_slash)
        {
            return false;
        }
        self.segs
            .iter()
            .zip(path.segments())
            .all(|(s, seg)| match s {
                Seg::Any => true,
                Seg::Lit(l) if r.fold_case => same_name_folded(l, seg),
                Seg::Lit(l) => l == seg,
            })
    }

    /// [`matches_reading`](Self::matches_reading) for each of `readings` at once (bit `i` for
    /// `readings[i]`), comparing the segments once.
    pub(crate) fn reading_mask(&self, path: &NormalizedPath, readings: &[Reading]) -> u8 {
        if path.refused
            || (self.rest && path.len < self.segs.len())
            || (!self.rest && path.len != self.segs.len())
        {
            return 0;
        }
        let (mut exact, mut folded) = (true, true);
        // The path's segments, each after a `/`, read in step with the pattern's (the path
        // has at least as many).
        let text = path.text.as_bytes();
        let mut at = 1;
        for s in &self.segs {
            let end = text
                .get(at..)
                .and_then(|t| t.iter().position(|&b| b == b'/'))
                .map_or(text.len(), |i| at + i);
            let seg = path.text.get(at.min(end)..end).unwrap_or("");
            at = end + 1;
            if let Seg::Lit(l) = s
                && l != seg
            {
                exact = false;
                folded = folded && same_name_folded(l, seg);
                if !folded {
                    return 0;
                }
            }
        }
        let slash_ok = self.rest || path.trailing_slash == self.trailing_slash;
        readings.iter().enumerate().fold(0, |m, (i, r)| {
            let segs = if r.fold_case { folded } else { exact };
            if segs && (slash_ok || r.ignore_slash) {
                m | 1 << i
            } else {
                m
            }
        })
    }

    /// True when every path this pattern matches is also matched by `earlier`, read the same
    /// way (so this one can never be reached for the same methods).
    pub fn is_shadowed_by(&self, earlier: &PathPattern) -> bool {
        let covered = |a: &Seg, b: &Seg| match (a, b) {
            (_, Seg::Any) => true,
            (Seg::Lit(x), Seg::Lit(y)) => x == y,
            (Seg::Any, Seg::Lit(_)) => false,
        };
        let prefix = earlier
            .segs
            .iter()
            .zip(&self.segs)
            .all(|(e, s)| covered(s, e));
        if earlier.rest {
            self.segs.len() >= earlier.segs.len() && prefix
        } else {
            !self.rest
                && self.segs.len() == earlier.segs.len()
                && self.trailing_slash == earlier.trailing_slash
                && prefix
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> NormalizedPath {
        NormalizedPath::parse(p).unwrap()
    }

    /// Matches when read exactly as sent.
    fn exact(pat: &str, p: &str) -> bool {
        PathPattern::parse(pat)
            .unwrap()
            .matches_reading(&path(p), Reading::default())
    }

    fn any(pat: &str, p: &str) -> bool {
        PathPattern::parse(pat).unwrap().matches(&path(p))
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(exact("/health", "/health"));
        assert!(!exact("/health", "/health/"));
        assert!(!exact("/health", "/healthz"));
        assert!(exact("/v1/*/items", "/v1/a/items"));
        assert!(!exact("/v1/*/items", "/v1/items"));
        assert!(!exact("/v1/*", "/v1/"));
        assert!(exact("/files/**", "/files"));
        assert!(exact("/files/**", "/files/"));
        assert!(exact("/files/**", "/files/a/b"));
        assert!(!exact("/files/**", "/filesx"));
        assert!(exact("/**", "/"));
        assert!(exact("/**", "/anything/at/all"));
        assert!(exact("/", "/"));
        assert!(!exact("/", "/a"));
        assert!(exact("/dir/", "/dir/"));
        assert!(!exact("/dir/", "/dir"));
    }

    #[test]
    fn reading_masks_are_the_readings_that_match() {
        let readings: Vec<Reading> = Reading::all(false, false).collect();
        for pat in [
            "/",
            "/a",
            "/a/",
            "/A/*",
            "/a/**",
            "/v1/*/items",
            "/**",
            "/x/B",
        ] {
            let pat = PathPattern::parse(pat).unwrap();
            for p in [
                "/",
                "/a",
                "/A",
                "/a/",
                "/a/b",
                "/A/b/",
                "/v1/x/items",
                "/V1/x/Items/",
                "/x/b",
            ] {
                let p = path(p);
                let want = readings
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| pat.matches_reading(&p, **r))
                    .fold(0u8, |m, (i, _)| m | 1 << i);
                assert_eq!(pat.reading_mask(&p, &readings), want, "{pat:?} {p:?}");
            }
        }
    }

    #[test]
    fn other_readings_fold_case_and_ignore_the_trailing_slash() {
        assert!(!exact("/api/admin/**", "/api/ADMIN/x"));
        assert!(any("/api/admin/**", "/api/ADMIN/x"));
        assert!(any("/api/reports", "/api/reports/"));
        assert!(any("/dir/", "/dir"));
        assert!(any("/dir", "/dir"));
        assert!(any("/v1/*", "/V1/x/"));
        assert!(!any("/", "/a"));
        let p = PathPattern::parse("/a").unwrap();
        let fold = Reading {
            fold_case: true,
            ignore_slash: false,
        };
        assert!(p.matches_reading(&path("/A"), fold));
        assert!(!p.matches_reading(&path("/A/"), fold));
        assert_eq!(Reading::all(true, true).count(), 1);
        assert_eq!(Reading::all(false, true).count(), 2);
        assert_eq!(Reading::all(false, false).count(), 4);
    }

    #[test]
    fn non_ascii_names_fold_towards_the_stricter_rule() {
        // Unicode case (.NET OrdinalIgnoreCase, Java equalsIgnoreCase): CAFÉ is café.
        assert!(any("/caf%C3%A9/**", "/CAF%C3%89/x"));
        assert!(!exact("/caf%C3%A9/**", "/CAF%C3%89/x"));
        // NFKC: U+03D3 is U+038E; NFC: e + U+0301 is é.
        assert!(any("/%CE%8E", "/%CF%93"));
        assert!(any("/caf%C3%A9", "/cafe%CC%81"));
        assert!(any("/a%E6%97%A5z", "/A%E4%B8%ADZ"));
        // Different ASCII around the non-ASCII text, or none on one side: different names.
        assert!(!any("/caf%C3%A9", "/th%C3%A9"));
        assert!(!any("/caf%C3%A9", "/cafe"));
        assert!(!any("/cafe", "/caf%C3%A9"));
        assert!(!any("/%C3%A9a", "/%C3%A9b"));
        assert!(same_name_folded("x\u{e9}", "\u{e9}"));
        assert!(same_name_folded("xy\u{e9}", "\u{e9}"));
        assert!(!same_name_folded("xy\u{e9}", "ab\u{e9}"));
    }

    #[test]
    fn encoded_and_dotted_paths_cannot_escape_their_route() {
        assert!(exact("/admin/**", "/%61dmin/x"));
        assert!(exact("/admin/**", "/public/../admin/x"));
        assert!(exact("/admin/**", "/public/%2e%2e/admin/x"));
        assert!(exact("/admin/**", "//admin//x"));
        assert!(exact("/admin/**", "/./admin"));
        assert!(exact("/a:b", "/a%3Ab"));
        assert!(exact("/a%3Ab", "/a:b"));
    }

    #[test]
    fn bad_patterns() {
        for (p, why) in [
            ("health", "start with"),
            ("/a/**/b", "last segment"),
            ("/a/b*", "whole segment"),
            ("/a//b", "empty segment"),
            ("/a/../b", "dot segments"),
            ("/a/%2e%2e/b", "dot segments"),
            ("/a?x", "'?'"),
            ("/a;v=1", "never match"),
            ("/a%2Fb", "never match"),
            ("/admin.", "never match"),
            ("/a\\b", "never match"),
        ] {
            let e = PathPattern::parse(p).unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
        }
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
        assert!(!p("/v1/a/").is_shadowed_by(&p("/v1/a")));
        assert!(!p("/v1/A").is_shadowed_by(&p("/v1/a")));
    }
}
