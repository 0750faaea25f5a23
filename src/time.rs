//! Times and durations. The core never reads a clock: `now` is always an argument.

use crate::error::{Error, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// An instant, in UTC.
pub type Instant = DateTime<Utc>;

/// Parses an RFC 3339 date-time with an offset ("2026-11-23T12:00:00Z", "2026-11-23T17:30:00+05:30").
pub fn parse_instant(s: &str, path: &str) -> Result<Instant> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::InvalidTime {
            path: path.to_string(),
            message: format!(
                "`{}` is not an RFC 3339 date-time with an offset, like 2026-11-23T12:00:00Z ({e})",
                s.chars().take(40).collect::<String>()
            ),
        })
}

/// Formats an instant the way every output does: RFC 3339, UTC, `Z`, no fractional seconds unless
/// the instant has them.
pub fn format_instant(t: Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an ISO 8601 duration of exact length: weeks, days, hours, minutes, seconds ("P7D",
/// "PT48H", "P1DT12H", "PT15M"). Years and months are refused: their length depends on the
/// calendar, which a relative expiry must not.
pub fn parse_duration(s: &str, path: &str) -> Result<Duration> {
    let bad = |why: &str| Error::InvalidTime {
        path: path.to_string(),
        message: format!(
            "`{}` is not an ISO 8601 duration like P7D or PT48H: {why}",
            s.chars().take(40).collect::<String>()
        ),
    };
    let rest = s
        .strip_prefix('P')
        .ok_or_else(|| bad("it must start with P"))?;
    let mut in_time = false;
    let mut number = String::new();
    let mut seconds: i64 = 0;
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' => number.push(c),
            _ => {
                let n: i64 = number
                    .parse()
                    .map_err(|_| bad("a number must come before each unit"))?;
                number.clear();
                let per = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    ('Y' | 'M', false) => {
                        return Err(bad("years and months have no fixed length; use days"))
                    }
                    _ => return Err(bad("unknown unit")),
                };
                seconds = n
                    .checked_mul(per)
                    .and_then(|x| seconds.checked_add(x))
                    .filter(|&x| x <= 100 * 366 * 86_400)
                    .ok_or_else(|| bad("longer than 100 years"))?;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return Err(bad("it needs at least one number with a unit"));
    }
    Duration::try_seconds(seconds).ok_or_else(|| bad("out of range"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P7D", "p").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("PT48H", "p").unwrap(), Duration::hours(48));
        assert_eq!(
            parse_duration("P1DT12H30M", "p").unwrap(),
            Duration::minutes(36 * 60 + 30)
        );
        assert_eq!(parse_duration("P2W", "p").unwrap(), Duration::days(14));
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
        assert!(parse_instant("2026-11-23 12:00", "p").is_err());
        assert!(parse_instant("2026-11-23T12:00:00", "p").is_err());
    }
}
