//! The order of checks on a route that accepts Standard Webhooks (`webhook_keys`): such a
//! route accepts only webhook deliveries (an API key or an RFC 9421 signature is not
//! examined there: any key holder could otherwise post events as the provider).
//!
//! 1. the three header fields (`signature_required` when none is there,
//!    `malformed_credentials` when incomplete or malformed);
//! 2. the timestamp against the policy's window (`signature_too_old`, `signature_in_future`);
//! 3. the work bound: at most [`MAX_STREAMS`] body-length verifications;
//! 4. proof: the body streams through every listed key's check, whatever the key's state, so
//!    the work and the answer (`signature_invalid`, no key named) are the same for a forgery
//!    against a revoked key as against an active one (a body not read yet is asked for here,
//!    chunk by chunk, when the mode allows: `flow.rs`);
//! 5. only then the proven keys' state, networks and the route's scopes (the first proven
//!    key that passes them all decides; else the first proven key's refusal, naming it);
//! 6. replay: the pair (`webhook-id`, `webhook-timestamp`) once, whichever keys prove it
//!    (`nonce_replayed`; the claim's key id is empty), recorded only when the delivery is
//!    allowed, here and then in an outer store when the mode asks one.

use std::borrow::Cow;

use crate::keyset::KeyEntry;
use crate::request::body::Body;
use crate::sig::{ClaimKind, NonceClaim};
use crate::time::UnixTime;
use crate::webhook::{self, WebhookCheck, WebhookKey};

use super::decision::{Reason, WebhookInfo};
use super::flow::{Answer, Need};
use super::outcome::Outcome;
use super::{Judge, credentials, routes};

/// The most verifications (each over the whole body) one delivery may cost before proof.
pub(crate) const MAX_STREAMS: usize = 8;

fn refuse(reason: Reason, message: impl Into<Cow<'static, str>>) -> Outcome {
    Outcome::refuse(reason, message)
}

/// Decides a delivery on a route whose rules accept the webhooks of `keys`.
pub(super) async fn decide(j: &Judge<'_>, keys: &[&str]) -> Outcome {
    let (ks, req, now) = (j.ks, j.req, j.cx.now);
    let delivery = match webhook::read(req) {
        Ok(Some(d)) => d,
        Ok(None) => {
            return refuse(
                Reason::SignatureRequired,
                "this route accepts only Standard Webhooks deliveries (webhook-id, webhook-timestamp, webhook-signature)",
            );
        }
        Err(m) => return refuse(Reason::MalformedCredentials, m),
    };
    let skew = i64::from(ks.policy().clock_skew_seconds);
    let max_age = i64::from(ks.policy().signature.max_signature_age_seconds);
    let t = now.as_secs();
    if delivery.timestamp < t.saturating_sub(max_age).saturating_sub(skew) {
        return refuse(
            Reason::SignatureTooOld,
            format!(
                "the delivery's webhook-timestamp {} is older than {max_age} seconds",
                UnixTime::from_secs(delivery.timestamp).described()
            ),
        );
    }
    if delivery.timestamp > t.saturating_add(skew) {
        return refuse(
            Reason::SignatureInFuture,
            format!(
                "the delivery's webhook-timestamp {} is in the future",
                UnixTime::from_secs(delivery.timestamp).described()
            ),
        );
    }
    // Every listed id names a key with `webhook` (checked at load).
    let entries: Vec<&KeyEntry> = keys.iter().filter_map(|id| ks.key_by_id(id)).collect();
    let wkeys: Vec<Option<&WebhookKey>> = entries.iter().map(|k| k.webhook.as_deref()).collect();
    if webhook::streams(&wkeys, &delivery.tokens) > MAX_STREAMS {
        return refuse(
            Reason::MalformedCredentials,
            format!(
                "webhook-signature would take more than {MAX_STREAMS} verifications with the keys this route accepts; send fewer signatures"
            ),
        );
    }
    let pending = || {
        let mut o = refuse(
            Reason::SignatureInvalid,
            "the delivery's body was not supplied, so its signature cannot be checked",
        );
        o.pending_body = true;
        o.pending_webhook_body = true;
        o
    };
    let mut check = WebhookCheck::start(delivery.prefix().as_bytes(), &wkeys, &delivery.tokens);
    let mut proven_before = None;
    match &req.body {
        Body::None => {}
        Body::Bytes(b) => check.update(b),
        Body::Digests(_) => {
            return refuse(
                Reason::SignatureInvalid,
                "a webhook delivery's body is part of what is signed: give it as bytes (or stream it), not as digests",
            );
        }
        Body::Pending if j.mode.ask_body => loop {
            match j.ex.ask(Need::WebhookBody).await {
                Answer::Chunk(b) => check.update(&b),
                Answer::BodyEnd => break,
                Answer::WebhookProven(p) => {
                    proven_before = Some(p);
                    break;
                }
                _ => return pending(),
            }
        },
        Body::Pending => return pending(),
    }
    let verified = match &proven_before {
        // Decided again (`flow::Answer::WebhookProven`): the keys the body proved before, if
        // the set in use still has them, by the same id with the same key.
        Some(before) => entries
            .iter()
            .map(|k| {
                before.iter().any(|(id, key)| {
                    *id == k.id && k.webhook.as_deref().is_some_and(|w| w.same_key(key))
                })
            })
            .collect(),
        None => check.finish(),
    };
    let proven: Vec<&KeyEntry> = verified
        .into_iter()
        .zip(&entries)
        .filter(|(ok, _)| *ok)
        .map(|(_, k)| *k)
        .collect();
    if proven.is_empty() {
        return refuse(
            Reason::SignatureInvalid,
            "no webhook-signature verifies with the keys this route accepts",
        );
    }
    // Proven from here on: precise reasons may name the key.
    let mut refusal = None;
    let mut winner = None;
    for key in &proven {
        let r = credentials::check_state(key, now)
            .and_then(|()| credentials::check_network(key, j.cx.client_ip))
            .and_then(|()| routes::check(ks, &j.routes, key));
        match r {
            Ok(()) => {
                winner = Some(*key);
                break;
            }
            Err(r) => {
                refusal.get_or_insert((r, *key));
            }
        }
    }
    let Some(key) = winner else {
        let (r, k) = refusal.expect("a proven key was refused");
        return refuse(r.reason, r.message).with_key(ks, Some(k));
    };
    // The claim names the delivery alone (its webhook-id and webhook-timestamp), not a key:
    // whichever keys prove it, in whatever order a later set lists them, a resent delivery
    // meets the record of the first (docs/webhooks.md, "Replay").
    let expires_at = UnixTime::from_secs(
        delivery
            .timestamp
            .saturating_add(max_age)
            .saturating_add(skew),
    );
    let claim = NonceClaim {
        key_id: String::new(),
        nonce: format!("{}.{}", delivery.id, delivery.timestamp),
        expires_at,
        kind: ClaimKind::Webhook,
    };
    let replayed = || {
        refuse(
            Reason::NonceReplayed,
            "this delivery (its webhook-id and webhook-timestamp) was already accepted",
        )
        .with_key(ks, Some(key))
    };
    if j.store.seen(&claim.key_id, &claim.nonce, expires_at, now) {
        return replayed();
    }
    if !j.store.record(&claim, now) {
        return replayed();
    }
    if j.mode.ask_claim
        && !matches!(
            j.ex.ask(Need::Claim(claim.clone())).await,
            Answer::Claimed(true)
        )
    {
        return replayed();
    }
    let mut o = Outcome::allow(ks.index_of(key));
    o.webhook = Some(WebhookInfo {
        id: delivery.id,
        timestamp: delivery.timestamp,
        scheme: key
            .webhook
            .as_deref()
            .map_or(webhook::Scheme::V1, WebhookKey::scheme),
    });
    o.claim = Some(claim);
    o.webhook_proven = proven.iter().filter_map(|k| ks.index_of(k)).collect();
    o
}
