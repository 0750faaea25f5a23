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
    let input = if op == "load" {
        &Value::Null
    } else {
        field("input")?
    };
    let outcome = common::load(field("manifest")?, now, v.get("limits")).and_then(|engine| {
        if op == "load" {
            Ok(Value::Null)
        } else {
            common::play(&engine, op, input, now)
        }
    });
    common::judge(op, outcome, expect)
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
