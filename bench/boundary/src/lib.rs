//! The cart request and evaluation result shapes of edge-coupons, read and written both ways:
//! JS objects through serde-wasm-bindgen, or JSON text through serde_json. Boundary benchmark only.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Request {
    cart: Cart,
    user: Option<User>,
    #[serde(default)]
    codes: Vec<String>,
    now: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Cart {
    currency: String,
    lines: Vec<Line>,
    shipping: Option<Shipping>,
    #[serde(default)]
    fees: Vec<Fee>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Line {
    id: String,
    product_id: String,
    quantity: u32,
    unit_price: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Shipping {
    amount: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Fee {
    id: String,
    amount: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct User {
    id: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
    #[serde(default)]
    segments: Vec<String>,
    #[serde(default)]
    events: Vec<Event>,
    #[serde(default)]
    assignments: Vec<Assignment>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Event {
    name: String,
    at: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Assignment {
    coupon_id: String,
    assigned_at: String,
}

#[derive(Serialize)]
struct Amounts {
    id: String,
    product_id: String,
    quantity: u32,
    original: String,
    discount: String,
    #[serde(rename = "final")]
    final_: String,
}

#[derive(Serialize)]
struct Totals {
    subtotal: String,
    shipping: String,
    fees: String,
    discount: String,
    total: String,
}

#[derive(Serialize)]
struct Evaluation {
    manifest_id: String,
    currency: String,
    now: String,
    lines: Vec<Amounts>,
    totals: Totals,
    cashback_points: u64,
    applied: Vec<String>,
    rejected: Vec<String>,
}

fn evaluation(n: u32) -> Evaluation {
    Evaluation {
        manifest_id: "bench-1".into(),
        currency: "USD".into(),
        now: "2026-11-23T12:00:00Z".into(),
        lines: (0..n)
            .map(|i| Amounts {
                id: format!("l{}", i + 1),
                product_id: format!("sku-{}", i + 1),
                quantity: 1 + i % 3,
                original: "104.97".into(),
                discount: "0.00".into(),
                final_: "104.97".into(),
            })
            .collect(),
        totals: Totals {
            subtotal: "1234.56".into(),
            shipping: "5.00".into(),
            fees: "1.00".into(),
            discount: "0.00".into(),
            total: "1240.56".into(),
        },
        cashback_points: 0,
        applied: Vec::new(),
        rejected: Vec::new(),
    }
}

/// Reads a request from JS objects; returns the number of lines.
#[wasm_bindgen]
pub fn objects_in(v: JsValue) -> Result<u32, JsError> {
    let r: Request = serde_wasm_bindgen::from_value(v).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(r.cart.lines.len() as u32)
}

/// Reads a request from JSON text; returns the number of lines.
#[wasm_bindgen]
pub fn json_in(s: &str) -> Result<u32, JsError> {
    let r: Request = serde_json::from_str(s).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(r.cart.lines.len() as u32)
}

/// A result of `n` lines as JS objects (plain objects, not Maps).
#[wasm_bindgen]
pub fn objects_out(n: u32) -> Result<JsValue, JsError> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    evaluation(n)
        .serialize(&ser)
        .map_err(|e| JsError::new(&e.to_string()))
}

/// A result of `n` lines as JS objects, handed over as the engine hands its results
/// (`edge_coupons::handoff`: one text and a list of words, built into objects by js/handoff.js).
#[wasm_bindgen]
pub fn handoff_out(n: u32) -> Result<JsValue, JsError> {
    edge_coupons::handoff::to_js(&evaluation(n)).map_err(|e| JsError::new(&e.to_string()))
}

/// A result of `n` lines as JSON text.
#[wasm_bindgen]
pub fn json_out(n: u32) -> String {
    serde_json::to_string(&evaluation(n)).unwrap_or_default()
}
