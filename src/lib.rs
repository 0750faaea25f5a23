#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::todo,
    clippy::unimplemented,
    missing_debug_implementations
)]

// The core is a pipeline, one stage per module, each importing only the stages before it and
// the shared parts below:
//   input (what a caller sends; `payload`: the signed manifest as written, checked by `signature`)
//   -> manifest (the compiled plan: coupons, rules, code index, combination rules)
//   -> engine (evaluation: `cart` checks the request against the plan, `rules` judge, `stacking`
//      chooses, `reward` prices)
//   -> result (what a caller gets back).
pub mod input;
pub mod payload;
pub mod signature;

pub mod manifest;

pub mod cart;
pub mod engine;
pub mod reward;
pub mod rules;
pub mod stacking;

pub mod result;
// The result handed to JS: one text and a list of words (js/handoff.js builds the objects).
pub mod handoff;
// A request handed in from JS the same way (js/handoff.js flattens the objects), JSON text else.
pub mod intake;

// Shared by the stages: errors and reasons, money, time and zones, codes, small helpers.
pub mod codes;
pub mod de;
pub mod describe;
pub mod error;
pub mod money;
pub mod reason;
mod sort;
pub mod text;
pub mod time;
pub mod zone;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use engine::Engine;
pub use error::{Error, Result};
pub use manifest::Limits;
pub use reason::Reason;
pub use result::{CodeCheck, Evaluation, TrayEntry};
pub use signature::KeySet;

/// The tests' random cases: a 64-bit linear congruential generator (Knuth's MMIX constants),
/// each call the next state. Deterministic, so a failing case is the same on every run.
#[cfg(test)]
pub(crate) fn lcg(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed
    }
}
