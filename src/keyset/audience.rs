//! The key set's `audience`: the gateways a set is meant for.
//!
//! A set may name them (`"audience": "api-prod"` or `["api-prod", "api-prod-eu"]`); a verifier
//! configured with an audience loads only a set that names it (`audience_mismatch`), so a set
//! signed for staging by a shared publisher key cannot be pushed to production.

use serde_json::Value;

use super::KeySet;
use super::ctx::Ctx;
use crate::json::{JsonPath, type_name};

/// The longest audience name.
pub const MAX_AUDIENCE_LEN: usize = 256;

/// Whether `name` is a valid audience: 1 to 256 visible ASCII characters (no spaces), compared
/// exactly (case-sensitive), e.g. `api-prod` or `https://api.example.com`.
pub fn check_audience_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an audience is a non-empty name".into());
    }
    if name.len() > MAX_AUDIENCE_LEN {
        return Err(format!(
            "an audience has at most {MAX_AUDIENCE_LEN} characters, this one {}",
            name.len()
        ));
    }
    if let Some(i) = name.bytes().position(|b| !b.is_ascii_graphic()) {
        return Err(format!(
            "an audience is visible ASCII without spaces (character {i} is not)"
        ));
    }
    Ok(())
}

/// Reads `$.audience`: a name or a non-empty list of distinct names.
// Out of line: only some key sets (requests) need it, and V8 compiles a wasm function
// whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
pub(super) fn parse(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let one = |cx: &mut Ctx<'_>, v: &Value, p: &JsonPath<'_>, out: &mut Vec<String>| match v {
        Value::String(s) => match check_audience_name(s) {
            Ok(()) if out.contains(s) => cx.err(p, format!("duplicate audience {s:?}")),
            Ok(()) => out.push(s.clone()),
            Err(e) => cx.err(p, e),
        },
        other => cx.err(
            p,
            format!(
                "expected an audience name (a string), found {}",
                type_name(other)
            ),
        ),
    };
    match v {
        Value::Array(items) if items.is_empty() => cx.err(
            path,
            "an empty audience list names no gateway; omit the field for a set any verifier may load",
        ),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                one(cx, item, &path.index(i), &mut out);
            }
        }
        Value::String(_) => one(cx, v, path, &mut out),
        other => cx.err(
            path,
            format!(
                "expected an audience name or a list of them, found {}",
                type_name(other)
            ),
        ),
    }
    out
}

impl KeySet {
    /// The audiences the set names (`$.audience`); empty when it names none.
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// Whether the set names `audience` (exactly). A set naming none names no audience.
    pub fn names_audience(&self, audience: &str) -> bool {
        self.audience.iter().any(|a| a == audience)
    }
}
