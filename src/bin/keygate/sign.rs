//! `keygate sign`: adds `Content-Digest` (when there is a body), `Signature-Input` and
//! `Signature` to a raw HTTP/1.1 request and writes it to stdout; with `--webhook`, the
//! Standard Webhooks fields `webhook-id`, `webhook-timestamp` and `webhook-signature` instead.

use std::path::PathBuf;

use clap::Args;
use keygate::UnixTime;
use keygate::sig::{Algorithm, ComponentId, Signer};

use crate::exit::{Exit, Fail, Outcome};
use crate::io::{name, print_bytes, read};
use crate::util::{parse_time, time_or_now};

#[derive(Args)]
pub struct SignArgs {
    /// The signing key file (`-`: stdin): keygen output, a JWK, or a bare base64url key (with
    /// --alg). With --webhook: whsec_… or whsk_… (or keygen webhook-v1/v1a output); repeat it
    /// to sign with several keys (one token each).
    #[arg(long, required = true)]
    key: Vec<PathBuf>,
    /// The key's id in the key set (the keyid parameter; not with --webhook).
    #[arg(long, required_unless_present = "webhook")]
    keyid: Option<String>,
    /// Sign a Standard Webhooks delivery: add webhook-id, webhook-timestamp (--created) and
    /// webhook-signature over id.timestamp.body.
    #[arg(long, conflicts_with_all = ["keyid", "components", "nonce", "expires", "alg", "tag"])]
    webhook: bool,
    /// With --webhook: the delivery's id (default: msg_ and 27 random characters).
    #[arg(long, requires = "webhook", value_parser = parse_webhook_id)]
    webhook_id: Option<String>,
    /// The raw HTTP/1.1 request to sign (`-`: stdin).
    #[arg(long)]
    request: PathBuf,
    /// Covered components, comma-separated, unquoted: @method,@target-uri,content-digest
    /// (default: @method, @target-uri, and content-digest when there is a body).
    #[arg(long)]
    components: Option<String>,
    /// Add a fresh random nonce.
    #[arg(long)]
    nonce: bool,
    /// The created time: Unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    created: Option<UnixTime>,
    /// An expires time: Unix seconds or RFC 3339.
    #[arg(long, value_parser = parse_time)]
    expires: Option<UnixTime>,
    /// The signature's label.
    #[arg(long, default_value = "sig1")]
    label: String,
    /// The algorithm: required for a bare key file, checked against any other.
    #[arg(long, value_parser = ["hmac-sha256", "ed25519"])]
    alg: Option<String>,
    /// A tag parameter (the key set's signature_tag, when it has one).
    #[arg(long)]
    tag: Option<String>,
    /// The scheme the request will be sent on (raw HTTP/1.1 text does not carry one).
    #[arg(long, default_value = "https")]
    scheme: String,
}

/// A webhook-id as the verifier accepts it (a flag value).
fn parse_webhook_id(s: &str) -> Result<String, String> {
    keygate::webhook::check_id(s).map(|()| s.to_string())
}

/// Reads a webhook signing key file: the key text, or keygen webhook / keyset add output.
fn webhook_key(path: &std::path::Path) -> Result<keygate::webhook::WebhookSigner, Fail> {
    let text = zeroize::Zeroizing::new(crate::io::read_text(path)?);
    let t = text.trim();
    let key = if t.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(t)
            .map_err(|e| Fail::input(format!("{}: invalid JSON: {e}", name(path))))?;
        let k = ["key", "webhook_key"]
            .iter()
            .find_map(|f| v.get(f).and_then(serde_json::Value::as_str))
            .ok_or_else(|| {
                Fail::input(format!(
                    "{}: expected \"key\" (keygate keygen webhook-v1 output) or \"webhook_key\"",
                    name(path)
                ))
            })?;
        zeroize::Zeroizing::new(k.to_string())
    } else {
        zeroize::Zeroizing::new(t.to_string())
    };
    keygate::webhook::WebhookSigner::from_text(&key)
        .map_err(|e| Fail::input(format!("{}: {e}", name(path))))
}

/// `sign --webhook`: the three fields, appended to the request's header section.
fn run_webhook(a: &SignArgs) -> Outcome {
    let keys = a
        .key
        .iter()
        .map(|p| webhook_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let raw = read(&a.request)?;
    let req = keygate::http1::parse_request(&raw, &a.scheme)
        .map_err(|e| Fail::input(format!("{}: {e}", name(&a.request))))?;
    let id = match &a.webhook_id {
        Some(id) => id.clone(),
        None => keygate::webhook::new_message_id().map_err(Fail::internal)?,
    };
    let ts = time_or_now(a.created).as_secs();
    let signed = keygate::webhook::sign_webhook(&keys, &id, ts, req.body().unwrap_or_default())
        .map_err(|e| Fail::input(format!("cannot sign: {e}")))?;
    let fields: Vec<(&str, String)> = signed.headers().into_iter().collect();
    print_bytes(&insert_fields(&raw, &fields))?;
    Ok(Exit::Success)
}

/// `raw` with `fields` appended to its header section (its own line ends kept).
fn insert_fields(raw: &[u8], fields: &[(&str, String)]) -> Vec<u8> {
    let (end, eol) = header_end(raw);
    let mut out = Vec::with_capacity(raw.len() + 512);
    out.extend_from_slice(&raw[..end]);
    if end == raw.len() && !raw.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    for (name, value) in fields {
        out.extend_from_slice(format!("{name}: {value}").as_bytes());
        out.extend_from_slice(eol);
    }
    if end == raw.len() {
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(&raw[end..]);
    out
}

/// Splits `a,b;key="x,y",c` at commas outside quotes.
fn split_components(list: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in list.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Where the header section ends in `raw` (the offset of the empty line) and the line end
/// the request uses.
fn header_end(raw: &[u8]) -> (usize, &'static [u8]) {
    let eol: &[u8] = match raw.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && raw[i - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    };
    let mut pos = 0;
    let mut seen_line = false;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        let blank = line == b"\n" || line == b"\r\n";
        if blank && seen_line {
            return (pos, eol);
        }
        seen_line |= !blank;
        pos = end;
    }
    (raw.len(), eol)
}

pub fn run(a: &SignArgs) -> Outcome {
    if a.webhook {
        return run_webhook(a);
    }
    let [key_path] = a.key.as_slice() else {
        return Err(Fail::usage(
            "--key is given once for a request signature (several keys sign only with --webhook)",
        ));
    };
    let keyid = a.keyid.as_deref().unwrap_or_default();
    let alg = a.alg.as_deref().and_then(Algorithm::from_name);
    let mut signer_parts = Vec::new();
    if let Some(list) = &a.components {
        for c in split_components(list) {
            signer_parts.push(
                ComponentId::parse(&c).map_err(|e| Fail::usage(format!("--components: {e}")))?,
            );
        }
    }
    let key = crate::keyfile::load(key_path, alg)?;
    let raw = read(&a.request)?;
    let req = keygate::http1::parse_request(&raw, &a.scheme)
        .map_err(|e| Fail::input(format!("{}: {e}", name(&a.request))))?;
    if let Some(d) = req.defects().first() {
        return Err(Fail::input(format!(
            "{}: cannot sign a malformed request: {d}",
            name(&a.request)
        )));
    }
    let created = time_or_now(a.created);
    let mut signer = Signer::new(key, keyid, created).label(&a.label);
    if a.components.is_some() {
        signer = signer.components(signer_parts);
    }
    if let Some(t) = a.expires {
        signer = signer.expires(t);
    }
    if let Some(t) = &a.tag {
        signer = signer.tag(t);
    }
    if a.nonce {
        signer = signer
            .random_nonce()
            .map_err(|e| Fail::internal(e.to_string()))?;
    }
    let signed = signer
        .sign(&req)
        .map_err(|e| Fail::input(format!("cannot sign: {e}")))?;

    print_bytes(&insert_fields(&raw, &signed.fields()))?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_split_outside_quotes() {
        assert_eq!(
            split_components("@method, x;key=\"a,b\",,@path"),
            ["@method", "x;key=\"a,b\"", "@path"]
        );
    }

    #[test]
    fn header_section_end() {
        assert_eq!(
            header_end(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nbody"),
            (25, &b"\r\n"[..])
        );
        assert_eq!(
            header_end(b"\nGET / HTTP/1.1\nHost: h\n\n"),
            (24, &b"\n"[..])
        );
        assert_eq!(header_end(b"GET / HTTP/1.1\nHost: h"), (22, &b"\n"[..]));
    }
}
