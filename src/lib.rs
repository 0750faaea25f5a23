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

pub mod cart;
pub mod codes;
pub mod de;
pub mod describe;
pub mod engine;
pub mod error;
pub mod input;
pub mod manifest;
pub mod money;
pub mod payload;
pub mod reason;
pub mod reward;
pub mod rules;
pub mod signature;
mod sort;
pub mod stacking;
pub mod text;
pub mod time;
pub mod zone;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use engine::{CodeCheck, Engine, Evaluation, TrayEntry};
pub use error::{Error, Result};
pub use manifest::Limits;
pub use reason::Reason;
pub use signature::KeySet;
