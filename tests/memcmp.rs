//! `wasm_memcmp::compare`, the `memcmp` that replaces compiler_builtins' on wasm32, against the
//! standard library's ordering of byte slices: every length to 40, every position of a first
//! difference, bytes on both sides of 0x80 (C compares them unsigned), a second difference after
//! the first, and every alignment.
#![allow(clippy::indexing_slicing)]

use std::cmp::Ordering;

fn sign(n: i32) -> Ordering {
    n.cmp(&0)
}

/// Some bytes that are not all alike, so that words are not trivially equal.
fn filler(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(73).wrapping_add(seed * 31) % 251) as u8)
        .collect()
}

const BYTES: [u8; 6] = [0x00, 0x01, 0x41, 0x7f, 0x80, 0xff];

#[test]
fn equal_slices_compare_equal_at_every_length_and_alignment() {
    for offset in 0..8 {
        for len in 0..=40 {
            let a = filler(offset + len, len);
            let b = a.clone();
            let (a, b) = (&a[offset..], &b[offset..]);
            assert_eq!(wasm_memcmp::compare(a, b), 0, "len {len} offset {offset}");
        }
    }
}

#[test]
fn the_first_difference_decides_as_unsigned_bytes() {
    for offset in [0, 1, 3, 5] {
        for len in 1..=40 {
            for at in 0..len {
                for x in BYTES {
                    for y in BYTES {
                        let mut a = filler(offset + len, at);
                        let mut b = a.clone();
                        a[offset + at] = x;
                        b[offset + at] = y;
                        // A later difference the other way must not count.
                        if at + 1 < len {
                            a[offset + len - 1] = y;
                            b[offset + len - 1] = x;
                        }
                        let (a, b) = (&a[offset..], &b[offset..]);
                        let got = wasm_memcmp::compare(a, b);
                        assert_eq!(sign(got), a.cmp(b), "len {len} at {at} {x:#x} {y:#x}");
                        if x != y {
                            assert_eq!(got, i32::from(x) - i32::from(y), "len {len} at {at}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn names_as_serde_compares_them() {
    let names = [
        "id",
        "op",
        "name",
        "type",
        "code",
        "status",
        "reward",
        "window",
        "codes",
        "audience",
        "conditions",
        "visibility",
        "max_discount",
        "description",
        "per_user_per_month",
    ];
    for a in names {
        for b in names.iter().filter(|b| b.len() == a.len()) {
            let got = wasm_memcmp::compare(a.as_bytes(), b.as_bytes());
            assert_eq!(sign(got), a.cmp(b), "{a} {b}");
        }
    }
}

#[test]
#[should_panic(expected = "one length")]
fn slices_of_different_lengths_are_refused() {
    wasm_memcmp::compare(b"ab", b"abc");
}
