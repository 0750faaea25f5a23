//! The cart, the user context and the usage snapshot as the core uses them: the typed request
//! (`crate::input`) checked against the manifest's currency and the limits, into exact values,
//! with field paths on every error.

use crate::error::{Error, Result};
use crate::input;
use crate::manifest::{within, Limits, Trigger};
use crate::money::{self, Currency};
use crate::rules::{lookup, lookup_ref, Fact, Facts, Failure, Map, Value, EMPTY};
use crate::time::{parse_instant, Instant};
use rust_decimal::Decimal;
use std::borrow::Cow;

/// A validated cart line: its text borrowed from the request (nothing copied per line).
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub id: &'a str,
    pub product_id: &'a str,
    pub quantity: u64,
    pub unit_price: Decimal,
    /// `unit_price * quantity`.
    pub total: Decimal,
    /// `total` in the currency's minor units, worked out as it was (`None` when the price's
    /// mantissa times the quantity passes 64 bits: `Currency::to_units` then says).
    pub total_units: Option<u128>,
    pub attributes: &'a Map,
}

/// A shipping charge, as shipping rules see it: the one charge or a line of `shipping_lines`.
#[derive(Debug, Clone)]
pub struct ShipLine<'a> {
    pub id: &'a str,
    pub method: Option<&'a Value>,
    pub amount: Decimal,
    pub attributes: &'a Map,
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
pub struct Cart<'a> {
    pub currency: Currency,
    pub lines: Vec<Line<'a>>,
    /// The one shipping charge (`cart.shipping`); `None` with `shipping_lines`.
    pub shipping: Option<Decimal>,
    /// Every shipping charge: the one of `shipping`, or each of `shipping_lines`.
    pub ships: Vec<ShipLine<'a>>,
    pub fees: Vec<Fee>,
    pub attributes: &'a Map,
    pub subtotal: Decimal,
    pub quantity: Decimal,
    /// Line positions in line-id order: the canonical order that keeps results independent of
    /// the order lines were sent in.
    pub by_id: Vec<usize>,
}

/// A user event (`app_install`, `purchase`, ...).
#[derive(Debug, Clone)]
pub struct Event {
    /// The sender's id for the event: the same id twice is one event.
    pub id: Option<String>,
    pub name: String,
    pub at: Instant,
    pub properties: Map,
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
    pub properties: Map,
    pub segments: Vec<String>,
    pub events: Vec<Event>,
    pub assignments: Vec<Assignment>,
    /// Activations made by events and stored by the caller: coupon id and when it activated.
    pub activations: Vec<(String, Instant)>,
}

/// Usage of one coupon as last known.
#[derive(Debug, Clone, Default)]
pub struct CouponUsage {
    pub redemptions: u64,
    pub user_redemptions: u64,
    pub discount_given: Decimal,
    /// Redemptions by period label (`2026-11-24`, `2026-W48`, `2026-11`): all users, then this user.
    pub periods: [Vec<(String, u64)>; 2],
}

impl CouponUsage {
    /// Redemptions in the period `label`, of all users or of this user.
    pub fn in_period(&self, user: bool, label: &str) -> u64 {
        self.periods
            .get(usize::from(user))
            .into_iter()
            .flatten()
            .find(|(l, _)| l == label)
            .map_or(0, |p| p.1)
    }
}

/// A path for an error, built only when there is one.
type At<'a> = &'a dyn Fn() -> String;

#[inline(never)]
fn quantity(v: &Value, limits: &Limits) -> Result<u64> {
    // The usual quantity, a whole number sent as one (`2`), taken without Decimal arithmetic.
    if let Value::Num(n) = v {
        if n.scale() == 0 && !n.is_sign_negative() {
            if let Ok(q) = u64::try_from(n.mantissa()) {
                if q >= 1 && q <= limits.max_line_quantity {
                    return Ok(q);
                }
            }
        }
    }
    let bad = |message: String| Error::InvalidQuantity {
        path: String::new(),
        message,
    };
    let n = match v {
        Value::Num(n) => *n,
        _ => return Err(Box::new(bad("a quantity is a whole number like 2".into()))),
    };
    if !money::is_whole(n) || n < Decimal::ONE {
        return Err(Box::new(bad(format!(
            "{} is not a whole number of at least 1",
            money::plain(n)
        ))));
    }
    let q = money::whole(n).unwrap_or(u64::MAX);
    if q > limits.max_line_quantity {
        return Err(Box::new(bad(format!(
            "{} units is more than the limit of {}",
            money::plain(n),
            limits.max_line_quantity
        ))));
    }
    Ok(q)
}

/// A money amount: a decimal string, never a JSON number.
pub(crate) fn amount(v: &Value, currency: Currency, at: At) -> Result<Decimal> {
    let text = match v {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    };
    amount_of(text, currency, at)
}

/// [`amount`] of a cart's amount, its text borrowed from the request.
fn sent_amount(v: &input::Sent, currency: Currency, at: At) -> Result<Decimal> {
    amount_of(v.as_str(), currency, at)
}

/// An amount from the string sent (`None`: a value that is not a string).
#[inline(never)]
fn amount_of(text: Option<&str>, currency: Currency, at: At) -> Result<Decimal> {
    match text {
        Some(s) => money::parse_amount(s, currency, ""),
        None => Err(Box::new(Error::InvalidAmount {
            path: String::new(),
            message:
                "amounts are decimal strings in major units like \"12.50\", never JSON numbers"
                    .into(),
        })),
    }
    .map_err(|e| e.at(at))
}

fn invalid(at: At, message: String) -> Box<Error> {
    Box::new(Error::InvalidRequest {
        path: at(),
        message,
    })
}

/// A required field of a cart line.
fn present<'a, T>(v: &'a Option<T>, key: &str, at: At) -> Result<&'a T> {
    v.as_ref()
        .ok_or_else(|| invalid(at, format!("missing field `{key}`")))
}

#[inline(never)]
fn text(s: &str, max: usize, at: At) -> Result<String> {
    checked(s, max, at).map(str::to_string)
}

/// [`text`], borrowed.
#[inline(never)]
fn checked<'s>(s: &'s str, max: usize, at: At) -> Result<&'s str> {
    // At most `max` characters: a string of at most `max` bytes is, without counting them.
    if s.is_empty() || (s.len() > max && crate::text::char_count(s) > max) {
        return Err(invalid(at, format!("must be 1 to {max} characters")));
    }
    Ok(s)
}

/// The most UTF-8 bytes in a user id (docs/manifest.md, user context). The Worker builds storage
/// keys from it (`usage:<coupon>:u:<user id>`, ...), which must stay under KV's 512 bytes; a
/// count in bytes, not characters, is what bounds them. worker/src/profiles.js holds the same figure.
pub const MAX_USER_ID_BYTES: usize = 128;

fn user_id(s: &str, at: At) -> Result<String> {
    if s.is_empty() || s.len() > MAX_USER_ID_BYTES {
        return Err(invalid(
            at,
            format!(
                "a user id is 1 to {MAX_USER_ID_BYTES} bytes of UTF-8 (this one is {} bytes)",
                s.len()
            ),
        ));
    }
    Ok(s.to_string())
}

#[inline(never)]
fn instant(s: &str, at: At) -> Result<Instant> {
    parse_instant(s, "").map_err(|e| e.at(at))
}

/// A count: a whole number from 0 to 2^53 - 1 (what JSON numbers hold exactly everywhere).
#[inline(never)]
fn count(v: &Value, at: At) -> Result<u64> {
    match v {
        Value::Num(n) if money::is_whole(*n) => money::whole(*n)
            .filter(|&u| u <= crate::de::MAX_SAFE_INTEGER)
            .ok_or_else(|| {
                invalid(
                    at,
                    format!(
                        "{} is not a whole number from 0 to {}",
                        money::plain(*n),
                        crate::de::MAX_SAFE_INTEGER
                    ),
                )
            }),
        _ => Err(invalid(
            at,
            format!("expected a whole number, found {}", v.kind()),
        )),
    }
}

/// Checks a cart against the manifest's currency and the limits, into the core's cart.
pub fn read_cart<'a>(
    c: &'a input::Cart<'_>,
    expected: Currency,
    limits: &Limits,
) -> Result<Cart<'a>> {
    // The manifest's own code (the usual cart) is that currency: no lookup in the code list.
    let currency = match c.currency == expected.code() {
        true => expected,
        false => Currency::parse(&c.currency, "cart.currency")?,
    };
    if currency != expected {
        return Err(Box::new(Error::CurrencyMismatch {
            expected: expected.code().into(),
            actual: currency.code().into(),
        }));
    }
    within("cart lines", c.lines.len(), limits.max_cart_lines)?;
    let fee_list = c.fees.as_deref().unwrap_or_default();
    within("fees", fee_list.len(), limits.max_fees)?;
    let mut lines = Vec::with_capacity(c.lines.len());
    for (i, l) in c.lines.iter().enumerate() {
        let at = |field: &'static str| move || format!("cart.lines[{i}]{field}");
        let id = checked(present(&l.id, "id", &at(""))?, 128, &at(".id"))?;
        let product_id = checked(
            present(&l.product_id, "product_id", &at(""))?,
            128,
            &at(".product_id"),
        )?;
        let quantity = quantity(present(&l.quantity, "quantity", &at(""))?, limits)
            .map_err(|e| e.at(&at(".quantity")))?;
        let unit_price = sent_amount(
            present(&l.unit_price, "unit_price", &at(""))?,
            currency,
            &at(".unit_price"),
        )?;
        let (total, total_units) =
            line_total(unit_price, quantity, currency).map_err(|e| e.at(&at("")))?;
        lines.push(Line {
            id,
            product_id,
            quantity,
            unit_price,
            total,
            total_units,
            attributes: l.attributes.as_ref().unwrap_or(&EMPTY),
        });
    }
    // Line ids are unique: allocations and results name lines by id. Positions sorted by id
    // (stable: a repeated id keeps the order sent), without copying the ids. Ids are compared by
    // their first 8 bytes as one number first (where most differ), in full only when those match.
    let id_of = |i: usize| lines.get(i).map(|l| l.id);
    let heads: Vec<u64> = lines.iter().map(|l| head(l.id)).collect();
    let by_id = crate::sort::indices(lines.len(), &|a, b| match (heads.get(a), heads.get(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => id_of(a).cmp(&id_of(b)),
    });
    if let Some((first, later)) = by_id.windows(2).find_map(|w| match w {
        [a, b] if heads.get(*a) == heads.get(*b) && id_of(*a) == id_of(*b) => Some((*a, *b)),
        _ => None,
    }) {
        return Err(Box::new(Error::DuplicateLineId {
            path: format!("cart.lines[{later}].id"),
            id: id_of(first).unwrap_or_default().to_string(),
        }));
    }
    let shipping = match &c.shipping {
        None => None,
        Some(s) => Some(sent_amount(&s.amount, currency, &|| {
            "cart.shipping.amount".into()
        })?),
    };
    let ships = read_ships(c, shipping, currency, limits)?;
    let mut fees: Vec<Fee> = Vec::with_capacity(fee_list.len());
    for (i, f) in fee_list.iter().enumerate() {
        let at = |field: &'static str| move || format!("cart.fees[{i}]{field}");
        let id = text(&f.id, 64, &at(".id"))?;
        if fees.iter().any(|x| x.id == id) {
            return Err(invalid(&at(".id"), format!("fee `{id}` is listed twice")));
        }
        fees.push(Fee {
            amount: sent_amount(&f.amount, currency, &at(".amount"))?,
            id,
            name: f.name.clone(),
        });
    }
    let (subtotal, quantity) = sums(&lines, currency)?;
    Ok(Cart {
        currency,
        lines,
        shipping,
        ships,
        fees,
        attributes: c.attributes.as_ref().unwrap_or(&EMPTY),
        subtotal,
        quantity,
        by_id,
    })
}

/// The first 8 bytes of `id` as a big-endian number, zero-padded: two ids whose heads differ
/// compare as their heads do (a shorter id that is a prefix of a longer one has the smaller head,
/// or the same when the longer one goes on with zero bytes).
fn head(id: &str) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.iter_mut().zip(id.bytes()).for_each(|(b, c)| *b = c);
    u64::from_be_bytes(bytes)
}

/// A line's total, `price x quantity`, exactly as `money::mul` gives it (value and scale), and
/// in minor units: in integers while the price's mantissa times the quantity fits 64 bits, by
/// `money::mul` beyond.
#[inline(never)]
fn line_total(
    price: Decimal,
    quantity: u64,
    currency: Currency,
) -> Result<(Decimal, Option<u128>)> {
    let scale = price.scale();
    if let (Ok(m), Some(up)) = (
        u64::try_from(price.mantissa()),
        currency.minor_units().checked_sub(scale),
    ) {
        let product = u128::from(m) * u128::from(quantity);
        if product == 0 {
            // `Decimal` multiplies to a bare zero, without the price's scale.
            return Ok((Decimal::ZERO, Some(0)));
        }
        if let Ok(low) = u64::try_from(product) {
            return Ok((
                money::from_mantissa(low, scale),
                Some(product * 10u128.pow(up)),
            ));
        }
    }
    let total = money::mul(price, Decimal::from(quantity), "")?;
    Ok((total, None))
}

/// The cart's subtotal and quantity, as `money::sum` adds them up (a sum takes the largest scale
/// of its nonzero terms): in integers while the subtotal's minor units fit 64 bits.
#[inline(never)]
fn sums(lines: &[Line], currency: Currency) -> Result<(Decimal, Decimal)> {
    let (mut units, mut scale, mut count) = (Some(0u64), 0u32, Some(0u64));
    for l in lines {
        units = match (units, l.total_units.map(u64::try_from)) {
            (Some(a), Some(Ok(u))) => a.checked_add(u),
            _ => None,
        };
        if !l.total.is_zero() {
            scale = scale.max(l.total.scale());
        }
        count = count.and_then(|c| c.checked_add(l.quantity));
    }
    let dp = currency.minor_units();
    let subtotal = match (units, dp.checked_sub(scale)) {
        (Some(u), Some(down)) => money::from_mantissa(u / 10u64.pow(down), scale),
        _ => money::sum(lines.iter().map(|l| l.total), "cart")?,
    };
    let quantity = match count {
        Some(c) => Decimal::from(c),
        None => money::sum(lines.iter().map(|l| Decimal::from(l.quantity)), "cart")?,
    };
    Ok((subtotal, quantity))
}

/// Every shipping charge: the one of `shipping` (its id `shipping` unless it has one), or each of
/// `shipping_lines` (ids required and unique; not both fields).
#[inline(never)]
fn read_ships<'a>(
    c: &'a input::Cart<'_>,
    one: Option<Decimal>,
    currency: Currency,
    limits: &Limits,
) -> Result<Vec<ShipLine<'a>>> {
    let ship = |s: &'a input::Shipping<'_>, id: &'a str, amount: Decimal| ShipLine {
        id,
        method: s.method.as_ref(),
        amount,
        attributes: s.attributes.as_ref().unwrap_or(&EMPTY),
    };
    let list = match (&c.shipping, &c.shipping_lines, one) {
        (Some(s), None, Some(a)) => {
            return Ok(vec![ship(s, s.id.as_deref().unwrap_or("shipping"), a)]);
        }
        (Some(_), Some(_), _) => {
            return Err(invalid(
                &|| "cart.shipping_lines".into(),
                "give `shipping` (one charge) or `shipping_lines`, not both".into(),
            ))
        }
        (_, Some(list), _) => list,
        _ => return Ok(Vec::new()),
    };
    within("shipping lines", list.len(), limits.max_fees)?;
    let mut ships: Vec<ShipLine> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let at = |field: &'static str| move || format!("cart.shipping_lines[{i}]{field}");
        let id = checked(present(&s.id, "id", &at(""))?, 64, &at(".id"))?;
        if ships.iter().any(|x| x.id == id) {
            return Err(invalid(
                &at(".id"),
                format!("shipping line `{id}` is listed twice"),
            ));
        }
        let a = sent_amount(&s.amount, currency, &at(".amount"))?;
        ships.push(ship(s, id, a));
    }
    Ok(ships)
}

/// Checks a user context into the core's user; `at` is where it sits in the request (`user`, or
/// `""` when the context is the request). Its `now`, if any, is the caller's to read.
pub fn read_user(u: &input::UserContext, at: &str) -> Result<User> {
    let here = |field: &str| crate::error::join_path(at, field);
    let id = match &u.id {
        Some(id) => Some(user_id(id, &|| here("id"))?),
        None => None,
    };
    let mut events = Vec::new();
    for (i, e) in u.events.iter().flatten().enumerate() {
        events.push(read_event(e).map_err(|err| err.at(&|| here(&format!("events[{i}]"))))?);
    }
    let mut assignments = Vec::new();
    for (i, a) in u.assignments.iter().flatten().enumerate() {
        let at = |field: &str| here(&format!("assignments[{i}].{field}"));
        let code = match &a.code {
            Some(c) => Some(crate::codes::normalize(c, "").map_err(|e| e.at(&|| at("code")))?),
            None => None,
        };
        assignments.push(Assignment {
            coupon_id: a.coupon_id.clone(),
            assigned_at: instant(&a.assigned_at, &|| at("assigned_at"))?,
            code,
        });
    }
    let mut activations = Vec::new();
    for (i, a) in u.activations.iter().flatten().enumerate() {
        activations.push((
            a.coupon_id.clone(),
            instant(&a.at, &|| here(&format!("activations[{i}].at")))?,
        ));
    }
    Ok(User {
        id,
        properties: u.properties.clone().unwrap_or_default(),
        segments: u.segments.clone().unwrap_or_default(),
        events,
        assignments,
        activations,
    })
}

/// Checks one event: `{ id?, name, at, properties? }` (paths relative to the event).
pub fn read_event(e: &input::Event) -> Result<Event> {
    Ok(Event {
        id: e
            .id
            .as_deref()
            .map(|id| text(id, 128, &|| "id".into()))
            .transpose()?,
        name: text(&e.name, 64, &|| "name".into())?,
        at: instant(&e.at, &|| "at".into())?,
        properties: e.properties.clone().unwrap_or_default(),
    })
}

impl User {
    /// The user as of `now`: events that have not happened and assignments not yet made (a
    /// delayed distribution) do not count until their time.
    pub fn as_of(mut self, now: Instant) -> User {
        self.events.retain(|e| e.at <= now);
        self.assignments.retain(|a| a.assigned_at <= now);
        self
    }
}

/// Checks the usage snapshot (at `at` in the request): last known counters per coupon id.
pub fn read_usage(
    u: &input::Usage,
    currency: Currency,
    at: &str,
) -> Result<Vec<(String, CouponUsage)>> {
    let here = |field: &str| crate::error::join_path(at, field);
    if let Some(t) = &u.as_of {
        instant(t, &|| here("as_of"))?;
    }
    usage_entries(u.coupons.as_ref(), currency, at, "coupons")
}

/// The usage snapshot's `groups`: last known counters per limit group, shaped as a coupon's.
pub fn read_group_usage(
    u: &input::Usage,
    currency: Currency,
    at: &str,
) -> Result<Vec<(String, CouponUsage)>> {
    usage_entries(u.groups.as_ref(), currency, at, "groups")
}

fn usage_entries(
    list: Option<&input::Entries<input::CouponUsage>>,
    currency: Currency,
    at: &str,
    key: &str,
) -> Result<Vec<(String, CouponUsage)>> {
    let here = |field: &str| crate::error::join_path(at, field);
    let mut out = Vec::new();
    for (id, c) in list.iter().flat_map(|c| c.0.iter()) {
        let at = |field: &str| here(&format!("{key}.{id}.{field}"));
        let by_label = |k: &'static str, p: &Option<input::Entries<Value>>| {
            p.iter()
                .flat_map(|p| p.0.iter())
                .map(|(label, n)| Ok((label.clone(), count(n, &|| at(&format!("{k}.{label}")))?)))
                .collect::<Result<Vec<(String, u64)>>>()
        };
        let count_of = |k: &'static str, v: &Option<Value>| {
            v.as_ref()
                .map(|n| count(n, &|| at(k)))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let discount_given = match &c.discount_given {
            Some(d) => amount(d, currency, &|| at("discount_given"))?,
            None => Decimal::ZERO,
        };
        out.push((
            id.clone(),
            CouponUsage {
                redemptions: count_of("redemptions", &c.redemptions)?,
                user_redemptions: count_of("user_redemptions", &c.user_redemptions)?,
                discount_given,
                periods: [
                    by_label("periods", &c.periods)?,
                    by_label("user_periods", &c.user_periods)?,
                ],
            },
        ));
    }
    Ok(out)
}

/// Facts about the user and the cart, for rules.
#[derive(Debug)]
pub struct CartFacts<'a> {
    pub user: &'a User,
    pub cart: Option<&'a Cart<'a>>,
    pub now: Instant,
}

/// Facts about an event, with the user who sent it: what an event trigger's `where` sees.
#[derive(Debug)]
pub struct EventFacts<'a> {
    pub outer: &'a CartFacts<'a>,
    pub event: &'a Event,
}

/// Facts about one line, with the user and cart around it.
#[derive(Debug)]
pub struct LineFacts<'a> {
    pub outer: &'a CartFacts<'a>,
    pub line: &'a Line<'a>,
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
            Fact::CartShipping => cart.and_then(|c| match c.shipping {
                None if !c.ships.is_empty() => money::sum(c.ships.iter().map(|s| s.amount), "")
                    .ok()
                    .map(Value::Num),
                one => one.map(Value::Num),
            }),
            Fact::CartCurrency => cart.map(|c| Value::Str(c.currency.code().into())),
            Fact::CartAttribute(p) => cart.and_then(|c| lookup(c.attributes, p)),
            _ => None,
        }
    }

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::UserProperty(p) => lookup_ref(&self.user.properties, p).map(Cow::Borrowed),
            Fact::CartAttribute(p) => self
                .cart
                .and_then(|c| lookup_ref(c.attributes, p))
                .map(Cow::Borrowed),
            other => self.fact(other).map(Cow::Owned),
        }
    }

    fn now(&self) -> Option<Instant> {
        Some(self.now)
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
            Fact::LineId => Some(Value::Str(l.id.to_string())),
            Fact::LineProductId => Some(Value::Str(l.product_id.to_string())),
            Fact::LineQuantity => Some(Value::Num(Decimal::from(l.quantity))),
            Fact::LineUnitPrice => Some(Value::Num(l.unit_price)),
            Fact::LineTotal => Some(Value::Num(l.total)),
            Fact::LineAttribute(p) => lookup(l.attributes, p),
            other => self.outer.fact(other),
        }
    }

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::LineAttribute(p) => lookup_ref(self.line.attributes, p).map(Cow::Borrowed),
            Fact::UserProperty(_) | Fact::CartAttribute(_) => self.outer.fact_ref(fact),
            other => self.fact(other).map(Cow::Owned),
        }
    }

    fn now(&self) -> Option<Instant> {
        self.outer.now()
    }

    fn any_line(&self, f: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
        self.outer.any_line(f)
    }
}

/// Facts about one shipping charge, with the user and cart around it: what a shipping target's
/// `match` sees.
#[derive(Debug)]
pub struct ShipFacts<'a> {
    pub outer: &'a CartFacts<'a>,
    pub ship: &'a ShipLine<'a>,
}

impl Facts for ShipFacts<'_> {
    fn fact(&self, fact: &Fact) -> Option<Value> {
        let s = self.ship;
        match fact {
            Fact::ShipId => Some(Value::Str(s.id.to_string())),
            Fact::ShipMethod => s.method.cloned(),
            Fact::ShipAmount => Some(Value::Num(s.amount)),
            Fact::ShipAttribute(p) => lookup(s.attributes, p),
            other => self.outer.fact(other),
        }
    }

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::ShipAttribute(p) => lookup_ref(self.ship.attributes, p).map(Cow::Borrowed),
            Fact::ShipMethod => self.ship.method.map(Cow::Borrowed),
            other => self.fact(other).map(Cow::Owned),
        }
    }

    fn now(&self) -> Option<Instant> {
        self.outer.now()
    }

    fn any_line(&self, f: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
        self.outer.any_line(f)
    }
}

impl Facts for EventFacts<'_> {
    fn fact(&self, fact: &Fact) -> Option<Value> {
        match fact {
            Fact::EventProperty(p) => lookup(&self.event.properties, p),
            other => self.outer.fact(other),
        }
    }

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::EventProperty(p) => lookup_ref(&self.event.properties, p).map(Cow::Borrowed),
            other => self.outer.fact_ref(other),
        }
    }

    fn now(&self) -> Option<Instant> {
        self.outer.now()
    }

    fn any_line(&self, _: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
        false
    }
}

/// A trigger judged on an event: evaluation, so it lives beside the facts it reads (the plan,
/// `crate::manifest`, knows nothing of carts and users).
impl Trigger {
    /// Whether `event` of `user` fires this trigger: `Err(None)` when it is another event,
    /// `Err(Some)` with the failed rule when its `where` does not hold. The rule is judged as of
    /// the event (`from_now` counts from its time), so the answer never changes later.
    pub fn matches(
        &self,
        event: &Event,
        user: &User,
    ) -> std::result::Result<(), Option<Box<Failure>>> {
        if event.name != self.event {
            return Err(None);
        }
        let outer = CartFacts {
            user,
            cart: None,
            now: event.at,
        };
        match &self.filter {
            Some(rule) => rule
                .check(&EventFacts {
                    outer: &outer,
                    event,
                })
                .map_or(Ok(()), |f| Err(Some(Box::new(f)))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Ids whose first 8 bytes differ are ordered by those bytes as numbers as `str` orders them
    /// (ids that are prefixes of others, zero bytes, non-ASCII included).
    #[test]
    fn heads_order_as_ids_do() {
        let mut rng = crate::lcg(5u64);
        let mut next = || {
            let seed = rng();
            (seed >> 33) as usize
        };
        let pieces = ["", "l", "1", "0", "\0", "line-", "é", "\u{7f}", "z", "10"];
        for _ in 0..20_000 {
            let mut id = || -> String {
                (0..next() % 6)
                    .map(|_| pieces[next() % pieces.len()])
                    .collect()
            };
            let (a, b) = (id(), id());
            if head(&a) != head(&b) {
                assert_eq!(head(&a).cmp(&head(&b)), a.cmp(&b), "{a:?} {b:?}");
            } else if a.len() <= 8 && b.len() <= 8 && !a.contains('\0') && !b.contains('\0') {
                assert_eq!(a, b);
            }
        }
    }

    /// Line totals and the cart's sums worked out in integers are `money::mul` and `money::sum`'s,
    /// value and scale (a scale shows wherever a `Decimal` is written as is).
    #[test]
    fn integer_totals_are_decimal_arithmetic() {
        let mut rng = crate::lcg(11u64);
        let mut next = || {
            let seed = rng();
            seed >> 29
        };
        for code in ["USD", "JPY", "KWD", "CLF"] {
            let c = Currency::from_code(code).unwrap();
            for case in 0..400 {
                let n = 1 + (next() % 6) as usize;
                let mut lines = Vec::new();
                for _ in 0..n {
                    let scale = (next() % u64::from(c.minor_units() + 1)) as u32;
                    let m = match next() % 5 {
                        0 => 0,
                        1 => next() % 10u64.pow(15),
                        2 => 999_999_999_999_999_999,
                        _ => next() % 100_000,
                    };
                    let price = money::from_mantissa(m, scale);
                    let q = match (case % 7, next() % 3) {
                        (0, _) => 1 << 53,
                        (_, 0) => 1,
                        _ => 1 + next() % 1000,
                    };
                    let Ok(want) = money::mul(price, Decimal::from(q), "") else {
                        assert!(line_total(price, q, c).is_err());
                        continue;
                    };
                    let (total, units) = line_total(price, q, c).unwrap();
                    assert_eq!(
                        (total.mantissa(), total.scale()),
                        (want.mantissa(), want.scale()),
                        "{price} x {q}"
                    );
                    if let Some(u) = units {
                        assert_eq!(u, c.to_units(want, "").unwrap());
                    }
                    lines.push(Line {
                        id: "",
                        product_id: "",
                        quantity: q,
                        unit_price: price,
                        total,
                        total_units: units,
                        attributes: &EMPTY,
                    });
                }
                let Ok(want) = money::sum(lines.iter().map(|l| l.total), "cart") else {
                    assert!(sums(&lines, c).is_err());
                    continue;
                };
                let (subtotal, quantity) = sums(&lines, c).unwrap();
                assert_eq!(
                    (subtotal.mantissa(), subtotal.scale()),
                    (want.mantissa(), want.scale())
                );
                let want = money::sum(lines.iter().map(|l| Decimal::from(l.quantity)), "").unwrap();
                assert_eq!(
                    (quantity.mantissa(), quantity.scale()),
                    (want.mantissa(), want.scale())
                );
            }
        }
    }
}
