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

use keygate::{Context, Decision, KeySet, Request, Verifier, http1::parse_request};

use crate::{ATTACKS, DEMO, EXACT, check_decision, now};

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
    for ks in [&*DEMO, &*ATTACKS, &*EXACT] {
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
}
