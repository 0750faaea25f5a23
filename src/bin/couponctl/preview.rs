//! `preview`: a cart priced by `Engine::evaluate`, shown as a table or as the engine's JSON.

use crate::json::Source;
use crate::manifests::load_engine_at;
use crate::support::{self, Clock};
use crate::{fail, jsonerr, Out};
use clap::{ArgGroup, Args};
use edge_coupons::rules::{Map, Value};
use edge_coupons::time::parse_instant;
use edge_coupons::Evaluation;

/// Price a cart against a manifest with the engine, as a table or JSON (consumes nothing)
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).args(["request", "cart"])))]
pub struct Preview {
    /// A manifest JSON (validated by the engine, its time zones filled as `sign` fills them) or a
    /// signed JWS (needs --jwks)
    #[arg(long, value_name = "FILE")]
    manifest: String,
    /// The key set of a signed --manifest
    #[arg(long, value_name = "JWKS.json")]
    jwks: Option<String>,
    /// A whole EvaluateRequest { cart, user?, codes?, now?, usage? } (docs/manifest.md)
    #[arg(long, value_name = "FILE")]
    request: Option<String>,
    /// The cart
    #[arg(long, value_name = "FILE", conflicts_with = "request")]
    cart: Option<String>,
    /// The user context
    #[arg(long, value_name = "FILE", requires = "cart")]
    user: Option<String>,
    /// The usage snapshot (counters) limits are checked against
    #[arg(long, value_name = "FILE", requires = "cart")]
    usage: Option<String>,
    /// A typed code (repeat for more; added to the request's codes)
    #[arg(long = "code", value_name = "CODE")]
    codes: Vec<String>,
    // --now: without it, the request's `now`, else the clock.
    #[command(flatten)]
    clock: Clock,
    /// Print the engine's Evaluation JSON instead of the table
    #[arg(long)]
    json: bool,
}

fn file_value(path: &str) -> Out<Value> {
    jsonerr::parse_file(path, &support::read(path)?, Source::Request)
}

pub fn run(a: &Preview) -> Out<()> {
    let manifest = a.manifest.as_str();
    let mut request = match (a.request.as_deref(), a.cart.as_deref()) {
        (Some(r), None) => match file_value(r)? {
            Value::Map(m) => m,
            _ => return Err(fail(format!("{r}: the request is not a JSON object"))),
        },
        (None, Some(c)) => {
            let mut m = Map::default();
            m.insert("cart".into(), file_value(c)?);
            m
        }
        _ => return Err(fail("give --request FILE, or --cart FILE (one of them)")),
    };
    for (file, key) in [(&a.user, "user"), (&a.usage, "usage")] {
        if let Some(p) = file {
            request.insert(key.into(), file_value(p)?);
        }
    }
    // The file the request came from (a `now` or `codes` of its own comes only with --request).
    let sent_file = a
        .request
        .as_deref()
        .or(a.cart.as_deref())
        .unwrap_or("request");
    let typed = &a.codes;
    // A request's `codes` that is not a list is left for the engine to refuse, not replaced.
    let sent = match request.get("codes") {
        Some(Value::List(l)) => Some(l.clone()),
        None | Some(Value::Null) => Some(Vec::new()),
        Some(_) => None,
    };
    if let (false, Some(mut codes)) = (typed.is_empty(), sent) {
        codes.extend(typed.iter().map(|c| Value::Str(c.clone())));
        request.insert("codes".into(), Value::List(codes));
    }
    // The time asked for (--now, else the request's `now`) is kept; the clock alone gives way to
    // a later issued_at, as for every command that loads a manifest.
    let (now, fixed) = match (a.clock.now, request.get("now")) {
        (None, Some(Value::Str(t))) => (
            parse_instant(t, "now")
                .map_err(|e| fail(format!("{}: {}: {e}", sent_file, e.code())))?,
            true,
        ),
        (None, Some(v)) if *v != Value::Null => {
            return Err(fail(format!(
                "{}: INVALID_TIME: now: not an RFC 3339 date-time",
                sent_file
            )))
        }
        _ => (a.clock.now(), a.clock.fixed()),
    };
    let (engine, now) = load_engine_at(manifest, a.jwks.as_deref(), now, fixed)?;
    request.insert("now".into(), Value::Str(support::show(now)));
    let text = crate::manifests::json_text(&Value::Map(request));
    // A refusal names the file its field came from: --user and --usage are files of their own.
    let blame = |e: Box<edge_coupons::Error>| {
        let field = |name: &str| {
            e.path()
                .is_some_and(|p| p == name || p.starts_with(&format!("{name}.")))
        };
        let file = match (&a.user, &a.usage) {
            (Some(u), _) if field("user") => u.as_str(),
            (_, Some(u)) if field("usage") => u.as_str(),
            _ => sent_file,
        };
        // serde_json's "at line 1 column N" counts in the request written here, not in the file.
        let message = e.to_string();
        let message = match message.rsplit_once(" at line ") {
            Some((m, at)) if at.split(" column ").all(|n| n.parse::<u64>().is_ok()) => m,
            _ => &message,
        };
        crate::fail(format!("{file}: {}: {message}", e.code()))
    };
    let request: edge_coupons::input::EvaluateRequest =
        edge_coupons::input::from_json(&text).map_err(blame)?;
    let result = engine.evaluate(&request).map_err(blame)?;
    if a.json {
        return support::print(&format!(
            "{}\n",
            serde_json::to_string(&result).unwrap_or_default()
        ));
    }
    support::print(&table(&result, &request.cart.lines))
}

/// Left-aligned columns.
fn columns(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The result as a table; its lines are the request's `lines`, in order (product and quantity).
fn table(r: &Evaluation, sent: &[edge_coupons::input::Line]) -> String {
    let mut out = format!(
        "manifest {} · {} · now {}\n\n",
        r.manifest_id, r.currency, r.now
    );
    let mut rows = vec![vec![
        "item".to_string(),
        "qty".into(),
        "original".into(),
        "discount".into(),
        "final".into(),
    ]];
    for (l, line) in r.lines.iter().zip(sent) {
        let quantity = match &line.quantity {
            Some(Value::Num(n)) => n.to_string(),
            _ => String::new(),
        };
        rows.push(vec![
            format!(
                "{} ({})",
                l.id,
                line.product_id.as_deref().unwrap_or_default()
            ),
            quantity,
            l.original.to_string(),
            l.discount.to_string(),
            l.final_.to_string(),
        ]);
    }
    if let Some(s) = &r.shipping {
        rows.push(vec![
            "shipping".into(),
            String::new(),
            s.original.to_string(),
            s.discount.to_string(),
            s.final_.to_string(),
        ]);
    }
    for f in &r.fees {
        rows.push(vec![
            format!("fee {}", f.id),
            String::new(),
            f.original.to_string(),
            f.discount.to_string(),
            f.final_.to_string(),
        ]);
    }
    out.push_str(&columns(&rows));
    let t = &r.totals;
    out.push_str(&format!(
        "\n  subtotal {}  shipping {}  fees {}  discount {}  total {} {}\n",
        t.subtotal, t.shipping, t.fees, t.discount, t.total, r.currency
    ));
    if r.cashback_points > 0 {
        out.push_str(&format!("  cashback points: {}\n", r.cashback_points));
    }
    out.push_str("\napplied:\n");
    if r.applied.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .applied
            .iter()
            .map(|c| {
                vec![
                    c.coupon_id.clone(),
                    c.code.clone().unwrap_or_else(|| "(automatic)".into()),
                    format!("-{}", c.discount),
                    if c.cashback_points > 0 {
                        format!("+{} pts", c.cashback_points)
                    } else {
                        String::new()
                    },
                    c.summary.clone(),
                    if c.verification == "full" {
                        String::new()
                    } else {
                        format!("[{}]", c.verification)
                    },
                ]
            })
            .collect();
        out.push_str(&columns(&rows));
    }
    if !r.rejected.is_empty() {
        out.push_str("\nnot applied:\n");
        let rows: Vec<Vec<String>> = r
            .rejected
            .iter()
            .map(|x| {
                vec![
                    x.code.clone(),
                    x.coupon_id.clone().unwrap_or_default(),
                    x.reason.code.to_string(),
                    x.reason.message.clone(),
                ]
            })
            .collect();
        out.push_str(&columns(&rows));
    }
    out
}
