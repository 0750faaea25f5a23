//! What every command shares once clap has parsed its arguments: the clock, reading files,
//! writing output files (parents made, never overwritten without `--force`, written atomically),
//! and the core's errors told with the file they came from.

use crate::{fail, Fail, Out};
use clap::Args;
use edge_coupons::time::{format_instant, parse_instant, Instant};
use std::io::Write;
use std::path::Path;

/// `--now`: the time a command loads manifests at.
#[derive(Args, Debug, Clone)]
pub struct Clock {
    /// Load as of this RFC 3339 time (default: the clock, or the manifest's issued_at if that is
    /// later)
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub now: Option<Instant>,
}

impl Clock {
    /// `--now`, or the clock.
    pub fn now(&self) -> Instant {
        self.now.unwrap_or_else(clock)
    }

    /// Whether the time was given (so a manifest issued later is not loaded at its issued_at).
    pub fn fixed(&self) -> bool {
        self.now.is_some()
    }
}

/// An RFC 3339 time given as an option (clap calls it; a bad one is a usage error, exit 2).
pub fn time_arg(s: &str) -> Result<Instant, String> {
    parse_instant(s, "").map_err(|e| match *e {
        edge_coupons::Error::InvalidTime { message, .. } => message,
        other => other.to_string(),
    })
}

/// `--out FILE` and `--force`, for commands whose output may also go to standard output.
#[derive(Args, Debug, Clone)]
pub struct OutFile {
    /// Write here (default: standard output); missing folders are made. An existing file is
    /// kept unless --force
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
    /// Replace an existing --out file
    #[arg(long)]
    pub force: bool,
}

impl OutFile {
    /// Refuses early an --out file that exists (before a long computation).
    pub fn check(&self) -> Out<()> {
        match self.out.as_deref() {
            Some(p) if p != "-" => refuse_existing(p, self.force),
            _ => Ok(()),
        }
    }

    /// Writes `bytes` to the --out file, or to standard output.
    pub fn write(&self, bytes: &[u8]) -> Out<()> {
        match self.out.as_deref() {
            None | Some("-") => print_bytes(bytes),
            Some(p) => write_file(p, bytes, self.force, false),
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

/// Reads a whole file (`-`: standard input).
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
/// A CSV file's records and the column a command reads from it (`--column`, else the first of
/// `names` in the header, else the first): (records, column, whether the first record is a header).
pub fn read_csv_column(
    path: &str,
    column: Option<&str>,
    names: &[&str],
) -> Out<(Vec<crate::csv::Record>, usize, bool)> {
    let text = read_text(path)?;
    let records = crate::csv::records(&text).map_err(|e| fail(format!("{path}: {e}")))?;
    let (col, header) = crate::csv::pick(&records, column, names, path)?;
    Ok((records, col, header))
}

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
    print_bytes(text.as_bytes())
}

fn print_bytes(bytes: &[u8]) -> Out<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| fail(format!("cannot write to standard output: {e}")))
}

fn exists(path: &str) -> Fail {
    fail(format!(
        "{path} exists; not overwritten (pass --force to replace it)"
    ))
}

/// An existing `path` is an error unless `force`; with `force`, only a regular file is replaced
/// (a rename over a symlink, a device such as /dev/null or a folder would replace that instead).
pub fn refuse_existing(path: &str, force: bool) -> Out<()> {
    match std::fs::symlink_metadata(path) {
        Ok(_) if !force => Err(exists(path)),
        Ok(m) if !m.file_type().is_file() => Err(fail(format!(
            "{path} is not a regular file; not replaced (write to a file)"
        ))),
        _ => Ok(()),
    }
}

/// Whether two paths name one file, existing or not (the folder resolved, then the name).
pub fn same_file(a: &str, b: &str) -> bool {
    let resolved = |p: &str| {
        let p = Path::new(p);
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let dir = std::fs::canonicalize(dir).or_else(|_| std::path::absolute(dir));
        (dir.ok(), p.file_name().map(|n| n.to_os_string()))
    };
    resolved(a) == resolved(b)
}

/// Writes a file the way every command does: missing parent folders are made; an existing file
/// is an error unless `force`; the bytes go to a temporary file in the same folder that is then
/// renamed into place, so a reader never sees half a file and a failure leaves the old one. A
/// `secret` is readable by its owner only (0600, from its creation on); other files get the
/// usual mode (0666 less the umask).
pub fn write_file(path: &str, bytes: &[u8], force: bool, secret: bool) -> Out<()> {
    stage(path, bytes, force, secret)?.place()
}

/// A file written but not yet in place: [`write_file`] in two steps, so that a command writing
/// two files can fail before either is placed.
pub struct Staged<'p> {
    tmp: tempfile::NamedTempFile,
    path: &'p str,
    force: bool,
}

/// The first step of [`write_file`]: the checks, the folder and the temporary file.
pub fn stage<'p>(path: &'p str, bytes: &[u8], force: bool, secret: bool) -> Out<Staged<'p>> {
    refuse_existing(path, force)?;
    let target = Path::new(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot make the folder {}: {e}", dir.display())))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".couponctl-").suffix(".tmp");
    #[cfg(unix)]
    if !secret {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| fail(format!("cannot create a file in {}: {e}", dir.display())))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail(format!("cannot write {path}: {e}")))?;
    Ok(Staged { tmp, path, force })
}

impl Staged<'_> {
    /// The second step: the temporary file renamed into place.
    pub fn place(self) -> Out<()> {
        let Staged { tmp, path, force } = self;
        let placed = if force {
            tmp.persist(path).map(drop)
        } else {
            // Another process may have made the file since the check: never replace it.
            tmp.persist_noclobber(path).map(drop)
        };
        placed.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                exists(path)
            } else {
                fail(format!("cannot write {path}: {}", e.error))
            }
        })
    }
}

/// The error of the core, with the file it came from: `FILE: CODE: message`.
pub fn core_error(file: &str, e: &edge_coupons::Error) -> Fail {
    fail(format!("{file}: {}: {e}", e.code()))
}

/// A `Fail` from a core error while reading a file.
pub fn with_file(file: &str) -> impl Fn(Box<edge_coupons::Error>) -> Fail + '_ {
    move |e| core_error(file, &e)
}
