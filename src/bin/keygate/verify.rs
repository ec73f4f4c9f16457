use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use keygate::{Context, KeySet, UnixTime, Verifier};

use crate::LoadError;

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
    /// The scheme the requests arrived on (raw HTTP/1.1 text does not carry one).
    #[arg(long, default_value = "https")]
    scheme: String,
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError(format!("{}: cannot read: {e}", path.display())))
}

pub fn now_or(arg: Option<&str>) -> Result<UnixTime, LoadError> {
    match arg {
        Some(s) => UnixTime::parse_flexible(s).map_err(|e| LoadError(format!("--now {s:?}: {e}"))),
        None => {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Ok(UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX)))
        }
    }
}

pub fn load_keyset(path: &Path) -> Result<KeySet, LoadError> {
    let bytes = read(path)?;
    if keygate::looks_like_envelope(&bytes) {
        return Err(LoadError(format!(
            "{}: this is a signed envelope; pass --publisher-key to check its signature",
            path.display()
        )));
    }
    KeySet::from_json(&bytes).map_err(|errs| {
        let lines: Vec<String> = errs
            .errors()
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect();
        LoadError(lines.join("\nkeygate: "))
    })
}

pub fn run(args: &VerifyArgs) -> Result<ExitCode, LoadError> {
    let now = now_or(args.now.as_deref())?;
    let publisher = crate::keyset::publisher_keys(args.publisher_key.as_deref())?;
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
