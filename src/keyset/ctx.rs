//! The validator's context: collected errors, and typed readers for JSON values that
//! report what was expected and where. Also the syntax checks shared by the key, route and
//! policy parsers.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::cidr::Cidr;
use crate::json::{JsonPath, suggest, type_name};
use crate::keyset::KeysetError;
use crate::seal::Unseal;
use crate::time::UnixTime;

/// Collects errors while walking the document, and says what to do with sealed values.
pub(super) struct Ctx<'s> {
    pub(super) errors: Vec<KeysetError>,
    pub(super) unseal: Unseal<'s>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, path: &JsonPath<'_>, message: impl Into<String>) {
        self.errors.push(KeysetError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn object<'v>(
        &mut self,
        v: &'v Value,
        path: &JsonPath<'_>,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = v else {
            self.err(path, format!("expected an object, found {}", type_name(v)));
            return None;
        };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                let hint = suggest(k, allowed)
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                self.err(&path.field(k), format!("unknown field{hint}"));
            }
        }
        Some(map)
    }

    pub(super) fn string<'v>(&mut self, v: &'v Value, path: &JsonPath<'_>) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            other => {
                self.err(
                    path,
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(super) fn bool(&mut self, v: &Value, path: &JsonPath<'_>) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    path,
                    format!("expected true or false, found {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(super) fn uint(
        &mut self,
        v: &Value,
        path: &JsonPath<'_>,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.err(path, format!("{n} is out of range {min}..={max}"));
                None
            }
            None => {
                let found = if v.is_number() {
                    "a negative or fractional number"
                } else {
                    type_name(v)
                };
                self.err(
                    path,
                    format!("expected an integer in {min}..={max}, found {found}"),
                );
                None
            }
        }
    }

    pub(super) fn time(&mut self, v: &Value, path: &JsonPath<'_>) -> Option<UnixTime> {
        let s = self.string(v, path)?;
        self.time_text(s, path)
    }

    /// A document's top-level `issued_at` and `expires_at` (a key set's or a delta's), each
    /// optional, the second later than the first.
    pub(super) fn validity(
        &mut self,
        top: &Map<String, Value>,
        root: &JsonPath<'_>,
    ) -> (Option<UnixTime>, Option<UnixTime>) {
        let issued_at = top
            .get("issued_at")
            .and_then(|v| self.time(v, &root.field("issued_at")));
        let expires_at = top
            .get("expires_at")
            .and_then(|v| self.time(v, &root.field("expires_at")));
        if let (Some(i), Some(e)) = (issued_at, expires_at)
            && i >= e
        {
            self.err(
                &root.field("expires_at"),
                format!("the key set's expires_at ({e}) must be later than its issued_at ({i})"),
            );
        }
        (issued_at, expires_at)
    }

    pub(super) fn array<'v>(&mut self, v: &'v Value, path: &JsonPath<'_>) -> Option<&'v [Value]> {
        match v {
            Value::Array(a) => Some(a),
            other => {
                self.err(
                    path,
                    format!("expected an array, found {}", type_name(other)),
                );
                None
            }
        }
    }

    /// The string elements of an array, with their indexes (type errors recorded).
    pub(super) fn strings<'v>(
        &mut self,
        v: &'v Value,
        path: &JsonPath<'_>,
    ) -> Option<Vec<(usize, Cow<'v, str>)>> {
        let items = self.array(v, path)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.string(item, &path.index(i)) {
                out.push((i, Cow::Borrowed(s)));
            }
        }
        Some(out)
    }

    /// Parses time text (already known to be a string).
    pub(super) fn time_text(&mut self, s: &str, path: &JsonPath<'_>) -> Option<UnixTime> {
        match UnixTime::parse_rfc3339(s) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(path, format!("invalid RFC 3339 time {s:?}: {e}"));
                None
            }
        }
    }

    /// Parses CIDR texts (already known to be strings), keeping each one's index.
    pub(super) fn cidr_entries(
        &mut self,
        items: &[(usize, Cow<'_, str>)],
        path: &JsonPath<'_>,
    ) -> Vec<(usize, Cidr)> {
        let mut out = Vec::with_capacity(items.len());
        for (i, s) in items {
            match Cidr::parse(s) {
                Ok(c) => out.push((*i, c)),
                Err(e) => self.err(&path.index(*i), e),
            }
        }
        out
    }

    /// Refuses allow entries that lie inside a deny entry (`deny`, read from `deny_at`): the
    /// deny list is checked first, so they can never admit a client.
    pub(super) fn covered_allows(
        &mut self,
        allow: &[(usize, Cidr)],
        allow_at: &JsonPath<'_>,
        deny: &[(usize, Cidr)],
        deny_at: &str,
    ) {
        for (i, a) in allow {
            if let Some((j, d)) = deny.iter().find(|(_, d)| d.covers(a)) {
                self.err(
                    &allow_at.index(*i),
                    format!("{a} lies inside {deny_at}[{j}] ({d}), which is checked first, so it can never admit a client"),
                );
            }
        }
    }

    /// Checks scope texts (already known to be strings); `true` when all are valid.
    pub(super) fn check_scopes(
        &mut self,
        items: &[(usize, Cow<'_, str>)],
        path: &JsonPath<'_>,
        allow_wildcard: bool,
    ) -> bool {
        let mut ok = true;
        let mut seen = Distinct::default();
        for (i, s) in items {
            let err = match check_scope(s, allow_wildcard) {
                Ok(()) if !seen.insert(s) => Some(format!("duplicate scope {s:?}")),
                Ok(()) => None,
                Err(e) => Some(e),
            };
            if let Some(e) = err {
                self.err(&path.index(*i), e);
                ok = false;
            }
        }
        ok
    }

    /// Checks scope texts and returns the valid ones, each once.
    pub(super) fn scope_list(
        &mut self,
        items: &[(usize, Cow<'_, str>)],
        path: &JsonPath<'_>,
        allow_wildcard: bool,
    ) -> Vec<String> {
        if self.check_scopes(items, path, allow_wildcard) {
            return items.iter().map(|(_, s)| s.to_string()).collect();
        }
        let mut seen = Distinct::default();
        items
            .iter()
            .filter(|(_, s)| check_scope(s, allow_wildcard).is_ok() && seen.insert(s))
            .map(|(_, s)| s.to_string())
            .collect()
    }

    pub(super) fn scopes(
        &mut self,
        v: Option<&Value>,
        path: &JsonPath<'_>,
        allow_wildcard: bool,
    ) -> Vec<String> {
        let Some(items) = v.and_then(|v| self.strings(v, path)) else {
            return Vec::new();
        };
        self.scope_list(&items, path, allow_wildcard)
    }
}

/// Remembers strings to find duplicates: a scan for the usual short lists, a hash set once a
/// list is long (so a hostile list costs linear time, not quadratic).
#[derive(Default)]
struct Distinct<'a> {
    few: Vec<&'a str>,
    many: HashSet<&'a str>,
}

impl<'a> Distinct<'a> {
    /// `false` when `s` was seen before.
    fn insert(&mut self, s: &'a str) -> bool {
        if self.many.is_empty() && self.few.len() < 16 {
            if self.few.contains(&s) {
                return false;
            }
            self.few.push(s);
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(s)
    }
}

/// Scope syntax: `[A-Za-z0-9._:/-]{1,128}`, optionally ending in `*` (keys only); `*` alone
/// grants everything.
pub(super) fn check_scope(s: &str, allow_wildcard: bool) -> Result<(), String> {
    let body = match s.strip_suffix('*') {
        Some(b) if allow_wildcard => b,
        Some(_) => {
            return Err(format!(
                "route scope {s:?} must not contain '*' (wildcards belong on keys)"
            ));
        }
        None => s,
    };
    if s.is_empty() || s.len() > 128 {
        return Err("a scope is 1 to 128 characters".into());
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:/-".contains(*c)))
    {
        return Err(format!(
            "invalid character {c:?} in scope {s:?} (allowed: A-Z a-z 0-9 . _ : / - and a trailing *)"
        ));
    }
    Ok(())
}

pub(super) fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err(format!(
            "key id must be 1 to 128 characters, got {}",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:-".contains(*c)))
    {
        return Err(format!(
            "invalid character {c:?} in key id (allowed: A-Z a-z 0-9 . _ : -)"
        ));
    }
    Ok(())
}

pub(super) fn check_method(m: &str) -> Result<(), String> {
    if !crate::request::is_token(m) {
        return Err(format!("{m:?} is not an HTTP method token"));
    }
    if m.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "methods are case-sensitive: write {:?}",
            m.to_ascii_uppercase()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Distinct;

    #[test]
    fn duplicates_are_found_in_short_and_long_lists() {
        let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let mut d = Distinct::default();
        for n in &names {
            assert!(d.insert(n));
        }
        assert!(
            !d.insert("s0"),
            "a duplicate of an early item, after the switch to a set"
        );
        assert!(!d.insert("s39"));
        let mut short = Distinct::default();
        assert!(short.insert("a") && short.insert("b") && !short.insert("a"));
    }
}
