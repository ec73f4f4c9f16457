//! Small helpers shared by the CLI commands.

use std::path::Path;

use std::time::{SystemTime, UNIX_EPOCH};

use keygate::{KeySet, UnixTime};

use crate::LoadError;

/// Parses a duration such as `30s`, `15m`, `24h`, `90d` or `2w` into seconds.
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

/// The text of `arg` if it names a readable file, else `arg` itself (for inline key material).
pub fn file_or_inline(arg: &str) -> Result<String, LoadError> {
    let p = Path::new(arg);
    if p.is_file() {
        std::fs::read_to_string(p).map_err(|e| LoadError(format!("{arg}: cannot read: {e}")))
    } else if arg.contains(['/', '\\']) || arg.ends_with(".json") {
        Err(LoadError(format!("{arg}: no such file")))
    } else {
        Ok(arg.to_string())
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError(format!("{}: cannot read: {e}", path.display())))
}

/// A time from `--now` or similar (Unix seconds or RFC 3339), or the current time.
pub fn time_or_now(arg: Option<&str>) -> Result<UnixTime, LoadError> {
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

/// Reads and validates a key set file; `doing` says what an invalid one is refused for.
/// Every error is listed with the file and its JSON path.
pub fn valid_keyset(path: &Path, bytes: &[u8], doing: &str) -> Result<KeySet, LoadError> {
    KeySet::from_json(bytes).map_err(|errs| {
        let lines: Vec<String> = errs
            .errors()
            .iter()
            .map(|e| format!("{}: {e}", path.display()))
            .collect();
        LoadError(format!(
            "refusing to {doing} an invalid key set:\n{}",
            lines.join("\n")
        ))
    })
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
