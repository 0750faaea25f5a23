//! Turning a coupon's reward into exact amounts on a cart.
//!
//! Rewards apply in one documented order, each on what is left after the ones before it: line
//! (product) rewards first, then order rewards, then shipping and fee rewards. Within a step, higher
//! `priority` first, then coupon id. A discount is computed on the sum of its target, rounded once
//! ([`Currency::round`]), capped (by `max_discount`, the target's value and the remaining budget),
//! and then spread over the target's lines by largest remainder, so the parts sum exactly.

use crate::cart::{Cart, CartFacts, LineFacts, ShipFacts};
use crate::error::{Error, Result};
use crate::manifest::{Amount, Coupon, Payout, Target, Units};
use crate::money::{self, Currency};
use crate::reason::{Detail, Reason};
use crate::rules::LineRule;
use rust_decimal::{Decimal, RoundingStrategy};
use std::borrow::Cow;
use std::cell::OnceCell;

/// What is left to pay on each part of the order, as rewards are applied: whole minor units of
/// the cart's currency (the hot loop's integers; `Decimal` only for rates and caps).
///
/// The lines are kept in line-id order (`cart.by_id`, the order every allocation goes in), so a
/// reward on the whole order reads and lowers them in a row, in 64 bits; in 128 only when a
/// line's total passes 64 bits. [`Remaining::lines`] answers in the cart's own order.
#[derive(Debug, Clone)]
pub struct Remaining {
    /// Each line in line-id order, in 64 bits (empty when `wide` holds them).
    lines: Vec<u64>,
    /// Each line in line-id order, in 128 bits: only when a line's total does not fit in 64.
    wide: Vec<u128>,
    /// Where each of the cart's lines (by position) is in `lines` (or `wide`).
    place: Vec<usize>,
    /// What is left of every line together and whether one has nothing left, when known: kept
    /// by the rewards spread over lines in 64 bits (which take their exact total off), forgotten
    /// when a line is lowered otherwise.
    every: Option<(u64, bool)>,
    pub shipping: Option<u128>,
    /// Each of the cart's `shipping_lines` (empty with one charge or none).
    pub ships: Vec<u128>,
    pub fees: Vec<u128>,
    /// Units of each line already bought or given by a buy X get Y reward of this run: another
    /// one takes neither (a unit is freed only once). Empty until one applies.
    pub bxgy_used: Vec<u64>,
    /// Working space for the rewards applied to this, kept between them.
    scratch: Scratch,
}

/// [`Remaining`]'s working space: kept from one reward to the next, never copied.
#[derive(Debug, Default)]
struct Scratch {
    /// What is left of a reward's lines, in its order.
    weights: Vec<u64>,
    /// [`money::spread_in_place`]'s.
    spread: money::Spread,
}

impl Clone for Scratch {
    fn clone(&self) -> Scratch {
        Scratch::default()
    }
}

impl Remaining {
    /// The whole cart, before any reward.
    pub fn new(cart: &Cart) -> Result<Remaining> {
        let c = cart.currency;
        let n = cart.lines.len();
        let mut place = vec![usize::MAX; n];
        for (k, &i) in cart.by_id.iter().enumerate() {
            if let Some(p) = place.get_mut(i) {
                *p = k;
            }
        }
        // In 64 bits, one pass, unless a line's total passes them.
        let line = |i: usize| {
            cart.lines.get(i).map(|l| match l.total_units {
                Some(units) => Ok(units),
                None => c.to_units(l.total, "cart.lines"),
            })
        };
        let mut lines = vec![0u64; cart.by_id.len()];
        let mut wide = Vec::new();
        // Their sum and whether one is 0, for the first reward on the order.
        let (mut sum, mut over, mut zero) = (0u64, false, false);
        for (slot, &i) in lines.iter_mut().zip(&cart.by_id) {
            let v = line(i).transpose()?.unwrap_or(0);
            match u64::try_from(v) {
                Ok(v) => {
                    *slot = v;
                    let (s, o) = sum.overflowing_add(v);
                    (sum, over, zero) = (s, over | o, zero | (v == 0));
                }
                Err(_) => {
                    wide = cart
                        .by_id
                        .iter()
                        .filter_map(|&i| line(i))
                        .collect::<Result<_>>()?;
                    break;
                }
            }
        }
        let every = (wide.is_empty() && !over).then_some((sum, zero));
        if !wide.is_empty() {
            lines = Vec::new();
        }
        Ok(Remaining {
            lines,
            wide,
            place,
            every,
            shipping: cart
                .shipping
                .map(|s| c.to_units(s, "cart.shipping"))
                .transpose()?,
            ships: match cart.shipping {
                Some(_) => Vec::new(),
                None => cart
                    .ships
                    .iter()
                    .map(|s| c.to_units(s.amount, "cart.shipping_lines"))
                    .collect::<Result<_>>()?,
            },
            fees: cart
                .fees
                .iter()
                .map(|f| c.to_units(f.amount, "cart.fees"))
                .collect::<Result<_>>()?,
            bxgy_used: Vec::new(),
            scratch: Scratch::default(),
        })
    }

    /// Starts over from `start` (same cart), keeping the buffers.
    pub fn reset(&mut self, start: &Remaining) {
        self.lines.clone_from(&start.lines);
        self.wide.clone_from(&start.wide);
        self.place.clone_from(&start.place);
        self.every = start.every;
        self.shipping = start.shipping;
        self.ships.clone_from(&start.ships);
        self.fees.clone_from(&start.fees);
        self.bxgy_used.clear();
    }

    /// What is left of each line, in the cart's order.
    pub fn lines(&self) -> impl Iterator<Item = u128> + '_ {
        self.place.iter().map(|&k| self.at(k))
    }

    /// The line at place `k` (line-id order).
    #[inline]
    fn at(&self, k: usize) -> u128 {
        match self.lines.get(k) {
            Some(&v) => u128::from(v),
            None => self.wide.get(k).copied().unwrap_or(0),
        }
    }

    /// What is left of `part`; `None` when the cart has no such part.
    fn part(&self, part: Part) -> Option<u128> {
        match part {
            Part::Line(i) => {
                let k = *self.place.get(i)?;
                match self.lines.get(k) {
                    Some(&v) => Some(u128::from(v)),
                    None => self.wide.get(k).copied(),
                }
            }
            Part::Shipping => self.shipping,
            Part::Ship(i) => self.ships.get(i).copied(),
            Part::Fee(i) => self.fees.get(i).copied(),
        }
    }
}

/// A part of the order a reward can lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Line(usize),
    Shipping,
    Fee(usize),
    /// One of the cart's `shipping_lines`.
    Ship(usize),
}

/// One share of a discount, as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Allocation {
    /// `line`, `shipping` or `fee`.
    pub target: &'static str,
    /// The line or fee id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub amount: String,
}

/// The outcome of applying one coupon's reward.
#[derive(Debug, Clone)]
pub struct Applied {
    pub discount: Decimal,
    pub cashback_points: u64,
    /// Each nonzero share, in whole minor units: only when `apply` was asked for them.
    pub shares: Vec<(Part, u128)>,
    /// What the discount was spread over: the target's parts that still had something to pay
    /// (a part here may take 0.00 of a small discount). Empty for cashback, and when
    /// `every_line` says it is every line of the cart.
    pub touched: Vec<Part>,
    /// The discount was spread over every line of the cart, each of which had something to pay.
    pub every_line: bool,
    /// The discount was cut to what is left of the coupon's money budget.
    pub budget_capped: bool,
    /// For a tiered reward below its top tier: what the next tier needs, and what it gives.
    pub next_tier: Option<(Detail, String)>,
}

/// The step a reward applies in: lines, then the order, then shipping and fees.
pub fn step(target: &Target) -> u8 {
    match target {
        Target::Products(_) => 0,
        Target::Order => 1,
        Target::Shipping(_) | Target::Fee(_) => 2,
    }
}

/// Applies `coupon`'s reward to `left`. `budget_left` is what remains of a money budget;
/// `with_shares` asks for each part's share (what `allocations` shows). `matches` is for this
/// cart and these facts.
pub fn apply(
    coupon: &Coupon,
    cart: &Cart,
    facts: &CartFacts,
    matches: &Matches,
    left: &mut Remaining,
    budget_left: Option<Decimal>,
    with_shares: bool,
) -> Result<std::result::Result<Applied, Reason>> {
    let currency = cart.currency;
    let reward = &coupon.reward;
    let matching = |rule: &LineRule| matches.lines(cart, facts, rule);
    // A plain reward on lines (the order, or products) is weighed and shared out on the lines'
    // positions, in 64 bits, with no part per line (unless the shares are to be shown).
    // (Not when a line passes 64 bits: then every part is weighed in 128.)
    let on_lines = !with_shares && matches!(reward.units, Units::All) && left.wide.is_empty();
    let mut line_list: Option<OnLines> = None;
    // Lines in line-id order, so that ties in allocation never depend on the input order.
    let parts: Vec<Part> = match &reward.target {
        Target::Order if on_lines => {
            line_list = Some(OnLines::Every);
            Vec::new()
        }
        Target::Order => cart.by_id.iter().map(|&i| Part::Line(i)).collect(),
        Target::Products(rule) => {
            let matched = matching(rule);
            // Unit rewards say how many units are missing, below.
            let by_units = matches!(
                reward.units,
                Units::BuyGet { .. } | Units::FixedPrice { .. }
            );
            if matched.is_empty() && !by_units {
                return Ok(Err(Reason::new(
                    "NO_ELIGIBLE_ITEMS",
                    format!(
                        "no item in the cart qualifies: the coupon needs an item whose {}",
                        rule.describe()
                    ),
                )
                .with("rule", rule.describe())));
            }
            if on_lines {
                line_list = Some(OnLines::These(matched));
                Vec::new()
            } else {
                matched.iter().map(|&i| Part::Line(i)).collect()
            }
        }
        Target::Shipping(None) if cart.shipping.is_some() => vec![Part::Shipping],
        Target::Shipping(rule) => {
            // The one charge (as before), or the shipping lines, that the rule (if any) holds on.
            let single = cart.shipping.is_some();
            let parts: Vec<Part> = cart
                .ships
                .iter()
                .enumerate()
                .filter(|(_, ship)| {
                    rule.as_ref()
                        .is_none_or(|r| r.holds(&ShipFacts { outer: facts, ship }))
                })
                .map(|(i, _)| {
                    if single {
                        Part::Shipping
                    } else {
                        Part::Ship(i)
                    }
                })
                .collect();
            match (parts.is_empty(), rule) {
                (false, _) => parts,
                (true, Some(rule)) if !cart.ships.is_empty() => {
                    return Ok(Err(nothing(
                        "shipping",
                        &format!(
                            "no shipping charge in the cart matches: {}",
                            rule.describe()
                        ),
                    )
                    .with("rule", rule.describe())))
                }
                _ => return Ok(Err(nothing("shipping", "the cart has no shipping charge"))),
            }
        }
        Target::Fee(id) => match cart.fees.iter().position(|f| &f.id == id) {
            Some(i) => vec![Part::Fee(i)],
            None => {
                return Ok(Err(
                    nothing("fee", &format!("the cart has no `{id}` fee")).with("fee", id.clone())
                ));
            }
        },
    };
    // The target's lines, for rewards that count units or amounts per line (not needed, and not
    // built, for a plain percentage or amount).
    let lines: Vec<usize> = match reward.units {
        Units::All => Vec::new(),
        _ => parts
            .iter()
            .filter_map(|p| match p {
                Part::Line(i) => Some(*i),
                _ => None,
            })
            .collect(),
    };
    let mut next_tier = None;
    // A buy X get Y reward's units of each line left after it: recorded in `left` if it applies.
    let mut bxgy_left: Option<Vec<u64>> = None;
    // What each part may lose (at most what is left of it), the discount before caps, and what is
    // left of the parts it touches (the most it can be).
    // Weights in whole minor units; the discount and its caps stay decimals.
    // `whole` is the weights' sum, in minor units.
    let (weighted, value, most, whole): (Weighted, Decimal, Decimal, u128) = match &reward.units {
        Units::All => {
            let (w, whole) = match line_list {
                Some(lines) => weigh_lines(lines, left, &cart.by_id)?,
                None => weigh(parts, left)?,
            };
            let base = currency.from_units(whole, "reward")?;
            let v = worth(&reward.amount, base, currency)?;
            (w, v, base, whole)
        }
        Units::Tiers { by_quantity, tiers } => {
            // On shipping or a fee, the tiers count the whole order's lines.
            let lines = match reward.target {
                Target::Shipping(_) | Target::Fee(_) => &cart.by_id,
                _ => &lines,
            };
            let basis = money::sum(
                lines.iter().filter_map(|&i| cart.lines.get(i)).map(|l| {
                    if *by_quantity {
                        Decimal::from(l.quantity)
                    } else {
                        l.total
                    }
                }),
                "reward",
            )?;
            let reached = tiers.iter().take_while(|(min, _)| *min <= basis).count();
            let shortfall = |i: usize| {
                tiers.get(i).map(|(min, amount)| {
                    let missing = money::less(*min, basis);
                    let missing = match by_quantity {
                        true => Detail::Count(money::whole(missing).unwrap_or(u64::MAX)),
                        false => Detail::Text(currency.format(missing)),
                    };
                    (
                        missing,
                        gives(amount, &Payout::Discount, &reward.target, currency),
                    )
                })
            };
            let Some((_, amount)) = reached.checked_sub(1).and_then(|i| tiers.get(i)) else {
                let (missing, next) = shortfall(0).unwrap_or((Detail::Count(0), String::new()));
                let more = match &missing {
                    Detail::Count(n) => format!("{n} more item(s)"),
                    Detail::Text(t) => format!("{t} more"),
                    Detail::Value(_) => String::new(),
                };
                return Ok(Err(Reason::new(
                    "TIER_NOT_REACHED",
                    format!("add {more} to get {next}"),
                )
                .with("missing", missing)
                .with("next", next)));
            };
            next_tier = shortfall(reached);
            let (w, whole) = weigh(parts, left)?;
            let base = currency.from_units(whole, "reward")?;
            let v = worth(amount, base, currency)?;
            (w, v, base, whole)
        }
        kind => {
            let mut claims = vec![Decimal::ZERO; cart.lines.len()];
            let unit_price = |i: usize| cart.lines.get(i).map_or(Decimal::ZERO, |l| l.unit_price);
            let mut claim = |i: usize, d: Decimal| -> Result<()> {
                if let Some(c) = claims.get_mut(i) {
                    *c = money::add(*c, d, "reward")?;
                }
                Ok(())
            };
            // What one unit of line `i` gets off, for a percentage or an amount per unit.
            let per_unit = |i: usize, amount: &Amount| -> Result<Decimal> {
                let price = unit_price(i);
                Ok(match amount {
                    Amount::Percent(p) => money::mul(
                        money::mul(price, *p, "reward")?,
                        Decimal::new(1, 2),
                        "reward",
                    )?,
                    Amount::Fixed(a) => (*a).min(price),
                    Amount::Points(_) => Decimal::ZERO,
                })
            };
            let mut units: Vec<u64> = cart.lines.iter().map(|l| l.quantity).collect();
            // The total: `None` rounds the claims' sum once; a fixed price knows it exactly.
            let mut total: Option<Decimal> = None;
            let mut select_across = false;
            match kind {
                Units::Select {
                    cheapest,
                    max,
                    each,
                    per_line,
                } => {
                    let mut n = max.unwrap_or(u64::MAX);
                    let per_line = per_line.unwrap_or(u64::MAX);
                    for i in by_price(cart, &lines, *cheapest) {
                        let take = units.get(i).copied().unwrap_or(0).min(n).min(per_line);
                        n -= take;
                        let value = match each {
                            true => per_unit(i, &reward.amount)?,
                            false => unit_price(i),
                        };
                        claim(i, money::mul(value, Decimal::from(take), "reward")?)?;
                    }
                    select_across = !*each;
                }
                Units::FixedPrice {
                    price,
                    quantity,
                    max,
                } => {
                    let order = by_price(cart, &lines, false);
                    // Each set's discount (what its units cost over `price`) is claimed by its
                    // lines, split by their units' value when a set spans lines.
                    let mut off = Decimal::ZERO;
                    let mut sets = 0u64;
                    let cap = max.unwrap_or(u64::MAX);
                    while sets < cap {
                        // Whole sets from one line at a time, then one set across lines.
                        let Some(i) = order.iter().copied().find(|&i| units.get(i) > Some(&0))
                        else {
                            break;
                        };
                        let have = units.get(i).copied().unwrap_or(0);
                        let k = (have / quantity).min(cap - sets);
                        if k > 0 {
                            let set =
                                money::mul(unit_price(i), Decimal::from(*quantity), "reward")?;
                            if set <= *price {
                                break;
                            }
                            let d =
                                money::mul(money::less(set, *price), Decimal::from(k), "reward")?;
                            claim(i, d)?;
                            off = money::add(off, d, "reward")?;
                            if let Some(u) = units.get_mut(i) {
                                *u -= k * quantity;
                            }
                            sets += k;
                            continue;
                        }
                        let mut trial = units.clone();
                        let mut taken = Vec::new();
                        if take(&order, &mut trial, *quantity, &mut |i, n| {
                            taken.push((i, n))
                        }) < *quantity
                        {
                            break;
                        }
                        let values = taken
                            .iter()
                            .map(|&(i, n)| money::mul(unit_price(i), Decimal::from(n), "reward"))
                            .collect::<Result<Vec<Decimal>>>()?;
                        let set = money::sum(values.iter().copied(), "reward")?;
                        if set <= *price {
                            break;
                        }
                        let d = money::less(set, *price);
                        let shares = money::allocate(d, &values, currency)?;
                        for (&(i, _), share) in taken.iter().zip(shares) {
                            claim(i, share)?;
                        }
                        off = money::add(off, d, "reward")?;
                        units = trial;
                        sets += 1;
                    }
                    total = Some(off);
                    if sets == 0 {
                        let have: u64 = lines.iter().filter_map(|&i| units.get(i)).sum();
                        if have < *quantity {
                            return Ok(Err(missing_units(*quantity - have)));
                        }
                        return Ok(Err(nothing(
                            "products",
                            &format!(
                                "these items already cost {} or less",
                                currency.format(*price)
                            ),
                        )));
                    }
                }
                Units::BuyGet { buy, get, max } => {
                    let (bq, gq) = (buy.1, get.1);
                    // Units an earlier buy X get Y reward bought or gave are not taken again.
                    for (u, used) in units.iter_mut().zip(&left.bxgy_used) {
                        *u = u.saturating_sub(*used);
                    }
                    let buy_order = by_price(cart, &matching(&buy.0), false);
                    let get_order = by_price(cart, &matching(&get.0), true);
                    let first = |order: &[usize], units: &[u64]| {
                        order.iter().copied().find(|&i| units.get(i) > Some(&0))
                    };
                    let cap = max.unwrap_or(u64::MAX);
                    let mut apps = 0u64;
                    while apps < cap {
                        let (Some(b), Some(g)) =
                            (first(&buy_order, &units), first(&get_order, &units))
                        else {
                            break;
                        };
                        let (ub, ug) = (
                            units.get(b).copied().unwrap_or(0),
                            units.get(g).copied().unwrap_or(0),
                        );
                        // Many applications at once while one line gives the buy units and one
                        // the get units; the same as taking them one application at a time.
                        let k = match b == g {
                            true => ub / (bq + gq),
                            false => (ub / bq).min(ug / gq),
                        }
                        .min(cap - apps);
                        if k > 0 {
                            for (line, n) in [(b, k * bq), (g, k * gq)] {
                                if let Some(u) = units.get_mut(line) {
                                    *u -= n;
                                }
                            }
                            claim(
                                g,
                                money::mul(
                                    per_unit(g, &reward.amount)?,
                                    Decimal::from(k * gq),
                                    "reward",
                                )?,
                            )?;
                            apps += k;
                            continue;
                        }
                        let mut trial = units.clone();
                        let mut given = Vec::new();
                        if take(&buy_order, &mut trial, bq, &mut |_, _| {}) < bq
                            || take(&get_order, &mut trial, gq, &mut |i, n| given.push((i, n))) < gq
                        {
                            break;
                        }
                        for (i, n) in given {
                            claim(
                                i,
                                money::mul(
                                    per_unit(i, &reward.amount)?,
                                    Decimal::from(n),
                                    "reward",
                                )?,
                            )?;
                        }
                        units = trial;
                        apps += 1;
                    }
                    if apps == 0 {
                        let short = |mut trial: Vec<u64>| {
                            bq - take(&buy_order, &mut trial, bq, &mut |_, _| {}) + gq
                                - take(&get_order, &mut trial, gq, &mut |_, _| {})
                        };
                        // Enough in the cart, but another buy X get Y reward has them.
                        let whole_cart = || cart.lines.iter().map(|l| l.quantity).collect();
                        if !left.bxgy_used.is_empty() && short(whole_cart()) == 0 {
                            return Ok(Err(units_taken(&buy_order, &get_order, &left.bxgy_used)));
                        }
                        return Ok(Err(missing_units(short(whole_cart()))));
                    }
                    bxgy_left = Some(std::mem::take(&mut units));
                }
                Units::All | Units::Tiers { .. } => {}
            }
            // Each line's claim, at most what is left of it; the weights to share the rounded
            // total by are the claims in whole minor units (rounded up, still within the line).
            // In line-id order, like every allocation, so the input order of lines never matters.
            let mut capped: Vec<(Part, Decimal)> = Vec::new();
            for &i in &cart.by_id {
                let Some(c) = claims.get(i).filter(|c| !c.is_zero()) else {
                    continue;
                };
                if let Some(v) = left.part(Part::Line(i)) {
                    capped.push((Part::Line(i), (*c).min(currency.from_units(v, "reward")?)));
                }
            }
            // `each` on shipping: the amount off every charge of the target, at most what is left.
            if let (Units::Select { each: true, .. }, Amount::Fixed(a)) = (kind, &reward.amount) {
                for &p in parts.iter().filter(|p| !matches!(p, Part::Line(_))) {
                    if let Some(v) = left.part(p) {
                        capped.push((p, (*a).min(currency.from_units(v, "reward")?)));
                    }
                }
            }
            let exact = money::sum(capped.iter().map(|w| w.1), "reward")?;
            let v = match (total, select_across) {
                (Some(t), _) => t,
                // Select without `each`: the reward is worked out on the selected units' value.
                (None, true) => worth(&reward.amount, exact, currency)?,
                (None, false) => currency.round(exact),
            };
            let mut w = Weighted::default();
            for (p, c) in capped {
                let up = c
                    .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::AwayFromZero);
                w.parts.push(p);
                w.weights.push(currency.to_units(up, "reward")?);
            }
            let whole = money::sum_units(w.weights.iter().copied(), "reward")?;
            let most = currency.from_units(whole, "reward")?;
            (w, v, most, whole)
        }
    };
    if whole == 0 {
        return Ok(Err(nothing(
            reward.target.kind(),
            "what the coupon applies to is already fully discounted",
        )));
    }
    let mut value = value;
    if let Some(cap) = reward.max_discount {
        value = value.min(cap);
    }
    value = value.min(most);
    let mut budget_capped = false;
    if let Some(b) = budget_left {
        if value > b {
            if coupon.limits.refuse_over_budget {
                return Ok(Err(over_budget(coupon, b, value, currency)));
            }
            value = b;
            budget_capped = true;
        }
    }
    match &reward.payout {
        Payout::Cashback {
            points_per_unit,
            max_points,
        } => {
            let points = match reward.amount {
                Amount::Points(n) => n,
                _ => money::whole(
                    money::mul(value, *points_per_unit, "reward")?
                        .round_dp_with_strategy(0, RoundingStrategy::ToZero),
                )
                .unwrap_or(u64::MAX),
            };
            let points = max_points.map_or(points, |m| points.min(m));
            if points == 0 {
                return Ok(Err(nothing(
                    reward.target.kind(),
                    "the cashback comes to 0 points on this cart",
                )));
            }
            Ok(Ok(Applied {
                discount: Decimal::ZERO,
                cashback_points: points,
                shares: Vec::new(),
                touched: Vec::new(),
                every_line: false,
                budget_capped,
                next_tier,
            }))
        }
        Payout::Discount => {
            if value.is_zero() {
                return Ok(Err(nothing(
                    reward.target.kind(),
                    "the discount rounds to zero on this cart",
                )));
            }
            let total = currency.to_units(value, "allocation")?;
            let mut weighted = weighted;
            if let Some((target, zero)) = weighted.lines.take() {
                let Remaining {
                    lines: amounts,
                    place,
                    scratch,
                    every,
                    ..
                } = &mut *left;
                let (list, weights): (&[usize], &[u64]) = match &target {
                    OnLines::Every => (&cart.by_id, amounts),
                    OnLines::These(list) => (list, &scratch.weights),
                };
                // The lines with something left to pay (usually all of them), before they are
                // lowered.
                let every_line = list.len() == cart.lines.len() && !zero;
                let touched = match (every_line, zero) {
                    (true, _) => Vec::new(),
                    (false, false) => list.iter().map(|&i| Part::Line(i)).collect(),
                    (false, true) => list
                        .iter()
                        .zip(weights)
                        .filter(|(_, &w)| w != 0)
                        .map(|(&i, _)| Part::Line(i))
                        .collect(),
                };
                let t = total.min(whole);
                let spread = match &target {
                    OnLines::Every => {
                        money::spread_in_place(t, whole, amounts, &mut scratch.spread)
                    }
                    OnLines::These(list) => {
                        let done = money::spread_in_place(
                            t,
                            whole,
                            &mut scratch.weights,
                            &mut scratch.spread,
                        );
                        if done.is_some() {
                            for (&i, &w) in list.iter().zip(&scratch.weights) {
                                if let Some(a) = place.get(i).and_then(|&k| amounts.get_mut(k)) {
                                    *a = w;
                                }
                            }
                        }
                        done
                    }
                };
                if let Some(emptied) = spread {
                    // Exactly `t` was taken off.
                    let taken = u64::try_from(t).unwrap_or(u64::MAX);
                    *every = match target {
                        OnLines::Every => {
                            Some((u64::try_from(whole).unwrap_or(0) - taken, zero || emptied))
                        }
                        OnLines::These(_) => every.map(|(sum, z)| (sum - taken, z || emptied)),
                    };
                    return Ok(Ok(Applied {
                        discount: value,
                        cashback_points: 0,
                        shares: Vec::new(),
                        touched,
                        every_line,
                        budget_capped,
                        next_tier,
                    }));
                }
                // Past 64 bits: part by part, in 128 (nothing was lowered).
                let (list, weights): (&[usize], &[u64]) = match &target {
                    OnLines::Every => (&cart.by_id, &left.lines),
                    OnLines::These(list) => (list, &left.scratch.weights),
                };
                weighted.parts = list.iter().map(|&i| Part::Line(i)).collect();
                weighted.weights = weights.iter().map(|&w| u128::from(w)).collect();
            }
            let untouched = weighted.weights.contains(&0);
            let mut shares = Vec::new();
            // Lower what is left by each share as it is worked out: no vector of shares, unless
            // they will be shown (or the amounts pass 64 bits).
            let spread = !with_shares
                && money::spread_units(
                    total.min(whole),
                    &weighted.weights,
                    whole,
                    &mut Lower {
                        parts: &weighted.parts,
                        left,
                    },
                );
            if !spread {
                let mut amounts = Vec::with_capacity(weighted.weights.len());
                money::allocate_units(
                    total,
                    &weighted.weights,
                    whole,
                    &mut amounts,
                    &mut Vec::new(),
                )?;
                // One pass: lower what is left, and note the shares when they will be shown.
                for (&part, amount) in weighted.parts.iter().zip(amounts) {
                    lower(left, part, amount);
                    if with_shares && amount != 0 {
                        shares.push((part, amount));
                    }
                }
            }
            if let Some(after) = bxgy_left {
                left.bxgy_used = cart
                    .lines
                    .iter()
                    .zip(after)
                    .map(|(l, a)| l.quantity.saturating_sub(a))
                    .collect();
            }
            // The parts with something left to pay: usually all of them, kept without a copy.
            let Weighted { parts, weights, .. } = weighted;
            let touched = match untouched {
                false => parts,
                true => {
                    let mut touched = Vec::with_capacity(parts.len());
                    for (&part, &weight) in parts.iter().zip(&weights) {
                        if weight != 0 {
                            touched.push(part);
                        }
                    }
                    touched
                }
            };
            Ok(Ok(Applied {
                discount: value,
                cashback_points: 0,
                shares,
                touched,
                every_line: false,
                budget_capped,
                next_tier,
            }))
        }
    }
}

/// Lowers what is left of `part` by `amount` (never below zero).
#[inline(always)]
fn lower(left: &mut Remaining, part: Part, amount: u128) {
    let slot = match part {
        Part::Line(i) => {
            let Some(&k) = left.place.get(i) else { return };
            left.every = None;
            if let Some(v) = left.lines.get_mut(k) {
                *v = v.saturating_sub(u64::try_from(amount).unwrap_or(u64::MAX));
                return;
            }
            left.wide.get_mut(k)
        }
        Part::Shipping => left.shipping.as_mut(),
        Part::Ship(i) => left.ships.get_mut(i),
        Part::Fee(i) => left.fees.get_mut(i),
    };
    if let Some(slot) = slot {
        *slot = slot.saturating_sub(amount);
    }
}

/// What is left, lowered by each share as [`money::spread_units`] works it out.
struct Lower<'a> {
    parts: &'a [Part],
    left: &'a mut Remaining,
}

impl money::Take for Lower<'_> {
    #[inline(always)]
    fn take(&mut self, i: usize, units: u64) {
        if let Some(&part) = self.parts.get(i) {
            lower(self.left, part, u128::from(units));
        }
    }
}

/// A plain reward on lines alone: every line of the cart, or these (positions, in line-id
/// order).
#[derive(Debug)]
enum OnLines<'m> {
    Every,
    /// Borrowed from the evaluation's [`Matches`] when the rule is shared.
    These(Cow<'m, [usize]>),
}

/// The parts a discount is spread over and each one's weight (what is left of it, or its claim),
/// side by side, in whole minor units.
#[derive(Debug, Default)]
struct Weighted<'m> {
    parts: Vec<Part>,
    weights: Vec<u128>,
    /// Instead of parts, for a reward on lines alone: which lines, and whether one of them has
    /// nothing left. Their weights are what is left of them, in 64 bits: `Remaining`'s own for
    /// every line, else gathered into its scratch weights.
    lines: Option<(OnLines<'m>, bool)>,
}

/// Each part with what is left of it, and their sum. The parts are kept as they come (one
/// vector fewer, and no copy of each): every part of a target has a slot (lines by index,
/// shipping only when the cart has it, fees by position), and one without would weigh 0, which
/// takes no share and touches nothing.
fn weigh(parts: Vec<Part>, left: &Remaining) -> Result<(Weighted<'static>, u128)> {
    // One pass, collected in place (no push per part), summed as it goes.
    let mut whole = Some(0u128);
    let weights: Vec<u128> = parts
        .iter()
        .map(|&p| {
            let v = left.part(p).unwrap_or(0);
            whole = whole.and_then(|s| s.checked_add(v));
            v
        })
        .collect();
    let whole = whole.ok_or_else(|| Error::AmountOverflow {
        path: "reward".into(),
    })?;
    Ok((
        Weighted {
            parts,
            weights,
            lines: None,
        },
        whole,
    ))
}

/// [`weigh`] for lines alone, in 64 bits (every line is, unless `left.wide`); as parts in 128
/// bits when their sum does not fit. `by_id` is the cart's lines in line-id order.
fn weigh_lines<'m>(
    target: OnLines<'m>,
    left: &mut Remaining,
    by_id: &[usize],
) -> Result<(Weighted<'m>, u128)> {
    // Plain integers for the sum and whether it passed 64 bits, or met a line with nothing left;
    // the loops written out (a closure for the sum was a call per line).
    let (mut whole, mut over, mut zero) = (0u64, false, false);
    match &target {
        OnLines::Every => match left.every {
            Some((sum, z)) => (whole, zero) = (sum, z),
            None => {
                for &v in &left.lines {
                    let (sum, o) = whole.overflowing_add(v);
                    over |= o;
                    zero |= v == 0;
                    whole = sum;
                }
                if !over {
                    left.every = Some((whole, zero));
                }
            }
        },
        OnLines::These(list) => {
            let Remaining {
                lines,
                place,
                scratch,
                ..
            } = &mut *left;
            let weights = &mut scratch.weights;
            weights.clear();
            weights.resize(list.len(), 0);
            for (&i, slot) in list.iter().zip(weights.iter_mut()) {
                let v = place
                    .get(i)
                    .and_then(|&k| lines.get(k))
                    .copied()
                    .unwrap_or(0);
                let (sum, o) = whole.overflowing_add(v);
                over |= o;
                zero |= v == 0;
                whole = sum;
                *slot = v;
            }
        }
    }
    if over {
        let list = match &target {
            OnLines::Every => by_id,
            OnLines::These(list) => list,
        };
        return weigh(list.iter().map(|&i| Part::Line(i)).collect(), left);
    }
    Ok((
        Weighted {
            parts: Vec::new(),
            weights: Vec::new(),
            lines: Some((target, zero)),
        },
        u128::from(whole),
    ))
}

/// The lines each of the manifest's distinct line rules holds on, worked out the first time a
/// reward asks for them during an evaluation (the cart and the facts do not change within one),
/// so coupons with equal rules ([`LineRule::id`]), and each coupon's later runs, share them.
#[derive(Debug)]
pub struct Matches(Vec<OnceCell<Vec<usize>>>);

impl Matches {
    /// For a manifest's `line_rules`, on one cart with its facts.
    pub fn new(line_rules: usize) -> Matches {
        Matches(
            std::iter::repeat_with(OnceCell::new)
                .take(line_rules)
                .collect(),
        )
    }

    /// [`matching`], kept for the rule's place (worked out each time for a rule without one).
    fn lines(&self, cart: &Cart, facts: &CartFacts, rule: &LineRule) -> Cow<'_, [usize]> {
        match self.0.get(rule.id) {
            Some(cell) => Cow::Borrowed(cell.get_or_init(|| matching(cart, facts, rule))),
            None => Cow::Owned(matching(cart, facts, rule)),
        }
    }
}

/// The positions of the cart's lines `rule` holds on, in line-id order. A plain loop, written
/// in place: a filtering iterator was a call per line and a push per match.
/// A rule on one attribute (what a product target usually is) is tested on the attribute
/// straight away.
fn matching(cart: &Cart, facts: &CartFacts, rule: &crate::rules::Predicate) -> Vec<usize> {
    let mut matched = vec![0; cart.by_id.len()];
    let mut n = 0;
    let attribute = rule.on_attribute();
    for &i in &cart.by_id {
        let Some(line) = cart.lines.get(i) else {
            continue;
        };
        let holds = match &attribute {
            Some(a) => a.holds(line.attributes),
            None => rule.holds_on_line(line.attributes, &LineFacts { outer: facts, line }),
        };
        if holds {
            if let Some(slot) = matched.get_mut(n) {
                *slot = i;
            }
            n += 1;
        }
    }
    matched.truncate(n);
    matched
}

/// A percentage of `base` (rounded once) or a fixed amount.
fn worth(amount: &Amount, base: Decimal, currency: Currency) -> Result<Decimal> {
    Ok(match amount {
        // p% is p x 0.01: exact, and no division.
        Amount::Percent(p) => currency.round(money::mul(
            money::mul(base, *p, "reward")?,
            Decimal::new(1, 2),
            "reward",
        )?),
        Amount::Fixed(a) => *a,
        Amount::Points(_) => Decimal::ZERO,
    })
}

/// `lines` ordered by unit price, cheapest or dearest first; equal prices keep line-id order.
fn by_price(cart: &Cart, lines: &[usize], cheapest: bool) -> Vec<usize> {
    let price = |i: usize| {
        lines
            .get(i)
            .and_then(|&l| cart.lines.get(l))
            .map(|l| l.unit_price)
    };
    crate::sort::indices(lines.len(), &|a, b| match cheapest {
        true => price(a).cmp(&price(b)),
        false => price(b).cmp(&price(a)),
    })
    .into_iter()
    .filter_map(|i| lines.get(i).copied())
    .collect()
}

/// Takes up to `n` units from `units`, line by line in `order`, telling `took` each line's count;
/// returns how many it took.
fn take(order: &[usize], units: &mut [u64], n: u64, took: &mut dyn FnMut(usize, u64)) -> u64 {
    let mut got = 0;
    for &i in order {
        let Some(u) = units.get_mut(i) else { continue };
        let t = (*u).min(n - got);
        if t > 0 {
            *u -= t;
            got += t;
            took(i, t);
        }
        if got == n {
            break;
        }
    }
    got
}

fn missing_units(n: u64) -> Reason {
    Reason::new(
        "NO_ELIGIBLE_ITEMS",
        format!("not enough qualifying items: add {n} more"),
    )
    .with("missing", n)
}

/// A buy X get Y reward whose units another one already bought or gave: `units_taken`, how many
/// of the units it could use are taken.
fn units_taken(buy: &[usize], get: &[usize], used: &[u64]) -> Reason {
    let mut mine = vec![false; used.len()];
    for &i in buy.iter().chain(get) {
        if let Some(m) = mine.get_mut(i) {
            *m = true;
        }
    }
    let n: u64 = used.iter().zip(mine).filter(|p| p.1).map(|p| *p.0).sum();
    nothing(
        "products",
        "these items are already bought or given by another buy X get Y offer",
    )
    .with("units_taken", n)
}

/// `on_budget: refuse`: the discount would pass what is left of the budget.
#[inline(never)]
fn over_budget(coupon: &Coupon, left: Decimal, discount: Decimal, currency: Currency) -> Reason {
    let budget = coupon.limits.budget.unwrap_or(left);
    let f = |d: Decimal| currency.format(d);
    Reason::new(
        "BUDGET_EXHAUSTED",
        format!(
            "this coupon's budget has {} left, less than its discount of {}",
            f(left),
            f(discount)
        ),
    )
    .with("budget", f(budget))
    .with("spent", f(money::less(budget, left)))
    .with("left", f(left))
    .with("discount", f(discount))
}

fn nothing(target: &str, why: &str) -> Reason {
    Reason::new("NOTHING_TO_DISCOUNT", format!("nothing to discount: {why}"))
        .with("target", target.to_string())
}

/// A plain-words summary of a reward, for trays and previews ("10% off the order, up to 20.00").
pub fn summary(coupon: &Coupon, currency: Currency) -> String {
    let r = &coupon.reward;
    let money = |a: &Decimal| format!("{} {}", currency.format(*a), currency.code());
    let mut s = match &r.units {
        Units::BuyGet { buy, get, .. } => {
            let off = match &r.amount {
                Amount::Percent(p) if *p == Decimal::ONE_HUNDRED => "free".to_string(),
                Amount::Percent(p) => format!("at {}% off", money::plain(*p)),
                Amount::Fixed(a) => format!("with {} off each", money(a)),
                Amount::Points(_) => String::new(),
            };
            format!("Buy {}, get {} {off}", buy.1, get.1)
        }
        Units::FixedPrice {
            price, quantity, ..
        } => format!("{quantity} for {}", money(price)),
        Units::Tiers { by_quantity, tiers } => crate::text::join(
            tiers.iter().map(|(min, a)| {
                let from = match by_quantity {
                    true => format!("{} items", money::plain(*min)),
                    false => money(min),
                };
                format!("{} from {from}", gives(a, &r.payout, &r.target, currency))
            }),
            "; ",
        ),
        Units::Select {
            cheapest,
            max,
            each,
            per_line,
        } => {
            let mut s = gives(&r.amount, &r.payout, &r.target, currency);
            match (each, &r.target) {
                (true, Target::Shipping(_)) => {
                    s = s.replacen(" shipping", " each shipping charge", 1)
                }
                (true, _) => s.push_str(" each"),
                _ => {}
            }
            if let Some(n) = max {
                let which = if *cheapest {
                    "cheapest"
                } else {
                    "most expensive"
                };
                s.push_str(&format!(", on the {n} {which}"));
            }
            if let Some(n) = per_line {
                s.push_str(&format!(", at most {n} per line"));
            }
            s
        }
        Units::All => gives(&r.amount, &r.payout, &r.target, currency),
    };
    if let Some(cap) = r.max_discount {
        s.push_str(&format!(", up to {}", money(&cap)));
    }
    if let Payout::Cashback {
        max_points: Some(m),
        ..
    } = &r.payout
    {
        s.push_str(&format!(", up to {m} points"));
    }
    s
}

/// What an amount gives on a target, in words ("10% off the order", "Free shipping").
fn gives(amount: &Amount, payout: &Payout, target: &Target, currency: Currency) -> String {
    let on = match target {
        Target::Order => "the order".to_string(),
        Target::Products(_) => "selected products".to_string(),
        Target::Shipping(None) => "shipping".to_string(),
        Target::Shipping(Some(rule)) => format!("shipping where {}", rule.describe()),
        Target::Fee(id) => {
            let name = id.replace('_', " ");
            if name.ends_with("fee") {
                format!("the {name}")
            } else {
                format!("the {name} fee")
            }
        }
    };
    match (amount, payout) {
        (Amount::Percent(p), Payout::Discount)
            if *p == Decimal::ONE_HUNDRED && matches!(target, Target::Shipping(_)) =>
        {
            match target {
                Target::Shipping(Some(rule)) => format!("Free shipping where {}", rule.describe()),
                _ => "Free shipping".to_string(),
            }
        }
        (Amount::Percent(p), Payout::Discount)
            if *p == Decimal::ONE_HUNDRED && matches!(target, Target::Fee(_)) =>
        {
            format!("No {}", on.strip_prefix("the ").unwrap_or(&on))
        }
        (Amount::Percent(p), Payout::Discount) => format!("{}% off {on}", money::plain(*p)),
        (Amount::Fixed(a), Payout::Discount) => {
            format!("{} {} off {on}", currency.format(*a), currency.code())
        }
        (Amount::Percent(p), Payout::Cashback { .. }) => {
            format!("{}% of {on} back as points", money::plain(*p))
        }
        (Amount::Fixed(a), Payout::Cashback { .. }) => {
            format!("{} {} back as points", currency.format(*a), currency.code())
        }
        (Amount::Points(n), _) => format!("{n} points"),
    }
}
