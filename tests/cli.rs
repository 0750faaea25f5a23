//! `couponctl`, run as a built binary: every subcommand, the happy path and bad files (wrong CSV,
//! wrong key, truncated JWS), each failure with a clear message and a non-zero exit, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const NOW: &str = "2026-01-15T12:00:00Z";
const DEMO: &str = "docs/examples/demo-manifest.json";
const TEST_KEY: &str = "tests/keys/test-signing-key.jwk.json";
const TEST_JWKS: &str = "tests/keys/test-jwks.json";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ctl(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_couponctl"))
        .args(args)
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "couponctl panicked on {args:?}: {}",
        run.stderr
    );
    run
}

/// Runs and expects success.
fn ok(args: &[&str]) -> Run {
    let r = ctl(args);
    assert_eq!(r.code, 0, "{args:?} failed: {}{}", r.stdout, r.stderr);
    r
}

/// Runs and expects failure with `code` and a message containing `needle`: `couponctl: ...`, or
/// for a usage error that clap finds, clap's `error: ...` with the usage line.
fn fails(args: &[&str], code: i32, needle: &str) -> Run {
    let r = ctl(args);
    assert_eq!(r.code, code, "{args:?}: {}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{args:?}: stderr lacks {needle:?}: {}",
        r.stderr
    );
    let clap_usage = code == 2 && r.stderr.starts_with("error: ");
    assert!(
        clap_usage || r.stderr.starts_with("couponctl: ") || r.stderr.contains("\ncouponctl: "),
        "{args:?}: {}",
        r.stderr
    );
    r
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("couponctl-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `dir/cart.json`: a USD cart of one line at 10.00.
fn one_line_cart(dir: &Path) -> PathBuf {
    let cart = dir.join("cart.json");
    std::fs::write(
        &cart,
        r#"{"currency":"USD","lines":[{"id":"a","product_id":"p","quantity":1,"unit_price":"10.00"}]}"#,
    )
    .unwrap();
    cart
}

#[test]
fn help_on_every_subcommand() {
    let all: &[&[&str]] = &[
        &["--help"],
        &["keygen", "--help"],
        &["sign", "--help"],
        &["verify", "--help"],
        &["inspect", "--help"],
        &["codes", "--help"],
        &["codes", "secret", "--help"],
        &["codes", "generate", "--help"],
        &["codes", "check", "--help"],
        &["codes", "import", "--help"],
        &["assign", "--help"],
        &["preview", "--help"],
        &["upload", "--help"],
        &["help", "sign"],
        &["codes", "help", "generate"],
    ];
    for args in all {
        let r = ok(args);
        assert!(r.stdout.contains("Usage: couponctl"), "{args:?}");
    }
    // `help <command>` is that command's help, not the list of commands.
    let r = ok(&["help", "sign"]);
    assert!(r.stdout.contains("Usage: couponctl sign ") && r.stdout.contains("--key <FILE>"));
    assert!(!r.stdout.contains("Commands:"), "{}", r.stdout);
    let r = ok(&["--version"]);
    assert_eq!(
        r.stdout.trim(),
        format!("couponctl {}", env!("CARGO_PKG_VERSION"))
    );
    // No command: the list, on standard error, exit 2.
    let r = ctl(&[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Usage: couponctl <COMMAND>") && r.stderr.contains("upload"));
    fails(&["frobnicate"], 2, "unrecognized subcommand 'frobnicate'");
    fails(&["sign", "--bogus"], 2, "unexpected argument '--bogus'");
    fails(
        &["codes", "generate", "--count", "many"],
        2,
        "invalid value 'many' for '--count <N>'",
    );
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_writes_a_0600_key_and_merges_the_jwks() {
    let d = tmp("keygen");
    let (k1, k2, jwks) = (d.join("k1.jwk"), d.join("k2.jwk"), d.join("jwks.json"));
    let r = ok(&[
        "keygen",
        "--kid",
        "shop-1",
        "--out",
        p(&k1),
        "--jwks",
        p(&jwks),
    ]);
    #[cfg(unix)]
    assert_eq!(mode(&k1), 0o600);
    let private = std::fs::read_to_string(&k1).unwrap();
    let key: serde_json::Value = serde_json::from_str(&private).unwrap();
    let secret = key["d"].as_str().unwrap();
    assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    ok(&[
        "keygen",
        "--kid",
        "shop-2",
        "--out",
        p(&k2),
        "--jwks",
        p(&jwks),
    ]);
    let set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["shop-1", "shop-2"]);
    assert!(set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("d").is_none()));
    edge_coupons::KeySet::from_json(&std::fs::read_to_string(&jwks).unwrap()).unwrap();

    // Never overwrite a key; never two keys with one kid.
    fails(&["keygen", "--kid", "shop-3", "--out", p(&k1)], 1, "exists");
    assert_eq!(std::fs::read_to_string(&k1).unwrap(), private);
    fails(
        &[
            "keygen",
            "--kid",
            "shop-2",
            "--out",
            p(&d.join("k3")),
            "--jwks",
            p(&jwks),
        ],
        1,
        "already has a key `shop-2`",
    );
    // --stdout prints the private key, and only then.
    let r = ok(&["keygen", "--kid", "tmp", "--stdout"]);
    assert!(r.stdout.contains("\"d\":"));
    fails(&["keygen", "--kid", "x"], 2, "<--out <FILE>|--stdout>");
    fails(
        &["keygen", "--kid", "bad kid", "--stdout"],
        2,
        "--kid takes",
    );
}

#[test]
fn sign_verify_with_rotation_and_bad_keys() {
    let d = tmp("sign");
    let (k1, k2, jwks) = (d.join("k1.jwk"), d.join("k2.jwk"), d.join("jwks.json"));
    ok(&[
        "keygen",
        "--kid",
        "old",
        "--out",
        p(&k1),
        "--jwks",
        p(&jwks),
    ]);
    ok(&[
        "keygen",
        "--kid",
        "new",
        "--out",
        p(&k2),
        "--jwks",
        p(&jwks),
    ]);
    let (jws_old, jws_new) = (d.join("old.jws"), d.join("new.jws"));
    ok(&[
        "sign",
        "--key",
        p(&k1),
        "--now",
        NOW,
        "--out",
        p(&jws_old),
        DEMO,
    ]);
    let r = ok(&[
        "sign",
        "--key",
        p(&k2),
        "--kid",
        "new",
        "--now",
        NOW,
        "--out",
        p(&jws_new),
        DEMO,
    ]);
    assert!(r.stderr.contains("kid `new`"));
    // Both verify against the rotated JWKS.
    for jws in [&jws_old, &jws_new] {
        let r = ok(&["verify", "--jwks", p(&jwks), "--now", NOW, p(jws)]);
        assert!(r.stdout.starts_with("ok: "), "{}", r.stdout);
        assert!(r.stdout.contains("manifest `demo-shop`"));
    }
    // The same JWS loads in the library, as the Worker would load it.
    let keys = edge_coupons::KeySet::from_json(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    let now = edge_coupons::time::parse_instant(NOW, "now").unwrap();
    let text = std::fs::read_to_string(&jws_new).unwrap();
    edge_coupons::Engine::from_signed_manifest(text.trim_end(), &keys, now, Default::default())
        .unwrap();

    // A JWKS without the key, another key under the same kid, a truncated JWS, a payload edit.
    fails(
        &["verify", "--jwks", TEST_JWKS, "--now", NOW, p(&jws_new)],
        1,
        "MANIFEST_KEY_UNKNOWN",
    );
    let impostor = d.join("impostor.jwk");
    ok(&["keygen", "--kid", "new", "--out", p(&impostor)]);
    let forged = d.join("forged.jws");
    ok(&[
        "sign",
        "--key",
        p(&impostor),
        "--now",
        NOW,
        "--out",
        p(&forged),
        DEMO,
    ]);
    fails(
        &["verify", "--jwks", p(&jwks), "--now", NOW, p(&forged)],
        1,
        "MANIFEST_SIGNATURE_INVALID",
    );
    let truncated = d.join("truncated.jws");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    fails(
        &["verify", "--jwks", p(&jwks), "--now", NOW, p(&truncated)],
        1,
        "MANIFEST_MALFORMED",
    );
    std::fs::write(&truncated, &text[..text.trim_end().len() - 3]).unwrap();
    let r = fails(
        &["verify", "--jwks", p(&jwks), "--now", NOW, p(&truncated)],
        1,
        "MANIFEST_SIGNATURE_INVALID",
    );
    assert!(r.stderr.contains("truncated.jws"), "names the file");
    fails(
        &[
            "verify",
            "--jwks",
            p(&jwks),
            "--now",
            "2026-03-01T00:00:00Z",
            p(&jws_new),
        ],
        1,
        "MANIFEST_EXPIRED",
    );

    // Wrong key files for sign.
    fails(
        &["sign", "--key", p(&jwks), "--kid", "old", DEMO],
        1,
        "no private part `d`",
    );
    fails(
        &["sign", "--key", p(&jwks), DEMO],
        2,
        "choose one with --kid",
    );
    fails(
        &["sign", "--key", p(&k1), "--kid", "nope", DEMO],
        1,
        "no key with kid `nope`",
    );
    let garbage = d.join("garbage.jwk");
    std::fs::write(&garbage, "not json").unwrap();
    fails(
        &["sign", "--key", p(&garbage), DEMO],
        1,
        "garbage.jwk:1:2: INVALID_REQUEST: not valid JSON",
    );
    let mixed = d.join("mixed.jwk");
    let mut key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&k1).unwrap()).unwrap();
    key["x"] = serde_json::Value::String("1Mauv722HLFphMxLIhYGobLGxJGkHOiOg03WYhPqwOI".into());
    std::fs::write(&mixed, key.to_string()).unwrap();
    fails(
        &["sign", "--key", p(&mixed), DEMO],
        1,
        "`x` is not the public key of `d`",
    );
    fails(
        &["sign", "--key", TEST_KEY, p(&d.join("missing.json"))],
        1,
        "cannot read",
    );
}

#[test]
fn sign_refuses_what_the_engine_refuses_with_file_and_path() {
    let d = tmp("invalid");
    let bad = d.join("bad.json");
    let text = std::fs::read_to_string(DEMO).unwrap().replacen(
        "\"percent\": \"10\"",
        "\"percent\": \"110\"",
        1,
    );
    std::fs::write(&bad, text).unwrap();
    let r = fails(
        &["sign", "--key", TEST_KEY, "--now", NOW, p(&bad)],
        1,
        "MANIFEST_INVALID",
    );
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
    assert!(
        r.stderr.contains("coupons[0].reward.percent"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing signed");
    std::fs::write(&bad, "{\"version\": 2}").unwrap();
    fails(
        &["sign", "--key", TEST_KEY, p(&bad)],
        1,
        "MANIFEST_VERSION_UNSUPPORTED",
    );
    std::fs::write(&bad, "{ nope").unwrap();
    fails(&["sign", "--key", TEST_KEY, p(&bad)], 1, "MANIFEST_INVALID");
    // A manifest that expired is not signed.
    fails(
        &[
            "sign",
            "--key",
            TEST_KEY,
            "--now",
            "2027-01-01T00:00:00Z",
            DEMO,
        ],
        1,
        "MANIFEST_EXPIRED",
    );
}

#[test]
fn sign_fills_code_hash_for_hidden_coupons() {
    let d = tmp("hash");
    let manifest = d.join("m.json");
    std::fs::write(
        &manifest,
        r#"{"version":1,"id":"shop-h","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z",
        "currency":"USD","coupons":[{"id":"staff","name":"Staff","status":"active","visibility":"hidden",
        "codes":{"type":"static","code":"team-secret-42"},
        "reward":{"type":"percentage","percent":"20","target":{"type":"order"}}}]}"#,
    )
    .unwrap();
    let jws = d.join("m.jws");
    let r = ok(&[
        "sign",
        "--key",
        TEST_KEY,
        "--now",
        NOW,
        "--out",
        p(&jws),
        p(&manifest),
    ]);
    assert!(r.stderr.contains("code_hash filled for 1 hidden coupon"));
    let text = std::fs::read_to_string(&jws).unwrap();
    let payload = text.trim_end().split('.').nth(1).unwrap();
    use base64::Engine as _;
    let payload = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert!(!payload.to_uppercase().contains("SECRET"), "{payload}");
    assert!(payload.contains(&edge_coupons::codes::hash_code("shop-h", "TEAMSECRET42")));
    // The typed code applies through the hash.
    let cart = one_line_cart(&d);
    let r = ok(&[
        "preview",
        "--manifest",
        p(&jws),
        "--jwks",
        TEST_JWKS,
        "--cart",
        p(&cart),
        "--code",
        "Team-Secret-42",
        "--now",
        NOW,
    ]);
    assert!(
        r.stdout.contains("staff") && r.stdout.contains("-2.00"),
        "{}",
        r.stdout
    );
}

#[test]
fn inspect_lists_status_hidden_bulk_and_local_times() {
    let r = ok(&["inspect", "--now", NOW, "--tz", "+05:30", DEMO]);
    assert!(r.stdout.contains("manifest `demo-shop` (USD)"));
    assert!(r.stdout.contains("flash-sale  [paused]"), "{}", r.stdout);
    assert!(r.stdout.contains("team-25  [active]  hidden"));
    assert!(r.stdout.contains("bulk codes BACK…, 12 characters"));
    assert!(r.stdout.contains("expiry:     2d after assignment"));
    assert!(r.stdout.contains("issued 2026-01-01 05:30 +05:30"));
    assert!(
        r.stdout.contains("limits:     1 per user\n"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("reward:     percentage on order (10% off the order, up to 20.00 USD)"));
    assert!(r
        .stdout
        .contains("\nhidden: team-25\nbulk codes: comeback-15\n"));
    let r = ok(&["inspect", "--now", NOW, DEMO]);
    assert!(r.stdout.contains("issued 2026-01-01 00:00 UTC"));
    // A signed manifest needs its key set; a bad offset is a usage error.
    let d = tmp("inspect");
    let jws = d.join("demo.jws");
    ok(&[
        "sign",
        "--key",
        TEST_KEY,
        "--now",
        NOW,
        "--out",
        p(&jws),
        DEMO,
    ]);
    fails(&["inspect", "--now", NOW, p(&jws)], 2, "give --jwks");
    ok(&["inspect", "--now", NOW, "--jwks", TEST_JWKS, p(&jws)]);
    fails(
        &["inspect", "--tz", "Mars/Olympus", DEMO],
        2,
        "invalid value 'Mars/Olympus' for '--tz <ZONE>'",
    );
}

#[test]
fn inspect_words_code_sources_and_limit_groups() {
    let r = ok(&[
        "inspect",
        "--now",
        "2026-12-01T12:00:00Z",
        "docs/examples/staff-and-newsletter-shoes.json",
    ]);
    assert!(
        r.stdout
            .contains("redeem:     static code (hash only); or bulk codes NEWS…, 12 characters\n"),
        "{}",
        r.stdout
    );
    let d = tmp("inspect-groups");
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/vectors/400-limit-group-per-user-shared.json").unwrap(),
    )
    .unwrap();
    let m = d.join("groups.json");
    std::fs::write(&m, vector["manifest"].to_string()).unwrap();
    let r = ok(&["inspect", "--now", "2026-11-23T12:00:00Z", p(&m)]);
    assert!(
        r.stdout
            .contains("group:      `staff20`, shared: 1 per user, 500 in all\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn codes_generate_check_and_mac() {
    let d = tmp("codes");
    let (secret, other, out) = (d.join("mac"), d.join("mac2"), d.join("codes.txt"));
    ok(&["codes", "secret", "--out", p(&secret)]);
    #[cfg(unix)]
    assert_eq!(mode(&secret), 0o600);
    ok(&["codes", "secret", "--out", p(&other)]);
    let r = ok(&[
        "codes",
        "generate",
        "--count",
        "2000",
        "--prefix",
        "back",
        "--secret-file",
        p(&secret),
        "--out",
        p(&out),
    ]);
    assert!(
        r.stderr
            .contains(r#""prefix": "BACK", "length": 17, "check": true"#),
        "{}",
        r.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let codes: Vec<&str> = text.lines().collect();
    assert_eq!(codes.len(), 2000);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 2000);
    for c in &codes {
        assert_eq!(c.len(), 17);
        assert!(c.starts_with("BACK"));
        assert!(c[4..].bytes().all(|b| edge_coupons::codes::DEFAULT_ALPHABET
            .as_bytes()
            .contains(&b)));
        assert!(edge_coupons::codes::check_ok(
            &c[4..],
            edge_coupons::codes::DEFAULT_ALPHABET
        ));
    }
    let r = ok(&[
        "codes",
        "check",
        "--prefix",
        "BACK",
        "--length",
        "17",
        "--secret-file",
        p(&secret),
        "--file",
        p(&out),
    ]);
    assert_eq!(
        r.stdout.lines().filter(|l| l.ends_with("\tok")).count(),
        2000
    );
    // Without the secret: format only, as a browser could.
    let r = ok(&["codes", "check", "--prefix", "BACK", codes[0]]);
    assert!(r.stdout.contains("format ok"));
    // A typo, a neighbour swap, another secret, a guess with a right check character.
    let mut typo = codes[0].as_bytes().to_vec();
    typo[6] = if typo[6] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    let r = fails(
        &["codes", "check", "--prefix", "BACK", &typo],
        1,
        "1 code(s) invalid",
    );
    assert!(r.stdout.contains("check character does not match"));
    let swap: String = codes
        .iter()
        .find_map(|c| {
            let b = c.as_bytes();
            (b[8] != b[9]).then(|| {
                let mut s = b.to_vec();
                s.swap(8, 9);
                String::from_utf8(s).unwrap()
            })
        })
        .unwrap();
    fails(&["codes", "check", "--prefix", "BACK", &swap], 1, "invalid");
    let r = fails(
        &[
            "codes",
            "check",
            "--prefix",
            "BACK",
            "--secret-file",
            p(&other),
            codes[1],
        ],
        1,
        "invalid",
    );
    assert!(r.stdout.contains("MAC does not match"));
    let body = "2222222ABCDE";
    let guess = format!(
        "BACK{body}{}",
        edge_coupons::codes::check_char(body, edge_coupons::codes::DEFAULT_ALPHABET).unwrap()
    );
    let r = fails(
        &[
            "codes",
            "check",
            "--prefix",
            "BACK",
            "--secret-file",
            p(&secret),
            &guess,
        ],
        1,
        "invalid",
    );
    assert!(r.stdout.contains("MAC does not match"), "{}", r.stdout);

    // Options that cannot work are refused before anything is written.
    fails(
        &[
            "codes",
            "generate",
            "--count",
            "5",
            "--prefix",
            "B",
            "--secret-file",
            p(&secret),
            "--alphabet",
            "ABCDEF",
        ],
        2,
        "prime number",
    );
    fails(
        &[
            "codes",
            "generate",
            "--count",
            "5",
            "--prefix",
            "B",
            "--secret-file",
            p(&secret),
            "--length",
            "9",
        ],
        2,
        "fewer than 6 random",
    );
    fails(
        &[
            "codes",
            "generate",
            "--count",
            "5",
            "--prefix",
            "B",
            "--secret-file",
            p(&d.join("none")),
        ],
        1,
        "cannot read",
    );
    std::fs::write(d.join("junk"), "%%%").unwrap();
    fails(
        &[
            "codes",
            "generate",
            "--count",
            "5",
            "--prefix",
            "B",
            "--secret-file",
            p(&d.join("junk")),
        ],
        1,
        "not a code MAC secret",
    );
    fails(
        &[
            "codes",
            "generate",
            "--count",
            "100000",
            "--prefix",
            "B",
            "--secret-file",
            p(&secret),
            "--alphabet",
            "2345678",
            "--length",
            "12",
        ],
        2,
        "too few",
    );
    // Another alphabet of a prime size works, with its own check character.
    let r = ok(&[
        "codes",
        "generate",
        "--count",
        "3",
        "--prefix",
        "X",
        "--secret-file",
        p(&secret),
        "--alphabet",
        "ABCDEFGHJKLMNPQRSTUVWXYZ23456",
        "--mac-chars",
        "2",
    ]);
    for c in r.stdout.lines() {
        assert!(edge_coupons::codes::check_ok(
            &c[1..],
            "ABCDEFGHJKLMNPQRSTUVWXYZ23456"
        ));
    }
    assert!(!r.stderr.contains("\"check\": true"));
}

#[test]
fn codes_import_reads_csv_and_reports_bad_rows() {
    let d = tmp("import");
    let csv = d.join("partner.csv");
    std::fs::write(
        &csv,
        "partner,Code,note\r\nacme,\"BACK-7H2K-Q9ZX\",\"first, with a comma\"\n\nacme,back7h2kq9zx,dup\nacme,BAD!,x\nacme,BACK4M7QX2PD,\"multi\nline\"\nacme,BACKSHORT,x\n",
    )
    .unwrap();
    let out = d.join("kv.json");
    let r = ok(&[
        "codes",
        "import",
        "--coupon",
        "comeback-15",
        "--out",
        p(&out),
        p(&csv),
    ]);
    assert!(r.stderr.contains("partner.csv: line 5: "), "{}", r.stderr);
    assert!(r.stderr.contains("imported 3 code(s)"), "{}", r.stderr);
    assert!(r.stderr.contains("1 repeated"));
    let kv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let keys: Vec<&str> = kv
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    let h = |c: &str| {
        format!(
            "bulkcode:comeback-15:{}",
            edge_coupons::codes::hash_code("comeback-15", c)
        )
    };
    assert_eq!(keys, [h("BACK7H2KQ9ZX"), h("BACK4M7QX2PD"), h("BACKSHORT")]);
    assert!(
        !std::fs::read_to_string(&out).unwrap().contains("7H2K"),
        "nothing readable"
    );
    // With the manifest, the engine checks every code belongs to the coupon (prefix and length).
    let r = ok(&[
        "codes",
        "import",
        "--coupon",
        "comeback-15",
        "--manifest",
        DEMO,
        "--now",
        NOW,
        p(&csv),
    ]);
    assert!(
        r.stderr
            .contains("line 8: `BACKSHORT` is not a code of coupon `comeback-15`"),
        "{}",
        r.stderr
    );
    // --strict refuses the file and writes nothing.
    let strict = d.join("strict.json");
    fails(
        &[
            "codes",
            "import",
            "--coupon",
            "comeback-15",
            "--strict",
            "--out",
            p(&strict),
            p(&csv),
        ],
        1,
        "--strict",
    );
    assert!(!strict.exists());
    // Broken CSV files.
    std::fs::write(&csv, "code\n\"BACK1234567\n").unwrap();
    fails(
        &["codes", "import", "--coupon", "c", p(&csv)],
        1,
        "line 2: a quoted field is not closed",
    );
    std::fs::write(&csv, "code\nab\"c\n").unwrap();
    fails(
        &["codes", "import", "--coupon", "c", p(&csv)],
        1,
        "a quote inside an unquoted field",
    );
    std::fs::write(&csv, "code\n!!!\n").unwrap();
    fails(
        &["codes", "import", "--coupon", "c", p(&csv)],
        1,
        "no valid codes",
    );
    std::fs::write(&csv, [0xff, 0xfe, b'\n']).unwrap();
    fails(
        &["codes", "import", "--coupon", "c", p(&csv)],
        1,
        "not UTF-8",
    );
    fails(
        &[
            "codes",
            "import",
            "--coupon",
            "nope",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            p(&csv),
        ],
        1,
        "no coupon `nope`",
    );
}

/// Without --now, a manifest issued after the clock loads at its `issued_at`, and the codes are
/// checked at that instant too: a call dated before `issued_at` is refused (MANIFEST_NOT_YET_VALID).
#[test]
fn codes_of_a_manifest_issued_after_the_clock_are_imported_and_assigned() {
    let d = tmp("issued-later");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DEMO).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = |days: i64| {
        chrono::DateTime::from_timestamp(now + days * 86_400, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    m["issued_at"] = at(1).into();
    m["expires_at"] = at(30).into();
    let manifest = d.join("later.json");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let csv = d.join("codes.csv");
    std::fs::write(&csv, "code\nBACK4M7QX2PD\nBACKSHORT\n").unwrap();
    let r = ok(&[
        "codes",
        "import",
        "--coupon",
        "comeback-15",
        "--manifest",
        p(&manifest),
        p(&csv),
    ]);
    assert!(r.stderr.contains("imported 1 code(s)"), "{}", r.stderr);
    assert!(
        r.stderr.contains("`BACKSHORT` is not a code"),
        "{}",
        r.stderr
    );
    let users = d.join("users.csv");
    std::fs::write(&users, "user_id\nu1\n").unwrap();
    let codes = d.join("codes.txt");
    std::fs::write(&codes, "BACK4M7QX2PD\n").unwrap();
    let r = ok(&[
        "assign",
        "--manifest",
        p(&manifest),
        "--coupon",
        "comeback-15",
        "--codes",
        p(&codes),
        p(&users),
    ]);
    assert!(r.stdout.contains("BACK4M7QX2PD"), "{}", r.stdout);
    // preview too: priced at issued_at (a request's `now` or --now is kept as asked).
    let cart = one_line_cart(&d);
    let r = ok(&[
        "preview",
        "--json",
        "--manifest",
        p(&manifest),
        "--cart",
        p(&cart),
    ]);
    assert!(
        r.stdout.contains(&format!("\"now\":\"{}\"", at(1))),
        "{}",
        r.stdout
    );
}

#[test]
fn assign_makes_records_with_codes() {
    let d = tmp("assign");
    let users = d.join("users.csv");
    std::fs::write(
        &users,
        "user_id,assigned_at\nu1,\nu2,2026-01-14T09:00:00+01:00\n\nu1,\nu3,yesterday\n",
    )
    .unwrap();
    let codes = d.join("codes.txt");
    std::fs::write(&codes, "BACK-4M7Q-X2PD\nBACK7H2KQ9ZX\nBACK22222222\n").unwrap();
    let r = ok(&[
        "assign",
        "--manifest",
        DEMO,
        "--now",
        NOW,
        "--coupon",
        "comeback-15",
        "--codes",
        p(&codes),
        "--at",
        "2026-01-15T10:00:00Z",
        p(&users),
    ]);
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["user_id"], "u1");
    assert_eq!(lines[0]["assigned_at"], "2026-01-15T10:00:00Z");
    assert_eq!(lines[0]["code"], "BACK4M7QX2PD");
    assert_eq!(lines[1]["assigned_at"], "2026-01-14T08:00:00Z");
    assert_eq!(lines[1]["code"], "BACK7H2KQ9ZX");
    assert!(r.stderr.contains("line 6: "), "{}", r.stderr);
    assert!(r.stderr.contains("1 repeated"));
    // Not a campaign coupon; a code of another coupon; too few codes.
    fails(
        &[
            "assign",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--coupon",
            "shoes-15",
            p(&users),
        ],
        1,
        "not for assigned users",
    );
    std::fs::write(&codes, "SHOES15\n").unwrap();
    fails(
        &[
            "assign",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--coupon",
            "comeback-15",
            "--codes",
            p(&codes),
            p(&users),
        ],
        1,
        "is not a code of coupon `comeback-15`",
    );
    std::fs::write(&codes, "BACK22222222\n").unwrap();
    fails(
        &[
            "assign",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--coupon",
            "comeback-15",
            "--codes",
            p(&codes),
            p(&users),
        ],
        1,
        "no codes left",
    );
    fails(
        &[
            "assign",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--coupon",
            "comeback-15",
            p(&users),
        ],
        2,
        "give --codes",
    );
}

#[test]
fn preview_prices_a_cart_with_the_engine() {
    let d = tmp("preview");
    let cart = d.join("cart.json");
    std::fs::write(
        &cart,
        r#"{"currency":"USD","lines":[{"id":"l1","product_id":"runner-42","quantity":1,"unit_price":"89.99","attributes":{"category":"shoes"}}],"shipping":{"amount":"7.95"}}"#,
    )
    .unwrap();
    let r = ok(&[
        "preview",
        "--manifest",
        DEMO,
        "--cart",
        p(&cart),
        "--code",
        "shoes15",
        "--code",
        "NOPE",
        "--now",
        NOW,
    ]);
    assert!(
        r.stdout
            .contains("l1 (runner-42)  1    89.99     13.50     76.49"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("total 76.49 USD"), "{}", r.stdout);
    assert!(r.stdout.contains("NOPE    UNKNOWN_CODE"), "{}", r.stdout);
    // --json is the engine's own result.
    let r = ok(&[
        "preview",
        "--manifest",
        DEMO,
        "--cart",
        p(&cart),
        "--code",
        "shoes15",
        "--now",
        NOW,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["totals"]["discount"], "21.45");
    assert_eq!(v["manifest_id"], "demo-shop");
    // A whole request file, and bad input with its code, file and path.
    let req = d.join("req.json");
    std::fs::write(
        &req,
        format!(
            r#"{{"now":"{NOW}","cart":{},"codes":["SHOES15"]}}"#,
            std::fs::read_to_string(&cart).unwrap()
        ),
    )
    .unwrap();
    let r = ok(&[
        "preview",
        "--manifest",
        DEMO,
        "--request",
        p(&req),
        "--json",
    ]);
    assert!(r.stdout.contains("\"discount\":\"21.45\""));
    std::fs::write(&cart, r#"{"currency":"USD","lines":[{"id":"a","product_id":"p","quantity":1,"unit_price":12.5}]}"#).unwrap();
    let r = fails(
        &[
            "preview",
            "--manifest",
            DEMO,
            "--cart",
            p(&cart),
            "--now",
            NOW,
        ],
        1,
        "INVALID_AMOUNT",
    );
    assert!(
        r.stderr.contains("cart.lines[0].unit_price") && r.stderr.contains("cart.json"),
        "{}",
        r.stderr
    );
    std::fs::write(&cart, r#"{"currency":"EUR","lines":[]}"#).unwrap();
    fails(
        &[
            "preview",
            "--manifest",
            DEMO,
            "--cart",
            p(&cart),
            "--now",
            NOW,
        ],
        1,
        "CURRENCY_MISMATCH",
    );
    fails(
        &["preview", "--manifest", DEMO, "--now", NOW],
        2,
        "<--request <FILE>|--cart <FILE>>",
    );
}

/// Entries of a folder whose name starts with `.couponctl-`: temporary files left behind.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".couponctl-"))
        .collect()
}

#[test]
fn writing_commands_make_folders_and_overwrite_only_with_force() {
    let d = tmp("force");
    let key = d.join("new/keys/shop.jwk.json");
    let jwks = d.join("public/jwks.json");
    ok(&[
        "keygen",
        "--kid",
        "k1",
        "--out",
        p(&key),
        "--jwks",
        p(&jwks),
    ]);
    assert!(key.exists() && jwks.exists());
    let private = std::fs::read_to_string(&key).unwrap();
    let r = fails(&["keygen", "--kid", "k2", "--out", p(&key)], 1, "--force");
    assert!(r.stderr.contains("exists"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), private);
    ok(&["keygen", "--kid", "k2", "--out", p(&key), "--force"]);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), private);
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    let jws = d.join("signed/demo.jws");
    let sign = |force: bool| {
        let mut a = vec![
            "sign",
            "--key",
            TEST_KEY,
            "--now",
            NOW,
            "--out",
            p(&jws),
            DEMO,
        ];
        if force {
            a.push("--force");
        }
        ctl(&a)
    };
    assert_eq!(sign(false).code, 0);
    let again = sign(false);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(sign(true).code, 0);

    let mac = d.join("secrets/code-mac.key");
    ok(&["codes", "secret", "--out", p(&mac)]);
    fails(&["codes", "secret", "--out", p(&mac)], 1, "--force");
    ok(&["codes", "secret", "--out", p(&mac), "--force"]);
    #[cfg(unix)]
    assert_eq!(mode(&mac), 0o600);

    let codes = d.join("out/codes.txt");
    let generate = [
        "codes",
        "generate",
        "--count",
        "20",
        "--prefix",
        "BACK",
        "--secret-file",
    ];
    let mut args = generate.to_vec();
    args.extend([p(&mac), "--out", p(&codes)]);
    ok(&args);
    let first = std::fs::read_to_string(&codes).unwrap();
    fails(&args, 1, "--force");
    assert_eq!(std::fs::read_to_string(&codes).unwrap(), first, "kept");
    args.push("--force");
    ok(&args);
    assert_ne!(std::fs::read_to_string(&codes).unwrap(), first, "replaced");

    let csv = d.join("partner.csv");
    std::fs::write(&csv, "code\nPARTNER-1\nPARTNER-2\n").unwrap();
    let kv = d.join("kv/kv.json");
    ok(&["codes", "import", "--coupon", "p", "--out", p(&kv), p(&csv)]);
    fails(
        &["codes", "import", "--coupon", "p", "--out", p(&kv), p(&csv)],
        1,
        "--force",
    );

    let users = d.join("users.csv");
    std::fs::write(&users, "user_id\nu1\n").unwrap();
    let manifest = d.join("m.json");
    std::fs::write(
        &manifest,
        std::fs::read_to_string(DEMO)
            .unwrap()
            .replace("\"length\": 12", "\"length\": 17"),
    )
    .unwrap();
    let records = d.join("assign/a.ndjson");
    let assign = |extra: &[&str]| {
        let mut a = vec![
            "assign",
            "--manifest",
            p(&manifest),
            "--coupon",
            "comeback-15",
            "--now",
            NOW,
            "--codes",
            p(&codes),
            "--out",
            p(&records),
            p(&users),
        ];
        a.extend(extra);
        ctl(&a)
    };
    assert_eq!(assign(&[]).code, 0);
    let r = assign(&[]);
    assert!(r.code == 1 && r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(assign(&["--force"]).code, 0);

    for dir in [
        d.join("new/keys"),
        d.join("public"),
        d.join("signed"),
        d.join("secrets"),
        d.join("out"),
        d.join("kv"),
        d.join("assign"),
    ] {
        assert!(leftovers(&dir).is_empty(), "{dir:?}: {:?}", leftovers(&dir));
    }
}

/// docs/examples/diwali-sale.json as it is before signing: its zone named, no offset table.
fn unsigned_with_zone(d: &Path) -> PathBuf {
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/examples/diwali-sale.json").unwrap())
            .unwrap();
    m.as_object_mut().unwrap().remove("time_zones").unwrap();
    let path = d.join("diwali.json");
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    path
}

#[test]
fn an_unsigned_manifest_with_a_time_zone_is_inspected_previewed_and_imported_against() {
    let d = tmp("zones");
    let m = unsigned_with_zone(&d);
    let when = "2026-11-07T12:00:00Z";
    let r = ok(&["inspect", "--now", when, "--tz", "Asia/Kolkata", p(&m)]);
    assert!(
        r.stdout.contains("activation: 2026-11-06 00:00 +05:30"),
        "{}",
        r.stdout
    );
    let cart = d.join("cart.json");
    std::fs::write(
        &cart,
        r#"{"currency":"INR","lines":[{"id":"a","product_id":"lamp","quantity":1,"unit_price":"1200.00"}]}"#,
    )
    .unwrap();
    let r = ok(&[
        "preview",
        "--manifest",
        p(&m),
        "--cart",
        p(&cart),
        "--code",
        "DIWALI25",
        "--now",
        when,
    ]);
    assert!(r.stdout.contains("diwali-25"), "{}", r.stdout);
    let csv = d.join("codes.csv");
    std::fs::write(&csv, "code\nDIWALI25\n").unwrap();
    ok(&[
        "codes",
        "import",
        "--coupon",
        "diwali-25",
        "--manifest",
        p(&m),
        "--now",
        when,
        p(&csv),
    ]);
    // The same file signs, with the offsets sign writes.
    let r = ok(&["sign", "--key", TEST_KEY, "--now", when, p(&m)]);
    assert!(
        r.stderr.contains("offsets written for Asia/Kolkata"),
        "{}",
        r.stderr
    );
}

#[test]
fn tz_takes_iana_names_with_their_daylight_saving_time() {
    let r = ok(&["inspect", "--now", NOW, "--tz", "Europe/Berlin", DEMO]);
    assert!(
        r.stdout.contains("issued 2026-01-01 01:00 +01:00"),
        "{}",
        r.stdout
    );
    let r = ok(&["inspect", "--now", NOW, "--tz", "America/New_York", DEMO]);
    assert!(
        r.stdout.contains("issued 2025-12-31 19:00 -05:00"),
        "{}",
        r.stdout
    );
    let d = tmp("tz");
    let m = unsigned_with_zone(&d);
    // 2026-11-01 is the first Sunday of November: New York leaves daylight saving time.
    let r = ok(&[
        "inspect",
        "--now",
        "2026-11-01T00:00:00Z",
        "--tz",
        "America/New_York",
        p(&m),
    ]);
    assert!(
        r.stdout.contains("issued 2026-10-24 20:00 -04:00"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("expiry:     2026-11-09 13:30 -05:00"),
        "{}",
        r.stdout
    );
}

#[test]
fn json_errors_name_file_line_column_and_field() {
    let d = tmp("jsonerr");
    let bad = d.join("shop.json");
    let text = std::fs::read_to_string(DEMO).unwrap().replacen(
        "\"percent\": \"10\"",
        "\"percent\": 10.",
        1,
    );
    let line = 1 + text[..text.find("\"percent\": 10.").unwrap()]
        .matches('\n')
        .count();
    std::fs::write(&bad, &text).unwrap();
    let want = format!(":{line}:");
    for args in [
        vec!["sign", "--key", TEST_KEY, "--now", NOW, p(&bad)],
        vec!["inspect", "--now", NOW, p(&bad)],
    ] {
        let r = fails(
            &args,
            1,
            "MANIFEST_INVALID: coupons[0].reward.percent: not valid JSON",
        );
        assert!(
            r.stderr.contains(&format!("shop.json{want}")),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("at byte"), "{}", r.stderr);
    }
    let cart = d.join("cart.json");
    std::fs::write(
        &cart,
        "{\"currency\": \"USD\",\n \"lines\": [{\"id\": \"l1\", \"quantity\": 1,, \"unit_price\": \"1.00\"}]}",
    )
    .unwrap();
    fails(
        &[
            "preview",
            "--manifest",
            DEMO,
            "--cart",
            p(&cart),
            "--now",
            NOW,
        ],
        1,
        "cart.json:2:39: INVALID_REQUEST: lines[0]: not valid JSON",
    );
    let jwks = d.join("jwks.json");
    std::fs::write(
        &jwks,
        "{\"keys\": [\n  {\"kty\": \"OKP\" \"crv\": \"Ed25519\"}\n]}",
    )
    .unwrap();
    let jws = d.join("demo.jws");
    ok(&[
        "sign",
        "--key",
        TEST_KEY,
        "--now",
        NOW,
        "--out",
        p(&jws),
        DEMO,
    ]);
    fails(
        &["verify", "--jwks", p(&jwks), "--now", NOW, p(&jws)],
        1,
        "jwks.json:2:17: KEYSET_INVALID: keys[0]: the key set is not a valid JWKS: not valid JSON",
    );
}

/// A request the stand-in Worker received: request line, Authorization header, body.
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A tiny stand-in for the Worker's `POST /admin/coupons/{id}/codes` on a free local port,
/// answering as worker/src/admin.js does: 401 without the token `t0ken`; 422 `INVALID_CODES`
/// listing the body's lines whose code contains `BAD` (the header is line 1); 413 over 500 rows;
/// else 201 `{coupon_id, imported}`.
fn worker_stub() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received: Received = Arc::default();
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let (mut auth, mut length) = (String::new(), 0);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "authorization" => auth = value.trim().to_string(),
                    "content-length" => length = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            let lines: Vec<&str> = body.lines().collect();
            let rows = lines.len() - 1;
            let refused: Vec<String> = lines
                .iter()
                .enumerate()
                .filter(|(_, code)| code.contains("BAD"))
                .map(|(i, _)| format!(r#"{{"line":{},"message":"not a code of c1"}}"#, i + 1))
                .collect();
            let (status, answer) = if auth != "Bearer t0ken" {
                (401, r#"{"error":{"code":"UNAUTHORIZED","message":"a valid admin token is required"}}"#.to_string())
            } else if rows > 500 {
                (
                    413,
                    r#"{"error":{"code":"TOO_MANY_ROWS","message":"at most 500"}}"#.to_string(),
                )
            } else if !refused.is_empty() {
                (
                    422,
                    format!(
                        r#"{{"error":{{"code":"INVALID_CODES","message":"{} rows are not codes of c1; nothing was stored","refused":[{}]}}}}"#,
                        refused.len(),
                        refused.join(",")
                    ),
                )
            } else {
                (201, format!(r#"{{"coupon_id":"c1","imported":{rows}}}"#))
            };
            log.lock()
                .unwrap()
                .push((request.trim_end().to_string(), auth, body));
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
        }
    });
    (url, received)
}

/// Runs with an environment variable set (or removed, with `None`).
fn ctl_env(args: &[&str], name: &str, value: Option<&str>) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_couponctl"));
    c.args(args);
    match value {
        Some(v) => c.env(name, v),
        None => c.env_remove(name),
    };
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn upload_sends_500_rows_a_request_and_reports_refused_rows_by_their_line() {
    let d = tmp("upload");
    let token = d.join("admin-token");
    std::fs::write(&token, "t0ken\n").unwrap();
    // 1,234 codes with a header: 3 requests of 500, 500 and 234 rows.
    let csv = d.join("codes.csv");
    let mut text = String::from("code,partner\n");
    for i in 0..1234 {
        text.push_str(&format!("C{i:05},acme\n"));
    }
    std::fs::write(&csv, &text).unwrap();
    let (url, got) = worker_stub();
    let r = ok(&[
        "upload",
        "--worker",
        &url,
        "--coupon",
        "c1",
        "--token-file",
        p(&token),
        p(&csv),
    ]);
    assert!(r.stderr.contains("1234 code(s) imported"), "{}", r.stderr);
    let got = got.lock().unwrap().clone();
    let rows: Vec<usize> = got.iter().map(|(_, _, b)| b.lines().count() - 1).collect();
    assert_eq!(rows, [500, 500, 234]);
    assert!(got.iter().all(
        |(line, auth, body)| line == "POST /admin/coupons/c1/codes HTTP/1.1"
            && auth == "Bearer t0ken"
            && body.starts_with("code\nC")
    ));
    assert!(got[2].2.ends_with("C01233\n"));

    // The token from ADMIN_TOKEN, and --pool.
    let (url, got) = worker_stub();
    let small = d.join("small.csv");
    std::fs::write(&small, "X1\nX2\n").unwrap();
    let r = ctl_env(
        &[
            "upload",
            "--worker",
            &url,
            "--coupon",
            "c1",
            "--pool",
            p(&small),
        ],
        "ADMIN_TOKEN",
        Some("t0ken"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "POST /admin/coupons/c1/codes?pool=true HTTP/1.1");
    assert_eq!(got[0].2, "code\nX1\nX2\n");

    // Bad rows in the first and third chunks (blank lines shift the file's line numbers): those
    // chunks are refused, the second is stored, every chunk is sent, and the exit status is 1.
    let mut text = String::from("code\n\n");
    for i in 0..1200 {
        let code = if i == 3 || i == 1100 {
            format!("BAD{i}")
        } else {
            format!("C{i:05}")
        };
        text.push_str(&format!("{code}\n"));
    }
    std::fs::write(&csv, &text).unwrap();
    let (url, got) = worker_stub();
    let r = fails(
        &[
            "upload",
            "--worker",
            &url,
            "--coupon",
            "c1",
            "--token-file",
            p(&token),
            p(&csv),
        ],
        1,
        "stay stored",
    );
    assert_eq!(got.lock().unwrap().len(), 3, "every chunk is sent");
    // Row i is on line i + 3 (header, blank line).
    assert!(
        r.stderr.contains("codes.csv: line 6: not a code of c1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("codes.csv: line 1103: not a code of c1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 chunk(s) (700 rows) not stored"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("uploaded 500 of 1200 rows"),
        "{}",
        r.stderr
    );

    // A wrong token stops at the first answer.
    std::fs::write(&token, "wrong").unwrap();
    let (url, got) = worker_stub();
    fails(
        &[
            "upload",
            "--worker",
            &url,
            "--coupon",
            "c1",
            "--token-file",
            p(&token),
            p(&csv),
        ],
        1,
        "401 UNAUTHORIZED",
    );
    assert_eq!(got.lock().unwrap().len(), 1);
    // No token at all, or no address, is a usage error.
    let r = ctl_env(
        &["upload", "--worker", &url, "--coupon", "c1", p(&csv)],
        "ADMIN_TOKEN",
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("ADMIN_TOKEN"), "{}", r.stderr);
    fails(&["upload", "--coupon", "c1", p(&csv)], 2, "--worker <URL>");
}

/// The `couponctl` lines of README.md's "Back office (CLI)" block, each split into words (the
/// comment after `#` left out) and the file of a `> FILE` redirection.
fn readme_commands() -> Vec<(Vec<String>, Option<String>)> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let section = readme.split("## Back office (CLI)").nth(1).unwrap();
    let block = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut out = Vec::new();
    for line in block.lines().filter(|l| l.starts_with("couponctl ")) {
        let line = line.split(" #").next().unwrap();
        assert!(
            !line.contains(['"', '\'', '$', '|', '<']),
            "a README command this test cannot run without a shell: {line}"
        );
        let (command, redirect) = match line.split_once(" > ") {
            Some((c, f)) => (c, Some(f.trim().to_string())),
            None => (line, None),
        };
        let words = command
            .split_whitespace()
            .skip(1)
            .map(String::from)
            .collect();
        out.push((words, redirect));
    }
    out
}

#[test]
fn the_readme_back_office_commands_run_in_order_from_an_empty_folder() {
    let commands = readme_commands();
    assert!(commands.len() >= 9, "{commands:?}");
    let d = tmp("readme");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    // What the README reads that no command of it makes: the repository's demo manifest, and the
    // shop's own files (a partner's codes, its manifest with a campaign coupon, a user list, a
    // cart).
    std::fs::create_dir_all(d.join("docs/examples")).unwrap();
    std::fs::copy(DEMO, d.join(DEMO)).unwrap();
    std::fs::write(
        d.join("partner.csv"),
        "code,partner\nPARTNER-0001,acme\nPARTNER-0002,acme\n",
    )
    .unwrap();
    std::fs::write(
        d.join("manifest.json"),
        std::fs::read_to_string(DEMO)
            .unwrap()
            .replace("\"length\": 12", "\"length\": 17")
            .replace("2026-01-31T00:00:00Z", "2099-01-01T00:00:00Z"),
    )
    .unwrap();
    std::fs::write(d.join("users.csv"), "user_id\nu1\nu2\n").unwrap();
    std::fs::write(
        d.join("cart.json"),
        r#"{"currency":"USD","lines":[{"id":"l1","product_id":"runner-42","quantity":1,"unit_price":"89.99","attributes":{"category":"shoes"}}],"shipping":{"amount":"7.95"}}"#,
    )
    .unwrap();
    let run = |args: &[String]| {
        let out = Command::new(env!("CARGO_BIN_EXE_couponctl"))
            .args(args)
            .current_dir(&d)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    };
    // The files a command writes: its --out and --jwks.
    let written = |args: &[String]| -> Vec<String> {
        args.windows(2)
            .filter(|w| w[0] == "--out" || w[0] == "--jwks")
            .map(|w| w[1].clone())
            .collect()
    };
    for (args, redirect) in &commands {
        let r = run(args);
        assert_eq!(
            r.code,
            0,
            "couponctl {}: {}{}",
            args.join(" "),
            r.stdout,
            r.stderr
        );
        if let Some(file) = redirect {
            assert!(!r.stdout.is_empty(), "{args:?} printed nothing for {file}");
            std::fs::write(d.join(file), &r.stdout).unwrap();
        }
        for file in written(args).iter().chain(redirect) {
            let meta = std::fs::metadata(d.join(file));
            assert!(
                meta.is_ok_and(|m| m.len() > 0),
                "{args:?} did not write {file}"
            );
        }
    }
    assert!(d.join("keys/shop.jwk.json").exists() && d.join("keys/code-mac.key").exists());
    let records = std::fs::read_to_string(d.join("assignments.ndjson")).unwrap();
    assert_eq!(records.lines().count(), 2, "{records}");
    // Again, without --force: every command that writes a file refuses, naming --force, and the
    // file stays as it was.
    let mut writers = 0;
    for (args, _) in &commands {
        let Some(out) = args
            .windows(2)
            .find(|w| w[0] == "--out")
            .map(|w| w[1].clone())
        else {
            continue;
        };
        writers += 1;
        let before = std::fs::read(d.join(&out)).unwrap();
        let r = run(args);
        assert_eq!(r.code, 1, "{args:?} ran again: {}", r.stderr);
        assert!(r.stderr.contains("--force"), "{args:?}: {}", r.stderr);
        assert_eq!(
            std::fs::read(d.join(&out)).unwrap(),
            before,
            "{out} changed"
        );
    }
    assert!(writers >= 5, "{writers}");
}

#[test]
fn docs_cli_md_shows_each_command_as_clap_prints_it() {
    let doc = std::fs::read_to_string("docs/cli.md").unwrap();
    let all: &[&[&str]] = &[
        &[],
        &["keygen"],
        &["sign"],
        &["verify"],
        &["inspect"],
        &["codes", "secret"],
        &["codes", "generate"],
        &["codes", "check"],
        &["codes", "import"],
        &["assign"],
        &["preview"],
        &["upload"],
    ];
    for args in all {
        let mut a = args.to_vec();
        a.push("-h");
        let help = ok(&a).stdout;
        let synopsis = &help[help.find("Usage:").unwrap()..];
        assert!(
            doc.contains(synopsis.trim_end()),
            "docs/cli.md lacks the help of {args:?} as couponctl prints it:\n{synopsis}"
        );
    }
}

/// What a hostile-input review of couponctl found, each refused or read as the docs say.
#[test]
fn careless_input_is_refused_or_read_as_documented() {
    let d = tmp("careless");
    // A --length of 0 was read as "not given" and then asked for a negative number of random
    // characters: memory grew without end.
    fails(
        &[
            "codes",
            "generate",
            "--prefix",
            "BACK",
            "--count",
            "1",
            "--length",
            "0",
            "--mac-chars",
            "0",
        ],
        2,
        "--length 0 leaves fewer than 6 random characters",
    );
    // One file for the private key and the key set would keep only the public half.
    let same = d.join("k.json");
    let same_rel = format!("{}/./k.json", d.display());
    fails(
        &[
            "keygen",
            "--kid",
            "k",
            "--out",
            p(&same),
            "--jwks",
            &same_rel,
        ],
        2,
        "--out and --jwks are both",
    );
    assert!(!same.exists());
    // One file by two names that no path check can see (a folder not made yet): the new key set
    // is placed first and the key is not placed over it.
    let other = format!("{}/not-yet/../k2.json", d.display());
    fails(
        &[
            "keygen",
            "--kid",
            "k",
            "--out",
            &other,
            "--jwks",
            p(&d.join("k2.json")),
        ],
        1,
        "exists",
    );
    let set = std::fs::read_to_string(d.join("k2.json")).unwrap();
    assert!(set.contains("\"keys\"") && !set.contains("\"d\""), "{set}");
    // A key set that cannot be written leaves no private key behind.
    let afile = d.join("afile");
    std::fs::write(&afile, "x").unwrap();
    let key = d.join("k9.jwk");
    fails(
        &[
            "keygen",
            "--kid",
            "k9",
            "--out",
            p(&key),
            "--jwks",
            p(&afile.join("jwks.json")),
        ],
        1,
        "cannot make the folder",
    );
    assert!(!key.exists());
    // Adding a key keeps the key set's other keys and members as they were.
    let jwks = d.join("jwks.json");
    ok(&[
        "keygen",
        "--kid",
        "k1",
        "--out",
        p(&d.join("k1.jwk")),
        "--jwks",
        p(&jwks),
    ]);
    let mut set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    set["keys"][0]["iat"] = 1_700_000_000.into();
    set["note"] = "keep me".into();
    std::fs::write(&jwks, set.to_string()).unwrap();
    ok(&[
        "keygen",
        "--kid",
        "k2",
        "--out",
        p(&d.join("k2.jwk")),
        "--jwks",
        p(&jwks),
    ]);
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    assert_eq!(after["keys"][0], set["keys"][0]);
    assert_eq!(after["keys"][1]["kid"], "k2");
    assert_eq!(after["note"], "keep me");
    // --force replaces a regular file only: never a symlink's target, a folder or a device.
    #[cfg(unix)]
    {
        let target = d.join("target.txt");
        std::fs::write(&target, "kept").unwrap();
        let link = d.join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        fails(
            &["codes", "secret", "--out", p(&link), "--force"],
            1,
            "is not a regular file",
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // A key file's kid goes into JWS headers: the characters keygen allows, nothing else.
    let r = ok(&["keygen", "--kid", "good", "--stdout"]);
    let bad = d.join("bad-kid.jwk");
    std::fs::write(&bad, r.stdout.replace("\"good\"", "\"a\\\"b\"")).unwrap();
    fails(
        &["sign", "--key", p(&bad), "--out", p(&d.join("m.jws")), DEMO],
        1,
        "the key's `kid`",
    );
    // A time_zones that is not an object is refused by the engine, not replaced by `sign`'s tables.
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(DEMO).unwrap()).unwrap();
    m["settings"]["time_zone"] = "Europe/Berlin".into();
    m["time_zones"] = "garbage".into();
    let zones = d.join("zones.json");
    std::fs::write(&zones, m.to_string()).unwrap();
    fails(&["inspect", "--now", NOW, p(&zones)], 1, "MANIFEST_INVALID");
    // A byte order mark before a JSON manifest is named, not taken for a signed manifest.
    let bom = d.join("bom.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(DEMO).unwrap());
    std::fs::write(&bom, bytes).unwrap();
    fails(&["inspect", "--now", NOW, p(&bom)], 1, "byte order mark");
    // --tz -08:00, as the docs write it.
    let r = ok(&["inspect", "--now", NOW, "--tz", "-08:00", DEMO]);
    assert!(r.stdout.contains("-08:00"), "{}", r.stdout);
    // preview: a refusal in --user's file names that file, without a column of preview's own text.
    let cart = one_line_cart(&d);
    let user = d.join("user.json");
    std::fs::write(&user, r#"{"id":5}"#).unwrap();
    let r = fails(
        &[
            "preview",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--cart",
            p(&cart),
            "--user",
            p(&user),
        ],
        1,
        &format!("{}: INVALID_REQUEST: user.id: invalid type", p(&user)),
    );
    assert!(!r.stderr.contains("column"), "{}", r.stderr);
    // A request's codes that are not a list, or a now that is not a time, are refused, not
    // replaced by --code or the clock.
    let request = d.join("request.json");
    std::fs::write(
        &request,
        r#"{"cart":{"currency":"USD","lines":[{"id":"a","product_id":"p","quantity":1,"unit_price":"10.00"}]},"codes":"SAVE"}"#,
    )
    .unwrap();
    fails(
        &[
            "preview",
            "--manifest",
            DEMO,
            "--now",
            NOW,
            "--request",
            p(&request),
            "--code",
            "X",
        ],
        1,
        "INVALID_REQUEST: codes",
    );
    std::fs::write(
        &request,
        r#"{"cart":{"currency":"USD","lines":[{"id":"a","product_id":"p","quantity":1,"unit_price":"10.00"}]},"now":5}"#,
    )
    .unwrap();
    fails(
        &["preview", "--manifest", DEMO, "--request", p(&request)],
        1,
        "INVALID_TIME: now",
    );
    // A payload file four times the 4 MiB limit is refused by its size before it is parsed (this
    // one does not parse: an unclosed string).
    let big = d.join("big.json");
    std::fs::write(&big, format!("{{\"pad\": \"{}", "x".repeat(17 << 20))).unwrap();
    fails(&["inspect", "--now", NOW, p(&big)], 1, "LIMIT_EXCEEDED");
    fails(&["sign", "--key", TEST_KEY, p(&big)], 1, "LIMIT_EXCEEDED");
    // A \u escape is four hex digits; `\u+041` is not one.
    let m =
        std::fs::read_to_string(DEMO)
            .unwrap()
            .replacen("\"name\": \"", "\"name\": \"\\u+041", 1);
    let escaped = d.join("escape.json");
    std::fs::write(&escaped, m).unwrap();
    fails(&["inspect", "--now", NOW, p(&escaped)], 1, "invalid escape");
    // A spreadsheet's byte order mark, and old Mac line ends: the header is a header, each line a code.
    let csv = d.join("bom.csv");
    std::fs::write(&csv, "\u{feff}code\rBACK4M7QX2PD\rBACK7H2KQ9ZX\r").unwrap();
    let r = ok(&["codes", "import", "--coupon", "comeback-15", p(&csv)]);
    assert!(r.stderr.contains("imported 2 code(s)"), "{}", r.stderr);
    // --column N with a header line: the header is not imported as a code.
    let csv = d.join("partner.csv");
    std::fs::write(&csv, "partner,code\nacme,BACK4M7QX2PD\n").unwrap();
    let r = ok(&[
        "codes",
        "import",
        "--coupon",
        "comeback-15",
        "--column",
        "2",
        p(&csv),
    ]);
    assert!(r.stderr.contains("imported 1 code(s)"), "{}", r.stderr);
    // A user id is 1 to 128 bytes, as the engine and the Worker count them (100 x é = 200 bytes).
    let users = d.join("users.csv");
    std::fs::write(&users, format!("user_id\n{}\nu2\n", "é".repeat(100))).unwrap();
    let codes = d.join("codes.txt");
    std::fs::write(&codes, "BACK4M7QX2PD\n").unwrap();
    let r = ok(&[
        "assign",
        "--manifest",
        DEMO,
        "--now",
        NOW,
        "--coupon",
        "comeback-15",
        "--codes",
        p(&codes),
        p(&users),
    ]);
    assert!(
        r.stderr
            .contains("1 to 128 bytes of UTF-8 (this one is 200 bytes)"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
}
