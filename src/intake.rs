//! A request handed in from JS the way a result is handed out (src/handoff.rs): one text and a
//! list of words, made by js/handoff.js (`flatten`) in one walk over the JS value. Neither
//! `JSON.stringify` writes the request's JSON text nor serde_json reads it back: for the 200-line
//! benchmark request, JSON text was about 40% of an `evaluate` (docs/development.md).
//!
//! Only plain data comes this way: objects and arrays with the built-in prototypes, strings,
//! finite numbers, booleans and null. For such a value the reader gives the request types exactly
//! what serde_json gives them from its `JSON.stringify` text: strings borrowed, a number as
//! serde_json reads its digits under `arbitrary_precision` (`u64`, else `i64`, else the digits
//! under serde_json's number token), `null` as none. It refuses everything else without saying
//! why ([`Refused`]): the caller then reads the value's JSON text as before (`crate::input`),
//! which refuses what it must, with its field path and message, and reads the rest as it always
//! did. A request is never read differently for having come this way.
//!
//! The words are the handoff's: `NULL`, `TRUE`, `FALSE`, `INT | n << 4` (0 to 2^28 - 1),
//! `STR | end << 4`, `KEY | end << 4` (every key is text: no `KEY_AGAIN`), `ARRAY` ... `END`,
//! `OBJECT` ... `END`, and [`NUMBER`]` | end << 4`, a number's text as `JSON.stringify` writes
//! it. An end is where the string stops in the text, in UTF-16 code units.

use crate::handoff::{ARRAY, END, FALSE, INT, KEY, NULL, OBJECT, STR, TAG_BITS, TRUE};
use crate::input::NUMBER_TOKEN;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A number, as the text `JSON.stringify` writes for it.
pub const NUMBER: u32 = 11;
const TAG_MASK: u32 = (1 << TAG_BITS) - 1;
/// How deep values nest here at most (serde_json's own limit is 128).
const MAX_DEPTH: usize = 128;

/// Not read this way; the reason is left to the JSON reader.
#[derive(Debug)]
pub struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read from the handoff")
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Refused
    }
}

type Read<T> = Result<T, Refused>;

/// Reads `T` from `text` (UTF-8) and `words`, all of them. `units` is the text's length in
/// UTF-16 code units (the ends are counted in them).
pub fn read<'de, T: Deserialize<'de>>(text: &'de str, units: usize, words: &'de [u32]) -> Read<T> {
    let mut r = Reader {
        text,
        words,
        i: 0,
        byte: 0,
        unit: 0,
        // Every unit is at least a byte, and only an ASCII one is exactly one.
        ascii: text.len() == units,
        depth: 0,
    };
    let value = T::deserialize(&mut r)?;
    match r.i == words.len() && r.byte == text.len() {
        true => Ok(value),
        false => Err(Refused),
    }
}

struct Reader<'de> {
    text: &'de str,
    words: &'de [u32],
    /// The next word.
    i: usize,
    /// Where the next string starts, in bytes and in UTF-16 units.
    byte: usize,
    unit: usize,
    ascii: bool,
    depth: usize,
}

impl<'de> Reader<'de> {
    fn peek(&self) -> Read<u32> {
        self.words.get(self.i).copied().ok_or(Refused)
    }

    fn next(&mut self) -> Read<u32> {
        let w = self.peek()?;
        self.i += 1;
        Ok(w)
    }

    /// The text from where the last string ended to `end` (UTF-16 units).
    fn cut(&mut self, end: u32) -> Read<&'de str> {
        let (start, end) = (self.byte, end as usize);
        if self.ascii {
            self.byte = end;
        } else {
            // The ends only grow: one walk along the text converts them all. An end inside a
            // character (between the halves of a surrogate pair) is refused.
            let rest = self.text.get(start..).ok_or(Refused)?;
            for c in rest.chars() {
                if self.unit >= end {
                    break;
                }
                self.unit += c.len_utf16();
                self.byte += c.len_utf8();
            }
            if self.unit != end {
                return Err(Refused);
            }
        }
        self.text.get(start..self.byte).ok_or(Refused)
    }

    /// Visits a container's items with `visit`, then takes its `END`.
    fn container<T>(&mut self, visit: impl FnOnce(&mut Self) -> Read<T>) -> Read<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Refused);
        }
        let value = visit(self)?;
        self.depth -= 1;
        match self.next()? {
            END => Ok(value),
            _ => Err(Refused),
        }
    }
}

/// A number's text as serde_json reads a number under `arbitrary_precision`: a `u64` when it is
/// one, else an `i64` (not `-0`), else its digits under the number token.
fn number<'de, V: Visitor<'de>>(digits: &'de str, v: V) -> Read<V::Value> {
    if digits.starts_with('-') {
        if let (false, Ok(n)) = (digits == "-0", digits.parse::<i64>()) {
            return v.visit_i64(n);
        }
    } else if let (Some(b'0'..=b'9'), Ok(n)) = (digits.bytes().next(), digits.parse::<u64>()) {
        return v.visit_u64(n);
    }
    v.visit_map(Digits(Some(digits)))
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Read<V::Value> {
        let w = self.next()?;
        let n = w >> TAG_BITS;
        match w & TAG_MASK {
            NULL => v.visit_unit(),
            TRUE => v.visit_bool(true),
            FALSE => v.visit_bool(false),
            INT => v.visit_u64(n.into()),
            NUMBER => number(self.cut(n)?, v),
            STR => v.visit_borrowed_str(self.cut(n)?),
            ARRAY => self.container(|r| v.visit_seq(Items(r))),
            OBJECT => self.container(|r| v.visit_map(Fields(r))),
            _ => Err(Refused),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Read<V::Value> {
        match self.peek()? {
            NULL => {
                self.i += 1;
                v.visit_none()
            }
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Read<V::Value> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// An array's items, up to its `END` (which [`Reader::container`] takes).
struct Items<'r, 'de>(&'r mut Reader<'de>);

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Refused;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Read<Option<T::Value>> {
        match self.0.peek()? {
            END => Ok(None),
            _ => seed.deserialize(&mut *self.0).map(Some),
        }
    }
}

/// An object's fields, up to its `END`.
struct Fields<'r, 'de>(&'r mut Reader<'de>);

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = Refused;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Read<Option<K::Value>> {
        let w = self.0.peek()?;
        match w & TAG_MASK {
            END => Ok(None),
            KEY => {
                self.0.i += 1;
                let key = self.0.cut(w >> TAG_BITS)?;
                seed.deserialize(BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            _ => Err(Refused),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Read<V::Value> {
        seed.deserialize(&mut *self.0)
    }
}

/// A number's digits as serde_json hands them over: a map of one entry, under its token.
struct Digits<'de>(Option<&'de str>);

impl<'de> MapAccess<'de> for Digits<'de> {
    type Error = Refused;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Read<Option<K::Value>> {
        match self.0 {
            Some(_) => seed
                .deserialize(BorrowedStrDeserializer::new(NUMBER_TOKEN))
                .map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Read<V::Value> {
        let digits = self.0.take().ok_or(Refused)?;
        seed.deserialize(BorrowedStrDeserializer::new(digits))
    }
}

/// A JS value handed in by js/handoff.js, in Wasm memory.
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub struct Flat {
    text: String,
    units: usize,
    words: Vec<u32>,
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/handoff.js")]
extern "C" {
    /// Encodes the value into js/handoff.js's buffer: the words, or -1 when it is not plain
    /// data. `catch`: a getter may throw.
    #[wasm_bindgen(catch)]
    fn flatten(value: &wasm_bindgen::JsValue) -> Result<i32, wasm_bindgen::JsValue>;

    /// Copies the words into `into` (a view of it in Wasm memory); the text.
    #[wasm_bindgen(js_name = takeFlat)]
    fn take_flat(into: &mut [u32]) -> js_sys::JsString;
}

#[cfg(target_arch = "wasm32")]
impl Flat {
    /// `value` flat; `None` when it is not plain data (or a getter threw: the JSON way says so).
    pub fn of(value: &wasm_bindgen::JsValue) -> Option<Flat> {
        let n = usize::try_from(flatten(value).ok()?).ok()?;
        let mut words = vec![0; n];
        let text = take_flat(&mut words);
        let units = text.length() as usize;
        let text = String::from_utf8(crate::handoff::utf8(&text)?).ok()?;
        Some(Flat { text, units, words })
    }

    /// The request, or [`Refused`] (then read its JSON text).
    pub fn read<'de, T: Deserialize<'de>>(&'de self) -> Read<T> {
        read(&self.text, self.units, &self.words)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::handoff::KEY_AGAIN;
    use crate::rules::Value;

    const fn at(tag: u32, end: u32) -> u32 {
        tag | end << TAG_BITS
    }

    /// A free-form value read flat and from JSON text, both ways the same.
    fn same(text: &str, words: &[u32], json: &str) {
        let units = text.encode_utf16().count();
        let flat: Value = read(text, units, words).unwrap();
        let from_json: Value = crate::input::from_json(json).unwrap();
        assert_eq!(format!("{flat:?}"), format!("{from_json:?}"), "{json}");
    }

    #[test]
    fn numbers_read_as_serde_json_reads_their_digits() {
        for digits in [
            "-3",
            "-0",
            "1.5",
            "1e+21",
            "268435456",
            "9007199254740993",
            "5e-7",
        ] {
            same(digits, &[at(NUMBER, digits.len() as u32)], digits);
        }
        same("", &[at(INT, 268_435_455)], "268435455");
        same(
            "ab",
            &[
                ARRAY,
                NULL,
                TRUE,
                FALSE,
                at(STR, 1),
                OBJECT,
                at(KEY, 2),
                at(INT, 0),
                END,
                END,
            ],
            r#"[null,true,false,"a",{"b":0}]"#,
        );
    }

    #[test]
    fn text_beyond_ascii_is_cut_by_utf16_units() {
        // "é" is one unit, "👟" two.
        let text = "é👟xk";
        same(
            text,
            &[OBJECT, at(KEY, 4), at(STR, 5), END],
            r#"{"é👟x":"k"}"#,
        );
        // An end between the halves of a pair is refused, as is one past the text.
        let units = text.encode_utf16().count();
        for words in [
            &[ARRAY, at(STR, 2), at(STR, 5), END][..],
            &[ARRAY, at(STR, 6), END][..],
        ] {
            assert!(read::<Value>(text, units, words).is_err());
        }
    }

    #[test]
    fn malformed_words_are_refused_never_read_as_something_else() {
        let refused = |text: &str, words: &[u32]| {
            assert!(read::<Value>(text, text.len(), words).is_err(), "{words:?}");
        };
        refused("", &[]);
        refused("", &[ARRAY]); // no END
        refused("", &[NULL, NULL]); // words left over
        refused("ab", &[at(STR, 1)]); // text left over
        refused("a", &[OBJECT, at(KEY_AGAIN, 0), NULL, END]); // keys are text here
        refused("a", &[OBJECT, at(STR, 1), NULL, END]);
        refused("", &[15]);
        refused("ba", &[ARRAY, at(STR, 2), at(STR, 1), END]); // an end going back
        let mut deep = vec![ARRAY; MAX_DEPTH + 1];
        deep.extend([END].repeat(MAX_DEPTH + 1));
        let any = |words: &[u32]| read::<serde::de::IgnoredAny>("", 0, words).is_ok();
        assert!(!any(&deep));
        deep.drain(..1);
        deep.pop();
        assert!(any(&deep));
    }
}
