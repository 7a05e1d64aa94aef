//! `vouch policy test --policy DIR FILE...` and `vouch policy verify`: conftest-compatible
//! Rego (`conftest test` / `conftest verify`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::rule::RuleInfo;
use vouch_core::{InputError, Report, Severity};
use vouch_policy::rego::{self, Limits, Namespaces, Outcome, PolicySet, inputs, verify};
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
    /// or a vouch report: json, sarif, markdown, html; conftest's `--output` names also work:
    /// `-o json|table|junit|tap|stdout` (conftest JSON, a table, JUnit XML, TAP). A FILE of
    /// `-` reads stdin. Exit 1 on any failure; warnings do not fail.
    Test(TestArgs),

    /// Run the policies' Rego unit tests, as `conftest verify` does.
    ///
    /// Every rule named test_* in any package is a test: it passes when defined and not
    /// false (`todo_test_*` rules are skipped). Output formats as for `policy test`. Exit 1
    /// when a test fails or errors.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Directory of .rego policies and their _test.rego files (searched recursively).
    #[arg(
        short = 'p',
        long = "policy",
        value_name = "DIR",
        default_value = "policy"
    )]
    pub policy: PathBuf,
    /// Data files (JSON, YAML, TOML) merged into `data`; repeatable.
    #[arg(short = 'd', long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Seconds one query may run before it is stopped [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
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
    /// Seconds one query may run before it is stopped [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Input files; `-` reads stdin (parsed as JSON, else YAML).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(global: &GlobalArgs, cmd: PolicyCommand) -> Result<u8> {
    match cmd {
        PolicyCommand::Test(args) => test(global, args),
        PolicyCommand::Verify(args) => verify(global, args),
    }
}

enum Out {
    Conftest,
    Table,
    Junit,
    Tap,
    Report(Format),
}

/// conftest's `--output` names, accepted as `-o NAME` (vouch's `-o` is otherwise a file).
const CONFTEST_OUTPUTS: &[&str] = &["stdout", "json", "table", "junit", "tap"];

/// The output format and the global options to write it with: `-o json|table|junit|tap|stdout`
/// selects a conftest format (and stdout) instead of naming a file.
fn output_choice(global: &GlobalArgs) -> Result<(Out, GlobalArgs)> {
    let mut g = global.clone();
    let conftest_name = global
        .output
        .as_ref()
        .and_then(|p| p.to_str())
        .filter(|p| CONFTEST_OUTPUTS.contains(p))
        .map(str::to_string);
    if let Some(name) = &conftest_name {
        g.output = None;
        if global.format.is_some() {
            return Err(InputError::new(format!(
                "-o {name} (a conftest output name) and --format both choose the format"
            ))
            .with_hint("use one of them; to write a file named like that, use -o ./NAME")
            .into());
        }
    }
    let name = match (&conftest_name, global.format.as_deref()) {
        (Some(n), _) if n == "json" => "conftest".to_string(),
        (Some(n), _) if n == "stdout" => "text".to_string(),
        (Some(n), _) => n.clone(),
        (None, Some(f)) => f.to_ascii_lowercase(),
        (None, None) => "text".to_string(),
    };
    let out = match name.as_str() {
        "conftest" => Out::Conftest,
        "table" => Out::Table,
        "junit" => Out::Junit,
        "tap" => Out::Tap,
        _ => Out::Report(output::report_format(&g).map_err(|_| {
            InputError::new(format!("unknown --format `{name}`"))
                .with_hint("use text, conftest, table, junit, tap, json, sarif, markdown or html")
        })?),
    };
    Ok((out, g))
}

fn limits(timeout: Option<f64>) -> Result<Limits> {
    let mut l = Limits::default();
    if let Some(t) = timeout {
        if !(t.is_finite() && t > 0.0 && t <= 86_400.0) {
            return Err(
                InputError::new(format!("--timeout {t}: not a number of seconds"))
                    .with_hint("give a positive number of seconds, at most 86400")
                    .into(),
            );
        }
        l.timeout = std::time::Duration::from_secs_f64(t);
    }
    Ok(l)
}

/// The most read from stdin (`-`): an endless stream (`/dev/zero`) must not grow without end.
const MAX_STDIN: u64 = 256 << 20;

/// Reads one input: a file, or stdin for `-`.
fn read_input(path: &Path) -> Result<serde_json::Value, InputError> {
    read_input_from(path, &mut std::io::stdin().lock())
}

/// [`read_input`] with `-` read from `stdin`: parsed as JSON, else YAML, as conftest does.
fn read_input_from(
    path: &Path,
    stdin: &mut dyn std::io::Read,
) -> Result<serde_json::Value, InputError> {
    use std::io::Read as _;
    if path.as_os_str() != "-" {
        return inputs::read(path);
    }
    let mut text = String::new();
    stdin
        .take(MAX_STDIN + 1)
        .read_to_string(&mut text)
        .map_err(|e| InputError::in_file("-", format!("cannot read stdin: {e}")))?;
    if text.len() as u64 > MAX_STDIN {
        return Err(InputError::in_file(
            "-",
            format!("stdin is larger than {} MiB", MAX_STDIN >> 20),
        )
        .with_hint("pass a file instead"));
    }
    inputs::parse(inputs::Format::Guess, &text).map_err(|e| e.or_file("-"))
}

fn display(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

fn test(global: &GlobalArgs, args: TestArgs) -> Result<u8> {
    let (out, g) = output_choice(global)?;
    let global = &g;
    if args.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(InputError::new("`-` (stdin) given more than once")
            .with_hint("stdin can be read once")
            .into());
    }
    let set = PolicySet::load_with(&args.policy, limits(args.timeout)?)?;
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
            combined.push(serde_json::json!({"path": display(f), "contents": read_input(f)?}));
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
            let value = read_input(f)?;
            let docs = match value {
                serde_json::Value::Array(items) => items,
                other => vec![other],
            };
            let file = (f.as_os_str() != "-").then_some(f.as_path());
            outcomes.extend(set.evaluate(&display(f), file, &docs, &data, &namespaces)?);
        }
    }
    outcomes.sort_by(|a, b| (&a.filename, &a.namespace).cmp(&(&b.filename, &b.namespace)));
    let failed = outcomes.iter().any(|o| !o.failures.is_empty());
    let names: Vec<String> = args.files.iter().map(|p| display(p)).collect();
    let bytes = render(global, out, &outcomes, &names, "vouch policy test")?;
    output::emit(global, &bytes)?;
    Ok(u8::from(failed))
}

fn verify(global: &GlobalArgs, args: VerifyArgs) -> Result<u8> {
    let (out, g) = output_choice(global)?;
    let global = &g;
    let set = PolicySet::load_with(&args.policy, limits(args.timeout)?)?;
    let mut data = Vec::new();
    for d in &args.data {
        data.push(inputs::read(d)?);
    }
    let results = set.verify(&data)?;
    if results.is_empty() {
        return Err(InputError::in_file(&args.policy, "no tests found")
            .with_hint("tests are rules named test_* (usually in *_test.rego files)")
            .into());
    }
    let outcomes = verify::outcomes(&results);
    let failed = outcomes.iter().any(|o| !o.failures.is_empty());
    let skipped = results
        .iter()
        .filter(|r| r.outcome == verify::TestOutcome::Skip)
        .count();
    let mut bytes = render(
        global,
        out,
        &outcomes,
        &[display(&args.policy)],
        "vouch policy verify",
    )?;
    if skipped > 0
        && matches!(global.format.as_deref(), None | Some("text"))
        && global.output.is_none()
    {
        let mut s = String::from_utf8_lossy(&bytes).to_string();
        s.push_str(&format!("{skipped} skipped (todo_test_*)\n"));
        bytes = s.into_bytes();
    }
    output::emit(global, &bytes)?;
    Ok(u8::from(failed))
}

fn render(
    global: &GlobalArgs,
    out: Out,
    outcomes: &[Outcome],
    targets: &[String],
    title: &'static str,
) -> Result<Vec<u8>> {
    Ok(match out {
        Out::Conftest => {
            let mut s = serde_json::to_string_pretty(&sorted(serde_json::to_value(outcomes)?))?;
            s.push('\n');
            s.into_bytes()
        }
        Out::Table => conftest_table(outcomes).into_bytes(),
        Out::Junit => conftest_junit(outcomes).into_bytes(),
        Out::Tap => conftest_tap(outcomes).into_bytes(),
        Out::Report(Format::Text) => conftest_text(outcomes).into_bytes(),
        Out::Report(format) => {
            let mut report = Report::new(targets.join(" "));
            report.checks.push("policy".into());
            report.files_scanned = targets.len();
            for o in outcomes {
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
                    title,
                },
            )
        }
    })
}

/// Every result as (kind, file, namespace, message), in conftest's order per outcome.
fn rows(outcomes: &[Outcome]) -> Vec<(&'static str, &str, &str, &str)> {
    let mut out = Vec::new();
    for o in outcomes {
        for (kind, list) in [
            ("failure", &o.failures),
            ("warning", &o.warnings),
            ("exception", &o.exceptions),
        ] {
            for r in list {
                out.push((
                    kind,
                    o.filename.as_str(),
                    o.namespace.as_str(),
                    r.msg.as_str(),
                ));
            }
        }
    }
    out
}

/// conftest's `--output table`: RESULT | FILE | NAMESPACE | MESSAGE, one row per result
/// (successes are counted in the last line, not listed).
fn conftest_table(outcomes: &[Outcome]) -> String {
    let header = ("RESULT", "FILE", "NAMESPACE", "MESSAGE");
    let rows = rows(outcomes);
    let mut w = [
        header.0.len(),
        header.1.len(),
        header.2.len(),
        header.3.len(),
    ];
    for (k, f, n, m) in &rows {
        let cells = [
            k.chars().count(),
            f.chars().count(),
            n.chars().count(),
            m.chars().count(),
        ];
        for (wi, c) in w.iter_mut().zip(cells) {
            *wi = (*wi).max(c);
        }
    }
    let line = |s: &mut String| {
        s.push('+');
        for wi in w {
            s.push_str(&"-".repeat(wi + 2));
            s.push('+');
        }
        s.push('\n');
    };
    let row = |s: &mut String, cells: [&str; 4]| {
        s.push('|');
        for (c, wi) in cells.iter().zip(w) {
            let pad = wi - c.chars().count();
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s.push('\n');
    };
    let mut s = String::new();
    line(&mut s);
    row(&mut s, [header.0, header.1, header.2, header.3]);
    line(&mut s);
    for (k, f, n, m) in &rows {
        row(&mut s, [k, f, n, m]);
    }
    if !rows.is_empty() {
        line(&mut s);
    }
    let passed: usize = outcomes.iter().map(|o| o.successes).sum();
    let _ = writeln!(s, "{} passed, {} result(s) listed", passed, rows.len());
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// conftest's `--output junit`: one test suite, one test case per result (failures carry a
/// `<failure>`, warnings and exceptions pass with the message in their name) and one passing
/// test case per success.
fn conftest_junit(outcomes: &[Outcome]) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures) = (0usize, 0usize);
    for o in outcomes {
        for i in 0..o.successes {
            tests += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"conftest\" name=\"{} - {} - success {}\" time=\"0\"></testcase>",
                xml_escape(&o.filename),
                xml_escape(&o.namespace),
                i + 1
            );
        }
    }
    for (kind, file, ns, msg) in rows(outcomes) {
        tests += 1;
        let name = xml_escape(&format!("{file} - {ns} - {msg}"));
        if kind == "failure" {
            failures += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"conftest\" name=\"{name}\" time=\"0\">\n      <failure message=\"{}\" type=\"\"></failure>\n    </testcase>",
                xml_escape(msg)
            );
        } else {
            let _ = writeln!(
                cases,
                "    <testcase classname=\"conftest\" name=\"{kind}: {name}\" time=\"0\"></testcase>"
            );
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite tests=\"{tests}\" failures=\"{failures}\" time=\"0\" name=\"conftest\">\n{cases}  </testsuite>\n</testsuites>\n"
    )
}

/// conftest's `--output tap`: `1..N`, `not ok` for failures, `ok` for successes, warnings and
/// exceptions as `ok` with a `# warning` / `# exception` directive.
fn conftest_tap(outcomes: &[Outcome]) -> String {
    let mut lines = Vec::new();
    for o in outcomes {
        for r in &o.failures {
            lines.push(format!(
                "not ok {{}} - {} - {} - {}",
                o.filename, o.namespace, r.msg
            ));
        }
        for r in &o.warnings {
            lines.push(format!(
                "ok {{}} - {} - {} - {} # warning",
                o.filename, o.namespace, r.msg
            ));
        }
        for r in &o.exceptions {
            lines.push(format!(
                "ok {{}} - {} - {} - {} # exception",
                o.filename, o.namespace, r.msg
            ));
        }
        for _ in 0..o.successes {
            lines.push(format!("ok {{}} - {} - {}", o.filename, o.namespace));
        }
    }
    let mut s = format!("1..{}\n", lines.len());
    for (i, l) in lines.iter().enumerate() {
        // Messages are one line each in TAP.
        let l = l.replacen("{}", &(i + 1).to_string(), 1).replace('\n', " ");
        s.push_str(&l);
        s.push('\n');
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use vouch_policy::rego::RuleResult;

    fn global(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["vouch"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["policy", "test", "x.yaml"]);
        crate::cli::Cli::parse_from(argv).global
    }

    fn outcome() -> Vec<Outcome> {
        let r = |m: &str| RuleResult {
            msg: m.into(),
            loc: None,
            metadata: serde_json::Map::new(),
        };
        vec![Outcome {
            filename: "a<b>.yaml".into(),
            namespace: "main".into(),
            successes: 2,
            failures: vec![r("no root & no \"latest\"")],
            warnings: vec![r("service")],
            exceptions: Vec::new(),
        }]
    }

    #[test]
    fn conftest_output_names_choose_a_format_not_a_file() {
        for (args, want) in [
            (vec!["-o", "json"], "conftest"),
            (vec!["-o", "table"], "table"),
            (vec!["-o", "junit"], "junit"),
            (vec!["-o", "tap"], "tap"),
            (vec!["-o", "stdout"], "text"),
            (vec!["--format", "table"], "table"),
            (vec!["--format", "sarif"], "sarif"),
        ] {
            let (out, g) = output_choice(&global(&args)).unwrap();
            let got = match out {
                Out::Conftest => "conftest",
                Out::Table => "table",
                Out::Junit => "junit",
                Out::Tap => "tap",
                Out::Report(f) => f.as_str(),
            };
            assert_eq!(got, want, "{args:?}");
            if args[0] == "-o" {
                assert!(g.output.is_none(), "{args:?} must write to stdout");
            }
        }
        // A path is still a file, and a name plus --format is ambiguous.
        let (_, g) = output_choice(&global(&["-o", "./json"])).unwrap();
        assert_eq!(g.output.as_deref(), Some(Path::new("./json")));
        assert!(output_choice(&global(&["-o", "json", "--format", "sarif"])).is_err());
        assert!(output_choice(&global(&["--format", "yaml"])).is_err());
    }

    #[test]
    fn table_tap_and_junit_layouts() {
        let o = outcome();
        let table = conftest_table(&o);
        assert!(
            table.contains("| failure | a<b>.yaml | main      | no root & no \"latest\" |"),
            "{table}"
        );
        assert!(
            table.contains("| warning | a<b>.yaml | main      | service"),
            "{table}"
        );
        assert!(table.ends_with("2 passed, 2 result(s) listed\n"), "{table}");

        let tap = conftest_tap(&o);
        assert_eq!(
            tap,
            "1..4\nnot ok 1 - a<b>.yaml - main - no root & no \"latest\"\nok 2 - a<b>.yaml - main - service # warning\nok 3 - a<b>.yaml - main\nok 4 - a<b>.yaml - main\n"
        );

        let junit = conftest_junit(&o);
        assert!(
            junit.contains("<testsuite tests=\"4\" failures=\"1\""),
            "{junit}"
        );
        assert!(
            junit.contains("name=\"a&lt;b&gt;.yaml - main - no root &amp; no &quot;latest&quot;\""),
            "{junit}"
        );
        assert!(
            junit.contains("name=\"warning: a&lt;b&gt;.yaml - main - service\""),
            "{junit}"
        );
        assert_eq!(xml_escape("a\u{1}b"), "a\u{fffd}b");
    }

    #[test]
    fn stdin_is_json_or_yaml() {
        let mut json: &[u8] = br#"{"kind": "Pod"}"#;
        let v = read_input_from(Path::new("-"), &mut json).unwrap();
        assert_eq!(v["kind"], "Pod");
        let mut yaml: &[u8] = b"kind: Pod\n---\nkind: Service\n";
        let v = read_input_from(Path::new("-"), &mut yaml).unwrap();
        assert_eq!(v[1]["kind"], "Service");
        let mut bad: &[u8] = b"a: [\n";
        let e = read_input_from(Path::new("-"), &mut bad).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(Path::new("-")));
        assert!(e.line.is_some(), "{e}");
        let mut binary: &[u8] = &[0xff, 0xfe, 0x00];
        assert!(read_input_from(Path::new("-"), &mut binary).is_err());
    }

    #[test]
    fn timeouts_are_validated() {
        assert!(limits(Some(0.0)).is_err());
        assert!(limits(Some(f64::NAN)).is_err());
        assert!(limits(Some(1e12)).is_err());
        assert_eq!(
            limits(Some(2.5)).unwrap().timeout,
            std::time::Duration::from_millis(2500)
        );
        assert_eq!(limits(None).unwrap(), Limits::default());
    }
}
