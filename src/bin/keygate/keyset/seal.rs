//! `keyset seal`: seals every clear secret of a key set (`signing.secret`, an HMAC
//! `signing.jwk`, `webhook.secret`) with a seal key; `--reseal` also moves secrets sealed under
//! other keys of the file onto it (seal key rotation). Validated and written atomically like
//! every edit; a set with nothing to change is left untouched.

use clap::Args;
use serde_json::Value;

use super::doc::Doc;
use super::edit::{Common, finish};
use crate::exit::{Exit, Fail, Outcome};
use crate::io::editable;
use crate::seal::{SealArg, sealer};
use crate::util::time_or_now;

#[derive(Args)]
pub struct SealArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub seal: SealArg,
    /// Also move secrets sealed under another key of --seal-key onto the sealing key.
    #[arg(long)]
    pub reseal: bool,
}

pub fn seal(a: &SealArgs) -> Outcome {
    let now = time_or_now(a.common.now);
    let file = editable(&a.common.file)?;
    let Some((keys, key)) = sealer(&a.seal)? else {
        return Err(Fail::usage("the seal key is required: --seal-key FILE"));
    };
    let mut doc = Doc::open(file)?;
    let (mut sealed, mut resealed) = (0, 0);
    for (i, entry) in doc.keys_mut().iter_mut().enumerate() {
        for credential in ["signing", "webhook"] {
            let Some(Value::Object(obj)) = entry.get_mut(credential) else {
                continue;
            };
            if crate::seal::seal_credential(credential, obj, &key)? {
                sealed += 1;
                continue;
            }
            let Some(Value::String(text)) = obj.get("sealed") else {
                continue;
            };
            if !a.reseal || jwe_kid(text).as_deref() == Some(key.kid()) {
                continue;
            }
            let at = format!("$.keys[{i}].{credential}.sealed");
            let plain = keys
                .open(text)
                .map_err(|e| Fail::input(format!("{at}: {e}")))?;
            let again = key.seal(&plain).map_err(Fail::internal)?;
            obj.insert("sealed".into(), Value::String(again));
            resealed += 1;
        }
    }
    let path = doc.path.display().to_string();
    if sealed + resealed == 0 {
        eprintln!(
            "{path}: nothing to seal: no clear secret{}",
            if a.reseal {
                format!(", and none sealed under another key than {:?}", key.kid())
            } else {
                String::new()
            }
        );
        return Ok(Exit::Success);
    }
    finish(&mut doc, &a.common, now)?;
    eprintln!(
        "{path}: {sealed} secret(s) sealed{} under seal key {:?}",
        if resealed > 0 {
            format!(", {resealed} resealed")
        } else {
            String::new()
        },
        key.kid()
    );
    Ok(Exit::Success)
}

/// The `kid` of a JWE's protected header, if it has a readable one.
fn jwe_kid(text: &str) -> Option<String> {
    let header = text.split('.').next()?;
    let bytes = keygate::encoding_util::b64url_decode(header).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("kid")?.as_str().map(str::to_string)
}
