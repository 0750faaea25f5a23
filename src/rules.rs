//! Qualifying rules: a small predicate language over user properties, cart facts and product
//! (line) attributes, which says *why* it failed.
//!
//! ```json
//! { "all": [ { "fact": "user.properties.country", "op": "in", "value": ["IN", "SG"] },
//!            { "not": { "fact": "user.segments", "op": "contains", "value": "staff" } },
//!            { "any_line": { "fact": "line.attributes.category", "op": "eq", "value": "shoes" } },
//!            { "fact": "cart.subtotal", "op": "gte", "value": "50.00" } ] }
//! ```

use crate::de::{present, Field};
use crate::error::{invalid, Result};
use crate::text::join;
use crate::time::{format_instant, parse_duration, parse_instant, Duration, Instant};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// How deep JSON values (user properties, attributes) may nest. Deeper input is refused rather than
/// risking the stack: in Wasm a stack overflow is a trap.
pub const MAX_VALUE_DEPTH: usize = 64;

/// A property or attribute value: what facts resolve to and what rules compare against.
/// Numbers are exact decimals; there is no float anywhere.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(Decimal),
    Str(String),
    List(Vec<Value>),
    Map(Map),
}

impl Value {
    fn as_num(&self) -> Option<Decimal> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => crate::money::decimal(s),
            _ => None,
        }
    }

    /// Equality with numeric coercion: 50 equals "50.00"; otherwise values must be the same.
    fn loosely_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => same_text(a, b),
            (Value::Num(_), Value::Str(_)) | (Value::Str(_), Value::Num(_)) => {
                matches!((self.as_num(), other.as_num()), (Some(a), Some(b)) if a == b)
            }
            _ => self == other,
        }
    }

    /// What kind of JSON value this is, for messages ("a string", "a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "an object",
        }
    }

    /// A short display form for messages: strings bare, numbers normalised, lists bracketed.
    pub fn show(&self) -> String {
        match self {
            Value::Null => "nothing".into(),
            Value::Bool(b) => b.to_string(),
            Value::Num(n) => crate::money::plain(*n),
            Value::Str(s) => s.chars().take(80).collect(),
            Value::List(items) => format!("[{}]", join(items.iter().map(Value::show), ", ")),
            Value::Map(_) => "an object".into(),
        }
    }

    /// Looks up a dotted path inside nested maps.
    fn get_path<'a>(&'a self, path: &[String]) -> Option<&'a Value> {
        path.iter().try_fold(self, |v, key| match v {
            Value::Map(m) => m.get(key),
            _ => None,
        })
    }
}

/// Numbers in values are written as decimal strings, like money: exact in every reader.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Num(n) => s.serialize_str(&crate::money::plain(*n)),
            Value::Str(t) => s.serialize_str(t),
            Value::List(items) => s.collect_seq(items),
            Value::Map(m) => {
                let mut out = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

/// An object's fields, sorted by key (keys are unique). Small and flat: lookups are a binary
/// search, and the Wasm carries no B-tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    /// Builds a map; a repeated key is refused (the key is returned).
    pub fn from_pairs(mut pairs: Vec<(String, Value)>) -> std::result::Result<Map, String> {
        if pairs.len() <= 12 {
            // Insertion sort: objects are small (a cart line has five keys), and the general
            // sort's index buffer and indirect comparisons cost more than they save here.
            for i in 1..pairs.len() {
                let mut j = i;
                while j > 0 && pairs.get(j - 1).map(|p| &p.0) > pairs.get(j).map(|p| &p.0) {
                    pairs.swap(j - 1, j);
                    j -= 1;
                }
            }
        } else {
            crate::sort::sort_by(&mut pairs, |a, b| a.0.cmp(&b.0));
        }
        if let Some(w) = pairs.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
            return Err(w.first().map(|p| p.0.clone()).unwrap_or_default());
        }
        Ok(Map(pairs))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        // A line's attributes are a few keys: scanned with a length check first (most keys
        // differ in length), without a `memcmp` per probe.
        if self.0.len() <= 8 {
            return self
                .0
                .iter()
                .find(|(k, _)| same_text(k, key))
                .map(|(_, v)| v);
        }
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        self.0.get(i).map(|(_, v)| v)
    }

    /// Sets a field, keeping the order.
    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = value;
                }
            }
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, Value)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The map of a line or cart sent without attributes.
pub static EMPTY: Map = Map(Vec::new());

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    Exists,
}

/// Which facts a predicate may name: segment rules see only the user, line rules see a line too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `user.*`
    User,
    /// `user.*` and `cart.*`
    Cart,
    /// `user.*`, `cart.*` and `line.*`
    Line,
    /// `user.*` and `event.*`: the `where` filter of an event trigger
    Event,
    /// `user.*`, `cart.*` and `shipping.*`: a shipping target's `match`
    Shipping,
}

/// A fact a rule can test, resolved from its dotted name when the manifest is parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    UserId,
    UserSegments,
    UserProperty(Vec<String>),
    CartSubtotal,
    CartQuantity,
    CartLineCount,
    CartShipping,
    CartCurrency,
    CartAttribute(Vec<String>),
    LineId,
    LineProductId,
    LineQuantity,
    LineUnitPrice,
    LineTotal,
    LineAttribute(Vec<String>),
    EventProperty(Vec<String>),
    ShipId,
    ShipMethod,
    ShipAmount,
    ShipAttribute(Vec<String>),
}

impl Fact {
    fn parse(name: &str, scope: Scope) -> std::result::Result<Fact, String> {
        let parts: Vec<&str> = name.split('.').collect();
        let rest = |n: usize| -> std::result::Result<Vec<String>, String> {
            let tail: Vec<String> = parts.iter().skip(n).map(|s| s.to_string()).collect();
            if tail.is_empty() || tail.iter().any(String::is_empty) {
                Err(format!("`{name}` needs a property name after the prefix"))
            } else {
                Ok(tail)
            }
        };
        let fact = match parts.as_slice() {
            ["user", "id"] => Fact::UserId,
            ["user", "segments"] => Fact::UserSegments,
            ["user", "properties", ..] => Fact::UserProperty(rest(2)?),
            ["cart", "subtotal"] => Fact::CartSubtotal,
            ["cart", "quantity"] => Fact::CartQuantity,
            ["cart", "line_count"] => Fact::CartLineCount,
            ["cart", "shipping"] => Fact::CartShipping,
            ["cart", "currency"] => Fact::CartCurrency,
            ["cart", "attributes", ..] => Fact::CartAttribute(rest(2)?),
            ["line", "id"] => Fact::LineId,
            ["line", "product_id"] => Fact::LineProductId,
            ["line", "quantity"] => Fact::LineQuantity,
            ["line", "unit_price"] => Fact::LineUnitPrice,
            ["line", "total"] => Fact::LineTotal,
            ["line", "attributes", ..] => Fact::LineAttribute(rest(2)?),
            ["event", "properties", ..] => Fact::EventProperty(rest(2)?),
            ["shipping", "id"] => Fact::ShipId,
            ["shipping", "method"] => Fact::ShipMethod,
            ["shipping", "amount"] => Fact::ShipAmount,
            ["shipping", "attributes", ..] => Fact::ShipAttribute(rest(2)?),
            _ => {
                return Err(format!(
                    "unknown fact `{name}`; facts are user.id, user.segments, user.properties.*, \
                     cart.subtotal, cart.quantity, cart.line_count, cart.shipping, cart.currency, \
                     cart.attributes.*, line.id, line.product_id, line.quantity, line.unit_price, \
                     line.total, line.attributes.*, event.properties.*, shipping.id, \
                     shipping.method, shipping.amount, shipping.attributes.*"
                ))
            }
        };
        let allowed = match fact.root() {
            "user" => true,
            "cart" => matches!(scope, Scope::Cart | Scope::Line | Scope::Shipping),
            "event" => scope == Scope::Event,
            "shipping" => scope == Scope::Shipping,
            _ => scope == Scope::Line,
        };
        if allowed {
            Ok(fact)
        } else {
            Err(format!(
                "`{name}` cannot be used here: {}",
                match scope {
                    Scope::User => "segment rules see only user.* facts",
                    Scope::Event => "event filters see only user.* and event.* facts",
                    _ if fact.root() == "event" => {
                        "event.* facts are only for the `where` of an event trigger"
                    }
                    _ if fact.root() == "shipping" => {
                        "shipping.* facts are only for the `match` of a shipping target"
                    }
                    _ => "line.* facts are only for product targets and inside any_line",
                }
            ))
        }
    }

    /// `user`, `cart` or `line`.
    pub fn root(&self) -> &'static str {
        match self {
            Fact::UserId | Fact::UserSegments | Fact::UserProperty(_) => "user",
            Fact::CartSubtotal
            | Fact::CartQuantity
            | Fact::CartLineCount
            | Fact::CartShipping
            | Fact::CartCurrency
            | Fact::CartAttribute(_) => "cart",
            Fact::EventProperty(_) => "event",
            Fact::ShipId | Fact::ShipMethod | Fact::ShipAmount | Fact::ShipAttribute(_) => {
                "shipping"
            }
            _ => "line",
        }
    }
}

/// A parsed predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    /// True when at least one cart line satisfies the inner (line-scoped) predicate.
    AnyLine(Box<Predicate>),
    Compare {
        name: String,
        fact: Fact,
        op: Op,
        value: Value,
        /// For `{"from_now": "P30D"}`: the rule compares a time with now plus this (and `value`
        /// holds the duration in words, for messages).
        from_now: Option<Duration>,
        /// `value` worked out for the comparison when the manifest is compiled.
        sought: Sought,
    },
}

/// A rule on lines (a product target, the buy or the get side of a reward) with its place among
/// the manifest's distinct line rules. Equal rules hold on the same lines, so they share a
/// place, and the lines one holds on are worked out once per evaluation, however many coupons
/// use it (`reward::Matches`). Compared, and used, as its predicate.
#[derive(Debug, Clone)]
pub struct LineRule {
    pub rule: Predicate,
    /// Given by [`Sharing::place`] when the manifest is compiled ([`LineRule::UNSHARED`] until then: the
    /// rule is then checked on the lines each time).
    pub id: usize,
}

impl LineRule {
    /// The place of a rule that has none.
    pub const UNSHARED: usize = usize::MAX;

    pub fn new(rule: Predicate) -> LineRule {
        LineRule {
            rule,
            id: LineRule::UNSHARED,
        }
    }
}

impl PartialEq for LineRule {
    fn eq(&self, other: &LineRule) -> bool {
        self.rule == other.rule
    }
}

impl std::ops::Deref for LineRule {
    type Target = Predicate;
    fn deref(&self) -> &Predicate {
        &self.rule
    }
}

/// How many distinct line rules a rule is compared with to find an equal one: past them, a new
/// rule takes a place of its own, so that a manifest of many different rules costs linear time.
const SHARED_RULES: usize = 64;

/// Places given to line rules so far ([`Sharing::place`]); `places` is how many there are.
#[derive(Debug, Default)]
pub struct Sharing<'r> {
    seen: Vec<&'r Predicate>,
    pub places: usize,
}

impl<'r> Sharing<'r> {
    /// Gives `rule` its place: that of the first rule before it that is the same
    /// ([`Predicate::same`]), or the next one.
    pub fn place(&mut self, rule: &'r mut LineRule) {
        let id = self
            .seen
            .iter()
            .position(|p| p.same(&rule.rule))
            .unwrap_or(self.places);
        rule.id = id;
        let rule: &'r LineRule = rule;
        if id == self.places {
            self.places += 1;
            if self.seen.len() < SHARED_RULES {
                self.seen.push(&rule.rule);
            }
        }
    }
}

/// What a comparison looks for, worked out once when the manifest is compiled, so that a rule
/// checked on every line (`line.attributes.category in ["shoes", "toys"]`) compares a text or a
/// number straight away, instead of going through [`Value::loosely_eq`] item by item and
/// reading a number out of the rule's text each time. It decides only what it decides exactly
/// as [`compare`] would; anything else goes to [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub enum Sought {
    /// No shortcut: [`compare`] as written (`exists`, `contains`, `from_now`, a time).
    Value,
    /// `eq`, `ne`, `in`, `not_in`: whether a text or a number fact equals one of the values.
    /// Shared: a segment's rule is copied into every coupon for the segment.
    Among(Arc<Among>),
    /// `gt`, `gte`, `lt`, `lte` against a number: a fact that reads as a number is compared
    /// with it (one that does not, a time perhaps, goes to [`compare`]).
    Number(Decimal),
}

/// The values of an `eq`, `ne`, `in` or `not_in` rule (the value, or the list's items), set
/// out for a text fact and for a number fact.
#[derive(Debug, Clone, PartialEq)]
pub struct Among {
    /// Each text's [`probe`], length and place among the values: a text fact equals a text by
    /// its bytes, which are only read again past eight.
    texts: Vec<(u64, usize, usize)>,
    /// The numbers, then the texts that read as numbers: a text fact equals a number (the first
    /// `numbers`) when it reads as that number; a number fact equals any of them that is the
    /// same number.
    as_numbers: Vec<Decimal>,
    numbers: usize,
    /// `eq` and `in`: true; `ne` and `not_in`: false.
    hit: bool,
}

/// [`crate::money::decimal`], without its work on a text that does not start like a number
/// (a digit, or `-`), which it would refuse: what most texts in rules and attributes are.
fn number(s: &str) -> Option<Decimal> {
    s.as_bytes()
        .first()
        .filter(|b| b.is_ascii_digit() || **b == b'-')
        .and_then(|_| crate::money::decimal(s))
}

/// The values an `eq`, `ne`, `in` or `not_in` rule compares with.
fn items(op: Op, value: &Value) -> &[Value] {
    match (op, value) {
        (Op::In | Op::NotIn, Value::List(items)) => items,
        (Op::In | Op::NotIn, _) => &[],
        (_, v) => std::slice::from_ref(v),
    }
}

impl Sought {
    /// For `op` and `value`; `figure` is `value` as a number, when the rule was checked for one.
    fn new(op: Op, value: &Value, figure: Option<Decimal>, from_now: bool) -> Sought {
        match op {
            _ if from_now => Sought::Value,
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => figure.map_or(Sought::Value, Sought::Number),
            Op::Eq | Op::Ne | Op::In | Op::NotIn => {
                let items = items(op, value);
                let mut texts = Vec::with_capacity(items.len());
                let mut as_numbers: Vec<Decimal> = items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Num(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                let numbers = as_numbers.len();
                for (i, item) in items.iter().enumerate() {
                    if let Value::Str(s) = item {
                        texts.push((probe(s.as_bytes()), s.len(), i));
                        as_numbers.extend(number(s));
                    }
                }
                Sought::Among(Arc::new(Among {
                    texts,
                    as_numbers,
                    numbers,
                    hit: matches!(op, Op::Eq | Op::In),
                }))
            }
            Op::Contains | Op::Exists => Sought::Value,
        }
    }

    /// [`compare`]`(actual, op, expected)`, where `expected` is the value this was made from.
    #[inline(never)]
    fn test(&self, actual: Option<&Value>, op: Op, expected: &Value) -> bool {
        match (self, actual) {
            (Sought::Among(among), Some(Value::Str(s))) => {
                let (len, key) = (s.len(), probe(s.as_bytes()));
                let found = among.texts.iter().any(|&(k, n, i)| {
                    k == key
                        && n == len
                        && (len <= 8
                            || matches!(items(op, expected).get(i),
                                Some(Value::Str(t)) if same_text(t, s)))
                }) || (among.numbers > 0
                    && number(s).is_some_and(|n| {
                        among.as_numbers.iter().take(among.numbers).any(|m| *m == n)
                    }));
                found == among.hit
            }
            (Sought::Among(among), Some(Value::Num(n))) => {
                among.as_numbers.contains(n) == among.hit
            }
            (Sought::Number(e), Some(a)) => match a.as_num() {
                Some(a) => {
                    let ord = a.cmp(e);
                    match op {
                        Op::Gt => ord.is_gt(),
                        Op::Gte => ord.is_ge(),
                        Op::Lt => ord.is_lt(),
                        _ => ord.is_le(),
                    }
                }
                None => compare(actual, op, expected),
            },
            _ => compare(actual, op, expected),
        }
    }
}

/// How deep predicates may nest.
pub const MAX_RULE_DEPTH: usize = 12;

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "contains" => Op::Contains,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
}

/// A rule as the manifest writes it: one of `all`, `any`, `not`, `any_line` or `fact` (with `op`
/// and `value`). Read by serde, checked and compiled by [`Predicate::compile`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Rule {
    #[serde(default, deserialize_with = "present")]
    all: Field<Vec<Rule>>,
    #[serde(default, deserialize_with = "present")]
    any: Field<Vec<Rule>>,
    #[serde(default, deserialize_with = "present")]
    not: Field<Box<Rule>>,
    #[serde(default, deserialize_with = "present")]
    any_line: Field<Box<Rule>>,
    #[serde(default, deserialize_with = "present")]
    fact: Field<String>,
    #[serde(default, deserialize_with = "present")]
    op: Field<String>,
    #[serde(default, deserialize_with = "present")]
    value: Field<Value>,
}

crate::de::objects!(Rule);

impl Rule {
    /// The fields given, `null` or not, for the message about the one that does not belong.
    fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("all", self.all.is_some()),
            ("any", self.any.is_some()),
            ("not", self.not.is_some()),
            ("any_line", self.any_line.is_some()),
            ("fact", self.fact.is_some()),
            ("op", self.op.is_some()),
            ("value", self.value.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, there)| there.then_some(k))
    }

    /// Refuses fields other than these.
    fn only(&self, allowed: &[&str]) -> Result<()> {
        match self.keys().find(|k| !allowed.contains(k)) {
            None => Ok(()),
            Some(k) => Err(invalid(
                "",
                format!(
                    "unknown field `{k}`; expected one of: {}",
                    join(allowed.iter().copied(), ", ")
                ),
            )),
        }
    }
}

impl Predicate {
    /// Whether two rules (of one scope) are the same: the same forms, fact names, operators and
    /// values (and the same durations from now), so that they decide the same on every line.
    /// Texts are the same bytes, numbers the same numbers: a number's scale, which `==` ignores,
    /// only shows in messages, and those are each coupon's own. The facts and shortcuts follow
    /// from the rest.
    /// (Written out, not derived: the derived `==` over every type was ~650 bytes of gzip.)
    fn same(&self, other: &Predicate) -> bool {
        let each = |a: &[Predicate], b: &[Predicate]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same(b))
        };
        match (self, other) {
            (Predicate::All(a), Predicate::All(b)) | (Predicate::Any(a), Predicate::Any(b)) => {
                each(a, b)
            }
            (Predicate::Not(a), Predicate::Not(b))
            | (Predicate::AnyLine(a), Predicate::AnyLine(b)) => a.same(b),
            (
                Predicate::Compare {
                    name,
                    op,
                    value,
                    from_now,
                    ..
                },
                Predicate::Compare {
                    name: m,
                    op: o,
                    value: v,
                    from_now: n,
                    ..
                },
            ) => op == o && from_now == n && value == v && name == m,
            _ => false,
        }
    }

    /// Checks a rule of the manifest and compiles it; `scope` says which facts it may name.
    /// Errors name the field relative to the rule.
    pub fn compile(rule: &Rule, scope: Scope) -> Result<Predicate> {
        Predicate::compile_at(rule, scope, 0)
    }

    fn compile_at(rule: &Rule, scope: Scope, depth: usize) -> Result<Predicate> {
        if depth > MAX_RULE_DEPTH {
            return Err(invalid(
                "",
                format!("rules nest deeper than {MAX_RULE_DEPTH} levels"),
            ));
        }
        let form = [
            ("all", rule.all.as_ref().is_some_and(Option::is_some)),
            ("any", rule.any.as_ref().is_some_and(Option::is_some)),
            ("not", rule.not.as_ref().is_some_and(Option::is_some)),
            (
                "any_line",
                rule.any_line.as_ref().is_some_and(Option::is_some),
            ),
            ("fact", rule.fact.as_ref().is_some_and(Option::is_some)),
        ];
        let mut given = form.iter().filter(|(_, there)| *there).map(|(k, _)| *k);
        let (first, second) = (given.next(), given.next());
        let list = |key: &str, items: &[Rule]| -> Result<Vec<Predicate>> {
            rule.only(&[key])?;
            let mut out = Vec::with_capacity(items.len());
            for (i, p) in items.iter().enumerate() {
                out.push(
                    Predicate::compile_at(p, scope, depth + 1).map_err(|e| e.item(i).under(key))?,
                );
            }
            Ok(out)
        };
        match (first, second, rule) {
            (
                Some("all"),
                None,
                Rule {
                    all: Some(Some(items)),
                    ..
                },
            ) => Ok(Predicate::All(list("all", items)?)),
            (
                Some("any"),
                None,
                Rule {
                    any: Some(Some(items)),
                    ..
                },
            ) => {
                let items = list("any", items)?;
                if items.is_empty() {
                    return Err(invalid("", "`any` needs at least one rule"));
                }
                Ok(Predicate::Any(items))
            }
            (
                Some("not"),
                None,
                Rule {
                    not: Some(Some(inner)),
                    ..
                },
            ) => {
                rule.only(&["not"])?;
                Ok(Predicate::Not(Box::new(
                    Predicate::compile_at(inner, scope, depth + 1).map_err(|e| e.under("not"))?,
                )))
            }
            (
                Some("any_line"),
                None,
                Rule {
                    any_line: Some(Some(inner)),
                    ..
                },
            ) => {
                rule.only(&["any_line"])?;
                if scope == Scope::User {
                    return Err(invalid("", "`any_line` cannot be used in a segment rule"));
                }
                Ok(Predicate::AnyLine(Box::new(
                    Predicate::compile_at(inner, Scope::Line, depth + 1)
                        .map_err(|e| e.under("any_line"))?,
                )))
            }
            (
                Some("fact"),
                None,
                Rule {
                    fact: Some(Some(name)),
                    ..
                },
            ) => {
                rule.only(&["fact", "op", "value"])?;
                Predicate::compile_compare(rule, name, scope)
            }
            _ => Err(invalid(
                "",
                "a rule has exactly one of `all`, `any`, `not`, `any_line` or `fact`",
            )),
        }
    }

    fn compile_compare(rule: &Rule, name: &str, scope: Scope) -> Result<Predicate> {
        let fact = Fact::parse(name, scope).map_err(|m| invalid("", m))?;
        let op_name_given = match &rule.op {
            Some(Some(op)) => op.as_str(),
            _ => return Err(invalid("", "missing field `op`")),
        };
        let op = Op::parse(op_name_given).ok_or_else(|| {
            invalid(
                "op",
                "unknown `op`; ops are eq, ne, in, not_in, gt, gte, lt, lte, contains, exists",
            )
        })?;
        let bad = |m: String| invalid("", m);
        let given = rule.value.as_ref().and_then(Option::as_ref);
        let from_now = match (op, given) {
            (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Some(Value::Map(m))) => {
                if let Some((k, _)) = m.iter().find(|(k, _)| k != "from_now") {
                    return Err(invalid(
                        "value",
                        format!("unknown field `{k}`; expected one of: from_now"),
                    ));
                }
                Some(match m.get("from_now") {
                    None | Some(Value::Null) => {
                        return Err(invalid("value", "missing field `from_now`"))
                    }
                    Some(Value::Str(d)) => parse_duration(d, "")
                        .map_err(|e| invalid("value.from_now", e.to_string()))?,
                    Some(other) => {
                        return Err(invalid(
                            "value.from_now",
                            format!("expected a string, found {}", other.kind()),
                        ))
                    }
                })
            }
            _ => None,
        };
        // A number that `gt`..`lte` compare with, read once here.
        let mut figure = None;
        let value = match (op, given) {
            // Kept for messages: "at least 30 days from now".
            _ if from_now.is_some() => Value::Str(from_now.map(|d| d.words()).unwrap_or_default()),
            (Op::Exists, None) => Value::Bool(true),
            (Op::Exists, Some(Value::Bool(b))) => Value::Bool(*b),
            (Op::Exists, Some(_)) => {
                return Err(bad("`exists` takes true or false, or no value".into()))
            }
            (_, None) => return Err(bad(format!("the rule on `{name}` needs a `value`"))),
            (Op::In | Op::NotIn, Some(Value::List(items))) => Value::List(items.clone()),
            (Op::In | Op::NotIn, Some(_)) => {
                return Err(bad("`in` and `not_in` take a list".into()))
            }
            (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Some(v)) => {
                figure = v.as_num();
                if figure.is_none() && !matches!(v, Value::Str(s) if parse_instant(s, "").is_ok()) {
                    return Err(bad(format!(
                        "`{}` compares numbers, RFC 3339 times or {{\"from_now\": \"P30D\"}}, not {}",
                        op_name(op),
                        v.kind()
                    )));
                }
                v.clone()
            }
            (_, Some(v)) => v.clone(),
        };
        Ok(Predicate::Compare {
            name: name.to_string(),
            fact,
            op,
            sought: Sought::new(op, &value, figure, from_now.is_some()),
            value,
            from_now,
        })
    }
}

/// What facts resolve against.
pub trait Facts {
    /// The value of `fact`, or `None` when it is missing.
    fn fact(&self, fact: &Fact) -> Option<Value>;
    /// The same value, borrowed where the facts hold it (properties, attributes), so that a rule
    /// checked on every line copies nothing.
    fn fact_ref(&self, fact: &Fact) -> Option<Cow<'_, Value>> {
        self.fact(fact).map(Cow::Owned)
    }
    /// Calls `f` on each line's facts, until it returns true.
    fn any_line(&self, f: &mut dyn FnMut(&dyn Facts) -> bool) -> bool;
    /// The time `from_now` rules count from; without one they do not hold.
    fn now(&self) -> Option<Instant> {
        None
    }
}

/// A rule on one attribute of a line ([`Predicate::on_attribute`]).
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'p> {
    key: &'p str,
    op: Op,
    value: &'p Value,
    sought: &'p Sought,
}

impl Attribute<'_> {
    /// Whether the rule holds on a line with these attributes.
    #[inline(always)]
    pub fn holds(&self, attributes: &Map) -> bool {
        self.sought
            .test(attributes.get(self.key), self.op, self.value)
    }
}

/// Why a predicate was false: the first comparison that failed, with the value seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The fact's dotted name (`cart.subtotal`), or `cart.lines` for an `any_line` rule.
    pub fact: String,
    /// The operator, as written (`gte`), prefixed `not ` when a negated rule held.
    pub op: String,
    /// The value the rule compares against.
    pub expected: Value,
    /// The value seen, or null when the fact is missing.
    pub actual: Value,
    /// For a `gte`/`gt` rule on a number that fell short: how much is missing.
    pub missing: Option<Decimal>,
}

impl Predicate {
    /// Whether the predicate holds: `check(facts).is_none()`, without building the failure or
    /// copying any value. What the per-line loops (product targets, `any_line`) call.
    pub fn holds(&self, facts: &dyn Facts) -> bool {
        match self {
            // An empty `any` holds, as in `check` (the manifest refuses one anyway).
            Predicate::All(items) => items.iter().all(|p| p.holds(facts)),
            Predicate::Any(items) => items.is_empty() || items.iter().any(|p| p.holds(facts)),
            Predicate::Not(inner) => !inner.holds(facts),
            Predicate::AnyLine(inner) => facts.any_line(&mut |line| inner.holds(line)),
            Predicate::Compare {
                fact,
                op,
                value,
                from_now,
                sought,
                ..
            } => sought.test(
                facts.fact_ref(fact).as_deref(),
                *op,
                &expected(value, *from_now, facts),
            ),
        }
    }

    /// [`Predicate::holds`] for one line whose attributes are `attributes`: a rule on one of
    /// them (what a product target usually is), also inside `all`, `any` and `not`, is compared
    /// straight away, without asking the facts for it.
    pub fn holds_on_line(&self, attributes: &Map, facts: &dyn Facts) -> bool {
        match self {
            Predicate::All(items) => items.iter().all(|p| p.holds_on_line(attributes, facts)),
            Predicate::Any(items) => {
                items.is_empty() || items.iter().any(|p| p.holds_on_line(attributes, facts))
            }
            Predicate::Not(inner) => !inner.holds_on_line(attributes, facts),
            Predicate::Compare {
                fact: Fact::LineAttribute(path),
                op,
                value,
                from_now: None,
                sought,
                ..
            } => {
                let actual = match path.as_slice() {
                    [key] => attributes.get(key),
                    _ => lookup_ref(attributes, path),
                };
                sought.test(actual, *op, value)
            }
            _ => self.holds(facts),
        }
    }

    /// The rule as a test of one attribute of a line, when that is what it is (what a product
    /// target usually is): [`Attribute::holds`] is then [`Predicate::holds_on_line`], without
    /// going through the predicate's forms on every line.
    pub fn on_attribute(&self) -> Option<Attribute<'_>> {
        match self {
            Predicate::Compare {
                fact: Fact::LineAttribute(path),
                op,
                value,
                from_now: None,
                sought,
                ..
            } => match path.as_slice() {
                [key] => Some(Attribute {
                    key,
                    op: *op,
                    value,
                    sought,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// `None` when the predicate holds; otherwise the failure that explains why not.
    pub fn check(&self, facts: &dyn Facts) -> Option<Failure> {
        match self {
            Predicate::All(items) => items.iter().find_map(|p| p.check(facts)),
            Predicate::Any(items) => {
                let mut first = None;
                for p in items {
                    match p.check(facts) {
                        None => return None,
                        Some(f) => {
                            first.get_or_insert(f);
                        }
                    }
                }
                first
            }
            Predicate::Not(inner) => match inner.check(facts) {
                Some(_) => None,
                None => Some(match inner.as_ref() {
                    Predicate::Compare {
                        name,
                        op,
                        value,
                        fact,
                        from_now,
                        ..
                    } => Failure {
                        fact: name.clone(),
                        op: format!("not {}", op_name(*op)),
                        expected: expected(value, *from_now, facts).into_owned(),
                        actual: facts.fact(fact).unwrap_or(Value::Null),
                        missing: None,
                    },
                    _ => Failure {
                        fact: "rule".into(),
                        op: "not".into(),
                        expected: Value::Bool(false),
                        actual: Value::Bool(true),
                        missing: None,
                    },
                }),
            },
            Predicate::AnyLine(inner) => {
                if facts.any_line(&mut |line| inner.holds(line)) {
                    None
                } else {
                    Some(Failure {
                        fact: "cart.lines".into(),
                        op: "any_line".into(),
                        expected: Value::Str(self.describe()),
                        actual: Value::Null,
                        missing: None,
                    })
                }
            }
            Predicate::Compare {
                name,
                fact,
                op,
                value,
                from_now,
                sought,
            } => {
                let value = &expected(value, *from_now, facts);
                if sought.test(facts.fact_ref(fact).as_deref(), *op, value) {
                    return None;
                }
                let actual = facts.fact(fact);
                let missing = match (op, actual.as_ref().and_then(Value::as_num), value.as_num()) {
                    (Op::Gte | Op::Gt, Some(a), Some(e)) if a < e || (*op == Op::Gt && a == e) => {
                        Some(crate::money::less(e, a))
                    }
                    _ => None,
                };
                Some(Failure {
                    fact: name.clone(),
                    op: op_name(*op).into(),
                    expected: value.clone().into_owned(),
                    actual: actual.unwrap_or(Value::Null),
                    missing,
                })
            }
        }
    }

    /// The rule in plain words, for messages ("category is shoes and price is at least 20").
    pub fn describe(&self) -> String {
        let each =
            |items: &[Predicate], sep: &str| join(items.iter().map(Predicate::describe), sep);
        match self {
            Predicate::Compare {
                name,
                op,
                value,
                from_now,
                ..
            } => {
                let words = match op {
                    Op::Eq => "is",
                    Op::Ne => "is not",
                    Op::In => "is one of",
                    Op::NotIn => "is not one of",
                    Op::Gt => "is more than",
                    Op::Gte => "is at least",
                    Op::Lt => "is less than",
                    Op::Lte => "is at most",
                    Op::Contains => "contains",
                    Op::Exists if *value == Value::Bool(false) => {
                        return format!("no {}", fact_words(name))
                    }
                    Op::Exists => "is set",
                };
                match op {
                    Op::Exists => format!("{} {words}", fact_words(name)),
                    _ if from_now.is_some() => {
                        format!("{} {words} {} from now", fact_words(name), value.show())
                    }
                    _ => format!("{} {words} {}", fact_words(name), value.show()),
                }
            }
            Predicate::All(items) => each(items, " and "),
            Predicate::Any(items) => each(items, " or "),
            Predicate::Not(p) => format!("not ({})", p.describe()),
            Predicate::AnyLine(p) => format!("an item whose {}", p.describe()),
        }
    }
}

/// A fact's name in words: `cart.subtotal` is "the cart subtotal", `user.properties.orders_count`
/// "your orders count", `line.attributes.category` "category".
pub fn fact_words(fact: &str) -> String {
    let spaced = |s: &str| s.replace(['_', '.'], " ");
    let fixed = match fact {
        "cart.subtotal" => "the cart subtotal",
        "cart.quantity" => "the number of items",
        "cart.line_count" => "the number of lines",
        "cart.shipping" => "the shipping charge",
        "cart.currency" => "the currency",
        "user.id" => "your account",
        "user.segments" => "your segments",
        "line.product_id" => "product",
        "line.unit_price" => "price",
        "line.total" => "line total",
        "shipping.method" => "method",
        "shipping.amount" => "charge",
        "shipping.id" => "shipping line",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.into();
    }
    if let Some(p) = fact.strip_prefix("user.properties.") {
        return format!("your {}", spaced(p));
    }
    if let Some(p) = fact.strip_prefix("cart.attributes.") {
        return format!("the {}", spaced(p));
    }
    if let Some(p) = fact.strip_prefix("event.properties.") {
        return format!("the event's {}", spaced(p));
    }
    if let Some(p) = fact.strip_prefix("shipping.attributes.") {
        return spaced(p);
    }
    spaced(
        fact.strip_prefix("line.attributes.")
            .or_else(|| fact.strip_prefix("line."))
            .unwrap_or(fact),
    )
}

/// The operator's wire name.
pub fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::In => "in",
        Op::NotIn => "not_in",
        Op::Gt => "gt",
        Op::Gte => "gte",
        Op::Lt => "lt",
        Op::Lte => "lte",
        Op::Contains => "contains",
        Op::Exists => "exists",
    }
}

/// What a comparison compares against: the rule's value, or for a `from_now` rule the time now
/// plus its duration (nothing, so the rule fails, when the caller gave no time).
fn expected<'v>(value: &'v Value, from_now: Option<Duration>, facts: &dyn Facts) -> Cow<'v, Value> {
    match from_now {
        None => Cow::Borrowed(value),
        Some(d) => Cow::Owned(
            facts
                .now()
                .and_then(|now| now.checked_add(d))
                .map_or(Value::Null, |t| Value::Str(format_instant(t))),
        ),
    }
}

/// Applies `op`. A missing fact equals nothing: `eq`, `in`, comparisons and `contains` are false,
/// `ne` and `not_in` are true. A list fact is `in` a list when any of its items is.
fn compare(actual: Option<&Value>, op: Op, expected: &Value) -> bool {
    let actual = match actual {
        None | Some(Value::Null) => {
            return match op {
                Op::Ne | Op::NotIn => true,
                Op::Exists => *expected == Value::Bool(false),
                _ => false,
            }
        }
        Some(a) => a,
    };
    let member = |v: &Value| match expected {
        Value::List(items) => items.iter().any(|e| v.loosely_eq(e)),
        _ => false,
    };
    match op {
        Op::Exists => *expected == Value::Bool(true),
        Op::Eq => actual.loosely_eq(expected),
        Op::Ne => !actual.loosely_eq(expected),
        Op::In | Op::NotIn => {
            let hit = match actual {
                Value::List(items) => items.iter().any(member),
                v => member(v),
            };
            hit == (op == Op::In)
        }
        Op::Contains => match actual {
            Value::List(items) => items.iter().any(|v| v.loosely_eq(expected)),
            Value::Str(s) => matches!(expected, Value::Str(e) if contains_text(s, e)),
            _ => false,
        },
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let ord = match (actual.as_num(), expected.as_num()) {
                (Some(a), Some(e)) => a.cmp(&e),
                _ => match (actual, expected) {
                    (Value::Str(a), Value::Str(e)) => {
                        match (parse_instant(a, ""), parse_instant(e, "")) {
                            (Ok(a), Ok(e)) => a.cmp(&e),
                            _ => return false,
                        }
                    }
                    _ => return false,
                },
            };
            match op {
                Op::Gt => ord.is_gt(),
                Op::Gte => ord.is_ge(),
                Op::Lt => ord.is_lt(),
                _ => ord.is_le(),
            }
        }
    }
}

/// Substring test over bytes: property values are short, and `str::contains` would bring a
/// general string searcher (and its panic formatting) into the Wasm.
fn contains_text(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

/// Whether two strings are equal: lengths first, then eight bytes at a time. What rules compare
/// on every line (attribute keys and values): short strings, where a `memcmp` call a byte at a
/// time cost more than the comparison.
#[inline(always)]
fn same_text(a: &str, b: &str) -> bool {
    // Lengths where it is called: most keys and values differ in length, and then no call is made.
    a.len() == b.len() && same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_text`]'s bytes, of equal lengths: up to eight by their [`probe`], longer ones eight at a
/// time and the last eight (overlapping), without a loop over single bytes.
#[inline(never)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n <= 8 {
        return probe(a) == probe(b);
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// The eight bytes at `i` (0 past the end).
#[inline(always)]
fn word(s: &[u8], i: usize) -> u64 {
    s.get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// A text's bytes in one number: all of them for up to eight (two overlapping loads, the first
/// and the last half, so no byte loop), the first eight of a longer one. Two texts of the same
/// length up to eight are equal exactly when their probes are.
#[inline(always)]
fn probe(s: &[u8]) -> u64 {
    let n = s.len();
    let half = |i: usize| {
        s.get(i..i + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let quarter = |i: usize| {
        s.get(i..i + 2)
            .and_then(|w| <[u8; 2]>::try_from(w).ok())
            .map_or(0, |w| u64::from(u16::from_le_bytes(w)))
    };
    match n {
        8.. => word(s, 0),
        4.. => half(0) | half(n - 4) << 32,
        2.. => quarter(0) | quarter(n - 2) << 16,
        _ => s.first().map_or(0, |&b| u64::from(b)),
    }
}

/// Looks up a property path in a map of values.
pub fn lookup(map: &Map, path: &[String]) -> Option<Value> {
    lookup_ref(map, path).cloned()
}

/// [`lookup`], borrowed.
pub fn lookup_ref<'m>(map: &'m Map, path: &[String]) -> Option<&'m Value> {
    let (first, rest) = path.split_first()?;
    map.get(first)?.get_path(rest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Props(Map, Decimal);
    impl Facts for Props {
        fn fact(&self, fact: &Fact) -> Option<Value> {
            match fact {
                Fact::UserProperty(p) => lookup(&self.0, p),
                Fact::CartSubtotal => Some(Value::Num(self.1)),
                _ => None,
            }
        }
        fn any_line(&self, _: &mut dyn FnMut(&dyn Facts) -> bool) -> bool {
            false
        }
    }

    fn read(json: &str) -> Result<Predicate> {
        let rule: Rule =
            serde_json::from_str(json).map_err(|e| invalid("", format!("not valid: {e}")))?;
        Predicate::compile(&rule, Scope::Cart)
    }

    fn rule(json: &str) -> Predicate {
        read(json).unwrap()
    }

    #[test]
    fn explains_a_missed_threshold() {
        let facts = Props(Map::default(), Decimal::new(4260, 2));
        let f = rule(r#"{"fact":"cart.subtotal","op":"gte","value":"50.00"}"#)
            .check(&facts)
            .unwrap();
        assert_eq!(f.missing, Some(Decimal::new(740, 2)));
        assert_eq!(f.actual, Value::Num(Decimal::new(4260, 2)));
    }

    #[test]
    fn holds_is_check_without_the_failure() {
        let mut props = Map::default();
        props.insert("tier".into(), Value::Str("gold".into()));
        props.insert("orders".into(), Value::Num(Decimal::new(3, 0)));
        for subtotal in [Decimal::ZERO, Decimal::new(4999, 2), Decimal::new(5000, 2)] {
            let facts = Props(props.clone(), subtotal);
            for json in [
                r#"{"fact":"cart.subtotal","op":"gte","value":"50.00"}"#,
                r#"{"fact":"user.properties.tier","op":"in","value":["gold","silver"]}"#,
                r#"{"fact":"user.properties.tier","op":"not_in","value":["gold"]}"#,
                r#"{"fact":"user.properties.missing","op":"ne","value":"x"}"#,
                r#"{"fact":"user.properties.orders","op":"lt","value":"3"}"#,
                r#"{"fact":"user.properties.tier","op":"exists"}"#,
                r#"{"not":{"fact":"user.properties.tier","op":"eq","value":"gold"}}"#,
                r#"{"any":[{"fact":"cart.subtotal","op":"gt","value":"49.99"},{"fact":"user.properties.orders","op":"eq","value":3}]}"#,
                r#"{"all":[{"fact":"cart.subtotal","op":"lte","value":"50"},{"fact":"user.properties.tier","op":"contains","value":"ol"}]}"#,
                r#"{"any_line":{"fact":"line.total","op":"gt","value":"1"}}"#,
            ] {
                let r = rule(json);
                assert_eq!(
                    r.holds(&facts),
                    r.check(&facts).is_none(),
                    "{json} at {subtotal}"
                );
            }
        }
    }

    #[test]
    fn missing_facts_equal_nothing() {
        let facts = Props(Map::default(), Decimal::ZERO);
        assert!(
            rule(r#"{"fact":"user.properties.tier","op":"ne","value":"gold"}"#)
                .check(&facts)
                .is_none()
        );
        assert!(
            rule(r#"{"fact":"user.properties.tier","op":"eq","value":"gold"}"#)
                .check(&facts)
                .is_some()
        );
        assert!(
            rule(r#"{"fact":"user.properties.tier","op":"exists","value":false}"#)
                .check(&facts)
                .is_none()
        );
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in [
            r#"{"fact":"user.properties.x"}"#,
            r#"{"fact":"user.nope","op":"eq","value":1}"#,
            r#"{"fact":"line.total","op":"gt","value":1}"#,
            r#"{"fact":"user.properties.x","op":"in","value":1}"#,
            r#"{"fact":"cart.subtotal","op":"gt","value":"abc"}"#,
            r#"{"all":[],"any":[]}"#,
            r#"{"fact":"user.properties.x","op":"eq","valu":1}"#,
            r#"{"fact":"user.properties.x","op":"like","value":1}"#,
        ] {
            assert_eq!(read(bad).unwrap_err().code(), "MANIFEST_INVALID", "{bad}");
        }
    }

    /// The shortcuts worked out at compile time decide exactly what [`compare`] decides.
    #[test]
    fn sought_is_compare() {
        let n = |s: &str| Value::Num(crate::money::decimal(s).unwrap());
        let t = |s: &str| Value::Str(s.into());
        let mut map = Map::default();
        map.insert("a".into(), t("x"));
        let mut values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            n("0"),
            n("50"),
            n("50.00"),
            n("-3.5"),
            n("12345678901"),
            t(""),
            t("5"),
            t("50"),
            t("50.00"),
            t("50.0x"),
            t("-3.50"),
            t("shoes"),
            t("Shoes"),
            t("shoe"),
            t("toys"),
            t("hats"),
            t("jackets"),
            t("category"),
            t("categorz"),
            t("ab"),
            t("abc"),
            t("abd"),
            t("a"),
            t("é"),
            t("日本語"),
            t("sku-000000012"),
            t("sku-000000013"),
            t("sku-100000012"),
            t("a long text past sixteen bytes"),
            t("a long text past sixteen bytez"),
            t("2026-11-23T12:00:00Z"),
            t("2026-11-24T00:00:00+01:00"),
            Value::Map(map),
        ];
        let lists = [
            Value::List(vec![]),
            Value::List(vec![t("shoes"), t("toys")]),
            Value::List(vec![n("50"), t("abc"), Value::Bool(true), Value::Null]),
            Value::List(vec![t("50.00"), t("-3.5"), t("é")]),
            // A text that reads as a number is equal to a number fact, not to a text fact.
            Value::List(vec![n("1"), t("50.00"), t("toys")]),
            Value::List(values.clone()),
        ];
        values.extend(lists.iter().cloned());
        let ops = [
            Op::Eq,
            Op::Ne,
            Op::In,
            Op::NotIn,
            Op::Gt,
            Op::Gte,
            Op::Lt,
            Op::Lte,
            Op::Contains,
            Op::Exists,
        ];
        let mut shortcuts = 0;
        for op in ops {
            for expected in &values {
                let sought = Sought::new(op, expected, expected.as_num(), false);
                shortcuts += usize::from(sought != Sought::Value);
                assert_eq!(
                    Sought::new(op, expected, expected.as_num(), true),
                    Sought::Value
                );
                for actual in std::iter::once(None).chain(values.iter().map(Some)) {
                    assert_eq!(
                        sought.test(actual, op, expected),
                        compare(actual, op, expected),
                        "{actual:?} {op:?} {expected:?}"
                    );
                }
            }
        }
        assert!(shortcuts > 100, "{shortcuts}");
    }

    /// Equal line rules share a place, different ones do not; past the rules compared with,
    /// each new rule takes a place of its own.
    #[test]
    fn equal_line_rules_share_a_place() {
        let line = |json: &str| {
            let rule: Rule = serde_json::from_str(json).unwrap();
            LineRule::new(Predicate::compile(&rule, Scope::Line).unwrap())
        };
        let shoes = r#"{"fact":"line.attributes.category","op":"in","value":["shoes","toys"]}"#;
        let toys = r#"{"fact":"line.attributes.category","op":"in","value":["toys","shoes"]}"#;
        // The same number at another scale is the same rule; a text is not a number.
        let one = r#"{"fact":"line.quantity","op":"in","value":[1]}"#;
        let one_again = r#"{"fact":"line.quantity","op":"in","value":[1.00]}"#;
        let one_text = r#"{"fact":"line.quantity","op":"in","value":["1"]}"#;
        let not_one = r#"{"not":{"fact":"line.quantity","op":"in","value":[1]}}"#;
        let mut rules = [shoes, toys, shoes, toys, one, one_again, one_text, not_one].map(line);
        let mut sharing = Sharing::default();
        rules.iter_mut().for_each(|r| sharing.place(r));
        assert_eq!(sharing.places, 5);
        let ids: Vec<usize> = rules.iter().map(|r| r.id).collect();
        assert_eq!(ids, [0, 1, 0, 1, 2, 2, 3, 4]);
        let price = |n: usize| {
            line(&format!(
                r#"{{"fact":"line.unit_price","op":"gte","value":{n}}}"#
            ))
        };
        let mut many: Vec<LineRule> = (0..SHARED_RULES + 3).map(price).collect();
        many.push(price(1));
        many.push(price(SHARED_RULES + 1));
        let mut sharing = Sharing::default();
        many.iter_mut().for_each(|r| sharing.place(r));
        assert_eq!(sharing.places, SHARED_RULES + 4);
        let ids: Vec<usize> = many.iter().map(|r| r.id).collect();
        assert_eq!(ids.get(SHARED_RULES + 3), Some(&1));
        // Not among the rules compared with: a place of its own.
        assert_eq!(ids.get(SHARED_RULES + 4), Some(&(SHARED_RULES + 3)));
    }

    /// A rule on one attribute, tested on it straight away, decides as `holds_on_line`; other
    /// rules are not taken for one.
    #[test]
    fn on_attribute_is_holds_on_line() {
        let line_rule = |json: &str| {
            let rule: Rule = serde_json::from_str(json).unwrap();
            Predicate::compile(&rule, Scope::Line).unwrap()
        };
        let facts = Props(Map::default(), Decimal::ZERO);
        let mut maps = vec![Map::default()];
        for v in [
            r#""shoes""#,
            r#""toys""#,
            "42",
            r#""42.0""#,
            "null",
            r#"["shoes"]"#,
        ] {
            let mut m = Map::default();
            m.insert("category".into(), crate::input::from_json(v).unwrap());
            maps.push(m);
        }
        for json in [
            r#"{"fact":"line.attributes.category","op":"in","value":["shoes","toys"]}"#,
            r#"{"fact":"line.attributes.category","op":"not_in","value":[42]}"#,
            r#"{"fact":"line.attributes.category","op":"eq","value":"42"}"#,
            r#"{"fact":"line.attributes.category","op":"exists","value":false}"#,
            r#"{"fact":"line.attributes.category","op":"contains","value":"sho"}"#,
        ] {
            let rule = line_rule(json);
            let attribute = rule.on_attribute().unwrap();
            for m in &maps {
                assert_eq!(
                    attribute.holds(m),
                    rule.holds_on_line(m, &facts),
                    "{json} {m:?}"
                );
            }
        }
        for json in [
            r#"{"not":{"fact":"line.attributes.category","op":"eq","value":"shoes"}}"#,
            r#"{"fact":"line.attributes.category.kind","op":"eq","value":"shoes"}"#,
            r#"{"fact":"line.quantity","op":"gte","value":2}"#,
        ] {
            assert!(line_rule(json).on_attribute().is_none(), "{json}");
        }
    }

    #[test]
    fn probes_and_bytes() {
        let texts = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "abd",
            "abcd",
            "abce",
            "abcde",
            "bbcde",
            "abcdef",
            "abcdefg",
            "abcdefh",
            "abcdefgh",
            "abcdefgi",
            "abcdefghi",
            "bbcdefghi",
            "abcdefghj",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghijklmnopq",
            "xbcdefghijklmnopq",
            "abcdefghijklmnopr",
            "abcdefghxjklmnopq",
        ];
        for a in texts {
            for b in texts {
                if a.len() == b.len() {
                    assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
                    if a.len() <= 8 {
                        assert_eq!(probe(a.as_bytes()) == probe(b.as_bytes()), a == b);
                    }
                }
                assert_eq!(same_text(a, b), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn values_refuse_deep_nesting() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(crate::input::from_json::<Value>(&deep).is_err());
        assert_eq!(
            crate::input::from_json::<Value>("0.1").unwrap(),
            Value::Num(Decimal::new(1, 1))
        );
    }
}
