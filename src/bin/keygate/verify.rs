use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use keygate::{Context, KeySet, Verifier};

use crate::LoadError;
use crate::util::{read, time_or_now, valid_keyset};

#[derive(Args)]
pub struct VerifyArgs {
    /// The key set JSON file.
    #[arg(long)]
    keyset: PathBuf,
    /// A raw HTTP/1.1 request file; repeat to decide several requests in order with one verifier.
    #[arg(long, required = true)]
    request: Vec<PathBuf>,
    /// The client's IP address.
    #[arg(long)]
    client_ip: Option<IpAddr>,
    /// The time to decide at: Unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Pinned publisher key(s) for a signed key set envelope: base64url raw public key(s), or a
    /// file holding one, a JWK or a JWKS.
    #[arg(long)]
    publisher_key: Option<String>,
    /// Decide only with a key set whose `audience` names this gateway.
    #[arg(long)]
    audience: Option<String>,
    /// The scheme the requests arrived on (raw HTTP/1.1 text does not carry one).
    #[arg(long, default_value = "https")]
    scheme: String,
}

pub fn load_keyset(path: &Path) -> Result<KeySet, LoadError> {
    let bytes = read(path)?;
    if keygate::looks_like_envelope(&bytes) {
        return Err(LoadError(format!(
            "{}: this is a signed envelope; pass --publisher-key to check its signature",
            path.display()
        )));
    }
    valid_keyset(path, &bytes, "decide with")
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(args.now.as_deref())?;
    let publisher = crate::keyset::publisher_keys(args.publisher_key.as_deref())?;
    let audience = crate::keyset::audience(args.audience.as_deref())?;
    let keyset = match publisher {
        None => load_keyset(&args.keyset)?,
        Some(keys) => {
            let bytes = read(&args.keyset)?;
            match keygate::load_keyset(&bytes, Some(&keys)) {
                Ok(ks) => ks,
                Err(e @ keygate::LoadError::SignatureInvalid(_)) => {
                    eprintln!("keygate: {}: {e}", args.keyset.display());
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(LoadError(format!("{}: {e}", args.keyset.display()))),
            }
        }
    };
    if let Some(aud) = audience {
        keygate::check_audience(&keyset, aud)
            .map_err(|e| LoadError(format!("{}: {e}", args.keyset.display())))?;
    }
    let mut requests = Vec::with_capacity(args.request.len());
    for path in &args.request {
        let bytes = read(path)?;
        let req = keygate::http1::parse_request(&bytes, &args.scheme)
            .map_err(|e| LoadError(format!("{}: {e}", path.display())))?;
        requests.push(req);
    }
    let verifier = Verifier::new(keyset);
    let cx = Context::new(now).with_client_ip(args.client_ip);
    let mut all_allowed = true;
    for req in &requests {
        let d = verifier.decide(req, &cx);
        all_allowed &= d.allowed;
        println!("{}", d.to_json());
    }
    Ok(if all_allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
