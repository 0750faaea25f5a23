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

#[path = "couponctl/assign.rs"]
mod assign;
#[path = "couponctl/codes.rs"]
mod codes;
#[path = "couponctl/csv.rs"]
mod csv;
#[path = "couponctl/json.rs"]
mod json;
#[path = "couponctl/jsonerr.rs"]
mod jsonerr;
#[path = "couponctl/keys.rs"]
mod keys;
#[path = "couponctl/manifests.rs"]
mod manifests;
#[path = "couponctl/preview.rs"]
mod preview;
#[path = "couponctl/support.rs"]
mod support;
#[path = "couponctl/upload.rs"]
mod upload;
#[path = "couponctl/zones.rs"]
mod zones;

use clap::{Parser, Subcommand};
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

/// A failure about how the command was called (exit 2) that clap cannot see, such as a key file
/// with several keys and no --kid.
pub fn usage(message: impl Into<String>) -> Fail {
    Fail {
        message: message.into(),
        usage: true,
    }
}

/// couponctl: the edge-coupons back office (docs/cli.md)
#[derive(Parser, Debug)]
#[command(
    name = "couponctl",
    version,
    arg_required_else_help = true,
    after_help = "`couponctl help <command>` or `couponctl <command> --help` tells more.\n\
                  Exit status: 0 ok, 1 bad input, 2 bad usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Keygen(keys::Keygen),
    Sign(manifests::Sign),
    Verify(manifests::Verify),
    Inspect(manifests::Inspect),
    #[command(subcommand)]
    Codes(codes::Codes),
    Assign(assign::Assign),
    Preview(preview::Preview),
    Upload(upload::Upload),
}

fn run(command: Command) -> Out<()> {
    match command {
        Command::Keygen(a) => keys::keygen(&a),
        Command::Sign(a) => manifests::sign(&a),
        Command::Verify(a) => manifests::verify(&a),
        Command::Inspect(a) => manifests::inspect(&a),
        Command::Codes(c) => codes::run(c),
        Command::Assign(a) => assign::run(&a),
        Command::Preview(a) => preview::run(&a),
        Command::Upload(a) => upload::run(&a),
    }
}

fn main() -> ExitCode {
    // clap prints help and --version (exit 0) and usage errors (exit 2) itself.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("couponctl: {}", f.message);
            ExitCode::from(if f.usage { 2 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
