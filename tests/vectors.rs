//! Plays every shared vector in tests/vectors/ natively. A vector that cannot be read fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;

fn run(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| v.get(k).ok_or_else(|| format!("vector has no `{k}`"));
    let now = field("now")?.as_str().ok_or("`now` is not a string")?;
    let op = field("op")?.as_str().ok_or("`op` is not a string")?;
    let expect = field("expect")?;
    field("description")?;
    if !["load", "evaluate", "tray", "checkCode", "distribute"].contains(&op) {
        return Err(format!("unknown op `{op}`"));
    }
    // What tests/node/helpers.mjs `readVector` checks too.
    if expect
        .get("path")
        .is_some_and(|p| !p.is_string() || expect.get("error").is_none())
    {
        return Err("`expect.path` is a string beside `expect.error`".into());
    }
    let input_text = v.get("input_text").map(piece_text).transpose()?;
    if input_text.is_some() && (op != "evaluate" || v.get("input").is_some()) {
        return Err("`input_text` is an evaluate's whole input".into());
    }
    let input = if op == "load" || input_text.is_some() {
        &Value::Null
    } else {
        field("input")?
    };
    let jws = jws(&v)?;
    let outcome = common::limits(v.get("limits"))
        .and_then(|limits| common::load_jws(&jws, now, limits))
        .and_then(|engine| match input_text {
            _ if op == "load" => Ok(Value::Null),
            Some(t) => {
                let request = edge_coupons::input::from_json(&t)?;
                Ok(common::handoff::to_value(engine.evaluate(&request)?).unwrap())
            }
            None => common::play(&engine, op, input, now),
        });
    common::judge(op, outcome, expect)
}

/// A vector's text: a string, or a list of strings and `{ "repeat", "times" }` pieces.
fn piece_text(t: &Value) -> Result<String, String> {
    let piece = |p: &Value| match (p.as_str(), &p["repeat"], p["times"].as_u64()) {
        (Some(s), _, _) => Ok(s.to_string()),
        (None, Value::String(s), Some(n)) => Ok(s.repeat(n as usize)),
        _ => Err(format!(
            "a text piece is a string or {{ repeat, times }}: {p}"
        )),
    };
    match t {
        Value::Array(pieces) => pieces.iter().map(piece).collect(),
        t => piece(t),
    }
}

/// The vector's JWS: its manifest signed with the test key, then the header or signature
/// replaced where `jws` says; or the whole JWS given as `jws.text`.
fn jws(v: &Value) -> Result<String, String> {
    use base64::Engine as _;
    let Some(given) = v.get("jws") else {
        return Ok(common::sign(&v["manifest"]));
    };
    if let Some(t) = given.get("text") {
        return match given.as_object().map(|o| o.len()) {
            Some(1) => piece_text(t),
            _ => Err("`jws.text` is the whole JWS, alone".into()),
        };
    }
    let signed = common::sign(&v["manifest"]);
    let parts: Vec<&str> = signed.split('.').collect();
    let header = match given.get("header") {
        Some(h) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(piece_text(h)?),
        None => parts[0].to_string(),
    };
    let signature = match given.get("signature") {
        Some(s) => s.as_str().ok_or("`jws.signature` is a string")?,
        None => parts[2],
    };
    Ok(format!("{header}.{}.{signature}", parts[1]))
}

#[test]
fn every_vector_passes() {
    let dir = common::root().join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| {
            run(p)
                .err()
                .map(|e| format!("{}: {e}", p.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    println!("{} vectors, {} failed", files.len(), failures.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
