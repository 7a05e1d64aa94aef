//! `vouch policy test --policy DIR FILE...`: conftest-compatible Rego.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::rule::RuleInfo;
use vouch_core::{InputError, Report, Severity};
use vouch_policy::rego::{self, Namespaces, Outcome, PolicySet, inputs};
use vouch_report::{Format, RenderOptions};

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate Rego policies against configuration files, as `conftest test` does.
    ///
    /// Rules named deny, violation and warn (and deny_x, warn_x…) in package `main` (or
    /// --namespace / --all-namespaces) give failures and warnings; `exception` rules turn
    /// results into exceptions. Inputs: YAML (multi-document), JSON, TOML, HCL2 (.tf),
    /// Dockerfile, INI, .env. --format text (conftest's layout), conftest (conftest's JSON),
    /// or a vouch report: json, sarif, markdown, html. Exit 1 on any failure; warnings do not
    /// fail.
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directory of .rego policies (searched recursively).
    #[arg(
        short = 'p',
        long = "policy",
        value_name = "DIR",
        default_value = "policy"
    )]
    pub policy: PathBuf,
    /// Query these namespaces (packages) instead of `main`; repeatable.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Vec<String>,
    /// Query every package found in the policies.
    #[arg(long)]
    pub all_namespaces: bool,
    /// Data files (JSON, YAML, TOML) merged into `data`; repeatable.
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Evaluate all inputs at once: `input` is a list of {path, contents}.
    #[arg(long)]
    pub combine: bool,
    /// Input files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(global: &GlobalArgs, cmd: PolicyCommand) -> Result<u8> {
    match cmd {
        PolicyCommand::Test(args) => test(global, args),
    }
}

enum Out {
    Conftest,
    Report(Format),
}

fn display(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

fn test(global: &GlobalArgs, args: TestArgs) -> Result<u8> {
    let out = match global.format.as_deref() {
        Some(f) if f.eq_ignore_ascii_case("conftest") => Out::Conftest,
        _ => Out::Report(output::report_format(global).map_err(|_| {
            InputError::new(format!(
                "unknown --format `{}`",
                global.format.clone().unwrap_or_default()
            ))
            .with_hint("use text, conftest, json, sarif, markdown or html")
        })?),
    };
    let set = PolicySet::load(&args.policy)?;
    let namespaces = if args.all_namespaces {
        Namespaces::All
    } else if !args.namespace.is_empty() {
        Namespaces::Only(args.namespace.clone())
    } else {
        Namespaces::Main
    };
    let mut data = Vec::new();
    for d in &args.data {
        data.push(inputs::read(d)?);
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    if args.combine {
        let mut combined = Vec::new();
        for f in &args.files {
            combined.push(serde_json::json!({"path": display(f), "contents": inputs::read(f)?}));
        }
        outcomes.extend(set.evaluate(
            "Combined",
            None,
            &[serde_json::Value::Array(combined)],
            &data,
            &namespaces,
        )?);
    } else {
        for f in &args.files {
            let value = inputs::read(f)?;
            let docs = match value {
                serde_json::Value::Array(items) => items,
                other => vec![other],
            };
            outcomes.extend(set.evaluate(&display(f), Some(f), &docs, &data, &namespaces)?);
        }
    }
    outcomes.sort_by(|a, b| (&a.filename, &a.namespace).cmp(&(&b.filename, &b.namespace)));
    let failed = outcomes.iter().any(|o| !o.failures.is_empty());
    let bytes = match out {
        Out::Conftest => {
            let mut s = serde_json::to_string_pretty(&sorted(serde_json::to_value(&outcomes)?))?;
            s.push('\n');
            s.into_bytes()
        }
        Out::Report(Format::Text) => conftest_text(&outcomes).into_bytes(),
        Out::Report(format) => {
            let mut report = Report::new(
                args.files
                    .iter()
                    .map(|p| display(p))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            report.checks.push("policy".into());
            report.files_scanned = args.files.len();
            for o in &outcomes {
                report
                    .findings
                    .extend(rego::findings(std::slice::from_ref(o), &o.filename));
            }
            let known: Vec<RuleInfo> = Vec::new();
            // Any failure fails the run (conftest's contract); warnings are `low`.
            report.finalize(Severity::High, &known);
            vouch_report::render(
                &report,
                format,
                &RenderOptions {
                    root: Some(Path::new(".")),
                    color: output::use_color(global),
                    title: "vouch policy test",
                },
            )
        }
    };
    output::emit(global, &bytes)?;
    Ok(u8::from(failed))
}

/// Sorts object keys, so the conftest JSON is byte-stable (as the OPA judge writes it).
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// conftest's text layout: one line per result, then the counts.
fn conftest_text(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    let (mut tests, mut passed, mut warnings, mut failures, mut exceptions) = (0, 0, 0, 0, 0);
    for o in outcomes {
        for w in &o.warnings {
            let _ = writeln!(s, "WARN - {} - {} - {}", o.filename, o.namespace, w.msg);
        }
        for f in &o.failures {
            let _ = writeln!(s, "FAIL - {} - {} - {}", o.filename, o.namespace, f.msg);
        }
        for e in &o.exceptions {
            let _ = writeln!(s, "EXCP - {} - {} - {}", o.filename, o.namespace, e.msg);
        }
        passed += o.successes;
        warnings += o.warnings.len();
        failures += o.failures.len();
        exceptions += o.exceptions.len();
        tests += o.successes + o.warnings.len() + o.failures.len() + o.exceptions.len();
    }
    if !s.is_empty() {
        s.push('\n');
    }
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let _ = writeln!(
        s,
        "{}, {} passed, {}, {}, {}",
        plural(tests, "test", "tests"),
        passed,
        plural(warnings, "warning", "warnings"),
        plural(failures, "failure", "failures"),
        plural(exceptions, "exception", "exceptions"),
    );
    s
}
