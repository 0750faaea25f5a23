//! Times and durations. The core never reads a clock: `now` is always an argument.

use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};

/// An instant, in UTC.
pub type Instant = DateTime<Utc>;

/// Parses an RFC 3339 date-time with an offset ("2026-11-23T12:00:00Z",
/// "2026-11-23T17:30:00.250+05:30"). The date must exist (no February 30) and seconds run to 59.
pub fn parse_instant(s: &str, path: &str) -> Result<Instant> {
    rfc3339(s.as_bytes()).ok_or_else(|| Error::InvalidTime {
        path: path.to_string(),
        message: format!(
            "`{}` is not an RFC 3339 date-time with an offset, like 2026-11-23T12:00:00Z",
            s.chars().take(40).collect::<String>()
        ),
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, by hand: chrono's general parser would
/// bring its whole format module into the Wasm.
fn rfc3339(b: &[u8]) -> Option<Instant> {
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5, 2)?, num(8, 2)?)?;
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(*b.get(i)? - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10u32.pow(9u32.saturating_sub(u32::try_from(i - start).ok()?));
    }
    let offset_seconds = match b.get(i)? {
        b'Z' | b'z' if b.len() == i + 1 => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let local = date
        .and_hms_nano_opt(hour, minute, second, nanos)?
        .and_utc();
    local.checked_sub_signed(Duration::try_seconds(offset_seconds)?)
}

/// Formats an instant the way every output does: RFC 3339, UTC, `Z`, with fractional seconds
/// only when the instant has them (in groups of three digits).
pub fn format_instant(t: Instant) -> String {
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        let keep = if nanos % 1_000_000 == 0 {
            3
        } else if nanos % 1_000 == 0 {
            6
        } else {
            9
        };
        out.push('.');
        out.push_str(digits.get(..keep).unwrap_or(&digits));
    }
    out.push('Z');
    out
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
    // Units come largest first, each at most once (W, D, then after T: H, M, S).
    let mut last = u32::MAX;
    let mut after_t = 0;
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => {
                in_time = true;
                after_t = 0;
            }
            '0'..='9' => number.push(c),
            _ => {
                let n: i64 = number
                    .parse()
                    .map_err(|_| bad("a number must come before each unit"))?;
                number.clear();
                let (rank, per) = match (c, in_time) {
                    ('W', false) => (5, 7 * 86_400),
                    ('D', false) => (4, 86_400),
                    ('H', true) => (3, 3_600),
                    ('M', true) => (2, 60),
                    ('S', true) => (1, 1),
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
                if rank >= last {
                    return Err(bad("units go largest first, each once"));
                }
                last = rank;
                any = true;
                after_t += 1;
            }
        }
    }
    if in_time && after_t == 0 {
        return Err(bad("a T must be followed by hours, minutes or seconds"));
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
            "yesterday",
        ] {
            assert!(parse_instant(bad, "p").is_err(), "{bad}");
        }
        let t = parse_instant("2028-02-29T23:59:59.5-01:00", "p").unwrap();
        assert_eq!(format_instant(t), "2028-03-01T00:59:59.500Z");
        assert_eq!(
            format_instant(parse_instant("2026-01-01T00:00:00.000001z", "p").unwrap()),
            "2026-01-01T00:00:00.000001Z"
        );
    }
}
