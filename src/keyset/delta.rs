//! Delta documents: a signed change from one exact key set state to the next.
//!
//! A key set state is named by its revision and the SHA-256 of the key set JSON it is (or
//! would be) read from ([`SetState`]). A delta says "turn the set named BASE into the set named
//! TARGET" with a list of key changes, so a verifier that applied it holds a set with the same
//! name as the full file the publisher keeps, and two different sets at one revision (a fork)
//! are told apart instead of being patched. Only keys change: the policy, routes, global
//! networks and audience stay the base's (changing them needs a full set). See
//! `docs/keyset.md` ("Deltas").

use std::fmt;

use serde_json::{Map, Value};

use super::ctx::{Ctx, check_key_id};
use super::key::{self, Interner};
pub use super::state::SetState;
use super::state::parse_sha;
use super::{KeyEntry, KeyStatus, KeysetError, KeysetErrors};
use crate::apikey::ApiKeyDigest;
use crate::json::{JsonPath, parse_strict, suggest, type_name};
use crate::keyset::MAX_REVISION;
use crate::seal::Unseal;
use crate::time::UnixTime;

/// The largest delta document, in bytes: a bigger change is pushed as a full set.
pub const MAX_DELTA_BYTES: usize = 1 << 20;

/// The most changes one delta may carry.
pub const MAX_DELTA_CHANGES: usize = 10_000;

const TOP_FIELDS: &[&str] = &[
    "keygate",
    "kind",
    "base",
    "revision",
    "payload_sha256",
    "issued_at",
    "expires_at",
    "changes",
];
const OPS: &[&str] = &["add", "replace", "disable", "revoke", "remove"];

/// One change of a delta.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// A key the base does not have.
    Add(KeyEntry),
    /// A key of the base, replaced as a whole.
    Replace(KeyEntry),
    /// A key of the base whose status becomes `disabled` or `revoked`.
    Status {
        id: String,
        status: KeyStatus,
        hint: Option<ApiKeyDigest>,
    },
    /// A key of the base, removed.
    Remove {
        id: String,
        hint: Option<ApiKeyDigest>,
    },
}

impl Change {
    /// The key id it concerns.
    pub(crate) fn id(&self) -> &str {
        match self {
            Change::Add(k) | Change::Replace(k) => &k.id,
            Change::Status { id, .. } | Change::Remove { id, .. } => id,
        }
    }
}

/// A validated delta document (not yet applied: see [`Verifier::apply_delta`](crate::Verifier::apply_delta)).
#[derive(Clone)]
pub struct Delta {
    pub(crate) base: SetState,
    pub(crate) target: SetState,
    pub(crate) issued_at: Option<UnixTime>,
    pub(crate) expires_at: Option<UnixTime>,
    pub(crate) changes: Vec<Change>,
}

impl fmt::Debug for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delta")
            .field("base", &self.base)
            .field("target", &self.target)
            .field("changes", &self.changes.len())
            .finish_non_exhaustive()
    }
}

impl Delta {
    /// Validates delta JSON. Every problem is reported with its JSON path; on any problem
    /// nothing is built. Whether the changes fit a key set is judged when it is applied. A
    /// sealed secret in a change is an error here: see [`from_json_with`](Self::from_json_with).
    pub fn from_json(bytes: &[u8]) -> Result<Delta, KeysetErrors> {
        Delta::from_json_with(bytes, Unseal::Refuse)
    }

    /// [`from_json`](Self::from_json), opening the sealed secrets of added and replaced keys as
    /// `unseal` says (as [`KeySet::from_json_with`](crate::KeySet::from_json_with) does).
    pub fn from_json_with(bytes: &[u8], unseal: Unseal<'_>) -> Result<Delta, KeysetErrors> {
        let root = JsonPath::root();
        let one = |path: &JsonPath<'_>, message: String| {
            KeysetErrors(vec![KeysetError {
                path: path.to_string(),
                message,
            }])
        };
        if bytes.len() > MAX_DELTA_BYTES {
            return Err(one(
                &root,
                format!(
                    "a delta is at most {MAX_DELTA_BYTES} bytes, this one has {}: push the full set instead",
                    bytes.len()
                ),
            ));
        }
        let v = parse_strict(bytes).map_err(|e| one(&root, format!("invalid JSON: {e}")))?;
        let mut cx = Ctx {
            errors: Vec::new(),
            unseal,
        };
        let built = cx
            .object(&v, &root, TOP_FIELDS)
            .and_then(|top| build(&mut cx, top, &root));
        match built {
            Some(d) if cx.errors.is_empty() => Ok(d),
            _ => {
                if cx.errors.is_empty() {
                    cx.err(&root, "invalid delta");
                }
                // As for a key set: no secret of the document in a message or path.
                super::redact::redact(bytes, &mut cx.errors);
                Err(KeysetErrors(cx.errors))
            }
        }
    }

    /// The state it applies to.
    pub fn base(&self) -> SetState {
        self.base
    }

    /// The state it produces.
    pub fn target(&self) -> SetState {
        self.target
    }

    /// The revision it produces.
    pub fn revision(&self) -> u64 {
        self.target.revision
    }

    /// The new set's `issued_at`, if stated.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.issued_at
    }

    /// How many changes it carries.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether it carries no change (it only moves the revision and times).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn state(cx: &mut Ctx<'_>, v: Option<&Value>, path: &JsonPath<'_>, what: &str) -> Option<SetState> {
    let Some(map) = v else {
        cx.err(path, format!("required field missing ({what})"));
        return None;
    };
    let map = cx.object(map, path, &["revision", "payload_sha256"])?;
    let revision = match map.get("revision") {
        None => {
            cx.err(
                &path.field("revision"),
                "required field missing (an integer >= 1)",
            );
            None
        }
        Some(r) => cx.uint(r, &path.field("revision"), 1, MAX_REVISION),
    };
    let sha = sha_field(cx, map, path);
    Some(SetState {
        revision: revision?,
        payload_sha256: sha?,
    })
}

fn sha_field(cx: &mut Ctx<'_>, map: &Map<String, Value>, path: &JsonPath<'_>) -> Option<[u8; 32]> {
    let p = path.field("payload_sha256");
    match map.get("payload_sha256") {
        None => {
            cx.err(
                &p,
                "required field missing (the SHA-256 of the key set JSON)",
            );
            None
        }
        Some(v) => {
            let s = cx.string(v, &p)?;
            parse_sha(s).map_err(|e| cx.err(&p, e)).ok()
        }
    }
}

fn build(cx: &mut Ctx<'_>, top: &Map<String, Value>, root: &JsonPath<'_>) -> Option<Delta> {
    match top.get("keygate") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => cx.err(
            &root.field("keygate"),
            format!("unsupported key set version {v}; this verifier reads version 1"),
        ),
        None => cx.err(
            &root.field("keygate"),
            "required field missing (the format version, 1)",
        ),
    }
    match top.get("kind") {
        Some(Value::String(k)) if k == "delta" => {}
        Some(v) => cx.err(
            &root.field("kind"),
            format!("expected \"delta\", found {v}"),
        ),
        None => cx.err(&root.field("kind"), "required field missing (\"delta\")"),
    }
    let base = state(
        cx,
        top.get("base"),
        &root.field("base"),
        "the state it applies to",
    );
    let revision = match top.get("revision") {
        None => {
            cx.err(
                &root.field("revision"),
                "required field missing (an integer >= 1)",
            );
            None
        }
        Some(v) => cx.uint(v, &root.field("revision"), 1, MAX_REVISION),
    };
    if let (Some(b), Some(r)) = (base, revision)
        && r <= b.revision
    {
        cx.err(
            &root.field("revision"),
            format!(
                "a delta must move the revision forward: {r} is not above the base revision {}",
                b.revision
            ),
        );
    }
    let sha = sha_field(cx, top, root);
    let (issued_at, expires_at) = cx.validity(top, root);
    let changes = match top.get("changes") {
        None => {
            cx.err(
                &root.field("changes"),
                "required field missing (an array of changes)",
            );
            None
        }
        Some(v) => changes(cx, v, &root.field("changes")),
    };
    Some(Delta {
        base: base?,
        target: SetState {
            revision: revision?,
            payload_sha256: sha?,
        },
        issued_at,
        expires_at,
        changes: changes?,
    })
}

fn changes(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Option<Vec<Change>> {
    let items = cx.array(v, path)?;
    if items.len() > MAX_DELTA_CHANGES {
        cx.err(
            path,
            format!("a delta carries at most {MAX_DELTA_CHANGES} changes, this one has {}: push the full set instead", items.len()),
        );
        return None;
    }
    let mut interner = Interner::default();
    let mut out = Vec::with_capacity(items.len());
    let mut at = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(c) = change(cx, item, &path.index(i), &mut interner) {
            out.push(c);
            at.push(i);
        }
    }
    // Each id at most once.
    let ids: Vec<Option<&str>> = out.iter().map(|c| Some(c.id())).collect();
    let (_, earlier) = super::index::Positions::new(&ids, |id| super::index::id_hash(id));
    for (n, first) in earlier.into_iter().enumerate() {
        if first.is_some() {
            cx.err(
                &path.index(at[n]),
                format!(
                    "key {:?} is changed twice; a delta changes each key at most once",
                    out[n].id()
                ),
            );
        }
    }
    Some(out)
}

fn change(
    cx: &mut Ctx<'_>,
    v: &Value,
    path: &JsonPath<'_>,
    interner: &mut Interner,
) -> Option<Change> {
    let Value::Object(map) = v else {
        cx.err(path, format!("expected an object, found {}", type_name(v)));
        return None;
    };
    let op = match map.get("op") {
        None => {
            cx.err(
                &path.field("op"),
                format!("required field missing (one of {})", OPS.join(", ")),
            );
            return None;
        }
        Some(o) => cx.string(o, &path.field("op"))?,
    };
    match op {
        "add" | "replace" => {
            cx.object(v, path, &["op", "key"])?;
            let kp = path.field("key");
            let Some(k) = map.get("key") else {
                cx.err(&kp, "required field missing (the whole key entry)");
                return None;
            };
            let entry = key::extract(cx, k, &kp).and_then(|f| key::finish(cx, f, &kp, interner))?;
            Some(if op == "add" {
                Change::Add(entry)
            } else {
                Change::Replace(entry)
            })
        }
        "disable" | "revoke" | "remove" => {
            cx.object(v, path, &["op", "id", "api_key_hash"])?;
            let id = match map.get("id") {
                None => {
                    cx.err(&path.field("id"), "required field missing (the key id)");
                    None
                }
                Some(i) => cx.string(i, &path.field("id")).and_then(|s| {
                    check_key_id(s)
                        .map_err(|e| cx.err(&path.field("id"), e))
                        .ok()?;
                    Some(s.to_string())
                }),
            };
            let hint = match map.get("api_key_hash") {
                None => Some(None),
                Some(h) => cx.string(h, &path.field("api_key_hash")).and_then(|s| {
                    ApiKeyDigest::parse(s)
                        .map_err(|e| cx.err(&path.field("api_key_hash"), e))
                        .ok()
                        .map(Some)
                }),
            };
            let (id, hint) = (id?, hint?);
            Some(match op {
                "remove" => Change::Remove { id, hint },
                "disable" => Change::Status {
                    id,
                    status: KeyStatus::Disabled,
                    hint,
                },
                _ => Change::Status {
                    id,
                    status: KeyStatus::Revoked,
                    hint,
                },
            })
        }
        other => {
            let hint = suggest(other, OPS)
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            cx.err(
                &path.field("op"),
                format!(
                    "unknown operation {other:?}{hint}; expected one of {}",
                    OPS.join(", ")
                ),
            );
            None
        }
    }
}
