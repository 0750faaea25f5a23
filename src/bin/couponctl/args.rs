//! Hand-rolled argument parsing and the file, clock and output helpers every command shares.

use crate::{fail, usage, Fail, Out};
use edge_coupons::time::{format_instant, parse_instant, Instant};
use std::io::Write;

/// Parsed arguments: positionals, `--name value` (or `--name=value`) options, and `--flag`s.
#[derive(Debug, Default)]
pub struct Args {
    pub pos: Vec<String>,
    opts: Vec<(String, String)>,
    flags: Vec<String>,
}

/// What the caller asked for: the parsed arguments, or help (already printed).
pub enum Parsed {
    Run(Args),
    Help,
}

/// Parses `argv` against the options (`valued`) and flags a command knows; `--help` prints `help`.
pub fn parse(argv: &[String], valued: &[&str], flags: &[&str], help: &str) -> Out<Parsed> {
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print(help)?;
        return Ok(Parsed::Help);
    }
    let mut args = Args::default();
    let mut it = argv.iter();
    let mut only_pos = false;
    while let Some(a) = it.next() {
        if only_pos || !a.starts_with("--") || a == "-" {
            args.pos.push(a.clone());
            continue;
        }
        if a == "--" {
            only_pos = true;
            continue;
        }
        let body = a.trim_start_matches("--");
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if valued.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| usage(format!("--{name} needs a value")))?,
            };
            args.opts.push((name.to_string(), value));
        } else if flags.contains(&name) && inline.is_none() {
            args.flags.push(name.to_string());
        } else {
            return Err(usage(format!("unknown option --{name}\n\n{help}")));
        }
    }
    Ok(Parsed::Run(args))
}

impl Args {
    /// The last value of an option.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable option, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required option.
    pub fn req(&self, name: &str) -> Out<&str> {
        self.get(name)
            .ok_or_else(|| usage(format!("--{name} is required (see --help)")))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// A whole-number option.
    pub fn number(&self, name: &str) -> Out<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| usage(format!("--{name} takes a whole number, not `{v}`")))
            })
            .transpose()
    }

    /// Exactly one positional argument, named `what` in the message.
    pub fn one(&self, what: &str) -> Out<&str> {
        match self.pos.as_slice() {
            [one] => Ok(one),
            [] => Err(usage(format!("give {what}"))),
            _ => Err(usage(format!("give one {what}, not {}", self.pos.len()))),
        }
    }

    /// `--now`, or the clock.
    pub fn now(&self) -> Out<Instant> {
        match self.get("now") {
            Some(t) => parse_instant(t, "--now").map_err(|e| usage(format!("--now: {e}"))),
            None => Ok(clock()),
        }
    }
}

/// The current time, to the second. The core never reads a clock; the CLI does, here only.
pub fn clock() -> Instant {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Instant::from_timestamp(i64::try_from(secs).unwrap_or(0), 0).unwrap_or_default()
}

/// RFC 3339 in UTC.
pub fn show(t: Instant) -> String {
    format_instant(t)
}

/// Reads a whole file.
pub fn read(path: &str) -> Out<Vec<u8>> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| fail(format!("cannot read standard input: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| fail(format!("cannot read {path}: {e}")))
}

/// Reads a whole UTF-8 text file.
pub fn read_text(path: &str) -> Out<String> {
    String::from_utf8(read(path)?).map_err(|e| {
        fail(format!(
            "{path}: not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Prints to standard output; a closed pipe is an error, not a panic.
pub fn print(text: &str) -> Out<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| fail(format!("cannot write to standard output: {e}")))
}

/// Writes `text` to the file `path`, or to standard output when there is none or it is `-`.
pub fn output(path: Option<&str>, text: &[u8]) -> Out<()> {
    match path {
        None | Some("-") => {
            let mut out = std::io::stdout().lock();
            out.write_all(text)
                .and_then(|()| out.flush())
                .map_err(|e| fail(format!("cannot write to standard output: {e}")))
        }
        Some(p) => std::fs::write(p, text).map_err(|e| fail(format!("cannot write {p}: {e}"))),
    }
}

/// Writes a secret to a new file readable by its owner only (0600). An existing file is kept
/// unless `force`.
pub fn write_secret(path: &str, text: &[u8], force: bool) -> Out<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            fail(format!(
                "{path} exists; refusing to overwrite a key (pass --force to replace it)"
            ))
        } else {
            fail(format!("cannot create {path}: {e}"))
        }
    })?;
    // A file that existed keeps its old mode through open(): set it again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| fail(format!("cannot set the mode of {path}: {e}")))?;
    }
    file.write_all(text)
        .map_err(|e| fail(format!("cannot write {path}: {e}")))
}

/// The error of the core, with the file it came from: `FILE: CODE: message`.
pub fn core_error(file: &str, e: &edge_coupons::Error) -> Fail {
    fail(format!("{file}: {}: {e}", e.code()))
}

/// A `Fail` from a core error while reading a file.
pub fn with_file(file: &str) -> impl Fn(Box<edge_coupons::Error>) -> Fail + '_ {
    move |e| core_error(file, &e)
}
