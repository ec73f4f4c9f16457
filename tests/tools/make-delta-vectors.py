#!/usr/bin/env python3
"""Regenerates tests/vectors/deltas/deltas.json: delta documents against one base key set.

The digests (the base's payload_sha256, the API key digests) are computed here with Python's
hashlib, independently of keygate. Run from the repository root:
    python3 tests/tools/make-delta-vectors.py
"""
import base64
import hashlib
import json


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def digest(key):
    return "sha256:" + b64u(hashlib.sha256(key.encode()).digest())


def sha(text):
    return b64u(hashlib.sha256(text.encode()).digest())


KEYS = {k: f"delta-vector-key-{k}-0001" for k in "abcdefxy"}
ISSUED = "2026-12-01T00:00:00Z"


def entry(k, **extra):
    return {"id": k, "api_key_hash": digest(KEYS[k]), "scopes": ["read"], **extra}


BASE = json.dumps(
    {
        "keygate": 1,
        "revision": 5,
        "issued_at": ISSUED,
        "keys": [entry("a"), entry("b"), entry("c"), entry("d", status="disabled")],
    },
    indent=2,
)
BASE_SHA = sha(BASE)
TARGET_SHA = sha("the publisher's revision 6")


def delta(changes, base_revision=5, base_sha=BASE_SHA, revision=6, **top):
    doc = {
        "keygate": 1,
        "kind": "delta",
        "base": {"revision": base_revision, "payload_sha256": base_sha},
        "revision": revision,
        "payload_sha256": TARGET_SHA,
        "issued_at": "2026-12-01T00:05:00Z",
    }
    doc.update(top)
    doc["changes"] = changes
    return doc


def req(k, expect):
    """A request with key k's API key: `expect` is the key id it is allowed as, or a reason."""
    return {"api_key": KEYS[k], "expect": expect}


BEFORE = [req("a", "a"), req("b", "b"), req("c", "c"), req("d", "key_disabled"), req("x", "unknown_key")]

cases = [
    {
        "name": "revoke one key (with its digest as a hint)",
        "models": "the common case: one key revoked in a large set is a small signed change",
        "delta": delta([{"op": "revoke", "id": "b", "api_key_hash": digest(KEYS["b"])}]),
        "expect": {"revision": 6, "keys": 4},
        "requests": [req("a", "a"), req("b", "key_revoked"), req("c", "c")],
    },
    {
        "name": "disable, and re-enable by replacing",
        "models": "a status change to disabled, and back to active through a whole-entry replace",
        "delta": delta([{"op": "disable", "id": "a"}, {"op": "replace", "key": entry("d")}]),
        "expect": {"revision": 6, "keys": 4},
        "requests": [req("a", "key_disabled"), req("d", "d")],
    },
    {
        "name": "remove the first key: the last one moves into its place and is still found",
        "models": "removal by swap: the index must follow the moved entry, by id and by digest",
        "delta": delta([{"op": "remove", "id": "a"}]),
        "expect": {"revision": 6, "keys": 3},
        "requests": [req("a", "unknown_key"), req("b", "b"), req("c", "c"), req("d", "key_disabled")],
    },
    {
        "name": "add a key",
        "models": "a new key works at once",
        "delta": delta([{"op": "add", "key": entry("x")}]),
        "expect": {"revision": 6, "keys": 5},
        "requests": [req("x", "x"), req("a", "a")],
    },
    {
        "name": "replace a key's API key: the old one is unknown, the new one works",
        "models": "a replace that changes the digest re-indexes it",
        "delta": delta([{"op": "replace", "key": {**entry("c"), "api_key_hash": digest(KEYS["y"])}}]),
        "expect": {"revision": 6, "keys": 4},
        "requests": [req("c", "unknown_key"), req("y", "c")],
    },
    {
        "name": "remove a key and give its API key to a new one",
        "models": "a digest freed by a removal in the same delta may be claimed by an addition",
        "delta": delta([{"op": "add", "key": {**entry("x"), "api_key_hash": digest(KEYS["a"])}}, {"op": "remove", "id": "a"}]),
        "expect": {"revision": 6, "keys": 4},
        "requests": [req("a", "x"), req("b", "b")],
    },
    {
        "name": "two keys swap their API keys",
        "models": "two replaces exchanging digests: each digest is briefly held twice while applying",
        "delta": delta([
            {"op": "replace", "key": {**entry("a"), "api_key_hash": digest(KEYS["b"])}},
            {"op": "replace", "key": {**entry("b"), "api_key_hash": digest(KEYS["a"])}},
        ]),
        "expect": {"revision": 6, "keys": 4},
        "requests": [req("a", "b"), req("b", "a"), req("c", "c")],
    },
    {
        "name": "no changes: the revision and issued_at move, the keys stay",
        "models": "a bump as a delta (a fresh issued_at for a push)",
        "delta": delta([]),
        "twice": True,
        "expect": {"revision": 6, "keys": 4},
        "requests": BEFORE,
    },
    {
        "name": "the right revision with another digest",
        "models": "a fork: two different sets at revision 5; the delta was made against the other one",
        "delta": delta([{"op": "revoke", "id": "b"}], base_sha=sha("another revision 5")),
        "expect": {"error": "delta_base_mismatch"},
        "requests": BEFORE,
    },
    {
        "name": "a delta against an older revision",
        "models": "a verifier that missed a delta gets the next one; it must not patch the wrong set",
        "delta": delta([{"op": "revoke", "id": "b"}], base_revision=4, base_sha=sha("revision 4")),
        "expect": {"error": "delta_base_mismatch"},
        "requests": BEFORE,
    },
    {
        "name": "a delta to a revision not above the one in use",
        "models": "a replayed old delta is a rollback, whatever its base",
        "delta": delta([{"op": "revoke", "id": "b"}], base_revision=3, base_sha=sha("revision 3"), revision=4),
        "expect": {"error": "keyset_rollback"},
        "requests": BEFORE,
    },
    {
        "name": "one key changed twice",
        "models": "an ambiguous delta (which change wins?) is refused as a whole",
        "delta": delta([{"op": "disable", "id": "a"}, {"op": "revoke", "id": "a"}]),
        "expect": {"error": "keyset_invalid", "errors": [{"path": "$.changes[1]", "contains": "changed twice"}]},
        "requests": BEFORE,
    },
    {
        "name": "an added key reuses an API key of the set",
        "models": "duplicate digests would make one API key authenticate as either key",
        "delta": delta([{"op": "add", "key": {**entry("x"), "api_key_hash": digest(KEYS["c"])}}]),
        "expect": {"error": "keyset_invalid", "errors": [{"path": "$.changes[0].key.api_key_hash", "contains": "also used by key \"c\""}]},
        "requests": BEFORE,
    },
    {
        "name": "two additions with one API key",
        "models": "duplicate digests inside one delta",
        "delta": delta([{"op": "add", "key": entry("x")}, {"op": "add", "key": {**entry("y"), "api_key_hash": digest(KEYS["x"])}}]),
        "expect": {"error": "keyset_invalid", "errors": [{"path": "$.changes[1].key.api_key_hash", "contains": "by this delta"}]},
        "requests": BEFORE,
    },
    {
        "name": "adding an id the set has, revoking one it lacks, a wrong hint: every fault reported",
        "models": "a delta made against another set than it names is refused with every path",
        "delta": delta([
            {"op": "add", "key": entry("a")},
            {"op": "revoke", "id": "nobody"},
            {"op": "disable", "id": "c", "api_key_hash": digest(KEYS["b"])},
        ]),
        "expect": {"error": "keyset_invalid", "errors": [
            {"path": "$.changes[0].key.id", "contains": "already exists"},
            {"path": "$.changes[1]", "contains": "no key \"nobody\""},
            {"path": "$.changes[2]", "contains": "does not match"},
        ]},
        "requests": BEFORE,
    },
    {
        "name": "malformed changes and header: every fault with its path",
        "models": "precise errors for hand-written deltas",
        "delta": {
            "keygate": 1,
            "kind": "delta",
            "base": {"revision": 5},
            "revision": 5,
            "payload_sha256": "not-a-digest",
            "extra": True,
            "changes": [
                {"op": "rename", "id": "a"},
                {"op": "add", "key": {"id": "bad id", "api_key_hash": "md5:x"}},
                {"op": "revoke"},
            ],
        },
        "expect": {"error": "keyset_invalid", "errors": [
            {"path": "$.extra", "contains": "unknown field"},
            {"path": "$.base.payload_sha256", "contains": "required field missing"},
            {"path": "$.payload_sha256", "contains": "base64url"},
            {"path": "$.changes[0].op", "contains": "unknown operation \"rename\""},
            {"path": "$.changes[1].key.id", "contains": ""},
            {"path": "$.changes[1].key.api_key_hash", "contains": ""},
            {"path": "$.changes[2].id", "contains": "required field missing"},
        ]},
        "requests": BEFORE,
    },
]

doc = {
    "description": "Delta documents against `base` (exact text; base_payload_sha256 is its SHA-256, "
    "computed by Python's hashlib). Each case applies `delta` to a verifier holding the base and "
    "expects a revision and key count, or an error with every listed path; `requests` are then "
    "decided (an API key sent as a bearer token: `expect` is the key id it is allowed as, or the "
    "refusal reason). A refused delta must leave the base in use. `twice`: applying it again is a "
    "no-op. Generated by tests/tools/make-delta-vectors.py.",
    "now": "2026-12-01T00:10:00Z",
    "base": BASE,
    "base_payload_sha256": BASE_SHA,
    "cases": cases,
}
with open("tests/vectors/deltas/deltas.json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
