//! Any bytes as a manifest payload: an error or a manifest, never a panic.
#![no_main]
use edge_coupons::manifest::{Limits, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data, &Limits::default());
});
