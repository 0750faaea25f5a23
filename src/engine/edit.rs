//! Order edits: a request that carries the coupons applied to the order before the edit
//! (`previous`) gets, beside the usual result, what changed (`edit`): which coupons stay (and for
//! how much now), which go and why (the reason a typed code gets, or, for an automatic coupon, the
//! reason it would get), which are new, and how each line's discount moved. Only with `previous`:
//! without it the result is the compact default, and nothing here runs.

use super::{conditions_ok, group_ok, limits_ok, Engine};
use crate::cart::{CartFacts, CouponUsage, User};
use crate::codes;
use crate::error::{Error, Result};
use crate::input::Previous;
use crate::money::{self, Currency};
use crate::reason::Reason;
use crate::result::{Added, Dropped, Edit, Evaluation, Kept, LineChange};
use crate::reward::{self, Remaining};
use crate::stacking;
use crate::time::Instant;
use rust_decimal::Decimal;

/// The order before the edit, read and checked.
#[derive(Debug)]
pub(super) struct Before {
    /// Coupon id, its code as normalised, its discount.
    coupons: Vec<(String, Option<String>, Decimal)>,
    lines: Option<Vec<(String, Decimal)>>,
    periods: Option<[String; 3]>,
}

impl Before {
    /// The order as its coupons' limit groups count it: a cart takes at most one use of a group,
    /// so at most one use (and the discounts of its coupons) is given back per group.
    pub(super) fn in_groups(&self, m: &crate::manifest::Manifest) -> Before {
        let mut coupons: Vec<(String, Option<String>, Decimal)> = Vec::new();
        for (id, code, discount) in &self.coupons {
            let Some(g) = m.coupon(id).and_then(|c| c.limits.group.as_ref()) else {
                continue;
            };
            match coupons.iter_mut().find(|(name, _, _)| *name == g.0) {
                Some(entry) => entry.2 += *discount,
                None => coupons.push((g.0.clone(), code.clone(), *discount)),
            }
        }
        Before {
            coupons,
            lines: None,
            periods: self.periods.clone(),
        }
    }
}

/// Reads `previous`: amounts as money of the cart's currency, codes normalised.
pub(super) fn read(p: &Previous, currency: Currency) -> Result<Before> {
    let mut coupons = Vec::with_capacity(p.applied.len());
    for (i, c) in p.applied.iter().enumerate() {
        let at = |f: &str| format!("previous.applied[{i}].{f}");
        let code = c
            .code
            .as_deref()
            .map(|code| codes::normalize(code, &at("code")))
            .transpose()?;
        let discount = crate::cart::amount(&c.discount, currency, &|| at("discount"))?;
        if coupons.iter().any(|(id, _, _)| *id == c.coupon_id) {
            return Err(Box::new(Error::InvalidRequest {
                path: at("coupon_id"),
                message: format!("`{}` is listed twice", c.coupon_id),
            }));
        }
        coupons.push((c.coupon_id.clone(), code, discount));
    }
    let lines = match &p.lines {
        None => None,
        Some(lines) => {
            // A line listed twice would make the result depend on which comes first.
            let ids = lines.iter().enumerate().map(|(i, l)| (l.id.clone(), i));
            if let Err((id, _, later)) = crate::sort::Index::build(ids.collect()) {
                return Err(Box::new(Error::InvalidRequest {
                    path: format!("previous.lines[{later}].id"),
                    message: format!("`{id}` is listed twice"),
                }));
            }
            Some(
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let d = crate::cart::amount(&l.discount, currency, &|| {
                            format!("previous.lines[{i}].discount")
                        })?;
                        Ok((l.id.clone(), d))
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        }
    };
    let periods = p
        .periods
        .as_ref()
        .map(|p| [p.day.clone(), p.week.clone(), p.month.clone()]);
    Ok(Before {
        coupons,
        lines,
        periods,
    })
}

/// The usage snapshot counts the order being edited: each of its coupons gets that order's use
/// back (one redemption, of all users and of this user, in the order's periods when they are
/// sent, and its discount from the budget) before the limits are checked again.
pub(super) fn give_back(before: &Before, usage: &mut [(String, CouponUsage)]) {
    for (id, _, discount) in &before.coupons {
        let Some((_, u)) = usage.iter_mut().find(|(u, _)| u == id) else {
            continue;
        };
        u.redemptions = u.redemptions.saturating_sub(1);
        u.user_redemptions = u.user_redemptions.saturating_sub(1);
        u.discount_given = money::less(u.discount_given, *discount).max(Decimal::ZERO);
        if let Some(labels) = &before.periods {
            for list in u.periods.iter_mut() {
                for (label, n) in list.iter_mut() {
                    if labels.contains(label) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
        }
    }
}

/// `new - old` as money, with a `-` when it went down.
fn change(new: Decimal, old: Decimal, currency: Currency) -> String {
    match new >= old {
        true => currency.format(money::less(new, old)),
        false => format!("-{}", currency.format(money::less(old, new))),
    }
}

/// What the evaluation needs to say why an automatic coupon of the order before is gone.
pub(super) struct Context<'a> {
    pub user: &'a User,
    pub facts: &'a CartFacts<'a>,
    pub matches: &'a crate::reward::Matches,
    pub usage: &'a [(String, CouponUsage)],
    pub groups: &'a [(String, CouponUsage)],
    pub start: &'a Remaining,
    pub budget_left: &'a dyn Fn(&crate::manifest::Coupon) -> Option<Decimal>,
    pub typed: &'a [String],
    pub automatic: bool,
    pub now: Instant,
}

impl Engine {
    /// Compares the evaluation with the order before the edit.
    pub(super) fn edit(&self, before: &Before, ev: &Evaluation, cx: &Context) -> Result<Edit> {
        let currency = self.manifest.currency;
        let amount = |s: &str| money::parse_amount(s, currency, "");
        let mut edit = Edit {
            kept: Vec::new(),
            dropped: Vec::new(),
            added: Vec::new(),
            lines: None,
        };
        for (id, code, old) in &before.coupons {
            match ev.applied.iter().find(|a| a.coupon_id == *id) {
                Some(a) => {
                    let now = amount(&a.discount)?;
                    edit.kept.push(Kept {
                        coupon_id: id.clone(),
                        code: a.code.clone(),
                        previous_discount: currency.format(*old),
                        discount: a.discount.clone(),
                        change: change(now, *old, currency),
                    });
                }
                None => edit.dropped.push(Dropped {
                    coupon_id: id.clone(),
                    code: code.clone(),
                    previous_discount: currency.format(*old),
                    reason: self.why_gone(id, code.as_deref(), ev, cx)?,
                }),
            }
        }
        for a in &ev.applied {
            if !before.coupons.iter().any(|(id, _, _)| *id == a.coupon_id) {
                edit.added.push(Added {
                    coupon_id: a.coupon_id.clone(),
                    code: a.code.clone(),
                    discount: a.discount.clone(),
                });
            }
        }
        if let Some(old_lines) = &before.lines {
            let mut lines = Vec::new();
            for l in &ev.lines {
                let now = amount(&l.discount)?;
                let old = old_lines.iter().find(|(id, _)| *id == l.id).map(|p| p.1);
                lines.push(LineChange {
                    id: l.id.to_string(),
                    previous_discount: currency.format(old.unwrap_or(Decimal::ZERO)),
                    discount: l.discount.to_string(),
                    change: change(now, old.unwrap_or(Decimal::ZERO), currency),
                    added: old.is_none(),
                    removed: false,
                });
            }
            for (id, old) in old_lines {
                if !ev.lines.iter().any(|l| l.id == *id) {
                    lines.push(LineChange {
                        id: id.clone(),
                        previous_discount: currency.format(*old),
                        discount: currency.format(Decimal::ZERO),
                        change: change(Decimal::ZERO, *old, currency),
                        added: false,
                        removed: true,
                    });
                }
            }
            crate::sort::sort_by(&mut lines, |a, b| a.id.cmp(&b.id));
            edit.lines = Some(lines);
        }
        Ok(edit)
    }

    /// Why a coupon of the order before does not apply now: the reason its code got in
    /// `rejected`; `NOT_REQUESTED` when its code was not sent again (or automatic coupons were
    /// left out); for an automatic coupon, the reason a code for it would get.
    fn why_gone(
        &self,
        id: &str,
        code: Option<&str>,
        ev: &Evaluation,
        cx: &Context,
    ) -> Result<Reason> {
        let Some(coupon) = self.manifest.coupons.iter().find(|c| c.id == id) else {
            return Ok(
                Reason::new("ENDED", "this coupon is no longer offered").with("status", "removed")
            );
        };
        if let Some(code) = code {
            let rejected = ev.rejected.iter().find(|r| r.code == code).or_else(|| {
                ev.rejected
                    .iter()
                    .find(|r| r.coupon_id.as_deref() == Some(id))
            });
            if let Some(r) = rejected {
                return Ok(r.reason.clone());
            }
            if !cx.typed.iter().any(|t| t == code) {
                return Ok(Reason::new(
                    "NOT_REQUESTED",
                    "its code was not sent with the edited order",
                ));
            }
        } else if !cx.automatic {
            return Ok(Reason::new(
                "NOT_REQUESTED",
                "automatic coupons were left out of the edited order (`automatic: false`)",
            ));
        }
        let currency = self.manifest.currency;
        let usage = cx.usage.iter().find(|(u, _)| u == id).map(|(_, u)| u);
        let eligible = self
            .usable(coupon, cx.user, code, cx.now)
            .and_then(|_| limits_ok(coupon, usage, currency, Some(&ev.periods)))
            .and_then(|_| group_ok(coupon, cx.groups, currency, Some(&ev.periods)))
            .and_then(|_| conditions_ok(coupon, cx.facts, currency, true));
        if let Err(reason) = eligible {
            return Ok(reason);
        }
        let Some(cart) = cx.facts.cart else {
            return Ok(Reason::new("NOTHING_TO_DISCOUNT", "nothing to discount"));
        };
        let mut alone = cx.start.clone();
        if let Err(reason) = reward::apply(
            coupon,
            cart,
            cx.facts,
            cx.matches,
            &mut alone,
            (cx.budget_left)(coupon),
            false,
        )? {
            return Ok(reason);
        }
        let winners: Vec<&crate::manifest::Coupon> = ev
            .applied
            .iter()
            .filter_map(|a| self.manifest.coupon(&a.coupon_id))
            .collect();
        // One coupon of a limit group applies per order: another of its group may have it.
        if let Some(g) = &coupon.limits.group {
            let same = |w: &&&crate::manifest::Coupon| {
                w.id != coupon.id && w.limits.group.as_ref().is_some_and(|h| h.0 == g.0)
            };
            if let Some(w) = winners.iter().find(same) {
                return Ok(super::group_rival(w, &g.0));
            }
        }
        let rival =
            stacking::lost_to(coupon, &winners).or_else(|| stacking::units_rival(coupon, &winners));
        Ok(match rival {
            Some(w) => Reason::new(
                "NOT_COMBINABLE",
                format!("this coupon does not combine with {} ({})", w.name, w.id),
            )
            .with("with", w.id.clone()),
            None => Reason::new(
                "NOTHING_TO_DISCOUNT",
                "nothing to discount: the other coupons left nothing for it",
            )
            .with("target", coupon.reward.target.kind()),
        })
    }
}
