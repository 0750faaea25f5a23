//! Campaigns: what one user event does to the manifest's coupons. The event may assign coupons
//! to the user (`distribution`) and may be the one that activates a coupon (`activation` of type
//! `event`). The engine only answers; the caller (the Worker) stores the event and the
//! assignments, and gives out pooled codes where a coupon has bulk codes.

use super::{earliest, group_ok, limits_ok, read_context, span, status_ok, Engine};
use crate::cart::{read_event, read_group_usage, read_usage, CouponUsage, Event, User};
use crate::error::Result;
use crate::input::{self, UserContext};
use crate::manifest::{Activation, Coupon, Expiry, ExpiryFrom};
use crate::reason::Reason;
use crate::result::{Distribution, Given, Skipped};
use crate::time::{format_instant, Instant};

impl Engine {
    /// What `event` does for the user of `ctx` (`UserContext & { now }`, holding the user's
    /// events, assignments and activations from before it): the coupons it assigns, the coupons it
    /// activates, and the coupons it names but does not assign, with the reason. `usage` (as in an
    /// evaluate request) lets it skip coupons whose lifetime limits are used up. Stores nothing.
    pub fn distribute(
        &self,
        ctx: &UserContext,
        event: &input::Event,
        usage: Option<&input::Usage>,
    ) -> Result<Distribution> {
        let (mut user, now) = read_context(ctx, false)?;
        self.fresh(now)?;
        let event = read_event(event)?;
        let currency = self.manifest().currency;
        let (usage, groups) = match usage {
            Some(u) => (
                read_usage(u, currency, "")?,
                read_group_usage(u, currency, "")?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        // The event itself may already be in the context (a retry): it is not its own past.
        if event.id.is_some() {
            user.events.retain(|e| e.id != event.id);
        }
        let mut out = Distribution::default();
        for coupon in &self.manifest().coupons {
            if let Some(Activation::Event(t)) = &coupon.activation {
                // Activation counts from the first matching event: this one, if none came before
                // and none is stored.
                let fires = |e: &Event| t.matches(e, &user).is_ok();
                let first = fires(&event)
                    && !user.activations.iter().any(|(id, _)| *id == coupon.id)
                    && !user.events.iter().any(|e| e.at <= event.at && fires(e));
                if let Some(at) = event.at.checked_add(t.delay).filter(|_| first) {
                    out.activated.push(Given {
                        coupon_id: coupon.id.clone(),
                        at,
                        bulk: None,
                    });
                }
            }
            // The first entry this event fires; else the first `where` that failed, to explain.
            let mut failed = None;
            let mut fired = None;
            for t in &coupon.distribution {
                match t.matches(&event, &user) {
                    Ok(()) => {
                        fired = Some(t);
                        break;
                    }
                    Err(f) => failed = failed.or(f),
                }
            }
            let used = usage.iter().find(|(id, _)| *id == coupon.id).map(|u| &u.1);
            let verdict = match (fired, failed) {
                (Some(t), _) => match event.at.checked_add(t.delay) {
                    Some(at) => assignable(coupon, &user, used, currency, now, at)
                        .and_then(|()| group_ok(coupon, &groups, currency, None))
                        .map(|()| at),
                    None => continue, // after the year 9999: never
                },
                (None, Some(f)) => Err(Reason::condition(&f, currency)),
                (None, None) => continue,
            };
            match verdict {
                Ok(at) => out.assigned.push(Given {
                    coupon_id: coupon.id.clone(),
                    at,
                    bulk: Some(coupon.codes.has_bulk()),
                }),
                Err(reason) => out.skipped.push(Skipped {
                    coupon_id: coupon.id.clone(),
                    reason,
                }),
            }
        }
        Ok(out)
    }
}

/// Whether `coupon` can be given to `user` at `at`: it is live; it has not closed by then, and
/// an assignment made then would not already have expired `now` (a late event); its lifetime
/// limits are not used up; and the user does not hold it already (an assignment that has expired
/// does not count: the campaign may give the coupon again).
fn assignable(
    coupon: &Coupon,
    user: &User,
    used: Option<&CouponUsage>,
    currency: crate::money::Currency,
    now: Instant,
    at: Instant,
) -> std::result::Result<(), Reason> {
    status_ok(coupon.status)?;
    let fixed = match coupon.expiry {
        Some(Expiry::Fixed(t)) => Some(t),
        _ => None,
    };
    let closed = earliest(fixed, coupon.window_end).filter(|c| at >= *c);
    let lapsed = match coupon.expiry {
        Some(Expiry::Relative {
            duration,
            from: ExpiryFrom::Assignment,
        }) => at.checked_add(duration).filter(|e| now >= *e),
        _ => None,
    };
    if let Some(ends) = closed.or(lapsed) {
        return Err(Reason::new(
            "EXPIRED",
            format!("this coupon would have expired at {}", format_instant(ends)),
        )
        .with("expired_at", format_instant(ends)));
    }
    limits_ok(coupon, used, currency, None)?;
    let held = user
        .assignments
        .iter()
        .filter(|a| a.coupon_id == coupon.id)
        .map(|a| a.assigned_at)
        .max();
    let Some(held) = held else {
        return Ok(());
    };
    let until = span(coupon, user).ok().and_then(|s| s.until);
    if until.is_some_and(|u| at >= u) {
        return Ok(());
    }
    Err(
        Reason::new("ALREADY_ASSIGNED", "this user already holds this coupon")
            .with("assigned_at", format_instant(held)),
    )
}
