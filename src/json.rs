//! Strict JSON loading (duplicate object keys are refused) and JSON-path helpers.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses JSON text into a [`Value`], refusing duplicate keys in any object: two parsers
/// that keep different duplicates would otherwise read different key sets from one file.
/// The error carries serde_json's line and column.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

pub(crate) struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(StrictSeed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format_args!(
                    "duplicate object key {k:?}"
                )));
            }
            let v = map.next_value_seed(StrictSeed)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// The member names of a top-level JSON object, found by a light scan that skips over the
/// values without building them (a 20 MB key set is not turned into a tree just to see whether
/// it is an envelope). `None` when the text is not a structurally well-formed object; names
/// containing escapes are returned undecoded.
#[cfg(test)]
pub fn top_level_names(bytes: &[u8]) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    each_top_level_name(bytes, |n| {
        names.push(n);
        true
    })
    .then_some(names)
}

/// Calls `f` with each top-level member name of a JSON object (see [`top_level_names`]) until
/// it returns false. True when the object was read to its end or `f` stopped the scan; false
/// when the text is not a structurally well-formed object. Allocates nothing.
pub fn each_top_level_name<'a>(bytes: &'a [u8], mut f: impl FnMut(&'a str) -> bool) -> bool {
    let ws = |i: &mut usize| {
        while bytes
            .get(*i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            *i += 1;
        }
    };
    // Index just past the closing quote of the string starting at `i` (which is a quote).
    let string_end = |i: usize| string_end(bytes, i + 1);
    let mut scan = || -> Option<bool> {
        let mut i = 0;
        ws(&mut i);
        if bytes.get(i) != Some(&b'{') {
            return None;
        }
        i += 1;
        ws(&mut i);
        if bytes.get(i) == Some(&b'}') {
            return Some(true);
        }
        loop {
            ws(&mut i);
            if bytes.get(i) != Some(&b'"') {
                return None;
            }
            let end = string_end(i)?;
            let name = std::str::from_utf8(&bytes[i + 1..end - 1]).ok()?;
            if !f(name) {
                return Some(true);
            }
            i = end;
            ws(&mut i);
            if bytes.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            // Skip one value: strings are skipped whole, brackets are counted.
            let mut depth = 0usize;
            loop {
                match *bytes.get(i)? {
                    b'"' => i = string_end(i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        i += 1;
                    }
                    b',' | b'}' | b']' if depth == 0 => break,
                    _ => i += 1,
                }
            }
            match bytes.get(i)? {
                b',' => i += 1,
                b'}' => return Some(true),
                _ => return None,
            }
        }
    };
    scan().unwrap_or(false)
}

/// Where the plain run of string content at the start of `s` stops: the index of the first
/// `"`, `\` or control character. Eight bytes are tested at a time: a byte of a word is
/// flagged by `zero` when it is 0 (after the xor, when it equals the byte sought) and by the
/// `below` test when it is less than 0x20; the lowest flag is always a true one (a borrow only
/// reaches the bytes above a flagged byte).
#[inline]
pub(crate) fn string_stop(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = s.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let w = u64::from_le_bytes(b);
        let below = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let hit = zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) | below;
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = words.remainder();
    let n = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + n)
}

/// The index just past the closing quote of the string whose content starts at `i`.
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let n = i + string_stop(b.get(i..)?)?;
        match b[n] {
            b'"' => return Some(n + 1),
            b'\\' => i = n + 2,
            _ => i = n + 1,
        }
    }
}

/// A JSON path such as `$.keys[3].allow_cidrs[0]`, built as the validator descends.
///
/// It is a chain of borrowed segments on the stack and is only rendered to text when an error
/// is reported, so a valid 100k-key set costs no path strings at all.
#[derive(Clone, Copy, Debug)]
pub struct JsonPath<'a> {
    parent: Option<&'a JsonPath<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Root,
    Field(&'a str),
    Index(usize),
}

impl JsonPath<'static> {
    /// The document root, `$`.
    pub fn root() -> Self {
        JsonPath {
            parent: None,
            seg: Seg::Root,
        }
    }
}

impl<'a> JsonPath<'a> {
    /// The path of a member of an object at this path.
    pub fn field<'b>(&'b self, name: &'b str) -> JsonPath<'b> {
        JsonPath {
            parent: Some(self),
            seg: Seg::Field(name),
        }
    }

    /// The path of an element of an array at this path.
    pub fn index(&self, i: usize) -> JsonPath<'_> {
        JsonPath {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    fn render(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.render(out);
        }
        match self.seg {
            Seg::Root => out.push('$'),
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Field(name) => {
                let plain = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !name.as_bytes()[0].is_ascii_digit();
                if plain {
                    out.push('.');
                    out.push_str(name);
                } else {
                    out.push('[');
                    out.push_str(&Value::String(name.to_string()).to_string());
                    out.push(']');
                }
            }
        }
    }
}

impl fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.render(&mut s);
        f.write_str(&s)
    }
}

/// A short description of a JSON value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The closest allowed name to a misspelt one, when it is close enough to suggest.
pub fn suggest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (levenshtein(name, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_with_a_position() {
        let e = parse_strict(br#"{"a": 1, "b": {"c": 1, "c": 2}}"#).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("duplicate object key \"c\""), "{msg}");
        assert!(msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn parses_ordinary_json() {
        let v = parse_strict(br#"{"a": [1, -2, 3.5, "x", true, null]}"#).unwrap();
        assert_eq!(v["a"][1], Value::from(-2));
        assert!(parse_strict(b"{} x").is_err());
    }

    #[test]
    fn paths() {
        let root = JsonPath::root();
        let keys = root.field("keys");
        let k3 = keys.index(3);
        let cidrs = k3.field("allow_cidrs");
        assert_eq!(cidrs.index(0).to_string(), "$.keys[3].allow_cidrs[0]");
        assert_eq!(
            JsonPath::root().field("odd key").to_string(),
            "$[\"odd key\"]"
        );
    }

    #[test]
    fn top_level_names_skip_values() {
        let doc = br#" { "a" : {"x": [1, {"y": "}]"}], "z": "\"q"}, "b\"c": 2, "payload": "...", "e": [] , "f": null } "#;
        assert_eq!(
            top_level_names(doc).unwrap(),
            ["a", "b\\\"c", "payload", "e", "f"]
        );
        assert_eq!(top_level_names(b"{}").unwrap(), Vec::<&str>::new());
        let mut seen = 0;
        assert!(each_top_level_name(doc, |n| {
            seen += 1;
            n != "payload"
        }));
        assert_eq!(seen, 3);
        assert!(top_level_names(b"[1]").is_none());
        assert!(top_level_names(b"{\"a\": ").is_none());
        assert!(top_level_names(b"{\"a\" 1}").is_none());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("expire_at", &["expires_at", "not_before", "id"]),
            Some("expires_at")
        );
        assert_eq!(suggest("zzzzzz", &["expires_at", "id"]), None);
    }

    /// The word-at-a-time scans beside byte-at-a-time ones, on random bytes rich in the bytes
    /// they stop at.
    #[test]
    fn word_scans_stop_where_byte_scans_do() {
        let stop_bytewise = |s: &[u8]| s.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let end_bytewise = |s: &[u8], mut i: usize| loop {
            match s.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        };
        let mut rng = crate::test_util::XorShift::new(crate::test_util::XorShift::SEED);
        let mut below = |n: usize| rng.below(n);
        for len in 0..40 {
            for _ in 0..300 {
                let s: Vec<u8> = (0..len)
                    .map(|_| match below(6) {
                        0 => below(256) as u8,
                        1 => [
                            b'"', b'\\', 0x1f, 0x20, 0, 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d, 0xa2,
                        ][below(12)],
                        _ => b'a' + below(26) as u8,
                    })
                    .collect();
                assert_eq!(string_stop(&s), stop_bytewise(&s), "{s:?}");
                for i in 0..=len {
                    assert_eq!(string_end(&s, i), end_bytewise(&s, i), "{s:?} from {i}");
                }
            }
        }
    }
}
