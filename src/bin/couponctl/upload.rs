//! `upload`: a CSV of codes of any size to the Worker's admin route, in requests of 500 rows (the
//! Worker's cap per request, docs/worker.md), with a progress bar.

use crate::support;
use crate::{fail, usage, Out};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Rows a request: the Worker refuses more (a Worker invocation may make 1,000 KV operations).
pub const CHUNK_ROWS: usize = 500;

/// Send a CSV of codes to the Worker (POST /admin/coupons/{id}/codes), 500 rows a request
///
/// The codes column is read as `codes import` reads it (the header cell `code`, `codes` or
/// `coupon_code`, or --column; without a header, column 1). Each chunk of at most 500 rows is one
/// request, sent as CSV; a progress bar shows on standard error. The Worker checks every code
/// against the coupon. A chunk it refuses (422 INVALID_CODES) stores none of its rows: they are
/// listed with their line numbers in the file, the next chunks are still sent, and the exit
/// status is 1. Chunks already stored stay stored: fix the rows and upload the file again (a code
/// stored twice is one code). Any other answer (a wrong token, an unknown coupon) stops the
/// upload. The admin token comes from --token-file, else the ADMIN_TOKEN environment variable.
#[derive(Args, Debug)]
pub struct Upload {
    /// The Worker's address, such as https://coupons.example.workers.dev or http://127.0.0.1:8787
    #[arg(long, value_name = "URL")]
    worker: String,
    /// The coupon the codes are for (a bulk-code coupon of the published manifest)
    #[arg(long, value_name = "ID")]
    coupon: String,
    /// A file holding the admin token (default: the ADMIN_TOKEN environment variable)
    #[arg(long, value_name = "FILE")]
    token_file: Option<String>,
    /// Add the codes to the coupon's code pool too, for events (`?pool=true`)
    #[arg(long)]
    pool: bool,
    /// The codes column: a header name, or a number counting from 1
    #[arg(long, value_name = "NAME|N")]
    column: Option<String>,
    /// The CSV of codes
    #[arg(value_name = "CODES.csv")]
    csv: String,
}

fn token(a: &Upload) -> Out<String> {
    let (token, from) = match &a.token_file {
        Some(p) => (support::read_text(p)?, p.as_str()),
        None => (
            std::env::var("ADMIN_TOKEN").map_err(|_| {
                usage("give --token-file FILE, or set ADMIN_TOKEN, with the Worker's admin token")
            })?,
            "ADMIN_TOKEN",
        ),
    };
    let token = token.trim().to_string();
    if token.is_empty() || token.chars().any(char::is_control) {
        return Err(fail(format!(
            "{from}: not an admin token (empty, or more than one line)"
        )));
    }
    Ok(token)
}

/// `{worker}/admin/coupons/{id}/codes[?pool=true]`, the id percent-encoded.
fn endpoint(worker: &str, coupon: &str, pool: bool) -> Out<String> {
    let base = worker.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(usage(format!(
            "--worker takes an http:// or https:// address, not `{worker}`"
        )));
    }
    // The path is appended to it: a query or fragment would swallow the path.
    if base.contains(['?', '#']) {
        return Err(usage(format!(
            "--worker is the Worker's address, without a query or fragment, not `{worker}`"
        )));
    }
    let mut id = String::new();
    for b in coupon.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(format!(
        "{base}/admin/coupons/{id}/codes{}",
        if pool { "?pool=true" } else { "" }
    ))
}

/// One CSV field as the Worker reads it (RFC 4180).
fn field(code: &str) -> String {
    if code.contains([',', '"']) {
        format!("\"{}\"", code.replace('"', "\"\""))
    } else {
        code.to_string()
    }
}

/// Text from the server, as it may be shown in a terminal: control characters (an ANSI escape
/// that would recolour or clear the screen) written as escapes.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `error.code` and `error.message` of a Worker's error answer, or the text itself.
fn worker_error(status: u16, body: &Value, text: &str) -> String {
    match (
        body.pointer("/error/code").and_then(Value::as_str),
        body.pointer("/error/message").and_then(Value::as_str),
    ) {
        (Some(code), Some(message)) => format!("{status} {}: {}", shown(code), shown(message)),
        _ => format!(
            "{status}: {}",
            shown(text.chars().take(200).collect::<String>().trim())
        ),
    }
}

pub fn run(a: &Upload) -> Out<()> {
    let path = a.csv.as_str();
    let token = token(a)?;
    let url = endpoint(&a.worker, &a.coupon, a.pool)?;
    let (records, col, header) =
        support::read_csv_column(path, a.column.as_deref(), &["code", "codes", "coupon_code"])?;
    // (line in the file, code); rows that cannot be sent as one CSV line are refused here.
    let mut rows: Vec<(usize, &str)> = Vec::new();
    let mut refused: Vec<(usize, String)> = Vec::new();
    for r in records
        .iter()
        .filter(|r| !r.is_blank())
        .skip(usize::from(header))
    {
        match r.fields.get(col).map(|c| c.trim()) {
            None => refused.push((r.line, format!("no column {}", col + 1))),
            Some(c) if c.contains(['\n', '\r']) => {
                refused.push((r.line, "a line break cannot be part of a code".into()));
            }
            Some(c) => rows.push((r.line, c)),
        }
    }
    if rows.is_empty() {
        return Err(fail(format!("{path}: no codes to upload")));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let chunks = rows.len().div_ceil(CHUNK_ROWS);
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} codes, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut stored_chunks, mut stored_rows, mut imported, mut pooled) = (0, 0, 0u64, 0u64);
    let (mut refused_chunks, mut unstored_rows) = (0, 0);
    for (k, chunk) in rows.chunks(CHUNK_ROWS).enumerate() {
        bar.set_message(format!("chunk {} of {chunks}", k + 1));
        // The Worker numbers the lines of the body: the header is line 1, row i is line i + 2.
        let mut body = String::from("code\n");
        let mut lines = HashMap::new();
        for (i, (line, code)) in chunk.iter().enumerate() {
            body.push_str(&field(code));
            body.push('\n');
            lines.insert(i + 2, *line);
        }
        let sent = agent
            .post(&url)
            .header("authorization", &format!("Bearer {token}"))
            .content_type("text/csv; charset=utf-8")
            .send(body.as_bytes());
        let stop = |why: String| {
            bar.abandon();
            fail(format!(
                "{url}: {why}; upload stopped at chunk {} of {chunks} (rows from line {}). {stored_chunks} chunk(s) ({stored_rows} rows) were stored before it and stay stored",
                k + 1,
                chunk.first().map_or(0, |r| r.0),
            ))
        };
        let mut response = sent.map_err(|e| stop(e.to_string()))?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .read_to_string()
            .map_err(|e| stop(format!("cannot read the answer: {e}")))?;
        let json: Value = serde_json::from_str(&answer).unwrap_or_default();
        match status {
            200 | 201 => {
                stored_chunks += 1;
                stored_rows += chunk.len();
                imported += json
                    .pointer("/imported")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                pooled += json.pointer("/pooled").and_then(Value::as_u64).unwrap_or(0);
            }
            422 if json.pointer("/error/code").and_then(Value::as_str) == Some("INVALID_CODES") => {
                refused_chunks += 1;
                unstored_rows += chunk.len();
                let listed = json
                    .pointer("/error/refused")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for r in &listed {
                    let at = r
                        .pointer("/line")
                        .and_then(Value::as_u64)
                        .and_then(|l| lines.get(&usize::try_from(l).ok()?))
                        .copied()
                        .unwrap_or(0);
                    let why = shown(
                        r.pointer("/message")
                            .and_then(Value::as_str)
                            .unwrap_or("refused"),
                    );
                    refused.push((at, why));
                }
                let message = shown(
                    json.pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("rows refused"),
                );
                bar.suspend(|| {
                    eprintln!(
                        "{path}: chunk {} of {chunks} (lines {} to {}) refused, none of its rows stored: {message}{}",
                        k + 1,
                        chunk.first().map_or(0, |r| r.0),
                        chunk.last().map_or(0, |r| r.0),
                        if listed.len() >= 20 { " (the Worker lists at most 20 rows a chunk)" } else { "" }
                    );
                });
            }
            _ => return Err(stop(worker_error(status, &json, &answer))),
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    refused.sort_by_key(|r| r.0);
    for (line, why) in &refused {
        eprintln!("{path}: line {line}: {why}");
    }
    eprintln!(
        "uploaded {stored_rows} of {} rows to `{}` in {stored_chunks} of {chunks} request(s): {imported} code(s) imported{}",
        rows.len(),
        a.coupon,
        if a.pool { format!(", {pooled} new to the pool") } else { String::new() }
    );
    if refused_chunks > 0 || !refused.is_empty() {
        return Err(fail(format!(
            "{path}: {} row(s) refused{}; the {stored_chunks} chunk(s) stored stay stored: fix the rows and upload the file again",
            refused.len(),
            if refused_chunks > 0 {
                format!(", so {refused_chunks} chunk(s) ({unstored_rows} rows) not stored")
            } else {
                String::new()
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_control_characters_are_shown_as_escapes() {
        assert_eq!(shown("bad \u{1b}[2Jcode\n"), "bad \\u{1b}[2Jcode\\n");
        assert_eq!(shown("café, 10 €"), "café, 10 €");
        let body: Value =
            serde_json::from_str(r#"{"error":{"code":"X\u001b[31m","message":"no\u0007"}}"#)
                .unwrap();
        assert_eq!(worker_error(422, &body, ""), "422 X\\u{1b}[31m: no\\u{7}");
    }

    #[test]
    fn the_workers_address_takes_the_path() {
        assert_eq!(
            endpoint("https://w.example/", "spring sale", true).unwrap(),
            "https://w.example/admin/coupons/spring%20sale/codes?pool=true"
        );
        assert!(endpoint("http://h/x?y=1#f", "c", false).is_err());
        assert!(endpoint("ftp://h", "c", false).is_err());
    }
}
