//! Times and durations. The core never reads a clock: `now` is always an argument.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike};

use crate::error::{Error, Result};

/// An instant: seconds and nanoseconds since 1970-01-01T00:00:00Z (no leap seconds), in UTC.
/// A small copyable type of its own; chrono reads, writes and does the calendar (`date`, `civil`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    secs: i64,
    nanos: u32,
}

/// A length of time, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub fn seconds(s: i64) -> Duration {
        Duration(s)
    }

    pub fn num_seconds(&self) -> i64 {
        self.0
    }

    /// In words, in the largest unit that divides it: "30 days", "48 hours", "90 minutes".
    pub fn words(&self) -> String {
        let s = self.0;
        let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
            .into_iter()
            .find(|(per, _)| s % per == 0)
            .map_or((s, "second"), |(per, unit)| (s / per, unit));
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

impl Instant {
    /// `nanos` must be below 1e9.
    pub fn from_timestamp(secs: i64, nanos: u32) -> Option<Instant> {
        (nanos < 1_000_000_000).then_some(Instant { secs, nanos })
    }

    pub fn from_timestamp_millis(ms: i64) -> Instant {
        Instant {
            secs: ms.div_euclid(1000),
            nanos: u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.secs
    }

    /// The nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// `self + d`, or `None` past the range of the type.
    /// `self + d`, or `None` past 9999-12-31T23:59:59Z: every instant stays one RFC 3339 can write
    /// and read back.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        const LAST: i64 = 253_402_300_799;
        let secs = self.secs.checked_add(d.0).filter(|s| *s <= LAST)?;
        Some(Instant {
            secs,
            nanos: self.nanos,
        })
    }
}

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAY_CE: i64 = 719_163;

/// The calendar date of a day number (days since 1970-01-01), or `None` outside chrono's years.
pub(crate) fn date(days: i64) -> Option<NaiveDate> {
    let ce = i32::try_from(days.checked_add(UNIX_EPOCH_DAY_CE)?).ok()?;
    NaiveDate::from_num_days_from_ce_opt(ce)
}

/// The civil date `(year, month, day)` of a day number (days since 1970-01-01). Days outside
/// chrono's range (about 262,000 years either way) give 1970-01-01; instants are capped at year
/// 9999, so they never get there.
pub(crate) fn civil(days: i64) -> (i64, i64, i64) {
    let d = date(days).unwrap_or_default();
    (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    )
}

/// Parses an RFC 3339 date-time with an offset ("2026-11-23T12:00:00Z",
/// "2026-11-23T17:30:00.250+05:30"), with chrono. The date must exist (no February 30); seconds
/// run to 59 (chrono reads a leap second `:60`, which no instant here is) and the date and time
/// are joined by `T` (chrono also takes the space RFC 3339 allows in prose).
pub fn parse_instant(s: &str, path: &str) -> Result<Instant> {
    let parsed = DateTime::parse_from_rfc3339(s)
        .ok()
        .filter(|t| t.nanosecond() < 1_000_000_000 && s.as_bytes().get(10) != Some(&b' '))
        .and_then(|t| Instant::from_timestamp(t.timestamp(), t.nanosecond()));
    parsed.ok_or_else(|| {
        Box::new(Error::InvalidTime {
            path: path.to_string(),
            message: format!(
                "`{}` is not an RFC 3339 date-time with an offset, like 2026-11-23T12:00:00Z",
                s.chars().take(40).collect::<String>()
            ),
        })
    })
}

/// Formats an instant the way every output does: RFC 3339, UTC, `Z`, with fractional seconds
/// only when the instant has them (in groups of three digits).
pub fn format_instant(t: Instant) -> String {
    DateTime::from_timestamp(t.secs, t.nanos)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an ISO 8601 duration of exact length: weeks, days, hours, minutes, seconds ("P7D",
/// "PT48H", "P1DT12H", "PT15M"). Years and months are refused: their length depends on the
/// calendar, which a relative expiry must not.
pub fn parse_duration(s: &str, path: &str) -> Result<Duration> {
    duration(s.as_bytes()).map_err(|why| {
        Box::new(Error::InvalidTime {
            path: path.to_string(),
            message: format!(
                "`{}` is not an ISO 8601 duration like P7D or PT48H: {why}",
                s.chars().take(40).collect::<String>()
            ),
        })
    })
}

/// The seconds of a duration, or why it is not one.
fn duration(b: &[u8]) -> std::result::Result<Duration, &'static str> {
    let rest = b.strip_prefix(b"P").ok_or("it must start with P")?;
    let mut in_time = false;
    // The number being read: None before its first digit.
    let mut number: Option<i64> = None;
    let mut seconds: i64 = 0;
    // Units come largest first, each at most once (W, D, then after T: H, M, S).
    let mut last = u32::MAX;
    let mut units_after_t = 0;
    for &c in rest {
        match c {
            b'T' if !in_time && number.is_none() => in_time = true,
            b'0'..=b'9' => {
                let n = number.unwrap_or(0).checked_mul(10);
                number = Some(
                    n.and_then(|n| n.checked_add(i64::from(c - b'0')))
                        .unwrap_or(i64::MAX),
                );
            }
            _ => {
                let n = number.take().ok_or("a number must come before each unit")?;
                let (rank, per) = match (c, in_time) {
                    (b'W', false) => (5, 7 * 86_400),
                    (b'D', false) => (4, 86_400),
                    (b'H', true) => (3, 3_600),
                    (b'M', true) => (2, 60),
                    (b'S', true) => (1, 1),
                    (b'Y' | b'M', false) => {
                        return Err("years and months have no fixed length; use days")
                    }
                    _ => return Err("unknown unit"),
                };
                if rank >= last {
                    return Err("units go largest first, each once");
                }
                seconds = n
                    .checked_mul(per)
                    .and_then(|x| seconds.checked_add(x))
                    .filter(|&x| x <= 100 * 366 * 86_400)
                    .ok_or("longer than 100 years")?;
                last = rank;
                units_after_t += u32::from(in_time);
            }
        }
    }
    if in_time && units_after_t == 0 {
        return Err("a T must be followed by hours, minutes or seconds");
    }
    if number.is_some() || last == u32::MAX {
        return Err("it needs at least one number with a unit");
    }
    Ok(Duration(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        let words = |t: &str| parse_duration(t, "p").unwrap().words();
        assert_eq!(words("P30D"), "30 days");
        assert_eq!(words("PT48H"), "2 days");
        assert_eq!(words("PT1H"), "1 hour");
        assert_eq!(words("PT90M"), "90 minutes");
        assert_eq!(words("PT61S"), "61 seconds");
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("P7D", "p").unwrap(),
            Duration::seconds(7 * 86_400)
        );
        assert_eq!(
            parse_duration("PT48H", "p").unwrap(),
            Duration::seconds(48 * 3600)
        );
        assert_eq!(
            parse_duration("P1DT12H30M", "p").unwrap(),
            Duration::seconds((36 * 60 + 30) * 60)
        );
        assert_eq!(
            parse_duration("P2W", "p").unwrap(),
            Duration::seconds(14 * 86_400)
        );
        for bad in [
            "",
            "P",
            "7D",
            "P1M",
            "PT",
            "P1H",
            "PTD",
            "P99999999999999D",
            "P1.5D",
            "P1DT",
            "PT1M1H",
            "P1D2D",
        ] {
            assert_eq!(
                parse_duration(bad, "p").unwrap_err().code(),
                "INVALID_TIME",
                "{bad}"
            );
        }
    }

    #[test]
    fn instants_keep_the_offset_meaning() {
        let t = parse_instant("2026-11-23T17:30:00+05:30", "p").unwrap();
        assert_eq!(format_instant(t), "2026-11-23T12:00:00Z");
        for bad in [
            "2026-11-23 12:00",
            "2026-11-23T12:00:00",
            "2026-02-30T12:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T12:00:60Z",
            "2026-11-23T12:00:00.Z",
            "2026-11-23T12:00:00+5:30",
            "2026-11-23T12:00:00Zjunk",
            "2026-11-23 12:00:00Z",
            "2026-11-23T12:00:00+24:00",
            "+12026-11-23T12:00:00Z",
            "yesterday",
        ] {
            assert!(parse_instant(bad, "p").is_err(), "{bad}");
        }
        assert_eq!(
            format_instant(parse_instant("2026-11-23t12:00:00-00:00", "p").unwrap()),
            "2026-11-23T12:00:00Z"
        );
        let t = parse_instant("2028-02-29T23:59:59.5-01:00", "p").unwrap();
        assert_eq!(format_instant(t), "2028-03-01T00:59:59.500Z");
        assert_eq!(
            format_instant(parse_instant("2026-01-01T00:00:00.000001z", "p").unwrap()),
            "2026-01-01T00:00:00.000001Z"
        );
    }
}
