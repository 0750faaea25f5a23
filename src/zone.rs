//! Local time without a time zone database: the manifest carries, for each zone it names, its UTC
//! offsets over its validity (`time_zones`, written by `couponctl sign`), so every runtime agrees
//! and the Wasm carries no zone data. On top of that: recurring schedules (days of the week and
//! time-of-day windows) and the calendar periods (day, ISO week, month) that periodic limits count.

use crate::error::Result;
use crate::json::Node;
use crate::reason::Reason;
use chrono::Datelike;

use crate::time::{date, Instant};
use std::borrow::Cow;

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
    /// Reads a zone's table: `[{ from, offset }]`, `from` strictly going up, the first at or
    /// before `issued_at`, offsets within 18 hours.
    #[inline(never)]
    pub fn read(name: &str, node: &Node, issued_at: Instant) -> Result<Zone> {
        let mut changes: Vec<(i64, i64)> = Vec::new();
        for item in node.items()? {
            let o = item.obj(&["from", "offset"])?;
            let from = crate::manifest::instant(&o.req("from")?)?.timestamp();
            let off = o.req("offset")?;
            let offset = parse_offset(off.str()?)
                .ok_or_else(|| off.error("an offset is +HH:MM or -HH:MM, at most 18 hours"))?;
            if changes.last().is_some_and(|&(last, _)| from <= last) {
                return Err(item.error("entries go up by `from`"));
            }
            changes.push((from, offset));
        }
        match changes.first() {
            Some(&(first, _)) if first <= issued_at.timestamp() => Ok(Zone {
                name: Cow::Owned(name.to_string()),
                changes,
            }),
            _ => Err(node
                .error("the table must start at or before issued_at (couponctl sign writes it)")),
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
    #[inline(never)]
    pub fn read(tables: Option<&Node>, issued_at: Instant) -> Result<Zones> {
        let mut list = vec![UTC.clone()];
        if let Some(tables) = tables {
            for (name, table) in tables.entries()? {
                list.push(Zone::read(name, &table, issued_at)?);
            }
        }
        Ok(Zones {
            named: vec![false; list.len()],
            list,
            default: 0,
        })
    }

    /// The index of a named zone (`None`: the default zone).
    #[inline(never)]
    pub fn resolve(&mut self, name: Option<&Node>) -> Result<usize> {
        let Some(n) = name else {
            return Ok(self.default);
        };
        let s = n.str()?;
        let i = self.list.iter().position(|z| z.name == s).ok_or_else(|| {
            n.error(format!(
                "`{s}` has no offsets in `time_zones` (couponctl sign writes them)"
            ))
        })?;
        if let Some(seen) = self.named.get_mut(i) {
            *seen = true;
        }
        Ok(i)
    }

    /// The zones, once every table has been named somewhere.
    #[inline(never)]
    pub fn finish(self, root: &Node) -> Result<Vec<Zone>> {
        match self
            .list
            .iter()
            .zip(&self.named)
            .skip(1)
            .find(|(_, n)| !**n)
        {
            Some((z, _)) => Err(root.error(format!(
                "`time_zones` has `{}`, which no schedule or setting names",
                z.name
            ))),
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
    /// Reads `{ time_zone?, days?, hours? }`; `zone_of` resolves a zone name to its index.
    #[inline(never)]
    pub fn read(
        node: &Node,
        zone_of: &mut dyn FnMut(Option<&Node>) -> Result<usize>,
    ) -> Result<Schedule> {
        let o = node.obj(&["time_zone", "days", "hours"])?;
        let zone = zone_of(o.get("time_zone").as_ref())?;
        let mut days = 0u8;
        let mut words = String::new();
        if let Some(list) = o.get("days") {
            for d in list.items()? {
                let i = DAYS
                    .iter()
                    .position(|n| *n == d.str().unwrap_or_default())
                    .ok_or_else(|| d.error("a day is mon, tue, wed, thu, fri, sat or sun"))?;
                days |= 1 << i;
            }
            if days == 0 {
                return Err(list.error("list at least one day, or leave `days` out"));
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
        match o.get("hours") {
            None => hours.push((0, 86_400)),
            Some(list) => {
                let items = list.items()?;
                if items.is_empty() || items.len() > 10 {
                    return Err(list.error("give 1 to 10 windows, or leave `hours` out"));
                }
                for w in items {
                    let wo = w.obj(&["from", "to"])?;
                    let time = |key: &str| -> Result<(i64, &str)> {
                        let n = wo.req(key)?;
                        let s = n.str()?;
                        match s.as_bytes() {
                            [a, b, b':', c, d] => hhmm([*a, *b, *c, *d])
                                .filter(|&t| t <= 86_400)
                                .map(|t| (t, s)),
                            _ => None,
                        }
                        .ok_or_else(|| n.error("a time is HH:MM, from 00:00 to 24:00"))
                    };
                    let (from, from_s) = time("from")?;
                    let (to, to_s) = time("to")?;
                    if from == 86_400 {
                        return Err(w.error("a window starts before 24:00"));
                    }
                    words.push(' ');
                    words.push_str(from_s);
                    words.push('-');
                    words.push_str(to_s);
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
