//! Reading an envelope without building a JSON tree of it.
//!
//! One pass of the validating scanner over the whole text checks that it is JSON and keeps only
//! what an envelope is made of: where `payload`, `protected`, `header` and `signature` (or the
//! first [`MAX_SIGNATURES`] entries of `signatures`) are, and the first unknown member name.
//! Everything else is skipped in place. The checks then run in the order a tree-based reader
//! would run them, so each fault is reported as before; the payload is not decoded here.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{Entry, LoadError, MAX_SIGNATURES, invalid};
use crate::encoding::{b64url_check, b64url_decode};
use crate::json::parse_strict;
use crate::keyset::scan::{JStr, Kind, Scan, ScanError};

/// The largest JOSE header read (a protected header's base64url text, an unprotected header's
/// JSON text). Real headers are tens of bytes; these are parsed into trees, so they are bounded.
pub const MAX_JWS_HEADER_BYTES: usize = 16 * 1024;

/// Names longer than this are cut in messages.
const SHOWN_NAME: usize = 64;

/// A member's value as scanned: a string, an object (its byte range), or another kind.
#[derive(Clone, Copy)]
enum Val<'a> {
    Str(JStr<'a>),
    Obj(usize, usize),
    Other,
}

/// The members of one signature: a signature entry, or the top level of a flattened envelope.
#[derive(Default)]
struct Fields<'a> {
    protected: Option<Val<'a>>,
    header: Option<Val<'a>>,
    signature: Option<Val<'a>>,
    /// The first member that is none of the above (nor `payload`/`signatures` at the top).
    unknown: Option<String>,
}

/// The `signatures` member.
enum Sigs<'a> {
    /// Its element count, and the first MAX_SIGNATURES elements (`None`: not an object).
    Array {
        count: usize,
        entries: Vec<Option<Fields<'a>>>,
    },
    NotArray,
}

/// What the top level of a document holds, as far as envelopes are concerned.
pub(super) struct Top<'a> {
    object: bool,
    keygate: bool,
    payload: Option<Val<'a>>,
    signatures: Option<Sigs<'a>>,
    fields: Fields<'a>,
}

fn dup(s: &Scan<'_>, name: &str) -> Result<(), ScanError> {
    Err(ScanError {
        offset: s.i,
        what: format!("duplicate member {name:?}").into(),
    })
}

/// Reads the value at the cursor into `slot` (a member that may appear once).
fn put<'a>(
    s: &mut Scan<'a>,
    depth: usize,
    slot: &mut Option<Val<'a>>,
    name: &str,
) -> Result<(), ScanError> {
    if slot.is_some() {
        return dup(s, name);
    }
    *slot = Some(read_val(s, depth)?);
    Ok(())
}

fn read_val<'a>(s: &mut Scan<'a>, depth: usize) -> Result<Val<'a>, ScanError> {
    match s.kind()? {
        Kind::String => Ok(Val::Str(s.string()?)),
        Kind::Object => {
            let start = s.i;
            s.value(depth)?;
            Ok(Val::Obj(start, s.i))
        }
        _ => {
            s.value(depth)?;
            Ok(Val::Other)
        }
    }
}

impl<'a> Fields<'a> {
    /// Takes the member `name` if it is one of a signature's; false otherwise.
    fn member(
        &mut self,
        s: &mut Scan<'a>,
        depth: usize,
        name: JStr<'a>,
    ) -> Result<bool, ScanError> {
        let slot = if name.is("protected") {
            &mut self.protected
        } else if name.is("header") {
            &mut self.header
        } else if name.is("signature") {
            &mut self.signature
        } else {
            return Ok(false);
        };
        put(s, depth, slot, &name.text())?;
        Ok(true)
    }

    fn unknown(&mut self, name: JStr<'_>) {
        if self.unknown.is_none() {
            self.unknown = Some(name.shown(SHOWN_NAME));
        }
    }
}

/// Scans the whole document (any JSON; an error when it is not JSON at all).
pub(super) fn scan(bytes: &[u8]) -> Result<Top<'_>, ScanError> {
    let mut s = Scan::new(bytes);
    let mut top = Top {
        object: false,
        keygate: false,
        payload: None,
        signatures: None,
        fields: Fields::default(),
    };
    if s.kind()? != Kind::Object {
        s.value(0)?;
        s.end()?;
        return Ok(top);
    }
    top.object = true;
    s.object(0, &mut |s, name| {
        if name.is("payload") {
            put(s, 1, &mut top.payload, "payload")
        } else if name.is("signatures") {
            if top.signatures.is_some() {
                return dup(s, "signatures");
            }
            top.signatures = Some(signatures(s)?);
            Ok(())
        } else if top.fields.member(s, 1, name)? {
            Ok(())
        } else {
            top.keygate |= name.is("keygate");
            top.fields.unknown(name);
            s.value(1)
        }
    })?;
    s.end()?;
    Ok(top)
}

fn signatures<'a>(s: &mut Scan<'a>) -> Result<Sigs<'a>, ScanError> {
    if s.kind()? != Kind::Array {
        s.value(1)?;
        return Ok(Sigs::NotArray);
    }
    let mut entries = Vec::new();
    let mut count = 0;
    s.array(1, &mut |s, i| {
        count = i + 1;
        if i >= MAX_SIGNATURES || s.kind()? != Kind::Object {
            if i < MAX_SIGNATURES {
                entries.push(None);
            }
            return s.value(2);
        }
        let mut f = Fields::default();
        s.object(2, &mut |s, name| {
            if !f.member(s, 3, name)? {
                f.unknown(name);
                s.value(3)?;
            }
            Ok(())
        })?;
        entries.push(Some(f));
        Ok(())
    })?;
    Ok(Sigs::Array { count, entries })
}

impl<'a> Top<'a> {
    /// An object with `payload` and `signature` or `signatures`, and no `keygate` member.
    pub(super) fn is_envelope(&self) -> bool {
        self.object
            && self.payload.is_some()
            && (self.signatures.is_some() || self.fields.signature.is_some())
            && !self.keygate
    }

    /// The envelope's payload text and signatures, checked in the documented order.
    pub(super) fn into_parts(
        self,
        bytes: &'a [u8],
    ) -> Result<(Cow<'a, str>, Vec<Entry<'a>>), LoadError> {
        let payload = match self.payload {
            Some(Val::Str(p)) => p.text(),
            Some(_) => return Err(invalid("$.payload: expected a base64url string")),
            None => return Err(invalid("$.payload: missing")),
        };
        b64url_check(payload.as_bytes()).map_err(|e| invalid(format!("$.payload: {e}")))?;
        let f = self.fields;
        let signatures = match self.signatures {
            Some(Sigs::Array { count, entries }) => {
                if f.protected.is_some()
                    || f.header.is_some()
                    || f.signature.is_some()
                    || f.unknown.is_some()
                {
                    return Err(invalid(
                        "general serialization: only \"payload\" and \"signatures\" are allowed at the top level",
                    ));
                }
                if count == 0 {
                    return Err(invalid("$.signatures: empty"));
                }
                if count > MAX_SIGNATURES {
                    return Err(invalid(format!(
                        "$.signatures: {count} signatures; at most {MAX_SIGNATURES} are read"
                    )));
                }
                entries
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let at = format!("$.signatures[{i}]");
                        match e {
                            Some(fields) => entry(bytes, fields, &at),
                            None => Err(invalid(format!("{at}: expected an object"))),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(Sigs::NotArray) => return Err(invalid("$.signatures: expected an array")),
            None => vec![entry(bytes, f, "$")?],
        };
        Ok((payload, signatures))
    }
}

/// One signature's members, checked in order: unknown members, the protected header, the
/// unprotected header, parameters in both, the signature, the `kid`.
fn entry<'a>(bytes: &'a [u8], o: Fields<'a>, at: &str) -> Result<Entry<'a>, LoadError> {
    if let Some(k) = &o.unknown {
        return Err(invalid(format!("{at}.{k}: unknown member")));
    }
    let protected_b64 = match o.protected {
        Some(Val::Str(s)) => s.text(),
        Some(_) => {
            return Err(invalid(format!(
                "{at}.protected: expected a base64url string"
            )));
        }
        None => {
            return Err(invalid(format!(
                "{at}.protected: missing (the algorithm must be integrity protected)"
            )));
        }
    };
    if protected_b64.len() > MAX_JWS_HEADER_BYTES {
        return Err(invalid(format!(
            "{at}.protected: {} characters; a JWS header may have at most {MAX_JWS_HEADER_BYTES}",
            protected_b64.len()
        )));
    }
    let header_bytes =
        b64url_decode(&protected_b64).map_err(|e| invalid(format!("{at}.protected: {e}")))?;
    let protected = match parse_strict(&header_bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(invalid(format!("{at}.protected: expected a JSON object"))),
        Err(e) => return Err(invalid(format!("{at}.protected: invalid JSON: {e}"))),
    };
    let unprotected = match o.header {
        None => Map::new(),
        Some(Val::Obj(start, end)) => {
            if end - start > MAX_JWS_HEADER_BYTES {
                return Err(invalid(format!(
                    "{at}.header: {} bytes; a JWS header may have at most {MAX_JWS_HEADER_BYTES}",
                    end - start
                )));
            }
            match parse_strict(&bytes[start..end]) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(invalid(format!("{at}.header: expected an object"))),
                Err(e) => return Err(invalid(format!("{at}.header: invalid JSON: {e}"))),
            }
        }
        Some(_) => return Err(invalid(format!("{at}.header: expected an object"))),
    };
    if let Some(k) = unprotected.keys().find(|k| protected.contains_key(*k)) {
        return Err(invalid(format!(
            "{at}: header parameter {k:?} appears in both protected and unprotected headers"
        )));
    }
    let get = |name: &str| protected.get(name).or_else(|| unprotected.get(name));
    let signature = match o.signature {
        Some(Val::Str(s)) => {
            let text = s.text();
            let len = b64url_check(text.as_bytes())
                .map_err(|e| invalid(format!("{at}.signature: {e}")))?;
            // Only a string of the right length is decoded (a long one is never copied).
            (len == 64)
                .then(|| b64url_decode(&text).ok())
                .flatten()
                .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        }
        _ => {
            return Err(invalid(format!(
                "{at}.signature: expected a base64url string"
            )));
        }
    };
    let kid = match get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(invalid(format!(
                "{at}: header parameter \"kid\" must be a string"
            )));
        }
    };
    Ok(Entry {
        alg: match protected.get("alg") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        kid,
        crit: get("crit").is_some(),
        b64_false: get("b64") == Some(&Value::Bool(false)),
        protected_b64,
        signature,
    })
}
