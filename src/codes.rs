//! Coupon codes: the one normalisation rule, and the hash that keeps hidden codes unlistable.
//!
//! **Normalisation:** full-width forms become ASCII (`ＳＡＶＥ` is `SAVE`); white space, hyphens and
//! dashes of every kind, underscores, and zero-width characters are removed; letters are upper-cased.
//! What is left must be ASCII letters and digits only, 1 to 64 of them. Anything else (accents,
//! Cyrillic or Greek look-alikes, emoji) makes the code invalid rather than silently matching
//! another code.

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha512_256};

/// The longest code, after normalisation.
pub const MAX_CODE_LEN: usize = 64;

fn is_ignored(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '_' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' | '\u{FF3F}'
                | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        )
}

/// The characters that change the direction of the text around them (Unicode's bidi controls).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Normalises a code as typed; `path` names it in the error.
pub fn normalize(raw: &str, path: &str) -> Result<String> {
    let bad = |message: String| Error::CodeInvalid {
        path: path.to_string(),
        message,
    };
    if raw.len() > MAX_CODE_LEN * 8 {
        return Err(Box::new(bad(format!(
            "the code is {} bytes long; codes have at most {MAX_CODE_LEN} characters",
            raw.len()
        ))));
    }
    // Nearly every code is written as plain ASCII letters and digits: the loop below would keep
    // each of them, upper-cased, so that is done without going character by character.
    if (1..=MAX_CODE_LEN).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(raw.to_ascii_uppercase());
    }
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.chars().enumerate() {
        if is_ignored(c) {
            continue;
        }
        // Full-width ASCII (U+FF01..U+FF5E) maps to ASCII by a fixed offset.
        let c = match u32::from(c) {
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if !c.is_ascii_alphanumeric() {
            return Err(Box::new(bad(format!(
                "character {} (U+{:04X}) at position {} cannot be part of a code; codes are letters A-Z and digits",
                // A control or a bidi character is named by number only: shown, it would hide
                // or reverse the message around it.
                if c.is_control() || is_bidi_control(c) { ' ' } else { c },
                u32::from(c),
                i + 1
            ))));
        }
        out.push(c.to_ascii_uppercase());
    }
    if out.is_empty() {
        return Err(Box::new(bad("the code is empty".into())));
    }
    if out.len() > MAX_CODE_LEN {
        return Err(Box::new(bad(format!(
            "the code has {} characters; at most {MAX_CODE_LEN}",
            out.len()
        ))));
    }
    Ok(out)
}

/// The hash a manifest stores instead of a hidden code: base64url (no padding, 43 characters) of
/// SHA-512/256(`"coupon-code:v1:" + manifest id + ":" + normalised code`). The manifest id salts
/// it, so a table built for one manifest is useless for another. A short code can still be guessed
/// from its hash by trying candidates; hidden codes that must resist that need length (see docs).
///
/// SHA-512/256 (FIPS 180-4: SHA-512 with other initial values, cut to 256 bits), not SHA-256,
/// because it runs on the SHA-512 compression function that Ed25519 verification already needs,
/// so the Wasm build carries one SHA-2 core instead of two.
pub fn hash_code(manifest_id: &str, normalized: &str) -> String {
    let mut h = Sha512_256::new();
    h.update(b"coupon-code:v1:");
    h.update(manifest_id.as_bytes());
    h.update(b":");
    h.update(normalized.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// The default alphabet of generated bulk codes: 32 characters, digits 2-9 and letters without
/// `I` and `O`, so nothing is read as `1` or `0` (which are left out too).
pub const DEFAULT_ALPHABET: &str = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The check character scheme, Damm-style: a fold of the characters (as their positions in the
/// alphabet) through a totally anti-symmetric quasigroup, `x * y = a*x + y` in the field of `n`
/// elements (`n` a prime from 3 to 31, `a = 2`; or `n` 4, 8, 16 or 32, `a = x` in GF(2^k)). The
/// check character brings the fold to 0. Because every step is a bijection in both arguments it
/// catches any single changed character; because `(c*x)*y = (c*y)*x` only when `x = y` it catches
/// any swap of two neighbours, the check character included. `None` for another alphabet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckScheme {
    n: u8,
    /// The irreducible polynomial of GF(2^k), or 0 for a prime field.
    poly: u8,
}

impl CheckScheme {
    /// The scheme for an alphabet of `n` characters, if there is one.
    pub fn for_size(n: usize) -> Option<CheckScheme> {
        let poly = match n {
            4 => 0b111,
            8 => 0b1011,
            16 => 0b10011,
            32 => 0b100101,
            3 | 5 | 7 | 11 | 13 | 17 | 19 | 23 | 29 | 31 => 0,
            _ => return None,
        };
        Some(CheckScheme { n: n as u8, poly })
    }

    /// `x * y`, for `x, y < n`.
    pub fn op(self, x: u8, y: u8) -> u8 {
        if self.poly == 0 {
            ((u16::from(x) * 2 + u16::from(y)) % u16::from(self.n)) as u8
        } else {
            let mut ax = u16::from(x) << 1;
            if ax >= u16::from(self.n) {
                ax ^= u16::from(self.poly);
            }
            (ax as u8) ^ y
        }
    }

    /// The digit `c` with `state * c = 0`.
    fn closing(self, state: u8) -> u8 {
        (0..self.n).find(|&c| self.op(state, c) == 0).unwrap_or(0)
    }
}

fn fold(digits: &[u8], alphabet: &[u8], scheme: CheckScheme) -> Option<u8> {
    digits.iter().try_fold(0u8, |state, d| {
        let x = alphabet.iter().position(|a| a == d)?;
        Some(scheme.op(state, x as u8))
    })
}

/// The check character for `body` (characters of `alphabet`), or `None` when `body` has a character
/// outside the alphabet or the alphabet's size has no scheme ([`CheckScheme::for_size`]).
pub fn check_char(body: &str, alphabet: &str) -> Option<char> {
    let scheme = CheckScheme::for_size(alphabet.len())?;
    let state = fold(body.as_bytes(), alphabet.as_bytes(), scheme)?;
    alphabet
        .as_bytes()
        .get(usize::from(scheme.closing(state)))
        .map(|&b| char::from(b))
}

/// Whether `code` (normalised, its last character the check character) holds: every character in
/// `alphabet` and the fold comes to 0. A typo or a swap of neighbours fails; a guess still passes
/// one time in `n`, so this tells a typo from a real code, not a real code from a guess.
pub fn check_ok(code: &str, alphabet: &str) -> bool {
    match CheckScheme::for_size(alphabet.len()) {
        Some(scheme) => {
            !code.is_empty() && fold(code.as_bytes(), alphabet.as_bytes(), scheme) == Some(0)
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    #[test]
    fn a_bidi_control_is_named_by_number_not_shown() {
        // Shown, U+202E would reverse the rest of the message where it is displayed.
        let e = normalize("AB\u{202E}CD", "code").unwrap_err().to_string();
        assert!(e.contains("(U+202E) at position 3"), "{e}");
        assert!(!e.contains('\u{202E}'), "{e}");
    }

    use super::*;

    #[test]
    fn one_rule_for_case_spaces_and_hyphens() {
        for raw in [
            "save-10",
            " SAVE 10 ",
            "Save_10",
            "ＳＡＶＥ１０",
            "SA\u{200B}VE10",
            "save\u{2013}10",
        ] {
            assert_eq!(normalize(raw, "c").unwrap(), "SAVE10", "{raw:?}");
        }
    }

    #[test]
    fn look_alikes_and_junk_are_invalid() {
        for raw in [
            "SАVE10",
            "café",
            "",
            " - ",
            "SAVE!",
            &"A".repeat(65),
            &"\u{200B}".repeat(1000),
        ] {
            assert_eq!(
                normalize(raw, "c").unwrap_err().code(),
                "CODE_INVALID",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn plain_ascii_codes_are_upper_cased_up_to_the_limit() {
        for raw in [
            "save10",
            "SAVE10",
            "x",
            "9",
            "aZ09",
            &"a".repeat(MAX_CODE_LEN),
        ] {
            assert_eq!(normalize(raw, "c").unwrap(), raw.to_uppercase(), "{raw:?}");
        }
        assert_eq!(
            normalize(&"a".repeat(MAX_CODE_LEN + 1), "c")
                .unwrap_err()
                .to_string(),
            normalize(&"a-".repeat(MAX_CODE_LEN + 1), "c")
                .unwrap_err()
                .to_string(),
        );
    }

    #[test]
    fn hashes_are_salted_by_manifest() {
        assert_ne!(hash_code("m1", "SAVE10"), hash_code("m2", "SAVE10"));
        assert_eq!(hash_code("m1", "SAVE10").len(), 43);
    }

    #[test]
    fn hash_is_sha512_256_in_base64url() {
        // The values in docs/manifest.md and tests/vectors; also
        // `hashlib.new("sha512_256", b"coupon-code:v1:shop-docs:FRIENDS8Q2M7")` and node's
        // `createHash("sha512-256")`. SHA-256 would give `4HLNc7T_CTUlSuHbWJ-6AqaWXV63jGE5mQFmTbX1uzU`.
        assert_eq!(
            hash_code("shop-docs", "FRIENDS8Q2M7"),
            "PHzpehyypdDEegjg8MipwS1NTlVVQLxUpA7zVENCqzg"
        );
        assert_eq!(
            hash_code("shop-1", "VIP20"),
            "aKj3TS276ElSiQvAI8z8MGYQiWbuN9dxDVYtgDokYSo"
        );
    }

    #[test]
    fn check_schemes_are_totally_anti_symmetric_quasigroups() {
        // Exhaustive over every supported size: rows and columns are permutations (so one changed
        // character always changes the fold), and (c*x)*y == (c*y)*x only when x == y (so a swap
        // of neighbours always does).
        let sizes: Vec<usize> = (1..=64)
            .filter(|&n| CheckScheme::for_size(n).is_some())
            .collect();
        assert_eq!(sizes, [3, 4, 5, 7, 8, 11, 13, 16, 17, 19, 23, 29, 31, 32]);
        for n in sizes {
            let s = CheckScheme::for_size(n).unwrap();
            let n = n as u8;
            for x in 0..n {
                let mut row: Vec<u8> = (0..n).map(|y| s.op(x, y)).collect();
                let mut col: Vec<u8> = (0..n).map(|y| s.op(y, x)).collect();
                row.sort_unstable();
                col.sort_unstable();
                assert_eq!(row, (0..n).collect::<Vec<_>>(), "n={n} row {x}");
                assert_eq!(col, (0..n).collect::<Vec<_>>(), "n={n} column {x}");
            }
            for c in 0..n {
                for x in 0..n {
                    for y in 0..n {
                        if x != y {
                            assert_ne!(s.op(s.op(c, x), y), s.op(s.op(c, y), x), "n={n}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn check_char_catches_every_typo_and_every_neighbour_swap() {
        // Every 3-character body over the default alphabet, with its check character: each of the
        // 4 * 31 single substitutions and 3 neighbour swaps (when the two differ) is refused.
        let a = DEFAULT_ALPHABET.as_bytes();
        let mut checked = 0u64;
        for &x in a {
            for &y in a {
                for &z in a {
                    let body = String::from_utf8(vec![x, y, z]).unwrap();
                    let code = format!("{body}{}", check_char(&body, DEFAULT_ALPHABET).unwrap());
                    assert!(check_ok(&code, DEFAULT_ALPHABET), "{code}");
                    let bytes = code.as_bytes();
                    for i in 0..bytes.len() {
                        for &other in a {
                            let mut typo = bytes.to_vec();
                            if typo[i] == other {
                                continue;
                            }
                            typo[i] = other;
                            assert!(!check_ok(
                                std::str::from_utf8(&typo).unwrap(),
                                DEFAULT_ALPHABET
                            ));
                            checked += 1;
                        }
                        if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                            let mut swap = bytes.to_vec();
                            swap.swap(i, i + 1);
                            assert!(!check_ok(
                                std::str::from_utf8(&swap).unwrap(),
                                DEFAULT_ALPHABET
                            ));
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 4_000_000);
        assert!(!check_ok("", DEFAULT_ALPHABET));
        assert!(
            !check_ok("ABC0", DEFAULT_ALPHABET),
            "0 is not in the alphabet"
        );
        assert_eq!(check_char("AB", "ABCDEF"), None, "no scheme for 6");
    }
}
