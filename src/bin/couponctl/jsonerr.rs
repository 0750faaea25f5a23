//! Where a JSON file the CLI reads breaks. couponctl's reader (json.rs: serde_json, exact
//! decimals, duplicate keys refused) decides; its refusals of a file are told as
//! `FILE:LINE:COLUMN: CODE: PATH: message`, the line and column from the byte offset it reports,
//! the field path from serde_json (through serde_path_to_error) when that refuses the text too.

use crate::json::{parse, Source};
use crate::support::core_error;
use crate::Fail;
use edge_coupons::rules::Value;
use edge_coupons::Error;
use serde_path_to_error::Segment;

/// Parses the bytes of `file` with the core.
pub fn parse_file(file: &str, bytes: &[u8], source: Source) -> Result<Value, Fail> {
    parse(bytes, source).map_err(|e| in_file(file, bytes, &e))
}

/// A core error about the JSON text of `file`. Errors that are not about the text (a field of
/// the wrong kind, with its path) keep the usual `FILE: CODE: message`.
pub fn in_file(file: &str, bytes: &[u8], e: &Error) -> Fail {
    let message = match e {
        Error::ManifestInvalid { message, .. } | Error::InvalidRequest { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    };
    let Some((text, offset)) = split_offset(&message) else {
        return core_error(file, e);
    };
    let (line, column) = line_column(bytes, offset);
    let path = e
        .path()
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .or_else(|| path_of_syntax_error(bytes));
    let at = path.map(|p| format!("{p}: ")).unwrap_or_default();
    crate::fail(format!("{file}:{line}:{column}: {}: {at}{text}", e.code()))
}

/// `"message (at byte N)"` -> ("message", N): how the core's JSON reader says where it stopped.
fn split_offset(message: &str) -> Option<(&str, usize)> {
    let (text, rest) = message.rsplit_once(" (at byte ")?;
    let n = rest.strip_suffix(')')?.parse().ok()?;
    Some((text, n))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + String::from_utf8_lossy(before.get(line_start..).unwrap_or(&[]))
        .chars()
        .count();
    (line, column)
}

/// The field path at which serde_json stops reading the text (`coupons[2].reward.percent`), if
/// it does stop and is inside a field.
fn path_of_syntax_error(bytes: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = serde_path_to_error::deserialize::<_, serde_json::Value>(&mut de).err()?;
    let mut path = String::new();
    for segment in err.path().iter() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            // Where serde_json stopped before naming the next field.
            Segment::Unknown => break,
        }
    }
    (!path.is_empty()).then_some(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_is_told_by_line_column_and_field_path() {
        let text = b"{\n  \"coupons\": [\n    {\"id\": \"a\"},\n    {\"reward\": {\"percent\": 1.}}\n  ]\n}\n";
        let f = parse_file("shop.json", text, Source::Manifest).unwrap_err();
        assert_eq!(
            f.message,
            "shop.json:4:30: MANIFEST_INVALID: coupons[1].reward.percent: not valid JSON: invalid number"
        );
    }

    #[test]
    fn a_duplicate_key_has_its_line_and_column() {
        let text = b"{\"a\": 1,\n \"a\": 2}";
        let f = parse_file("x.json", text, Source::Request).unwrap_err();
        assert!(
            f.message.starts_with("x.json:2:8: INVALID_REQUEST: "),
            "{}",
            f.message
        );
        assert!(f.message.contains("`a` appears twice"), "{}", f.message);
    }
}
