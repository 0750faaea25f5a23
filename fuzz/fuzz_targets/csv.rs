//! Any text as a CSV for `couponctl codes import` and `couponctl assign`: records or a clear
//! error, never a panic; record lines go up; the column chosen by header or number is read without
//! going out of bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/bin/couponctl/csv.rs"]
mod csv;

/// The two items of the CLI's crate root that csv.rs names.
pub struct Fail(#[allow(dead_code)] String);
pub fn fail(message: impl Into<String>) -> Fail {
    Fail(message.into())
}
pub fn usage(message: impl Into<String>) -> Fail {
    Fail(message.into())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(records) = csv::records(text) else {
        return;
    };
    let mut last = 0;
    for r in &records {
        assert!(r.line > last, "record lines go up: {} after {last}", r.line);
        last = r.line;
    }
    for chosen in [None, Some("code"), Some("2")] {
        if let Ok((col, header)) = csv::pick(&records, chosen, &["code", "user_id"], "f.csv") {
            for r in records.iter().skip(usize::from(header)) {
                if let Some(cell) = r.fields.get(col) {
                    let _ = edge_coupons::codes::normalize(cell, "code");
                }
            }
        }
    }
});
