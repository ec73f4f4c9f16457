//! A validating JSON scanner that builds no tree.
//!
//! It accepts exactly the JSON that keygate's strict parser accepts (same nesting limit, strict
//! UTF-8, paired surrogate escapes, finite numbers), except that it does not look for duplicate
//! member names: a caller that needs a member checks for its duplicates itself. Values are
//! skipped in place, so judging a document of any shape costs a few bytes of stack per level of
//! nesting and no heap. Errors carry the byte offset where the input stopped being JSON.

use std::borrow::Cow;
use std::fmt;

/// Nesting deeper than this is refused, as serde_json refuses it (127 levels are accepted).
pub(crate) const MAX_DEPTH: usize = 128;

/// Where and why the input is not JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScanError {
    pub(crate) offset: usize,
    pub(crate) what: Cow<'static, str>,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// A JSON string as it appears in the input: the bytes between its quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JStr<'a> {
    pub(crate) raw: &'a [u8],
    escaped: bool,
}

impl<'a> JStr<'a> {
    /// The decoded text; borrowed from the input unless the string has escapes.
    pub(crate) fn text(&self) -> Cow<'a, str> {
        // The scanner has checked UTF-8 and every escape.
        let raw = std::str::from_utf8(self.raw).unwrap_or_default();
        if !self.escaped {
            return Cow::Borrowed(raw);
        }
        // Decoded in two passes, so the copy is exactly as long as the text (an escaped
        // payload is the one value that must be copied to be verified).
        let mut out = String::with_capacity(unescape(raw, None));
        unescape(raw, Some(&mut out));
        Cow::Owned(out)
    }

    /// Whether the decoded text is `name` (cheap: an escaped spelling is decoded only when it
    /// is short enough to be one).
    pub(crate) fn is(&self, name: &str) -> bool {
        if !self.escaped {
            return self.raw == name.as_bytes();
        }
        self.raw.len() <= name.len() * 6 && self.text() == name
    }

    /// The decoded text cut to `max` characters (for messages). Only a prefix of a long
    /// string is looked at (shown undecoded): a name may be megabytes long.
    pub(crate) fn shown(&self, max: usize) -> String {
        let text = if self.raw.len() <= max * 6 {
            self.text()
        } else {
            String::from_utf8_lossy(&self.raw[..max * 6])
        };
        let mut out: String = text.chars().take(max).collect();
        if out.len() < text.len() {
            out.push('\u{2026}');
        }
        out
    }
}

/// Decodes the escapes of checked string text into `out` (when given); returns the decoded
/// length in bytes.
fn unescape(raw: &str, mut out: Option<&mut String>) -> usize {
    let b = raw.as_bytes();
    let (mut i, mut run, mut len) = (0, 0, 0);
    let hex = |at: usize| u32::from_str_radix(&raw[at..at + 4], 16).unwrap_or(0xFFFD);
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        len += i - run;
        if let Some(o) = out.as_deref_mut() {
            o.push_str(&raw[run..i]);
        }
        let (c, used) = match b[i + 1] {
            b'u' => {
                let u = hex(i + 2);
                if (0xD800..0xDC00).contains(&u) {
                    (0x10000 + ((u - 0xD800) << 10) + (hex(i + 8) - 0xDC00), 12)
                } else {
                    (u, 6)
                }
            }
            b'b' => (0x08, 2),
            b'f' => (0x0C, 2),
            b'n' => (0x0A, 2),
            b'r' => (0x0D, 2),
            b't' => (0x09, 2),
            other => (u32::from(other), 2),
        };
        let c = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
        len += c.len_utf8();
        if let Some(o) = out.as_deref_mut() {
            o.push(c);
        }
        i += used;
        run = i;
    }
    len += b.len() - run;
    if let Some(o) = out {
        o.push_str(&raw[run..]);
    }
    len
}

/// The first byte of a value: what kind of value it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// A cursor over JSON text.
pub(crate) struct Scan<'a> {
    b: &'a [u8],
    pub(crate) i: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Scan { b, i: 0 }
    }

    fn err<T>(&self, what: impl Into<Cow<'static, str>>) -> Result<T, ScanError> {
        Err(ScanError {
            offset: self.i,
            what: what.into(),
        })
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The kind of the value that starts here (after whitespace).
    pub(crate) fn kind(&mut self) -> Result<Kind, ScanError> {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => self.err("expected a value"),
            None => self.err("unexpected end of input"),
        }
    }

    /// Only whitespace may follow the document.
    pub(crate) fn end(&mut self) -> Result<(), ScanError> {
        self.ws();
        if self.i < self.b.len() {
            return self.err("trailing characters after the JSON value");
        }
        Ok(())
    }

    /// Skips one value, checking it; `depth` is the nesting level of its container.
    pub(crate) fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        match self.kind()? {
            Kind::Object => self.object(depth, &mut |s, _| s.value(depth + 1)),
            Kind::Array => self.array(depth, &mut |s, _| s.value(depth + 1)),
            Kind::String => self.string().map(drop),
            Kind::Number => self.number(),
            Kind::Bool if self.b[self.i] == b't' => self.literal(b"true"),
            Kind::Bool => self.literal(b"false"),
            Kind::Null => self.literal(b"null"),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth + 1 >= MAX_DEPTH {
            return self.err(format!("nested deeper than {} levels", MAX_DEPTH - 1));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    /// Walks the object that starts here; `member` is called positioned at each value and
    /// must consume it (`s.value(depth + 1)` to skip it).
    pub(crate) fn object(
        &mut self,
        depth: usize,
        member: &mut dyn FnMut(&mut Self, JStr<'a>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.enter(depth)?;
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return self.err("expected a member name");
            }
            let name = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return self.err("expected ':'");
            }
            self.i += 1;
            member(self, name)?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return self.err("expected ',' or '}'"),
                None => return self.err("unexpected end of input"),
            }
        }
    }

    /// Walks the array that starts here; `element` is called with each index and must
    /// consume the element.
    pub(crate) fn array(
        &mut self,
        depth: usize,
        element: &mut dyn FnMut(&mut Self, usize) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.enter(depth)?;
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(());
        }
        let mut n = 0;
        loop {
            element(self, n)?;
            n += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => return self.err("expected ',' or ']'"),
                None => return self.err("unexpected end of input"),
            }
        }
    }

    /// Reads the string that starts here (at its quote).
    pub(crate) fn string(&mut self) -> Result<JStr<'a>, ScanError> {
        self.ws();
        if self.b.get(self.i) != Some(&b'"') {
            return self.err("expected a string");
        }
        let start = self.i + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match self.b.get(i) {
                None => {
                    self.i = i;
                    return self.err("unterminated string");
                }
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.i = i;
                    i = self.escape(i)?;
                }
                Some(&c) if c < 0x20 => {
                    self.i = i;
                    return self.err("control character in a string");
                }
                Some(_) => i += 1,
            }
        }
        let raw = &self.b[start..i];
        if let Err(e) = std::str::from_utf8(raw) {
            self.i = start + e.valid_up_to();
            return self.err("invalid UTF-8 in a string");
        }
        self.i = i + 1;
        Ok(JStr { raw, escaped })
    }

    /// Checks the escape at `i` (a backslash); returns the index after it.
    fn escape(&self, i: usize) -> Result<usize, ScanError> {
        let bad = |at: usize, what: &'static str| {
            Err(ScanError {
                offset: at,
                what: what.into(),
            })
        };
        match self.b.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
            Some(b'u') => {
                let Some(u) = self.hex4(i + 2) else {
                    return bad(i, "invalid \\u escape");
                };
                match u {
                    0xD800..=0xDBFF => {
                        let low = match (self.b.get(i + 6), self.b.get(i + 7)) {
                            (Some(b'\\'), Some(b'u')) => self.hex4(i + 8),
                            _ => None,
                        };
                        match low {
                            Some(0xDC00..=0xDFFF) => Ok(i + 12),
                            _ => bad(i, "lone leading surrogate in a \\u escape"),
                        }
                    }
                    0xDC00..=0xDFFF => bad(i, "lone trailing surrogate in a \\u escape"),
                    _ => Ok(i + 6),
                }
            }
            Some(_) => bad(i, "invalid escape"),
            None => bad(i, "unterminated string"),
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.b.get(at..at + 4)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        Some(v)
    }

    fn number(&mut self) -> Result<(), ScanError> {
        let start = self.i;
        let digits = |s: &mut Self| {
            let from = s.i;
            while s.b.get(s.i).is_some_and(u8::is_ascii_digit) {
                s.i += 1;
            }
            s.i > from
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if !digits(self) {
                return self.err("invalid number");
            }
        }
        // As serde_json: a number whose value is not a finite f64 is refused. Only one with an
        // exponent or over 300 digits can be that large; serde_json itself judges those.
        let text = &self.b[start..self.i];
        if (text.len() > 300 || text.iter().any(|&b| b == b'e' || b == b'E'))
            && serde_json::from_slice::<f64>(text).is_err()
        {
            self.i = start;
            return self.err("number out of range");
        }
        Ok(())
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), ScanError> {
        if self.b.get(self.i..self.i + lit.len()) != Some(lit) {
            return self.err("expected a value");
        }
        self.i += lit.len();
        Ok(())
    }
}

/// Checks that `bytes` are one JSON document (duplicate member names aside).
#[cfg(test)]
pub(crate) fn validate(bytes: &[u8]) -> Result<(), ScanError> {
    let mut s = Scan::new(bytes);
    s.value(0)?;
    s.end()
}

#[cfg(test)]
mod tests;
