//! Key set validation: JSON in, a [`KeySet`] or every error with its JSON path out.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::ctx::Ctx;
use super::{KeyEntry, KeySet, KeysetError, KeysetErrors, Policy};
use crate::cidr::Cidr;
use crate::json::{JsonPath, suggest};
use crate::seal::Unseal;

/// Revisions stay within JavaScript's exact integer range (2^53 - 1).
pub const MAX_REVISION: u64 = (1 << 53) - 1;

const TOP_FIELDS: &[&str] = &[
    "keygate",
    "revision",
    "audience",
    "issued_at",
    "expires_at",
    "policy",
    "deny_cidrs",
    "routes",
    "keys",
];

pub(super) fn parse(bytes: &[u8], unseal: Unseal<'_>) -> Result<KeySet, KeysetErrors> {
    // Plain path: a document in the shape publishers write is read by the crate's own cursor
    // (`plain.rs`). Anything it does not take is read again by the fast path: key entries
    // deserialised by serde straight into typed, borrowed fields. Anything the typed reader
    // cannot take (a wrong type, an unknown field, bad JSON) sends the whole document down the
    // slow path, which walks small JSON trees one key at a time and reports every error with
    // its path. All paths share the semantic checks in `key::finish`.
    for mode in [Mode::Plain, Mode::Fast] {
        if let Some(result) = run(bytes, mode, unseal) {
            return result;
        }
    }
    run(bytes, Mode::Slow, unseal).unwrap_or_else(|| {
        Err(KeysetErrors(vec![KeysetError {
            path: "$".into(),
            message: "invalid key set".into(),
        }]))
    })
}

/// How key entries are read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Mode {
    /// The crate's own reader of the usual shape; gives up on the first surprise.
    Plain,
    /// Typed and borrowing; gives up on the first surprise.
    Fast,
    /// One small JSON tree per key; reports every error.
    Slow,
}

/// One pass; `None` when the plain or the fast pass gives up.
pub(super) fn run(
    bytes: &[u8],
    mode: Mode,
    unseal: Unseal<'_>,
) -> Option<Result<KeySet, KeysetErrors>> {
    let root = JsonPath::root();
    let mut cx = Ctx {
        errors: Vec::new(),
        unseal,
    };
    let mut keys = KeysAcc::for_document(bytes.len());
    // The document is streamed: key entries are validated one at a time as they are read, so
    // a 100k-key set never exists as a whole JSON tree in memory.
    let read = match mode {
        Mode::Plain => read_plain(bytes, &mut cx, &mut keys).ok_or(None),
        _ => read_general(bytes, mode, &mut cx, &mut keys).map_err(Some),
    };
    let top = match read {
        Ok(top) => top,
        Err(None) => return None,
        Err(Some(_)) if mode == Mode::Fast => return None,
        Err(Some(e)) => return Some(Err(invalid_json(&root, &e))),
    };
    let built = match top {
        super::stream::Top::Object { fields, keys_seen } => {
            build(&mut cx, &fields, keys_seen, keys, &root)
        }
        super::stream::Top::Other(kind) => {
            not_an_object(&mut cx, &root, kind);
            None
        }
    };
    Some(match built {
        Some(mut ks) if cx.errors.is_empty() => {
            ks.fingerprint = super::index::fingerprint(bytes);
            Ok(ks)
        }
        _ => Err(refused(cx, bytes, &root)),
    })
}

// The pieces of `run` below are functions of their own: V8 compiles a wasm function whole on
// its first call, and Liftoff's cost grows with a function's locals, so the usual load (a
// document the cursor reads, no error) compiles neither the general reading nor the error
// paths, and the parts it does run are compiled as smaller functions.

/// The cursor's reading (`plain.rs`).
#[inline(never)]
fn read_plain(bytes: &[u8], cx: &mut Ctx<'_>, acc: &mut KeysAcc) -> Option<super::stream::Top> {
    super::plain::read_document(bytes, cx, acc)
}

/// serde_json's reading (`stream.rs`), when the cursor gave up.
#[inline(never)]
fn read_general(
    bytes: &[u8],
    mode: Mode,
    cx: &mut Ctx<'_>,
    acc: &mut KeysAcc,
) -> Result<super::stream::Top, serde_json::Error> {
    super::stream::read_document(bytes, mode, cx, acc)
}

#[cold]
#[inline(never)]
fn invalid_json(root: &JsonPath<'_>, e: &serde_json::Error) -> KeysetErrors {
    KeysetErrors(vec![KeysetError {
        path: root.to_string(),
        message: format!("invalid JSON: {e}"),
    }])
}

#[cold]
#[inline(never)]
fn not_an_object(cx: &mut Ctx<'_>, root: &JsonPath<'_>, kind: &str) {
    cx.err(root, format!("expected an object, found {kind}"));
}

/// The errors of a refused document, secrets redacted.
#[cold]
#[inline(never)]
fn refused(mut cx: Ctx<'_>, bytes: &[u8], root: &JsonPath<'_>) -> KeysetErrors {
    if cx.errors.is_empty() {
        cx.err(root, "invalid key set");
    }
    let mut errors = cx.errors;
    super::redact::redact(bytes, &mut errors);
    KeysetErrors(errors)
}

/// Key entries accepted so far, with the indexes that detect duplicates.
#[derive(Default)]
pub(super) struct KeysAcc {
    keys: super::store::KeyStore,
    doc_index: Vec<u32>,
    index: super::index::KeyIndex,
    pub(super) interner: super::key::Interner,
    pub(super) not_array: Option<&'static str>,
    /// Sealed secrets among `keys`.
    sealed: usize,
}

impl KeysAcc {
    /// Sized for the number of keys a document of `len` bytes may hold (a key entry takes at
    /// least ~100 bytes), so the lookup tables are not rebuilt as they fill.
    fn for_document(len: usize) -> Self {
        let n = (len / 100).min(1 << 22);
        KeysAcc {
            keys: super::store::KeyStore::with_capacity(n / 2),
            index: super::index::KeyIndex::with_capacity(n),
            ..KeysAcc::default()
        }
    }

    /// Adds a validated entry read from `$.keys[i]`, refusing duplicate ids and digests.
    pub(super) fn accept(&mut self, cx: &mut Ctx<'_>, i: usize, entry: Option<KeyEntry>) {
        let Some(entry) = entry else {
            return;
        };
        let root = JsonPath::root();
        let keys = root.field("keys");
        let kp = keys.index(i);
        let idx = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        if let Some(first) = self.index.find_id(&self.keys, &entry.id) {
            cx.err(
                &kp.field("id"),
                format!(
                    "duplicate key id {:?} (first used at $.keys[{}])",
                    entry.id, self.doc_index[first as usize]
                ),
            );
            return;
        }
        if let Some(d) = &entry.api_key_hash
            && let Some(first) = self.index.find_digest(&self.keys, d)
        {
            cx.err(
                &kp.field("api_key_hash"),
                format!(
                    "duplicate API key digest (also used by key {:?})",
                    self.keys[first as usize].id
                ),
            );
            return;
        }
        self.doc_index.push(u32::try_from(i).unwrap_or(u32::MAX));
        self.sealed += entry.sealed_secrets();
        self.keys.push(entry);
        self.index.insert(&self.keys, idx);
    }
}

#[inline(never)]
fn build(
    cx: &mut Ctx<'_>,
    top: &Map<String, Value>,
    keys_seen: bool,
    mut keys: KeysAcc,
    root: &JsonPath<'_>,
) -> Option<KeySet> {
    for k in top.keys() {
        if !TOP_FIELDS.contains(&k.as_str()) {
            unknown_top_field(cx, root, k);
        }
    }

    match top.get("keygate") {
        Some(v) if v.as_u64() == Some(1) => {}
        v => bad_version(cx, root, v),
    }
    let revision = match top.get("revision") {
        None => {
            missing(
                cx,
                root,
                "revision",
                "required field missing (an integer >= 1)",
            );
            None
        }
        Some(v) => cx.uint(v, &root.field("revision"), 1, MAX_REVISION),
    };
    let audience = top
        .get("audience")
        .map(|v| super::audience::parse(cx, v, &root.field("audience")))
        .unwrap_or_default();
    let (issued_at, expires_at) = cx.validity(top, root);
    let policy = match top.get("policy") {
        Some(v) => super::rules::policy(cx, v, &root.field("policy")),
        None => Some(Policy::default()),
    };
    let deny_path = root.field("deny_cidrs");
    let deny_entries = top
        .get("deny_cidrs")
        .and_then(|v| cx.strings(v, &deny_path))
        .map(|items| cx.cidr_entries(&items, &deny_path))
        .unwrap_or_default();
    let deny_cidrs: Vec<Cidr> = deny_entries.iter().map(|(_, c)| *c).collect();

    let mut routes = Vec::new();
    if let Some(v) = top.get("routes") {
        let p = root.field("routes");
        if let Some(items) = cx.array(v, &p) {
            for (i, item) in items.iter().enumerate() {
                if let Some(r) = super::rules::route(cx, item, &p.index(i)) {
                    webhook_routes(cx, &keys, &r, &p.index(i));
                    routes.push(r);
                }
            }
        }
    }

    if !keys_seen {
        missing(
            cx,
            root,
            "keys",
            "required field missing (an array of key entries)",
        );
    } else if let Some(kind) = keys.not_array {
        keys_not_array(cx, root, kind);
    }

    if !deny_entries.is_empty() {
        covered_by_global_deny(cx, &keys, &deny_entries);
    }

    let revision = revision?;
    keys.keys.shrink_to_fit();
    Some(KeySet {
        revision,
        audience,
        issued_at,
        expires_at,
        policy: policy?,
        deny_cidrs,
        routes,
        keys: keys.keys,
        index: keys.index,
        fingerprint: [0; 16],
        sealed: keys.sealed,
        recent: super::recent::RecentKeys::new(),
    })
}

// The messages of `build`'s refusals, out of line (see `run`).

/// A top-level member that is not one of `TOP_FIELDS`.
#[cold]
#[inline(never)]
fn unknown_top_field(cx: &mut Ctx<'_>, root: &JsonPath<'_>, k: &str) {
    if k == "kind" {
        // Only a delta has a kind; one read as a key set was too large to be one.
        cx.err(
            &root.field(k),
            format!(
                "unknown field (a key set has no \"kind\"; a delta document is at most {} bytes: push a full set instead)",
                super::delta::MAX_DELTA_BYTES
            ),
        );
    } else {
        let hint = suggest(k, TOP_FIELDS)
            .map(|s| format!(" (did you mean {s:?}?)"))
            .unwrap_or_default();
        cx.err(&root.field(k), format!("unknown field{hint}"));
    }
}

/// `keygate` missing or not `1`.
#[cold]
#[inline(never)]
fn bad_version(cx: &mut Ctx<'_>, root: &JsonPath<'_>, v: Option<&Value>) {
    match v {
        None => missing(
            cx,
            root,
            "keygate",
            "required field missing (the format version, 1)",
        ),
        Some(v) => cx.err(
            &root.field("keygate"),
            format!("unsupported key set version {v}; this verifier reads version 1"),
        ),
    }
}

#[cold]
#[inline(never)]
fn missing(cx: &mut Ctx<'_>, root: &JsonPath<'_>, field: &str, message: &'static str) {
    cx.err(&root.field(field), message);
}

#[cold]
#[inline(never)]
fn keys_not_array(cx: &mut Ctx<'_>, root: &JsonPath<'_>, kind: &str) {
    cx.err(
        &root.field("keys"),
        format!("expected an array, found {kind}"),
    );
}

/// Each id a route's `webhook_keys` lists must name a key with `webhook` (the keys are read
/// by now: `keys` streams before `build`).
// Out of line: only some key sets need it (V8 compiles a wasm function whole on its first
// call).
#[inline(never)]
fn webhook_routes(cx: &mut Ctx<'_>, keys: &KeysAcc, route: &super::Route, at: &JsonPath<'_>) {
    // A key entry with errors of its own was not accepted: saying again that its id names no
    // (webhook) key would only repeat them.
    if route.webhook_keys.is_empty() || cx.errors.iter().any(|e| e.path.starts_with("$.keys")) {
        return;
    }
    let p = at.field("webhook_keys");
    for (j, id) in route.webhook_keys.iter().enumerate() {
        let problem = match keys.index.find_id(&keys.keys, id) {
            None => Some(format!("no key has id {id:?}")),
            Some(k) => (!keys.keys[k as usize].has_webhook())
                .then(|| format!("key {id:?} has no \"webhook\" key")),
        };
        if let Some(m) = problem {
            cx.err(&p.index(j), m);
        }
    }
}

/// Key allow entries inside the key set's own deny list can never admit a client. (Keys whose
/// allow list already has errors are skipped: their entries' indexes are not known.)
// Out of line: only some key sets need it (V8 compiles a wasm function whole on its first
// call).
#[inline(never)]
fn covered_by_global_deny(cx: &mut Ctx<'_>, keys: &KeysAcc, deny: &[(usize, Cidr)]) {
    let broken: HashSet<usize> = cx
        .errors
        .iter()
        .filter_map(|e| {
            let rest = e.path.strip_prefix("$.keys[")?;
            let (i, rest) = rest.split_once(']')?;
            rest.starts_with(".allow_cidrs").then(|| i.parse().ok())?
        })
        .collect();
    let keys_path = JsonPath::root();
    let keys_path = keys_path.field("keys");
    for (n, key) in keys.keys.iter().enumerate() {
        let i = keys.doc_index[n] as usize;
        if key.allow_cidrs.is_empty() || broken.contains(&i) {
            continue;
        }
        let allow: Vec<(usize, Cidr)> = key.allow_cidrs.iter().copied().enumerate().collect();
        let at = keys_path.index(i);
        cx.covered_allows(&allow, &at.field("allow_cidrs"), deny, "$.deny_cidrs");
    }
}

#[cfg(test)]
mod tests {
    use super::super::summary::show as fingerprint;
    use super::{Mode, run};
    use crate::seal::Unseal;

    const H: &str = "sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8";
    const H2: &str = "sha256:kX7g4eihPy3mfGy1EFWuediztnvz-i2Bv1r-bB4-47M";

    fn docs() -> Vec<String> {
        let mut v: Vec<String> = [
            include_str!("../../tests/vectors/keysets/valid_full.json"),
            include_str!("../../tests/vectors/keysets/valid_minimal.json"),
            include_str!("../../tests/vectors/keysets/valid_deny_default.json"),
            include_str!("../../tests/vectors/keysets/valid_stale.json"),
            include_str!("../../demo/keyset.json"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Escaped strings (owned on the fast path), semantic errors without type errors.
        v.push(format!(
            r#"{{"keygate":1,"revision":2,"keys":[{{"id":"a","api_key_hash":"{H}","name":"caf\u00e9 \"quoted\"","scopes":["orders:\u0072ead"]}}]}}"#
        ));
        v.push(format!(
            r#"{{"keygate":1,"revision":2,"keys":[{{"id":"a","api_key_hash":"{H}","allow_cidrs":["10.0.0.1/8"],"not_before":"2027-01-01T00:00:00Z","expires_at":"2026-01-01T00:00:00Z"}},{{"id":"a","api_key_hash":"{H2}"}},{{"id":"b","api_key_hash":"{H}","scopes":["x","x"]}}]}}"#
        ));
        v.push(r#"{"keygate":1,"revision":2,"keys":[{"id":"bad id","api_key_hash":"sha256:AQID","status":"paused"}]}"#.to_string());
        v
    }

    #[test]
    fn fast_and_slow_paths_agree() {
        for doc in docs() {
            let fast = run(doc.as_bytes(), Mode::Fast, Unseal::Refuse)
                .expect("the fast path takes well-typed documents");
            let slow = run(doc.as_bytes(), Mode::Slow, Unseal::Refuse).unwrap();
            assert_eq!(fingerprint(&fast), fingerprint(&slow), "{doc}");
        }
    }

    #[test]
    fn type_faults_fall_back_to_the_slow_path() {
        for doc in [
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","api_key_hash":null}]}"#,
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","expire_at":"x"}]}"#,
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","id":"b"}]}"#,
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","scopes":"x"}]}"#,
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","meta":{"x":1,"x":2}}]}"#,
            r#"{"keygate":1,"revision":1,"keys":[}"#,
            // serde_json reads a struct from an array too; a key entry is an object.
            r#"{"keygate":1,"revision":1,"keys":[["a","sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8"]]}"#,
        ] {
            assert!(
                run(doc.as_bytes(), Mode::Fast, Unseal::Refuse).is_none(),
                "{doc}"
            );
            assert!(
                super::parse(doc.as_bytes(), Unseal::Refuse).is_err(),
                "{doc}"
            );
        }
    }
}
