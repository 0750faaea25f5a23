//! `couponctl`: the back office of edge-coupons. Keys, signing, verifying and inspecting manifests,
//! bulk codes, CSV import, assignments and previews, all through the same core as the Worker and
//! the browser (no second implementation). Built with `--features cli`; docs/cli.md is the manual.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::todo,
    clippy::unimplemented
)]

#[path = "couponctl/args.rs"]
mod args;
#[path = "couponctl/assign.rs"]
mod assign;
#[path = "couponctl/codes.rs"]
mod codes;
#[path = "couponctl/csv.rs"]
mod csv;
#[path = "couponctl/keys.rs"]
mod keys;
#[path = "couponctl/manifests.rs"]
mod manifests;
#[path = "couponctl/preview.rs"]
mod preview;
#[path = "couponctl/zones.rs"]
mod zones;

use std::process::ExitCode;

/// Why a command failed: a message for people, and whether it was a usage mistake (exit 2) or a
/// bad input or file (exit 1).
#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub usage: bool,
}

pub type Out<T> = Result<T, Fail>;

/// A failure about the input (exit 1).
pub fn fail(message: impl Into<String>) -> Fail {
    Fail {
        message: message.into(),
        usage: false,
    }
}

/// A failure about how the command was called (exit 2).
pub fn usage(message: impl Into<String>) -> Fail {
    Fail {
        message: message.into(),
        usage: true,
    }
}

const HELP: &str = "\
couponctl: the edge-coupons back office (docs/cli.md)

usage: couponctl <command> [options]

commands:
  keygen          make an Ed25519 signing key (JWK, 0600) and add its public key to a JWKS
  sign            validate a manifest JSON with the engine and sign it into a JWS
  verify          verify a signed manifest against a JWKS, as the Worker and browser do
  inspect         list a manifest's coupons: status, codes, windows, hidden, bulk
  codes secret    make a code MAC secret (0600)
  codes generate  make N bulk codes with a check character and a MAC
  codes check     check codes: format, check character and (with the secret) MAC
  codes import    turn a partner CSV of codes into hashed records for the Worker
  assign          turn a CSV of users into assignment records for a campaign coupon
  preview         price a cart against a manifest with the engine, as a table or JSON

`couponctl <command> --help` tells more. Exit status: 0 ok, 1 bad input, 2 bad usage.
";

fn run(argv: &[String]) -> Out<()> {
    let (cmd, rest) = match argv.split_first() {
        None => return Err(usage(format!("no command given\n\n{HELP}"))),
        Some((c, rest)) => (c.as_str(), rest),
    };
    match cmd {
        "-h" | "--help" | "help" => args::print(HELP),
        "keygen" => keys::keygen(rest),
        "sign" => manifests::sign(rest),
        "verify" => manifests::verify(rest),
        "inspect" => manifests::inspect(rest),
        "codes" => codes::run(rest),
        "assign" => assign::run(rest),
        "preview" => preview::run(rest),
        other => Err(usage(format!(
            "unknown command `{other}`; `couponctl --help` lists them"
        ))),
    }
}

fn main() -> ExitCode {
    let mut argv = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => argv.push(s),
            Err(a) => {
                eprintln!("couponctl: the argument {a:?} is not UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("couponctl: {}", f.message);
            ExitCode::from(if f.usage { 2 } else { 1 })
        }
    }
}
