//! The signature parts of the key set model: policy knobs and route requirements. (A key's
//! own signing key is a [`VerifierKey`](crate::sig::VerifierKey) on its
//! [`KeyEntry`](super::KeyEntry).) See `docs/signatures.md`.

use crate::sig::{ComponentId, Derived};

/// Key-set wide rules for request signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignaturePolicy {
    /// How long after its `created` time a signature is accepted (plus the clock skew).
    pub max_signature_age_seconds: u32,
    /// Components every signature must cover.
    pub required_components: Vec<ComponentId>,
    /// A signed request with a non-empty body must cover `content-digest`, and the digest
    /// must match the body.
    pub require_content_digest: bool,
    /// Every signature must carry a `nonce` (nonces are checked for replay whenever present).
    pub require_nonce: bool,
    /// When set, a signature's `tag` parameter must equal it.
    pub signature_tag: Option<String>,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        SignaturePolicy {
            max_signature_age_seconds: 300,
            // Built, not parsed: every key set without a policy of its own gets these, and
            // parsing them would run (and in wasm compile, on the first load) the component
            // parser for two constants.
            required_components: vec![
                ComponentId::derived(Derived::Method),
                ComponentId::derived(Derived::TargetUri),
            ],
            require_content_digest: true,
            require_nonce: false,
            signature_tag: None,
        }
    }
}

/// What a route adds to the signature policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSignature {
    /// Requests on this route must be signed, whatever the key says.
    pub require_signature: bool,
    /// Components required in addition to the policy's (never instead of them).
    pub required_components: Vec<ComponentId>,
}
