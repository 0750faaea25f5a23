//! Local time without a time zone database: the manifest carries, for each zone it names, its UTC
//! offsets over its validity (`time_zones`, written by `couponctl sign`), so every runtime agrees
//! and the Wasm carries no zone data. On top of that: recurring schedules (days of the week and
//! time-of-day windows) and the calendar periods (day, ISO week, month) that periodic limits count.

use crate::error::{invalid, Result};
use crate::reason::Reason;
use crate::time::{date, parse_instant, Instant};
use chrono::Datelike;
use serde::Deserialize;
use std::borrow::Cow;

/// One entry of a zone's offset table as the manifest writes it: `{ from, offset }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct OffsetEntry {
    from: String,
    offset: String,
}

/// A schedule as the manifest writes it: `{ time_zone?, days?, hours? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ScheduleDoc {
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    days: Option<Vec<String>>,
    #[serde(default)]
    hours: Option<Vec<Window>>,
}

/// A time-of-day window: `{ from, to }`, `HH:MM`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Window {
    from: String,
    to: String,
}

crate::de::objects!(OffsetEntry, ScheduleDoc, Window);

/// A zone's offsets: `(from, offset)` in seconds, `from` (Unix time) going up.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: Cow<'static, str>,
    changes: Vec<(i64, i64)>,
}

/// UTC, which needs no table.
pub static UTC: Zone = Zone {
    name: Cow::Borrowed("UTC"),
    changes: Vec::new(),
};

impl Zone {
    /// Checks a zone's table: `[{ from, offset }]`, `from` strictly going up, the first at or
    /// before `issued_at`, offsets within 18 hours. Errors name the field relative to the table.
    #[inline(never)]
    pub fn compile(name: &str, table: &[OffsetEntry], issued_at: Instant) -> Result<Zone> {
        let mut changes: Vec<(i64, i64)> = Vec::with_capacity(table.len());
        for (i, entry) in table.iter().enumerate() {
            let from = parse_instant(&entry.from, "")
                .map_err(|e| invalid("from", e.to_string()).item(i))?
                .timestamp();
            let offset = parse_offset(&entry.offset).ok_or_else(|| {
                invalid("offset", "an offset is +HH:MM or -HH:MM, at most 18 hours").item(i)
            })?;
            if changes.last().is_some_and(|&(last, _)| from <= last) {
                return Err(invalid("", "entries go up by `from`").item(i));
            }
            changes.push((from, offset));
        }
        match changes.first() {
            Some(&(first, _)) if first <= issued_at.timestamp() => Ok(Zone {
                name: Cow::Owned(name.to_string()),
                changes,
            }),
            _ => Err(invalid(
                "",
                "the table must start at or before issued_at (couponctl sign writes it)",
            )),
        }
    }

    /// The offset in force at `t`, in seconds east of UTC.
    fn offset(&self, t: i64) -> i64 {
        self.changes
            .iter()
            .take_while(|&&(from, _)| from <= t)
            .last()
            .or(self.changes.first())
            .map_or(0, |&(_, off)| off)
    }

    /// `t` as local seconds since 1970-01-01T00:00 local.
    pub fn local(&self, t: Instant) -> i64 {
        let s = t.timestamp();
        s + self.offset(s)
    }
}

/// The zones a manifest names: UTC first, then each table of `time_zones`.
#[derive(Debug)]
pub struct Zones {
    pub list: Vec<Zone>,
    named: Vec<bool>,
    /// `settings.time_zone`: schedules without their own zone, and periodic limits.
    pub default: usize,
}

impl Zones {
    /// The zones of `time_zones` (in the order of their names), after UTC. Errors name the
    /// field relative to `time_zones`.
    #[inline(never)]
    pub fn compile(tables: &[(String, Vec<OffsetEntry>)], issued_at: Instant) -> Result<Zones> {
        let mut list = vec![UTC.clone()];
        let mut order: Vec<&(String, Vec<OffsetEntry>)> = tables.iter().collect();
        order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, table) in order {
            list.push(Zone::compile(name, table, issued_at).map_err(|e| e.under(name))?);
        }
        Ok(Zones {
            named: vec![false; list.len()],
            list,
            default: 0,
        })
    }

    /// The index of a named zone (`None`: the default zone). An error has no path: the caller
    /// knows the field.
    #[inline(never)]
    pub fn resolve(&mut self, name: Option<&str>) -> Result<usize> {
        let Some(s) = name else {
            return Ok(self.default);
        };
        let i = self.list.iter().position(|z| z.name == s).ok_or_else(|| {
            invalid(
                "",
                format!("`{s}` has no offsets in `time_zones` (couponctl sign writes them)"),
            )
        })?;
        if let Some(seen) = self.named.get_mut(i) {
            *seen = true;
        }
        Ok(i)
    }

    /// The zones, once every table has been named somewhere.
    #[inline(never)]
    pub fn finish(self) -> Result<Vec<Zone>> {
        match self
            .list
            .iter()
            .zip(&self.named)
            .skip(1)
            .find(|(_, n)| !**n)
        {
            Some((z, _)) => Err(invalid(
                "",
                format!(
                    "`time_zones` has `{}`, which no schedule or setting names",
                    z.name
                ),
            )),
            None => Ok(self.list),
        }
    }
}

/// `+HH:MM` / `-HH:MM`, at most 18 hours, in seconds.
#[inline(never)]
fn parse_offset(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (sign, rest) = match b.split_first()? {
        (b'+', r) => (1, r),
        (b'-', r) => (-1, r),
        _ => return None,
    };
    let secs = match rest {
        [h1, h2, b':', m1, m2] => hhmm([*h1, *h2, *m1, *m2])?,
        _ => return None,
    };
    (secs <= 18 * 3600).then_some(sign * secs)
}

/// Four ASCII digits `HHMM` as seconds (hours up to 24, minutes up to 59).
#[inline(never)]
fn hhmm(d: [u8; 4]) -> Option<i64> {
    let mut n = [0i64; 4];
    for (slot, c) in n.iter_mut().zip(d) {
        *slot = i64::from(c.checked_sub(b'0').filter(|v| *v <= 9)?);
    }
    let [h1, h2, m1, m2] = n;
    let (h, m) = (h1 * 10 + h2, m1 * 10 + m2);
    (h <= 24 && m <= 59).then_some(h * 3600 + m * 60)
}

/// Monday = 0 ... Sunday = 6, of a day number.
fn weekday(days: i64) -> u32 {
    date(days).map_or(0, |d| d.weekday().num_days_from_monday())
}

/// The calendar periods an instant falls in, in a zone: `YYYY-MM-DD`, ISO `YYYY-Www`, `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Periods {
    pub day: String,
    pub week: String,
    pub month: String,
}

impl Periods {
    #[inline(never)]
    pub fn of(zone: &Zone, t: Instant) -> Periods {
        let day = date(zone.local(t).div_euclid(86_400)).unwrap_or_default();
        let (y, m, d) = (day.year(), day.month(), day.day());
        let iso = day.iso_week();
        let (iso_year, week) = (iso.year(), iso.week());
        Periods {
            day: format!("{y:04}-{m:02}-{d:02}"),
            week: format!("{iso_year:04}-W{week:02}"),
            month: format!("{y:04}-{m:02}"),
        }
    }
}

/// A recurring schedule: windows that start on some days of the week, in local time.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Index into the manifest's zones.
    pub zone: usize,
    /// Bit `d` set: a window may start on weekday `d` (Monday = 0).
    days: u8,
    /// `(from, to)` in seconds after local midnight; `to <= from` crosses midnight.
    hours: Vec<(i64, i64)>,
    /// The rule in words, for the reason.
    pub words: String,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Schedule {
    /// Checks `{ time_zone?, days?, hours? }`; `zone_of` resolves a zone name to its index.
    /// Errors name the field relative to the schedule.
    #[inline(never)]
    pub fn compile(
        doc: &ScheduleDoc,
        zone_of: &mut dyn FnMut(Option<&str>) -> Result<usize>,
    ) -> Result<Schedule> {
        let zone = zone_of(doc.time_zone.as_deref()).map_err(|e| e.under("time_zone"))?;
        let mut days = 0u8;
        let mut words = String::new();
        if let Some(list) = &doc.days {
            for (i, d) in list.iter().enumerate() {
                let n = DAYS.iter().position(|n| n == d).ok_or_else(|| {
                    invalid("", "a day is mon, tue, wed, thu, fri, sat or sun")
                        .item(i)
                        .under("days")
                })?;
                days |= 1 << n;
            }
            if days == 0 {
                return Err(invalid(
                    "days",
                    "list at least one day, or leave `days` out",
                ));
            }
            for (i, name) in DAYS.iter().enumerate() {
                if days & (1 << i) != 0 {
                    words.push_str(if words.is_empty() { "on " } else { ", " });
                    words.push_str(name);
                }
            }
        } else {
            days = 0x7f;
            words.push_str("every day");
        }
        let mut hours = Vec::new();
        match &doc.hours {
            None => hours.push((0, 86_400)),
            Some(items) => {
                if items.is_empty() || items.len() > 10 {
                    return Err(invalid(
                        "hours",
                        "give 1 to 10 windows, or leave `hours` out",
                    ));
                }
                for (i, w) in items.iter().enumerate() {
                    let at = |e: Box<crate::Error>| e.item(i).under("hours");
                    let time = |key: &str, s: &str| -> Result<i64> {
                        match s.as_bytes() {
                            [a, b, b':', c, d] => hhmm([*a, *b, *c, *d]).filter(|&t| t <= 86_400),
                            _ => None,
                        }
                        .ok_or_else(|| invalid(key, "a time is HH:MM, from 00:00 to 24:00"))
                    };
                    let from = time("from", &w.from).map_err(at)?;
                    let to = time("to", &w.to).map_err(at)?;
                    if from == 86_400 {
                        return Err(at(invalid("", "a window starts before 24:00")));
                    }
                    words.push(' ');
                    words.push_str(&w.from);
                    words.push('-');
                    words.push_str(&w.to);
                    hours.push((from, to));
                }
            }
        }
        Ok(Schedule {
            zone,
            days,
            hours,
            words,
        })
    }

    /// Whether a window is open at `t`, in `zone`.
    #[inline(never)]
    pub fn open(&self, zone: &Zone, t: Instant) -> bool {
        let local = zone.local(t);
        let (day, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let starts_on = |d: i64| self.days & (1 << weekday(d)) != 0;
        self.hours.iter().any(|&(from, to)| {
            if from < to {
                starts_on(day) && from <= secs && secs < to
            } else {
                (starts_on(day) && secs >= from) || (starts_on(day - 1) && secs < to)
            }
        })
    }

    /// `OUTSIDE_SCHEDULE`, with the rule in words.
    #[inline(never)]
    pub fn closed(&self, zone: &Zone) -> Reason {
        let words = format!("{} ({})", self.words, zone.name);
        Reason::new("OUTSIDE_SCHEDULE", format!("this coupon is valid {words}"))
            .with("schedule", words)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::{civil, parse_instant};

    fn at(s: &str) -> Instant {
        parse_instant(s, "t").unwrap()
    }

    #[test]
    fn civil_dates_and_weeks() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(-1), (1969, 12, 31));
        let p = Periods::of(&UTC, at("2028-02-29T23:59:59Z"));
        assert_eq!(
            (p.day.as_str(), p.month.as_str()),
            ("2028-02-29", "2028-02")
        );
        // 2026-12-31 is a Thursday: ISO week 53 of 2026, which runs to Sunday 2027-01-03;
        // 2024-12-30 (a Monday) is in week 1 of 2025.
        for (t, week) in [
            ("2026-12-31T12:00:00Z", "2026-W53"),
            ("2027-01-03T12:00:00Z", "2026-W53"),
            ("2027-01-04T00:00:00Z", "2027-W01"),
            ("2024-12-30T00:00:00Z", "2025-W01"),
            ("2026-11-24T00:00:00Z", "2026-W48"),
        ] {
            assert_eq!(Periods::of(&UTC, at(t)).week, week, "{t}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+05:30"), Some(19_800));
        assert_eq!(parse_offset("-18:00"), Some(-64_800));
        assert_eq!(parse_offset("+18:01"), None);
        assert_eq!(parse_offset("0530"), None);
        let z = Zone {
            name: Cow::Borrowed("Europe/Berlin"),
            changes: vec![(1_761_440_400, 3600), (1_774_746_000, 7200)],
        };
        // 2026-03-29T01:00:00Z is 1774746000: the clocks go from 02:00 to 03:00 local.
        assert_eq!(z.local(at("2026-03-29T00:59:59Z")) % 86_400, 3600 * 2 - 1);
        assert_eq!(z.local(at("2026-03-29T01:00:00Z")) % 86_400, 3600 * 3);
    }
}
