//! Any text as a typed code: normalised or refused, and the check-character test, never a panic.
#![no_main]
use edge_coupons::codes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(code) = codes::normalize(text, "code") {
            let _ = codes::check_ok(&code, codes::DEFAULT_ALPHABET);
            let _ = codes::hash_code("m", &code);
        }
    }
});
