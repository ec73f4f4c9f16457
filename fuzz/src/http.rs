//! The `http1` target: the raw HTTP/1.1 reader (`keygate::http1::parse_request`) and the
//! decision on what it reads.
//!
//! Input: raw request bytes. Properties, beyond "never panics":
//! - an unreadable request is an error whose byte offset lies inside the input;
//! - a read request's method is a token, its path starts with `/` (or is `*`), its header
//!   names are lower-case tokens and no header value holds CR, LF or NUL;
//! - every decision on it, against the demo, attack and exact-path key sets, is consistent
//!   ([`crate::check_decision`]: status and reason agree, 401 and only 401 challenges, the
//!   judged path is canonical, no credential is echoed);
//! - the gateway's forward is judged the same: the request re-sent with the judged path in
//!   place of the target gets the same decision (unless it is signed: a signature covers the
//!   path as sent).
//! - `body_method_override: "every_method"` only adds readings: a request it allows is allowed
//!   under `"ignored"` too, and one that is not read as POST in any way (no `post` method, no
//!   override field or query) gets the same decision under both.

use keygate::{Context, Decision, KeySet, Request, Verifier, http1::parse_request};

use crate::{ATTACKS, BODY_METHOD, BODY_METHOD_IGNORED, DEMO, EXACT, check_decision, now};

/// Headers that carry a bearer secret. (A `Signature` carries labels and a proof, not a secret:
/// messages may quote its labels.)
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-api-key", "cookie"];

pub fn run(data: &[u8]) {
    let req = match parse_request(data, "https") {
        Ok(r) => r,
        Err(e) => {
            if let Some(at) = e.offset {
                assert!(
                    at <= data.len(),
                    "error offset {at} past {} bytes",
                    data.len()
                );
            }
            assert!(!e.message.is_empty());
            return;
        }
    };
    let m = req.method();
    assert!(
        !m.is_empty() && m.bytes().all(|b| b.is_ascii_graphic()),
        "method {m:?}"
    );
    assert!(
        req.path().starts_with('/') || req.path() == "*",
        "path {:?}",
        req.path()
    );
    // A credential's text that also stands elsewhere in the request (a path, a malformed
    // header line that a message may quote) is not counted: quoting that is no leak.
    let text = String::from_utf8_lossy(data);
    let secrets: Vec<&str> = CREDENTIAL_HEADERS
        .iter()
        .flat_map(|h| req.header_values(h))
        .flat_map(crate::secret_runs)
        .filter(|run| text.matches(run).count() == 1)
        .collect();
    let client = data.last().map(|&b| std::net::IpAddr::from([127, 0, 0, b]));
    let cx = Context::new(now()).with_client_ip(client);
    body_method(&req, &cx);
    for ks in [&*DEMO, &*ATTACKS, &*EXACT, &*BODY_METHOD] {
        let d = decide(ks, &req, &cx);
        check_decision(&d, &secrets);
        if let Some(path) = &d.path
            && path != req.path()
            && req.header_values("signature-input").next().is_none()
            && let Some(forwarded) = retarget(data, path, req.query())
        {
            let again = parse_request(&forwarded, "https").expect("the forward reads");
            let d2 = decide(ks, &again, &cx);
            assert_eq!(
                summary(&d),
                summary(&d2),
                "{:?} judged as {path:?} is judged differently when forwarded",
                req.path()
            );
        }
    }
}

/// The `body_method_override` properties (see the module's documentation).
fn body_method(req: &Request, cx: &Context) {
    let every = decide(&BODY_METHOD, req, cx);
    let ignored = decide(&BODY_METHOD_IGNORED, req, cx);
    assert!(
        !every.allowed || ignored.allowed,
        "allowed only when a POST is read as every method: {every:?} {ignored:?}"
    );
    let overrides = [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ]
    .iter()
    .any(|h| req.header_values(h).next().is_some());
    if !req.method().eq_ignore_ascii_case("POST") && !overrides && req.query().is_none() {
        assert_eq!(
            summary(&every),
            summary(&ignored),
            "a request not read as POST is judged differently"
        );
    }
}

fn decide(ks: &KeySet, req: &Request, cx: &Context) -> Decision {
    Verifier::new(ks.clone()).decide(req, cx)
}

/// What a forward must be judged the same on.
fn summary(d: &Decision) -> String {
    format!(
        "{} {} {:?} {:?} {:?} {:?}",
        d.allowed,
        d.status,
        d.code(),
        d.key_id,
        d.route,
        d.path
    )
}

/// The raw request with its target replaced by `path` (and the same query), when the request
/// line is the first line and in origin form.
fn retarget(data: &[u8], path: &str, query: Option<&str>) -> Option<Vec<u8>> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&data[..end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !target.starts_with('/') {
        return None;
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut out = format!("{method} {target} {version}\r\n").into_bytes();
    out.extend_from_slice(&data[end + 1..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forward_replaces_only_the_path() {
        let raw = b"GET /api/admin/%2e%2e/public/x?q=1 HTTP/1.1\r\nHost: h\r\n\r\nbody";
        let fwd = retarget(raw, "/api/public/x", Some("q=1")).unwrap();
        assert_eq!(
            fwd,
            b"GET /api/public/x?q=1 HTTP/1.1\r\nHost: h\r\n\r\nbody"
        );
        assert!(retarget(b"GET https://h/x HTTP/1.1\r\n\r\n", "/x", None).is_none());
        // The property runs on it (the judged path differs from the sent one).
        run(raw);
    }

    #[test]
    fn body_method_properties_hold_on_the_vectors_requests() {
        let key = "X-API-Key: attack-writer-api-key\r\n";
        for line in [
            "POST /api/orders/7",
            "post /api/orders/7",
            "GET /api/orders/7?_method=POST",
            "PUT /api/orders/7",
            "DELETE /api/orders/7",
            "POST /api/public/x",
            "GET /api/public/x",
            "POST /api/forms/x",
        ] {
            for headers in ["", key, "X-HTTP-Method-Override: POST\r\n"] {
                let raw = format!("{line} HTTP/1.1\r\nHost: h\r\n{headers}\r\n");
                run(raw.as_bytes());
            }
        }
        // The two sets do tell a POST apart (the property is not vacuous).
        let post = parse_request(
            format!("POST /api/orders/7 HTTP/1.1\r\nHost: h\r\n{key}\r\n").as_bytes(),
            "https",
        )
        .unwrap();
        let cx = Context::new(now());
        assert!(decide(&BODY_METHOD_IGNORED, &post, &cx).allowed);
        assert!(!decide(&BODY_METHOD, &post, &cx).allowed);
    }
}
