//! Small string helpers that keep the Wasm small: the standard library's versions bring large
//! generic or unrolled code (docs/development.md, "Keeping the Wasm small").

/// Items joined with `sep`: `[T]::join` would bring its own generic copy (1 KB of Wasm).
pub fn join<S: AsRef<str>>(items: impl Iterator<Item = S>, sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item.as_ref());
    }
    out
}

/// The characters in `s` (its bytes that do not continue a UTF-8 sequence), by a plain loop:
/// `chars().count()` brings a large unrolled counter.
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}
