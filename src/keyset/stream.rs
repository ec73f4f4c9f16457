//! Streaming the key set document: the top-level members are read as small JSON trees, but the
//! `keys` array is handed over one entry at a time, so memory stays proportional to the
//! validated result rather than to a whole-document JSON tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::key::{self, FastEntry};
use super::parse::{KeysAcc, Mode};
use crate::json::{JsonPath, StrictSeed};

/// What the document turned out to be.
pub(super) enum Top {
    /// An object: its members other than `keys`, and whether `keys` was present.
    Object {
        fields: Map<String, Value>,
        keys_seen: bool,
    },
    /// Anything else (named for the error message).
    Other(&'static str),
}

/// Reads the document, validating key entries as they stream past. Syntax errors and
/// duplicate object keys abort with serde_json's line/column error; in fast mode, so does
/// any key entry the typed reader cannot take.
pub(super) fn read_document(
    bytes: &[u8],
    mode: Mode,
    cx: &mut Ctx<'_>,
    acc: &mut KeysAcc,
) -> Result<Top, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = TopSeed { mode, cx, acc }.deserialize(&mut de)?;
    de.end()?;
    Ok(top)
}

struct TopSeed<'a, 's> {
    mode: Mode,
    cx: &'a mut Ctx<'s>,
    acc: &'a mut KeysAcc,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! other {
    ($name:ident, $t:ty, $kind:expr) => {
        fn $name<E>(self, _: $t) -> Result<Top, E> {
            Ok(Top::Other($kind))
        }
    };
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key set object")
    }
    other!(visit_bool, bool, "a boolean");
    other!(visit_i64, i64, "a number");
    other!(visit_u64, u64, "a number");
    other!(visit_f64, f64, "a number");
    other!(visit_str, &str, "a string");
    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut fields = Map::new();
        let mut keys_seen = false;
        while let Some(k) = map.next_key::<String>()? {
            if fields.contains_key(&k) || (k == "keys" && keys_seen) {
                return Err(de::Error::custom(format_args!(
                    "duplicate object key {k:?}"
                )));
            }
            if k == "keys" {
                keys_seen = true;
                map.next_value_seed(KeysSeed {
                    mode: self.mode,
                    cx: &mut *self.cx,
                    acc: &mut *self.acc,
                })?;
            } else {
                let v = map.next_value_seed(StrictSeed)?;
                fields.insert(k, v);
            }
        }
        Ok(Top::Object { fields, keys_seen })
    }
}

struct KeysSeed<'a, 's> {
    mode: Mode,
    cx: &'a mut Ctx<'s>,
    acc: &'a mut KeysAcc,
}

impl<'de> DeserializeSeed<'de> for KeysSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl KeysSeed<'_, '_> {
    fn not_array<E>(self, kind: &'static str) -> Result<(), E> {
        self.acc.not_array = Some(kind);
        Ok(())
    }
}

impl<'de> Visitor<'de> for KeysSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of key entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let root = JsonPath::root();
        let keys = root.field("keys");
        let mut i = 0;
        loop {
            let path = keys.index(i);
            let entry = match self.mode {
                Mode::Plain | Mode::Fast => match seq.next_element_seed(FastEntry)? {
                    None => break,
                    Some(fast) => {
                        key::finish(self.cx, fast.into_fields(), &path, &mut self.acc.interner)
                    }
                },
                Mode::Slow => match seq.next_element_seed(StrictSeed)? {
                    None => break,
                    Some(v) => key::extract(self.cx, &v, &path)
                        .and_then(|f| key::finish(self.cx, f, &path, &mut self.acc.interner)),
                },
            };
            self.acc.accept(self.cx, i, entry);
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_array("an object")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.not_array("a boolean")
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.not_array("a string")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.not_array("null")
    }
}
