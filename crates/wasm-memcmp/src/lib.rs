//! `memcmp` for `wasm32`, comparing 8 or 4 bytes at a time.
//!
//! On `wasm32-unknown-unknown` there is no C library: `memcmp` comes from Rust's
//! `compiler_builtins`, which compares one byte per iteration (about 20 Wasm instructions a byte)
//! and is defined weak. Every `&str == &str` of equal lengths calls it, and serde's derived field
//! readers compare each key they read with the fields' names that way. The strong definition
//! below takes its place in the linked Wasm. Natively nothing is defined: the platform's C library
//! keeps its own.
//!
//! It is kept in its own crate so that `edge-coupons` stays `#![forbid(unsafe_code)]`.
#![no_std]

/// Compares `n` bytes at `a` and `b` as C's `memcmp` does: 0 when they are equal, otherwise the
/// difference of the first differing bytes, as unsigned bytes (so its sign orders them).
///
/// 8 bytes at a time (4 under 8 bytes, one at a time under 4). Words are read little-endian, so
/// the lowest set bit of `x ^ y` is in the first byte where they differ. A length that is not a
/// multiple of the word is finished by one last word that ends at `n` and overlaps bytes already
/// found equal: they cancel in `x ^ y`, so that word's first difference is still the first one.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes (any alignment).
#[inline(always)]
pub unsafe fn compare_raw(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY (both): every read below is of `at..at + 8` (or `+ 4`) with that end at most `n`.
    let word =
        |p: *const u8, at: usize| u64::from_le(unsafe { p.add(at).cast::<u64>().read_unaligned() });
    let half =
        |p: *const u8, at: usize| u32::from_le(unsafe { p.add(at).cast::<u32>().read_unaligned() });
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            let (x, y) = (word(a, i), word(b, i));
            if x != y {
                return first_difference(x, y);
            }
            i += 8;
        }
        let (x, y) = (word(a, n - 8), word(b, n - 8));
        return first_difference(x, y);
    }
    if n >= 4 {
        let (x, y) = (half(a, 0), half(b, 0));
        if x != y {
            return first_difference(x.into(), y.into());
        }
        let (x, y) = (half(a, n - 4), half(b, n - 4));
        return first_difference(x.into(), y.into());
    }
    for i in 0..n {
        // SAFETY: `i < n`.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// The difference of the first differing bytes of two little-endian words; 0 when they are equal.
#[inline(always)]
fn first_difference(x: u64, y: u64) -> i32 {
    if x == y {
        return 0;
    }
    // The lowest differing bit, rounded down to its byte's first bit.
    let shift = (x ^ y).trailing_zeros() & !7;
    ((x >> shift) & 0xff) as i32 - ((y >> shift) & 0xff) as i32
}

/// [`compare_raw`] of two slices of the same length (the safe entry, for tests).
///
/// # Panics
/// When the lengths differ.
pub fn compare(a: &[u8], b: &[u8]) -> i32 {
    assert_eq!(a.len(), b.len(), "compare takes slices of one length");
    // SAFETY: both slices hold `a.len()` bytes.
    unsafe { compare_raw(a.as_ptr(), b.as_ptr(), a.len()) }
}

/// The C library's `memcmp` on `wasm32`, strong, so it replaces `compiler_builtins`' weak one.
///
/// # Safety
/// As C's `memcmp`: `a` and `b` valid for reads of `n` bytes.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract is `compare_raw`'s.
    unsafe { compare_raw(a, b, n) }
}
