//! What a caller sends, as typed requests: the first stage of the pipeline (input -> plan ->
//! evaluation -> result). Derived with serde; unknown fields are refused; money and quantities
//! stay exact (money is a decimal string, numbers keep their JSON digits through serde_json's
//! `arbitrary_precision`, so `1.0000000000000001` is not 1). These types are checked against the
//! manifest (currency, limits) and turned into the core's types by `crate::cart`.
//!
//! One reader fills them, [`from_json`]: JSON text natively, in `evaluateJson`, and in the JS skin
//! from the `JSON.stringify` text of the objects it is given. A refusal names its field path,
//! `cart.lines[2].unit_price`.

use crate::de::Text;
use crate::error::{join_path, Error, Result};
use crate::rules::{Map, Value, MAX_VALUE_DEPTH};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// `evaluate`'s request: `{ cart, user?, codes?, now?, usage?, allocations?, automatic?, previous? }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct EvaluateRequest<'a> {
    #[serde(borrow)]
    pub cart: Cart<'a>,
    #[serde(default)]
    pub user: Option<UserContext>,
    #[serde(default)]
    pub codes: Option<Vec<String>>,
    /// Required by the core; the JS skin fills in the clock when it is missing.
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Each applied coupon's share per line, shipping and fee.
    #[serde(default)]
    pub allocations: Option<bool>,
    /// `false` prices with the typed codes only: automatic coupons are left out (default `true`).
    #[serde(default)]
    pub automatic: Option<bool>,
    /// An order edit: what the order had before; the result then says what changed (`edit`).
    #[serde(default)]
    pub previous: Option<Previous>,
}

/// The order before an edit: its applied coupons, and optionally its lines and periods. Entries
/// may be the previous result's own (`applied`, `lines`, `periods`): their other fields are
/// ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Previous {
    pub applied: Vec<PreviousCoupon>,
    #[serde(default)]
    pub lines: Option<Vec<PreviousLine>>,
    #[serde(default)]
    pub periods: Option<PreviousPeriods>,
}

/// A coupon applied to the order before the edit.
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self")]
pub struct PreviousCoupon {
    pub coupon_id: String,
    #[serde(default)]
    pub code: Option<String>,
    pub discount: Value,
}

/// A line of the order before the edit, with its discount.
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self")]
pub struct PreviousLine {
    pub id: String,
    pub discount: Value,
}

/// The calendar periods the order before the edit counted under (its result's `periods`).
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self")]
pub struct PreviousPeriods {
    pub day: String,
    pub week: String,
    pub month: String,
}

/// A cart as sent. Amounts and quantities are kept as sent ([`Value`], [`Sent`]) so that a wrong
/// one is refused with its own error code (`INVALID_AMOUNT`, `INVALID_QUANTITY`), as the core reads
/// it. Its lines' text (ids, prices) is borrowed from the JSON text where it has no escapes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Cart<'a> {
    pub currency: String,
    #[serde(borrow)]
    pub lines: Vec<Line<'a>>,
    #[serde(default, borrow)]
    pub shipping: Option<Shipping<'a>>,
    /// Several shipping charges (one per parcel or method), instead of `shipping`.
    #[serde(default, borrow)]
    pub shipping_lines: Option<Vec<Shipping<'a>>>,
    #[serde(default, borrow)]
    pub fees: Option<Vec<Fee<'a>>>,
    #[serde(default)]
    pub attributes: Option<Map>,
}

/// A cart line as sent. Its fields are checked present by the core, after the line count is
/// checked against the limit: a million empty lines are `LIMIT_EXCEEDED`, as one is a missing field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Line<'a> {
    #[serde(default, borrow)]
    pub id: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub product_id: Option<Text<'a>>,
    #[serde(default)]
    pub quantity: Option<Value>,
    #[serde(default, borrow)]
    pub unit_price: Option<Sent<'a>>,
    #[serde(default)]
    pub attributes: Option<Map>,
}

/// Shipping as sent: the one charge (`shipping`) or one of `shipping_lines` (which need an
/// `id`); `method`, `id` and `attributes` are what shipping rules (`shipping.*`) see.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Shipping<'a> {
    #[serde(borrow)]
    pub amount: Sent<'a>,
    #[serde(default)]
    pub method: Option<Value>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub attributes: Option<Map>,
}

/// A fee as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Fee<'a> {
    pub id: String,
    #[serde(borrow)]
    pub amount: Sent<'a>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The user context; `now` only in `tray`, `checkCode` and `distribute`, where the context is the
/// whole request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct UserContext {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub properties: Option<Map>,
    #[serde(default)]
    pub segments: Option<Vec<String>>,
    #[serde(default)]
    pub events: Option<Vec<Event>>,
    #[serde(default)]
    pub assignments: Option<Vec<Assignment>>,
    #[serde(default)]
    pub activations: Option<Vec<Activation>>,
    #[serde(default)]
    pub now: Option<String>,
}

/// A user event: `{ id?, name, at, properties? }` (also `distribute`'s event).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Event {
    pub name: String,
    pub at: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub properties: Option<Map>,
}

/// A coupon given to the user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Assignment {
    pub coupon_id: String,
    pub assigned_at: String,
    #[serde(default)]
    pub code: Option<String>,
}

/// An activation stored by the caller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Activation {
    pub coupon_id: String,
    pub at: String,
}

/// The usage snapshot: last known counters per coupon id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Usage {
    #[serde(default)]
    pub as_of: Option<String>,
    #[serde(default)]
    pub coupons: Option<Entries<CouponUsage>>,
    /// Counters per limit group (`limit_groups`), shaped as a coupon's.
    #[serde(default)]
    pub groups: Option<Entries<CouponUsage>>,
}

/// One coupon's counters. Counts are read as sent and checked by the core (whole, 0 to 2^53 - 1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct CouponUsage {
    #[serde(default)]
    pub redemptions: Option<Value>,
    #[serde(default)]
    pub user_redemptions: Option<Value>,
    #[serde(default)]
    pub discount_given: Option<Value>,
    #[serde(default)]
    pub periods: Option<Entries<Value>>,
    #[serde(default)]
    pub user_periods: Option<Entries<Value>>,
}

/// An object whose keys are data (coupon ids, period labels), in the order sent; a repeated key
/// is refused.
#[derive(Debug, Clone, Default)]
pub struct Entries<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("the key `{key}` appears twice")));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// How serde_json hands over a number's own digits under `arbitrary_precision`: a one-entry map
/// under this key (what `serde_json::Number` itself reads).
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

// Requests are objects: a derived struct alone would also read a list as its fields in order.
crate::de::objects!(
    <'a>
    EvaluateRequest<'a>,
    Cart<'a>,
    Line<'a>,
    Shipping<'a>,
    Fee<'a>,
);
crate::de::objects!(
    Previous,
    PreviousCoupon,
    PreviousLine,
    PreviousPeriods,
    UserContext,
    Event,
    Assignment,
    Activation,
    Usage,
    CouponUsage,
);

/// Reads a free-form value (properties, attributes, amounts as sent) at a depth.
struct ValueSeed(usize);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        if self.0 > MAX_VALUE_DEPTH {
            return Err(de::Error::custom(format!(
                "values nest deeper than {MAX_VALUE_DEPTH} levels"
            )));
        }
        d.deserialize_any(self)
    }
}

fn number<E: de::Error>(text: &str) -> std::result::Result<Value, E> {
    crate::money::from_json_number(text)
        .map(Value::Num)
        .ok_or_else(|| {
            E::custom(format!(
                "the number {} is outside the exact decimal range",
                text.chars().take(40).collect::<String>()
            ))
        })
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Num(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Num(v.into()))
    }
    /// A JS number: its shortest round-trip digits, what `JSON.stringify` writes.
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        if !v.is_finite() {
            return Err(E::custom("a number that is not finite"));
        }
        number(&v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0 + 1))? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut pairs = Vec::new();
        // A number's token is recognised without copying it, and its digits read in place: two
        // allocations fewer per number (every line's quantity).
        while let Some(key) = map.next_key_seed(KeySeed(pairs.is_empty()))? {
            let key = match key {
                Key::Number => return map.next_value_seed(DigitsSeed),
                Key::Text(key) => key,
            };
            pairs.push((key, map.next_value_seed(ValueSeed(self.0 + 1))?));
        }
        Map::from_pairs(pairs)
            .map(Value::Map)
            .map_err(|k| de::Error::custom(format!("the key `{k}` appears twice")))
    }
}

/// An object's key: the number token (only as the first key, as serde_json sends it) or text.
enum Key {
    Number,
    Text(String),
}

/// Reads a key; `first`: the number token counts only as an object's first key.
struct KeySeed(bool);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key, E> {
        Ok(match self.0 && v == NUMBER_TOKEN {
            true => Key::Number,
            false => Key::Text(v.to_string()),
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key, E> {
        Ok(match self.0 && v == NUMBER_TOKEN {
            true => Key::Number,
            false => Key::Text(v),
        })
    }
}

/// A number's digits (the value under the number token), read into a decimal in place.
struct DigitsSeed;

impl<'de> DeserializeSeed<'de> for DigitsSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for DigitsSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        number(v)
    }
}

/// A value as sent where a string is expected (an amount): the string borrowed from the JSON text
/// when it has no escapes, anything else read as a [`Value`] (and refused by the core, with its
/// own error code, as it always was).
#[derive(Debug, Clone)]
pub enum Sent<'a> {
    Str(Cow<'a, str>),
    Other(Value),
}

impl Sent<'_> {
    /// The string sent, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Sent::Str(s) => Some(s),
            Sent::Other(_) => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Sent<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(SentVisitor)
    }
}

/// Reads a [`Sent`]: strings here, every other value as [`ValueSeed`] reads it.
struct SentVisitor;

impl<'de> Visitor<'de> for SentVisitor {
    type Value = Sent<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Sent<'de>, E> {
        Ok(Sent::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Sent<'de>, E> {
        Ok(Sent::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Sent<'de>, E> {
        Ok(Sent::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_bool(v).map(Sent::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_i64(v).map(Sent::Other)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_u64(v).map(Sent::Other)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_f64(v).map(Sent::Other)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_unit().map(Sent::Other)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Sent<'de>, E> {
        ValueSeed(0).visit_none().map(Sent::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Sent<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Sent<'de>, A::Error> {
        ValueSeed(0).visit_seq(seq).map(Sent::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Sent<'de>, A::Error> {
        ValueSeed(0).visit_map(map).map(Sent::Other)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Value, D::Error> {
        ValueSeed(0).deserialize(d)
    }
}

impl<'de> Deserialize<'de> for Map {
    /// Only an object: anything else is refused by serde_json itself, where it stands (so the
    /// refusal is located at this field).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Map, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Map;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Map, A::Error> {
                match ValueSeed(1).visit_map(map)? {
                    Value::Map(m) => Ok(m),
                    _ => Err(de::Error::custom("expected an object")),
                }
            }
        }
        d.deserialize_map(Object)
    }
}

/// Reads a request from JSON text (numbers from their digits, no float on the way). A refusal is
/// `INVALID_REQUEST` at the field it is about (`cart.lines[2].unit_price`), found from where
/// serde_json stopped ([`crate::de::located`]): a valid request pays nothing for paths.
pub fn from_json<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(&mut de).map_err(|e| {
        let message = e.to_string();
        let (path, last) = crate::de::located(text.as_bytes(), &e);
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next());
        let path = match (unknown, last) {
            (Some(key), _) => join_path(&path, key),
            (None, _) if message.starts_with("missing field") => path,
            (None, Some((segment, _))) => join_path(&path, &segment),
            (None, None) => path,
        };
        Box::new(Error::InvalidRequest { path, message })
    })?;
    de.end().map_err(|e| {
        Box::new(Error::InvalidRequest {
            path: String::new(),
            message: e.to_string(),
        })
    })?;
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A line's text is borrowed from the JSON text unless it has escapes, which are read as
    /// before; every other value is read, and refused, as an owned `Option<String>` or `Value`
    /// field was (same message, same place).
    #[test]
    fn line_text_is_borrowed_and_read_as_before() {
        let line = |text: &'static str| from_json::<Line>(text);
        let l = line(r#"{"id":"l1","product_id":"sku","unit_price":"1.50","quantity":2}"#).unwrap();
        assert!(matches!(l.id, Some(Text(Cow::Borrowed("l1")))));
        assert!(matches!(l.product_id, Some(Text(Cow::Borrowed("sku")))));
        assert!(matches!(
            l.unit_price,
            Some(Sent::Str(Cow::Borrowed("1.50")))
        ));
        let l = line(r#"{"id":"l\u0031","product_id":"a\"b","unit_price":"1\u002e50"}"#).unwrap();
        assert_eq!(l.id.as_deref(), Some("l1"));
        assert_eq!(l.product_id.as_deref(), Some("a\"b"));
        assert_eq!(l.unit_price.as_ref().and_then(Sent::as_str), Some("1.50"));
        let l = line(r#"{"id":null,"unit_price":12.5}"#).unwrap();
        assert!(l.id.is_none() && l.product_id.is_none());
        assert!(matches!(l.unit_price, Some(Sent::Other(Value::Num(_)))));

        /// The owned reader these fields had.
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Owned {
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            product_id: Option<String>,
            #[serde(default)]
            quantity: Option<Value>,
            #[serde(default)]
            unit_price: Option<Value>,
        }
        for text in [
            r#"{"id":1}"#,
            r#"{"id":[]}"#,
            r#"{"id":{"a":1}}"#,
            r#"{"product_id":true}"#,
            r#"{"product_id":"\ud800"}"#,
            r#"{"product_id":"a\qb"}"#,
            r#"{"unit_price":{"a":1,"a":2}}"#,
            r#"{"unit_price":1e999999}"#,
            r#"{"unit_price":"x"#,
            r#"{"id":"x","id":"y"}"#,
        ] {
            let (new, old) = (
                line(text).unwrap_err(),
                from_json::<Owned>(text).unwrap_err(),
            );
            assert_eq!((new.code(), new.path()), (old.code(), old.path()), "{text}");
            assert_eq!(new.to_string(), old.to_string(), "{text}");
        }
        let n = MAX_VALUE_DEPTH + 2;
        let deep = format!(r#"{{"unit_price":{}1{}}}"#, "[".repeat(n), "]".repeat(n));
        let (new, old) = (
            line(String::leak(deep.clone())).unwrap_err(),
            from_json::<Owned>(&deep).unwrap_err(),
        );
        assert_eq!(new.to_string(), old.to_string());
    }
}
