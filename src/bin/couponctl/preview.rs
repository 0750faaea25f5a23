//! `preview`: a cart priced by `Engine::evaluate`, shown as a table or as the engine's JSON.

use crate::args::{self, Parsed};
use crate::manifests::load_engine_at;
use crate::{fail, usage, Out};
use edge_coupons::json::{parse, Source, ToJson};
use edge_coupons::rules::{Map, Value};
use edge_coupons::time::parse_instant;
use edge_coupons::Evaluation;

const HELP: &str = "\
couponctl preview: price a cart against a manifest, as checkout would (consumes nothing)

usage: couponctl preview --manifest FILE [--jwks JWKS.json] (--request REQUEST.json |
                         --cart CART.json [--user USER.json] [--usage USAGE.json]) [--code CODE]...
                         [--now TIME] [--json]

  --manifest FILE   a manifest JSON (validated by the engine) or a signed JWS (needs --jwks)
  --request FILE    a whole EvaluateRequest { cart, user?, codes?, now?, usage? } (docs/manifest.md)
  --cart FILE       the cart; --user, --usage: the user context and usage snapshot
  --code CODE       a typed code (repeat for more; added to the request's codes)
  --now TIME        the time to price at (RFC 3339; default: the request's `now`, else the clock)
  --json            print the engine's Evaluation JSON instead of the table
";

fn file_value(path: &str) -> Out<Value> {
    parse(&args::read(path)?, Source::Request).map_err(args::with_file(path))
}

pub fn run(argv: &[String]) -> Out<()> {
    let Parsed::Run(a) = args::parse(
        argv,
        &[
            "manifest", "jwks", "request", "cart", "user", "usage", "code", "now",
        ],
        &["json"],
        HELP,
    )?
    else {
        return Ok(());
    };
    if !a.pos.is_empty() {
        return Err(usage("preview takes no positional arguments (see --help)"));
    }
    let manifest = a.req("manifest")?;
    let mut request = match (a.get("request"), a.get("cart")) {
        (Some(r), None) => match file_value(r)? {
            Value::Map(m) => m,
            _ => return Err(fail(format!("{r}: the request is not a JSON object"))),
        },
        (None, Some(c)) => {
            let mut m = Map::default();
            m.insert("cart".into(), file_value(c)?);
            m
        }
        _ => return Err(usage("give --request FILE, or --cart FILE (one of them)")),
    };
    for (name, key) in [("user", "user"), ("usage", "usage")] {
        if let Some(p) = a.get(name) {
            request.insert(key.into(), file_value(p)?);
        }
    }
    let typed = a.all("code");
    if !typed.is_empty() {
        let mut codes = match request.get("codes") {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        };
        codes.extend(typed.iter().map(|c| Value::Str((*c).to_string())));
        request.insert("codes".into(), Value::List(codes));
    }
    let now = match (a.get("now"), request.get("now")) {
        (None, Some(Value::Str(t))) => parse_instant(t, "now").map_err(|e| {
            fail(format!(
                "{}: {}: {e}",
                a.get("request").unwrap_or("request"),
                e.code()
            ))
        })?,
        _ => a.now()?,
    };
    request.insert("now".into(), Value::Str(args::show(now)));
    let engine = load_engine_at(manifest, a.get("jwks"), now, true)?;
    let result = engine
        .evaluate(&Value::Map(request))
        .map_err(args::with_file(
            a.get("request").or(a.get("cart")).unwrap_or("request"),
        ))?;
    if a.flag("json") {
        return args::print(&format!("{}\n", result.to_json()));
    }
    args::print(&table(&result))
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

fn table(r: &Evaluation) -> String {
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
    for l in &r.lines {
        rows.push(vec![
            format!("{} ({})", l.id, l.product_id),
            l.quantity.to_string(),
            l.original.clone(),
            l.discount.clone(),
            l.final_.clone(),
        ]);
    }
    if let Some(s) = &r.shipping {
        rows.push(vec![
            "shipping".into(),
            String::new(),
            s.original.clone(),
            s.discount.clone(),
            s.final_.clone(),
        ]);
    }
    for f in &r.fees {
        rows.push(vec![
            format!("fee {}", f.id),
            String::new(),
            f.original.clone(),
            f.discount.clone(),
            f.final_.clone(),
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
