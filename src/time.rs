//! Instants as Unix seconds, and RFC 3339 parsing/formatting.
//!
//! The core never reads a clock: every decision takes `now` from its caller
//! (`SystemTime::now()` panics on `wasm32-unknown-unknown`).

use std::fmt;

/// An instant, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

/// Years outside 0000..=9999 cannot be written in RFC 3339.
const MIN_SECS: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

impl UnixTime {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs)
    }

    /// The instant `ms` milliseconds after the epoch, rounded down to the second.
    pub const fn from_millis(ms: i64) -> Self {
        UnixTime(ms.div_euclid(1000))
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// `self + secs`, saturating at the ends of the range.
    pub const fn saturating_add(self, secs: i64) -> Self {
        UnixTime(self.0.saturating_add(secs))
    }

    /// Parses an RFC 3339 `date-time` (`2026-11-29T00:00:00Z`, `...T01:00:00+01:00`,
    /// fractional seconds are truncated). The error says what was expected and at which byte.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        parse_rfc3339(s.as_bytes())
    }

    /// Parses either Unix seconds (`1764374400`) or an RFC 3339 date-time.
    pub fn parse_flexible(s: &str) -> Result<Self, TimeError> {
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
            || t.starts_with('-') && t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit())
        {
            return t
                .parse::<i64>()
                .map(UnixTime)
                .map_err(|_| TimeError::new(0, "Unix seconds out of range"));
        }
        Self::parse_rfc3339(t)
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SSZ` (clamped to the years 0000..=9999).
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }

    /// For messages: the RFC 3339 text when the instant has one, else the seconds as given
    /// (a timestamp of 10^15 is not "9999-12-31T23:59:59Z", the clamp `to_rfc3339` writes).
    pub fn described(self) -> Described {
        Described(self)
    }

    /// The seconds `to_rfc3339` writes: clamped to the years 0000..=9999 (whose instants a
    /// JavaScript `Date` writes the same way, to the second).
    pub const fn rfc3339_secs(self) -> i64 {
        if self.0 < MIN_SECS {
            MIN_SECS
        } else if self.0 > MAX_SECS {
            MAX_SECS
        } else {
            self.0
        }
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.rfc3339_secs();
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// [`UnixTime::described`]'s text.
pub struct Described(UnixTime);

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        if t.rfc3339_secs() == t.0 {
            write!(f, "{t}")
        } else {
            write!(f, "{} (Unix seconds, outside the years 0000-9999)", t.0)
        }
    }
}

/// Why a time string was refused, and the byte offset where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError {
    /// Byte offset into the input.
    pub offset: usize,
    /// What was expected there.
    pub message: &'static str,
}

impl TimeError {
    fn new(offset: usize, message: &'static str) -> Self {
        TimeError { offset, message }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for TimeError {}

fn digits(b: &[u8], at: usize, n: usize, what: &'static str) -> Result<i64, TimeError> {
    let mut v = 0i64;
    for i in at..at + n {
        match b.get(i) {
            Some(c) if c.is_ascii_digit() => v = v * 10 + i64::from(c - b'0'),
            _ => return Err(TimeError::new(i, what)),
        }
    }
    Ok(v)
}

fn expect(b: &[u8], at: usize, want: &[u8], what: &'static str) -> Result<(), TimeError> {
    match b.get(at) {
        Some(c) if want.contains(c) => Ok(()),
        _ => Err(TimeError::new(at, what)),
    }
}

fn parse_rfc3339(b: &[u8]) -> Result<UnixTime, TimeError> {
    let year = digits(b, 0, 4, "expected a four-digit year")?;
    expect(b, 4, b"-", "expected '-' after the year")?;
    let month = digits(b, 5, 2, "expected a two-digit month")?;
    expect(b, 7, b"-", "expected '-' after the month")?;
    let day = digits(b, 8, 2, "expected a two-digit day")?;
    expect(b, 10, b"Tt", "expected 'T' between date and time")?;
    let hour = digits(b, 11, 2, "expected a two-digit hour")?;
    expect(b, 13, b":", "expected ':' after the hour")?;
    let minute = digits(b, 14, 2, "expected two-digit minutes")?;
    expect(b, 16, b":", "expected ':' after the minutes")?;
    let second = digits(b, 17, 2, "expected two-digit seconds")?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(TimeError::new(i, "expected digits after the decimal point"));
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2, "expected a two-digit offset hour")?;
            expect(b, i + 3, b":", "expected ':' in the offset")?;
            let om = digits(b, i + 4, 2, "expected two-digit offset minutes")?;
            if oh > 23 || om > 59 {
                return Err(TimeError::new(i, "offset out of range"));
            }
            i += 6;
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        _ => {
            return Err(TimeError::new(
                i,
                "expected 'Z' or a UTC offset such as +00:00",
            ));
        }
    };
    if i != b.len() {
        return Err(TimeError::new(i, "unexpected characters after the time"));
    }
    if !(1..=12).contains(&month) {
        return Err(TimeError::new(5, "month out of range"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(TimeError::new(8, "day out of range for the month"));
    }
    if hour > 23 {
        return Err(TimeError::new(11, "hour out of range"));
    }
    if minute > 59 {
        return Err(TimeError::new(14, "minutes out of range"));
    }
    if second > 59 {
        return Err(TimeError::new(
            17,
            "seconds out of range (leap seconds are not accepted)",
        ));
    }
    let days = days_from_civil(year, month, day);
    Ok(UnixTime(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
    ))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_known_instants() {
        let t = UnixTime::parse_rfc3339("2026-11-29T00:00:00Z").unwrap();
        assert_eq!(t.as_secs(), 1_795_910_400);
        assert_eq!(t.to_rfc3339(), "2026-11-29T00:00:00Z");
        assert_eq!(UnixTime::from_secs(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UnixTime::parse_rfc3339("2000-02-29T23:59:59z")
                .unwrap()
                .as_secs(),
            951_868_799
        );
    }

    #[test]
    fn offsets_and_fractions() {
        let a = UnixTime::parse_rfc3339("2026-11-29T01:30:00.999+01:30").unwrap();
        assert_eq!(a, UnixTime::parse_rfc3339("2026-11-29T00:00:00Z").unwrap());
        let b = UnixTime::parse_rfc3339("2026-11-28T23:00:00-01:00").unwrap();
        assert_eq!(b, a);
    }

    #[test]
    fn refusals_name_the_byte() {
        let e = UnixTime::parse_rfc3339("2026-13-01T00:00:00Z").unwrap_err();
        assert_eq!((e.offset, e.message), (5, "month out of range"));
        let e = UnixTime::parse_rfc3339("2026-02-29T00:00:00Z").unwrap_err();
        assert_eq!(e.offset, 8);
        let e = UnixTime::parse_rfc3339("2026-11-29 00:00:00Z").unwrap_err();
        assert_eq!(e.offset, 10);
        let e = UnixTime::parse_rfc3339("2026-11-29T00:00:00").unwrap_err();
        assert_eq!(e.offset, 19);
        let e = UnixTime::parse_rfc3339("2026-11-29T00:00:00Zjunk").unwrap_err();
        assert_eq!(e.offset, 20);
        assert!(UnixTime::parse_rfc3339("").is_err());
        assert!(UnixTime::parse_rfc3339("2026-11-29T23:59:60Z").is_err());
    }

    #[test]
    fn flexible_accepts_unix_seconds() {
        assert_eq!(
            UnixTime::parse_flexible("1795910400").unwrap().as_secs(),
            1_795_910_400
        );
        assert_eq!(UnixTime::parse_flexible("-1").unwrap().as_secs(), -1);
        assert_eq!(
            UnixTime::parse_flexible("2026-11-29T00:00:00Z")
                .unwrap()
                .as_secs(),
            1_795_910_400
        );
        assert!(UnixTime::parse_flexible("tomorrow").is_err());
    }

    #[test]
    fn civil_round_trip_over_a_wide_range() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn described_writes_the_seconds_it_cannot_date() {
        let t = |s: i64| UnixTime::from_secs(s).described().to_string();
        assert_eq!(t(1_764_374_400), "2025-11-29T00:00:00Z");
        assert_eq!(t(MAX_SECS), "9999-12-31T23:59:59Z");
        assert_eq!(
            t(MAX_SECS + 1),
            "253402300800 (Unix seconds, outside the years 0000-9999)"
        );
        assert_eq!(
            t(i64::MIN),
            "-9223372036854775808 (Unix seconds, outside the years 0000-9999)"
        );
        // The clamp stays what `to_rfc3339` writes (key set times, JSON output).
        assert_eq!(
            UnixTime::from_secs(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn millis_round_down() {
        assert_eq!(UnixTime::from_millis(1999).as_secs(), 1);
        assert_eq!(UnixTime::from_millis(-1).as_secs(), -1);
    }
}
