//! Runs the registered checks over one walk of a repository and produces a [`Report`].
//!
//! Order of work: configure every enabled check (bad options fail before any file is read),
//! walk once, hand each file to the checks that want it (in parallel), run repository-level
//! checks, apply inline `vouch:allow` comments ([`crate::inline`]), `[rules]` overrides,
//! exceptions and the threshold.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::civil::Date;
use rayon::prelude::*;

use crate::check::{Check, CheckContext, Sink, SourceFile};
use crate::exceptions::{self, ExceptionSet};
use crate::rule::RuleInfo;
use crate::walk::{self, WalkOptions, looks_binary};
use crate::{Config, Finding, InputError, Report, Severity};

/// Inputs to a run that do not come from `vouch.toml`.
pub struct RunOptions<'a> {
    /// The date exceptions and SLAs are judged against.
    pub today: Date,
    /// Overrides `fail_on` from the configuration (the `--fail-on` flag).
    pub fail_on: Option<Severity>,
    /// Called with (files done, files total) while files are checked.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// Every rule the given checks (and the exception machinery) can report.
pub fn all_rules(checks: &[Box<dyn Check>]) -> Vec<RuleInfo> {
    let mut rules: Vec<RuleInfo> = checks
        .iter()
        .flat_map(|c| c.rules())
        .chain(exceptions::RULES.iter().copied())
        .map(RuleInfo::from)
        .collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules.dedup_by(|a, b| a.id == b.id);
    rules
}

/// Checks `root` (a directory or a single file) with `checks`.
pub fn run(
    root: &Path,
    config: &Config,
    mut checks: Vec<Box<dyn Check>>,
    options: &RunOptions<'_>,
) -> Result<Report, InputError> {
    let known_rules = all_rules(&checks);
    config.check_rule_ids(known_rules.iter().map(|r| r.id.as_str()))?;
    let mut report = Report::new(root.display().to_string());

    // Checks outside an explicit `enable` list are simply not part of this run; checks named in
    // `disable` are listed as skipped, so a switched-off guard stays visible in the report.
    checks.retain(|c| {
        let on = config.check_enabled(c.name());
        if !on && config.checks.disable.iter().any(|d| d == c.name()) {
            report.skipped_checks.push(crate::report::SkippedCheck {
                name: c.name().to_string(),
                reason: "disabled in vouch.toml".to_string(),
            });
        }
        on
    });
    for c in checks.iter_mut() {
        c.configure(config)?;
    }
    // Exceptions are read before the walk, so a malformed file fails fast.
    let exception_root = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(root)
    };
    let exceptions = ExceptionSet::discover(exception_root)?;

    let walked = walk::walk(
        root,
        &WalkOptions {
            max_file_size: config.max_file_size.unwrap_or(walk::DEFAULT_MAX_FILE_SIZE),
            ignore: config.ignore.clone(),
        },
    )?;
    let paths: Vec<String> = walked.files.iter().map(|f| f.path.clone()).collect();
    let ctx = CheckContext {
        root,
        config,
        files: &paths,
        today: options.today,
    };

    let done = AtomicUsize::new(0);
    let total = walked.files.len();
    let per_file: Vec<Result<Sink, InputError>> = walked
        .files
        .par_iter()
        .map(|wf| {
            let mut sink = Sink::default();
            let interested: Vec<&Box<dyn Check>> =
                checks.iter().filter(|c| c.wants(&wf.path)).collect();
            if !interested.is_empty() {
                // Never a FIFO or device swapped in after the walk: regular files only.
                match crate::fs::read_regular(
                    &wf.full_path,
                    config.max_file_size.unwrap_or(walk::DEFAULT_MAX_FILE_SIZE),
                ) {
                    Ok(bytes) => {
                        let binary = looks_binary(&bytes);
                        let file = SourceFile {
                            path: &wf.path,
                            full_path: &wf.full_path,
                            bytes: &bytes,
                        };
                        for c in interested {
                            if binary && !c.accepts_binary() {
                                continue;
                            }
                            c.check_file(&ctx, &file, &mut sink)?;
                        }
                    }
                    Err(e) => sink.warn(format!("{}: cannot read: {e}", wf.path)),
                }
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = options.progress {
                p(n, total);
            }
            Ok(sink)
        })
        .collect();

    let mut findings: Vec<Finding> = Vec::new();
    for r in per_file {
        let sink = r?;
        findings.extend(sink.findings);
        report.warnings.extend(sink.warnings);
    }
    for c in &checks {
        let mut sink = Sink::default();
        c.check_repo(&ctx, &mut sink)?;
        findings.extend(sink.findings);
        report.warnings.extend(sink.warnings);
        match sink.skipped {
            Some(reason) => report.skipped_checks.push(crate::report::SkippedCheck {
                name: c.name().to_string(),
                reason,
            }),
            None => report.checks.push(c.name().to_string()),
        }
    }
    for (path, size) in &walked.too_large {
        report.warnings.push(format!(
            "{path}: skipped, {size} bytes is over the size limit (max_file_size)"
        ));
    }
    report.warnings.extend(walked.errors.iter().cloned());

    // `vouch:allow` comments, for every rule family, before exceptions are judged.
    crate::inline::apply_under(root, &mut findings);
    merge_derived(&mut findings);
    let meta = settle(config, &mut findings, &exceptions, options.today);
    findings.extend(meta);

    report.files_scanned = walked.files.len();
    report.findings = findings;
    let fail_on = options.fail_on.or(config.fail_on).unwrap_or(Severity::High);
    report.finalize(fail_on, &known_rules);
    Ok(report)
}

/// The property a finding derived from another finding carries (a register row that
/// `vouch register sync` wrote from a scanner finding, or that records a problem a scanner
/// also reports). Either `{"rule", "path", "line"}` of the one source finding, or
/// `{"family", "ids"}`: every finding of that rule family whose id (`family/ID`) or `aliases`
/// property names one of `ids` (a D6 row about `CVE-2024-1` and the `vuln/GHSA-…` finding
/// whose alias it is).
pub const DERIVED_FROM: &str = "derived_from";

/// What a derived finding names as its source.
enum Source {
    At {
        rule: String,
        path: String,
        line: u32,
    },
    Ids {
        family: String,
        ids: Vec<String>,
    },
}

impl Source {
    fn of(f: &Finding) -> Option<Source> {
        let d = f.properties.get(DERIVED_FROM)?;
        if let Some(ids) = d.get("ids").and_then(|v| v.as_array()) {
            return Some(Source::Ids {
                family: d.get("family")?.as_str()?.to_string(),
                ids: ids
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            });
        }
        Some(Source::At {
            rule: d.get("rule")?.as_str()?.to_string(),
            path: d.get("path")?.as_str()?.to_string(),
            line: u32::try_from(d.get("line")?.as_u64()?).ok()?,
        })
    }

    fn matches(&self, s: &Finding) -> bool {
        if s.properties.contains_key(DERIVED_FROM) {
            return false;
        }
        match self {
            Source::At { rule, path, line } => {
                s.rule == *rule && s.location.path == *path && s.location.line() == Some(*line)
            }
            Source::Ids { family, ids } => {
                let Some(id) = s
                    .rule
                    .strip_prefix(family.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                else {
                    return false;
                };
                let aliases = s
                    .properties
                    .get("aliases")
                    .and_then(|a| a.as_array())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                ids.iter().any(|want| {
                    want.eq_ignore_ascii_case(id)
                        || aliases
                            .iter()
                            .any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case(want)))
                })
            }
        }
    }
}

/// One problem, one finding: a derived finding whose source finding is in the same run is
/// dropped, and the source says where the problem is also recorded (`; recorded in
/// security/secrets.csv:2`, and the `recorded_in` property) and takes the derived finding's
/// severity when that is higher, so merging never weakens the gate. A derived finding whose
/// source is not in the run (the secret was removed but its register row still says
/// plaintext) stays.
pub fn merge_derived(findings: &mut Vec<Finding>) {
    let mut notes: Vec<(usize, String, Severity)> = Vec::new();
    let mut drop = vec![false; findings.len()];
    for (i, f) in findings.iter().enumerate() {
        let Some(source) = Source::of(f) else {
            continue;
        };
        let at = match f.location.line() {
            Some(l) => format!("{}:{l}", f.location.path),
            None => f.location.path.clone(),
        };
        for (s, _) in findings
            .iter()
            .enumerate()
            .filter(|(_, s)| source.matches(s))
        {
            drop[i] = true;
            notes.push((s, at.clone(), f.severity));
        }
    }
    for (s, at, severity) in notes {
        let f = &mut findings[s];
        f.message = format!("{}; recorded in {at}", f.message);
        f.severity = f.severity.max(severity);
        let list = f
            .properties
            .entry("recorded_in")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(a) = list {
            a.push(serde_json::Value::String(at));
        }
    }
    let mut i = 0;
    findings.retain(|_| {
        let keep = !drop[i];
        i += 1;
        keep
    });
}

/// What every command that reports findings does before rendering: `[rules]` overrides, sorted
/// findings with unique fingerprints, then exceptions. Returns the findings about the exceptions
/// themselves (expired, stale, too long), with the overrides applied, for the caller to keep or
/// filter (a single-capability command may not judge staleness).
pub fn settle(
    config: &Config,
    findings: &mut Vec<Finding>,
    exceptions: &ExceptionSet,
    today: Date,
) -> Vec<Finding> {
    apply_rule_config(config, findings);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    crate::fingerprint::disambiguate(findings);
    let mut meta = exceptions.apply(findings, today, config.exceptions.max_lifetime_days);
    apply_rule_config(config, &mut meta);
    meta
}

/// [`settle`] for a command that runs only some rules (`vouch secrets scan`, `vouch vuln scan`,
/// `vouch register lint`): every exception still suppresses what it covers, but only the
/// exceptions `in_scope` says are about these rules are reported as expired, stale or too
/// long. An exception about another rule family is not stale just because this command did
/// not run that family; `vouch check`, which runs everything, judges it.
pub fn settle_scoped(
    config: &Config,
    findings: &mut Vec<Finding>,
    exceptions: &ExceptionSet,
    today: Date,
    in_scope: impl Fn(&crate::exceptions::Exception) -> bool,
) -> Vec<Finding> {
    let mut meta = settle(config, findings, exceptions, today);
    // Meta findings sit on their exception's line in the exceptions file.
    meta.retain(|m| {
        exceptions
            .entries
            .iter()
            .any(|e| m.location.region.as_ref().map(|r| r.line) == Some(e.line) && in_scope(e))
    });
    meta
}

/// The threshold: the `--fail-on` flag, else `fail_on` in vouch.toml, else `high`.
pub fn fail_on(flag: Option<Severity>, config: &Config) -> Severity {
    flag.or(config.fail_on).unwrap_or(Severity::High)
}

/// Drops findings of disabled rules and applies severity overrides.
pub fn apply_rule_config(config: &Config, findings: &mut Vec<Finding>) {
    findings.retain(|f| config.rule_enabled(&f.rule));
    for f in findings.iter_mut() {
        f.severity = config.severity_for(&f.rule, f.severity);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::exceptions::EXCEPTIONS_FILE;
    use crate::{Location, Severity};

    const TWO: &str = "exceptions:\n  - id: SEC-1\n    rule: secrets/*\n    owner: a@example.com\n    expires: 2026-01-01\n    reason: r\n  - id: WF-1\n    rule: workflow/*\n    owner: a@example.com\n    expires: 2026-12-01\n    reason: r\n";

    /// Reports `t/x` on line 2 of every `.yml` file.
    struct LineTwo;

    impl Check for LineTwo {
        fn name(&self) -> &'static str {
            "t"
        }
        fn rules(&self) -> Vec<&'static crate::Rule> {
            Vec::new()
        }
        fn wants(&self, path: &str) -> bool {
            path.ends_with(".yml")
        }
        fn check_file(
            &self,
            _ctx: &CheckContext<'_>,
            file: &SourceFile<'_>,
            sink: &mut Sink,
        ) -> Result<(), InputError> {
            sink.push(Finding::dynamic(
                "t/x",
                Severity::High,
                Location::at(file.path, crate::Region::line(2)),
                "m",
                file.path,
            ));
            Ok(())
        }
    }

    #[test]
    fn inline_allow_suppresses_any_family_in_a_run() {
        let dir = std::env::temp_dir().join(format!("vouch-engine-allow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yml"), "k: 1\nv: 2 # vouch:allow t/x reviewed\n").unwrap();
        std::fs::write(dir.join("b.yml"), "# vouch:allow-next-line t/y\nv: 2\n").unwrap();
        let report = run(
            &dir,
            &Config::default(),
            vec![Box::new(LineTwo)],
            &RunOptions {
                today: Date::constant(2026, 6, 1),
                fail_on: None,
                progress: None,
            },
        )
        .unwrap();
        let by: Vec<(&str, Option<&str>)> = report
            .findings
            .iter()
            .map(|f| (f.location.path.as_str(), f.suppressed_by.as_deref()))
            .collect();
        assert_eq!(by, [("a.yml", Some("vouch:allow")), ("b.yml", None)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn derived_findings_merge_into_their_source() {
        let secret = Finding::dynamic(
            "secrets/private-key",
            Severity::High,
            Location::at("release.key", crate::Region::line(1)),
            "a private key",
            "k",
        );
        let mut row = Finding::dynamic(
            "register/secret-plaintext",
            Severity::High,
            Location::at("security/secrets.csv", crate::Region::line(2)),
            "stored as plaintext",
            "r",
        );
        row.properties.insert(
            DERIVED_FROM.into(),
            serde_json::json!({"rule": "secrets/private-key", "path": "release.key", "line": 1}),
        );
        let mut orphan = row.clone();
        orphan.properties.insert(
            DERIVED_FROM.into(),
            serde_json::json!({"rule": "secrets/private-key", "path": "gone.key", "line": 1}),
        );
        orphan.location = Location::at("security/secrets.csv", crate::Region::line(3));

        let mut findings = vec![row, secret, orphan];
        merge_derived(&mut findings);
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert_eq!(findings[0].rule, "secrets/private-key");
        assert_eq!(
            findings[0].message,
            "a private key; recorded in security/secrets.csv:2"
        );
        assert_eq!(
            findings[0].properties["recorded_in"],
            serde_json::json!(["security/secrets.csv:2"])
        );
        assert_eq!(
            findings[1].location.line(),
            Some(3),
            "no source: the row stays"
        );
    }

    #[test]
    fn a_register_row_about_an_advisory_merges_into_the_scanner_finding() {
        let mut vuln = Finding::dynamic(
            "vuln/GHSA-aaaa-bbbb-cccc",
            Severity::Low,
            Location::at("package-lock.json", crate::Region::line(9)),
            "x 1.0 is affected",
            "v",
        );
        vuln.properties
            .insert("aliases".into(), serde_json::json!(["CVE-2025-1"]));
        let other = Finding::dynamic(
            "vuln/GHSA-zzzz-zzzz-zzzz",
            Severity::Low,
            Location::at("package-lock.json", crate::Region::line(20)),
            "y 2.0 is affected",
            "w",
        );
        let mut row = Finding::dynamic(
            "register/vuln-sla-overdue",
            Severity::High,
            Location::at("security/vulnerabilities.csv", crate::Region::line(2)),
            "CVE-2025-1 was due on 2026-11-08",
            "r",
        );
        row.properties.insert(
            DERIVED_FROM.into(),
            serde_json::json!({"family": "vuln", "ids": ["cve-2025-1"]}),
        );
        let mut orphan = row.clone();
        orphan.properties.insert(
            DERIVED_FROM.into(),
            serde_json::json!({"family": "vuln", "ids": ["CVE-2099-9"]}),
        );
        let mut findings = vec![row, vuln, other, orphan];
        merge_derived(&mut findings);
        let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "vuln/GHSA-aaaa-bbbb-cccc",
                "vuln/GHSA-zzzz-zzzz-zzzz",
                "register/vuln-sla-overdue"
            ],
            "the row whose advisory is not in the run stays"
        );
        assert_eq!(
            findings[0].message,
            "x 1.0 is affected; recorded in security/vulnerabilities.csv:2"
        );
        assert_eq!(
            findings[0].severity,
            Severity::High,
            "merging never lowers what the gate sees"
        );
        assert_eq!(findings[1].severity, Severity::Low);
    }

    #[test]
    fn scoped_settle_judges_only_exceptions_in_scope_but_all_suppress() {
        let set = ExceptionSet::parse(Path::new(EXCEPTIONS_FILE), EXCEPTIONS_FILE, TWO).unwrap();
        let today = Date::constant(2026, 6, 1);
        let config = Config::default();
        let mut findings = vec![Finding::dynamic(
            "workflow/x",
            Severity::High,
            Location::file("a.yml"),
            "m",
            "k",
        )];
        // In a secrets-only run: SEC-1 (expired) is reported, WF-1 still suppresses but its
        // staleness is not judged.
        let meta = settle_scoped(&config, &mut findings, &set, today, |e| {
            e.names_rule("secrets/aws-access-key")
        });
        assert_eq!(findings[0].suppressed_by.as_deref(), Some("WF-1"));
        let rules: Vec<&str> = meta.iter().map(|m| m.rule.as_str()).collect();
        assert_eq!(rules, ["exception/expired"]);
        // Without findings, WF-1 would be stale in a full run, and is silent in a scoped one.
        let mut none = Vec::new();
        let full = settle(&config, &mut none, &set, today);
        assert!(full.iter().any(|m| m.rule == "exception/stale"));
        let scoped = settle_scoped(&config, &mut none, &set, today, |e| {
            e.names_rule("secrets/aws-access-key")
        });
        assert!(scoped.iter().all(|m| m.rule != "exception/stale"));
    }
}
