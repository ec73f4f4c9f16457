//! The `shard` target: sharded mode's signed manifest (`Manifest::from_json`, `load_manifest`,
//! `is_manifest`) and its content-named shards (`ShardedVerifier::load_shard`).
//!
//! Input: one selector byte (bits 0-1: the base set, cut by `shard_keyset`; bits 2-3: the
//! table's bits, 0 to 2; bit 4: manifest or shard), then
//! - manifest: a manifest document;
//! - shard: a byte naming the shard (`d`/`i` and its number), a byte choosing which genuine
//!   shards are held first, then the shard's bytes, which the harness names in the manifest
//!   it signs (so the fuzzer reaches the content checks behind the digest).
//!
//! Properties, beyond "never panics":
//! - a manifest is accepted bare exactly when signed into an envelope and loaded with the
//!   publisher key; a refused one reports errors with JSON paths from `$` and shows no secret;
//!   an accepted one is routed as a manifest (`is_manifest`, never `is_delta`), names a
//!   digest for each of its `2^bits` shards of each kind and nothing beyond, and answers a
//!   request by deciding or naming shards of its table;
//! - a shard is accepted only when it hashes to its manifest entry, is a valid key set and
//!   every key belongs there (its digest's or id's first bits); then each of its keys is
//!   held as written; a shard that does all this and agrees with the keys held is accepted;
//! - a refused shard changes nothing (keys, state, shards held), its error names the shard
//!   and shows no secret; the same bytes under another name, or under the genuine manifest,
//!   are refused (unless they are that shard);
//! - the index finds every key held by id and digest after each load.

use std::sync::LazyLock;

use keygate::encoding_util::b64url_encode;
use keygate::{
    Context, KeySet, LoadError, LoadOptions, Manifest, Request, ShardId, ShardKind, ShardLimits,
    ShardedVerifier, Sharding, Unseal, digest_shard, id_shard, is_delta, is_manifest,
    load_manifest, shard_keyset, sign_envelope,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::deltas::{BASES, index_holds, key_line, keys_of};
use crate::keysets::{PINNED, PUBLISHER, no_secret_shown};

/// Each base set cut into 0, 1 and 2 bits.
static CUTS: LazyLock<Vec<Vec<Sharding>>> = LazyLock::new(|| {
    BASES
        .iter()
        .map(|b| {
            (0..3)
                .map(|bits| shard_keyset(b.text.as_bytes(), Some(bits)).expect("fixture cuts"))
                .collect()
        })
        .collect()
});

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cut = &CUTS[usize::from(sel & 3) % CUTS.len()][usize::from(sel >> 2 & 3) % 3];
    if sel & 0x10 == 0 {
        manifest(rest);
    } else {
        shard(cut, rest);
    }
}

fn manifest(doc: &[u8]) {
    let bare = Manifest::from_json(doc, Unseal::Refuse);
    let envelope = sign_envelope(doc, &PUBLISHER).to_string();
    let opts = LoadOptions::new().publisher_keys(Some(&PINNED));
    let signed = load_manifest(envelope.as_bytes(), &opts);
    match (&bare, &signed) {
        (Ok(a), Ok((b, payload))) => {
            assert_eq!(a.revision(), b.revision());
            assert_eq!(a.payload_sha256(), b.payload_sha256());
            assert_eq!(&payload[..], doc);
        }
        (Err(a), Err(LoadError::Keyset(b))) => assert_eq!(a, b),
        _ => panic!(
            "bare and enveloped manifests disagree: {:?} vs {:?}",
            bare.as_ref().map(Manifest::revision),
            signed.as_ref().map(|m| m.0.revision())
        ),
    }
    let m = match bare {
        Err(e) => {
            assert!(!e.errors().is_empty());
            for err in e.errors() {
                assert!(err.path.starts_with('$'), "{err}");
                assert!(!err.message.is_empty(), "{err}");
            }
            no_secret_shown(doc, &format!("{e} {e:?}"));
            return;
        }
        Ok(m) => m,
    };
    assert!(
        is_manifest(doc),
        "an accepted manifest is not routed as one"
    );
    assert!(
        is_manifest(envelope.as_bytes()),
        "its envelope is not routed as a manifest"
    );
    assert!(
        !is_delta(doc) && !is_delta(envelope.as_bytes()),
        "a manifest routed as a delta"
    );
    let v: Value = serde_json::from_slice(doc).expect("an accepted manifest is JSON");
    let bits = m.bits();
    assert_eq!(v["shards"]["bits"].as_u64(), Some(u64::from(bits)));
    let n = 1u32 << bits;
    assert_eq!(m.shards().count(), 2 * n as usize);
    for (s, sha) in m.shards() {
        assert!(s.index < n);
        assert_eq!(ShardId::parse(&s.name()), Some(s));
        assert_eq!(m.shard_sha256(s), Some(sha));
        let kind = if s.kind == ShardKind::Digest {
            "d"
        } else {
            "i"
        };
        assert_eq!(
            v["shards"][kind][s.index as usize].as_str(),
            Some(b64url_encode(sha).as_str()),
            "shard {} digest is not the document's",
            s.name()
        );
    }
    for kind in [ShardKind::Digest, ShardKind::Id] {
        assert!(m.shard_sha256(ShardId { kind, index: n }).is_none());
    }
    let mut sv = ShardedVerifier::new(m, ShardLimits::default());
    index_holds(sv.verifier().keyset());
    let req = Request::new("GET", "https://api.example.com/api/x")
        .expect("request")
        .with_header("authorization", "Bearer delta-vector-key-a-0001");
    match sv.decide(&req, &Context::new(crate::now())) {
        Ok(d) => crate::check_decision(&d, &["delta-vector-key-a-0001"]),
        Err(missing) => {
            assert!(!missing.is_empty());
            for s in missing {
                assert!(
                    sv.manifest().shard_sha256(s).is_some(),
                    "needs {} beyond the table",
                    s.name()
                );
            }
        }
    }
}

/// Whether a key set could be shard `s` of a `bits` table: every key belongs there.
fn belongs(set: &KeySet, s: ShardId, bits: u8) -> bool {
    set.keys().iter().all(|k| match (s.kind, &k.api_key_hash) {
        (ShardKind::Digest, Some(d)) => digest_shard(d, bits) == s,
        (ShardKind::Digest, None) => false,
        (ShardKind::Id, _) => id_shard(&k.id, bits) == s,
    })
}

fn shard(cut: &Sharding, rest: &[u8]) {
    let [which, preload, bytes @ ..] = rest else {
        return;
    };
    let bits = cut.bits;
    let n = 1u32 << bits;
    let s = ShardId {
        kind: if which & 1 == 0 {
            ShardKind::Digest
        } else {
            ShardKind::Id
        },
        index: u32::from(which >> 1) % n,
    };
    // The manifest, with this shard named by the digest of the fuzzer's bytes.
    let mut doc: Value = serde_json::from_slice(&cut.manifest).expect("cut manifest");
    let kind = if s.kind == ShardKind::Digest {
        "d"
    } else {
        "i"
    };
    doc["shards"][kind][s.index as usize] = Value::String(b64url_encode(&Sha256::digest(bytes)));
    let envelope = sign_envelope(doc.to_string().as_bytes(), &PUBLISHER).to_string();
    let opts = LoadOptions::new().publisher_keys(Some(&PINNED));
    let (m, _) = load_manifest(envelope.as_bytes(), &opts).expect("the harness's manifest loads");
    let genuine = Manifest::from_json(&cut.manifest, Unseal::Refuse).expect("cut manifest");
    let mut sv = ShardedVerifier::new(m, ShardLimits::default());
    for (k, (name, _, b)) in cut.shards.iter().enumerate() {
        let id = ShardId::parse(name).expect("shard name");
        if id != s && preload >> (k % 8) & 1 == 1 {
            sv.load_shard(id, b, Unseal::Refuse)
                .expect("a genuine shard loads");
        }
    }
    let before = (
        keys_of(sv.verifier().keyset()),
        sv.verifier().state(),
        sv.stats().held,
    );
    let expect = KeySet::from_json(bytes);
    let r = sv.load_shard(s, bytes, Unseal::Refuse);
    match &r {
        Ok(()) => {
            let set = expect.as_ref().unwrap_or_else(|e| {
                panic!(
                    "shard {} accepted, but it is not a valid key set: {e}",
                    s.name()
                )
            });
            assert!(
                belongs(set, s, bits),
                "shard {} accepted with a key of another shard",
                s.name()
            );
            let ks = sv.verifier().keyset();
            for k in set.keys().iter() {
                let held = ks
                    .key_by_id(&k.id)
                    .unwrap_or_else(|| panic!("key {:?} of an accepted shard is not held", k.id));
                assert_eq!(
                    key_line(held),
                    key_line(k),
                    "key {:?} held otherwise than written",
                    k.id
                );
            }
            assert_eq!(sv.stats().held, before.2 + 1);
        }
        Err(e) => {
            assert_eq!(e.code(), "shard_invalid");
            let shown = format!("{e} {e:?}");
            assert!(
                shown.contains(&s.name()),
                "the error does not name the shard: {shown}"
            );
            no_secret_shown(bytes, &shown);
            assert_eq!(
                (
                    keys_of(sv.verifier().keyset()),
                    sv.verifier().state(),
                    sv.stats().held
                ),
                before,
                "a refused shard changed the set"
            );
            if let Ok(set) = &expect
                && belongs(set, s, bits)
            {
                // Refused only for disagreeing with a key held: the same id written
                // otherwise, or the same digest under another id.
                let ks = sv.verifier().keyset();
                let clash = set.keys().iter().any(|k| {
                    ks.key_by_id(&k.id)
                        .is_some_and(|h| key_line(h) != key_line(k))
                        || k.api_key_hash
                            .as_ref()
                            .and_then(|d| ks.key_by_digest(d))
                            .is_some_and(|h| h.id != k.id)
                });
                assert!(
                    clash,
                    "shard {} refused though it belongs and agrees: {e}",
                    s.name()
                );
            }
        }
    }
    index_holds(sv.verifier().keyset());
    // Under another name of the table, and under the genuine manifest: refused, unless they
    // are the very shard named so.
    let other = ShardId {
        kind: if s.kind == ShardKind::Digest {
            ShardKind::Id
        } else {
            ShardKind::Digest
        },
        index: s.index,
    };
    let mut fresh = ShardedVerifier::new(genuine, ShardLimits::default());
    for name in [other, s] {
        let genuine_bytes = cut
            .shards
            .iter()
            .find(|(n, _, _)| *n == name.name())
            .map(|(_, _, b)| b.as_slice());
        let r = fresh.load_shard(name, bytes, Unseal::Refuse);
        assert_eq!(
            r.is_ok(),
            genuine_bytes == Some(bytes),
            "shard {} loaded with bytes that are not its own",
            name.name()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genuine_shards_and_manifests_run() {
        for (b, cuts) in CUTS.iter().enumerate() {
            for (bits, cut) in cuts.iter().enumerate() {
                let sel = b as u8 | (bits as u8) << 2;
                let mut input = vec![sel];
                input.extend_from_slice(&cut.manifest);
                run(&input);
                for (k, (name, _, bytes)) in cut.shards.iter().enumerate() {
                    let id = ShardId::parse(name).unwrap();
                    let which = (id.index as u8) << 1 | u8::from(id.kind == ShardKind::Id);
                    let mut input = vec![sel | 0x10, which, k as u8];
                    input.extend_from_slice(bytes);
                    run(&input);
                }
            }
        }
    }
}
