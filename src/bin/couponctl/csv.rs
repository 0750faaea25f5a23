//! A small RFC 4180 CSV reader: quoted fields (with `""` for a quote and line breaks inside),
//! CRLF, LF or a lone CR (old Mac files), a UTF-8 byte order mark skipped, and the line number
//! each record starts on, for messages.

/// One record: its fields and the line it starts on (1-based).
#[derive(Debug)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

impl Record {
    /// Whether every field is empty (a blank line).
    pub fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// Splits a CSV text into records, or says where a quote was left open.
pub fn records(text: &str) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut was_quoted = false;
    // A byte order mark (spreadsheets write one) is not part of the first cell.
    let mut chars = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .chars()
        .peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                // A lone CR ends a line in such a file, inside quotes too, for the line numbers.
                '\n' | '\r' if c == '\n' || chars.peek() != Some(&'\n') => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            // `"ABC"DEF`: a quoted field ends at its closing quote (spaces may follow).
            c if was_quoted && c != ',' && c != '\n' && c != '\r' && !c.is_whitespace() => {
                return Err(format!("line {line}: characters after a closing quote"))
            }
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                fields.push(std::mem::take(&mut field));
                out.push(Record {
                    line: start,
                    fields: std::mem::take(&mut fields),
                });
                was_quoted = false;
                line += 1;
                start = line;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "line {start}: a quoted field is not closed before the end of the file"
        ));
    }
    if !field.is_empty() || !fields.is_empty() || was_quoted {
        fields.push(field);
        out.push(Record {
            line: start,
            fields,
        });
    }
    Ok(out)
}

/// Finds the column to read: by header name (case-insensitive) when the first non-blank record
/// has a cell equal to one of `names`, else column `default` (0-based) with no header.
/// Returns (column, whether the first record is a header).
pub fn column(records: &[Record], names: &[&str], default: usize) -> (usize, bool) {
    if let Some(first) = records.iter().find(|r| !r.is_blank()) {
        for name in names {
            if let Some(i) = first
                .fields
                .iter()
                .position(|f| f.trim().eq_ignore_ascii_case(name))
            {
                return (i, true);
            }
        }
    }
    (default, false)
}

/// The column a command reads: `--column` as a number counting from 1 or as a header name; else
/// the first of `names` found in the header; else the first column. Returns (column, whether the
/// first record is a header).
pub fn pick(
    records: &[Record],
    chosen: Option<&str>,
    names: &[&str],
    path: &str,
) -> Result<(usize, bool), crate::Fail> {
    match chosen {
        None => Ok(column(records, names, 0)),
        Some(c) => match c.parse::<usize>() {
            Ok(0) => Err(crate::usage("--column N counts from 1")),
            // A first line with one of the header names in that column is a header, not data.
            Ok(n) => Ok(match column(records, names, n - 1) {
                (i, true) if i == n - 1 => (i, true),
                _ => (n - 1, false),
            }),
            Err(_) => match column(records, &[c], 0) {
                (i, true) => Ok((i, true)),
                _ => Err(crate::fail(format!(
                    "{path}: no column named `{c}` in the first line"
                ))),
            },
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn quotes_crlf_and_line_numbers() {
        let r = records("code,note\r\n\"AB,C\",\"say \"\"hi\"\"\"\n\n\"X\nY\",z\nlast").unwrap();
        assert_eq!(r[0].fields, ["code", "note"]);
        assert_eq!(r[1].fields, ["AB,C", "say \"hi\""]);
        assert!(r[2].is_blank());
        assert_eq!((r[3].line, r[3].fields[0].as_str()), (4, "X\nY"));
        assert_eq!((r[4].line, r[4].fields[0].as_str()), (6, "last"));
        assert!(records("a,\"b\n").is_err());
        assert!(records("a,b\"c\n").is_err());
        assert!(records("\"ABC\"DEF\n").is_err());
        assert_eq!(records("\"ABC\" ,x\r").unwrap()[0].fields, ["ABC ", "x"]);
        assert_eq!(records("\u{feff}a\rb").unwrap()[1].fields, ["b"]);
        assert_eq!(records("\"x\ry\"\rz").unwrap()[1].line, 3);
        assert!(records("\"A\" \"B\"\n")
            .unwrap_err()
            .contains("after a closing quote"));
    }
}
