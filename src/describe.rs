//! A coupon's settings in words, one labelled line each: what `couponctl inspect` prints and what
//! the Worker's console shows (`engine.describe()`), so both say the same thing in the same words.
//! Times are shown at the offset a caller gives for each instant (the CLI's `--tz`, a fixed offset
//! or an IANA zone) or, without one, in the manifest's own time zone (`settings.time_zone`, from its
//! offset table at each instant).

use crate::manifest::{
    Activation, Audience, Codes, Coupon, Expiry, ExpiryFrom, Manifest, Trigger, Visibility,
    PERIOD_LIMITS,
};
use crate::text::join;
use crate::time::{civil, Duration, Instant};
use crate::zone::UTC;

/// One line: a short label (`name`, `redeem`, `audience`, ...) and the setting in words.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Line {
    pub label: &'static str,
    pub text: String,
}

/// A coupon in words: its id and signed status, whether it is hidden, its reward summary, and its lines in a fixed
/// order (name, redeem, audience, activation, given on, expiry, window, schedule, limits,
/// conditions, reward, priority); settings a coupon does not have get no line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Description {
    pub coupon_id: String,
    pub status: &'static str,
    pub hidden: bool,
    /// The reward as a shopper reads it (the tray's `summary`).
    pub summary: String,
    pub lines: Vec<Line>,
}

/// Seconds east of UTC at an instant: the zone times are shown in.
pub type OffsetAt<'a> = &'a dyn Fn(Instant) -> i64;

/// Every coupon of `m` (or only `only`) in words; `offset`: show each time at the offset it gives,
/// or `None` for the manifest's time zone.
pub fn describe(m: &Manifest, only: Option<&str>, offset: Option<OffsetAt>) -> Vec<Description> {
    m.coupons
        .iter()
        .filter(|c| only.is_none_or(|id| c.id == id))
        .map(|c| coupon(m, c, offset))
        .collect()
}

/// `t` as local date and time: "2026-01-01 05:30 +05:30" ("UTC" for offset 0).
pub fn at(m: &Manifest, t: Instant, offset: Option<OffsetAt>) -> String {
    let off = offset.map(|f| f(t)).unwrap_or_else(|| {
        let zone = m.zones.get(m.time_zone).unwrap_or(&UTC);
        zone.local(t) - t.timestamp()
    });
    let local = t.timestamp() + off;
    let (y, mo, d) = civil(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    let zone = match off {
        0 => "UTC".to_string(),
        _ => format!(
            "{}{:02}:{:02}",
            if off < 0 { '-' } else { '+' },
            off.abs() / 3600,
            off.abs() % 3600 / 60
        ),
    };
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02} {zone}",
        s / 3600,
        s % 3600 / 60
    )
}

/// A duration in its largest whole unit: "2d", "36h", "90m", "45s".
pub fn short(d: Duration) -> String {
    let s = d.num_seconds();
    match (s % 86400, s % 3600, s % 60) {
        (0, _, _) => format!("{}d", s / 86400),
        (_, 0, _) => format!("{}h", s / 3600),
        (_, _, 0) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// An event trigger in words: "event `purchase` where ... + 1h".
pub fn trigger(t: &Trigger) -> String {
    let filter = t
        .filter
        .as_ref()
        .map(|w| format!(" where {}", w.describe()))
        .unwrap_or_default();
    let delay = match t.delay.num_seconds() {
        0 => String::new(),
        _ => format!(" + {}", short(t.delay)),
    };
    format!("event `{}`{filter}{delay}", t.event)
}

fn coupon(m: &Manifest, c: &Coupon, offset: Option<OffsetAt>) -> Description {
    let at = |t: Instant| at(m, t, offset);
    let mut lines = Vec::new();
    let mut line = |label: &'static str, text: String| lines.push(Line { label, text });
    line("name", c.name.clone());
    let redeem = |codes: &Codes| match codes {
        Codes::Static {
            code: Some(code), ..
        } => format!("static code {code}"),
        Codes::Static { code: None, .. } => "static code (hash only)".into(),
        Codes::Bulk {
            prefix,
            length,
            check,
        } => format!(
            "bulk codes {prefix}…, {length} characters{}",
            if *check { ", check character" } else { "" }
        ),
        Codes::Automatic => "automatic".into(),
        Codes::Multi(_) => String::new(),
    };
    line(
        "redeem",
        join(c.codes.sources().iter().map(redeem), "; or "),
    );
    line(
        "audience",
        match &c.audience {
            Audience::All => "everyone".to_string(),
            Audience::Segment { name, rule } => format!("segment `{name}`: {}", rule.describe()),
            Audience::Assigned => "assigned users".to_string(),
        },
    );
    match &c.activation {
        Some(Activation::Time(t)) => line("activation", at(*t)),
        Some(Activation::Event(t)) => line("activation", trigger(t)),
        None => {}
    }
    for t in &c.distribution {
        line("given on", trigger(t));
    }
    match &c.expiry {
        Some(Expiry::Fixed(t)) => line("expiry", at(*t)),
        Some(Expiry::Relative { duration, from }) => line(
            "expiry",
            format!(
                "{} after {}",
                short(*duration),
                match from {
                    ExpiryFrom::Activation => "activation",
                    ExpiryFrom::Assignment => "assignment",
                }
            ),
        ),
        None => {}
    }
    if c.window_start.is_some() || c.window_end.is_some() {
        let end = |t: Option<Instant>| t.map_or_else(|| "(open)".to_string(), at);
        line(
            "window",
            format!("{} to {}", end(c.window_start), end(c.window_end)),
        );
    }
    if let Some(s) = &c.schedule {
        let zone = m.zones.get(s.zone).map_or("UTC", |z| &z.name);
        line("schedule", format!("{} ({zone})", s.words));
    }
    let words = |l: &crate::manifest::CouponLimits| {
        let mut limits: Vec<String> = Vec::new();
        if let Some(n) = l.per_user {
            limits.push(format!("{n} per user"));
        }
        if let Some(n) = l.global {
            limits.push(format!("{n} in all"));
        }
        if let Some(b) = l.budget {
            limits.push(format!("budget {}", m.currency.format(b)));
            if l.refuse_over_budget {
                limits.push("refuse a discount past what is left".into());
            }
        }
        for (name, n) in PERIOD_LIMITS.iter().zip(&l.periods) {
            if let Some(n) = n {
                limits.push(format!("{n} {}", name.replace('_', " ")));
            }
        }
        join(limits.iter(), ", ")
    };
    let limits = words(&c.limits);
    if !limits.is_empty() {
        line("limits", limits);
    }
    if let Some(g) = &c.limits.group {
        line("group", format!("`{}`, shared: {}", g.0, words(&g.1)));
    }
    if let Some(rule) = &c.conditions {
        line("conditions", rule.describe());
    }
    let summary = crate::reward::summary(c, m.currency);
    line(
        "reward",
        format!(
            "{} on {} ({summary})",
            c.reward.kind,
            c.reward.target.kind()
        ),
    );
    line("priority", c.priority.to_string());
    Description {
        coupon_id: c.id.clone(),
        status: c.status.name(),
        hidden: c.visibility == Visibility::Hidden,
        summary,
        lines,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn short_durations_use_their_largest_unit() {
        assert_eq!(short(Duration::seconds(172_800)), "2d");
        assert_eq!(short(Duration::seconds(5_400)), "90m");
        assert_eq!(short(Duration::seconds(36 * 3600)), "36h");
        assert_eq!(short(Duration::seconds(45)), "45s");
    }

    #[test]
    fn local_times_at_an_offset_cross_midnight() {
        let m = Manifest::parse(
            br#"{"version":1,"id":"m","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z","currency":"USD","coupons":[]}"#,
            &crate::Limits::default(),
        )
        .unwrap();
        let t = parse_instant("2026-01-01T20:00:00Z", "t").unwrap();
        assert_eq!(at(&m, t, Some(&|_| 19_800)), "2026-01-02 01:30 +05:30");
        assert_eq!(at(&m, t, Some(&|_| -8 * 3600)), "2026-01-01 12:00 -08:00");
        assert_eq!(at(&m, t, None), "2026-01-01 20:00 UTC");
    }
}
