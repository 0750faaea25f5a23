//! `assign`: a CSV of users to assignment records for a campaign coupon (`audience: assigned`).

use crate::json::object;
use crate::manifests::load_engine;
use crate::support::{self, Clock, OutFile};
use crate::{csv, fail, usage, Out};
use clap::Args;
use edge_coupons::cart::MAX_USER_ID_BYTES;
use edge_coupons::codes;
use edge_coupons::manifest::Audience;
use edge_coupons::time::{parse_instant, Instant};
use std::collections::HashSet;

/// Turn a CSV of users into assignment records for a campaign coupon
///
/// The coupon must have `audience: assigned`. Each user (the header cell `user_id`, `user` or
/// `id`, or --column; without a header, column 1) gets one record, one JSON object a line:
/// {"coupon_id":"...","user_id":"...","assigned_at":"...","code":"..."} for the Worker's admin
/// upload. `assigned_at` is the row's `assigned_at` column when the CSV has one, else --at, else
/// now; it starts an expiry relative to the assignment. A bulk-code coupon needs --codes (one code
/// a line, such as `codes generate` wrote): each user gets the next unused code, checked by the
/// engine to belong to the coupon. Blank lines are skipped, a repeated user is reported and
/// assigned once; invalid rows are reported with line numbers and skipped, or refused with
/// --strict.
#[derive(Args, Debug)]
pub struct Assign {
    /// The manifest: JSON, or a JWS with --jwks
    #[arg(long, value_name = "FILE")]
    manifest: String,
    /// The key set of a signed --manifest
    #[arg(long, value_name = "JWKS.json")]
    jwks: Option<String>,
    /// The coupon to assign (its audience is `assigned`)
    #[arg(long, value_name = "ID")]
    coupon: String,
    /// Codes for a bulk-code coupon, one a line (such as `codes generate` wrote)
    #[arg(long, value_name = "CODES.txt")]
    codes: Option<String>,
    /// assigned_at of rows without their own (RFC 3339; default now)
    #[arg(long, value_name = "TIME", value_parser = support::time_arg)]
    at: Option<Instant>,
    /// The user column: a header name, or a number counting from 1
    #[arg(long, value_name = "NAME|N")]
    column: Option<String>,
    /// Refuse the whole file if any row is invalid
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    clock: Clock,
    #[command(flatten)]
    out: OutFile,
    /// The users' CSV
    #[arg(value_name = "USERS.csv")]
    users: String,
}

pub fn run(a: &Assign) -> Out<()> {
    let path = a.users.as_str();
    let manifest = a.manifest.as_str();
    let coupon_id = a.coupon.as_str();
    a.out.check()?;
    let (engine, loaded_at) = load_engine(manifest, a.jwks.as_deref(), &a.clock)?;
    let coupon = engine.manifest().coupon(coupon_id).ok_or_else(|| {
        fail(format!(
            "{manifest}: no coupon `{coupon_id}` in this manifest"
        ))
    })?;
    if coupon.audience != Audience::Assigned {
        return Err(fail(format!(
            "{manifest}: coupon `{coupon_id}` is not for assigned users (`audience: {{\"type\": \"assigned\"}}`); assignments would not change who can use it"
        )));
    }
    let bulk = coupon.codes.has_bulk();
    let default_at = a.at.unwrap_or_else(|| a.clock.now());
    let ctx = edge_coupons::input::UserContext {
        now: Some(support::show(loaded_at)),
        ..Default::default()
    };
    let mut pool = Vec::new();
    match (a.codes.as_deref(), bulk) {
        (Some(p), true) => {
            let mut seen = HashSet::new();
            for (i, raw) in support::read_text(p)?.lines().enumerate() {
                if raw.trim().is_empty() {
                    continue;
                }
                let code = codes::normalize(raw, "code")
                    .map_err(|e| fail(format!("{p}: line {}: {e}", i + 1)))?;
                let owner = engine
                    .check_code(&code, &ctx)
                    .map_err(support::with_file(manifest))?
                    .coupon_id;
                if owner.as_deref() != Some(coupon_id) {
                    return Err(fail(format!(
                        "{p}: line {}: `{code}` is not a code of coupon `{coupon_id}`",
                        i + 1
                    )));
                }
                if seen.insert(code.clone()) {
                    pool.push(code);
                }
            }
        }
        (None, true) => {
            return Err(usage(format!(
                "coupon `{coupon_id}` has bulk codes: give --codes FILE with a code for each user"
            )))
        }
        (Some(_), false) => {
            return Err(usage(format!(
                "coupon `{coupon_id}` has no bulk codes: leave out --codes"
            )))
        }
        (None, false) => {}
    }
    let (records, col, header) =
        support::read_csv_column(path, a.column.as_deref(), &["user_id", "user", "id"])?;
    let at_col = if header {
        Some(csv::column(&records, &["assigned_at"], usize::MAX))
            .filter(|(_, found)| *found)
            .map(|(i, _)| i)
    } else {
        None
    };
    let mut out = String::new();
    let mut problems = Vec::new();
    let (mut users, mut dups) = (HashSet::new(), 0usize);
    let mut codes_left = pool.into_iter();
    let mut skip_header = header;
    for r in records.iter().filter(|r| !r.is_blank()) {
        if skip_header {
            skip_header = false;
            continue;
        }
        let user = r.fields.get(col).map(|u| u.trim()).unwrap_or("");
        if user.is_empty() || user.len() > MAX_USER_ID_BYTES {
            problems.push(format!(
                "line {}: a user id is 1 to {MAX_USER_ID_BYTES} bytes of UTF-8 (this one is {} bytes)",
                r.line,
                user.len()
            ));
            continue;
        }
        let at = match at_col.and_then(|i| r.fields.get(i)).map(|t| t.trim()) {
            Some(t) if !t.is_empty() => match parse_instant(t, "assigned_at") {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("line {}: {e}", r.line));
                    continue;
                }
            },
            _ => default_at,
        };
        if !users.insert(user.to_string()) {
            dups += 1;
            continue;
        }
        let code = if bulk {
            match codes_left.next() {
                Some(c) => Some(c),
                None => {
                    return Err(fail(format!(
                    "{path}: line {}: no codes left; give --codes with at least one code per user",
                    r.line
                )))
                }
            }
        } else {
            None
        };
        object(&mut out, &mut |f| {
            f.field("coupon_id", &coupon_id)
                .field("user_id", &user)
                .field("assigned_at", &support::show(at))
                .some("code", &code);
        });
        out.push('\n');
    }
    for p in problems.iter().take(50) {
        eprintln!("{path}: {p}");
    }
    if a.strict && !problems.is_empty() {
        return Err(fail(format!(
            "{path}: {} invalid row(s); nothing written (--strict)",
            problems.len()
        )));
    }
    if users.is_empty() {
        return Err(fail(format!("{path}: no valid users")));
    }
    a.out.write(out.as_bytes())?;
    eprintln!(
        "assigned `{coupon_id}` to {} user(s) from {path}: {} invalid row(s) skipped, {dups} repeated",
        users.len(),
        problems.len()
    );
    Ok(())
}
