//! `keygen`, and reading signing keys (a private JWK, or a JWKS of them, picked by `kid`).

use crate::json::{parse, Source};
use crate::manifests::json_text;
use crate::support;
use crate::{fail, jsonerr, usage, Out};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use clap::{ArgGroup, Args};
use ed25519_dalek::SigningKey;
use edge_coupons::rules::Value;
use edge_coupons::KeySet;

/// Make an Ed25519 signing key (JWK, 0600) and add its public key to a JWKS
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("dest").required(true).args(["out", "stdout"])))]
pub struct Keygen {
    /// The key id (`kid`) the JWS header and the JWKS name it by, such as shop-2026-11
    #[arg(long, value_name = "KID", value_parser = kid_arg)]
    kid: String,
    /// Write the private JWK here, created with mode 0600 (missing folders are made; an existing
    /// file is kept unless --force)
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
    /// Print the private JWK to standard output instead (it is never printed otherwise)
    #[arg(long)]
    stdout: bool,
    /// Add the public key to this JWKS, made if missing; the keys already in it stay, so the
    /// Worker verifies manifests signed by the old and the new key (rotation)
    #[arg(long, value_name = "FILE")]
    jwks: Option<String>,
    /// Replace an existing --out file
    #[arg(long)]
    force: bool,
}

/// A signing key read from a file.
#[derive(Debug)]
pub struct PrivateKey {
    pub kid: String,
    pub secret: [u8; 32],
    pub x: String,
}

impl PrivateKey {
    /// The public JWK.
    pub fn public_jwk(&self) -> String {
        public_jwk(&self.kid, &self.x)
    }

    /// A key set with only this key's public part, as a Worker would have it.
    pub fn keyset(&self) -> Out<KeySet> {
        KeySet::from_json(&format!(r#"{{"keys":[{}]}}"#, self.public_jwk()))
            .map_err(|e| fail(format!("the public key of `{}`: {e}", self.kid)))
    }

    /// A fresh random key, for signing in memory only (preview and inspect of a JSON manifest).
    pub fn ephemeral() -> Out<PrivateKey> {
        let secret = random32()?;
        Ok(PrivateKey {
            kid: "couponctl-local".into(),
            x: x_of(&secret),
            secret,
        })
    }
}

fn public_jwk(kid: &str, x: &str) -> String {
    let mut out = String::new();
    crate::json::object(&mut out, &mut |f| {
        f.field("kty", &"OKP")
            .field("crv", &"Ed25519")
            .field("kid", &kid)
            .field("x", &x)
            .field("alg", &"EdDSA")
            .field("use", &"sig");
    });
    out
}

fn x_of(secret: &[u8; 32]) -> String {
    B64.encode(SigningKey::from_bytes(secret).verifying_key().to_bytes())
}

/// 32 bytes from the operating system's random source.
pub fn random32() -> Out<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| fail(format!("no random bytes from the system: {e}")))?;
    Ok(b)
}

fn kid_arg(kid: &str) -> Result<String, String> {
    if kid.is_empty()
        || kid.len() > 128
        || !kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("--kid takes 1 to 128 characters of A-Z, a-z, 0-9, `-`, `_` and `.`".into());
    }
    Ok(kid.to_string())
}

pub fn keygen(a: &Keygen) -> Out<()> {
    let kid = a.kid.as_str();
    if let Some(out) = &a.out {
        support::refuse_existing(out, a.force)?;
        if a.jwks
            .as_deref()
            .is_some_and(|j| support::same_file(out, j))
        {
            return Err(usage(format!(
                "--out and --jwks are both {out}: the public key set would replace the private key"
            )));
        }
    }
    // Read the JWKS first, so a bad one stops us before a key file is written.
    let jwks = match a.jwks.as_deref() {
        Some(path) => Some((path, merged_jwks(path, kid)?)),
        None => None,
    };
    let secret = random32()?;
    let x = x_of(&secret);
    let mut private = String::new();
    crate::json::object(&mut private, &mut |f| {
        f.field("kty", &"OKP")
            .field("crv", &"Ed25519")
            .field("kid", &kid)
            .field("x", &x.as_str())
            .field("d", &B64.encode(secret).as_str())
            .field("alg", &"EdDSA")
            .field("use", &"sig");
    });
    private.push('\n');
    // Both files are written before either is placed, the key set first: a key set that cannot
    // be written leaves no private key behind whose public half is nowhere, and a key set that
    // did not exist is never placed over a file made since (the key, by another name for it).
    let key_file = match a.out.as_deref() {
        Some(path) => Some((
            support::stage(path, private.as_bytes(), a.force, true)?,
            path,
        )),
        None => None,
    };
    let jwks_file = match jwks {
        Some((path, mut set)) => {
            set.keys.push(public_jwk(kid, &x));
            let n = set.keys.len();
            // An existing JWKS is updated in place (rotation keeps the old keys).
            let file = support::stage(path, set.text().as_bytes(), set.existed, false)?;
            Some((file, path, n))
        }
        None => None,
    };
    if let Some((file, path, n)) = jwks_file {
        file.place()?;
        eprintln!("added the public key `{kid}` to {path} ({n} key(s)): hand this file to Workers and pages");
    }
    match key_file {
        Some((file, path)) => {
            file.place()?;
            eprintln!("wrote the private key `{kid}` to {path} (mode 0600); keep it secret");
        }
        None => support::print(&private)?,
    }
    Ok(())
}

/// An existing JWKS, checked, refusing a `kid` that is already there.
fn merged_jwks(path: &str, kid: &str) -> Out<Jwks> {
    if !std::path::Path::new(path).exists() {
        return Ok(Jwks::default());
    }
    let text = support::read_text(path)?;
    let set = KeySet::from_json(&text).map_err(|e| jsonerr::in_file(path, text.as_bytes(), &e))?;
    if set.keys.iter().any(|k| k.kid.as_deref() == Some(kid)) {
        return Err(fail(format!(
            "{path}: already has a key `{kid}`; pick a new --kid for the new key"
        )));
    }
    if set.keys.iter().any(|k| k.d.is_some()) {
        return Err(fail(format!(
            "{path}: holds a private key (`d`); a JWKS for Workers and pages must hold public keys only"
        )));
    }
    let tree = parse(text.as_bytes(), Source::Request).map_err(support::with_file(path))?;
    // Each key, and each member beside `keys`, as it was (numbers stay numbers).
    let mut kept = Jwks {
        existed: true,
        ..Jwks::default()
    };
    if let Value::Map(m) = &tree {
        for (name, v) in m.iter() {
            match (name.as_str(), v) {
                ("keys", Value::List(l)) => kept.keys = l.iter().map(json_text).collect(),
                _ => {
                    let mut member = String::new();
                    crate::json::write_str(&mut member, name);
                    kept.others.push(format!("{member}: {}", json_text(v)));
                }
            }
        }
    }
    Ok(kept)
}

/// A key set, as JSON texts: its keys, and its other members (`"name": value`); `existed` when it
/// was read from a file.
#[derive(Default)]
struct Jwks {
    keys: Vec<String>,
    others: Vec<String>,
    existed: bool,
}

impl Jwks {
    fn text(&self) -> String {
        let others: String = self.others.iter().map(|m| format!(",\n  {m}")).collect();
        format!(
            "{{\n  \"keys\": [\n    {}\n  ]{others}\n}}\n",
            self.keys.join(",\n    ")
        )
    }
}

fn text_field(m: &edge_coupons::rules::Map, name: &str) -> Option<String> {
    match m.get(name) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Reads a private key: a JWK, or a JWKS of private keys, picking `kid` (needed when there are
/// several).
pub fn load_private(path: &str, kid: Option<&str>) -> Out<PrivateKey> {
    let text = support::read(path)?;
    let tree = jsonerr::parse_file(path, &text, Source::Request)?;
    let candidates: Vec<&edge_coupons::rules::Map> = match &tree {
        Value::Map(m) => match m.get("keys") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|k| match k {
                    Value::Map(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => vec![m],
        },
        _ => Vec::new(),
    };
    let chosen = match kid {
        Some(kid) => candidates
            .iter()
            .find(|m| text_field(m, "kid").as_deref() == Some(kid))
            .ok_or_else(|| fail(format!("{path}: no key with kid `{kid}` in this file")))?,
        None => match candidates.as_slice() {
            [one] => one,
            [] => return Err(fail(format!("{path}: not a JWK or a JWKS"))),
            _ => {
                return Err(usage(format!(
                    "{path} holds {} keys: choose one with --kid",
                    candidates.len()
                )))
            }
        },
    };
    let kid =
        text_field(chosen, "kid").ok_or_else(|| fail(format!("{path}: the key has no `kid`")))?;
    // The kid goes into every JWS header signed with the key: the same characters keygen allows.
    kid_arg(&kid).map_err(|e| {
        fail(format!(
            "{path}: the key's `kid`: {}",
            e.replace("--kid", "a kid")
        ))
    })?;
    if text_field(chosen, "kty").as_deref() != Some("OKP")
        || text_field(chosen, "crv").as_deref() != Some("Ed25519")
    {
        return Err(fail(format!(
            "{path}: key `{kid}` is not an Ed25519 key (kty OKP, crv Ed25519)"
        )));
    }
    let d = text_field(chosen, "d").ok_or_else(|| {
        fail(format!(
            "{path}: key `{kid}` has no private part `d`: this is a public key; sign with the file keygen wrote"
        ))
    })?;
    let secret: [u8; 32] = B64
        .decode(d.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            fail(format!(
                "{path}: key `{kid}`: `d` is not 32 bytes of base64url"
            ))
        })?;
    let x = x_of(&secret);
    if let Some(given) = text_field(chosen, "x") {
        if given != x {
            return Err(fail(format!(
                "{path}: key `{kid}`: `x` is not the public key of `d` (a damaged or mixed-up key file)"
            )));
        }
    }
    Ok(PrivateKey { kid, secret, x })
}

/// Reads a public JWKS.
pub fn load_jwks(path: &str) -> Out<KeySet> {
    let text = support::read_text(path)?;
    KeySet::from_json(&text).map_err(|e| jsonerr::in_file(path, text.as_bytes(), &e))
}
