//! What a caller sends: the cart, the user context and the usage snapshot, read from the request
//! tree into exact values, with field paths on every error.

use crate::error::{Error, Result};
use crate::json::{Node, Obj};
use crate::manifest::{within, Limits};
use crate::money::{self, Currency};
use crate::rules::{lookup, lookup_ref, Fact, Facts, Map, Value};
use crate::time::{parse_instant, Instant};
use rust_decimal::Decimal;
use std::borrow::Cow;

/// A validated cart line.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: String,
    pub product_id: String,
    pub quantity: u64,
    pub unit_price: Decimal,
    /// `unit_price * quantity`.
    pub total: Decimal,
    pub attributes: Map,
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
    pub attributes: Map,
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

#[inline(never)]
fn quantity(node: &Node, limits: &Limits) -> Result<u64> {
    let bad = |message: String| Error::InvalidQuantity {
        path: node.path.clone(),
        message,
    };
    let n = match node.value {
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
#[inline(never)]
fn amount(node: &Node, currency: Currency) -> Result<Decimal> {
    match node.value {
        Value::Str(s) => money::parse_amount(s, currency, &node.path),
        _ => Err(Box::new(Error::InvalidAmount {
            path: node.path.clone(),
            message:
                "amounts are decimal strings in major units like \"12.50\", never JSON numbers"
                    .into(),
        })),
    }
}

#[inline(never)]
fn text(node: &Node, max: usize) -> Result<String> {
    let s = node.string()?;
    if s.is_empty() || crate::json::char_count(&s) > max {
        return Err(node.error(format!("must be 1 to {max} characters")));
    }
    Ok(s)
}

/// The most UTF-8 bytes in a user id (docs/manifest.md, user context). The Worker builds storage
/// keys from it (`usage:<coupon>:u:<user id>`, ...), which must stay under KV's 512 bytes; a
/// count in bytes, not characters, is what bounds them. worker/src/profiles.js holds the same figure.
pub const MAX_USER_ID_BYTES: usize = 128;

fn user_id(node: &Node) -> Result<String> {
    let s = node.string()?;
    if s.is_empty() || s.len() > MAX_USER_ID_BYTES {
        return Err(node.error(format!(
            "a user id is 1 to {MAX_USER_ID_BYTES} bytes of UTF-8 (this one is {} bytes)",
            s.len()
        )));
    }
    Ok(s)
}

#[inline(never)]
fn instant(node: &Node) -> Result<Instant> {
    parse_instant(node.str()?, &node.path)
}

/// Reads and validates a cart against the manifest's currency and the limits.
pub fn read_cart(node: &Node, expected: Currency, limits: &Limits) -> Result<Cart> {
    let c = node.obj(&["currency", "lines", "shipping", "fees", "attributes"])?;
    let currency_node = c.req("currency")?;
    let currency = Currency::parse(currency_node.str()?, &currency_node.path)?;
    if currency != expected {
        return Err(Box::new(Error::CurrencyMismatch {
            expected: expected.code().into(),
            actual: currency.code().into(),
        }));
    }
    let line_nodes = c.req("lines")?.items()?;
    within("cart lines", line_nodes.len(), limits.max_cart_lines)?;
    let fee_nodes = match c.get("fees") {
        Some(f) => f.items()?,
        None => Vec::new(),
    };
    within("fees", fee_nodes.len(), limits.max_fees)?;
    let mut lines = Vec::with_capacity(line_nodes.len());
    for node in &line_nodes {
        let l = node.obj(&["id", "product_id", "quantity", "unit_price", "attributes"])?;
        let id_node = l.req("id")?;
        let id = text(&id_node, 128)?;
        let product_id = text(&l.req("product_id")?, 128)?;
        let quantity = quantity(&l.req("quantity")?, limits)?;
        let unit_price = amount(&l.req("unit_price")?, currency)?;
        let total = money::mul(unit_price, Decimal::from(quantity), &node.path)?;
        let attributes = l
            .get("attributes")
            .map(|a| a.values())
            .transpose()?
            .unwrap_or_default();
        lines.push(Line {
            id,
            product_id,
            quantity,
            unit_price,
            total,
            attributes,
        });
    }
    // Line ids are unique: allocations and results name lines by id.
    let ids = crate::sort::Index::build(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id.clone(), i))
            .collect(),
    )
    .map_err(|(id, _, i)| Error::DuplicateLineId {
        path: format!("{}.lines[{i}].id", node.path),
        id,
    })?;
    let by_id = ids.iter().map(|(_, i)| *i).collect();
    let shipping = match c.get("shipping") {
        None => None,
        Some(s) => Some(amount(
            &s.obj(&["amount", "method"])?.req("amount")?,
            currency,
        )?),
    };
    let mut fees: Vec<Fee> = Vec::with_capacity(fee_nodes.len());
    for node in &fee_nodes {
        let f = node.obj(&["id", "amount", "name"])?;
        let id_node = f.req("id")?;
        let id = text(&id_node, 64)?;
        if fees.iter().any(|x| x.id == id) {
            return Err(id_node.error(format!("fee `{id}` is listed twice")));
        }
        let name = f.get("name").map(|n| n.string()).transpose()?;
        fees.push(Fee {
            amount: amount(&f.req("amount")?, currency)?,
            id,
            name,
        });
    }
    let attributes = c
        .get("attributes")
        .map(|a| a.values())
        .transpose()?
        .unwrap_or_default();
    let subtotal = money::sum(lines.iter().map(|l| l.total), &node.path)?;
    let quantity = money::sum(lines.iter().map(|l| Decimal::from(l.quantity)), &node.path)?;
    Ok(Cart {
        currency,
        lines,
        shipping,
        fees,
        attributes,
        subtotal,
        quantity,
        by_id,
    })
}

/// Reads a user context. In `tray` and `checkCode` the context also carries `now`, returned here.
pub fn read_user(node: &Node) -> Result<(User, Option<Instant>)> {
    let u = node.obj(&[
        "id",
        "properties",
        "segments",
        "events",
        "assignments",
        "activations",
        "now",
    ])?;
    let id = u.get("id").map(|n| user_id(&n)).transpose()?;
    let properties = u
        .get("properties")
        .map(|p| p.values())
        .transpose()?
        .unwrap_or_default();
    let segments = u
        .get("segments")
        .map(|s| s.strings())
        .transpose()?
        .unwrap_or_default();
    let mut events = Vec::new();
    each(&u, "events", &mut |e| {
        events.push(read_event(e)?);
        Ok(())
    })?;
    let mut assignments = Vec::new();
    each(&u, "assignments", &mut |a| {
        let o = a.obj(&["coupon_id", "assigned_at", "code"])?;
        let code = match o.get("code") {
            Some(c) => Some(crate::codes::normalize(c.str()?, &c.path)?),
            None => None,
        };
        assignments.push(Assignment {
            coupon_id: o.req("coupon_id")?.string()?,
            assigned_at: instant(&o.req("assigned_at")?)?,
            code,
        });
        Ok(())
    })?;
    let mut activations = Vec::new();
    each(&u, "activations", &mut |a| {
        let o = a.obj(&["coupon_id", "at"])?;
        activations.push((o.req("coupon_id")?.string()?, instant(&o.req("at")?)?));
        Ok(())
    })?;
    let now = u.get("now").map(|n| instant(&n)).transpose()?;
    Ok((
        User {
            id,
            properties,
            segments,
            events,
            assignments,
            activations,
        },
        now,
    ))
}

/// Calls `f` on each item of the list under `key`, if there is one. One copy of the list walk
/// for every list of the user context.
#[inline(never)]
fn each(obj: &Obj, key: &str, f: &mut dyn FnMut(&Node) -> Result<()>) -> Result<()> {
    for item in obj
        .get(key)
        .map(|n| n.items())
        .transpose()?
        .unwrap_or_default()
    {
        f(&item)?;
    }
    Ok(())
}

/// Reads one event: `{ id?, name, at, properties? }`.
pub fn read_event(node: &Node) -> Result<Event> {
    let o = node.obj(&["name", "at", "id", "properties"])?;
    Ok(Event {
        id: o.get("id").map(|n| text(&n, 128)).transpose()?,
        name: text(&o.req("name")?, 64)?,
        at: instant(&o.req("at")?)?,
        properties: o
            .get("properties")
            .map(|p| p.values())
            .transpose()?
            .unwrap_or_default(),
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

/// Reads the usage snapshot: last known counters per coupon id.
pub fn read_usage(node: &Node, currency: Currency) -> Result<Vec<(String, CouponUsage)>> {
    let u = node.obj(&["as_of", "coupons"])?;
    if let Some(t) = u.get("as_of") {
        instant(&t)?;
    }
    let mut out = Vec::new();
    for (id, c) in u
        .get("coupons")
        .map(|c| c.entries())
        .transpose()?
        .unwrap_or_default()
    {
        let o = c.obj(&[
            "redemptions",
            "user_redemptions",
            "discount_given",
            "periods",
            "user_periods",
        ])?;
        let by_label = |k: &str| -> Result<Vec<(String, u64)>> {
            match o.get(k) {
                None => Ok(Vec::new()),
                Some(p) => p
                    .entries()?
                    .into_iter()
                    .map(|(label, n)| Ok((label.to_string(), n.u64()?)))
                    .collect(),
            }
        };
        let count = |k: &str| {
            o.get(k)
                .map(|n| n.u64())
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let discount_given = match o.get("discount_given") {
            Some(d) => amount(&d, currency)?,
            None => Decimal::ZERO,
        };
        out.push((
            id.to_string(),
            CouponUsage {
                redemptions: count("redemptions")?,
                user_redemptions: count("user_redemptions")?,
                discount_given,
                periods: [by_label("periods")?, by_label("user_periods")?],
            },
        ));
    }
    Ok(out)
}

/// Facts about the user and the cart, for rules.
#[derive(Debug)]
pub struct CartFacts<'a> {
    pub user: &'a User,
    pub cart: Option<&'a Cart>,
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

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::UserProperty(p) => lookup_ref(&self.user.properties, p).map(Cow::Borrowed),
            Fact::CartAttribute(p) => self
                .cart
                .and_then(|c| lookup_ref(&c.attributes, p))
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
            Fact::LineId => Some(Value::Str(l.id.clone())),
            Fact::LineProductId => Some(Value::Str(l.product_id.clone())),
            Fact::LineQuantity => Some(Value::Num(Decimal::from(l.quantity))),
            Fact::LineUnitPrice => Some(Value::Num(l.unit_price)),
            Fact::LineTotal => Some(Value::Num(l.total)),
            Fact::LineAttribute(p) => lookup(&l.attributes, p),
            other => self.outer.fact(other),
        }
    }

    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        match fact {
            Fact::LineAttribute(p) => lookup_ref(&self.line.attributes, p).map(Cow::Borrowed),
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
