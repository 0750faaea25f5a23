//! The manifest's reader: JSON text becomes a [`Value`] tree (exact numbers, depth-limited,
//! duplicate keys refused), read by hand through [`Node`], which knows its path, so every error
//! names its field (`coupons[0].reward.percent`) and unknown fields are refused. Also read this way:
//! the JWKS, the JWS header and the engine options (once per load). Requests are typed serde
//! structs (`edge_coupons::input`). A small writer at the end serves couponctl's own output.

use edge_coupons::error::{Error, Result};
use edge_coupons::rules::{Map, Value, MAX_VALUE_DEPTH};

/// Parses JSON text (RFC 8259) into a value tree. Numbers become exact decimals straight from
/// their digits (no float on the way), nesting is limited to [`MAX_VALUE_DEPTH`], and an object
/// that repeats a key is refused (two parsers that pick different duplicates is a classic way to
/// smuggle a field past a signature check).
pub fn parse_value(text: &[u8]) -> Result<Value, String> {
    let mut p = Parser { b: text, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != text.len() {
        return Err(p.err("unexpected characters after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> String {
        format!("{msg} (at byte {})", self.i)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.peek() != Some(c) {
            return Err(self.err(&format!("expected `{}`", char::from(c))));
        }
        self.i += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_VALUE_DEPTH {
            return Err(self.err(&format!("values nest deeper than {MAX_VALUE_DEPTH} levels")));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::Str),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        if self.b.get(self.i..self.i + word.len()) != Some(word.as_bytes()) {
            return Err(self.err("expected a JSON value"));
        }
        self.i += word.len();
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        if self.digits() == 0 || (self.b.get(int_start) == Some(&b'0') && self.i - int_start > 1) {
            return Err(self.err("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let text = self
            .b
            .get(start..self.i)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("");
        let parsed = edge_coupons::money::from_json_number(text);
        parsed.map(Value::Num).ok_or_else(|| {
            self.err(&format!(
                "the number {} is outside the exact decimal range",
                text.chars().take(40).collect::<String>()
            ))
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let text = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|t| std::str::from_utf8(t).ok());
        // Four hex digits: from_str_radix alone would also take a sign (`\u+041`).
        let n = text
            .filter(|t| t.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|t| u32::from_str_radix(t, 16).ok())
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(n)
    }

    #[inline(never)]
    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        // Most strings have no escape: one copy of the bytes between the quotes.
        let start = self.i;
        while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
            self.i += 1;
        }
        if self.peek() == Some(b'"') {
            let text = std::str::from_utf8(self.b.get(start..self.i).unwrap_or_default())
                .map_err(|_| self.err("a string is not valid UTF-8"))?
                .to_string();
            self.i += 1;
            return Ok(text);
        }
        self.i = start;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let start = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            out.extend_from_slice(self.b.get(start..self.i).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map_err(|_| self.err("a string is not valid UTF-8"));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.err("unfinished escape"))?;
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(self.err("a lone surrogate in a \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("a lone surrogate in a \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .ok_or_else(|| self.err("a lone surrogate in a \\u escape"))?
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(_) => return Err(self.err("a control character in a string")),
                None => return Err(self.err("unfinished string")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::List(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::List(items));
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.eat(b'{')?;
        let mut pairs = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Map(Map::default()));
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            pairs.push((key, self.value(depth + 1)?));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Map::from_pairs(pairs)
                        .map(Value::Map)
                        .map_err(|k| self.err(&format!("the key `{k}` appears twice")));
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }
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
