//! Reasons: why a coupon or code did not apply. A reason is a normal outcome of a valid request,
//! never an error. Its `code` is public API (docs/errors.md); `message` is for people; the other
//! fields are details a page can use ("add 7.40 more").

use crate::money::Currency;
use crate::rules::Failure;
use crate::rules::Value;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Why something did not apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
    pub details: Vec<(&'static str, Detail)>,
}

/// A reason's detail value: text, a count, or a rule value as seen.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Text(String),
    Count(u64),
    Value(Value),
}

impl Serialize for Detail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Detail::Text(t) => s.serialize_str(t),
            Detail::Count(n) => s.serialize_u64(*n),
            Detail::Value(v) => v.serialize(s),
        }
    }
}

impl From<String> for Detail {
    fn from(t: String) -> Self {
        Detail::Text(t)
    }
}

impl From<&str> for Detail {
    fn from(t: &str) -> Self {
        Detail::Text(t.to_string())
    }
}

impl From<u64> for Detail {
    fn from(n: u64) -> Self {
        Detail::Count(n)
    }
}

impl From<Value> for Detail {
    fn from(v: Value) -> Self {
        Detail::Value(v)
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("code", self.code)?;
        m.serialize_entry("message", &self.message)?;
        for (k, v) in &self.details {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Reason {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Reason {
        Reason {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, key: &'static str, value: impl Into<Detail>) -> Reason {
        self.details.push((key, value.into()));
        self
    }

    /// Every reason code, for the docs table and the test that keeps it complete.
    pub const CODES: &'static [&'static str] = &[
        "UNKNOWN_CODE",
        "CODE_MISTYPED",
        "DUPLICATE_CODE",
        "ALREADY_APPLIED",
        "NOT_ACTIVE",
        "PAUSED",
        "ENDED",
        "SIGN_IN_REQUIRED",
        "NOT_YET_ACTIVE",
        "NOT_ACTIVATED",
        "EXPIRED",
        "OUTSIDE_REDEMPTION_WINDOW",
        "OUTSIDE_SCHEDULE",
        "NOT_IN_AUDIENCE",
        "NOT_ASSIGNED",
        "ALREADY_ASSIGNED",
        "USER_CONDITION_FAILED",
        "EVENT_CONDITION_FAILED",
        "CART_CONDITION_FAILED",
        "NO_ELIGIBLE_ITEMS",
        "NOTHING_TO_DISCOUNT",
        "USER_LIMIT_REACHED",
        "GLOBAL_LIMIT_REACHED",
        "BUDGET_EXHAUSTED",
        "PERIOD_LIMIT_REACHED",
        "TIER_NOT_REACHED",
        "CODE_LIMIT_REACHED",
        "NOT_COMBINABLE",
        "NOT_REQUESTED",
    ];

    /// A failed qualifying rule, explained: which fact, what was expected, what was seen, and what
    /// is missing. Rules on the user give `USER_CONDITION_FAILED`, on an event
    /// `EVENT_CONDITION_FAILED`, on the cart `CART_CONDITION_FAILED`.
    pub(crate) fn condition(f: &Failure, currency: Currency) -> Reason {
        let code = match f.fact.split('.').next() {
            Some("user") => "USER_CONDITION_FAILED",
            Some("event") => "EVENT_CONDITION_FAILED",
            _ => "CART_CONDITION_FAILED",
        };
        let money = is_money(&f.fact);
        let show = |v: &Value| match (v, money) {
            (Value::Num(n), true) => currency.format(*n),
            (v, _) => v.show(),
        };
        let (expected, actual) = (show(&f.expected), show(&f.actual));
        // One sentence shape for every comparison: "<fact> <phrase> <expected> (it is <actual>)".
        let phrase = match f.op.as_str() {
            "gte" => "must be at least",
            "gt" => "must be more than",
            "lte" => "must be at most",
            "lt" => "must be less than",
            "eq" => "must be",
            "ne" | "not eq" => "must not be",
            "in" => "must be one of",
            "not_in" | "not in" => "must not be one of",
            "contains" => "must contain",
            "not contains" => "must not contain",
            _ => "must not be",
        };
        let fact = crate::rules::fact_words(&f.fact);
        let mut message = if f.op == "any_line" {
            format!("the cart needs {expected}")
        } else if f.op.ends_with("exists") {
            if f.actual == Value::Null {
                format!("{fact} is required")
            } else {
                format!("{fact} must be absent (it is {actual})")
            }
        } else {
            format!("{fact} {phrase} {expected} (it is {actual})")
        };
        // Money is shown with the currency's digits ("42.60"), other values as they came.
        let detail = |v: &Value| match (v, money) {
            (Value::Num(n), true) => Detail::Text(currency.format(*n)),
            (v, _) => Detail::Value(v.clone()),
        };
        let mut reason = Reason::new(code, String::new())
            .with("fact", f.fact.clone())
            .with("op", f.op.clone())
            .with("expected", detail(&f.expected))
            .with("actual", detail(&f.actual));
        if let Some(short) = f.missing {
            // `gt` needs one step past the threshold: a minor unit of money, or one whole unit.
            let step = match (f.op.as_str(), money) {
                ("gt", true) => currency.unit(),
                ("gt", false) if crate::money::is_whole(short) => rust_decimal::Decimal::ONE,
                _ => rust_decimal::Decimal::ZERO,
            };
            let m = crate::money::plus(short, step).unwrap_or(short);
            let missing = if money {
                currency.format(m)
            } else {
                crate::money::plain(m)
            };
            message.push_str(&format!(": add {missing} more"));
            reason = reason.with("missing", missing);
        }
        reason.message = message;
        reason
    }
}

/// Facts that hold money, shown with the currency's digits.
fn is_money(fact: &str) -> bool {
    matches!(
        fact,
        "cart.subtotal" | "cart.shipping" | "line.unit_price" | "line.total"
    )
}
