//! The key set: the data pushed to the edge that says which keys exist and what they may do.
//!
//! A [`KeySet`] can only be built by validating JSON ([`KeySet::from_json`]); once built it is
//! immutable and internally consistent. See `docs/keyset.md` for the format.

mod apply;
mod audience;
mod ctx;
pub(crate) mod delta;
mod diff;
pub(crate) mod envelope;
pub(crate) mod index;
mod key;
mod lint;
mod parse;
mod plain;
pub(crate) mod publisher;
mod recent;
pub(crate) mod redact;
mod rules;
pub(crate) mod scan;
pub(crate) mod secrets;
pub(crate) mod shard;
pub(crate) mod shard_build;
mod signing;
mod sigparse;
mod state;
mod store;
mod stream;
#[cfg(any(test, fuzzing))]
mod summary;
pub(crate) mod webhook;

use std::fmt;
use std::sync::Arc;

use crate::apikey::ApiKeyDigest;
use crate::cidr::Cidr;
use crate::route::PathPattern;
use crate::seal::Unseal;
use crate::sig::VerifierKey;
use crate::time::UnixTime;
use crate::webhook::WebhookKey;

pub use audience::{MAX_AUDIENCE_LEN, check_audience_name};
pub use diff::{DiffError, diff};
pub use lint::Lint;
pub use parse::MAX_REVISION;
pub use signing::{RouteSignature, SignaturePolicy};
pub use store::{Iter as KeysIter, Keys};

/// One problem found in a key set, located by its JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetError {
    /// JSON path of the offending value, e.g. `$.keys[1].expires_at`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for KeysetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a key set, in document order. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetErrors(pub(crate) Vec<KeysetError>);

impl KeysetErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[KeysetError] {
        &self.0
    }
}

impl fmt::Display for KeysetErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KeysetErrors {}

/// Whether a key may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// In use.
    Active,
    /// Temporarily refused; may be re-enabled.
    Disabled,
    /// Permanently refused.
    Revoked,
}

impl KeyStatus {
    /// The key-set spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Revoked => "revoked",
        }
    }
}

/// What happens to a request whose path matches no route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultRoute {
    /// Any valid key passes.
    Authenticate,
    /// Refused with `route_denied` (403).
    Deny,
}

/// What requests get once the key set itself has expired (its top-level `expires_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StalePolicy {
    /// Refuse every request with 503 `keyset_stale` (the default: fail closed).
    FailClosed,
    /// Keep deciding with the stale set.
    ServeStale,
}

/// How route patterns treat letter case (see `docs/security.md`, "Paths").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathCase {
    /// Patterns also match their ASCII case variants, so a rule still applies when the
    /// origin ignores case (IIS, Express and Spring by default). The default.
    Insensitive,
    /// Patterns match only the case they are written in: for origins that are all
    /// case-sensitive.
    Sensitive,
}

/// How route patterns treat a trailing slash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrailingSlash {
    /// `/a` also matches `/a/` and the reverse, so a rule still applies when the origin
    /// ignores the trailing slash (Express's non-strict routing, older Spring MVC). The
    /// default.
    Optional,
    /// `/a` and `/a/` are different paths: for origins that all tell them apart.
    Significant,
}

/// What a POST request's body may do to the method an origin acts on. keygate never reads an
/// unsigned body, so it cannot see a `_method` field there (Rack's `MethodOverride`, Laravel,
/// Symfony's `http_method_override`); this says how to judge a POST as if it could carry one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyMethodOverride {
    /// A POST is judged under the methods it is read as without its body (as sent, its
    /// standard spelling, header and query overrides). The default: for origins that act on
    /// no `_method` in a body.
    Ignored,
    /// A request read as POST is also judged under every other method: it needs the scopes
    /// of every rule its path reaches under any method, is public only when all of them are,
    /// and is `route_denied` when any method falls to a `deny` default.
    EveryMethod,
}

/// Key-set wide policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Tolerance applied to signature times (not to key validity windows).
    pub clock_skew_seconds: u32,
    /// What an unmatched path gets.
    pub default_route: DefaultRoute,
    /// Request signature rules.
    pub signature: SignaturePolicy,
    /// What happens past the set's own `expires_at`.
    pub stale_policy: StalePolicy,
    /// Whether route patterns also match other letter cases.
    pub path_case: PathCase,
    /// Whether route patterns also match with the trailing slash added or removed.
    pub trailing_slash: TrailingSlash,
    /// Whether a POST is judged as if its body could name any method (`_method`).
    pub body_method_override: BodyMethodOverride,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            clock_skew_seconds: 30,
            default_route: DefaultRoute::Authenticate,
            signature: SignaturePolicy::default(),
            stale_policy: StalePolicy::FailClosed,
            path_case: PathCase::Insensitive,
            trailing_slash: TrailingSlash::Optional,
            body_method_override: BodyMethodOverride::Ignored,
        }
    }
}

/// One route rule.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Route {
    /// Methods this rule applies to; `None` means all. `GET` also covers `HEAD`. (A request
    /// is read under its method as sent, its standard upper-case spelling and any method
    /// override it carries; see `docs/security.md`.)
    pub methods: Option<Vec<String>>,
    /// The path pattern.
    pub path: PathPattern,
    /// A public route is allowed without credentials.
    pub public: bool,
    /// Scopes a key must hold (every one of them).
    pub scopes: Vec<String>,
    /// Signature requirements this route adds.
    pub signature: RouteSignature,
    /// The keys whose Standard Webhooks deliveries this route accepts (ids, in order). A route
    /// that lists any accepts only webhook deliveries; empty: no webhooks.
    pub webhook_keys: Vec<String>,
}

impl Route {
    /// Whether this rule applies to `method`.
    pub fn applies_to_method(&self, method: &str) -> bool {
        match &self.methods {
            None => true,
            Some(ms) => ms
                .iter()
                .any(|m| m == method || (method == "HEAD" && m == "GET")),
        }
    }
}

/// One key entry.
#[derive(Clone)]
#[non_exhaustive]
pub struct KeyEntry {
    /// The key's identifier (`[A-Za-z0-9._:-]{1,128}`), unique in the set.
    pub id: String,
    /// SHA-256 digest of the API key, when the key has one.
    pub api_key_hash: Option<ApiKeyDigest>,
    /// Whether the key may be used.
    pub status: KeyStatus,
    /// Not valid before this instant.
    pub not_before: Option<UnixTime>,
    /// Not valid from this instant on.
    pub expires_at: Option<UnixTime>,
    /// Scopes granted; a trailing `*` grants every scope with that prefix. (Identical lists
    /// are shared between keys.)
    pub scopes: Arc<[String]>,
    /// When non-empty, only these client networks may use the key.
    pub allow_cidrs: Arc<[Cidr]>,
    /// Client networks that may never use the key.
    pub deny_cidrs: Arc<[Cidr]>,
    /// A human-readable name.
    pub name: Option<String>,
    /// The `meta` object, as compact JSON text (members in document order); the verifier
    /// only passes it on to allowed decisions.
    pub meta: Option<Box<str>>,
    /// The key that verifies this key's request signatures, when it has one.
    pub signing: Option<Box<VerifierKey>>,
    /// Requests with this key must carry a valid signature (default: when `signing` is set).
    pub require_signature: bool,
    /// How the entry's secrets are written (clear or sealed), when it has any.
    pub(crate) secrets: Option<Box<secrets::SecretForms>>,
    /// The key that verifies this key's Standard Webhooks deliveries, when it has one (and
    /// its secret, if sealed, was opened).
    pub webhook: Option<Box<WebhookKey>>,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digest is not a secret, but there is no reason to print it either.
        f.debug_struct("KeyEntry")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("not_before", &self.not_before)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field(
                "signing",
                &self.signing.as_deref().map(VerifierKey::algorithm),
            )
            .field("webhook", &self.webhook.as_deref().map(WebhookKey::scheme))
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// How many of the entry's secrets are sealed (0, 1 or 2).
    pub(crate) fn sealed_secrets(&self) -> usize {
        self.secrets.as_deref().map_or(0, |s| {
            [&s.signing, &s.webhook]
                .iter()
                .filter(|f| matches!(f, secrets::Form::Sealed { .. }))
                .count()
        })
    }

    /// Whether the key's scopes grant `scope`.
    pub fn grants(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| match s.strip_suffix('*') {
            Some(prefix) => scope.starts_with(prefix),
            None => s == scope,
        })
    }
}

/// A validated, immutable key set.
#[derive(Clone)]
pub struct KeySet {
    pub(crate) revision: u64,
    pub(crate) audience: Vec<String>,
    pub(crate) issued_at: Option<UnixTime>,
    pub(crate) expires_at: Option<UnixTime>,
    pub(crate) policy: Policy,
    pub(crate) deny_cidrs: Vec<Cidr>,
    pub(crate) routes: Vec<Route>,
    /// The entries, in chunks shared between versions of the set (`store.rs`).
    pub(crate) keys: store::KeyStore,
    pub(crate) index: index::KeyIndex,
    pub(crate) fingerprint: [u8; 16],
    /// How many secrets of `keys` are sealed: counted when the set is read and kept by every
    /// delta, so that reading it costs nothing whatever the size of the set.
    pub(crate) sealed: usize,
    /// API keys found recently (`recent.rs`).
    pub(crate) recent: recent::RecentKeys,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("revision", &self.revision)
            .field("keys", &self.keys.len())
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// Validates key set JSON. Every problem is reported, each with its JSON path; on any
    /// problem nothing is built.
    ///
    /// A sealed secret in the set is an error at its path: use
    /// [`from_json_with`](Self::from_json_with) with the seal keys.
    pub fn from_json(bytes: &[u8]) -> Result<KeySet, KeysetErrors> {
        parse::parse(bytes, Unseal::Refuse)
    }

    /// [`from_json`](Self::from_json), opening sealed secrets as `unseal` says: with seal keys
    /// (every sealed value must open), or by form only (for tools that publish a set without
    /// its seal keys: those secrets then verify nothing).
    pub fn from_json_with(bytes: &[u8], unseal: Unseal<'_>) -> Result<KeySet, KeysetErrors> {
        parse::parse(bytes, unseal)
    }

    /// [`KeySet::from_json`] on the slow path alone (every key entry read as a JSON tree), for
    /// the fuzz target that holds the fast path to it. Only under `--cfg fuzzing`.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn from_json_slow_path(bytes: &[u8]) -> Option<Result<KeySet, KeysetErrors>> {
        parse::run(bytes, parse::Mode::Slow, Unseal::Refuse)
    }

    /// [`KeySet::from_json`] on the plain reader alone (`plain.rs`): `None` when it leaves the
    /// document to the general reading. For the fuzz target that holds it to that reading.
    /// Only under `--cfg fuzzing`.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn from_json_plain_path(bytes: &[u8]) -> Option<Result<KeySet, KeysetErrors>> {
        parse::run(bytes, parse::Mode::Plain, Unseal::Refuse)
    }

    /// [`KeySet::from_json`] without the plain reader: the typed pass, then the slow one, as
    /// the set was read before the plain reader existed. Only under `--cfg fuzzing`.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn from_json_general_path(bytes: &[u8]) -> Result<KeySet, KeysetErrors> {
        parse::run(bytes, parse::Mode::Fast, Unseal::Refuse)
            .or_else(|| parse::run(bytes, parse::Mode::Slow, Unseal::Refuse))
            .expect("the slow pass always answers")
    }

    /// Everything a reading yields (every field of every key and of the set, its fingerprint;
    /// secrets only as a hash of their bytes), or its errors, as text: what the fuzz targets
    /// compare two readings by. Only under `--cfg fuzzing`.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn reading_summary(read: &Result<KeySet, KeysetErrors>) -> String {
        summary::show(read)
    }

    /// The revision number (>= 1); a verifier only moves forward.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// When the set was issued, if stated.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.issued_at
    }

    /// When the set itself goes stale, if stated.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.expires_at
    }

    /// The key-set wide policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Global client networks refused before anything else.
    pub fn deny_cidrs(&self) -> &[Cidr] {
        &self.deny_cidrs
    }

    /// Route rules, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// All key entries: in document order for a set read from JSON; after a delta, in no
    /// particular order.
    pub fn keys(&self) -> Keys<'_> {
        Keys(&self.keys)
    }

    /// The entry with this id.
    pub fn key_by_id(&self, id: &str) -> Option<&KeyEntry> {
        self.index
            .find_id(&self.keys, id)
            .and_then(|i| self.keys.get(i as usize))
    }

    /// The entry whose API key has this digest.
    pub fn key_by_digest(&self, digest: &ApiKeyDigest) -> Option<&KeyEntry> {
        self.index
            .find_digest(&self.keys, digest)
            .and_then(|i| self.keys.get(i as usize))
    }

    /// How many secrets of the set are sealed (`crate::seal`).
    pub fn sealed_count(&self) -> usize {
        self.sealed
    }

    /// The entry an API key names, by the SHA-256 of the key (a key found recently is found
    /// again without it; see `recent.rs`). `classify` runs first on a key not seen recently:
    /// `Err` when it says the key's checksum is wrong.
    pub(crate) fn key_by_api_key(
        &self,
        api_key: &str,
        classify: impl FnOnce(&str) -> Result<(), ()>,
    ) -> Result<Option<&KeyEntry>, ()> {
        if let Some(i) = self.recent.get(api_key) {
            return Ok(self.keys.get(i as usize));
        }
        classify(api_key)?;
        let found = self
            .index
            .find_digest(&self.keys, &ApiKeyDigest::of(api_key));
        if let Some(i) = found {
            self.recent.put(api_key, i);
        }
        Ok(found.and_then(|i| self.keys.get(i as usize)))
    }

    /// The position of `key` in [`keys`](Self::keys), when it is an entry of this set.
    pub(crate) fn index_of(&self, key: &KeyEntry) -> Option<u32> {
        self.index.find_id(&self.keys, &key.id).filter(|&i| {
            self.keys
                .get(i as usize)
                .is_some_and(|k| std::ptr::eq(k, key))
        })
    }

    /// Whether `other` was loaded from byte-identical JSON (compared by a 128-bit
    /// fingerprint; see [`Verifier::update`](crate::Verifier::update)).
    pub fn same_bytes_as(&self, other: &KeySet) -> bool {
        self.fingerprint == other.fingerprint
    }
}
