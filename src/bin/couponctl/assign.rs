//! `assign`: a CSV of users to assignment records for a campaign coupon (`audience: assigned`).

use crate::args::{self, Parsed};
use crate::manifests::load_engine;
use crate::{csv, fail, usage, Out};
use edge_coupons::codes;
use edge_coupons::json::{object, parse, Source};
use edge_coupons::manifest::{Audience, Codes};
use edge_coupons::time::parse_instant;
use std::collections::HashSet;

const HELP: &str = "\
couponctl assign: assignment records for a campaign coupon, from a CSV of users

usage: couponctl assign --manifest FILE [--jwks JWKS.json] --coupon ID [--codes CODES.txt]
                        [--at TIME] [--column NAME|N] [--strict] [--out FILE] USERS.csv

The coupon must have `audience: assigned`. Each user (the header cell `user_id`, `user` or `id`,
or --column; without a header, column 1) gets one record, one JSON object a line:
  {\"coupon_id\":\"...\",\"user_id\":\"...\",\"assigned_at\":\"...\",\"code\":\"...\"}
for the Worker's admin upload. `assigned_at` is the row's `assigned_at` column when the CSV has one,
else --at, else now; it starts an expiry relative to the assignment. A bulk-code coupon needs
--codes (one code a line, such as `codes generate` wrote): each user gets the next unused code,
checked by the engine to belong to the coupon. Blank lines are skipped, a repeated user is reported
and assigned once; invalid rows are reported with line numbers and skipped, or refused with --strict.
";

pub fn run(argv: &[String]) -> Out<()> {
    let Parsed::Run(a) = args::parse(
        argv,
        &[
            "manifest", "jwks", "coupon", "codes", "at", "column", "out", "now",
        ],
        &["strict"],
        HELP,
    )?
    else {
        return Ok(());
    };
    let path = a.one("the users CSV file")?;
    let manifest = a.req("manifest")?;
    let coupon_id = a.req("coupon")?;
    let engine = load_engine(manifest, a.get("jwks"), &a)?;
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
    let bulk = matches!(coupon.codes, Codes::Bulk { .. });
    let default_at = match a.get("at") {
        Some(t) => parse_instant(t, "--at").map_err(|e| usage(format!("--at: {e}")))?,
        None => a.now()?,
    };
    let ctx = parse(
        format!(r#"{{"now":"{}"}}"#, args::show(a.now()?)).as_bytes(),
        Source::Request,
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut pool = Vec::new();
    match (a.get("codes"), bulk) {
        (Some(p), true) => {
            let mut seen = HashSet::new();
            for (i, raw) in args::read_text(p)?.lines().enumerate() {
                if raw.trim().is_empty() {
                    continue;
                }
                let code = codes::normalize(raw, "code")
                    .map_err(|e| fail(format!("{p}: line {}: {e}", i + 1)))?;
                let owner = engine
                    .check_code(&code, &ctx)
                    .ok()
                    .and_then(|c| c.coupon_id);
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
    let text = args::read_text(path)?;
    let records = csv::records(&text).map_err(|e| fail(format!("{path}: {e}")))?;
    let (col, header) = csv::pick(&records, a.get("column"), &["user_id", "user", "id"], path)?;
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
        if user.is_empty() || user.chars().count() > 128 {
            problems.push(format!(
                "line {}: the user id is empty or longer than 128 characters",
                r.line
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
                .field("assigned_at", &args::show(at))
                .some("code", &code);
        });
        out.push('\n');
    }
    for p in problems.iter().take(50) {
        eprintln!("{path}: {p}");
    }
    if a.flag("strict") && !problems.is_empty() {
        return Err(fail(format!(
            "{path}: {} invalid row(s); nothing written (--strict)",
            problems.len()
        )));
    }
    if users.is_empty() {
        return Err(fail(format!("{path}: no valid users")));
    }
    args::output(a.get("out"), out.as_bytes())?;
    eprintln!(
        "assigned `{coupon_id}` to {} user(s) from {path}: {} invalid row(s) skipped, {dups} repeated",
        users.len(),
        problems.len()
    );
    Ok(())
}
