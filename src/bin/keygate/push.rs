//! `keygate push URL [FILE]`: signs a key set (or takes a signed envelope) and PUTs it to the
//! gateway's key set endpoint, prints the gateway's JSON answer, and exits by outcome:
//!
//! - 0: 2xx with the gateway's `{"revision", ...}` (an unchanged push is a 200 as well);
//! - 1: a 4xx with an `error` code (the gateway refused the set: bad envelope or signature,
//!   invalid set, rollback, stale, audience, too large, ... any code, present or future);
//! - 75: 408, 429, 502, 503, 504 (the gateway is there and asked to try again later);
//! - 69: everything else: no connection, TLS, timeout, 404 (pushes disabled), 405, a
//!   redirect (never followed: the body would go elsewhere), or an answer that is not the
//!   gateway's JSON.
//!
//! Plain `http://` is refused except to loopback: a key set may hold HMAC secrets.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::exit::{Exit, Fail, Outcome};
use crate::io::{is_dash, name, println, read, stdin_not_terminal};
use crate::keyset::sign::load_secret;

/// Where the gateway serves its key set.
pub const KEYSET_PATH: &str = "/.well-known/keygate/keyset";

/// The most of an answer that is read.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

#[derive(Args)]
pub struct PushArgs {
    /// The gateway: its base URL (https://gateway.example; /.well-known/keygate/keyset is
    /// appended) or the endpoint's full URL.
    url: String,
    /// The key set (signed with --publisher-secret) or a signed envelope (default, and `-`: stdin).
    file: Option<PathBuf>,
    /// The publisher's PRIVATE key to sign a bare key set with: `keygate keygen ed25519`
    /// output, a JWK with "d", or a base64url seed; a file, `-` (stdin) or the value itself.
    #[arg(long, value_name = "KEY")]
    publisher_secret: Option<String>,
    /// The key id for the protected header (default: the JWK kid or the RFC 7638 thumbprint).
    #[arg(long, requires = "publisher_secret")]
    kid: Option<String>,
    /// A sharded set: the directory `keygate keyset shard --out` wrote; FILE is its signed
    /// manifest (or the manifest, with --publisher-secret). The shards the gateway lacks are
    /// uploaded from it, then the manifest is pushed again.
    #[arg(long, value_name = "DIR")]
    shards: Option<PathBuf>,
    /// Seconds to wait for each exchange.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The key set endpoint for `url`: `<url>/.well-known/keygate/keyset`, or `url` itself when
/// it already ends with that path.
pub fn endpoint(url: &str) -> Result<String, Fail> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| Fail::usage(format!("{url:?} is not a URL: {e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Fail::usage(format!(
            "{url:?}: expected an absolute URL such as https://gateway.example"
        )));
    };
    if authority.as_str().contains('@') {
        return Err(Fail::usage(
            "credentials in the URL are not supported (a push is authenticated by its signature)",
        ));
    }
    match scheme {
        "https" => {}
        "http" if is_loopback(authority.host()) => {}
        "http" => {
            return Err(Fail::usage(format!(
                "refusing to push over plain http:// to {}: a key set may hold HMAC secrets (use https://; http:// only to loopback)",
                authority.host()
            )));
        }
        other => {
            return Err(Fail::usage(format!(
                "unsupported scheme {other:?} (use https://)"
            )));
        }
    }
    if uri.query().is_some() {
        return Err(Fail::usage(format!("{url:?}: a push URL takes no query")));
    }
    let path = uri.path().trim_end_matches('/');
    let path = if path.ends_with(KEYSET_PATH) {
        path.to_string()
    } else {
        format!("{path}{KEYSET_PATH}")
    };
    Ok(format!("{scheme}://{authority}{path}"))
}

/// The envelope to send: the file itself when it is one, else the key set signed here.
fn envelope(file: &Path, a: &PushArgs) -> Result<Vec<u8>, Fail> {
    let bytes = read(file)?;
    let src = name(file);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::input(format!(
            "{src}: empty; expected a key set or a signed envelope"
        )));
    }
    if keygate::looks_like_envelope(&bytes) {
        if a.publisher_secret.is_some() {
            return Err(Fail::input(format!(
                "{src}: already a signed envelope; push it without --publisher-secret"
            )));
        }
        keygate::Envelope::from_bytes(&bytes).map_err(|e| Fail::input(format!("{src}: {e}")))?;
        return Ok(bytes);
    }
    let Some(value) = &a.publisher_secret else {
        return Err(Fail::input(format!(
            "{src}: a bare key set; a gateway takes only signed envelopes: pass --publisher-secret KEY (or push `keygate keyset sign` output)"
        )));
    };
    let secret = load_secret(value, a.kid.as_deref())?;
    crate::util::valid_document(file, &bytes, "push")?;
    Ok(keygate::sign_envelope(&bytes, &secret)
        .to_string()
        .into_bytes())
}

/// Text from the gateway, made safe for a terminal: control characters escaped, length bounded.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(500)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if s.chars().count() > 500 {
        out.push('…');
    }
    out
}

/// What the gateway answered.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) json: Option<Value>,
    content_type: String,
    retry_after: Option<String>,
    location: Option<String>,
}

impl Answer {
    fn field(&self, name: &str) -> Option<String> {
        self.json
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(clean)
    }

    /// `409 keyset_rollback: message` (or the status and content type when it is not JSON).
    fn describe(&self) -> String {
        match (self.field("error"), self.field("message")) {
            (Some(code), Some(msg)) => format!("{} {code}: {msg}", self.status),
            (Some(code), None) => format!("{} {code}", self.status),
            _ => format!("{} ({})", self.status, clean(&self.content_type)),
        }
    }

    fn exit(&self) -> Exit {
        let s = self.status;
        let has = |k: &str| self.json.as_ref().and_then(|v| v.get(k));
        if (200..300).contains(&s) && has("revision").is_some_and(Value::is_u64) {
            Exit::Success
        } else if matches!(s, 408 | 429 | 502 | 503 | 504) {
            Exit::TryLater
        } else if (400..500).contains(&s)
            && !matches!(s, 404 | 405)
            && has("error").is_some_and(Value::is_string)
        {
            Exit::Refused
        } else {
            Exit::Unavailable
        }
    }
}

pub(crate) fn send(url: &str, body: &[u8], timeout: u64) -> Result<Answer, Fail> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(timeout)))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(format!("keygate/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let unreachable = |e: ureq::Error| Fail::new(Exit::Unavailable, format!("{url}: {e}"));
    let mut resp = agent
        .put(url)
        .header("content-type", "application/jose+json")
        .header("accept", "application/json")
        .send(body)
        .map_err(unreachable)?;
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(clean)
    };
    let (content_type, retry_after, location) = (
        header("content-type").unwrap_or_default(),
        header("retry-after"),
        header("location"),
    );
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(unreachable)?;
    Ok(Answer {
        status: resp.status().as_u16(),
        json: serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object),
        content_type,
        retry_after,
        location,
    })
}

pub fn run(a: &PushArgs) -> Outcome {
    let url = endpoint(&a.url)?;
    let file = a.file.clone().unwrap_or_else(|| PathBuf::from("-"));
    if is_dash(&file) {
        stdin_not_terminal("push")?;
    }
    let body = envelope(&file, a)?;
    let answer = match &a.shards {
        Some(dir) => crate::push_shards::publish(&url, &body, dir, a.timeout)?,
        None => send(&url, &body, a.timeout)?,
    };
    if let Some(v) = &answer.json {
        println(v)?;
    }
    let exit = answer.exit();
    match exit {
        Exit::Success => {}
        Exit::Refused => {
            eprintln!("keygate: {url}: refused: {}", answer.describe());
            let errors = answer.json.as_ref().and_then(|v| v.get("errors"));
            for e in errors.and_then(Value::as_array).into_iter().flatten() {
                let field = |k: &str| e.get(k).and_then(Value::as_str).map(clean);
                if let (Some(p), Some(m)) = (field("path"), field("message")) {
                    eprintln!("keygate:   {p}: {m}");
                }
            }
        }
        Exit::TryLater => {
            let after = answer
                .retry_after
                .as_deref()
                .map(|r| format!("; Retry-After: {r}"))
                .unwrap_or_default();
            eprintln!(
                "keygate: {url}: try again later: {}{after}",
                answer.describe()
            );
        }
        _ if (300..400).contains(&answer.status) => eprintln!(
            "keygate: {url}: answered {} with a redirect to {} (not followed; push to the key set endpoint directly)",
            answer.status,
            answer.location.as_deref().unwrap_or("nowhere")
        ),
        _ if answer.status == 404 => eprintln!(
            "keygate: {url}: no push endpoint here: {} (pushes disabled, or not a keygate gateway)",
            answer.describe()
        ),
        _ => eprintln!(
            "keygate: {url}: not a key set push answer: {}",
            answer.describe()
        ),
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let ok = |u: &str| endpoint(u).unwrap_or_else(|e| panic!("{u}: {e}"));
        let url = "https://gw.example/.well-known/keygate/keyset";
        assert_eq!(ok("https://gw.example"), url);
        assert_eq!(ok("https://gw.example/"), url);
        assert_eq!(ok(url), url);
        assert_eq!(
            ok("https://gw.example/base/"),
            "https://gw.example/base/.well-known/keygate/keyset"
        );
        assert_eq!(
            ok("http://127.0.0.1:8787"),
            "http://127.0.0.1:8787/.well-known/keygate/keyset"
        );
        assert!(endpoint("http://[::1]:1/").is_ok());
        assert!(endpoint("http://localhost").is_ok());
        for bad in [
            "http://gw.example",
            "ftp://gw.example",
            "gw.example",
            "https://u:p@gw.example",
            "https://gw.example/?x=1",
        ] {
            assert_eq!(
                endpoint(bad).err().map(|e| e.exit),
                Some(Exit::Usage),
                "{bad}"
            );
        }
    }

    #[test]
    fn gateway_text_is_made_safe() {
        assert_eq!(clean("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert!(clean(&"x".repeat(600)).ends_with('…'));
    }
}
