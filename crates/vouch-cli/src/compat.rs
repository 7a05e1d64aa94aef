//! What the derived grammar in `cli.rs` cannot say by itself, for users arriving from the tools
//! vouch replaces: cosign's command aliases and accepted compatibility flags, global options
//! hidden and refused where a command ignores them, `-o FORMAT` caught, and did-you-mean
//! suggestions better than clap's for subcommands, flags and `--format` values.

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory};
use vouch_core::InputError;

use crate::cli::Cli;

/// Commands (space-separated paths) that take `--fail-on`: the ones that produce findings.
const FAIL_ON: [&str; 8] = [
    "check",
    "ci audit",
    "iam lint",
    "secrets scan",
    "vuln scan",
    "vuln report",
    "register lint",
    "register report",
];

/// Commands that write no report and take no `--format`.
const NO_FORMAT: [&str; 15] = [
    "secrets baseline",
    "trust show",
    "trust export",
    "trust import",
    "trust update",
    "vuln vex",
    "key generate",
    "key import-cosign",
    "key public-key",
    "sign-blob",
    "verify-blob",
    "verify-attestation",
    "bundle digest",
    "completions",
    "explain",
];

/// Commands that write nothing to stdout / -o (their files are named by their own flags).
const NO_OUTPUT: [&str; 5] = [
    "key generate",
    "key import-cosign",
    "trust export",
    "trust import",
    "trust update",
];

/// Commands whose text report can be coloured (`--color`): the finding reports.
const COLOR: [&str; 8] = [
    "check",
    "ci audit",
    "iam lint",
    "secrets scan",
    "vuln scan",
    "register lint",
    "policy test",
    "policy verify",
];

/// Commands that print nothing on stderr but errors, so `--quiet` has nothing to silence
/// (no progress, warnings, notes or status lines).
const NO_QUIET: [&str; 16] = [
    "explain",
    "completions",
    "bundle digest",
    "key public-key",
    "ci audit",
    "iam lint",
    "policy test",
    "policy verify",
    "exceptions list",
    "trust show",
    "vuln vex",
    "register export",
    "register threats",
    "register report",
    "log prove",
    "log trusted-root",
];

/// Commands that may fetch over the network, which `--offline` forbids.
const ONLINE: [&str; 2] = ["trust update", "db update"];

/// Command families that read vouch.toml (`--config`).
const CONFIG_FAMILIES: [&str; 9] = [
    "check", "ci", "db", "iam", "register", "seal", "secrets", "vuln",
    // `vouch serve --config serve.toml`: the service's own configuration.
    "serve",
];

/// The `--format` values of the commands that take one, for their help.
fn formats(path: &str) -> Option<&'static str> {
    const REPORT: &str = "text (default), json, sarif, markdown, html";
    Some(match path {
        "check" | "ci audit" | "secrets scan" | "iam lint" | "vuln scan" | "register lint" => {
            REPORT
        }
        "iam diff" => "text (default), json, policy",
        "vuln report" => "csv, markdown",
        "register report" => "html, markdown",
        "sbom generate" => "cyclonedx-json (default), cyclonedx-xml, spdx-json",
        "sbom diff" => "markdown (default), json",
        "exceptions list" | "seal status" => "text (default), json",
        "gate" => "text (default), json, markdown",
        "policy test" => "text (default, conftest's layout), conftest, json, sarif, markdown, html",
        "attest" => "bundle (default), dsse",
        _ => return None,
    })
}

/// Whether the command at `path` takes the global option `id`.
fn takes(path: &str, id: &str) -> bool {
    match id {
        "fail_on" => FAIL_ON.contains(&path),
        "format" => !NO_FORMAT.contains(&path),
        "output" => !NO_OUTPUT.contains(&path),
        "config" => {
            let family = path.split(' ').next().unwrap_or(path);
            CONFIG_FAMILIES.contains(&family)
        }
        "color" => COLOR.contains(&path),
        "quiet" => !NO_QUIET.contains(&path),
        "offline" => ONLINE.contains(&path),
        _ => true,
    }
}

/// The full command: the derived grammar plus cosign aliases and compatibility flags, built,
/// with global options hidden from the help of commands that ignore them.
pub fn command() -> Command {
    let mut cmd = Cli::command()
        .mut_subcommand("attest", |c| {
            c.visible_alias("attest-blob").args(cosign_signing_flags())
        })
        .mut_subcommand("sign-blob", |c| c.args(cosign_signing_flags()))
        .mut_subcommand("verify-attestation", |c| {
            c.visible_alias("verify-blob-attestation")
        });
    cmd.build();
    for sub in cmd.get_subcommands_mut() {
        let name = sub.get_name().to_string();
        hide_ignored(sub, &name);
    }
    cmd
}

/// Flags cosign users pass to `sign-blob` / `attest-blob` that mean nothing different here.
fn cosign_signing_flags() -> [Arg; 3] {
    [
        Arg::new("new_bundle_format")
            .long("new-bundle-format")
            .value_name("BOOL")
            .value_parser(clap::value_parser!(bool))
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .help("Accepted for cosign compatibility: vouch always writes the Sigstore bundle v0.3 format"),
        Arg::new("yes")
            .long("yes")
            .short('y')
            .action(ArgAction::SetTrue)
            .help("Accepted for cosign compatibility: vouch never asks for consent to upload"),
        Arg::new("tlog_upload")
            .long("tlog-upload")
            .value_name("BOOL")
            .value_parser(clap::value_parser!(bool))
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .help("cosign compatibility: `--tlog-upload=false` logs nothing (the default without --tlog DIR); vouch has no public log, so logging needs --tlog DIR"),
    ]
}

/// The global options some commands ignore.
const GLOBALS: [&str; 7] = [
    "fail_on", "format", "output", "config", "color", "quiet", "offline",
];

/// Hides the global options (`--fail-on`, `--format`, `-o`, `--config`, `--color`,
/// `--quiet`, `--offline`) in the help of commands that do not take them, recursively.
/// `--color`, `--quiet` and `--offline` stay accepted there (they change nothing, and
/// scripts pass them everywhere); the others are refused by [`check`].
fn hide_ignored(cmd: &mut Command, path: &str) {
    let has_subcommands = cmd.has_subcommands();
    if !has_subcommands || path == "gate" {
        // `mut_args` keeps the order of a built command's arguments (`mut_arg` does not).
        *cmd = std::mem::take(cmd).mut_args(|a| {
            if a.is_global_set() || GLOBALS.contains(&a.get_id().as_str()) {
                let hide = !takes(path, a.get_id().as_str());
                if hide {
                    return a.hide(true);
                }
                if a.get_id() == "format"
                    && let Some(list) = formats(path)
                {
                    return a.help(format!("Output format: {list}"));
                }
            }
            a
        });
    }
    for sub in cmd.get_subcommands_mut() {
        let sub_path = format!("{path} {}", sub.get_name());
        hide_ignored(sub, &sub_path);
    }
}

/// After parsing: refuses global options given to a command that ignores them, and checks the
/// cosign compatibility flags.
pub fn check(matches: &ArgMatches) -> Result<(), InputError> {
    let mut path: Vec<&str> = Vec::new();
    let mut leaf = matches;
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name);
        leaf = sub;
    }
    let path = path.join(" ");
    let given = |id: &str| {
        leaf.try_contains_id(id).unwrap_or(false)
            && leaf.value_source(id) == Some(ValueSource::CommandLine)
    };
    if given("output") && !takes(&path, "output") {
        return Err(InputError::new(format!(
            "`vouch {path}` does not take -o: it writes the files its own flags name"
        ))
        .with_hint(format!("see `vouch {path} --help`")));
    }
    if given("config") && !takes(&path, "config") {
        return Err(InputError::new(format!(
            "`vouch {path}` does not read vouch.toml, so --config has no effect"
        ))
        .with_hint("drop --config"));
    }
    if given("fail_on") && !FAIL_ON.contains(&path.as_str()) {
        return Err(InputError::new(format!(
            "`vouch {path}` does not take --fail-on: it reports no findings"
        ))
        .with_hint(format!(
            "--fail-on sets the failing severity for {}",
            FAIL_ON.map(|c| format!("`{c}`")).join(", ")
        )));
    }
    if given("format") && NO_FORMAT.contains(&path.as_str()) {
        return Err(InputError::new(format!(
            "`vouch {path}` has no --format: it writes no report"
        ))
        .with_hint(format!("see `vouch {path} --help` for what it writes")));
    }
    if path == "sign-blob" || path == "attest" {
        let flag = |id: &str| -> Option<bool> {
            if !given(id) {
                return None;
            }
            leaf.try_get_one::<bool>(id).ok().flatten().copied()
        };
        if flag("new_bundle_format") == Some(false) {
            return Err(InputError::new(
                "--new-bundle-format=false: vouch writes only the Sigstore bundle v0.3 format",
            )
            .with_hint(
                "drop the flag; cosign, sigstore-js and sigstore-python verify v0.3 bundles",
            ));
        }
        let tlog_dir = given("tlog");
        match flag("tlog_upload") {
            Some(true) if !tlog_dir => {
                return Err(InputError::new(
                    "--tlog-upload: vouch has no public transparency log to upload to",
                )
                .with_hint(
                    "log in your own log with --tlog DIR (`vouch log init`), or pass --tlog-upload=false",
                ));
            }
            Some(false) if tlog_dir => {
                return Err(
                    InputError::new("--tlog-upload=false contradicts --tlog DIR")
                        .with_hint("drop one of them"),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses `-o FORMAT`: `-o` names the output file here, but syft, grype and conftest users
/// type `-o json`. A file really named like a format can be written as `-o ./json`.
pub fn check_output(output: Option<&std::path::Path>) -> Result<(), InputError> {
    let Some(out) = output.and_then(|p| p.to_str()) else {
        return Ok(());
    };
    let Some(format) = format_alias(out) else {
        return Ok(());
    };
    Err(InputError::new(format!(
        "-o names the output file, and `{out}` is a format name"
    ))
    .with_hint(format!(
        "did you mean --format {format}? (to write a file named `{out}`, use -o ./{out})"
    )))
}

/// Format names other tools use (the keys of [`format_alias`]).
const FORMAT_NAMES: [&str; 7] = [
    "table",
    "json",
    "sarif",
    "markdown",
    "html",
    "cyclonedx-json",
    "spdx-json",
];

/// Format names other tools accept, mapped to vouch's name for the same format.
pub fn format_alias(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "text" | "table" | "txt" | "pretty" | "plain" => "text",
        "json" | "jsonl" => "json",
        "sarif" | "sarif-json" => "sarif",
        "markdown" | "md" | "github" => "markdown",
        "html" | "htm" => "html",
        "cyclonedx-json" | "cyclonedx" | "cdx" | "cdx-json" => "cyclonedx-json",
        "cyclonedx-xml" | "cdx-xml" => "cyclonedx-xml",
        "spdx-json" | "spdx" | "spdx-tag-value" => "spdx-json",
        _ => return None,
    })
}

/// The closest of `candidates` to `got` (aliases other tools use first, then edit distance).
pub fn did_you_mean<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let got = got.to_ascii_lowercase();
    let alias = format_alias(&got).or_else(|| {
        FORMAT_NAMES
            .iter()
            .find(|n| levenshtein(&got, n) <= 1 + n.len() / 5)
            .and_then(|n| format_alias(n))
    });
    if let Some(alias) = alias
        && let Some(c) = candidates.iter().find(|c| **c == alias)
    {
        return Some(c);
    }
    if let Some(c) = candidates
        .iter()
        .find(|c| c.starts_with(&got) || got.starts_with(**c))
    {
        return Some(c);
    }
    candidates
        .iter()
        .map(|c| (levenshtein(&got, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Subcommands of other tools (and likely guesses), with what to run instead.
fn subcommand_tip(got: &str) -> Option<&'static str> {
    Some(match got {
        "scan" | "detect" => {
            "`vouch secrets scan PATH` finds credentials; `vouch check PATH` runs every check (secrets, workflows, IAM, vulnerabilities, registers)"
        }
        "protect" => "`vouch secrets scan --staged` checks what the next commit would add",
        "lint" => "`vouch check PATH`, `vouch iam lint FILE...` or `vouch register lint`",
        "audit" => "`vouch ci audit [PATH]` audits GitHub Actions workflows",
        "test" | "verify-policy" => "`vouch policy test --policy DIR FILE...` (conftest test)",
        "generate-key-pair" | "keygen" | "genkey" => "`vouch key generate`",
        "generate" | "packages" | "sbom-generate" => "`vouch sbom generate PATH`",
        "source" | "vuln-scan" => "`vouch vuln scan PATH|SBOM --db osv.db`",
        "version" => "`vouch --version`",
        "init" => "`vouch register init`, `vouch log init` or `vouch gate init`",
        _ => return None,
    })
}

/// Flags of other tools (or a near miss of one), with vouch's equivalent.
fn flag_tip(got: &str) -> Option<&'static str> {
    let flag = got.split_once('=').map_or(got, |(f, _)| f);
    if let Some(tip) = known_flag_tip(flag) {
        return Some(tip);
    }
    let near = did_you_mean(flag, &KNOWN_FLAGS)?;
    known_flag_tip(near)
}

const KNOWN_FLAGS: [&str; 9] = [
    "--severity",
    "--min-severity",
    "--severity-threshold",
    "--output-format",
    "--report-path",
    "--output-file",
    "--log-opts",
    "--exit-code",
    "--lockfile",
];

fn known_flag_tip(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "--severity"
        | "--min-severity"
        | "--severity-threshold"
        | "--severity-cutoff"
        | "--fail-level"
        | "--fail-on-severity"
        | "--level"
        | "--min-level" => {
            "use --fail-on SEVERITY (info, low, medium, high, critical): findings at or above it fail the run"
        }
        "--output-format" | "--out-format" | "--report-format" | "--output-type" => {
            "use --format FORMAT; -o / --output names the output file"
        }
        "--report-path" | "--output-file" | "--out" | "--outfile" | "--report" => {
            "use -o FILE (written atomically)"
        }
        "--source" | "--path" | "--dir" => {
            "give the path as an argument: `vouch secrets scan PATH`, `vouch check PATH`"
        }
        "--no-git" => "`vouch secrets scan PATH` scans files by default; --git scans history",
        "--log-opts" => "use `vouch secrets scan --git --since REV`",
        "--exit-code" => {
            "exit codes are fixed: 0 pass, 1 findings at or above --fail-on, 2 bad input"
        }
        "--lockfile" | "--sbom" | "--recursive" => {
            "give the lockfile, directory or SBOM as an argument: `vouch vuln scan PATH --db osv.db`"
        }
        "--offline" | "--offline-vulnerabilities" => "vouch is always offline; nothing to turn off",
        "--key-path" | "--private-key" => "use --key KEYREF (a path, env://VAR or pkcs11: URI)",
        _ => return None,
    })
}

/// The usage line of the subcommand `args` (the command line) selects.
fn leaf_usage(cmd: &mut Command, args: &[std::ffi::OsString]) -> StyledStr {
    let mut path: Vec<String> = Vec::new();
    let mut cur: &Command = cmd;
    for a in args.iter().skip(1) {
        let Some(a) = a.to_str() else { break };
        if a.starts_with('-') {
            continue;
        }
        match cur.find_subcommand(a) {
            Some(next) => {
                path.push(next.get_name().to_string());
                cur = next;
            }
            None => break,
        }
    }
    usage_at(cmd, &path)
}

fn usage_at(cmd: &mut Command, path: &[String]) -> StyledStr {
    if let Some((name, rest)) = path.split_first()
        && let Some(sub) = cmd.find_subcommand_mut(name)
    {
        return usage_at(sub, rest);
    }
    cmd.render_usage()
}

/// Improves a clap error: better suggestions for unknown subcommands and flags, and never
/// `--version` or `--help` as the suggestion for a real option.
pub fn improve(e: clap::Error, cmd: &mut Command, args: &[std::ffi::OsString]) -> clap::Error {
    let had_suggestion = matches!(
        e.get(ContextKind::SuggestedArg),
        Some(ContextValue::String(s)) if s.starts_with("--version") || s.starts_with("--help")
    );
    let mut e = improve_tips(e);
    if had_suggestion && e.get(ContextKind::SuggestedArg).is_none() {
        // clap wrote the usage line with the suggested flag in it; write it again.
        let usage = leaf_usage(cmd, args);
        e.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    }
    e
}

fn improve_tips(mut e: clap::Error) -> clap::Error {
    match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let got = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => return e,
            };
            if let Some(tip) = subcommand_tip(&got) {
                e.remove(ContextKind::SuggestedSubcommand);
                e.insert(
                    ContextKind::Suggested,
                    ContextValue::StyledStrs(vec![StyledStr::from(format!("did you mean {tip}?"))]),
                );
            }
        }
        ErrorKind::UnknownArgument => {
            let got = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => return e,
            };
            if let Some(tip) = flag_tip(&got) {
                e.remove(ContextKind::SuggestedArg);
                e.insert(
                    ContextKind::Suggested,
                    ContextValue::StyledStrs(vec![StyledStr::from(tip.to_string())]),
                );
            } else if let Some(ContextValue::String(s)) = e.get(ContextKind::SuggestedArg)
                && (s.starts_with("--version") || s.starts_with("--help"))
            {
                e.remove(ContextKind::SuggestedArg);
            }
        }
        _ => {}
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let reports = ["text", "json", "sarif", "markdown", "html"];
        assert_eq!(did_you_mean("table", &reports), Some("text"));
        assert_eq!(did_you_mean("jsn", &reports), Some("json"));
        assert_eq!(did_you_mean("md", &reports), Some("markdown"));
        assert_eq!(did_you_mean("htm", &reports), Some("html"));
        assert_eq!(did_you_mean("xlsx", &reports), None);
        assert_eq!(did_you_mean("tabel", &reports), Some("text"));
        let sboms = ["cyclonedx-json", "spdx-json"];
        assert_eq!(did_you_mean("cyclonedx", &sboms), Some("cyclonedx-json"));
        assert_eq!(did_you_mean("spdx", &sboms), Some("spdx-json"));
        assert_eq!(
            did_you_mean("cylonedx-json", &sboms),
            Some("cyclonedx-json")
        );
    }

    #[test]
    fn output_that_is_a_format() {
        for f in [
            "json",
            "cyclonedx-json",
            "spdx-json",
            "sarif",
            "table",
            "html",
        ] {
            let e = check_output(Some(std::path::Path::new(f))).unwrap_err();
            assert!(e.to_string().contains("did you mean --format"), "{e}");
        }
        assert!(check_output(Some(std::path::Path::new("report.json"))).is_ok());
        assert!(check_output(Some(std::path::Path::new("./json"))).is_ok());
        assert!(check_output(None).is_ok());
    }

    #[test]
    fn command_is_consistent() {
        command().debug_assert();
    }
}
