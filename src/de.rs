//! Small serde helpers shared by the typed readers (the manifest's payload, its rules and zones).

use serde::{Deserialize, Deserializer};

/// A field that may be missing, `null` or a value: `None`, `Some(None)`, `Some(Some(v))`. With
/// `#[serde(default, deserialize_with = "present")]`. A tagged object (`{"type": ...}`) takes only
/// its kind's fields, and a field it does not take is refused even when it is `null`, as it always
/// was; everywhere else `null` is a missing field.
pub type Field<T> = Option<Option<T>>;

/// Reads a [`Field`] that is there (serde leaves a missing one at its default, `None`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Field<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The byte offset of serde_json's line and column in `bytes` (where it stopped reading).
pub fn offset_of(bytes: &[u8], e: &serde_json::Error) -> usize {
    let line_start = (1..e.line()).fold(0, |at, _| {
        bytes
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(bytes.len(), |n| at + n + 1)
    });
    line_start + e.column()
}

/// serde_json's message without its ` at line L column C`.
pub fn message_of(e: &serde_json::Error) -> String {
    let mut message = e.to_string();
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    message
}

/// The largest integer every JSON reader holds exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Gives each type a `Deserialize` that reads only a JSON object, around the one derived with
/// `#[serde(remote = "Self")]`: a derived struct alone also reads a list as its fields in order
/// (`"limits": [1]` would be `per_user: 1`), which the manifest never allowed.
macro_rules! objects {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Only;
                impl<'de> serde::de::Visitor<'de> for Only {
                    type Value = $t;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$t, A::Error> {
                        <$t>::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                d.deserialize_map(Only)
            }
        }
    )*};
}
pub(crate) use objects;
