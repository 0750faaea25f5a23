//! The offset table a manifest carries for each time zone it names (`time_zones`, see
//! docs/manifest.md): written at signing time from the system's zone database (TZif files under
//! /usr/share/zoneinfo, or `$TZDIR`), so the engine needs no zone data and every runtime agrees.
//! `inspect --tz` reads the same files, so it shows times with the offsets `sign` writes.

use crate::{fail, Out};
use chrono::FixedOffset;
use edge_coupons::rules::{Map, Value};
use edge_coupons::time::{format_instant, parse_instant, Instant};

/// Adds a table to `root.time_zones` for every zone named in `settings.time_zone` or a coupon's
/// `schedule.time_zone` that has none yet. Returns the names added.
pub fn fill(root: &mut Map) -> Out<Vec<String>> {
    let mut named: Vec<String> = Vec::new();
    let mut name = |v: Option<&Value>| {
        if let Some(Value::Str(z)) = v {
            if z != "UTC" && !named.contains(z) {
                named.push(z.clone());
            }
        }
    };
    if let Some(Value::Map(settings)) = root.get("settings") {
        name(settings.get("time_zone"));
    }
    if let Some(Value::List(coupons)) = root.get("coupons") {
        for c in coupons {
            if let Value::Map(c) = c {
                if let Some(Value::Map(s)) = c.get("schedule") {
                    name(s.get("time_zone"));
                }
            }
        }
    }
    // A `time_zones` that is not an object is left for the engine to refuse, not replaced.
    let mut tables = match root.get("time_zones") {
        Some(Value::Map(t)) => t.clone(),
        None | Some(Value::Null) => Map::default(),
        Some(_) => return Ok(Vec::new()),
    };
    named.retain(|z| tables.get(z).is_none());
    if named.is_empty() {
        return Ok(named);
    }
    let time = |key: &str| -> Out<Instant> {
        match root.get(key) {
            Some(Value::Str(s)) => parse_instant(s, key).map_err(|e| fail(e.to_string())),
            _ => Err(fail(format!(
                "the manifest needs `{key}` to write its time zone offsets"
            ))),
        }
    };
    let (from, until) = (time("issued_at")?, time("expires_at")?);
    for zone in &named {
        tables.insert(zone.clone(), Value::List(table(zone, from, until)?));
    }
    root.insert("time_zones".into(), Value::Map(tables));
    Ok(named)
}

/// Where `inspect` shows times: a fixed UTC offset, or an IANA zone and its changes.
#[derive(Debug, Clone)]
pub enum Tz {
    Fixed(FixedOffset),
    /// The changes `(unix time, offset seconds)` of the zone's TZif file.
    Zone(Vec<(i64, i64)>),
}

impl Tz {
    /// `--tz`: `UTC`, `Z`, an offset (`+05:30`, `-08:00`, `+01`) or an IANA zone name read from
    /// the system's zone database.
    pub fn parse(s: &str) -> Result<Tz, String> {
        if matches!(s, "Z" | "z" | "UTC") {
            return Ok(Tz::Fixed(chrono::Offset::fix(&chrono::Utc)));
        }
        if let Some((sign, rest)) = match s.as_bytes().first() {
            Some(b'+') => Some((1, s.get(1..).unwrap_or(""))),
            Some(b'-') => Some((-1, s.get(1..).unwrap_or(""))),
            _ => None,
        } {
            let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
            return match (h.parse::<i32>(), m.parse::<i32>()) {
                (Ok(h), Ok(m)) if h <= 23 && m <= 59 => {
                    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
                        .map(Tz::Fixed)
                        .ok_or_else(|| format!("`{s}` is not a UTC offset"))
                }
                _ => Err(format!(
                    "`{s}` is not a UTC offset such as +05:30, -08:00 or Z"
                )),
            };
        }
        read_zone(s).map(Tz::Zone).map_err(|e| {
            format!(
                "give an IANA time zone name (Asia/Kolkata) or a UTC offset (+05:30, -08:00, Z): {}",
                e.message
            )
        })
    }

    /// The offset in force at `t`.
    pub fn offset_at(&self, t: Instant) -> FixedOffset {
        match self {
            Tz::Fixed(o) => *o,
            Tz::Zone(changes) => {
                let at = t.timestamp();
                let secs = changes
                    .iter()
                    .take_while(|&&(from, _)| from <= at)
                    .last()
                    .map_or(0, |c| c.1);
                FixedOffset::east_opt(i32::try_from(secs).unwrap_or(0))
                    .unwrap_or(chrono::Offset::fix(&chrono::Utc))
            }
        }
    }
}

/// `[{ from, offset }]` for `zone` from the offset in force at `from` through `until`.
fn table(zone: &str, from: Instant, until: Instant) -> Out<Vec<Value>> {
    let changes = read_zone(zone)?;
    let (from, until) = (from.timestamp(), until.timestamp());
    // Fat TZif files list daylight-saving changes up to 2037; past the last one only the file's
    // rule string knows, which this tool does not read.
    let last = changes.last().map_or(i64::MIN, |c| c.0);
    if last > 1_893_456_000 && until > last {
        return Err(fail(format!(
            "{zone}: the zone database lists no changes after {}; sign a shorter validity",
            Instant::from_timestamp(last, 0)
                .map(format_instant)
                .unwrap_or_default()
        )));
    }
    // The change in force at `from` (or the first type, before any transition), then each change
    // up to `until`.
    let start = changes.iter().rposition(|&(at, _)| at <= from);
    let mut out = Vec::new();
    let first_offset = start
        .and_then(|i| changes.get(i))
        .map_or_else(|| changes.first().map_or(0, |c| c.1), |c| c.1);
    let first_at = start.and_then(|i| changes.get(i)).map_or(from, |c| c.0);
    out.push(entry(zone, first_at, first_offset)?);
    for &(at, offset) in changes.iter().skip(start.map_or(0, |i| i + 1)) {
        if at > until {
            break;
        }
        if at > first_at {
            out.push(entry(zone, at, offset)?);
        }
    }
    Ok(out)
}

fn entry(zone: &str, at: i64, offset: i64) -> Out<Value> {
    if offset % 60 != 0 || offset.abs() > 18 * 3600 {
        return Err(fail(format!(
            "{zone}: an offset of {offset} seconds cannot be written as +HH:MM"
        )));
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let m = offset.abs() / 60;
    let when =
        Instant::from_timestamp(at, 0).ok_or_else(|| fail(format!("{zone}: bad time {at}")))?;
    let pairs = vec![
        ("from".to_string(), Value::Str(format_instant(when))),
        (
            "offset".to_string(),
            Value::Str(format!("{sign}{:02}:{:02}", m / 60, m % 60)),
        ),
    ];
    Map::from_pairs(pairs).map(Value::Map).map_err(fail)
}

/// A zone's changes `(unix time, offset seconds)` from its TZif file; the first entry, at
/// `i64::MIN`, is the offset before any transition.
fn read_zone(zone: &str) -> Out<Vec<(i64, i64)>> {
    let safe = !zone.is_empty()
        && zone
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
    if !safe {
        return Err(fail(format!("`{zone}` is not an IANA time zone name")));
    }
    let dir = std::env::var("TZDIR").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
    let path = format!("{dir}/{zone}");
    let data = std::fs::read(&path).map_err(|e| {
        fail(format!(
            "`{zone}` is not a time zone this machine knows ({path}: {e})"
        ))
    })?;
    parse_tzif(&data).ok_or_else(|| fail(format!("{path}: not a TZif file this tool reads")))
}

/// The 64-bit (version 2+) data block of a TZif file (RFC 8536).
fn parse_tzif(data: &[u8]) -> Option<Vec<(i64, i64)>> {
    let counts = |at: usize| -> Option<[usize; 6]> {
        if data.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            let b = data.get(at + 20 + 4 * i..at + 24 + 4 * i)?;
            *slot = u32::from_be_bytes(b.try_into().ok()?) as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, time, types, chars] = counts(0)?;
    if *data.get(4)? < b'2' {
        return None;
    }
    let v2 = 44 + time * 5 + types * 6 + chars + leap * 8 + isstd + isut;
    let [_, _, _, time, types, _] = counts(v2)?;
    let base = v2 + 44;
    let be64 = |at: usize| -> Option<i64> {
        Some(i64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
    };
    let offset_of = |t: usize| -> Option<i64> {
        let at = base + time * 9 + t * 6;
        Some(i64::from(i32::from_be_bytes(
            data.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    if types == 0 {
        return None;
    }
    let mut out = vec![(i64::MIN, offset_of(0)?)];
    for i in 0..time {
        let t = usize::from(*data.get(base + time * 8 + i)?);
        out.push((be64(base + i * 8)?, offset_of(t)?));
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::json::ToJson;

    #[test]
    fn berlin_2026_from_the_system_database() {
        let t = |s: &str| parse_instant(s, "t").unwrap();
        let Ok(rows) = table(
            "Europe/Berlin",
            t("2026-03-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
        ) else {
            return; // no zone database on this machine
        };
        let text: Vec<String> = rows
            .iter()
            .map(|r| {
                let mut out = String::new();
                r.write_json(&mut out);
                out
            })
            .collect();
        assert_eq!(
            text,
            [
                r#"{"from":"2025-10-26T01:00:00Z","offset":"+01:00"}"#,
                r#"{"from":"2026-03-29T01:00:00Z","offset":"+02:00"}"#,
                r#"{"from":"2026-10-25T01:00:00Z","offset":"+01:00"}"#,
            ]
        );
    }

    #[test]
    fn tz_takes_offsets_and_iana_names() {
        let t = |s: &str| parse_instant(s, "t").unwrap();
        let off = |tz: &Tz, s: &str| tz.offset_at(t(s)).local_minus_utc();
        assert_eq!(
            off(&Tz::parse("+05:30").unwrap(), "2026-01-01T00:00:00Z"),
            19800
        );
        assert_eq!(off(&Tz::parse("Z").unwrap(), "2026-01-01T00:00:00Z"), 0);
        assert!(Tz::parse("+25:00").is_err());
        assert!(Tz::parse("Mars/Olympus").is_err());
        let Ok(berlin) = Tz::parse("Europe/Berlin") else {
            return; // no zone database on this machine
        };
        assert_eq!(off(&berlin, "2026-01-15T12:00:00Z"), 3600);
        assert_eq!(off(&berlin, "2026-07-15T12:00:00Z"), 7200);
    }

    #[test]
    fn names_cannot_leave_the_zone_directory() {
        assert!(read_zone("../../etc/passwd").is_err());
        assert!(read_zone("Europe/../../etc").is_err());
        assert!(read_zone("").is_err());
    }
}
