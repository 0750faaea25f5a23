//! The encoding a result is handed to JS in (src/handoff.rs, read by js/handoff.js): every
//! shape serde writes comes back as serde_json reads it. Every vector's result is checked the
//! same way where the vectors are played (tests/common/mod.rs).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::handoff::decode;
use edge_coupons::handoff::{Handoff, KEY, KEY_AGAIN, TAG_BITS};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

fn round_trip<T: Serialize>(v: &T) {
    let h = Handoff::of(v).unwrap();
    assert_eq!(decode(&h), serde_json::to_value(v).unwrap());
}

#[derive(Serialize)]
struct Mixed {
    nothing: Option<u8>,
    flags: (bool, bool),
    unsigned: Vec<u64>,
    signed: Vec<i64>,
    floats: Vec<f64>,
    texts: BTreeMap<String, Vec<String>>,
    empty: (Vec<u8>, BTreeMap<String, u8>),
}

#[test]
fn values_come_back_as_serde_json_reads_them() {
    // (serde_json's own `Value` is not used here: with `arbitrary_precision` its numbers
    // serialize as a private struct, and no result holds one.)
    let text = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    round_trip(&Mixed {
        nothing: None,
        flags: (true, false),
        unsigned: vec![0, 1, 4294967295, 4294967296, 9007199254740991],
        signed: vec![-1, -9007199254740991, 7],
        floats: vec![1.5, -0.25, 1e300],
        texts: [
            ("é".to_string(), text(&["naïve ☕ 𝄞 text", ""])),
            ("𝄞".to_string(), text(&["\u{0}", "\"\\/", "€", "a\u{0}b"])),
            ("plain".to_string(), text(&["ascii"])),
        ]
        .into_iter()
        .collect(),
        empty: (vec![], BTreeMap::new()),
    });
}

#[derive(Serialize)]
enum Kind {
    Unit,
    New(u8),
    Tuple(u8, &'static str),
    Struct { a: bool },
}

struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

#[derive(Serialize)]
struct Shape {
    kinds: Vec<Kind>,
    maybe: Option<u32>,
    unit: (),
    pair: (u8, char),
    bytes: Bytes,
}

#[test]
fn structs_enums_options_and_bytes_are_shaped_as_in_json() {
    let v = Shape {
        kinds: vec![
            Kind::Unit,
            Kind::New(7),
            Kind::Tuple(1, "t"),
            Kind::Struct { a: true },
        ],
        maybe: None,
        unit: (),
        pair: (3, 'λ'),
        bytes: Bytes(vec![0, 255]),
    };
    assert_eq!(
        decode(&Handoff::of(&v).unwrap()),
        json!({
            "kinds": ["Unit", { "New": 7 }, { "Tuple": [1, "t"] }, { "Struct": { "a": true } }],
            "maybe": null, "unit": null, "pair": [3, "λ"], "bytes": [0, 255]
        })
    );
}

#[derive(Serialize)]
struct Row {
    id: u32,
    #[serde(rename = "final")]
    final_: u32,
}

#[test]
fn a_key_seen_before_is_named_by_number_and_a_reused_address_is_not_trusted() {
    let rows: Vec<Row> = (0..3)
        .map(|i| Row {
            id: i,
            final_: i * 2,
        })
        .collect();
    let h = Handoff::of(&rows).unwrap();
    let tagged = |tag| {
        h.words
            .iter()
            .filter(|w| **w & ((1 << TAG_BITS) - 1) == tag)
            .count()
    };
    assert_eq!(tagged(KEY), 2, "{:?}", h.words);
    assert_eq!(tagged(KEY_AGAIN), 4);
    round_trip(&rows);
    // Keys built at run time, freed, and others built where they were.
    let maps: Vec<BTreeMap<String, usize>> = (0..50)
        .map(|i| {
            [(format!("k{i}"), i), (format!("k{}", i + 1), i)]
                .into_iter()
                .collect()
        })
        .collect();
    round_trip(&maps);
}

#[test]
fn numbers_past_2_to_the_53_f32_and_float_keys_are_refused() {
    assert!(Handoff::of(&(1u64 << 53)).is_err());
    assert!(Handoff::of(&-(1i64 << 53)).is_err());
    assert!(Handoff::of(&((1u64 << 53) - 1)).is_ok());
    assert!(Handoff::of(&0.1f32).is_err());
    let m: BTreeMap<String, f64> = [("k".to_string(), 1.5)].into_iter().collect();
    assert!(Handoff::of(&m).is_ok());
    struct FloatKey;
    impl Serialize for FloatKey {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(&1.5f64, &1)?;
            m.end()
        }
    }
    assert_eq!(
        Handoff::of(&FloatKey).unwrap_err().to_string(),
        "a map key must be a string, an integer or a boolean"
    );
}

#[test]
fn integer_and_boolean_keys_are_their_text_and_numbers_that_are_not_finite_are_null() {
    let ints: BTreeMap<i64, u8> = [(-3, 1), (0, 2), (1 << 40, 3)].into_iter().collect();
    round_trip(&ints);
    let small: BTreeMap<u8, bool> = [(1, true), (255, false)].into_iter().collect();
    round_trip(&small);
    let flags: BTreeMap<bool, &str> = [(false, "no"), (true, "yes")].into_iter().collect();
    round_trip(&flags);
    round_trip(&vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.5]);
}
