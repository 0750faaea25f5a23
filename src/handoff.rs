//! A result handed to JS as one text and one list of words, which `js/handoff.js` turns into
//! plain JS objects in one pass.
//!
//! serde_wasm_bindgen builds the objects from the Wasm side, one call into JS per value: a
//! string is decoded from Wasm memory by its own `TextDecoder` call and parked in the externref
//! table, and an object's fields are set one by one. The 200-line fixture's result has about
//! 2,100 values, and handing it over that way cost about 900,000 Wasm instructions and as much
//! wall time again in JS, half of an evaluation (docs/development.md). Here the serializer
//! writes every string into one text (decoded once, then cut by offsets) and the shape into
//! words, and the JS side builds the objects `JSON.parse` makes of serde_json's writing: maps
//! and structs as objects (integer and boolean map keys as their text), `None`, `()` and numbers
//! that are not finite as `null`, bytes as arrays of numbers, enums tagged externally. Integers
//! beyond 2^53, `f32` (serde_json writes its shortest digits, which a widened `f64` is not) and
//! float map keys are refused; no result holds one.
//!
//! The words, each a `u32`: a tag in the low 4 bits and, for some, a number in the other 28.
//! A string is the text from where the previous string or key ended to the offset its word
//! holds, counted in UTF-16 code units as JS strings are (in bytes while encoding, converted at
//! the end when the text is not all ASCII):
//! - `NULL`, `TRUE`, `FALSE`;
//! - `INT | n << 4`: an integer from 0 to 2^28 - 1; `FLOAT, lo, hi`: any other number, its f64
//!   bits in the two words that follow;
//! - `STR | end << 4`;
//! - `ARRAY`, the values, `END`;
//! - `OBJECT`, then per field `KEY | end << 4` (a key not seen before, which takes the next key
//!   number) or `KEY_AGAIN | n << 4` (key number `n`), and its value; `END`.
//!
//! tests/common/handoff.rs decodes it back natively, and every vector's result is checked to
//! come back as serde_json writes it (tests/handoff.rs has the rest).

use serde::ser::{self, Serialize};
use std::fmt;

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/handoff.js")]
extern "C" {
    // `catch`: a throw comes back as an error here rather than unwinding through the Wasm.
    #[wasm_bindgen(catch)]
    fn build(
        text: &str,
        words: &[u32],
    ) -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/handoff.js")]
extern "C" {
    /// `JSON.stringify(value)`: a string, `undefined` for what has no JSON text, an error for
    /// what `JSON.stringify` throws on or would write as another value.
    #[wasm_bindgen(catch, js_name = jsonText)]
    pub fn json_stringify(
        value: &wasm_bindgen::JsValue,
    ) -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;

    /// `text` as UTF-8 into `into` (a view of it in Wasm memory): the bytes written, or -1
    /// when the whole text does not fit.
    #[wasm_bindgen(js_name = utf8Into)]
    fn utf8_into(text: &js_sys::JsString, into: &mut [u8]) -> i32;
}

/// A JS string's UTF-8 bytes, encoded by `TextEncoder.encodeInto` straight into a buffer here
/// (a lone surrogate becomes U+FFFD, as in every other copy of a string into Wasm). `None` only
/// if the encoder broke its own contract.
#[cfg(target_arch = "wasm32")]
pub fn utf8(text: &js_sys::JsString) -> Option<Vec<u8>> {
    let units = text.length() as usize;
    // One byte per UTF-16 unit fits ASCII; three fit any text.
    let mut buf = vec![0; units];
    let mut written = utf8_into(text, &mut buf);
    if written < 0 {
        buf = vec![0; units.checked_mul(3)?];
        written = utf8_into(text, &mut buf);
    }
    buf.truncate(usize::try_from(written).ok()?);
    Some(buf)
}

/// `value` as JS objects, built by js/handoff.js from its encoding.
#[cfg(target_arch = "wasm32")]
pub fn to_js<T: Serialize + ?Sized>(
    value: &T,
) -> std::result::Result<wasm_bindgen::JsValue, Unencodable> {
    let h = Handoff::of(value)?;
    build(&h.text, &h.words).map_err(|_| Unencodable("js/handoff.js refused the handoff".into()))
}

pub const NULL: u32 = 0;
pub const TRUE: u32 = 1;
pub const FALSE: u32 = 2;
pub const INT: u32 = 3;
pub const FLOAT: u32 = 4;
pub const STR: u32 = 5;
pub const ARRAY: u32 = 6;
pub const OBJECT: u32 = 7;
pub const END: u32 = 8;
pub const KEY: u32 = 9;
pub const KEY_AGAIN: u32 = 10;
/// The bits of a word that hold its tag; the rest hold its number.
pub const TAG_BITS: u32 = 4;
const TAG_MASK: u32 = (1 << TAG_BITS) - 1;
/// The largest number a word holds, and so the longest text (in bytes) a handoff can carry.
const MAX_PACKED: u32 = u32::MAX >> TAG_BITS;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE: u64 = (1 << 53) - 1;
/// Keys remembered for `KEY_AGAIN`, by a hash of their address and length (a field name is a
/// `&'static str`, so the same name comes back at the same address).
const KEY_BITS: u32 = 7;
const KEY_SLOTS: usize = 1 << KEY_BITS;

/// A value encoded: `text` and `words`, as the module documentation says.
#[derive(Debug, Default)]
pub struct Handoff {
    pub text: String,
    pub words: Vec<u32>,
    /// Per slot: a key's address, byte length, where it is in `text` and its key number (an
    /// empty slot has length 0: an empty key is never remembered).
    keys: Vec<(usize, usize, usize, u32)>,
    next_key: u32,
}

/// Why a value could not be encoded.
#[derive(Debug)]
pub struct Unencodable(String);

impl fmt::Display for Unencodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unencodable {}

impl ser::Error for Unencodable {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Unencodable(msg.to_string())
    }
}

type Done = std::result::Result<(), Unencodable>;

impl Handoff {
    /// Encodes `value`.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> std::result::Result<Handoff, Unencodable> {
        let mut out = Handoff {
            words: Vec::with_capacity(1024),
            text: String::with_capacity(4096),
            keys: vec![(0, 0, 0, 0); KEY_SLOTS],
            ..Handoff::default()
        };
        value.serialize(&mut out)?;
        if out.text.len() > MAX_PACKED as usize {
            return Err(Unencodable("the result is too large to hand over".into()));
        }
        if !out.text.is_ascii() {
            out.count_utf16();
        }
        Ok(out)
    }

    /// Turns the strings' and keys' ends from bytes into UTF-16 code units. The ends only grow,
    /// so one walk along the text converts them all.
    fn count_utf16(&mut self) {
        let bytes = self.text.as_bytes();
        let (mut byte, mut units) = (0usize, 0u32);
        let mut i = 0;
        while let Some(&w) = self.words.get(i) {
            i += 1;
            match w & TAG_MASK {
                FLOAT => i += 2,
                STR | KEY => {
                    let end = (w >> TAG_BITS) as usize;
                    while byte < end {
                        let b = bytes.get(byte).copied().unwrap_or(0);
                        // A UTF-8 lead byte starts one UTF-16 unit, or two for 4 bytes; a
                        // continuation byte starts none.
                        units += u32::from(b & 0xC0 != 0x80) + u32::from(b >= 0xF0);
                        byte += 1;
                    }
                    if let Some(slot) = self.words.get_mut(i - 1) {
                        *slot = (w & TAG_MASK) | units << TAG_BITS;
                    }
                }
                _ => {}
            }
        }
    }

    /// Appends `s` to the text; the word that ends there.
    fn text(&mut self, s: &str, tag: u32) -> u32 {
        self.text.push_str(s);
        // Within MAX_PACKED: checked once the whole text is written (`of`); a word that wrapped
        // before then is never handed over.
        #[allow(clippy::cast_possible_truncation)]
        let end = self.text.len() as u32;
        tag | end << TAG_BITS
    }

    fn string(&mut self, s: &str) {
        let w = self.text(s, STR);
        self.words.push(w);
    }

    /// An object's key. `fixed`: the key is a `&'static str` (a field name), so the same address
    /// and length are the same text; any other key is compared with the one remembered, as a
    /// key built at run time may reuse freed memory.
    fn key(&mut self, k: &str, fixed: bool) {
        let addr = k.as_ptr() as usize;
        // Fibonacci hashing of the address and length: field names sit close together in
        // memory, and their low bits alone collide.
        #[allow(clippy::cast_possible_truncation)]
        let slot = ((addr ^ k.len()) as u32).wrapping_mul(0x9E37_79B9) as usize >> (32 - KEY_BITS);
        if let Some(&(a, len, at, n)) = self.keys.get(slot) {
            if a == addr
                && len == k.len()
                && len != 0
                && (fixed || self.text.as_bytes().get(at..at + len) == Some(k.as_bytes()))
            {
                self.words.push(KEY_AGAIN | n << TAG_BITS);
                return;
            }
        }
        let at = self.text.len();
        let w = self.text(k, KEY);
        self.words.push(w);
        // Past MAX_PACKED keys the rest are written out each time.
        if self.next_key < MAX_PACKED {
            if let Some(s) = self.keys.get_mut(slot) {
                *s = (addr, k.len(), at, self.next_key);
            }
        }
        self.next_key += 1;
    }

    /// An enum variant with content, tagged externally as serde_json writes it: an object whose
    /// one key is the variant's name, around an array or an object (`inner`).
    fn variant<'a>(&'a mut self, name: &'static str, inner: u32) -> Compound<'a> {
        self.words.push(OBJECT);
        self.key(name, true);
        self.words.push(inner);
        Compound { out: self, ends: 2 }
    }

    fn number(&mut self, n: f64) {
        if !n.is_finite() {
            // As serde_json writes it.
            self.words.push(NULL);
            return;
        }
        let bits = n.to_bits();
        #[allow(clippy::cast_possible_truncation)]
        self.words
            .extend_from_slice(&[FLOAT, bits as u32, (bits >> 32) as u32]);
    }

    fn unsigned(&mut self, n: u64) -> Done {
        match u32::try_from(n) {
            Ok(small) if small <= MAX_PACKED => self.words.push(INT | small << TAG_BITS),
            _ if n <= MAX_SAFE => {
                #[allow(clippy::cast_precision_loss)] // exact: at most 2^53 - 1
                self.number(n as f64);
            }
            _ => return Err(too_large(n)),
        }
        Ok(())
    }
}

fn too_large(n: impl fmt::Display) -> Unencodable {
    Unencodable(format!("{n} can't be represented as a JavaScript number"))
}

// The narrower integers, each as its 64-bit kind.
macro_rules! narrower_integers {
    () => {
        fn serialize_i8(self, v: i8) -> Done {
            self.serialize_i64(v.into())
        }
        fn serialize_i16(self, v: i16) -> Done {
            self.serialize_i64(v.into())
        }
        fn serialize_i32(self, v: i32) -> Done {
            self.serialize_i64(v.into())
        }
        fn serialize_u8(self, v: u8) -> Done {
            self.serialize_u64(v.into())
        }
        fn serialize_u16(self, v: u16) -> Done {
            self.serialize_u64(v.into())
        }
        fn serialize_u32(self, v: u32) -> Done {
            self.serialize_u64(v.into())
        }
    };
}

impl<'a> ser::Serializer for &'a mut Handoff {
    type Ok = ();
    type Error = Unencodable;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Done {
        self.words.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    narrower_integers!();
    fn serialize_i64(self, v: i64) -> Done {
        match u64::try_from(v) {
            Ok(n) => self.unsigned(n),
            Err(_) if v.unsigned_abs() <= MAX_SAFE => {
                #[allow(clippy::cast_precision_loss)] // exact: within 2^53
                self.number(v as f64);
                Ok(())
            }
            Err(_) => Err(too_large(v)),
        }
    }
    fn serialize_u64(self, v: u64) -> Done {
        self.unsigned(v)
    }
    fn serialize_f32(self, _: f32) -> Done {
        Err(Unencodable("an f32 is not handed over".into()))
    }
    fn serialize_f64(self, v: f64) -> Done {
        self.number(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Done {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Done {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        self.words.push(ARRAY);
        for b in v {
            self.words.push(INT | u32::from(*b) << TAG_BITS);
        }
        self.words.push(END);
        Ok(())
    }
    fn serialize_none(self) -> Done {
        self.words.push(NULL);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        self.words.push(NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Done {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        self.words.push(OBJECT);
        self.key(variant, true);
        value.serialize(&mut *self)?;
        self.words.push(END);
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Unencodable> {
        self.words.push(ARRAY);
        Ok(Compound { out: self, ends: 1 })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Unencodable> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Unencodable> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Unencodable> {
        Ok(self.variant(variant, ARRAY))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Unencodable> {
        self.words.push(OBJECT);
        Ok(Compound { out: self, ends: 1 })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unencodable> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Unencodable> {
        Ok(self.variant(variant, OBJECT))
    }
}

/// An array or object being written; `ends` is how many `END`s close it (two for a variant:
/// its content, then the object that names the variant).
#[derive(Debug)]
pub struct Compound<'a> {
    out: &'a mut Handoff,
    ends: usize,
}

impl Compound<'_> {
    fn end(self) -> Done {
        for _ in 0..self.ends {
            self.out.words.push(END);
        }
        Ok(())
    }
}

// Arrays and the fields of a tuple: each value in turn.
macro_rules! values {
    ($($kind:ident::$each:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Unencodable;
            fn $each<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
                v.serialize(&mut *self.out)
            }
            fn end(self) -> Done {
                Compound::end(self)
            }
        }
    )*};
}

values!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unencodable;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(KeyWriter(self.out))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(&mut *self.out)
    }
    fn end(self) -> Done {
        Compound::end(self)
    }
}

// A struct's fields: each name (a key known at compile time), then its value.
macro_rules! fields {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Unencodable;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Done {
                self.out.key(key, true);
                v.serialize(&mut *self.out)
            }
            fn end(self) -> Done {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map's key: a string (a unit variant is its name; an integer or a boolean its text), as an
/// object's keys are.
struct KeyWriter<'a>(&'a mut Handoff);

fn not_a_key() -> Unencodable {
    Unencodable("a map key must be a string, an integer or a boolean".into())
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unencodable;
    type SerializeSeq = ser::Impossible<(), Unencodable>;
    type SerializeTuple = ser::Impossible<(), Unencodable>;
    type SerializeTupleStruct = ser::Impossible<(), Unencodable>;
    type SerializeTupleVariant = ser::Impossible<(), Unencodable>;
    type SerializeMap = ser::Impossible<(), Unencodable>;
    type SerializeStruct = ser::Impossible<(), Unencodable>;
    type SerializeStructVariant = ser::Impossible<(), Unencodable>;

    fn serialize_str(self, v: &str) -> Done {
        self.0.key(v, false);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.0.key(variant, true);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_char(self, v: char) -> Done {
        self.0.key(v.encode_utf8(&mut [0; 4]), false);
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Done {
        self.0.key(if v { "true" } else { "false" }, true);
        Ok(())
    }
    narrower_integers!();
    fn serialize_i64(self, v: i64) -> Done {
        self.0.key(itoa::Buffer::new().format(v), false);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Done {
        self.0.key(itoa::Buffer::new().format(v), false);
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        Err(not_a_key())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Err(not_a_key())
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(not_a_key())
    }
    fn serialize_none(self) -> Done {
        Err(not_a_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Done {
        Err(not_a_key())
    }
    fn serialize_unit(self) -> Done {
        Err(not_a_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Err(not_a_key())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Done {
        Err(not_a_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unencodable> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unencodable> {
        Err(not_a_key())
    }
}
