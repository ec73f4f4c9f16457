//! One key entry. Its fields are read either from a small JSON tree (the slow path, which
//! reports type errors and unknown fields with their paths) or by a typed, borrowing serde
//! reader (the fast path); both then go through the same semantic checks in [`finish`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer};
use serde_json::Value;

use super::ctx::{Ctx, check_key_id};
use super::secrets::SecretForms;
use super::{KeyEntry, KeyStatus};
use crate::apikey::ApiKeyDigest;
use crate::cidr::Cidr;
use crate::json::{JsonPath, StrictSeed, type_name};
use crate::time::UnixTime;

pub(super) const KEY_FIELDS: &[&str] = &[
    "id",
    "api_key_hash",
    "status",
    "not_before",
    "expires_at",
    "scopes",
    "allow_cidrs",
    "deny_cidrs",
    "name",
    "meta",
    "signing",
    "require_signature",
    "webhook",
];

/// A field that is absent, present with the wrong type (already reported), or usable.
#[derive(Default)]
pub(super) enum F<T> {
    #[default]
    Absent,
    Invalid,
    Valid(T),
}

impl<T> F<T> {
    fn valid(self) -> Option<T> {
        match self {
            F::Valid(t) => Some(t),
            _ => None,
        }
    }
}

type Strings<'a> = Vec<(usize, Cow<'a, str>)>;

/// A key entry's fields, type-checked but not yet validated.
#[derive(Default)]
pub(super) struct KeyFields<'a> {
    pub(super) id: F<Cow<'a, str>>,
    pub(super) api_key_hash: F<Cow<'a, str>>,
    pub(super) status: F<Cow<'a, str>>,
    pub(super) not_before: F<Cow<'a, str>>,
    pub(super) expires_at: F<Cow<'a, str>>,
    pub(super) scopes: F<Strings<'a>>,
    pub(super) allow_cidrs: F<Strings<'a>>,
    pub(super) deny_cidrs: F<Strings<'a>>,
    pub(super) name: F<Cow<'a, str>>,
    pub(super) meta: F<Box<str>>,
    pub(super) signing: F<Cow<'a, Value>>,
    pub(super) require_signature: F<bool>,
    pub(super) webhook: F<Cow<'a, Value>>,
}

/// The interner's keys are already hashes.
#[derive(Default)]
struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Shares identical scope and network lists between keys: large sets repeat a handful of
/// combinations, and each shared list is stored once (and its scopes checked once).
#[derive(Default)]
pub(super) struct Interner {
    /// Valid scope lists only, by [`scopes_hash`].
    scopes: HashMap<u64, Vec<Arc<[String]>>, BuildHasherDefault<U64Hasher>>,
    cidrs: HashMap<Vec<Cidr>, Arc<[Cidr]>>,
    /// The empty network list most keys have.
    no_cidrs: Option<Arc<[Cidr]>>,
}

fn scopes_hash(items: &[(usize, Cow<'_, str>)]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (_, s) in items {
        for &b in s.as_bytes().iter().chain(&[0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl Interner {
    /// The shared list equal to `items`, when one was interned: it is valid (only lists that
    /// passed `Ctx::check_scopes` are interned), so `items` need not be checked again.
    fn known_scopes(&self, h: u64, items: &[(usize, Cow<'_, str>)]) -> Option<Arc<[String]>> {
        let same = |a: &&Arc<[String]>| {
            a.len() == items.len() && a.iter().zip(items).all(|(x, (_, y))| x == y)
        };
        self.scopes.get(&h)?.iter().find(same).cloned()
    }

    /// The shared list for these scopes, which must be valid (checked), allocating only on
    /// first sight.
    fn scopes(&mut self, h: u64, items: &[(usize, Cow<'_, str>)]) -> Arc<[String]> {
        if let Some(a) = self.known_scopes(h, items) {
            return a;
        }
        let a: Arc<[String]> = items.iter().map(|(_, s)| s.to_string()).collect();
        self.scopes.entry(h).or_default().push(a.clone());
        a
    }

    fn cidrs(&mut self, v: Vec<Cidr>) -> Arc<[Cidr]> {
        if v.is_empty() {
            return self.no_cidrs.get_or_insert_with(|| Arc::from([])).clone();
        }
        if let Some(a) = self.cidrs.get(&v) {
            return a.clone();
        }
        let a: Arc<[Cidr]> = v.clone().into();
        self.cidrs.insert(v, a.clone());
        a
    }
}

/// Slow path: reads the fields from a JSON tree, reporting type errors and unknown fields.
#[inline(never)]
pub(super) fn extract<'a>(
    cx: &mut Ctx<'_>,
    v: &'a Value,
    path: &JsonPath<'_>,
) -> Option<KeyFields<'a>> {
    let map = cx.object(v, path, KEY_FIELDS)?;
    let text = |cx: &mut Ctx<'_>, name: &str| -> F<Cow<'a, str>> {
        match map.get(name) {
            None => F::Absent,
            Some(v) => cx
                .string(v, &path.field(name))
                .map_or(F::Invalid, |s| F::Valid(Cow::Borrowed(s))),
        }
    };
    let list = |cx: &mut Ctx<'_>, name: &str| -> F<Strings<'a>> {
        match map.get(name) {
            None => F::Absent,
            Some(v) => cx
                .strings(v, &path.field(name))
                .map_or(F::Invalid, F::Valid),
        }
    };
    let meta = match map.get("meta") {
        None => F::Absent,
        Some(v) if v.is_object() => F::Valid(v.to_string().into()),
        Some(v) => {
            cx.err(
                &path.field("meta"),
                format!("expected an object, found {}", type_name(v)),
            );
            F::Invalid
        }
    };
    let require_signature = match map.get("require_signature") {
        None => F::Absent,
        Some(v) => cx
            .bool(v, &path.field("require_signature"))
            .map_or(F::Invalid, F::Valid),
    };
    Some(KeyFields {
        signing: map
            .get("signing")
            .map_or(F::Absent, |v| F::Valid(Cow::Borrowed(v))),
        require_signature,
        webhook: map
            .get("webhook")
            .map_or(F::Absent, |v| F::Valid(Cow::Borrowed(v))),
        id: text(cx, "id"),
        api_key_hash: text(cx, "api_key_hash"),
        status: text(cx, "status"),
        not_before: text(cx, "not_before"),
        expires_at: text(cx, "expires_at"),
        scopes: list(cx, "scopes"),
        allow_cidrs: list(cx, "allow_cidrs"),
        deny_cidrs: list(cx, "deny_cidrs"),
        name: text(cx, "name"),
        meta,
    })
}

/// The semantic checks shared by both paths.
#[inline(never)]
pub(super) fn finish(
    cx: &mut Ctx<'_>,
    f: KeyFields<'_>,
    path: &JsonPath<'_>,
    interner: &mut Interner,
) -> Option<KeyEntry> {
    let id = match f.id {
        F::Absent => {
            fault(cx, path, "id", "required field missing");
            None
        }
        F::Invalid => None,
        F::Valid(s) => match check_key_id(&s) {
            Ok(()) => Some(s.into_owned()),
            Err(e) => {
                fault(cx, path, "id", e);
                None
            }
        },
    };
    if matches!(f.api_key_hash, F::Absent)
        && matches!(f.signing, F::Absent)
        && matches!(f.webhook, F::Absent)
    {
        no_credential(cx, path);
    }
    let (webhook, webhook_form) = match f.webhook.valid() {
        Some(v) => super::webhook::key(cx, &v, &path.field("webhook")),
        None => (None, super::secrets::Form::None),
    };
    let (signing, require_signature, signing_form) =
        super::sigparse::key(cx, f.signing.valid().as_deref(), f.require_signature, path);
    let api_key_hash = f.api_key_hash.valid().and_then(|s| {
        ApiKeyDigest::parse(&s)
            .map_err(|e| fault(cx, path, "api_key_hash", e))
            .ok()
    });
    let status = match f.status {
        F::Absent => Some(KeyStatus::Active),
        F::Invalid => None,
        F::Valid(s) => match &*s {
            "active" => Some(KeyStatus::Active),
            "disabled" => Some(KeyStatus::Disabled),
            "revoked" => Some(KeyStatus::Revoked),
            other => {
                bad_status(cx, path, other);
                None
            }
        },
    };
    let not_before = f
        .not_before
        .valid()
        .and_then(|s| cx.time_text(&s, &path.field("not_before")));
    let expires_at = f
        .expires_at
        .valid()
        .and_then(|s| cx.time_text(&s, &path.field("expires_at")));
    if let (Some(nb), Some(ex)) = (not_before, expires_at)
        && nb >= ex
    {
        not_earlier(cx, path, nb, ex);
    }
    let scopes = match f.scopes.valid() {
        Some(v) => {
            // A list seen before is shared without being checked again (it was valid).
            let h = scopes_hash(&v);
            match interner.known_scopes(h, &v) {
                Some(a) => a,
                None if cx.check_scopes(&v, &path.field("scopes"), true) => interner.scopes(h, &v),
                None => interner.scopes(scopes_hash(&[]), &[]),
            }
        }
        None => interner.scopes(scopes_hash(&[]), &[]),
    };
    let allow = f
        .allow_cidrs
        .valid()
        .map(|v| cx.cidr_entries(&v, &path.field("allow_cidrs")))
        .unwrap_or_default();
    let deny = f
        .deny_cidrs
        .valid()
        .map(|v| cx.cidr_entries(&v, &path.field("deny_cidrs")))
        .unwrap_or_default();
    cx.covered_allows(&allow, &path.field("allow_cidrs"), &deny, "deny_cidrs");
    let allow: Vec<Cidr> = allow.into_iter().map(|(_, c)| c).collect();
    let deny: Vec<Cidr> = deny.into_iter().map(|(_, c)| c).collect();
    let name = f.name.valid().map(|s| {
        if s.chars().count() > 256 {
            fault(cx, path, "name", "a name is at most 256 characters");
        }
        s.into_owned()
    });
    Some(KeyEntry {
        id: id?,
        api_key_hash,
        status: status?,
        not_before,
        expires_at,
        scopes,
        allow_cidrs: interner.cidrs(allow),
        deny_cidrs: interner.cidrs(deny),
        name,
        meta: f.meta.valid(),
        signing: signing.map(Box::new),
        require_signature,
        secrets: SecretForms {
            signing: signing_form,
            webhook: webhook_form,
        }
        .boxed(),
        webhook: webhook.map(Box::new),
    })
}

// The messages of `finish`'s refusals, out of line: V8 compiles a wasm function whole on its
// first call, and a key set that loads meets none of them.

/// A fault of the member `field` of the key entry at `path`.
#[cold]
#[inline(never)]
fn fault(cx: &mut Ctx<'_>, path: &JsonPath<'_>, field: &str, message: impl Into<String>) {
    cx.err(&path.field(field), message);
}

#[cold]
#[inline(never)]
fn no_credential(cx: &mut Ctx<'_>, path: &JsonPath<'_>) {
    cx.err(
        path,
        "a key needs at least one credential: \"api_key_hash\", \"signing\" or \"webhook\"",
    );
}

#[cold]
#[inline(never)]
fn bad_status(cx: &mut Ctx<'_>, path: &JsonPath<'_>, other: &str) {
    cx.err(
        &path.field("status"),
        format!("expected \"active\", \"disabled\" or \"revoked\", found {other:?}"),
    );
}

#[cold]
#[inline(never)]
fn not_earlier(cx: &mut Ctx<'_>, path: &JsonPath<'_>, nb: UnixTime, ex: UnixTime) {
    cx.err(
        &path.field("not_before"),
        format!("not_before ({nb}) must be earlier than expires_at ({ex})"),
    );
}

/// A present member: `null` is refused (as on the slow path), not read as absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn present_meta<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StrictObject>, D::Error> {
    StrictObject::deserialize(d).map(Some)
}

/// Any JSON value, read strictly (duplicate keys refused), for `signing`.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(StrictSeed, d).map(StrictValue)
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An array of strings, kept with their positions (one allocation).
struct Indexed<'a>(Strings<'a>);

impl<'de> Deserialize<'de> for Indexed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Indexed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Indexed<'de>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(Text(t)) = seq.next_element::<Text<'de>>()? {
                    out.push((out.len(), t));
                }
                Ok(Indexed(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A JSON object, read strictly (duplicate keys refused), for `meta`: kept as compact text.
struct StrictObject(Box<str>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match de::DeserializeSeed::deserialize(StrictSeed, d)? {
            v @ Value::Object(_) => Ok(StrictObject(v.to_string().into())),
            _ => Err(de::Error::custom("meta must be an object")),
        }
    }
}

/// Fast path: the typed shape of a key entry. Any deviation (unknown field, duplicate field,
/// wrong type, `null`) is a deserialisation error that sends the document to the slow path.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FastKey<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    api_key_hash: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    status: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    not_before: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    expires_at: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    scopes: Option<Indexed<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    allow_cidrs: Option<Indexed<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    deny_cidrs: Option<Indexed<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    name: Option<Text<'a>>,
    #[serde(default, deserialize_with = "present_meta")]
    meta: Option<StrictObject>,
    #[serde(default, deserialize_with = "present")]
    signing: Option<StrictValue>,
    #[serde(default, deserialize_with = "present")]
    require_signature: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    webhook: Option<StrictValue>,
}

/// Reads a [`FastKey`] from a JSON object only: serde_json also reads a struct from an array
/// (its members in order), which the format does not allow (the slow path and the schema
/// refuse it).
pub(super) struct FastEntry;

impl<'de> de::DeserializeSeed<'de> for FastEntry {
    type Value = FastKey<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FastKey<'de>, D::Error> {
        FastKey::deserialize(ObjectOnly(d))
    }
}

/// A deserializer that reads structs as maps only.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;
    fn deserialize_any<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }
    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

impl fmt::Debug for FastKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastKey").finish_non_exhaustive()
    }
}

fn opt(o: Option<Text<'_>>) -> F<Cow<'_, str>> {
    o.map_or(F::Absent, |t| F::Valid(t.0))
}

fn indexed(o: Option<Indexed<'_>>) -> F<Strings<'_>> {
    o.map_or(F::Absent, |v| F::Valid(v.0))
}

impl<'a> FastKey<'a> {
    pub(super) fn into_fields(self) -> KeyFields<'a> {
        KeyFields {
            id: opt(self.id),
            api_key_hash: opt(self.api_key_hash),
            status: opt(self.status),
            not_before: opt(self.not_before),
            expires_at: opt(self.expires_at),
            scopes: indexed(self.scopes),
            allow_cidrs: indexed(self.allow_cidrs),
            deny_cidrs: indexed(self.deny_cidrs),
            name: opt(self.name),
            meta: self.meta.map_or(F::Absent, |m| F::Valid(m.0)),
            signing: self
                .signing
                .map_or(F::Absent, |v| F::Valid(Cow::Owned(v.0))),
            require_signature: self.require_signature.map_or(F::Absent, F::Valid),
            webhook: self
                .webhook
                .map_or(F::Absent, |v| F::Valid(Cow::Owned(v.0))),
        }
    }
}
