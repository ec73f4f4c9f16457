//! The `path` target: `NormalizedPath::parse` and route matching.
//!
//! Input: UTF-8 text, either a raw path alone or `PATTERN\nPATH`. Properties, beyond "never
//! panics":
//! - a refusal points inside the path;
//! - the canonical form (what a gateway forwards) parses back to the same path, and holds no
//!   dot segment, `;`, `\`, `#`, control character, encoded separator or `%25`;
//! - no origin reads it as a path under a stricter rule: for every origin model
//!   ([`crate::origins`]) and every route pattern (the one given, or each origin's own reading
//!   written as a pattern), if the origin routes its reading to the pattern, keygate applies
//!   that pattern's rule to the request too;
//! - keygate's matcher applies a pattern only when the path read as sent, with letters in any
//!   case or the trailing slash ignored, fits it (it does not over-match).

use keygate::{NormalizedPath, PathPattern};

use crate::origins::{self, Compare, Pattern};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, raw) = match text.split_once('\n') {
        Some((p, r)) => (Some(p), r),
        None => (None, text),
    };
    if let Some(p) = pattern {
        let _ = PathPattern::parse(p);
    }
    let _ = PathPattern::parse(raw);
    let p = match NormalizedPath::parse(raw) {
        Ok(p) => p,
        Err(e) => {
            assert!(
                e.offset <= raw.len(),
                "{raw:?}: offset {} past the end",
                e.offset
            );
            assert!(!e.message.is_empty());
            return;
        }
    };
    canonical_form(raw, &p);
    if !raw.contains('?') {
        no_weaker_rule(raw, pattern, &p);
    }
    if let Some(text) = pattern
        && let Ok(kp) = PathPattern::parse(text)
        && kp.matches(&p)
    {
        let ours = Pattern::parse(text).expect("keygate took a pattern the model cannot read");
        let segs: Vec<String> = p.segments().map(str::to_string).collect();
        assert!(
            [false, true].iter().any(|&blind| ours.matches_segs(
                &segs,
                p.has_trailing_slash(),
                Compare::Widest,
                blind
            )),
            "{text:?} matches {raw:?} (read as {}) under no reading",
            p.as_string()
        );
    }
}

fn canonical_form(raw: &str, p: &NormalizedPath) {
    let c = p.as_string();
    assert!(c.is_ascii() && c.starts_with('/'), "{raw:?} -> {c:?}");
    assert!(!c.contains("//"), "{raw:?} -> {c:?}");
    assert!(!has_forbidden(&c), "{raw:?} -> {c:?}");
    assert!(
        !c.bytes().any(|b| b < 0x20 || b == 0x7f),
        "{raw:?} -> {c:?}"
    );
    for seg in p.segments() {
        assert!(
            !seg.is_empty() && !seg.contains('/'),
            "{raw:?}: segment {seg:?}"
        );
        assert!(
            seg != "." && seg != "..",
            "{raw:?}: dot segment survives in {c:?}"
        );
        assert!(
            !seg.ends_with(['.', ' ']),
            "{raw:?}: segment {seg:?} ends in '.' or ' ' (Windows strips it)"
        );
    }
    assert!(
        !p.has_trailing_slash() || p.segments().next().is_some(),
        "{raw:?}: the root with a trailing slash"
    );
    let again = NormalizedPath::parse(&c)
        .unwrap_or_else(|e| panic!("{raw:?} -> {c:?}, which is refused: {e}"));
    assert_eq!(again, *p, "{raw:?} -> {c:?} reads back differently");
    assert_eq!(again.as_string(), c, "{raw:?}: not a fixed point");
    if let Ok(pattern) = PathPattern::parse(&c) {
        assert!(
            pattern.matches(p),
            "{c:?} as a pattern does not match itself"
        );
    }
}

/// Whether the canonical text holds something an origin reads another way.
fn has_forbidden(c: &str) -> bool {
    if c.contains(['\\', ';', '#', '?', ' ']) {
        return true;
    }
    let upper = c.to_ascii_uppercase();
    ["%2F", "%5C", "%25", "%00", "%3B", "%2E"]
        .iter()
        .any(|e| upper.contains(e))
        || upper
            .split('%')
            .skip(1)
            .any(|h| h.len() < 2 || !h.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit))
}

fn no_weaker_rule(raw: &str, pattern: Option<&str>, p: &NormalizedPath) {
    let readings = origins::readings(raw);
    let patterns: Vec<String> = match pattern {
        Some(t) => vec![t.to_string()],
        None => readings.iter().map(origins::as_pattern).collect(),
    };
    for text in &patterns {
        let Ok(kp) = PathPattern::parse(text) else {
            continue;
        };
        if kp.matches(p) {
            continue;
        }
        let Some(ours) = Pattern::parse(text) else {
            continue;
        };
        for r in &readings {
            for blind in [false, true] {
                assert!(
                    !ours.matches(r, blind),
                    "{raw:?}: {} reads it as {} ({:?}{}), which the rule {text:?} covers, \
                     but keygate judged {} and does not apply that rule",
                    r.origin,
                    origins::as_pattern(r),
                    r.compare,
                    if blind {
                        ", trailing slash ignored"
                    } else {
                        ""
                    },
                    p.as_string(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_checks() {
        assert!(!has_forbidden("/a/b%3Fc/caf%C3%A9"));
        for bad in [
            "/a;b", "/a%2Fb", "/a%2fb", "/%25", "/a%5Cb", "/a%00", "/a%3b", "/a%zz", "/a%4",
        ] {
            assert!(has_forbidden(bad), "{bad}");
        }
    }

    #[test]
    fn seeds_hold() {
        for input in [
            "/api/admin/%2e%2e/public/x",
            "/api/admin/**\n/API/Admin/x/",
            "/caf%C3%A9\n/CAF%C3%89",
            "/\n/",
        ] {
            run(input.as_bytes());
        }
    }
}
