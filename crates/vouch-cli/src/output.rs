//! Where command output goes: stdout or an atomically written file, colour decisions,
//! progress bars and error messages.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use clap::ValueEnum;
use vouch_core::InputError;
use vouch_report::Format;

use crate::cli::{ColorChoice, GlobalArgs};

/// Prints an error as `error: <file>:<line>: <what> (<hint>)` with its causes.
pub fn print_error(e: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    if let Some(input) = e.downcast_ref::<InputError>() {
        let _ = writeln!(stderr, "error: {input}");
        return;
    }
    let redact = |s: String| vouch_core::redact::credentials(&s).into_owned();
    let _ = writeln!(stderr, "error: {}", redact(e.to_string()));
    for cause in e.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {}", redact(cause.to_string()));
    }
}

/// Prints a warning unless `--quiet`.
pub fn warn(global: &GlobalArgs, message: &str) {
    if !global.quiet {
        eprintln!("warning: {message}");
    }
}

/// Prints a note on stderr unless `--quiet`.
pub fn warn_note(global: &GlobalArgs, message: &str) {
    if !global.quiet {
        eprintln!("note: {message}");
    }
}

/// Writes `bytes` to `-o FILE` (via a temporary file renamed into place, so a failure never
/// leaves half a file) or to stdout.
pub fn emit(global: &GlobalArgs, bytes: &[u8]) -> Result<()> {
    match &global.output {
        Some(path) => write_atomic(path, bytes),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                // `vouch … | head`: the reader has what it wanted; the command still ends
                // with its own status (1 for findings), quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to stdout"),
            }
        }
    }
}

/// Prints a status line on stdout; a closed pipe or full disk is not worth failing over.
pub fn stdout_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Whether `e` is a write to a closed pipe (the reader of stdout went away).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes a file atomically: temporary file in the same directory, fsync, rename. A path that
/// exists and is not a regular file (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written to
/// directly: renaming over it would replace the device with a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| InputError::in_file(path, format!("cannot write: {e}")).into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| InputError::in_file(path, format!("cannot write: {e}")))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| InputError::in_file(path, format!("cannot write: {e}")))?;
    tmp.persist(path)
        .map_err(|e| InputError::in_file(path, format!("cannot write: {}", e.error)))?;
    Ok(())
}

/// Whether text output should be coloured.
pub fn use_color(global: &GlobalArgs) -> bool {
    match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            global.output.is_none()
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::stdout().is_terminal()
        }
    }
}

/// The report format from `--format` (default text).
pub fn report_format(global: &GlobalArgs) -> Result<Format> {
    let Some(name) = global.format.as_deref() else {
        return Ok(Format::Text);
    };
    Format::ALL
        .iter()
        .copied()
        .find(|f| f.as_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names = Format::ALL.map(Format::as_str);
            let hint = match crate::compat::did_you_mean(name, &names) {
                Some(m) => format!(
                    "did you mean --format {m}? Reports are text, json, sarif, markdown or html"
                ),
                None => "reports are text, json, sarif, markdown or html".to_string(),
            };
            anyhow!(InputError::new(format!("unknown --format `{name}`")).with_hint(hint))
        })
}

/// Parses `--format` as a command-specific value enum, with `default` when absent.
pub fn format_as<T: ValueEnum + Clone>(global: &GlobalArgs, default: T) -> Result<T> {
    let Some(name) = global.format.as_deref() else {
        return Ok(default);
    };
    T::from_str(name, true).map_err(|_| {
        let allowed: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
        let hint = match crate::compat::did_you_mean(name, &names) {
            Some(m) => format!(
                "did you mean --format {m}? This command writes {}",
                allowed.join(", ")
            ),
            None => format!("this command writes {}", allowed.join(", ")),
        };
        anyhow!(InputError::new(format!("unknown --format `{name}`")).with_hint(hint))
    })
}

/// A progress bar on stderr for long runs; hidden when stderr is not a terminal or `--quiet`.
pub fn progress_bar(global: &GlobalArgs, message: &'static str) -> indicatif::ProgressBar {
    if global.quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message);
    bar
}

/// "Today" for expiry and SLA decisions: `VOUCH_TODAY` (YYYY-MM-DD) when set, so that a past
/// run can be reproduced exactly, else the current UTC date.
pub fn today() -> Result<jiff::civil::Date> {
    if let Ok(s) = std::env::var("VOUCH_TODAY") {
        return s.parse().map_err(|_| {
            anyhow!(
                InputError::new(format!("VOUCH_TODAY=`{s}` is not a date"))
                    .with_hint("use YYYY-MM-DD")
            )
        });
    }
    Ok(jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date())
}

/// "Now" for time-window decisions (freeze windows, break-glass expiry): `VOUCH_NOW` (RFC 3339)
/// when set, to reproduce a past decision, else the system clock.
pub fn now() -> Result<jiff::Timestamp> {
    if let Ok(s) = std::env::var("VOUCH_NOW") {
        return s.parse().map_err(|_| {
            anyhow!(
                InputError::new(format!("VOUCH_NOW=`{s}` is not an RFC 3339 time"))
                    .with_hint("e.g. 2026-11-24T12:00:00Z")
            )
        });
    }
    Ok(jiff::Timestamp::now())
}
