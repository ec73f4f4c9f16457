//! HTTP Message Signatures (RFC 9421) over requests, with `Content-Digest` (RFC 9530): the
//! protocol alone. This module knows nothing of key sets, policies or reasons; the decision
//! (`src/decide/`) applies the key set's policy on top of it. It verifies and produces
//! `hmac-sha256` and `ed25519` signatures ([`Signer`]). The pieces, in the order a request
//! flows through them:
//!
//! - `parse`: `Signature-Input` / `Signature` as Structured Field dictionaries (`sfv`), and
//!   `canonical`: the same fields in the shape signers write, read without building them;
//! - `components`, `derive`, `query`: component identifiers and their values;
//! - `base`: the signature base, byte for byte;
//! - `alg`: the algorithms and their keys;
//! - `digest`: `Content-Digest` against the body (or its streamed digests, see
//!   [`BodyHasher`](crate::BodyHasher));
//! - `replay`: the nonce store.
//!
//! See `docs/signatures.md` for the policy knobs and the order of checks.

mod alg;
pub(crate) mod base;
mod canonical;
mod components;
pub(crate) mod derive;
pub(crate) mod digest;
pub(crate) mod ed25519;
mod keytext;
pub(crate) mod parse;
mod query;
mod replay;
mod sign;

pub use alg::{Algorithm, HmacSecret, SignerKey, VerifierKey};
pub use components::ComponentId;
pub(crate) use components::Derived;
pub use digest::content_digest;
pub use parse::{MAX_COMPONENTS, MAX_SIGNATURES, SignatureParams};
pub use replay::{ClaimKind, MemoryNonceStore, NonceClaim, NonceStore};
pub use sign::{SignError, SignedHeaders, Signer};

pub(crate) use parse::{Parsed, Presented, presented};

use crate::request::Request;

/// The signature base (RFC 9421 §2.5) of the signature labelled `label` in `req`, as the
/// verifier rebuilds it. Useful to debug a signer that disagrees with keygate.
///
/// # Errors
/// When the request carries no such signature, its fields are malformed, or a covered
/// component cannot be derived from the request.
pub fn signature_base(req: &Request, label: &str) -> Result<String, String> {
    let all = presented(req)?.ok_or("the request has no Signature-Input")?;
    let p = all
        .into_iter()
        .find(|p| p.label == label)
        .ok_or_else(|| format!("no signature labelled {label:?}"))?;
    let parsed = p.parsed?;
    base::signature_base(
        &parsed.components,
        &parsed.params_text,
        req,
        &derive::FieldCache::default(),
    )
}

/// The parameters of the signature labelled `label` in `req`.
///
/// # Errors
/// As for [`signature_base`].
pub fn signature_params(req: &Request, label: &str) -> Result<SignatureParams, String> {
    let all = presented(req)?.ok_or("the request has no Signature-Input")?;
    all.into_iter()
        .find(|p| p.label == label)
        .ok_or_else(|| format!("no signature labelled {label:?}"))?
        .parsed
        .map(|p| p.params)
}
