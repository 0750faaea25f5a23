//! Turning a coupon's reward into exact amounts on a cart.
//!
//! Rewards apply in one documented order, each on what is left after the ones before it: line
//! (product) rewards first, then order rewards, then shipping and fee rewards. Within a step, higher
//! `priority` first, then coupon id. A discount is computed on the sum of its target, rounded once
//! ([`Currency::round`]), capped (by `max_discount`, the target's value and the remaining budget),
//! and then spread over the target's lines by largest remainder, so the parts sum exactly.

use crate::cart::{Cart, CartFacts, LineFacts};
use crate::error::Result;
use crate::json::{object, ToJson};
use crate::manifest::{Amount, Coupon, Payout, Target};
use crate::money::{self, Currency};
use crate::reason::Reason;
use rust_decimal::{Decimal, RoundingStrategy};

/// What is left to pay on each part of the order, as rewards are applied.
#[derive(Debug, Clone)]
pub struct Remaining {
    pub lines: Vec<Decimal>,
    pub shipping: Option<Decimal>,
    pub fees: Vec<Decimal>,
}

impl Remaining {
    pub fn new(cart: &Cart) -> Remaining {
        Remaining {
            lines: cart.lines.iter().map(|l| l.total).collect(),
            shipping: cart.shipping,
            fees: cart.fees.iter().map(|f| f.amount).collect(),
        }
    }

    fn slot(&mut self, part: Part) -> Option<&mut Decimal> {
        match part {
            Part::Line(i) => self.lines.get_mut(i),
            Part::Shipping => self.shipping.as_mut(),
            Part::Fee(i) => self.fees.get_mut(i),
        }
    }
}

/// A part of the order a reward can lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Line(usize),
    Shipping,
    Fee(usize),
}

/// One share of a discount, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// `line`, `shipping` or `fee`.
    pub target: &'static str,
    /// The line or fee id.
    pub id: Option<String>,
    pub amount: String,
}

impl ToJson for Allocation {
    fn write_json(&self, out: &mut String) {
        object(out, &mut |f| {
            f.field("target", &self.target)
                .some("id", &self.id)
                .field("amount", &self.amount);
        });
    }
}

/// The outcome of applying one coupon's reward.
#[derive(Debug, Clone)]
pub struct Applied {
    pub discount: Decimal,
    pub cashback_points: u64,
    pub shares: Vec<(Part, Decimal)>,
    /// The discount was cut to what is left of the coupon's money budget.
    pub budget_capped: bool,
}

/// The step a reward applies in: lines, then the order, then shipping and fees.
pub fn step(target: &Target) -> u8 {
    match target {
        Target::Products(_) => 0,
        Target::Order => 1,
        Target::Shipping | Target::Fee(_) => 2,
    }
}

/// Applies `coupon`'s reward to `left`. `budget_left` is what remains of a money budget.
pub fn apply(
    coupon: &Coupon,
    cart: &Cart,
    facts: &CartFacts,
    left: &mut Remaining,
    budget_left: Option<Decimal>,
) -> Result<std::result::Result<Applied, Reason>> {
    let currency = cart.currency;
    let reward = &coupon.reward;
    // Lines in line-id order, so that ties in allocation never depend on the input order.
    let parts: Vec<Part> = match &reward.target {
        Target::Order => cart.by_id.iter().map(|&i| Part::Line(i)).collect(),
        Target::Products(rule) => {
            let matched: Vec<Part> = cart
                .by_id
                .iter()
                .filter(|&&i| {
                    cart.lines
                        .get(i)
                        .is_some_and(|line| rule.check(&LineFacts { outer: facts, line }).is_none())
                })
                .map(|&i| Part::Line(i))
                .collect();
            if matched.is_empty() {
                return Ok(Err(Reason::new(
                    "NO_ELIGIBLE_ITEMS",
                    format!(
                        "no item in the cart qualifies: the coupon needs {}",
                        rule.describe()
                    ),
                )
                .with("rule", rule.describe())));
            }
            matched
        }
        Target::Shipping => match cart.shipping {
            Some(_) => vec![Part::Shipping],
            None => return Ok(Err(nothing("shipping", "the cart has no shipping charge"))),
        },
        Target::Fee(id) => match cart.fees.iter().position(|f| &f.id == id) {
            Some(i) => vec![Part::Fee(i)],
            None => {
                return Ok(Err(
                    nothing("fee", &format!("the cart has no `{id}` fee")).with("fee", id.clone())
                ));
            }
        },
    };
    let weighted: Vec<(Part, Decimal)> = parts
        .into_iter()
        .filter_map(|p| left.slot(p).map(|v| (p, *v)))
        .collect();
    let base = money::sum(weighted.iter().map(|w| w.1), "reward")?;
    if base.is_zero() {
        return Ok(Err(nothing(
            reward.target.kind(),
            "what the coupon applies to is already fully discounted",
        )));
    }
    let mut value = match reward.amount {
        // p% is p x 0.01: exact, and no division.
        Amount::Percent(p) => currency.round(money::mul(
            money::mul(base, p, "reward")?,
            Decimal::new(1, 2),
            "reward",
        )?),
        Amount::Fixed(a) => a,
        Amount::Points(_) => Decimal::ZERO,
    };
    if let Some(cap) = reward.max_discount {
        value = value.min(cap);
    }
    value = value.min(base);
    let mut budget_capped = false;
    if let Some(b) = budget_left {
        if value > b {
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
                _ => money::mul(value, *points_per_unit, "reward")?
                    .round_dp_with_strategy(0, RoundingStrategy::ToZero)
                    .try_into()
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
                budget_capped,
            }))
        }
        Payout::Discount => {
            if value.is_zero() {
                return Ok(Err(nothing(
                    reward.target.kind(),
                    "the discount rounds to zero on this cart",
                )));
            }
            let weights: Vec<Decimal> = weighted.iter().map(|w| w.1).collect();
            let amounts = money::allocate(value, &weights, currency)?;
            let mut shares = Vec::with_capacity(amounts.len());
            for ((part, _), amount) in weighted.iter().zip(amounts) {
                if let Some(slot) = left.slot(*part) {
                    *slot = money::less(*slot, amount);
                }
                if !amount.is_zero() {
                    shares.push((*part, amount));
                }
            }
            Ok(Ok(Applied {
                discount: value,
                cashback_points: 0,
                shares,
                budget_capped,
            }))
        }
    }
}

fn nothing(target: &str, why: &str) -> Reason {
    Reason::new("NOTHING_TO_DISCOUNT", format!("nothing to discount: {why}"))
        .with("target", target.to_string())
}

/// A plain-words summary of a reward, for trays and previews ("10% off the order, up to 20.00").
pub fn summary(coupon: &Coupon, currency: Currency) -> String {
    let r = &coupon.reward;
    let on = match &r.target {
        Target::Order => "the order".to_string(),
        Target::Products(_) => "selected products".to_string(),
        Target::Shipping => "shipping".to_string(),
        Target::Fee(id) => {
            let name = id.replace('_', " ");
            if name.ends_with("fee") {
                format!("the {name}")
            } else {
                format!("the {name} fee")
            }
        }
    };
    let mut s = match (&r.amount, &r.payout) {
        (Amount::Percent(p), Payout::Discount)
            if *p == Decimal::ONE_HUNDRED && r.target == Target::Shipping =>
        {
            "Free shipping".to_string()
        }
        (Amount::Percent(p), Payout::Discount)
            if *p == Decimal::ONE_HUNDRED && matches!(r.target, Target::Fee(_)) =>
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
    };
    if let Some(cap) = r.max_discount {
        s.push_str(&format!(
            ", up to {} {}",
            currency.format(cap),
            currency.code()
        ));
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
