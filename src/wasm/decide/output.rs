//! Writing to the output area: a finished decision, what a paused one waits for, an error,
//! and a key's record as JSON (for the JS key table).

use crate::decide::flow::Need;
use crate::decide::outcome::{JudgedPath, Outcome};
use crate::keyset::KeySet;
use crate::request::Request;
use crate::wasm::io::{self, Out};
use crate::{Body, DigestAlgorithm, ErrorCode};

pub(super) fn error(code: ErrorCode, message: &str) -> u32 {
    let mut out = Out::new(io::ERROR);
    out.set(1, code.index());
    out.field(io::FLAG_MESSAGE, message);
    out.finish()
}

/// A key as JSON, for the JS key table (`keyRecord` in decision.js): `{"id", "name",
/// "expires", "meta", "scopes"}`, `expires` in seconds since the epoch as `to_rfc3339` writes
/// them (the JS glue writes the text), `meta` the compact object text the set holds. Written
/// by hand, without serde's `Value` or a formatted time: a first decision compiles only this.
pub(super) fn key_json(ks: &KeySet, i: u32) -> Option<String> {
    let k = ks.keys().get(i as usize)?;
    let meta = k.meta.as_deref().unwrap_or("null");
    let mut s = String::with_capacity(64 + k.id.len() + meta.len());
    s.push_str("{\"id\":");
    json_str(&mut s, &k.id);
    s.push_str(",\"name\":");
    match &k.name {
        Some(n) => json_str(&mut s, n),
        None => s.push_str("null"),
    }
    s.push_str(",\"expires\":");
    match k.expires_at {
        Some(t) => json_int(&mut s, t.rfc3339_secs()),
        None => s.push_str("null"),
    }
    s.push_str(",\"meta\":");
    s.push_str(meta);
    s.push_str(",\"scopes\":[");
    for (j, scope) in k.scopes.iter().enumerate() {
        if j > 0 {
            s.push(',');
        }
        json_str(&mut s, scope);
    }
    s.push_str("]}");
    Some(s)
}

/// Appends `v` as a JSON string (RFC 8259 section 7: quote, reverse solidus and controls escaped).
fn json_str(s: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.push('"');
    let mut from = 0;
    for (at, b) in v.bytes().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        s.push_str(&v[from..at]);
        from = at + 1;
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            _ => {
                s.push_str("\\u00");
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    s.push_str(&v[from..]);
    s.push('"');
}

/// Appends `n` in decimal.
fn json_int(s: &mut String, n: i64) {
    if n < 0 {
        s.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(char::from(d));
    }
}

/// Writes a finished decision, decided under `ks` (whose serial is `serial`).
pub(super) fn write_outcome(
    ks: &KeySet,
    serial: u32,
    req: &Request,
    o: Outcome,
    set_changed: bool,
) -> u32 {
    let mut out = Out::new(if o.reason.is_none() {
        io::ALLOWED
    } else {
        io::REFUSED
    });
    out.set(18, serial);
    if let Some(r) = o.reason {
        out.set(1, r.index());
    }
    out.set(2, o.key.map_or(0, |k| k + 1));
    out.set(3, o.route.map_or(0, |r| r + 1));
    if o.reason.is_some() {
        out.field(io::FLAG_MESSAGE, &o.message);
    }
    if let Some(a) = &o.accept_signature {
        out.field(io::FLAG_ACCEPT_SIGNATURE, a);
        if matches!(req.body, Body::Pending) && ks.policy().signature.require_content_digest {
            out.flag(io::FLAG_BODY_ASSUMED);
        }
    }
    match &o.path {
        JudgedPath::None => {}
        JudgedPath::AsSent => match req.url_path {
            Some((a, b)) => {
                out.flag(io::FLAG_PATH_AS_SENT);
                out.set(8, a);
                out.set(9, b);
            }
            None => out.field(io::FLAG_PATH_TEXT, req.path()),
        },
        JudgedPath::Canonical(p) => out.field(io::FLAG_PATH_TEXT, p),
    }
    if set_changed {
        if let Some(k) = o.key.and_then(|k| key_json(ks, k)) {
            out.field(io::FLAG_KEY_TEXT, &k);
        }
        if let Some(r) = o.route.and_then(|r| ks.routes().get(r as usize)) {
            out.field(io::FLAG_ROUTE_TEXT, r.path.as_str());
        }
    }
    if let Some(w) = &o.webhook {
        out.set(1, w.scheme.index());
        out.field(io::FLAG_WEBHOOK, &w.id);
        out.float(0, w.timestamp as f64);
    }
    if let Some(s) = &o.signature {
        out.field(io::FLAG_SIGNATURE, &s.label);
        let p = &s.params;
        for (flag, v) in [
            (io::FLAG_ALG, &p.alg),
            (io::FLAG_NONCE, &p.nonce),
            (io::FLAG_TAG, &p.tag),
        ] {
            if let Some(v) = v {
                out.field(flag, v);
            }
        }
        out.float(0, p.created.unwrap_or_default() as f64);
        if let Some(e) = p.expires {
            out.flag(io::FLAG_EXPIRES);
            out.float(1, e as f64);
        }
        for c in &s.components {
            out.field(0, c);
        }
    }
    out.finish()
}

/// Writes what a paused decision waits for.
pub(super) fn write_need(need: Need, handle: f64) -> u32 {
    let kind = match &need {
        Need::Ed25519 { .. } => io::NEED_ED25519,
        Need::Body(_) => io::NEED_BODY,
        Need::Claim(_) => io::NEED_CLAIM,
        Need::WebhookBody => io::NEED_WEBHOOK_BODY,
    };
    let mut out = Out::new(kind);
    out.float(3, handle);
    match need {
        Need::Ed25519 { key, pk, sig, msg } => {
            out.set(2, key.map_or(0, |k| k + 1));
            out.bytes(&pk);
            out.bytes(&sig);
            out.bytes(&msg);
        }
        Need::Body(algs) => {
            for a in algs {
                out.flag(match a {
                    DigestAlgorithm::Sha256 => io::FLAG_SHA256,
                    DigestAlgorithm::Sha512 => io::FLAG_SHA512,
                });
            }
        }
        Need::WebhookBody => {}
        Need::Claim(c) => {
            out.set(1, c.kind.index());
            out.field(0, &c.key_id);
            out.field(io::FLAG_NONCE, &c.nonce);
            out.float(2, c.expires_at.as_secs() as f64);
        }
    }
    out.finish()
}
