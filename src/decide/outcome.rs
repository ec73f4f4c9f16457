//! What the order of checks produces: an [`Outcome`] of indices into the key set and borrowed
//! facts, cheap to make. The native API turns it into a [`Decision`]; the wasm facade writes it
//! to JS as numbers (`src/wasm/io.rs`), so an allowed request allocates no strings.

use std::borrow::Cow;

use super::decision::{Decision, Reason, SignatureInfo, WebhookInfo};
use crate::keyset::{KeyEntry, KeySet};
use crate::request::Request;
use crate::sig::NonceClaim;

/// The request path as judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum JudgedPath {
    /// The path itself was refused (or the request was malformed).
    #[default]
    None,
    /// The canonical path is the path as sent.
    AsSent,
    /// The canonical path differs from the path as sent.
    Canonical(String),
}

/// One decision, before it is given to a caller.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// `None` when allowed.
    pub(crate) reason: Option<Reason>,
    pub(crate) message: Cow<'static, str>,
    /// The proven key: its index in [`KeySet::keys`].
    pub(crate) key: Option<u32>,
    /// The route reported: its index in [`KeySet::routes`].
    pub(crate) route: Option<u32>,
    pub(crate) path: JudgedPath,
    /// The `Accept-Signature` value of a refusal that carries one.
    pub(crate) accept_signature: Option<String>,
    /// The signature that proved an allowed request.
    pub(crate) signature: Option<SignatureInfo>,
    /// The nonce recorded for an allowed request.
    pub(crate) claim: Option<NonceClaim>,
    /// Decided without a pending body's digests (`Verifier::decide_deferred` stops here).
    pub(crate) pending_body: bool,
    /// The delivery an allowed webhook decision is about.
    pub(crate) webhook: Option<WebhookInfo>,
    /// With `pending_body`: what is pending is a webhook delivery's body bytes.
    pub(crate) pending_webhook_body: bool,
    /// An allowed webhook delivery: every key its body proved (indices in [`KeySet::keys`]),
    /// carried over when the decision is made again under a newer set.
    pub(crate) webhook_proven: Vec<u32>,
}

impl Outcome {
    pub(crate) fn allow(key: Option<u32>) -> Outcome {
        Outcome {
            reason: None,
            message: Cow::Borrowed(""),
            key,
            route: None,
            path: JudgedPath::None,
            accept_signature: None,
            signature: None,
            claim: None,
            pending_body: false,
            webhook: None,
            pending_webhook_body: false,
            webhook_proven: Vec::new(),
        }
    }

    pub(crate) fn refuse(reason: Reason, message: impl Into<Cow<'static, str>>) -> Outcome {
        Outcome {
            reason: Some(reason),
            message: message.into(),
            ..Outcome::allow(None)
        }
    }

    pub(crate) fn with_key(mut self, ks: &KeySet, key: Option<&KeyEntry>) -> Outcome {
        if let Some(k) = key {
            self.key = ks.index_of(k);
        }
        self
    }

    /// The decision the native API returns.
    pub(crate) fn into_decision(self, ks: &KeySet, req: &Request) -> Decision {
        let key = self.key.and_then(|i| ks.keys().get(i as usize));
        let mut d = match self.reason {
            None => {
                let mut d = Decision::allow(
                    key.map(|k| k.id.clone()),
                    key.map(|k| k.scopes.to_vec()).unwrap_or_default(),
                    None,
                );
                if let Some(k) = key {
                    d.name = k.name.clone();
                    d.meta = k.meta.as_deref().and_then(|m| serde_json::from_str(m).ok());
                    d.expires_at = k.expires_at;
                }
                d.signature = self.signature;
                d.nonce = self.claim;
                d.webhook = self.webhook;
                d
            }
            Some(reason) => {
                let mut d = Decision::refuse(reason, self.message.into_owned());
                if let Some(k) = key {
                    d = d.with_key(&k.id);
                }
                if let Some(a) = self.accept_signature {
                    d = d.with_header("Accept-Signature", a);
                }
                d.pending_body = self.pending_body;
                d.pending_webhook_body = self.pending_webhook_body;
                d
            }
        };
        d.route = self
            .route
            .and_then(|i| ks.routes().get(i as usize))
            .map(|r| r.path.as_str().to_string());
        d.path = match self.path {
            JudgedPath::None => None,
            JudgedPath::AsSent => Some(req.path().to_string()),
            JudgedPath::Canonical(p) => Some(p),
        };
        d
    }
}
