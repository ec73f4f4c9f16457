//! A fast reading of the key set document in the shape publishers write: the top-level object
//! and its `keys` array are read by a small cursor, and each key entry's members are matched
//! by name and read straight into [`KeyFields`] (strings borrowed from the input when they
//! hold no escape), without serde's visitors in between.
//!
//! It never decides anything the general reading (`stream.rs`, through serde_json) would
//! decide otherwise: it answers only when the whole document is strict JSON of the expected
//! shape (every member of a key entry known, present once and of its type, no top-level
//! member twice), and then with exactly the fields serde's typed reader yields, so the same
//! checks (`key::finish`, `KeysAcc::accept`, `parse::build`) see the same input. On anything
//! else (another shape, an escape it does not decode, invalid UTF-8, a control character, a
//! trailing comma, `null`, a number where a string belongs, deep nesting, trailing bytes) it
//! answers `None` and the document is read the general way, which reports every fault in its
//! own words. The values it does not read itself (`meta`, `signing`, `webhook`, and the
//! top-level members other than `keys`) are handed to serde_json one value at a time.
//! (`tests` compare both readings on generated and mutated documents.)

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::key::{F, KEY_FIELDS, KeyFields};
use super::parse::KeysAcc;
use super::stream::Top;
use crate::json::{JsonPath, string_end, string_stop};

/// Most levels of nesting a value handed to serde_json may have here. serde_json refuses a
/// 128th level counted from the top of the document; a value read on its own is counted from
/// its own start, so values that would reach that limit in place (at most three levels
/// deeper: the document, `keys`, the entry) are left to the general reading.
const MAX_NESTING: usize = 100;

/// Reads the document, validating key entries as they stream past, as
/// `stream::read_document` does in its fast mode; `None` when the document is not in the
/// shape this reading takes. (Errors already recorded in `cx` and entries in `acc` are then
/// meaningless: the caller starts the general reading afresh.)
pub(super) fn read_document(bytes: &[u8], cx: &mut Ctx<'_>, acc: &mut KeysAcc) -> Option<Top> {
    let mut c = Cursor { b: bytes, at: 0 };
    if !c.eat(b'{') {
        return None;
    }
    let mut fields = Map::new();
    let mut keys_seen = false;
    if !c.eat(b'}') {
        loop {
            let k = c.string()?;
            if fields.contains_key(&*k) || (k == "keys" && keys_seen) {
                return None;
            }
            if !c.eat(b':') {
                return None;
            }
            if k == "keys" {
                keys_seen = true;
                keys(&mut c, cx, acc)?;
            } else {
                let v = c.value()?;
                fields.insert(k.into_owned(), v);
            }
            if !c.more(b'}')? {
                break;
            }
        }
    }
    c.ws();
    (c.at == bytes.len()).then_some(Top::Object { fields, keys_seen })
}

/// The `keys` array (anything else is left to the general reading).
fn keys(c: &mut Cursor<'_>, cx: &mut Ctx<'_>, acc: &mut KeysAcc) -> Option<()> {
    if !c.eat(b'[') {
        return None;
    }
    if c.eat(b']') {
        return Some(());
    }
    let root = JsonPath::root();
    let keys = root.field("keys");
    let mut i = 0;
    loop {
        let fields = c.entry()?;
        let path = keys.index(i);
        let entry = super::key::finish(cx, fields, &path, &mut acc.interner);
        acc.accept(cx, i, entry);
        i += 1;
        if !c.more(b']')? {
            return Some(());
        }
    }
}

/// A cursor over the document.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Skips JSON whitespace (exactly the four bytes RFC 8259 allows).
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.at).copied()
    }

    /// Takes `byte` when it comes next (after whitespace).
    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    /// After a member or an element: `Some(true)` for a comma, `Some(false)` for `close`.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        let b = self.peek()?;
        self.at += 1;
        match b {
            b',' => Some(true),
            _ if b == close => Some(false),
            _ => None,
        }
    }

    /// A string: borrowed when it holds no escape, UTF-8 checked either way.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let rest = &self.b[start..];
        let n = string_stop(rest)?;
        if rest[n] != b'"' {
            return self.escaped(start, start + n);
        }
        self.at = start + n + 1;
        std::str::from_utf8(&rest[..n]).ok().map(Cow::Borrowed)
    }

    /// The rest of a string from its first escape at `i`: decoded, except escapes of a lone
    /// UTF-16 surrogate (left to the general reading).
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize, mut i: usize) -> Option<Cow<'a, str>> {
        let mut out = self.b[start..i].to_vec();
        loop {
            let b = *self.b.get(i)?;
            i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = *self.b.get(i)?;
                    i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = hex4(self.b.get(i..i + 4)?)?;
                            i += 4;
                            match hi {
                                0xd800..=0xdbff => {
                                    if self.b.get(i..i + 2)? != b"\\u" {
                                        return None;
                                    }
                                    let lo = hex4(self.b.get(i + 2..i + 6)?)?;
                                    i += 6;
                                    if !(0xdc00..=0xdfff).contains(&lo) {
                                        return None;
                                    }
                                    char::from_u32(
                                        0x1_0000 + ((hi - 0xd800) << 10) + (lo - 0xdc00),
                                    )?
                                }
                                0xdc00..=0xdfff => return None,
                                _ => char::from_u32(hi)?,
                            }
                        }
                        _ => return None,
                    };
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..0x20 => return None,
                _ => out.push(b),
            }
        }
        self.at = i;
        String::from_utf8(out).ok().map(Cow::Owned)
    }

    /// An array of strings, with their positions.
    fn strings(&mut self) -> Option<Vec<(usize, Cow<'a, str>)>> {
        if !self.eat(b'[') {
            return None;
        }
        let mut out = Vec::with_capacity(2);
        if self.eat(b']') {
            return Some(out);
        }
        loop {
            let s = self.string()?;
            out.push((out.len(), s));
            if !self.more(b']')? {
                return Some(out);
            }
        }
    }

    /// `true` or `false`.
    fn boolean(&mut self) -> Option<bool> {
        self.ws();
        let rest = &self.b[self.at..];
        let (v, n) = if rest.starts_with(b"true") {
            (true, 4)
        } else if rest.starts_with(b"false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += n;
        Some(v)
    }

    /// One value, read by serde_json as it reads any value of a key set (strictly:
    /// `json::parse_strict`), when it does not nest deeply. Its extent is found first by a
    /// scan that only counts brackets and skips strings; if the scan is misled by a fault,
    /// the slice it gives is not one JSON value and serde_json refuses it.
    fn value(&mut self) -> Option<Value> {
        self.ws();
        let b = self.b;
        let start = self.at;
        let (mut i, mut depth, mut most) = (start, 0usize, 0usize);
        loop {
            let c = *b.get(i)?;
            match c {
                b'"' => i = string_end(b, i + 1)?,
                b'[' | b'{' => {
                    depth += 1;
                    most = most.max(depth);
                    i += 1;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                b']' | b'}' | b',' | b':' | b' ' | b'\n' | b'\t' | b'\r' if depth == 0 => break,
                _ => i += 1,
            }
            if depth == 0 && matches!(c, b'"' | b']' | b'}') {
                break;
            }
        }
        if most > MAX_NESTING {
            return None;
        }
        let v = crate::json::parse_strict(&b[start..i]).ok()?;
        self.at = i;
        Some(v)
    }

    /// The name of a key entry's member, as its index in `KEY_FIELDS` (`None`: not a member
    /// of a key entry). A name written without escapes is matched as it stands.
    #[inline]
    fn member_name(&mut self) -> Option<usize> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let rest = &self.b[self.at + 1..];
        let n = string_stop(rest)?;
        if rest[n] == b'"' {
            self.at += n + 2;
            field_index(&rest[..n])
        } else {
            field_index(self.string()?.as_bytes())
        }
    }

    /// One key entry: an object of known members, each present once and of its type.
    #[inline(never)]
    fn entry(&mut self) -> Option<KeyFields<'a>> {
        if !self.eat(b'{') {
            return None;
        }
        let mut f = KeyFields::default();
        match self.members(&mut f) {
            Some(()) => Some(f),
            None => {
                discard(f);
                None
            }
        }
    }

    /// The members of a key entry, after its `{`.
    fn members(&mut self, f: &mut KeyFields<'a>) -> Option<()> {
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let field = self.member_name()?;
            if !self.eat(b':') {
                return None;
            }
            // Each `fill` refuses a member met before.
            match field {
                0 => fill(&mut f.id, || self.string())?,
                1 => fill(&mut f.api_key_hash, || self.string())?,
                2 => fill(&mut f.status, || self.string())?,
                3 => fill(&mut f.not_before, || self.string())?,
                4 => fill(&mut f.expires_at, || self.string())?,
                5 => fill(&mut f.scopes, || self.strings())?,
                6 => fill(&mut f.allow_cidrs, || self.strings())?,
                7 => fill(&mut f.deny_cidrs, || self.strings())?,
                8 => fill(&mut f.name, || self.string())?,
                9 => fill(&mut f.meta, || self.meta())?,
                10 => fill(&mut f.signing, || self.value().map(Cow::Owned))?,
                11 => fill(&mut f.require_signature, || self.boolean())?,
                _ => fill(&mut f.webhook, || self.value().map(Cow::Owned))?,
            }
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// `meta`: an object, kept as compact text (out of line: `entry` is compiled on every
    /// first load, `meta` only for the sets that have one).
    #[inline(never)]
    fn meta(&mut self) -> Option<Box<str>> {
        match self.value()? {
            v @ Value::Object(_) => Some(v.to_string().into()),
            _ => None,
        }
    }
}

/// Fills a member's slot with what `read` reads, the first time the member is met (`None`
/// the second time, or when `read` finds no value of the member's type).
#[inline]
fn fill<T>(slot: &mut F<T>, read: impl FnOnce() -> Option<T>) -> Option<()> {
    if !matches!(slot, F::Absent) {
        return None;
    }
    *slot = F::Valid(read()?);
    Some(())
}

/// Drops the fields of an entry the reader gave up on (out of line: the drop is long and rare).
#[cold]
#[inline(never)]
fn discard(f: KeyFields<'_>) {
    drop(f);
}

/// The index in `KEY_FIELDS` of a key entry member's name.
#[inline]
fn field_index(name: &[u8]) -> Option<usize> {
    KEY_FIELDS.iter().position(|f| f.as_bytes() == name)
}

/// The value of four hex digits.
fn hex4(h: &[u8]) -> Option<u32> {
    h.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
