//! `codes secret`, `codes generate`, `codes check` and `codes import`.

use crate::json::write_str;
use crate::manifests::load_engine;
use crate::support::{self, Clock, OutFile};
use crate::{fail, usage, Out};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use clap::{ArgGroup, Args, Subcommand};
use edge_coupons::codes::{self, check_char, check_ok, CheckScheme, DEFAULT_ALPHABET};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashSet;

/// Bulk unique codes: the MAC secret, generation, checks and partner CSV imports (docs/cli.md
/// explains the code format)
#[derive(Subcommand, Debug)]
pub enum Codes {
    Secret(Secret),
    Generate(Generate),
    Check(Check),
    Import(Import),
}

/// Make the secret key of code MACs (0600)
///
/// Writes 32 random bytes as base64url text. Give the same text to the Worker as its code MAC
/// secret (`wrangler secret put CODE_MAC_KEY`) and to `codes generate --secret-file`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("dest").required(true).args(["out", "stdout"])))]
pub struct Secret {
    /// Write the secret here, mode 0600 (missing folders are made; an existing file is kept
    /// unless --force)
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
    /// Print it to standard output instead
    #[arg(long)]
    stdout: bool,
    /// Replace an existing --out file
    #[arg(long)]
    force: bool,
}

/// The code format: prefix, alphabet, MAC characters, length.
#[derive(Args, Debug)]
pub struct FormatArgs {
    /// The bulk prefix of the coupon (1-16 of A-Z, 0-9)
    #[arg(long, value_name = "P")]
    prefix: String,
    /// Total length with the prefix (generate: default prefix + 13, up to 64); the random part is
    /// what is left after the MAC and check characters, at least 6 characters
    #[arg(long, value_name = "L")]
    length: Option<u64>,
    /// The characters after the prefix (default 23456789ABCDEFGHJKLMNPQRSTUVWXYZ: no 0/O, 1/I);
    /// its size must be a prime up to 31 or 4, 8, 16 or 32. The manifest's `"check": true` holds
    /// for the default alphabet only
    #[arg(long, value_name = "CHARS")]
    alphabet: Option<String>,
    /// MAC characters (default 4, 0 for none)
    #[arg(long, value_name = "M")]
    mac_chars: Option<u64>,
}

/// Make N bulk codes with a check character and a MAC, codes that need no list
///
/// Each code is PREFIX + random characters + M MAC characters + 1 check character, all characters
/// after the prefix from the alphabet. The check character catches any single typo and any swap
/// of two neighbours (the browser can check it); the MAC, HMAC-SHA256 under the secret, lets the
/// Worker tell a real code from a guessed one without storing the codes. Codes in one run are all
/// different. A summary (manifest snippet, entropy) goes to standard error.
#[derive(Args, Debug)]
pub struct Generate {
    /// How many codes (at most 100,000,000)
    #[arg(long, value_name = "N")]
    count: u64,
    #[command(flatten)]
    format: FormatArgs,
    /// The MAC secret from `codes secret` (not needed with --mac-chars 0)
    #[arg(long, value_name = "FILE")]
    secret_file: Option<String>,
    #[command(flatten)]
    out: OutFile,
}

/// Check codes: format, check character and (with the secret) MAC
///
/// Prints each code with `ok`, `format ok` (no secret given: only the format and check character
/// were checked, as a browser can) or why it fails. Exits 1 if any fails.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).multiple(true).args(["codes", "file"])))]
pub struct Check {
    #[command(flatten)]
    format: FormatArgs,
    /// The MAC secret; without it the MAC is not checked
    #[arg(long, value_name = "FILE")]
    secret_file: Option<String>,
    /// Read codes from this file, one a line
    #[arg(long, value_name = "FILE")]
    file: Option<String>,
    /// Codes to check
    #[arg(value_name = "CODE")]
    codes: Vec<String>,
}

/// Turn a partner CSV of codes into hashed records for the Worker
///
/// Reads the codes column (the header cell named `code`, `codes` or `coupon_code`, or --column;
/// without a header, column 1), normalises each code as the engine does, and writes a JSON array
/// of `{"key": "bulkcode:<coupon>:<hash>", "value": "<coupon>"}` for `wrangler kv bulk put` and
/// the admin upload. The hash is SHA-512/256 salted by the coupon id, so no code is readable in
/// the output. Blank lines are skipped; a repeated code is reported and kept once. With
/// --manifest, every code must resolve to the coupon (its bulk prefix and length), checked by the
/// engine. Invalid rows are reported with their line numbers and skipped, or with --strict
/// refused (nothing written, exit 1).
#[derive(Args, Debug)]
pub struct Import {
    /// The coupon the codes are for
    #[arg(long, value_name = "ID")]
    coupon: String,
    /// Check every code against this manifest (JSON, or a JWS with --jwks)
    #[arg(long, value_name = "FILE")]
    manifest: Option<String>,
    /// The key set of a signed --manifest
    #[arg(long, value_name = "JWKS.json", requires = "manifest")]
    jwks: Option<String>,
    /// The codes column: a header name, or a number counting from 1
    #[arg(long, value_name = "NAME|N")]
    column: Option<String>,
    /// Refuse the whole file if any row is invalid
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    clock: Clock,
    #[command(flatten)]
    out: OutFile,
    /// The partner's CSV
    #[arg(value_name = "CODES.csv")]
    csv: String,
}

pub fn run(c: Codes) -> Out<()> {
    match c {
        Codes::Secret(a) => secret(&a),
        Codes::Generate(a) => generate(&a),
        Codes::Check(a) => check(&a),
        Codes::Import(a) => import(&a),
    }
}

fn secret(a: &Secret) -> Out<()> {
    if let Some(path) = &a.out {
        support::refuse_existing(path, a.force)?;
    }
    let text = format!("{}\n", B64.encode(crate::keys::random32()?));
    match &a.out {
        Some(path) => {
            support::write_file(path, text.as_bytes(), a.force, true)?;
            eprintln!("wrote a code MAC secret to {path} (mode 0600)");
            Ok(())
        }
        None => support::print(&text),
    }
}

fn load_secret(path: &str) -> Out<Vec<u8>> {
    let text = support::read_text(path)?;
    let key = B64.decode(text.trim().as_bytes()).map_err(|_| {
        fail(format!(
            "{path}: not a code MAC secret (base64url text from `codes secret`)"
        ))
    })?;
    if key.len() < 16 {
        return Err(fail(format!(
            "{path}: the secret is {} bytes; at least 16 (use `codes secret`)",
            key.len()
        )));
    }
    Ok(key)
}

/// The code format: prefix, alphabet, MAC characters, and total length.
struct Format {
    prefix: String,
    alphabet: Vec<u8>,
    alphabet_str: String,
    mac_chars: usize,
    length: usize,
}

impl Format {
    fn read(a: &FormatArgs, require_length: bool) -> Out<Format> {
        let prefix =
            codes::normalize(&a.prefix, "--prefix").map_err(|e| usage(format!("--prefix: {e}")))?;
        if prefix.len() > 16 {
            return Err(usage("--prefix has at most 16 characters"));
        }
        let alphabet_str = a
            .alphabet
            .as_deref()
            .unwrap_or(DEFAULT_ALPHABET)
            .to_string();
        let alphabet = alphabet_str.as_bytes().to_vec();
        if !alphabet
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(usage("--alphabet takes upper-case letters A-Z and digits 0-9 only (codes are normalised to those)"));
        }
        if alphabet.iter().collect::<HashSet<_>>().len() != alphabet.len() {
            return Err(usage("--alphabet has a character twice"));
        }
        if CheckScheme::for_size(alphabet.len()).is_none() {
            return Err(usage(format!(
                "--alphabet has {} characters; the check character needs a prime number of them up to 31, or 4, 8, 16 or 32",
                alphabet.len()
            )));
        }
        let mac_chars = usize::try_from(a.mac_chars.unwrap_or(4)).unwrap_or(usize::MAX);
        let n = alphabet.len() as u128;
        if n.checked_pow(u32::try_from(mac_chars).unwrap_or(u32::MAX))
            .is_none_or(|v| v > 1u128 << 64)
        {
            return Err(usage(
                "--mac-chars: at most 64 bits of MAC (12 characters of 32)",
            ));
        }
        // 0 stands for a length not given where none is needed; a --length given is checked,
        // 0 included (it would leave a negative number of random characters).
        let length = match a.length {
            Some(l) => Some(usize::try_from(l).unwrap_or(usize::MAX)),
            None if require_length => Some(prefix.len() + 13),
            None => None,
        };
        if let Some(length) = length {
            if length > codes::MAX_CODE_LEN {
                return Err(usage("--length: codes have at most 64 characters"));
            }
            if length < prefix.len() + mac_chars + 1 + 6 {
                return Err(usage(format!(
                    "--length {length} leaves fewer than 6 random characters after the prefix ({}), {mac_chars} MAC and 1 check character",
                    prefix.len()
                )));
            }
        }
        Ok(Format {
            prefix,
            alphabet,
            alphabet_str,
            mac_chars,
            length: length.unwrap_or(0),
        })
    }

    fn random_len(&self) -> usize {
        self.length - self.prefix.len() - self.mac_chars - 1
    }

    fn bits_per_char(&self) -> f64 {
        (self.alphabet.len() as f64).log2()
    }
}

/// The MAC characters of `prefix + random`: HMAC-SHA256 under the secret of
/// `"coupon-code-mac:v1:" + prefix + random`; its first 8 bytes as a big-endian integer, written in
/// base `n`, least significant digit first.
fn mac_chars(mac: &Hmac<Sha256>, f: &Format, random: &[u8], out: &mut Vec<u8>) {
    let mut m = mac.clone();
    m.update(b"coupon-code-mac:v1:");
    m.update(f.prefix.as_bytes());
    m.update(random);
    let tag = m.finalize().into_bytes();
    let mut first = [0u8; 8];
    for (d, s) in first.iter_mut().zip(tag.iter()) {
        *d = *s;
    }
    let mut v = u64::from_be_bytes(first);
    let n = f.alphabet.len() as u64;
    for _ in 0..f.mac_chars {
        out.push(f.alphabet.get((v % n) as usize).copied().unwrap_or(b'?'));
        v /= n;
    }
}

fn generate(a: &Generate) -> Out<()> {
    let count = a.count;
    if count == 0 || count > 100_000_000 {
        return Err(usage("--count is from 1 to 100,000,000"));
    }
    let f = Format::read(&a.format, true)?;
    a.out.check()?;
    // Codes without MAC characters (uploaded, so the Worker knows them) need no secret.
    let secret = match (f.mac_chars, a.secret_file.as_deref()) {
        (0, None) => Vec::new(),
        (_, file) => load_secret(file.ok_or_else(|| usage("--secret-file is required"))?)?,
    };
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret)
        .map_err(|_| fail("the secret cannot key HMAC"))?;
    let n = f.alphabet.len();
    let space = (n as f64).powi(i32::try_from(f.random_len()).unwrap_or(i32::MAX));
    if space < 100.0 * count as f64 {
        return Err(usage(format!(
            "{} random characters of {n} make about {space:.0} codes: too few to draw {count} different ones; raise --length",
            f.random_len()
        )));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    // Rejection sampling over random bytes, so every character is equally likely.
    let limit = 256 - 256 % n;
    let mut pool = vec![0u8; 1 << 16];
    let mut pos = pool.len();
    let mut next_char = || -> Out<u8> {
        loop {
            if pos == pool.len() {
                getrandom::fill(&mut pool)
                    .map_err(|e| fail(format!("no random bytes from the system: {e}")))?;
                pos = 0;
            }
            let b = usize::from(pool.get(pos).copied().unwrap_or(0));
            pos += 1;
            if b < limit {
                return Ok(f.alphabet.get(b % n).copied().unwrap_or(b'?'));
            }
        }
    };
    let mut seen: HashSet<Box<[u8]>> = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count * (f.length + 1));
    let mut body = Vec::with_capacity(f.length);
    while seen.len() < count {
        body.clear();
        for _ in 0..f.random_len() {
            body.push(next_char()?);
        }
        if !seen.insert(body.clone().into_boxed_slice()) {
            continue;
        }
        let mut tail = Vec::with_capacity(f.mac_chars);
        mac_chars(&mac, &f, &body, &mut tail);
        body.extend_from_slice(&tail);
        let body_str = std::str::from_utf8(&body).map_err(|_| fail("internal: non-ASCII code"))?;
        let c = check_char(body_str, &f.alphabet_str)
            .ok_or_else(|| fail("internal: no check character"))?;
        out.extend_from_slice(f.prefix.as_bytes());
        out.extend_from_slice(&body);
        out.push(c as u8);
        out.push(b'\n');
    }
    a.out.write(&out)?;
    let bits = f.bits_per_char();
    let mut snippet = String::new();
    write_str(&mut snippet, &f.prefix);
    eprintln!(
        "generated {count} codes of {} characters: prefix {}, {} random ({:.1} bits), {} MAC ({:.1} bits), 1 check\n\
         manifest: {{ \"type\": \"bulk\", \"prefix\": {snippet}, \"length\": {}{} }}",
        f.length,
        f.prefix,
        f.random_len(),
        bits * f.random_len() as f64,
        f.mac_chars,
        bits * f.mac_chars as f64,
        f.length,
        if f.alphabet_str == DEFAULT_ALPHABET {
            ", \"check\": true"
        } else {
            ""
        }
    );
    Ok(())
}

fn check(a: &Check) -> Out<()> {
    let f = Format::read(&a.format, false)?;
    let mac = match &a.secret_file {
        Some(p) => Some(
            <Hmac<Sha256> as KeyInit>::new_from_slice(&load_secret(p)?)
                .map_err(|_| fail("the secret cannot key HMAC"))?,
        ),
        None => None,
    };
    let file_text;
    let mut typed: Vec<&str> = a.codes.iter().map(String::as_str).collect();
    if let Some(p) = &a.file {
        file_text = support::read_text(p)?;
        typed.extend(file_text.lines().filter(|l| !l.trim().is_empty()));
    }
    if typed.is_empty() {
        return Err(fail("no codes to check"));
    }
    let mut report = String::new();
    let mut bad = 0;
    for raw in typed {
        let verdict = match codes::normalize(raw, "code") {
            Err(e) => Err(e.to_string()),
            Ok(code) => judge(&code, &f, mac.as_ref()),
        };
        match verdict {
            Ok(v) => report.push_str(&format!("{raw}\t{v}\n")),
            Err(why) => {
                bad += 1;
                report.push_str(&format!("{raw}\tinvalid: {why}\n"));
            }
        }
    }
    support::print(&report)?;
    if bad > 0 {
        return Err(fail(format!("{bad} code(s) invalid")));
    }
    Ok(())
}

fn judge(code: &str, f: &Format, mac: Option<&Hmac<Sha256>>) -> Result<&'static str, String> {
    let rest = code
        .strip_prefix(f.prefix.as_str())
        .ok_or_else(|| format!("does not start with the prefix {}", f.prefix))?;
    if f.length > 0 && code.len() != f.length {
        return Err(format!("has {} characters, not {}", code.len(), f.length));
    }
    if rest.len() < f.mac_chars + 2 {
        return Err("too short".into());
    }
    if !check_ok(rest, &f.alphabet_str) {
        return Err("the check character does not match (a typo?)".into());
    }
    let Some(mac) = mac else {
        return Ok("format ok (no secret: the MAC is not checked)");
    };
    let body = rest.get(..rest.len() - 1).unwrap_or("");
    let random = body.get(..body.len() - f.mac_chars).unwrap_or("");
    let mut expect = Vec::new();
    mac_chars(mac, f, random.as_bytes(), &mut expect);
    if body.as_bytes().get(random.len()..) != Some(expect.as_slice()) {
        return Err("the MAC does not match: not a code made with this secret".into());
    }
    Ok("ok")
}

fn import(a: &Import) -> Out<()> {
    let path = a.csv.as_str();
    let coupon = a.coupon.as_str();
    a.out.check()?;
    let (engine, at) = match &a.manifest {
        Some(m) => {
            let (e, loaded_at) = load_engine(m, a.jwks.as_deref(), &a.clock)?;
            if e.manifest().coupon(coupon).is_none() {
                return Err(fail(format!("{m}: no coupon `{coupon}` in this manifest")));
            }
            (Some((e, m.as_str())), loaded_at)
        }
        None => (None, a.clock.now()),
    };
    let ctx = edge_coupons::input::UserContext {
        now: Some(support::show(at)),
        ..Default::default()
    };
    let (records, col, header) =
        support::read_csv_column(path, a.column.as_deref(), &["code", "codes", "coupon_code"])?;
    let mut seen = HashSet::new();
    let (mut problems, mut dups, mut blank) = (Vec::new(), 0usize, 0usize);
    let mut out = String::from("[\n");
    let mut first = true;
    let mut skip_header = header;
    for r in &records {
        if r.is_blank() {
            blank += 1;
            continue;
        }
        if skip_header {
            skip_header = false;
            continue;
        }
        let Some(raw) = r.fields.get(col) else {
            problems.push(format!("line {}: no column {}", r.line, col + 1));
            continue;
        };
        let code = match codes::normalize(raw, "code") {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("line {}: {e}", r.line));
                continue;
            }
        };
        if let Some((engine, m)) = &engine {
            let owner = engine
                .check_code(&code, &ctx)
                .map_err(support::with_file(m))?
                .coupon_id;
            if owner.as_deref() != Some(coupon) {
                problems.push(format!(
                    "line {}: `{code}` is not a code of coupon `{coupon}` (its prefix or length does not match{})",
                    r.line,
                    owner.map(|o| format!("; it belongs to `{o}`")).unwrap_or_default()
                ));
                continue;
            }
        }
        if !seen.insert(code.clone()) {
            dups += 1;
            continue;
        }
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str("{\"key\":");
        write_str(
            &mut out,
            &format!("bulkcode:{coupon}:{}", codes::hash_code(coupon, &code)),
        );
        out.push_str(",\"value\":");
        write_str(&mut out, coupon);
        out.push('}');
    }
    out.push_str("\n]\n");
    for p in problems.iter().take(50) {
        eprintln!("{path}: {p}");
    }
    if problems.len() > 50 {
        eprintln!("{path}: ... and {} more invalid rows", problems.len() - 50);
    }
    if a.strict && !problems.is_empty() {
        return Err(fail(format!(
            "{path}: {} invalid row(s); nothing written (--strict)",
            problems.len()
        )));
    }
    if seen.is_empty() {
        return Err(fail(format!("{path}: no valid codes")));
    }
    a.out.write(out.as_bytes())?;
    eprintln!(
        "imported {} code(s) for `{coupon}` from {path}: {} invalid row(s) skipped, {dups} repeated, {blank} blank line(s){}",
        seen.len(),
        problems.len(),
        if header { ", header line read" } else { "" }
    );
    Ok(())
}
