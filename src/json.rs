//! Reading input: JSON text becomes a [`Value`] tree (depth-limited, duplicate keys refused), and
//! typed requests are read from the tree by one small deserializer that knows where it is, so every
//! error names its field path (`cart.lines[2].id`). One route for every caller (native, Node,
//! Worker, browser) also keeps the Wasm small: each type's `Deserialize` exists once.

use crate::error::join_path;
use crate::rules::Value;
use rust_decimal::prelude::ToPrimitive;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use std::collections::btree_map;
use std::fmt;

/// A read failure: what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Path segments, innermost first (reversed on display).
    segments: Vec<String>,
    pub message: String,
}

impl ReadError {
    /// The field path, `a.b[2].c`, or empty for the root.
    pub fn path(&self) -> String {
        self.segments
            .iter()
            .rev()
            .fold(String::new(), |acc, s| join_path(&acc, s))
    }

    fn at(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReadError {}

impl de::Error for ReadError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ReadError {
            segments: Vec::new(),
            message: msg.to_string(),
        }
    }
}

/// Parses JSON text into a value tree.
pub fn parse_value(text: &[u8]) -> Result<Value, ReadError> {
    serde_json::from_slice(text).map_err(|e| ReadError {
        segments: Vec::new(),
        message: e.to_string(),
    })
}

/// Reads a typed value from a tree.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ReadError> {
    T::deserialize(Walker(value))
}

/// Parses JSON text straight into a typed value.
pub fn from_slice<T: DeserializeOwned>(text: &[u8]) -> Result<T, ReadError> {
    from_value(&parse_value(text)?)
}

/// Reads a request from JSON text; a failure is `INVALID_REQUEST` with the field path under `root`.
pub fn read_request<T: DeserializeOwned>(text: &[u8], root: &str) -> Result<T, crate::Error> {
    from_slice(text).map_err(|e| crate::Error::InvalidRequest {
        path: join_path(root, &e.path()),
        message: e.message,
    })
}

/// A deserializer over a borrowed [`Value`].
struct Walker<'a>(&'a Value);

impl<'de> de::Deserializer<'de> for Walker<'_> {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Num(n) => {
                if n.fract().is_zero() {
                    if let Some(u) = n.to_u64() {
                        return visitor.visit_u64(u);
                    }
                    if let Some(i) = n.to_i64() {
                        return visitor.visit_i64(i);
                    }
                }
                visitor.visit_f64(n.to_f64().unwrap_or(f64::NAN))
            }
            Value::Str(s) => visitor.visit_str(s),
            Value::List(items) => visitor.visit_seq(Items {
                iter: items.iter().enumerate(),
            }),
            Value::Map(map) => visitor.visit_map(Entries {
                iter: map.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        match self.0 {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Items<'a, I: Iterator<Item = (usize, &'a Value)>> {
    iter: I,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Value)>> SeqAccess<'de> for Items<'a, I> {
    type Error = ReadError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ReadError> {
        match self.iter.next() {
            None => Ok(None),
            Some((i, v)) => seed
                .deserialize(Walker(v))
                .map(Some)
                .map_err(|e| e.at(format!("[{i}]"))),
        }
    }
}

struct Entries<'a> {
    iter: btree_map::Iter<'a, String, Value>,
    value: Option<(&'a String, &'a Value)>,
}

impl<'de, 'a> MapAccess<'de> for Entries<'a> {
    type Error = ReadError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ReadError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some((k, v));
                seed.deserialize(k.as_str().into_deserializer()).map(Some)
            }
        }
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, ReadError> {
        match self.value.take() {
            Some((k, v)) => seed.deserialize(Walker(v)).map_err(|e| e.at(k.clone())),
            None => Err(de::Error::custom("a value was read before its key")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        id: String,
        qty: u64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cart {
        lines: Vec<Line>,
    }

    #[test]
    fn errors_name_their_path() {
        let e = from_slice::<Cart>(
            br#"{"lines":[{"id":"a","qty":1},{"id":"b","qty":1,"colour":"red"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.path(), "lines[1]");
        assert!(e.message.contains("colour"), "{e}");
        let e = from_slice::<Cart>(br#"{"lines":[{"id":7,"qty":1}]}"#).unwrap_err();
        assert_eq!(e.path(), "lines[0].id");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(parse_value(br#"{"a":1,"a":2}"#).is_err());
    }
}
