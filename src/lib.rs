#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apikey;
mod cidr;
pub mod codes;
mod decide;
mod encoding;
pub mod http1;
mod json;
mod jwk;
mod keyset;
mod request;
mod route;
mod seal;
mod sharded;
pub mod sig;
#[cfg(test)]
mod test_util;
mod time;
mod verifier;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use apikey::{ApiKeyDigest, GeneratedKey, SCANNER_REGEX, Shape as ApiKeyShape};
pub use cidr::Cidr;
pub use codes::ErrorCode;
pub use decide::decision::{Decision, Reason, SignatureInfo, WebhookInfo};
pub use decide::{Context, MAX_API_KEY_LEN};
pub use keyset::delta::{Delta, MAX_DELTA_BYTES, MAX_DELTA_CHANGES, SetState};
pub use keyset::envelope::{
    DEFAULT_MAX_PUSH_AGE_SECONDS, Envelope, LoadError, LoadOptions, MAX_JWS_HEADER_BYTES,
    check_audience, check_delta_fresh, check_manifest_audience, check_push_fresh, is_delta,
    is_envelope, is_manifest, load_delta, load_keyset, load_keyset_with, load_manifest,
    looks_like_envelope, sign_envelope,
};
pub use keyset::publisher::{
    PublisherKey, PublisherKeyError, PublisherKeys, PublisherSecret, jwk_thumbprint,
};
pub use keyset::shard::{
    MAX_SHARD_BITS, Manifest, ShardError, ShardId, ShardKind, digest_shard, id_shard,
};
pub use keyset::shard_build::{Sharding, TARGET_KEYS_PER_SHARD, default_bits, shard_keyset};
pub use keyset::{
    BodyMethodOverride, DefaultRoute, DiffError, KeyEntry, KeySet, KeyStatus, Keys, KeysIter,
    KeysetError, KeysetErrors, Lint, MAX_AUDIENCE_LEN, MAX_REVISION, PathCase, Policy, Route,
    RouteSignature, SignaturePolicy, StalePolicy, TrailingSlash, check_audience_name,
    diff as diff_keysets,
};
pub use request::body::{Body, BodyDigests};
pub use request::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_TARGET_BYTES, Request, RequestError};
#[allow(deprecated)]
pub use route::normalize_path;
pub use route::{AmbiguousPath, NormalizedPath, PathPattern};
pub use seal::{MAX_SEAL_KEYS, SealKey, SealKeyError, SealKeys, Unseal};
pub use sharded::{MIN_CACHED_SHARDS, ShardLimits, ShardStats, ShardedVerifier};
pub use sig::digest::{BodyHasher, DigestAlgorithm};
pub use time::{TimeError, UnixTime};
pub use verifier::{DeltaRefused, Rollback, Update, Verifier};

/// API keys: generation, format checks and digests.
pub mod api_key {
    pub use crate::apikey::{
        SCANNER_REGEX, TAIL_LEN, classify, format_key, generate, validate_prefix,
    };
}

/// Encodings shared with other implementations (base64url, base62, CRC-32).
pub mod encoding_util {
    pub use crate::encoding::{b64url_decode, b64url_encode, base62_encode, crc32};
}
