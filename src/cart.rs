//! What a caller sends: the cart, the user context and the usage snapshot, validated into exact
//! values with field paths on every error.

use crate::error::{Error, Result};
use crate::manifest::{within, Limits};
use crate::money::{self, Currency};
use crate::rules::{lookup, Fact, Facts, Value};
use crate::time::{parse_instant, Instant};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// The body of `evaluate`, as received.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluateRequest {
    pub cart: RawCart,
    #[serde(default)]
    pub user: Option<RawUser>,
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub usage: Option<RawUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCart {
    pub currency: String,
    pub lines: Vec<RawLine>,
    #[serde(default)]
    pub shipping: Option<RawCharge>,
    #[serde(default)]
    pub fees: Vec<RawFee>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLine {
    pub id: String,
    pub product_id: String,
    pub quantity: Value,
    pub unit_price: Value,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCharge {
    pub amount: Value,
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFee {
    pub id: String,
    pub amount: Value,
    #[serde(default)]
    pub name: Option<String>,
}

/// The user context: who is shopping, what they did, what they were given. In `tray` and
/// `checkCode` it also carries `now`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default)]
    pub events: Vec<RawEvent>,
    #[serde(default)]
    pub assignments: Vec<RawAssignment>,
    #[serde(default)]
    pub now: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub name: String,
    pub at: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssignment {
    pub coupon_id: String,
    pub assigned_at: String,
    #[serde(default)]
    pub code: Option<String>,
}

/// The last known counter state, per coupon id.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUsage {
    #[serde(default)]
    pub as_of: Option<String>,
    #[serde(default)]
    pub coupons: BTreeMap<String, RawCouponUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCouponUsage {
    #[serde(default)]
    pub redemptions: u64,
    #[serde(default)]
    pub user_redemptions: u64,
    #[serde(default)]
    pub discount_given: Option<String>,
}

/// A validated cart line.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: String,
    pub product_id: String,
    pub quantity: u64,
    pub unit_price: Decimal,
    /// `unit_price * quantity`.
    pub total: Decimal,
    pub attributes: BTreeMap<String, Value>,
}

/// An order fee (platform fee, packaging, ...).
#[derive(Debug, Clone)]
pub struct Fee {
    pub id: String,
    pub name: Option<String>,
    pub amount: Decimal,
}

/// A validated cart.
#[derive(Debug, Clone)]
pub struct Cart {
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub shipping: Option<Decimal>,
    pub fees: Vec<Fee>,
    pub attributes: BTreeMap<String, Value>,
    pub subtotal: Decimal,
    pub quantity: Decimal,
}

/// A user event (`app_install`, `purchase`, ...).
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub at: Instant,
}

/// A coupon given to this user.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub coupon_id: String,
    pub assigned_at: Instant,
    /// The normalised code, for bulk-code coupons.
    pub code: Option<String>,
}

/// A validated user context.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub id: Option<String>,
    pub properties: BTreeMap<String, Value>,
    pub segments: Vec<String>,
    pub events: Vec<Event>,
    pub assignments: Vec<Assignment>,
}

/// Usage of one coupon as last known.
#[derive(Debug, Clone, Default)]
pub struct CouponUsage {
    pub redemptions: u64,
    pub user_redemptions: u64,
    pub discount_given: Decimal,
}

fn quantity(v: &Value, limits: &Limits, path: &str) -> Result<u64> {
    let bad = |message: String| Error::InvalidQuantity {
        path: path.to_string(),
        message,
    };
    let n = match v {
        Value::Num(n) => *n,
        _ => return Err(bad("a quantity is a whole number like 2".into())),
    };
    if n.fract() != Decimal::ZERO || n < Decimal::ONE {
        return Err(bad(format!("{n} is not a whole number of at least 1")));
    }
    let q = u64::try_from(n).unwrap_or(u64::MAX);
    if q > limits.max_line_quantity {
        return Err(bad(format!(
            "{n} units is more than the limit of {}",
            limits.max_line_quantity
        )));
    }
    Ok(q)
}

fn amount(v: &Value, currency: Currency, path: &str) -> Result<Decimal> {
    match v {
        Value::Str(s) => money::parse_amount(s, currency, path),
        _ => Err(Error::InvalidAmount {
            path: path.to_string(),
            message:
                "amounts are decimal strings in major units like \"12.50\", never JSON numbers"
                    .into(),
        }),
    }
}

fn text(s: &str, path: &str, max: usize) -> Result<()> {
    if s.is_empty() || s.chars().count() > max {
        return Err(Error::InvalidRequest {
            path: path.to_string(),
            message: format!("must be 1 to {max} characters"),
        });
    }
    Ok(())
}

impl RawCart {
    /// Validates the cart against the manifest's currency and the limits.
    pub fn validate(self, expected: Currency, limits: &Limits) -> Result<Cart> {
        let currency = Currency::parse(&self.currency, "cart.currency")?;
        if currency != expected {
            return Err(Error::CurrencyMismatch {
                expected: expected.code().into(),
                actual: currency.code().into(),
            });
        }
        within("cart lines", self.lines.len(), limits.max_cart_lines)?;
        within("fees", self.fees.len(), limits.max_fees)?;
        let mut ids = HashSet::with_capacity(self.lines.len());
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            let path = format!("cart.lines[{i}]");
            text(&l.id, &format!("{path}.id"), 128)?;
            text(&l.product_id, &format!("{path}.product_id"), 128)?;
            if !ids.insert(l.id.clone()) {
                return Err(Error::DuplicateLineId {
                    path: format!("{path}.id"),
                    id: l.id,
                });
            }
            let quantity = quantity(&l.quantity, limits, &format!("{path}.quantity"))?;
            let unit_price = amount(&l.unit_price, currency, &format!("{path}.unit_price"))?;
            let total = money::mul(unit_price, Decimal::from(quantity), &path)?;
            lines.push(Line {
                id: l.id,
                product_id: l.product_id,
                quantity,
                unit_price,
                total,
                attributes: l.attributes,
            });
        }
        let shipping = self
            .shipping
            .map(|s| amount(&s.amount, currency, "cart.shipping.amount"))
            .transpose()?;
        let mut fees: Vec<Fee> = Vec::with_capacity(self.fees.len());
        for (i, f) in self.fees.into_iter().enumerate() {
            let path = format!("cart.fees[{i}]");
            text(&f.id, &format!("{path}.id"), 64)?;
            if fees.iter().any(|x| x.id == f.id) {
                return Err(Error::InvalidRequest {
                    path: format!("{path}.id"),
                    message: format!("fee `{}` is listed twice", f.id),
                });
            }
            fees.push(Fee {
                amount: amount(&f.amount, currency, &format!("{path}.amount"))?,
                id: f.id,
                name: f.name,
            });
        }
        let subtotal = money::sum(lines.iter().map(|l| l.total), "cart")?;
        let quantity = money::sum(lines.iter().map(|l| Decimal::from(l.quantity)), "cart")?;
        Ok(Cart {
            currency,
            lines,
            shipping,
            fees,
            attributes: self.attributes,
            subtotal,
            quantity,
        })
    }
}

impl RawUser {
    /// Validates the user context; `path` is where it sits in the request (`user`).
    pub fn validate(self, path: &str) -> Result<User> {
        if let Some(id) = &self.id {
            text(id, &format!("{path}.id"), 256)?;
        }
        let events = self
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let p = format!("{path}.events[{i}]");
                text(&e.name, &format!("{p}.name"), 64)?;
                Ok(Event {
                    at: parse_instant(&e.at, &format!("{p}.at"))?,
                    name: e.name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let assignments = self
            .assignments
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let p = format!("{path}.assignments[{i}]");
                let code = a
                    .code
                    .map(|c| crate::codes::normalize(&c, &format!("{p}.code")))
                    .transpose()?;
                Ok(Assignment {
                    assigned_at: parse_instant(&a.assigned_at, &format!("{p}.assigned_at"))?,
                    coupon_id: a.coupon_id,
                    code,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(User {
            id: self.id,
            properties: self.properties,
            segments: self.segments,
            events,
            assignments,
        })
    }
}

impl RawUsage {
    /// Validates the usage snapshot.
    pub fn validate(self, currency: Currency) -> Result<BTreeMap<String, CouponUsage>> {
        self.coupons
            .into_iter()
            .map(|(id, u)| {
                let given = match &u.discount_given {
                    Some(s) => money::parse_amount(
                        s,
                        currency,
                        &format!("usage.coupons.{id}.discount_given"),
                    )?,
                    None => Decimal::ZERO,
                };
                Ok((
                    id,
                    CouponUsage {
                        redemptions: u.redemptions,
                        user_redemptions: u.user_redemptions,
                        discount_given: given,
                    },
                ))
            })
            .collect()
    }
}

/// Facts about the user and the cart, for rules.
#[derive(Debug)]
pub struct CartFacts<'a> {
    pub user: &'a User,
    pub cart: Option<&'a Cart>,
}

/// Facts about one line, with the user and cart around it.
#[derive(Debug)]
pub struct LineFacts<'a> {
    pub outer: &'a CartFacts<'a>,
    pub line: &'a Line,
}

impl Facts for CartFacts<'_> {
    fn fact(&self, fact: &Fact) -> Option<Value> {
        let cart = self.cart;
        match fact {
            Fact::UserId => self.user.id.clone().map(Value::Str),
            Fact::UserSegments => Some(Value::List(
                self.user.segments.iter().cloned().map(Value::Str).collect(),
            )),
            Fact::UserProperty(p) => lookup(&self.user.properties, p),
            Fact::CartSubtotal => cart.map(|c| Value::Num(c.subtotal)),
            Fact::CartQuantity => cart.map(|c| Value::Num(c.quantity)),
            Fact::CartLineCount => cart.map(|c| Value::Num(Decimal::from(c.lines.len()))),
            Fact::CartShipping => cart.and_then(|c| c.shipping).map(Value::Num),
            Fact::CartCurrency => cart.map(|c| Value::Str(c.currency.code().into())),
            Fact::CartAttribute(p) => cart.and_then(|c| lookup(&c.attributes, p)),
            _ => None,
        }
    }

    fn any_line(&self, f: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
        self.cart.is_some_and(|c| {
            c.lines
                .iter()
                .any(|line| f(&LineFacts { outer: self, line }))
        })
    }
}

impl Facts for LineFacts<'_> {
    fn fact(&self, fact: &Fact) -> Option<Value> {
        let l = self.line;
        match fact {
            Fact::LineId => Some(Value::Str(l.id.clone())),
            Fact::LineProductId => Some(Value::Str(l.product_id.clone())),
            Fact::LineQuantity => Some(Value::Num(Decimal::from(l.quantity))),
            Fact::LineUnitPrice => Some(Value::Num(l.unit_price)),
            Fact::LineTotal => Some(Value::Num(l.total)),
            Fact::LineAttribute(p) => lookup(&l.attributes, p),
            other => self.outer.fact(other),
        }
    }

    fn any_line(&self, f: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
        self.outer.any_line(f)
    }
}
