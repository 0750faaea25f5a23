//! JSON files couponctl reads as trees (a manifest payload it fills in before signing, a key set,
//! a request it assembles): serde_json with the core's reader of free-form values, so a [`Value`]
//! has exact numbers, a limited depth and no key twice, and a refusal says where it stopped.
//! A small writer at the end serves couponctl's own output.

use edge_coupons::de::{message_of, offset_of};
use edge_coupons::error::{Error, Result};
use edge_coupons::rules::Value;

/// Parses JSON text (RFC 8259) into a value tree with serde_json and the core's reader of free-form
/// values: numbers become exact decimals straight from their digits (no float on the way),
/// nesting is limited (`rules::MAX_VALUE_DEPTH`), and an object that repeats a key is refused (two
/// parsers that pick different duplicates is a classic way to smuggle a field past a signature
/// check). A refusal ends in `(at byte N)`, where serde_json stopped, for [`crate::jsonerr`].
pub fn parse_value(text: &[u8]) -> Result<Value, String> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(text);
    Value::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        // serde_json's column is that of the last character it read: the byte before offset_of.
        .map_err(|e| {
            let at = offset_of(text, &e).saturating_sub(1);
            format!("{} (at byte {at})", message_of(&e))
        })
}

/// Where a read failure is reported: the manifest (`MANIFEST_INVALID`) or a request
/// (`INVALID_REQUEST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manifest,
    Request,
}

/// Parses JSON text into a tree; a failure is reported as coming from `source`.
pub fn parse(text: &[u8], source: Source) -> Result<Value> {
    parse_value(text).map_err(|e| {
        let (path, message) = (String::new(), format!("not valid JSON: {e}"));
        Box::new(match source {
            Source::Manifest => Error::ManifestInvalid { path, message },
            Source::Request => Error::InvalidRequest { path, message },
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Writing JSON for couponctl (src/bin): trees and small records. Results are `Serialize`.

/// A value that writes itself as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut String);
}

/// Writes an object; `fields` adds the fields.
pub fn object(out: &mut String, fields: &mut dyn FnMut(&mut Fields)) {
    out.push('{');
    let mut f = Fields { out, first: true };
    fields(&mut f);
    out.push('}');
}

/// The fields of an object being written.
#[derive(Debug)]
pub struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    /// Writes a field.
    pub fn field(&mut self, name: &str, value: &dyn ToJson) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, name);
        self.out.push(':');
        value.write_json(self.out);
        self
    }

    /// Writes a field when there is a value; leaves it out otherwise.
    pub fn some<T: ToJson>(&mut self, name: &str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.field(name, v);
        }
        self
    }
}

/// Writes a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Copy runs that need no escape in one go; only quotes, backslashes and control characters
    // (all ASCII, so never inside a multi-byte character) are escaped.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(*HEX.get(usize::from(b >> 4)).unwrap_or(&b'0')));
            out.push(char::from(*HEX.get(usize::from(b & 15)).unwrap_or(&b'0')));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for &str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl ToJson for i32 {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

/// Numbers in values are written as decimal strings, like money: exact in every reader.
impl ToJson for Value {
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => b.write_json(out),
            Value::Num(n) => write_str(out, &edge_coupons::money::plain(*n)),
            Value::Str(s) => write_str(out, s),
            Value::List(items) => items.write_json(out),
            Value::Map(m) => object(out, &mut |f| {
                for (k, v) in m.iter() {
                    f.field(k, v);
                }
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn duplicate_keys_are_refused() {
        assert!(parse_value(br#"{"a":1,"a":2}"#).is_err());
    }

    #[test]
    fn parses_json_exactly() {
        let v = parse_value(
            br#" {"s":"a\u00e9\ud83d\ude00\n","n":[0.1,-2,1e2,12.50],"t":true,"z":null} "#,
        )
        .unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.get("s"), Some(&Value::Str("a\u{e9}\u{1F600}\n".into())));
        let nums = [
            Decimal::new(1, 1),
            Decimal::new(-2, 0),
            Decimal::new(100, 0),
            Decimal::new(125, 1),
        ];
        assert_eq!(
            m.get("n"),
            Some(&Value::List(nums.iter().map(|d| Value::Num(*d)).collect()))
        );
        for bad in [
            "",
            "01",
            "1.",
            "-",
            "[1,]",
            "{\"a\"}",
            "\"\\ud800\"",
            "1e400",
            "tru",
            "[1] 2",
            "\"\u{1}\"",
        ] {
            assert!(parse_value(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
