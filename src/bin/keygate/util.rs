//! Small helpers shared by the CLI commands: flag value parsers, the clock, key set loading.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use keygate::{KeySet, UnixTime, Unseal};

use crate::exit::Fail;
use crate::io::name;

/// Parses a duration such as `30s`, `15m`, `24h`, `90d` or `2w` into seconds (a flag value).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (examples: 30s, 15m, 24h, 90d, 2w)"))?;
    let mult = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit {unit:?} in {s:?} (use s, m, h, d or w)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

/// Parses a time given as Unix seconds or RFC 3339 (a flag value).
pub fn parse_time(s: &str) -> Result<UnixTime, String> {
    UnixTime::parse_flexible(s).map_err(|e| format!("{s:?}: {e} (Unix seconds or RFC 3339)"))
}

/// Checks an API key prefix (a flag value).
pub fn parse_prefix(s: &str) -> Result<String, String> {
    keygate::api_key::validate_prefix(s).map(|()| s.to_string())
}

/// Checks an audience name (a flag value): 1 to 256 visible ASCII characters.
pub fn parse_audience(s: &str) -> Result<String, String> {
    keygate::check_audience_name(s).map(|()| s.to_string())
}

/// The time given by a flag, or the current time.
pub fn time_or_now(arg: Option<UnixTime>) -> UnixTime {
    arg.unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
    })
}

/// Validates a key set read from `path`; `doing` says what an invalid one is refused for.
/// Every error is listed with the file and its JSON path. Sealed secrets are opened, or
/// checked by form only, as `unseal` says.
pub fn valid_keyset(
    path: &Path,
    bytes: &[u8],
    doing: &str,
    unseal: Unseal<'_>,
) -> Result<KeySet, Fail> {
    KeySet::from_json_with(bytes, unseal).map_err(|errs| invalid(path, doing, "key set", &errs))
}

/// Exit 2 for an invalid `what` read from `path`, listing every error with the file and its
/// JSON path.
fn invalid(path: &Path, doing: &str, what: &str, errs: &keygate::KeysetErrors) -> Fail {
    let lines: Vec<String> = errs
        .errors()
        .iter()
        .map(|e| format!("{}: {e}", name(path)))
        .collect();
    Fail::input(format!(
        "refusing to {doing} an invalid {what}:\n{}",
        lines.join("\n")
    ))
}

/// A key set or a delta document (`keyset diff`) that is valid, else exit 2 with every error.
pub fn valid_document(path: &Path, bytes: &[u8], doing: &str) -> Result<(), Fail> {
    // Publishing needs no seal keys: sealed secrets are checked by form and carried as they are.
    if keygate::is_manifest(bytes) {
        return keygate::Manifest::from_json(bytes, Unseal::FormOnly)
            .map(|_| ())
            .map_err(|errs| invalid(path, doing, "manifest", &errs));
    }
    if !keygate::is_delta(bytes) {
        return valid_keyset(path, bytes, doing, Unseal::FormOnly).map(|_| ());
    }
    keygate::Delta::from_json_with(bytes, Unseal::FormOnly)
        .map(|_| ())
        .map_err(|errs| invalid(path, doing, "delta", &errs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert_eq!(parse_duration("45"), Ok(45));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
    }
}
