//! Small serde helpers shared by the typed readers (requests, the manifest's payload, its rules and
//! zones).

use crate::error::join_path;
use serde::de::Visitor;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// A field that may be missing, `null` or a value: `None`, `Some(None)`, `Some(Some(v))`. With
/// `#[serde(default, deserialize_with = "present")]`. A tagged object (`{"type": ...}`) takes only
/// its kind's fields, and a field it does not take is refused even when it is `null`, as it always
/// was; everywhere else `null` is a missing field.
pub type Field<T> = Option<Option<T>>;

/// Reads a [`Field`] that is there (serde leaves a missing one at its default, `None`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Field<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A string of the manifest's payload, borrowed from the payload's text when it has no escape (nearly
/// every one), owned otherwise: reading a manifest allocates no copy of its type names, codes and
/// amounts, only of what the model keeps. Reads exactly what a `String` reads, with the same
/// messages ("expected a string").
#[derive(Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The string, as the model keeps it (copied only when it was borrowed).
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text<'_>> for str {
    fn eq(&self, other: &Text<'_>) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Text<'_>> for &str {
    fn eq(&self, other: &Text<'_>) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Text<'_>> for String {
    fn eq(&self, other: &Text<'_>) -> bool {
        **self == *other.0
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V).map(Text)
    }
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

/// Where serde_json stopped when it refused `bytes`: the path of the containers open there and,
/// apart, the innermost one's current field (with `true`) or item, when a value of it was under
/// way. A field found missing (once the object's `}` is read) is located in its object. This names
/// a refusal's field without a second, path-tracking copy of every derived reader
/// (serde_path_to_error: 32 KB of gzipped Wasm for the manifest, 36 KB for requests).
///
/// A value refused once read whole (a limit of -1, by a reader of our own) is reported one byte
/// past it: when that byte closes its container (`,` `}` `]` right after a string, a number,
/// `true`, `false` or `null`), the field is the value's.
pub fn located(bytes: &[u8], e: &serde_json::Error) -> (String, Option<(String, bool)>) {
    let mut offset = offset_of(bytes, e);
    let before = |n: usize| offset.checked_sub(n).and_then(|at| bytes.get(at)).copied();
    let missing = before(1) == Some(b'}') && e.to_string().starts_with("missing field");
    let after_value = matches!(before(1), Some(b',' | b'}' | b']'))
        && matches!(before(2), Some(b'"' | b'0'..=b'9' | b'e' | b'l'));
    if missing || (after_value && e.classify() == serde_json::error::Category::Data) {
        offset -= 1;
    }
    path_at(bytes, offset)
}

/// The path of the value being read at byte `offset` of JSON text that parses: the containers
/// open there, and apart, the last one's current field (with `true`) or item, if it has one.
#[inline(never)]
fn path_at(bytes: &[u8], offset: usize) -> (String, Option<(String, bool)>) {
    // (key or index, whether a value is under way or just read)
    let mut stack: Vec<(String, bool, bool)> = Vec::new();
    let mut i = 0;
    while i < offset {
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'{' | b'[' => {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
                stack.push((
                    if b == b'[' {
                        "[0]".into()
                    } else {
                        String::new()
                    },
                    b == b'[',
                    b == b'[',
                ));
            }
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    if top.1 {
                        let n = top.0.trim_matches(['[', ']']).parse::<usize>().unwrap_or(0);
                        top.0 = format!("[{}]", n + 1);
                    } else {
                        top.0.clear();
                        top.2 = false;
                    }
                }
            }
            b'"' => {
                let start = i + 1;
                i = start;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if let Some(top) = stack.last_mut() {
                    if !top.1 && !top.2 {
                        top.0 = String::from_utf8_lossy(bytes.get(start..i).unwrap_or_default())
                            .into_owned();
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    let last = stack
        .pop()
        .filter(|top| top.2)
        .map(|(segment, list, _)| (segment, !list));
    let path = stack.iter().fold(String::new(), |p, s| join_path(&p, &s.0));
    (path, last)
}

/// The largest integer every JSON reader holds exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Gives each type a `Deserialize` that reads only a JSON object, around the one derived with
/// `#[serde(remote = "Self")]`: a derived struct alone also reads a list as its fields in order
/// (`"limits": [1]` would be `per_user: 1`), which the manifest never allowed.
macro_rules! objects {
    // Types that borrow from the text they are read from (`Text<'a>`): `<'a> Type<'a>, ...`.
    (<$l:lifetime> $($t:ty),* $(,)?) => {$(
        impl<'de: $l, $l> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Only<$l>(std::marker::PhantomData<&$l ()>);
                impl<'de: $l, $l> serde::de::Visitor<'de> for Only<$l> {
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
                d.deserialize_map(Only(std::marker::PhantomData))
            }
        }
    )*};
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
