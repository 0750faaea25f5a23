//! Coupon codes: the one normalisation rule, and the hash that keeps hidden codes unlistable.
//!
//! **Normalisation:** full-width forms become ASCII (`ＳＡＶＥ` is `SAVE`); white space, hyphens and
//! dashes of every kind, underscores, and zero-width characters are removed; letters are upper-cased.
//! What is left must be ASCII letters and digits only, 1 to 64 of them. Anything else (accents,
//! Cyrillic or Greek look-alikes, emoji) makes the code invalid rather than silently matching
//! another code.

use crate::error::{Error, Result};
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

/// Normalises a code as typed; `path` names it in the error.
pub fn normalize(raw: &str, path: &str) -> Result<String> {
    let bad = |message: String| Error::CodeInvalid {
        path: path.to_string(),
        message,
    };
    if raw.len() > MAX_CODE_LEN * 8 {
        return Err(bad(format!(
            "the code is {} bytes long; codes have at most {MAX_CODE_LEN} characters",
            raw.len()
        )));
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
            return Err(bad(format!(
                "character {} (U+{:04X}) at position {} cannot be part of a code; codes are letters A-Z and digits",
                if c.is_control() { ' ' } else { c },
                u32::from(c),
                i + 1
            )));
        }
        out.push(c.to_ascii_uppercase());
    }
    if out.is_empty() {
        return Err(bad("the code is empty".into()));
    }
    if out.len() > MAX_CODE_LEN {
        return Err(bad(format!(
            "the code has {} characters; at most {MAX_CODE_LEN}",
            out.len()
        )));
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
    crate::base64url::encode(&h.finalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
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
}
