//! What js/handoff.js does, in Rust: an encoded result (src/handoff.rs) back into a value, so
//! the native tests can check that every result comes back as serde_json writes it.

use edge_coupons::handoff::{
    Handoff, ARRAY, END, FALSE, FLOAT, INT, KEY, KEY_AGAIN, NULL, OBJECT, STR, TAG_BITS, TRUE,
};
use edge_coupons::intake::NUMBER;
use serde_json::{json, Value};

struct Reader<'h> {
    words: &'h [u32],
    units: Vec<u16>,
    i: usize,
    at: usize,
    keys: Vec<String>,
}

impl Reader<'_> {
    fn word(&mut self) -> u32 {
        self.i += 1;
        self.words[self.i - 1]
    }

    fn cut(&mut self, end: u32) -> String {
        let end = end as usize;
        let s = String::from_utf16(&self.units[self.at..end]).unwrap();
        self.at = end;
        s
    }

    fn value(&mut self) -> Value {
        let w = self.word();
        let n = w >> TAG_BITS;
        match w & ((1 << TAG_BITS) - 1) {
            NULL => Value::Null,
            TRUE => Value::Bool(true),
            FALSE => Value::Bool(false),
            INT => json!(n),
            FLOAT => {
                let lo = u64::from(self.word());
                let hi = u64::from(self.word());
                let f = f64::from_bits(lo | hi << 32);
                // serde_json writes a whole number of an integer type without a fraction.
                if f.fract() == 0.0 && f.abs() < 9.1e15 {
                    json!(f as i64)
                } else {
                    json!(f)
                }
            }
            STR => Value::String(self.cut(n)),
            ARRAY => {
                let mut a = Vec::new();
                while self.words[self.i] != END {
                    a.push(self.value());
                }
                self.i += 1;
                Value::Array(a)
            }
            OBJECT => {
                let mut o = serde_json::Map::new();
                loop {
                    let w = self.word();
                    let n = w >> TAG_BITS;
                    let k = match w & ((1 << TAG_BITS) - 1) {
                        END => return Value::Object(o),
                        KEY => {
                            let k = self.cut(n);
                            self.keys.push(k.clone());
                            k
                        }
                        KEY_AGAIN => self.keys[n as usize].clone(),
                        t => panic!("word {t} where a key belongs"),
                    };
                    let v = self.value();
                    o.insert(k, v);
                }
            }
            t => panic!("unknown word {t}"),
        }
    }
}

/// The value `h` encodes; every word and every unit of text must be used.
pub fn decode(h: &Handoff) -> Value {
    let mut r = Reader {
        words: &h.words,
        units: h.text.encode_utf16().collect(),
        i: 0,
        at: 0,
        keys: Vec::new(),
    };
    let v = r.value();
    assert_eq!(r.i, h.words.len(), "words left over");
    assert_eq!(r.at, r.units.len(), "text left over");
    v
}

/// `serde_json::to_value(v)`, after checking that the encoding for JS gives the same value.
pub fn to_value<T: serde::Serialize>(v: T) -> serde_json::Result<Value> {
    let json = serde_json::to_value(&v)?;
    let h = Handoff::of(&v).unwrap();
    assert_eq!(decode(&h), json, "the handoff to JS differs from the JSON");
    Ok(json)
}

/// What js/handoff.js `flatten` makes of a JSON value (src/intake.rs): the text, its length in
/// UTF-16 units, and the words. A number is `INT` from 0 to 2^28 - 1, else its digits.
pub fn flatten(v: &Value) -> (String, usize, Vec<u32>) {
    fn string(s: &str, tag: u32, out: &mut (String, usize, Vec<u32>)) {
        out.0.push_str(s);
        out.1 += s.encode_utf16().count();
        out.2.push(tag | (out.1 as u32) << TAG_BITS);
    }
    fn go(v: &Value, out: &mut (String, usize, Vec<u32>)) {
        match v {
            Value::Null => out.2.push(NULL),
            Value::Bool(b) => out.2.push(if *b { TRUE } else { FALSE }),
            Value::Number(n) => match n.as_u64().filter(|u| *u < 1 << 28) {
                Some(u) => out.2.push(INT | (u as u32) << TAG_BITS),
                None => string(&n.to_string(), NUMBER, out),
            },
            Value::String(s) => string(s, STR, out),
            Value::Array(a) => {
                out.2.push(ARRAY);
                a.iter().for_each(|x| go(x, out));
                out.2.push(END);
            }
            Value::Object(o) => {
                out.2.push(OBJECT);
                for (k, x) in o {
                    string(k, KEY, out);
                    go(x, out);
                }
                out.2.push(END);
            }
        }
    }
    let mut out = (String::new(), 0, Vec::new());
    go(v, &mut out);
    out
}
