//! The manifest's reader: JSON text becomes a [`Value`] tree (exact numbers, depth-limited,
//! duplicate keys refused), read by hand through [`Node`], which knows its path, so every error
//! names its field (`coupons[0].reward.percent`) and unknown fields are refused. Also read this way:
//! the JWKS, the JWS header and the engine options (once per load). Requests are typed serde
//! structs (`crate::input`). A small writer at the end serves couponctl's own output.

use crate::error::{join_path, Error, Result};
use crate::rules::{Map, Value, MAX_VALUE_DEPTH};

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
        let parsed = crate::money::from_json_number(text);
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
        let n = text
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
    parse_value(text)
        .map_err(|e| Node::root(&Value::Null, source).error(format!("not valid JSON: {e}")))
}

/// A value in the tree, with its path: every read names where it went wrong.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub path: String,
    pub source: Source,
}

/// An object in the tree whose fields have been checked against the allowed list.
#[derive(Debug, Clone)]
pub struct Obj<'a> {
    map: &'a Map,
    node: Node<'a>,
}

impl<'a> Node<'a> {
    /// The root of a tree.
    pub fn root(value: &'a Value, source: Source) -> Node<'a> {
        Node {
            value,
            path: String::new(),
            source,
        }
    }

    /// An error about this node.
    #[inline(never)]
    pub fn error(&self, message: impl Into<String>) -> Box<Error> {
        let (path, message) = (self.path.clone(), message.into());
        Box::new(match self.source {
            Source::Manifest => Error::ManifestInvalid { path, message },
            Source::Request => Error::InvalidRequest { path, message },
        })
    }

    #[inline(never)]
    fn expected(&self, what: &str) -> Box<Error> {
        self.error(format!("expected {what}, found {}", self.value.kind()))
    }

    #[inline(never)]
    fn child(&self, segment: &str, value: &'a Value) -> Node<'a> {
        Node {
            value,
            path: join_path(&self.path, segment),
            source: self.source,
        }
    }

    /// An object with only these fields.
    #[inline(never)]
    pub fn obj(&self, allowed: &[&str]) -> Result<Obj<'a>> {
        let obj = self.any_obj()?;
        obj.only(allowed)?;
        Ok(obj)
    }

    /// An object, fields not yet checked (for tagged unions: read `type`, then call `only`).
    #[inline(never)]
    pub fn any_obj(&self) -> Result<Obj<'a>> {
        match self.value {
            Value::Map(map) => Ok(Obj {
                map,
                node: self.clone(),
            }),
            _ => Err(self.expected("an object")),
        }
    }

    #[inline(never)]
    pub fn str(&self) -> Result<&'a str> {
        match self.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    pub fn string(&self) -> Result<String> {
        self.str().map(str::to_string)
    }

    pub fn bool(&self) -> Result<bool> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    /// A whole number from 0 to 2^53 - 1 (what JSON numbers hold exactly everywhere).
    #[inline(never)]
    pub fn u64(&self) -> Result<u64> {
        match self.value {
            Value::Num(n) if crate::money::is_whole(*n) => crate::money::whole(*n)
                .filter(|&u| u <= MAX_SAFE_INTEGER)
                .ok_or_else(|| {
                    self.error(format!(
                        "{} is not a whole number from 0 to {MAX_SAFE_INTEGER}",
                        crate::money::plain(*n)
                    ))
                }),
            _ => Err(self.expected("a whole number")),
        }
    }

    pub fn i32(&self) -> Result<i32> {
        match self.value {
            Value::Num(n) if crate::money::is_whole(*n) => {
                let abs = crate::money::whole(n.abs()).and_then(|a| i32::try_from(a).ok());
                abs.map(|a| if n.is_sign_negative() { -a } else { a })
                    .ok_or_else(|| {
                        self.error(format!("{} is out of range", crate::money::plain(*n)))
                    })
            }
            _ => Err(self.expected("a whole number")),
        }
    }

    /// The items of a list.
    #[inline(never)]
    pub fn items(&self) -> Result<Vec<Node<'a>>> {
        match self.value {
            Value::List(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut seg = String::with_capacity(8);
                    seg.push('[');
                    seg.push_str(itoa(i, &mut [0u8; 20]));
                    seg.push(']');
                    self.child(&seg, v)
                })
                .collect()),
            _ => Err(self.expected("a list")),
        }
    }

    /// The entries of an object whose keys are data (segment names, coupon ids).
    pub fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>> {
        match self.value {
            Value::Map(map) => Ok(map
                .iter()
                .map(|(k, v)| (k.as_str(), self.child(k, v)))
                .collect()),
            _ => Err(self.expected("an object")),
        }
    }

    /// An object of free-form values (properties, attributes), kept as they are.
    pub fn values(&self) -> Result<Map> {
        match self.value {
            Value::Map(map) => Ok(map.clone()),
            _ => Err(self.expected("an object")),
        }
    }

    /// A list of strings.
    pub fn strings(&self) -> Result<Vec<String>> {
        self.items()?.iter().map(Node::string).collect()
    }
}

impl<'a> Obj<'a> {
    /// Refuses fields other than these.
    pub fn only(&self, allowed: &[&str]) -> Result<()> {
        match self
            .map
            .iter()
            .map(|(k, _)| k)
            .find(|k| !allowed.contains(&k.as_str()))
        {
            None => Ok(()),
            Some(k) => Err(self.node.error(format!(
                "unknown field `{k}`; expected one of: {}",
                join(allowed.iter().copied(), ", ")
            ))),
        }
    }

    /// A field, or `None` when it is missing or null.
    #[inline(never)]
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(self.node.child(key, v)),
        }
    }

    /// A required field.
    #[inline(never)]
    pub fn req(&self, key: &str) -> Result<Node<'a>> {
        self.get(key)
            .ok_or_else(|| self.node.error(format!("missing field `{key}`")))
    }

    /// The object's own node.
    pub fn node(&self) -> &Node<'a> {
        &self.node
    }
}

/// `n` in decimal digits, written into `buf`: without `format!`'s machinery, for list paths.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    std::str::from_utf8(buf.get(i..).unwrap_or_default()).unwrap_or("0")
}

pub use crate::de::MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------------
// Writing JSON for couponctl (src/bin): trees and small records. Results are `Serialize`.

/// A value that writes itself as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut String);

    /// The JSON text.
    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
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

pub use crate::text::{char_count, join};

/// Numbers in values are written as decimal strings, like money: exact in every reader.
impl ToJson for Value {
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => b.write_json(out),
            Value::Num(n) => write_str(out, &crate::money::plain(*n)),
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

    fn read(text: &str) -> Result<Vec<(String, u64)>> {
        let tree = parse(text.as_bytes(), Source::Request)?;
        let root = Node::root(&tree, Source::Request).obj(&["lines"])?;
        root.req("lines")?
            .items()?
            .iter()
            .map(|l| {
                let o = l.obj(&["id", "qty"])?;
                Ok((o.req("id")?.string()?, o.req("qty")?.u64()?))
            })
            .collect()
    }

    #[test]
    fn errors_name_their_path() {
        let e = read(r#"{"lines":[{"id":"a","qty":1},{"id":"b","qty":1,"colour":"red"}]}"#)
            .unwrap_err();
        assert_eq!(e.path(), Some("lines[1]"));
        assert!(e.to_string().contains("colour"), "{e}");
        let e = read(r#"{"lines":[{"id":7,"qty":1}]}"#).unwrap_err();
        assert_eq!(e.path(), Some("lines[0].id"));
        assert_eq!(
            read(r#"{"lines":[{"id":"a","qty":2}]}"#).unwrap(),
            vec![("a".into(), 2)]
        );
    }

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
