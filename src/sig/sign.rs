//! Signing requests, so that clients, the demo and the tests produce exactly what the
//! verifier checks.
//!
//! The defaults of signer and verifier agree: a signature covers `@method` and
//! `@target-uri`, plus `content-digest` when the request has a body (a `Content-Digest` is
//! added when missing), and the method override fields the request carries
//! (`X-HTTP-Method-Override` and its kin: the verifier wants them covered with `@method`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sfv::{BareItem, InnerList, Item, KeyRef, Parameters, StringRef};

use super::alg::SignerKey;
use super::base::{params_value, signature_base};
use super::components::ComponentId;
use super::derive::FieldCache;
use super::digest::{DigestAlgorithm, content_digest};
use crate::request::Request;
use crate::request::body::Body;
use crate::time::UnixTime;

/// Why a request could not be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignError(pub String);

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SignError {}

/// The header fields a signature adds to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// A `Content-Digest` value, when the request had a body and no such field.
    pub content_digest: Option<String>,
    /// The `Signature-Input` member, e.g. `sig1=("@method" "@target-uri");created=...`.
    pub signature_input: String,
    /// The `Signature` member, e.g. `sig1=:...:`.
    pub signature: String,
    /// The signature base that was signed (for debugging and conformance tests).
    pub base: String,
}

impl SignedHeaders {
    /// The fields to add, in order, as (name, value).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(3);
        if let Some(cd) = &self.content_digest {
            out.push(("Content-Digest", cd.clone()));
        }
        out.push(("Signature-Input", self.signature_input.clone()));
        out.push(("Signature", self.signature.clone()));
        out
    }

    /// Adds the fields to `req`.
    pub fn apply(&self, req: &mut Request) {
        for (n, v) in self.fields() {
            req.push_header(n, &v);
        }
    }
}

/// Signs requests with one key (RFC 9421 §3.1).
///
/// # Example
/// ```
/// use keygate::{Request, UnixTime};
/// use keygate::sig::{Algorithm, Signer, SignerKey};
///
/// let key = SignerKey::generate(Algorithm::Ed25519).unwrap();
/// let mut req = Request::new("POST", "https://api.example.com/v1/orders").unwrap()
///     .with_body(b"{}".to_vec());
/// let signed = Signer::new(key, "ci-pipeline", UnixTime::from_secs(1_764_374_400))
///     .sign(&req)
///     .unwrap();
/// signed.apply(&mut req);
/// assert!(signed.signature_input.starts_with(
///     "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=1764374400;keyid=\"ci-pipeline\""));
/// ```
#[derive(Clone, Debug)]
pub struct Signer {
    key: SignerKey,
    keyid: String,
    created: UnixTime,
    label: String,
    components: Option<Vec<ComponentId>>,
    expires: Option<UnixTime>,
    nonce: Option<String>,
    tag: Option<String>,
    alg_param: bool,
    digest: DigestAlgorithm,
}

impl Signer {
    /// A signer for `key`, named `keyid` in the key set, creating signatures at `created`.
    pub fn new(key: SignerKey, keyid: &str, created: UnixTime) -> Self {
        Signer {
            key,
            keyid: keyid.to_string(),
            created,
            label: "sig1".to_string(),
            components: None,
            expires: None,
            nonce: None,
            tag: None,
            alg_param: true,
            digest: DigestAlgorithm::Sha256,
        }
    }

    /// The signature's label (default `sig1`).
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_string();
        self
    }

    /// The covered components, in order (default: see the module documentation).
    pub fn components(mut self, components: Vec<ComponentId>) -> Self {
        self.components = Some(components);
        self
    }

    /// An `expires` parameter.
    pub fn expires(mut self, at: UnixTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// A `nonce` parameter.
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = Some(nonce.to_string());
        self
    }

    /// A fresh random `nonce` (128 bits, base64url).
    ///
    /// # Errors
    /// When the system has no secure random source.
    pub fn random_nonce(self) -> Result<Self, SignError> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| SignError(format!("no secure random source: {e}")))?;
        Ok(self.nonce(&crate::encoding::b64url_encode(&b)))
    }

    /// A `tag` parameter.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = Some(tag.to_string());
        self
    }

    /// Whether to state the algorithm in an `alg` parameter (default true).
    pub fn alg_param(mut self, yes: bool) -> Self {
        self.alg_param = yes;
        self
    }

    /// The algorithm of an added `Content-Digest` (default `sha-256`).
    pub fn digest_algorithm(mut self, alg: DigestAlgorithm) -> Self {
        self.digest = alg;
        self
    }

    fn params(&self) -> Result<Parameters, SignError> {
        let s = |name: &str, v: &str| {
            StringRef::from_str(v)
                .map(|s| BareItem::String(s.to_owned()))
                .map_err(|_| SignError(format!("{name} {v:?} must be printable ASCII")))
        };
        let mut p = Parameters::new();
        let mut put = |k: &'static str, v: BareItem| {
            p.insert(KeyRef::constant(k).to_owned(), v);
        };
        let int = |t: UnixTime| {
            sfv::Integer::try_from(t.as_secs())
                .map(BareItem::Integer)
                .map_err(|_| SignError(format!("time {} is out of range", t.described())))
        };
        put("created", int(self.created)?);
        if let Some(e) = self.expires {
            put("expires", int(e)?);
        }
        put("keyid", s("keyid", &self.keyid)?);
        if self.alg_param {
            put("alg", s("alg", self.key.algorithm().as_str())?);
        }
        if let Some(n) = &self.nonce {
            put("nonce", s("nonce", n)?);
        }
        if let Some(t) = &self.tag {
            put("tag", s("tag", t)?);
        }
        Ok(p)
    }

    /// Signs `req` and returns the fields to add. The request is not changed.
    ///
    /// # Errors
    /// When the label, key id, nonce or tag cannot be written in a structured field, the
    /// label is already used in the request, or a covered component is not in the request.
    pub fn sign(&self, req: &Request) -> Result<SignedHeaders, SignError> {
        KeyRef::from_str(&self.label).map_err(|_| {
            SignError(format!(
                "label {:?} must start with a lower-case letter or '*' and use only a-z 0-9 _ - . *",
                self.label
            ))
        })?;
        let used = super::parse::field(req, "signature-input", "Signature-Input")
            .map_err(SignError)?
            .is_some_and(|d| d.contains_key(self.label.as_str()));
        if used {
            return Err(SignError(format!(
                "the request already has a signature labelled {:?}",
                self.label
            )));
        }
        let has_body = !req.body.is_empty();
        let mut work = req.clone();
        let content_digest = if has_body && req.header_values("content-digest").next().is_none() {
            let bytes = match &req.body {
                Body::Bytes(b) => b.as_slice(),
                _ => {
                    return Err(SignError(
                        "signing needs the body's bytes to add Content-Digest".into(),
                    ));
                }
            };
            let v = content_digest(bytes, self.digest);
            work.push_header("Content-Digest", &v);
            Some(v)
        } else {
            None
        };
        let components = match &self.components {
            Some(c) => c.clone(),
            None => {
                let mut c = vec![component("@method"), component("@target-uri")];
                if has_body {
                    c.push(component("content-digest"));
                }
                for name in crate::request::METHOD_OVERRIDE_FIELDS {
                    if req.has_field(name) {
                        c.push(component(name));
                    }
                }
                c
            }
        };
        let items: Vec<Item> = components.iter().map(|c| c.item.clone()).collect();
        let inner = InnerList::with_params(items, self.params()?);
        let value = params_value(&inner);
        let base = signature_base(&components, &value, &work, &FieldCache::default())
            .map_err(SignError)?;
        let sig = self.key.sign(base.as_bytes());
        Ok(SignedHeaders {
            content_digest,
            signature_input: format!("{}={value}", self.label),
            signature: format!("{}=:{}:", self.label, STANDARD.encode(sig)),
            base,
        })
    }
}

fn component(text: &str) -> ComponentId {
    match ComponentId::parse(text) {
        Ok(c) => c,
        Err(e) => unreachable!("built-in component {text}: {e}"),
    }
}
