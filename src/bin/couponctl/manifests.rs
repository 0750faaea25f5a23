//! `sign`, `verify` and `inspect`. Every manifest is loaded by `Engine::from_signed_manifest`, the
//! call the Worker and the browser make, so the CLI refuses exactly what they refuse.

use crate::json::{parse, Source, ToJson};
use crate::keys::{self, PrivateKey};
use crate::support::{self, Clock, OutFile};
use crate::zones::{self, Tz};
use crate::{fail, jsonerr, usage, Out};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use clap::Args;
use edge_coupons::describe;
use edge_coupons::rules::{Map, Value};
use edge_coupons::time::{parse_instant, Instant};
use edge_coupons::{codes, signature, Engine, Error, Limits};

/// Validate a manifest JSON with the engine and sign it into a JWS (EdDSA)
///
/// The payload is loaded exactly as a Worker would load it (same error codes and field paths). A
/// hidden coupon whose static code is given in clear (`code`) gets its `code_hash` computed and
/// the clear code removed before signing, and every time zone the manifest names gets its offset
/// table (`time_zones`, from the system's zone database); the payload is then re-written as
/// compact JSON. Otherwise the file's bytes are signed as they are.
#[derive(Args, Debug)]
pub struct Sign {
    /// The private key: a JWK from keygen, or a JWKS of private keys (then --kid picks)
    #[arg(long, value_name = "FILE")]
    key: String,
    /// The key to sign with; the JWS header names it, so Workers holding a JWKS with several keys
    /// (rotation) find it
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    #[command(flatten)]
    clock: Clock,
    #[command(flatten)]
    out: OutFile,
    /// The manifest payload (JSON)
    #[arg(value_name = "MANIFEST.json")]
    manifest: String,
}

/// Verify a signed manifest against a JWKS, as the Worker and the browser do
///
/// Checks the signature over the exact bytes (a trailing newline in the file is ignored), the
/// kid, the validity window (issued_at, expires_at against --now, default the clock) and the
/// payload. Prints a summary and exits 0, or prints the error code and exits 1.
#[derive(Args, Debug)]
pub struct Verify {
    /// The public key set (JWKS) the Worker has
    #[arg(long, value_name = "JWKS.json")]
    jwks: String,
    /// Verify as of this RFC 3339 time (default: the clock)
    #[arg(long, value_name = "TIME", value_parser = support::time_arg)]
    now: Option<Instant>,
    /// The signed manifest (compact JWS)
    #[arg(value_name = "MANIFEST.jws")]
    manifest: String,
}

/// List a manifest's coupons: status, codes, windows, hidden, bulk
///
/// A signed manifest needs --jwks and is verified first; a JSON manifest (not signed yet) is
/// validated by the engine, its time zones filled as `sign` fills them. For each coupon: status,
/// how it is redeemed (static code, hidden, bulk prefix and length, automatic), audience,
/// activation, expiry and redemption window, schedule, limits, priority and reward.
#[derive(Args, Debug)]
pub struct Inspect {
    /// The key set to verify a signed manifest with
    #[arg(long, value_name = "JWKS.json")]
    jwks: Option<String>,
    #[command(flatten)]
    clock: Clock,
    /// Show times in this zone: an IANA name (Asia/Kolkata, Europe/Berlin) or a UTC offset
    /// (+05:30, -08:00, Z)
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = Tz::parse, allow_hyphen_values = true)]
    tz: Tz,
    /// The manifest: a signed JWS, or its JSON payload
    #[arg(value_name = "MANIFEST.(jws|json)")]
    manifest: String,
}

/// Loads a signed payload with the engine as of `now`; a manifest not yet valid at the clock is
/// loaded at its `issued_at` instead unless `fixed` (an explicit --now). Returns the engine and
/// the instant it was loaded at, which its calls must use: an engine answers no call dated before
/// its manifest is issued.
fn load(
    jws: &str,
    keys: &edge_coupons::KeySet,
    now: Instant,
    fixed: bool,
) -> Result<(Engine, Instant), Box<Error>> {
    match Engine::from_signed_manifest(jws, keys, now, Limits::default()) {
        Err(e) if !fixed && matches!(*e, Error::ManifestNotYetValid { .. }) => {
            let Error::ManifestNotYetValid { issued_at, .. } = *e else {
                return Err(e);
            };
            let at = parse_instant(&issued_at, "issued_at")?;
            Ok((
                Engine::from_signed_manifest(jws, keys, at, Limits::default())?,
                at,
            ))
        }
        other => Ok((other?, now)),
    }
}

/// A byte order mark (UTF-8 or UTF-16) before a manifest, named as such: it is neither JSON nor
/// a JWS.
fn no_byte_order_mark(bytes: &[u8], path: &str) -> Out<()> {
    if [&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"]
        .iter()
        .any(|m| bytes.starts_with(m))
    {
        return Err(fail(format!(
            "{path}: starts with a byte order mark: save it as UTF-8 without one"
        )));
    }
    Ok(())
}

/// A manifest file for a command: a JWS (verified with `jwks`) or a JSON payload (its time zones
/// and hidden codes filled as `sign` fills them, then signed in memory with a throw-away key, so it
/// goes through the very same load).
pub fn load_engine(path: &str, jwks: Option<&str>, clock: &Clock) -> Out<(Engine, Instant)> {
    load_engine_at(path, jwks, clock.now(), clock.fixed())
}

/// [`load_engine`] at `now`; when not `fixed`, a manifest issued later than `now` loads at its
/// `issued_at`.
pub fn load_engine_at(
    path: &str,
    jwks: Option<&str>,
    now: Instant,
    fixed: bool,
) -> Out<(Engine, Instant)> {
    let bytes = support::read(path)?;
    no_byte_order_mark(&bytes, path)?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let (payload, _, _) = prepare(&bytes, path)?;
        let key = PrivateKey::ephemeral()?;
        let jws = signature::sign(&payload, &key.kid, &key.secret);
        return load(&jws, &key.keyset()?, now, fixed).map_err(support::with_file(path));
    }
    let jwks = jwks.ok_or_else(|| {
        usage(format!(
            "{path} is a signed manifest: give --jwks JWKS.json to verify it"
        ))
    })?;
    let keys = keys::load_jwks(jwks)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| fail(format!("{path}: MANIFEST_MALFORMED: not text")))?;
    load(text.trim_end(), &keys, now, fixed).map_err(support::with_file(path))
}

/// Replaces the clear `code` of hidden static coupons by its `code_hash`. Returns the new payload
/// and how many were filled, or `None` when there is nothing to fill (or the payload is not
/// readable JSON, which the engine then reports).
fn fill_code_hashes(root: &mut Map, path: &str) -> Out<usize> {
    let Some(Value::Str(id)) = root.get("id").cloned() else {
        return Ok(0);
    };
    let Some(Value::List(mut coupons)) = root.get("coupons").cloned() else {
        return Ok(0);
    };
    let mut filled = 0;
    for (i, coupon) in coupons.iter_mut().enumerate() {
        let Value::Map(c) = coupon else { continue };
        if c.get("visibility") != Some(&Value::Str("hidden".into())) {
            continue;
        }
        let Some(Value::Map(codes_obj)) = c.get("codes") else {
            continue;
        };
        let (Some(Value::Str(t)), Some(Value::Str(code)), None) = (
            codes_obj.get("type"),
            codes_obj.get("code"),
            codes_obj.get("code_hash"),
        ) else {
            continue;
        };
        if t != "static" {
            continue;
        }
        let at = format!("coupons[{i}].codes.code");
        let normal = codes::normalize(code, &at)
            .map_err(|e| fail(format!("{path}: MANIFEST_INVALID: manifest {e}")))?;
        let pairs: Vec<(String, Value)> = codes_obj
            .iter()
            .filter(|(k, _)| k != "code")
            .cloned()
            .chain([(
                "code_hash".to_string(),
                Value::Str(codes::hash_code(&id, &normal)),
            )])
            .collect();
        let new_codes = Map::from_pairs(pairs).map_err(|k| fail(format!("{path}: {at}: {k}")))?;
        c.insert("codes".into(), Value::Map(new_codes));
        filled += 1;
    }
    if filled > 0 {
        root.insert("coupons".into(), Value::List(coupons));
    }
    Ok(filled)
}

/// What `sign` adds before signing, and what a JSON manifest gets before it is loaded: the
/// hashes of hidden codes given in clear, and the offset tables of the time zones named. With
/// nothing to add, the bytes given are kept as they are. JSON that does not parse is refused
/// here, with its line, column and field path.
fn prepare(payload: &[u8], path: &str) -> Out<(Vec<u8>, usize, Vec<String>)> {
    // A payload is signed as compact JSON at most as long as it is, and its JWS may have 4 MiB:
    // a file four times that is refused before it is parsed (a 75 MB one took 1 GB to parse).
    let limit = Limits::default().max_manifest_bytes.saturating_mul(4);
    edge_coupons::manifest::within("manifest payload bytes", payload.len(), limit)
        .map_err(support::with_file(path))?;
    let Value::Map(mut root) = jsonerr::parse_file(path, payload, Source::Manifest)? else {
        return Ok((payload.to_vec(), 0, Vec::new()));
    };
    let filled = fill_code_hashes(&mut root, path)?;
    let zones = zones::fill(&mut root).map_err(|e| fail(format!("{path}: {}", e.message)))?;
    if filled == 0 && zones.is_empty() {
        return Ok((payload.to_vec(), 0, zones));
    }
    let mut out = String::new();
    write_value(&Value::Map(root), &mut out);
    Ok((out.into_bytes(), filled, zones))
}

/// JSON text of a tree, numbers as JSON numbers.
pub fn json_text(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    out
}

/// JSON text of a tree, numbers as JSON numbers (the core's `ToJson` writes them as strings, as
/// results do, which a manifest's `version` or `priority` must not be).
fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Num(n) => out.push_str(&n.to_string()),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::write_str(out, k);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
        other => other.write_json(out),
    }
}

pub fn sign(a: &Sign) -> Out<()> {
    let path = a.manifest.as_str();
    a.out.check()?;
    let key = keys::load_private(&a.key, a.kid.as_deref())?;
    let original = support::read(path)?;
    no_byte_order_mark(&original, path)?;
    let (payload, filled, zones) = prepare(&original, path)?;
    let jws = signature::sign(&payload, &key.kid, &key.secret);
    let (engine, _) = load(&jws, &key.keyset()?, a.clock.now(), a.clock.fixed())
        .map_err(support::with_file(path))?;
    a.out.write(format!("{jws}\n").as_bytes())?;
    let m = engine.manifest();
    eprintln!(
        "signed {path}: manifest `{}`, {} coupon(s), kid `{}`, valid {} to {}{}{}",
        m.id,
        m.coupons.len(),
        key.kid,
        support::show(m.issued_at),
        support::show(m.expires_at),
        if filled > 0 {
            format!("; code_hash filled for {filled} hidden coupon(s)")
        } else {
            String::new()
        },
        if zones.is_empty() {
            String::new()
        } else {
            format!("; offsets written for {}", zones.join(", "))
        }
    );
    Ok(())
}

/// The `kid` in a JWS header, for messages.
fn header_kid(jws: &str) -> Option<String> {
    let header = B64.decode(jws.split('.').next()?).ok()?;
    match parse(&header, Source::Request).ok()? {
        Value::Map(m) => match m.get("kid") {
            Some(Value::Str(k)) => Some(k.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub fn verify(a: &Verify) -> Out<()> {
    let path = a.manifest.as_str();
    let keys = keys::load_jwks(&a.jwks)?;
    let text = support::read_text(path)?;
    let now = a.now.unwrap_or_else(support::clock);
    let engine = Engine::from_signed_manifest(text.trim_end(), &keys, now, Limits::default())
        .map_err(support::with_file(path))?;
    let m = engine.manifest();
    support::print(&format!(
        "ok: {path}: manifest `{}`, kid `{}`, {} coupon(s), issued {}, expires {}\n",
        m.id,
        header_kid(text.trim_end()).unwrap_or_default(),
        m.coupons.len(),
        support::show(m.issued_at),
        support::show(m.expires_at)
    ))
}

pub fn inspect(a: &Inspect) -> Out<()> {
    let path = a.manifest.as_str();
    let (engine, _) = load_engine(path, a.jwks.as_deref(), &a.clock)?;
    let m = engine.manifest();
    // --tz: a fixed offset or an IANA zone, whose offset may differ from one time to the next.
    let offset_at = |t: Instant| i64::from(a.tz.offset_at(t).local_minus_utc());
    let tz: Option<describe::OffsetAt> = Some(&offset_at);
    let mut out = format!(
        "manifest `{}` ({}), issued {}, expires {}, {} coupon(s), at most {} code(s) per cart\n",
        m.id,
        m.currency,
        describe::at(m, m.issued_at, tz),
        describe::at(m, m.expires_at, tz),
        m.coupons.len(),
        m.max_codes_per_cart
    );
    // Each coupon's lines are the engine's (src/describe.rs), as the Worker's console shows them.
    let described = describe::describe(m, None, tz);
    for d in &described {
        out.push_str(&format!(
            "\n{}  [{}]{}\n",
            d.coupon_id,
            d.status,
            if d.hidden { "  hidden" } else { "" }
        ));
        for l in &d.lines {
            out.push_str(&format!("  {:<11} {}\n", format!("{}:", l.label), l.text));
        }
    }
    let list = |v: Vec<&str>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let hidden = described
        .iter()
        .filter(|d| d.hidden)
        .map(|d| d.coupon_id.as_str());
    let bulk = m.coupons.iter().filter(|c| c.codes.has_bulk());
    out.push_str(&format!(
        "\nhidden: {}\nbulk codes: {}\n",
        list(hidden.collect()),
        list(bulk.map(|c| c.id.as_str()).collect())
    ));
    support::print(&out)
}
