//! The engine: a verified manifest, and the three questions asked of it: what does this cart cost
//! with these codes (`evaluate`), which coupons does this user see (`tray`), and is this code good
//! (`check_code`). Every answer is a pure function of the manifest and the arguments, `now`
//! included.

use crate::cart::{
    read_cart, read_group_usage, read_usage, read_user, Cart, CartFacts, CouponUsage, User,
};
use crate::codes;
use crate::error::{Error, Result};
use crate::input::{EvaluateRequest, UserContext};
use crate::manifest::{
    self, Activation, Audience, Codes, Coupon, Expiry, ExpiryFrom, Limits, Manifest, Status,
    Visibility,
};
use crate::money;
use crate::reason::Reason;
use crate::result::{
    AppliedCoupon, Charge, CodeCheck, Evaluation, FeeResult, LineResult, Rejected, Totals, Touched,
    TrayEntry,
};
use crate::reward::{self, Allocation, Part, Remaining};
use crate::rules::Value;
use crate::signature::{self, KeySet};
use crate::stacking;
use crate::time::{format_instant, parse_instant, Duration, Instant};
use crate::zone::{Periods, Zone, UTC};

mod campaign;
mod edit;
use rust_decimal::Decimal;
use std::sync::OnceLock;

/// How far `issued_at` may be ahead of `now`, for clocks that run a little slow.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// Whether a manifest issued at `issued_at` (up to the clock skew after `now`) and expiring at
/// `expires_at` (exclusive) is in force at `now`.
fn in_force(issued_at: Instant, expires_at: Instant, now: Instant) -> Result<()> {
    if now
        .checked_add(Duration::seconds(CLOCK_SKEW_SECONDS))
        .is_some_and(|t| issued_at > t)
    {
        return Err(Box::new(Error::ManifestNotYetValid {
            issued_at: format_instant(issued_at),
            now: format_instant(now),
        }));
    }
    if expires_at <= now {
        return Err(Box::new(Error::ManifestExpired {
            expires_at: format_instant(expires_at),
            now: format_instant(now),
        }));
    }
    Ok(())
}

/// A coupon engine over one verified manifest.
#[derive(Debug, Clone)]
pub struct Engine {
    manifest: Manifest,
    limits: Limits,
    /// Each coupon's place in priority order (highest first, then coupon id), worked out at
    /// load: eligible coupons are put in that order by their places, in linear time.
    rank: Vec<usize>,
    /// Each coupon's summary ("15% off selected products"), by its place: it depends on the
    /// coupon alone, so it is written the first time the coupon applies and copied after.
    summaries: Vec<OnceLock<String>>,
}

/// When a coupon is usable for one user.
#[derive(Debug)]
struct Span {
    from: Option<Instant>,
    until: Option<Instant>,
    assigned_code: Option<String>,
}

/// A coupon being considered for a cart.
#[derive(Debug)]
struct Candidate<'m> {
    coupon: &'m Coupon,
    code: Option<String>,
    /// The coupon's place in priority order (`Engine::rank`).
    rank: usize,
}

fn outcome(r: std::result::Result<(), Reason>) -> Option<Reason> {
    r.err()
}

/// The `now` of a request: required in the core (the JS skin fills in the clock).
fn parse_now(now: Option<&str>, path: &str) -> Result<Instant> {
    match now {
        Some(n) => parse_instant(n, path),
        None => Err(Box::new(Error::InvalidRequest {
            path: path.into(),
            message: "`now` is required".into(),
        })),
    }
}

/// Reads a user context that carries its own `now` (tray, checkCode, distribute). `as_of` leaves
/// out what has not happened yet (delayed assignments, future events).
fn read_context(ctx: &UserContext, as_of: bool) -> Result<(User, Instant)> {
    let user = read_user(ctx, "")?;
    let now = parse_now(ctx.now.as_deref(), "now")?;
    Ok((if as_of { user.as_of(now) } else { user }, now))
}

impl Engine {
    /// Verifies a signed manifest (signature over the exact bytes, then `issued_at`/`expires_at`
    /// against `now`, then the payload) and builds an engine over it. `jws` is text or its bytes:
    /// a compact JWS is ASCII, and any other byte fails its base64url decoding.
    pub fn from_signed_manifest(
        jws: &(impl AsRef<[u8]> + ?Sized),
        keys: &KeySet,
        now: Instant,
        limits: Limits,
    ) -> Result<Engine> {
        let jws = jws.as_ref();
        manifest::within("manifest bytes", jws.len(), limits.max_manifest_bytes)?;
        let text = signature::verify(jws, keys)?;
        let payload = manifest::Payload::parse(&text)?;
        let (issued_at, expires_at) = payload.validity()?;
        in_force(issued_at, expires_at, now)?;
        let manifest = payload.into_manifest(&limits)?;
        let coupons = &manifest.coupons;
        let by_priority = crate::sort::indices(coupons.len(), &|a, b| {
            let key = |i: usize| {
                coupons
                    .get(i)
                    .map(|c| (std::cmp::Reverse(c.priority), &c.id))
            };
            key(a).cmp(&key(b))
        });
        let mut rank = vec![0; coupons.len()];
        for (place, &i) in by_priority.iter().enumerate() {
            if let Some(r) = rank.get_mut(i) {
                *r = place;
            }
        }
        let summaries = rank.iter().map(|_| OnceLock::new()).collect();
        Ok(Engine {
            manifest,
            limits,
            rank,
            summaries,
        })
    }

    /// The manifest's id.
    pub fn manifest_id(&self) -> &str {
        &self.manifest.id
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn zone(&self, i: usize) -> &Zone {
        self.manifest.zones.get(i).unwrap_or(&UTC)
    }

    /// Every call checks its own `now` as a load does: an engine kept in memory answers neither
    /// before its manifest is issued nor once it expires.
    fn fresh(&self, now: Instant) -> Result<()> {
        in_force(self.manifest.issued_at, self.manifest.expires_at, now)
    }

    /// Prices a cart with codes, consuming nothing. `request` is the EvaluateRequest tree
    /// (`{ cart, user?, codes?, now, usage? }`, docs/manifest.md); `now` is required here.
    pub fn evaluate<'r>(&self, request: &'r EvaluateRequest) -> Result<Evaluation<'r>> {
        let now = parse_now(request.now.as_deref(), "now")?;
        let with_allocations = request.allocations.unwrap_or(false);
        self.fresh(now)?;
        let currency = self.manifest.currency;
        let cart = read_cart(&request.cart, currency, &self.limits)?;
        let user = match &request.user {
            None => User::default(),
            Some(u) if u.now.is_some() => {
                return Err(Box::new(Error::InvalidRequest {
                    path: "user".into(),
                    message: "in evaluate, `now` goes at the top of the request, not in `user`"
                        .into(),
                }))
            }
            Some(u) => read_user(u, "user")?.as_of(now),
        };
        let code_list = request.codes.as_deref().unwrap_or_default();
        manifest::within("codes", code_list.len(), self.limits.max_codes)?;
        let mut typed = code_list
            .iter()
            .enumerate()
            .map(|(i, code)| {
                codes::normalize(code, "").map_err(|e| e.at(&|| format!("codes[{i}]")))
            })
            .collect::<Result<Vec<String>>>()?;
        crate::sort::sort_by(&mut typed, |a, b| a.cmp(b));
        let mut rejected = Vec::new();
        let mut usage = match &request.usage {
            Some(u) => read_usage(u, currency, "usage")?,
            None => Vec::new(),
        };
        // An order edit: the order before is read, and its uses given back to the counters.
        let before = match &request.previous {
            Some(p) => Some(edit::read(p, currency)?),
            None => None,
        };
        let mut group_usage = match &request.usage {
            Some(u) => read_group_usage(u, currency, "usage")?,
            None => Vec::new(),
        };
        if let Some(b) = &before {
            edit::give_back(b, &mut usage);
            edit::give_back(&b.in_groups(&self.manifest), &mut group_usage);
        }
        let usage_of = |id: &str| usage.iter().find(|(u, _)| u == id).map(|(_, u)| u);
        let periods = Periods::of(self.zone(self.manifest.time_zone), now);
        let facts = CartFacts {
            user: &user,
            cart: Some(&cart),
            now,
        };
        let matches = reward::Matches::new(self.manifest.line_rules);

        // Codes in sorted order, so the outcome never depends on the order they were typed in.
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut taken: Vec<&str> = Vec::new();
        let repeated: Vec<String> = typed
            .windows(2)
            .filter(|w| w.first() == w.get(1))
            .filter_map(|w| w.first().cloned())
            .collect();
        typed.dedup();
        for code in &typed {
            if repeated.contains(code) {
                rejected.push(Rejected {
                    code: code.clone(),
                    coupon_id: None,
                    reason: Reason::new(
                        "DUPLICATE_CODE",
                        "this code was entered more than once; it counts once",
                    ),
                });
            }
            let (index, coupon) = match self.resolve_at(code) {
                Ok(found) => found,
                Err(reason) => {
                    rejected.push(Rejected {
                        code: code.clone(),
                        coupon_id: None,
                        reason,
                    });
                    continue;
                }
            };
            if taken.contains(&coupon.id.as_str()) {
                rejected.push(Rejected {
                    code: code.clone(),
                    coupon_id: Some(coupon.id.clone()),
                    reason: Reason::new(
                        "ALREADY_APPLIED",
                        "another code for the same coupon is already in the cart",
                    ),
                });
                continue;
            }
            taken.push(coupon.id.as_str());
            candidates.push(Candidate {
                coupon,
                code: Some(code.clone()),
                rank: self.rank.get(index).copied().unwrap_or_default(),
            });
        }
        // `"automatic": false`: the typed codes only.
        let automatic = request.automatic.unwrap_or(true);
        for (coupon, &rank) in self.manifest.coupons.iter().zip(&self.rank) {
            if automatic && coupon.codes == Codes::Automatic {
                candidates.push(Candidate {
                    coupon,
                    code: None,
                    rank,
                });
            }
        }

        // Who qualifies, before any money moves.
        // Each eligible coupon at its place in priority order (`Engine::rank`).
        let mut placed: Vec<Option<Candidate>> = Vec::new();
        placed.resize_with(self.rank.len(), || None);
        for c in candidates {
            let check = self
                .usable(c.coupon, &user, c.code.as_deref(), now)
                .and_then(|_| limits_ok(c.coupon, usage_of(&c.coupon.id), currency, Some(&periods)))
                .and_then(|_| group_ok(c.coupon, &group_usage, currency, Some(&periods)))
                .and_then(|_| conditions_ok(c.coupon, &facts, currency, c.code.is_some()));
            match (check, &c.code) {
                (Ok(()), _) => {
                    if let Some(slot) = placed.get_mut(c.rank) {
                        *slot = Some(c);
                    }
                }
                (Err(reason), Some(code)) => rejected.push(Rejected {
                    code: code.clone(),
                    coupon_id: Some(c.coupon.id.clone()),
                    reason,
                }),
                (Err(_), None) => {}
            }
        }
        // Highest priority first: that order decides which codes keep a place when there are
        // more than the manifest allows. Only codes that give something hold a place.
        let eligible: Vec<Candidate> = placed.into_iter().flatten().collect();
        let budget_left = |c: &Coupon| {
            c.limits
                .budget
                .map(|b| {
                    let given = usage_of(&c.id).map_or(Decimal::ZERO, |u| u.discount_given);
                    money::less(b, given)
                })
                .into_iter()
                .chain(group_budget_left(c, &group_usage))
                .min()
        };
        let order = application_order(&eligible);
        let start = Remaining::new(&cart)?;
        let pricing = Pricing {
            cart: &cart,
            facts: &facts,
            matches: &matches,
            start: &start,
            budget_left: &budget_left,
        };
        let run =
            |keep: &[bool], shares: bool| apply_all(&eligible, &order, keep, &pricing, shares);
        let n = eligible.len();
        // What each candidate gives on its own. One that gives nothing is out, with its reason,
        // and takes no place in the set (no code slot, no exclusivity).
        let mut alone = Vec::with_capacity(n);
        let mut out_reason: Vec<Option<Reason>> = Vec::with_capacity(n);
        // When every candidate goes with every other and the codes fit, the choice is all of them
        // in either mode: pricing each alone is skipped (one that gives nothing is then rejected
        // by the run itself, with the same reason).
        let max_codes = usize::try_from(self.manifest.max_codes_per_cart).unwrap_or(usize::MAX);
        let everyone_fits = eligible.iter().filter(|c| c.code.is_some()).count() <= max_codes
            && !shares_group(&eligible)
            && stacking::all_compatible(
                &eligible
                    .iter()
                    .map(|c| c.coupon.stacking)
                    .collect::<Vec<_>>(),
            );
        // One candidate on the whole cart: its reward alone (linear in the candidates: no run
        // over every other one, and one buffer for what is left).
        let mut scratch = (!everyone_fits).then(|| start.clone());
        for c in &eligible {
            let Some(scratch) = scratch.as_mut() else {
                alone.push(Decimal::ZERO);
                out_reason.push(None);
                continue;
            };
            scratch.reset(&start);
            let outcome = reward::apply(
                c.coupon,
                &cart,
                &facts,
                &matches,
                scratch,
                budget_left(c.coupon),
                false,
            )?;
            match outcome {
                Ok(a) => {
                    alone.push(a.discount);
                    out_reason.push(None);
                }
                Err(reason) => {
                    alone.push(Decimal::ZERO);
                    out_reason.push(Some(reason));
                }
            }
        }
        // One coupon of a limit group per cart: the first that gives something, by priority.
        let mut groups_taken: Vec<(&str, &Coupon)> = Vec::new();
        for (i, c) in eligible.iter().enumerate() {
            let (Some(g), Some(slot @ None)) =
                (c.coupon.limits.group.as_ref(), out_reason.get_mut(i))
            else {
                continue;
            };
            match groups_taken.iter().find(|(n, _)| *n == g.0) {
                Some((_, winner)) => *slot = Some(group_rival(winner, &g.0)),
                None => groups_taken.push((&g.0, c.coupon)),
            }
        }
        let giving: Vec<usize> = (0..n)
            .filter(|&i| matches!(out_reason.get(i), Some(None)))
            .collect();
        let choice = stacking::Choice {
            coupons: giving
                .iter()
                .filter_map(|&i| eligible.get(i).map(|c| c.coupon))
                .collect(),
            has_code: giving
                .iter()
                .map(|&i| eligible.get(i).is_some_and(|c| c.code.is_some()))
                .collect(),
            max_codes,
            alone: giving
                .iter()
                .map(|&i| alone.get(i).copied().unwrap_or_default())
                .collect(),
        };
        let expand = |set: &[bool]| -> Vec<bool> {
            let mut keep = vec![false; n];
            for (&i, &on) in giving.iter().zip(set) {
                if let Some(k) = keep.get_mut(i) {
                    *k = on;
                }
            }
            keep
        };
        let chosen = choice.choose(self.manifest.stacking, &mut |set| {
            let (outcomes, _) = run(&expand(set), false)?;
            Ok(outcomes
                .iter()
                .flatten()
                .flatten()
                .fold(Decimal::ZERO, |acc, a| {
                    money::plus(acc, a.discount).unwrap_or(acc)
                }))
        })?;
        let keep = expand(&chosen);
        let (outcomes, left) = run(&keep, with_allocations)?;
        let winners: Vec<&Coupon> = eligible
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c.coupon)
            .collect();
        for (i, c) in eligible.iter().enumerate() {
            let (Some(code), Some(false)) = (&c.code, keep.get(i)) else {
                continue;
            };
            let lost_to = stacking::lost_to(c.coupon, &winners).or_else(|| {
                // Not the code limit: another buy X get Y offer saves more on the same units.
                let codes_kept = eligible
                    .iter()
                    .zip(&keep)
                    .filter(|(c, k)| **k && c.code.is_some())
                    .count();
                (codes_kept < max_codes)
                    .then(|| stacking::units_rival(c.coupon, &winners))
                    .flatten()
            });
            let reason = match (out_reason.get_mut(i).and_then(Option::take), lost_to) {
                (Some(reason), _) => reason,
                (None, Some(winner)) => Reason::new(
                    "NOT_COMBINABLE",
                    format!(
                        "this coupon does not combine with {} ({})",
                        winner.name, winner.id
                    ),
                )
                .with("with", winner.id.clone()),
                (None, None) => Reason::new(
                    "CODE_LIMIT_REACHED",
                    format!(
                        "at most {max_codes} code{} can apply to one cart",
                        if max_codes == 1 { "" } else { "s" }
                    ),
                )
                .with("limit", max_codes as u64),
            };
            rejected.push(Rejected {
                code: code.clone(),
                coupon_id: Some(c.coupon.id.clone()),
                reason,
            });
        }
        // Listed in the order they were applied.
        let mut applied = Vec::new();
        let mut slots: Vec<_> = eligible.into_iter().zip(outcomes).map(Some).collect();
        for &i in &order {
            let Some((c, outcome)) = slots.get_mut(i).and_then(Option::take) else {
                continue;
            };
            match (outcome, c.code) {
                (Some(Ok(a)), code) => {
                    applied.push(self.applied(c.coupon, c.rank, code, a, &cart, with_allocations))
                }
                (Some(Err(reason)), Some(code)) => rejected.push(Rejected {
                    code,
                    coupon_id: Some(c.coupon.id.clone()),
                    reason,
                }),
                _ => {}
            }
        }
        crate::sort::sort_by(&mut rejected, |a, b| {
            a.code
                .cmp(&b.code)
                .then_with(|| a.reason.code.cmp(b.reason.code))
        });
        let mut ev = self.report(&cart, &start, &left, applied, rejected, now, periods)?;
        if let Some(b) = &before {
            let cx = edit::Context {
                user: &user,
                facts: &facts,
                matches: &matches,
                usage: &usage,
                groups: &group_usage,
                start: &start,
                budget_left: &budget_left,
                typed: &typed,
                automatic,
                now,
            };
            ev.edit = Some(self.edit(b, &ev, &cx)?);
        }
        Ok(ev)
    }

    /// The place in priority order of the coupon at position `i` of the manifest.
    fn place(&self, i: usize) -> usize {
        self.rank.get(i).copied().unwrap_or(usize::MAX)
    }

    /// The summary of the coupon at `place` ("15% off selected products"): it depends on the
    /// coupon and the manifest's currency alone, so it is written once and copied after.
    fn summary(&self, coupon: &Coupon, place: usize) -> String {
        let write = || reward::summary(coupon, self.manifest.currency);
        match self.summaries.get(place) {
            Some(s) => s.get_or_init(write).clone(),
            None => write(),
        }
    }

    fn applied<'r>(
        &self,
        coupon: &Coupon,
        place: usize,
        code: Option<String>,
        a: reward::Applied,
        cart: &Cart<'r>,
        with_allocations: bool,
    ) -> AppliedCoupon<'r> {
        let currency = cart.currency;
        let allocations = with_allocations.then(|| {
            a.shares
                .iter()
                .map(|(part, amount)| {
                    let (target, id) = match part {
                        Part::Line(i) => ("line", cart.lines.get(*i).map(|l| l.id.to_string())),
                        Part::Shipping => ("shipping", None),
                        Part::Ship(i) => ("shipping", cart.ships.get(*i).map(|s| s.id.to_string())),
                        Part::Fee(i) => ("fee", cart.fees.get(*i).map(|f| f.id.clone())),
                    };
                    Allocation {
                        target,
                        id,
                        amount: currency.format_units(*amount),
                    }
                })
                .collect()
        });
        let mut touched = Touched::default();
        let on_lines = match a.every_line {
            true => cart.lines.len(),
            false => a
                .touched
                .iter()
                .filter(|p| matches!(p, Part::Line(_)))
                .count(),
        };
        if on_lines > 0 {
            // Every line: one word instead of every id (a 200-line cart would list 200).
            touched.lines = Some((on_lines < cart.lines.len()).then(|| {
                a.touched
                    .iter()
                    .filter_map(|p| match p {
                        Part::Line(i) => cart.lines.get(*i).map(|l| l.id),
                        _ => None,
                    })
                    .collect()
            }));
        }
        for part in &a.touched {
            match part {
                Part::Line(_) => {}
                Part::Shipping => touched.shipping = true,
                Part::Ship(i) => {
                    touched.shipping = true;
                    touched
                        .shipping_lines
                        .extend(cart.ships.get(*i).map(|s| s.id));
                }
                Part::Fee(i) => touched.fees.extend(cart.fees.get(*i).map(|f| f.id.clone())),
            }
        }
        let bulk = code
            .as_deref()
            .is_some_and(|c| coupon.codes.is_bulk_code(c));
        AppliedCoupon {
            coupon_id: coupon.id.clone(),
            name: coupon.name.clone(),
            automatic: code.is_none(),
            code,
            reward: coupon.reward.kind,
            target: coupon.reward.target.kind(),
            summary: self.summary(coupon, place),
            discount: currency.format(a.discount),
            cashback_points: a.cashback_points,
            touched,
            allocations,
            budget_capped: a.budget_capped,
            next_tier: a.next_tier,
            verification: if bulk { "format_only" } else { "full" },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report<'r>(
        &self,
        cart: &Cart<'r>,
        start: &Remaining,
        left: &Remaining,
        applied: Vec<AppliedCoupon<'r>>,
        rejected: Vec<Rejected>,
        now: Instant,
        periods: Periods,
    ) -> Result<Evaluation<'r>> {
        let cur = cart.currency;
        let fmt = |d: Decimal| cur.format(d);
        // Whole minor units from here: what was owed (`start`) and what is left (`left`).
        let units = |u: u128| cur.figure(u);
        let lines: Vec<LineResult> = cart
            .lines
            .iter()
            .zip(start.lines().zip(left.lines()))
            .map(|(l, (o, f))| LineResult {
                id: l.id,
                original: units(o),
                discount: units(o.saturating_sub(f)),
                final_: units(f),
            })
            .collect();
        let mut shipping = start.shipping.zip(left.shipping).map(|(o, f)| Charge {
            original: units(o),
            discount: units(o.saturating_sub(f)),
            final_: units(f),
        });
        let shipping_lines = (cart.shipping.is_none() && !cart.ships.is_empty()).then(|| {
            let (o, f) = (start.ships.iter().sum(), left.ships.iter().sum());
            shipping = Some(Charge {
                original: units(o),
                discount: units(o.saturating_sub(f)),
                final_: units(f),
            });
            cart.ships
                .iter()
                .zip(start.ships.iter().zip(&left.ships))
                .map(|(s, (&o, &f))| FeeResult {
                    id: s.id.to_string(),
                    original: units(o),
                    discount: units(o.saturating_sub(f)),
                    final_: units(f),
                })
                .collect()
        });
        let fees: Vec<FeeResult> = cart
            .fees
            .iter()
            .zip(start.fees.iter().zip(&left.fees))
            .map(|(fee, (&o, &f))| FeeResult {
                id: fee.id.clone(),
                original: units(o),
                discount: units(o.saturating_sub(f)),
                final_: units(f),
            })
            .collect();
        let shipping_original = match cart.shipping {
            Some(s) => s,
            None => money::sum(cart.ships.iter().map(|s| s.amount), "cart.shipping_lines")?,
        };
        let fees_original = crate::money::sum(cart.fees.iter().map(|f| f.amount), "cart.fees")?;
        let all = |r: &Remaining| {
            money::sum_units(
                r.lines()
                    .chain(r.shipping)
                    .chain(r.ships.iter().copied())
                    .chain(r.fees.iter().copied()),
                "cart",
            )
        };
        let (original, paid) = (all(start)?, all(left)?);
        let cashback_points = applied
            .iter()
            .map(|a| a.cashback_points)
            .fold(0u64, u64::saturating_add);
        Ok(Evaluation {
            manifest_id: self.manifest.id.clone(),
            currency: cur.code(),
            now: format_instant(now),
            lines,
            shipping,
            shipping_lines,
            fees,
            totals: Totals {
                subtotal: fmt(cart.subtotal),
                shipping: fmt(shipping_original),
                fees: fmt(fees_original),
                discount: cur.format_units(original.saturating_sub(paid)),
                total: cur.format_units(paid),
            },
            cashback_points,
            applied,
            rejected,
            periods,
            edit: None,
        })
    }

    /// Finds the coupon a normalised code belongs to, and its position in the manifest: a visible
    /// code, a hidden code's hash, or a bulk prefix with the right length (and, where the coupon
    /// asks, a valid check character).
    fn resolve_at(&self, code: &str) -> std::result::Result<(usize, &Coupon), Reason> {
        let m = &self.manifest;
        if let Some(i) = m
            .plain_codes
            .get(code)
            .or_else(|| m.hashed_codes.get(&codes::hash_code(&m.id, code)))
        {
            return m.coupons.get(i).map(|c| (i, c)).ok_or_else(unknown_code);
        }
        for (prefix, i) in &m.bulk_prefixes {
            let Some(coupon) = m.coupons.get(*i) else {
                continue;
            };
            let source = coupon.codes.sources().iter().find_map(|s| match s {
                Codes::Bulk {
                    prefix: p,
                    length,
                    check,
                } if p == prefix => Some((length, check)),
                _ => None,
            });
            let (Some(body), Some((length, check))) = (code.strip_prefix(prefix.as_str()), source)
            else {
                continue;
            };
            if *length != code.len() {
                continue;
            }
            // A generated code carries a check character: a typo is told apart from a wrong code.
            if *check && !codes::check_ok(body, codes::DEFAULT_ALPHABET) {
                return Err(Reason::new(
                    "CODE_MISTYPED",
                    "this code has a typo: check it and enter it again",
                ));
            }
            return Ok((*i, coupon));
        }
        Err(unknown_code())
    }

    /// Whether `coupon` is usable by `user` at `now`: status, activation, expiry, redemption
    /// window and audience. Cart rules and limits are checked separately.
    fn usable(
        &self,
        coupon: &Coupon,
        user: &User,
        code: Option<&str>,
        now: Instant,
    ) -> std::result::Result<(), Reason> {
        status_ok(coupon.status)?;
        signed_in(coupon, user)?;
        let span = span(coupon, user)?;
        if let Some(from) = span.from {
            if now < from {
                return Err(Reason::new(
                    "NOT_YET_ACTIVE",
                    format!("this coupon starts at {}", format_instant(from)),
                )
                .with("starts_at", format_instant(from)));
            }
        }
        if let Some(until) = span.until {
            if now >= until {
                return Err(Reason::new(
                    "EXPIRED",
                    format!("this coupon expired at {}", format_instant(until)),
                )
                .with("expired_at", format_instant(until)));
            }
        }
        window_ok(coupon, now)?;
        if let Some(s) = &coupon.schedule {
            let zone = self.zone(s.zone);
            if !s.open(zone, now) {
                return Err(s.closed(zone));
            }
        }
        audience_ok(coupon, user, now, code, self.manifest.currency)
    }

    /// The coupons this user sees: visible, live, in their audience, started and not expired.
    pub fn tray(&self, ctx: &UserContext) -> Result<Vec<TrayEntry>> {
        let (user, now) = read_context(ctx, true)?;
        self.fresh(now)?;
        let currency = self.manifest.currency;
        let mut entries = Vec::new();
        for (i, coupon) in self.manifest.coupons.iter().enumerate() {
            if coupon.visibility == Visibility::Hidden {
                continue;
            }
            let visible_code = coupon.codes.visible_code().cloned();
            if status_ok(coupon.status).is_err()
                || audience_ok(coupon, &user, now, None, currency).is_err()
            {
                continue;
            }
            let Ok(span) = span(coupon, &user) else {
                continue;
            };
            let until = earliest(span.until, coupon.window_end);
            if span.from.is_some_and(|f| now < f) || until.is_some_and(|u| now >= u) {
                continue;
            }
            let code = visible_code.or(span.assigned_code);
            // A bulk coupon is listed only with the code this user was given.
            if coupon.codes.has_bulk() && code.is_none() {
                continue;
            }
            entries.push(TrayEntry {
                coupon_id: coupon.id.clone(),
                name: coupon.name.clone(),
                description: coupon.description.clone(),
                automatic: coupon.codes == Codes::Automatic,
                code,
                reward: coupon.reward.kind,
                target: coupon.reward.target.kind(),
                summary: self.summary(coupon, self.place(i)),
                has_conditions: has_cart_rules(coupon),
                redeemable_from: coupon.window_start.filter(|s| now < *s).map(format_instant),
                expires_at: until.map(format_instant),
                priority: coupon.priority,
            });
        }
        crate::sort::sort_by(&mut entries, |a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.expires_at.is_none().cmp(&b.expires_at.is_none()))
                .then_with(|| a.expires_at.cmp(&b.expires_at))
                .then_with(|| a.coupon_id.cmp(&b.coupon_id))
        });
        Ok(entries)
    }

    /// Checks one typed code for this user now, without a cart.
    pub fn check_code(&self, code: &str, ctx: &UserContext) -> Result<CodeCheck> {
        let (user, now) = read_context(ctx, true)?;
        self.fresh(now)?;
        let code = codes::normalize(code, "code")?;
        let (i, coupon) = match self.resolve_at(&code) {
            Ok(found) => found,
            Err(reason) => {
                return Ok(CodeCheck {
                    code,
                    valid: false,
                    coupon_id: None,
                    name: None,
                    summary: None,
                    expires_at: None,
                    has_conditions: false,
                    verification: "full",
                    reason: Some(reason),
                })
            }
        };
        let reason = outcome(self.usable(coupon, &user, Some(&code), now));
        let bulk = coupon.codes.is_bulk_code(&code);
        let until = span(coupon, &user)
            .ok()
            .and_then(|s| earliest(s.until, coupon.window_end));
        Ok(CodeCheck {
            code,
            valid: reason.is_none(),
            coupon_id: Some(coupon.id.clone()),
            name: Some(coupon.name.clone()),
            summary: Some(self.summary(coupon, self.place(i))),
            expires_at: until.map(format_instant),
            has_conditions: has_cart_rules(coupon),
            verification: if bulk { "format_only" } else { "full" },
            reason,
        })
    }
}

/// The order rewards apply in: lines, then the order, then shipping and fees; within a step, the
/// order of `items` (highest priority first).
fn application_order(candidates: &[Candidate]) -> Vec<usize> {
    // Three steps: a pass per step keeps the order within each (a stable sort, in linear time).
    let mut order = Vec::with_capacity(candidates.len());
    for step in 0..3 {
        order.extend(
            candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| reward::step(&c.coupon.reward.target) == step)
                .map(|(i, _)| i),
        );
    }
    order
}

/// What happened to each candidate: `None` when it was left out.
type Outcomes = Vec<Option<std::result::Result<reward::Applied, Reason>>>;

/// The cart being priced: what every run of the candidates shares.
struct Pricing<'a> {
    cart: &'a Cart<'a>,
    facts: &'a CartFacts<'a>,
    matches: &'a reward::Matches,
    /// The whole cart, before any reward.
    start: &'a Remaining,
    budget_left: &'a dyn Fn(&Coupon) -> Option<Decimal>,
}

/// Applies the kept candidates' rewards in `order` and returns each outcome with what is left
/// to pay; each part's share only with `shares`.
fn apply_all(
    candidates: &[Candidate],
    order: &[usize],
    keep: &[bool],
    p: &Pricing,
    shares: bool,
) -> Result<(Outcomes, Remaining)> {
    let (cart, facts, budget_left) = (p.cart, p.facts, p.budget_left);
    let mut left = p.start.clone();
    let mut outcomes: Outcomes = vec![None; candidates.len()];
    for &i in order {
        if let (Some(c), Some(true), Some(slot)) =
            (candidates.get(i), keep.get(i), outcomes.get_mut(i))
        {
            *slot = Some(reward::apply(
                c.coupon,
                cart,
                facts,
                p.matches,
                &mut left,
                budget_left(c.coupon),
                shares,
            )?);
        }
    }
    Ok((outcomes, left))
}

fn unknown_code() -> Reason {
    Reason::new("UNKNOWN_CODE", "this code is not valid")
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn has_cart_rules(coupon: &Coupon) -> bool {
    coupon.conditions.is_some() || matches!(coupon.reward.target, manifest::Target::Products(_))
}

fn status_ok(status: Status) -> std::result::Result<(), Reason> {
    match status {
        Status::Active | Status::Scheduled => Ok(()),
        Status::Draft => {
            Err(Reason::new("NOT_ACTIVE", "this coupon is not live yet").with("status", "draft"))
        }
        Status::Paused => {
            Err(Reason::new("PAUSED", "this coupon is paused for now").with("status", "paused"))
        }
        Status::Ended | Status::Archived => {
            Err(Reason::new("ENDED", "this coupon has ended").with("status", status.name()))
        }
    }
}

/// When the coupon is usable for this user: from its activation to its expiry.
fn span(coupon: &Coupon, user: &User) -> std::result::Result<Span, Reason> {
    let assignment = user
        .assignments
        .iter()
        .filter(|a| a.coupon_id == coupon.id)
        .max_by_key(|a| a.assigned_at);
    let activated = match &coupon.activation {
        None => None,
        Some(Activation::Time(at)) => Some(*at),
        Some(Activation::Event(trigger)) => {
            // An activation the caller stored stays at its time; else the first event that fires.
            let stored = user
                .activations
                .iter()
                .filter(|(id, _)| *id == coupon.id)
                .map(|(_, at)| *at)
                .min();
            let first = user
                .events
                .iter()
                .filter(|e| trigger.matches(e, user).is_ok())
                .filter_map(|e| e.at.checked_add(trigger.delay))
                .min();
            match stored.or(first) {
                Some(at) => Some(at),
                None => {
                    return Err(Reason::new(
                        "NOT_ACTIVATED",
                        format!("this coupon unlocks after the `{}` event", trigger.event),
                    )
                    .with("event", trigger.event.clone()))
                }
            }
        }
    };
    let until = match &coupon.expiry {
        None => None,
        Some(Expiry::Fixed(at)) => Some(*at),
        Some(Expiry::Relative { duration, from }) => {
            let start = match from {
                ExpiryFrom::Activation => activated,
                ExpiryFrom::Assignment => assignment.map(|a| a.assigned_at),
            };
            start.map(|s| s.checked_add(*duration).unwrap_or(s))
        }
    };
    Ok(Span {
        from: activated,
        until,
        assigned_code: assignment.and_then(|a| a.code.clone()),
    })
}

/// A coupon that is about one person (a segment or an assignment, an event that unlocks it, a
/// limit per customer) cannot be judged for a shopper nobody has identified: `SIGN_IN_REQUIRED`,
/// with what needs the user, rather than a reason that blames the shopper.
fn signed_in(coupon: &Coupon, user: &User) -> std::result::Result<(), Reason> {
    if user.id.is_some() {
        return Ok(());
    }
    let needs = match (&coupon.audience, &coupon.activation) {
        (Audience::Segment { .. }, _) => "segment",
        (Audience::Assigned, _) => "assignment",
        (_, Some(Activation::Event(_))) => "activation",
        _ if coupon.limits.per_user_any() => "per_user_limit",
        _ => return Ok(()),
    };
    Err(Reason::new(
        "SIGN_IN_REQUIRED",
        "sign in to use this coupon: it depends on who you are",
    )
    .with("needs", needs))
}

fn window_ok(coupon: &Coupon, now: Instant) -> std::result::Result<(), Reason> {
    let before = coupon.window_start.is_some_and(|s| now < s);
    let after = coupon.window_end.is_some_and(|e| now >= e);
    if !(before || after) {
        return Ok(());
    }
    let mut r = Reason::new(
        "OUTSIDE_REDEMPTION_WINDOW",
        if before {
            "this coupon cannot be redeemed yet"
        } else {
            "the time to redeem this coupon is over"
        },
    );
    if let Some(s) = coupon.window_start {
        r = r.with("window_start", format_instant(s));
    }
    if let Some(e) = coupon.window_end {
        r = r.with("window_end", format_instant(e));
    }
    Err(r)
}

fn audience_ok(
    coupon: &Coupon,
    user: &User,
    now: Instant,
    code: Option<&str>,
    currency: crate::money::Currency,
) -> std::result::Result<(), Reason> {
    match &coupon.audience {
        Audience::All => Ok(()),
        Audience::Segment { name, rule } => match Some(CartFacts {
            user,
            cart: None,
            now,
        })
        .filter(|facts| !rule.holds(facts))
        .and_then(|facts| rule.check(&facts))
        {
            None => Ok(()),
            Some(f) => {
                let detail = Reason::condition(&f, currency);
                let mut r = Reason::new(
                    "NOT_IN_AUDIENCE",
                    format!(
                        "this coupon is for the `{name}` segment: {}",
                        detail.message
                    ),
                )
                .with("segment", name.clone());
                r.details.extend(detail.details);
                Err(r)
            }
        },
        Audience::Assigned => {
            // A bulk code given to this user must be the very code they type.
            let mine = |a: &&crate::cart::Assignment| {
                a.coupon_id == coupon.id
                    && (a.code.is_none() || code.is_none() || a.code.as_deref() == code)
            };
            if user.assignments.iter().any(|a| mine(&a)) {
                Ok(())
            } else {
                Err(Reason::new(
                    "NOT_ASSIGNED",
                    "this coupon was not given to this user",
                ))
            }
        }
    }
}

/// "once", "twice", "3 times".
fn times(n: u64) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

/// Whether the usage leaves room under the coupon's limits; periodic limits only with `periods`
/// (the labels of now).
fn limits_ok(
    coupon: &Coupon,
    usage: Option<&CouponUsage>,
    currency: crate::money::Currency,
    periods: Option<&Periods>,
) -> std::result::Result<(), Reason> {
    within_limits(&coupon.limits, usage, currency, periods)
}

/// [`limits_ok`] for the coupon's limit group (`limits.group`), on the group's counters: the
/// same reasons, with `group`.
fn group_ok(
    coupon: &Coupon,
    groups: &[(String, CouponUsage)],
    currency: crate::money::Currency,
    periods: Option<&Periods>,
) -> std::result::Result<(), Reason> {
    let Some(g) = &coupon.limits.group else {
        return Ok(());
    };
    let used = groups.iter().find(|(n, _)| *n == g.0).map(|(_, u)| u);
    within_limits(&g.1, used, currency, periods).map_err(|mut r| {
        r.message = format!("{} (a limit shared by the `{}` coupons)", r.message, g.0);
        r.with("group", g.0.clone())
    })
}

/// What is left of the coupon's group budget.
fn group_budget_left(coupon: &Coupon, groups: &[(String, CouponUsage)]) -> Option<Decimal> {
    let g = coupon.limits.group.as_ref()?;
    let given = groups
        .iter()
        .find(|(n, _)| *n == g.0)
        .map_or(Decimal::ZERO, |(_, u)| u.discount_given);
    g.1.budget.map(|b| money::less(b, given))
}

/// Whether two candidates share a limit group (a cart takes one use of a group).
fn shares_group(candidates: &[Candidate]) -> bool {
    fn group<'a>(c: &Candidate<'a>) -> Option<&'a str> {
        c.coupon.limits.group.as_ref().map(|g| g.0.as_str())
    }
    candidates.iter().enumerate().any(|(i, c)| {
        group(c).is_some_and(|g| candidates.iter().skip(i + 1).any(|o| group(o) == Some(g)))
    })
}

/// Why a coupon of a limit group is left out for another of the group.
fn group_rival(winner: &Coupon, group: &str) -> Reason {
    Reason::new(
        "NOT_COMBINABLE",
        format!(
            "one coupon of the `{group}` limit group applies per order: {} ({}) does",
            winner.name, winner.id
        ),
    )
    .with("with", winner.id.clone())
    .with("group", group)
}

/// The checks of [`limits_ok`] on one set of limits.
fn within_limits(
    limits: &manifest::CouponLimits,
    usage: Option<&CouponUsage>,
    currency: crate::money::Currency,
    periods: Option<&Periods>,
) -> std::result::Result<(), Reason> {
    let used = usage.cloned().unwrap_or_default();
    let labels = periods.map(|p| [&p.day, &p.week, &p.month]);
    for (i, limit) in limits.periods.iter().enumerate() {
        let Some(labels) = labels else {
            break;
        };
        let (Some(limit), Some(label)) = (limit, labels.get(i % 3)) else {
            continue;
        };
        let per_user = i >= 3;
        let n = used.in_period(per_user, label);
        if n >= *limit {
            let period = ["day", "week", "month"]
                .get(i % 3)
                .copied()
                .unwrap_or("day");
            let who = if per_user { " per customer" } else { "" };
            let mut r = Reason::new(
                "PERIOD_LIMIT_REACHED",
                format!(
                    "this coupon can be used {} a {period}{who}; try again {}",
                    times(*limit),
                    if period == "day" {
                        "tomorrow".into()
                    } else {
                        format!("next {period}")
                    }
                ),
            )
            .with("period", period)
            .with("limit", *limit)
            .with("used", n);
            if per_user {
                r = r.with("per_user", Value::Bool(true));
            }
            return Err(r);
        }
    }
    if let Some(limit) = limits.per_user {
        if used.user_redemptions >= limit {
            return Err(Reason::new(
                "USER_LIMIT_REACHED",
                format!("this coupon can be used {} per customer", times(limit)),
            )
            .with("limit", limit)
            .with("used", used.user_redemptions));
        }
    }
    if let Some(limit) = limits.global {
        if used.redemptions >= limit {
            return Err(Reason::new(
                "GLOBAL_LIMIT_REACHED",
                "this coupon has been fully redeemed",
            )
            .with("limit", limit)
            .with("used", used.redemptions));
        }
    }
    if let Some(budget) = limits.budget {
        if used.discount_given >= budget {
            return Err(
                Reason::new("BUDGET_EXHAUSTED", "this coupon's budget is used up")
                    .with("budget", currency.format(budget))
                    .with("spent", currency.format(used.discount_given)),
            );
        }
    }
    Ok(())
}

/// Whether the cart meets the coupon's rules. The reason, with its strings, is built only when
/// it goes in the result (`explain`: a typed code); an automatic coupon that does not qualify is
/// left out silently, so it gets a bare code.
fn conditions_ok(
    coupon: &Coupon,
    facts: &CartFacts,
    currency: crate::money::Currency,
    explain: bool,
) -> std::result::Result<(), Reason> {
    let Some(rule) = coupon.conditions.as_ref().filter(|c| !c.holds(facts)) else {
        return Ok(());
    };
    if !explain {
        return Err(Reason::new("CART_CONDITION_FAILED", String::new()));
    }
    match rule.check(facts) {
        Some(f) => Err(Reason::condition(&f, currency)),
        None => Ok(()),
    }
}
