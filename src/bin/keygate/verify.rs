//! `keygate verify`: decides raw HTTP/1.1 requests against a key set, one JSON decision per
//! line. Exit 0 when every request is allowed, 1 when one is refused, 2 when an input
//! cannot be used: a key set that does not load is always 2, envelope refusals included.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use keygate::{Context, KeySet, LoadOptions, UnixTime, Verifier};

use crate::exit::{Exit, Fail, Outcome};
use crate::io::{name, println, read};
use crate::util::{parse_audience, parse_time, time_or_now, valid_keyset};

#[derive(Args)]
pub struct VerifyArgs {
    /// The key set JSON file, or a signed envelope with --publisher-key (`-`: stdin).
    #[arg(long)]
    keyset: PathBuf,
    /// A raw HTTP/1.1 request file (`-`: stdin); repeat to decide several requests in order
    /// with one verifier.
    #[arg(long, required = true)]
    request: Vec<PathBuf>,
    /// The client's IP address.
    #[arg(long)]
    client_ip: Option<IpAddr>,
    /// The time to decide at: Unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    now: Option<UnixTime>,
    /// Pinned publisher PUBLIC key(s) for a signed key set envelope: base64url raw public
    /// key(s), or a file holding one, a JWK or a JWKS (`-`: stdin).
    #[arg(long, value_name = "KEYS")]
    publisher_key: Option<String>,
    /// Decide only with a key set whose `audience` names this gateway.
    #[arg(long, value_parser = parse_audience)]
    audience: Option<String>,
    /// The scheme the requests arrived on (raw HTTP/1.1 text does not carry one).
    #[arg(long, default_value = "https")]
    scheme: String,
    /// Seal keys that open the set's sealed secrets: a file holding a JWK or a JWKS (`-`:
    /// stdin). A set with sealed secrets decides only with them.
    #[arg(long, value_name = "FILE")]
    seal_key: Option<PathBuf>,
}

/// Loads the key set to decide with: a bare key set, or (with publisher keys) a verified
/// envelope, naming `audience` when one is given. Every failure is invalid input.
pub fn load_keyset(path: &Path, options: &LoadOptions<'_>) -> Result<KeySet, Fail> {
    let bytes = read(path)?;
    let refused = |e: keygate::LoadError| Fail::input(format!("{}: {e}", name(path)));
    if options.publisher_keys.is_some() {
        return keygate::load_keyset_with(&bytes, options).map_err(refused);
    }
    if keygate::looks_like_envelope(&bytes) {
        return Err(Fail::input(format!(
            "{}: this is a signed envelope; pass --publisher-key to check its signature",
            name(path)
        )));
    }
    // A bare set: every content error, each with the file and its JSON path.
    let ks = valid_keyset(path, &bytes, "decide with", options.unseal)?;
    if let Some(audience) = options.audience {
        keygate::check_audience(&ks, audience).map_err(refused)?;
    }
    Ok(ks)
}

pub fn run(args: &VerifyArgs) -> Outcome {
    let now = time_or_now(args.now);
    let publisher = crate::keyset::publisher_keys(args.publisher_key.as_deref())?;
    let seal = args
        .seal_key
        .as_deref()
        .map(crate::seal::read_keys)
        .transpose()?;
    let options = LoadOptions::new()
        .publisher_keys(publisher.as_ref())
        .seal_keys(seal.as_ref())
        .audience(args.audience.as_deref())
        .map_err(Fail::usage)?;
    let keyset = load_keyset(&args.keyset, &options)?;
    let mut requests = Vec::with_capacity(args.request.len());
    for path in &args.request {
        let bytes = read(path)?;
        let req = keygate::http1::parse_request(&bytes, &args.scheme)
            .map_err(|e| Fail::input(format!("{}: {e}", name(path))))?;
        requests.push(req);
    }
    let verifier = Verifier::new(keyset);
    let cx = Context::new(now).with_client_ip(args.client_ip);
    let mut all_allowed = true;
    for req in &requests {
        let d = verifier.decide(req, &cx);
        all_allowed &= d.allowed;
        println(d.to_json())?;
    }
    Ok(if all_allowed {
        Exit::Success
    } else {
        Exit::Refused
    })
}
