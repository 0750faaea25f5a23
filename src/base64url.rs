//! Base64url without padding (RFC 4648 §5), the only form the engine reads and writes: JWS parts,
//! JWK `x` members and hidden-code hashes. Written here rather than taken from the `base64` crate
//! so that the Wasm build carries only these few lines.
//!
//! Decoding is strict, as the `base64` crate's `URL_SAFE_NO_PAD` engine is: only `A-Z a-z 0-9 - _`,
//! no `=` padding, no white space, no length that no byte string encodes to (`len % 4 == 1`), and
//! the unused low bits of the last character must be zero, so each byte string has exactly one
//! encoding.

/// The character for a 6-bit value (only the low 6 bits of `v` are used).
fn symbol(v: u32) -> char {
    let v = (v & 63) as u8;
    char::from(match v {
        0..=25 => b'A' + v,
        26..=51 => b'a' + (v - 26),
        52..=61 => b'0' + (v - 52),
        62 => b'-',
        _ => b'_',
    })
}

/// The 6-bit value of a character, or `None` outside the base64url alphabet.
fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Encodes bytes as base64url, without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        // The chunk's bytes, left-aligned in 24 bits.
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= u32::from(b) << (16 - 8 * i);
        }
        // 1, 2 or 3 bytes need 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            out.push(symbol(acc >> (18 - 6 * i)));
        }
    }
    out
}

/// Decodes base64url without padding; `None` for anything that is not the canonical encoding of
/// some bytes.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        match chunk.len() {
            4 => {
                out.push((acc >> 16) as u8);
                out.push((acc >> 8) as u8);
                out.push(acc as u8);
            }
            // 18 bits carry 2 bytes; the low 2 bits must be zero.
            3 if acc & 0b11 == 0 => {
                out.push((acc >> 10) as u8);
                out.push((acc >> 2) as u8);
            }
            // 12 bits carry 1 byte; the low 4 bits must be zero.
            2 if acc & 0b1111 == 0 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    /// RFC 4648 §10, with the padding removed (§5 with §3.2).
    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(encode(plain.as_bytes()), encoded, "{plain:?}");
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes(), "{encoded:?}");
        }
    }

    #[test]
    fn url_safe_alphabet() {
        // Bytes whose standard encoding uses `+` and `/`.
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(decode("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
        let all: Vec<u8> = (0..=255u8).collect();
        let text = encode(&all);
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars() {
            assert!(text.contains(c), "{c}");
        }
    }

    #[test]
    fn round_trips() {
        let all: Vec<u8> = (0..=255u8).collect();
        for start in 0..all.len() {
            for len in 0..=(all.len() - start).min(70) {
                let bytes = &all[start..start + len];
                let text = encode(bytes);
                assert_eq!(text.len(), (len * 4).div_ceil(3));
                assert_eq!(decode(&text).unwrap(), bytes);
            }
        }
        // An Ed25519 key, a signature and a SHA-512/256 hash: 43, 86 and 43 characters.
        for len in [32, 64] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(&[0; 32]).len(), 43);
        assert_eq!(encode(&[0; 64]).len(), 86);
    }

    #[test]
    fn padding_is_refused() {
        for s in ["Zg==", "Zg=", "Zm8=", "Zm9v====", "=", "==", "===", "===="] {
            assert_eq!(decode(s), None, "{s:?}");
        }
    }

    #[test]
    fn other_characters_are_refused() {
        for s in [
            "Zm9+",
            "Zm9/",
            "Zm9v Yg",
            " Zm9v",
            "Zm9v\n",
            "Zm9v\t",
            "Zm.v",
            "Zm9v*A",
            "Zm\0v",
            "Zé9v",
            "Ｚm9v",
            "Zm9v\u{200B}",
        ] {
            assert_eq!(decode(s), None, "{s:?}");
        }
        // Every byte outside the alphabet, in every position of a 4-character group.
        for b in 0..=127u8 {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                continue;
            }
            for pos in 0..4 {
                let mut s = *b"AAAA";
                s[pos] = b;
                let s = String::from_utf8(s.to_vec()).unwrap();
                assert_eq!(decode(&s), None, "{s:?}");
            }
        }
    }

    #[test]
    fn impossible_lengths_are_refused() {
        for s in ["A", "AAAAA", "Zm9vY", "Zm9vYmFyZ", &"A".repeat(4001)] {
            assert_eq!(decode(s), None, "{s:?}");
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // "Zg" is "f"; "Zh".."Zv" differ only in the 4 unused bits.
        for s in ["Zh", "Zi", "Zv", "Z_", "AB", "AP"] {
            assert_eq!(decode(s), None, "{s:?}");
        }
        // "Zm8" is "fo"; "Zm9".."Zm_" differ only in the 2 unused bits.
        for s in ["Zm9", "Zm-", "Zm_", "AAB", "AAD"] {
            assert_eq!(decode(s), None, "{s:?}");
        }
        assert_eq!(decode("AQ").unwrap(), [1]);
        assert_eq!(decode("AAE").unwrap(), [0, 1]);
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn agrees_with_the_base64_crate() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        // Mostly the alphabet, so that many strings decode; sometimes a character it refuses.
        let chars: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            .chars()
            .collect();
        let odd = ['=', '+', '/', ' ', '\n', '.', 'é', '\0', '\u{FF21}'];
        let mut decoded_ok = 0;
        for _ in 0..100_000 {
            let bytes: Vec<u8> = (0..rng.below(100)).map(|_| rng.next() as u8).collect();
            let ours = encode(&bytes);
            assert_eq!(ours, URL_SAFE_NO_PAD.encode(&bytes), "{bytes:?}");
            assert_eq!(decode(&ours).unwrap(), bytes);

            let len = rng.below(40);
            let text: String = (0..len)
                .map(|_| {
                    if rng.below(50) == 0 {
                        odd[rng.below(odd.len())]
                    } else {
                        chars[rng.below(chars.len())]
                    }
                })
                .collect();
            let theirs = URL_SAFE_NO_PAD.decode(&text).ok();
            assert_eq!(decode(&text), theirs, "{text:?}");
            decoded_ok += usize::from(theirs.is_some());

            // A valid encoding with one character changed or one dropped.
            if !ours.is_empty() {
                let mut changed: Vec<char> = ours.chars().collect();
                let at = rng.below(changed.len());
                changed[at] = if rng.below(4) == 0 {
                    odd[rng.below(odd.len())]
                } else {
                    chars[rng.below(chars.len())]
                };
                let changed: String = changed.into_iter().collect();
                assert_eq!(
                    decode(&changed),
                    URL_SAFE_NO_PAD.decode(&changed).ok(),
                    "{changed:?}"
                );
                let dropped = format!("{}{}", &ours[..at], &ours[at + 1..]);
                assert_eq!(
                    decode(&dropped),
                    URL_SAFE_NO_PAD.decode(&dropped).ok(),
                    "{dropped:?}"
                );
            }
        }
        // The random strings exercised both outcomes.
        assert!(decoded_ok > 1_000, "{decoded_ok}");
    }
}
