//! Human-readable output: findings grouped by file, the source line with a caret under the
//! span, help, then a one-line summary. Colour only when the caller asks (the CLI asks on a TTY).

use std::fmt::Write as _;

use vouch_core::{Finding, Report, Severity};

use crate::{RenderOptions, clean, position, snippet};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
            Severity::Info => "1;34",
        };
        self.wrap(code, s.as_str())
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    let p = Paint { on: options.color };
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for f in report.active() {
        if current != Some(f.location.path.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", p.bold(&clean(&f.location.path)));
            current = Some(&f.location.path);
        }
        let rule_help = report
            .rules
            .iter()
            .find(|r| r.id == f.rule)
            .map(|r| r.help.as_str());
        finding(&mut out, &p, f, rule_help, options);
    }
    if report.active().next().is_some() {
        out.push('\n');
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{}: {}", p.wrap("1;33", "warning"), clean(w));
    }
    for s in &report.skipped_checks {
        let _ = writeln!(out, "{} {}: {}", p.dim("skipped"), s.name, clean(&s.reason));
    }
    summary(&mut out, &p, report);
    out
}

fn finding(
    out: &mut String,
    p: &Paint,
    f: &Finding,
    rule_help: Option<&str>,
    options: &RenderOptions<'_>,
) {
    let _ = writeln!(
        out,
        "  {} {} {}",
        p.severity(f.severity),
        p.bold(&clean(&f.rule)),
        clean(&f.message)
    );
    let _ = writeln!(out, "   {} {}", p.dim("-->"), position(f));
    if let Some(r) = f.location.region {
        if let Some((_, shown)) = snippet(options.root, f) {
            let num = r.line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "   {pad} {}", p.dim("|"));
            let _ = writeln!(out, "   {} {} {shown}", p.dim(&num), p.dim("|"));
            let (start, end) = if r.is_whole_line() {
                let indent = shown.chars().take_while(|c| c.is_whitespace()).count();
                (indent + 1, shown.chars().count().max(indent + 1))
            } else if r.end_line > r.line {
                (
                    r.column as usize,
                    shown.chars().count().max(r.column as usize),
                )
            } else {
                (
                    r.column as usize,
                    (r.end_column as usize).max(r.column as usize),
                )
            };
            let start = start.clamp(1, 201);
            let end = end.clamp(start, 201);
            let carets = "^".repeat(end - start + 1);
            let label = clean(f.annotation.as_deref().unwrap_or(""));
            let _ = writeln!(
                out,
                "   {pad} {} {}{} {}",
                p.dim("|"),
                " ".repeat(start - 1),
                p.wrap("1;31", &carets),
                p.wrap("1;31", &label)
            );
        } else if let Some(a) = &f.annotation {
            let _ = writeln!(out, "   {} {}", p.dim("="), clean(a));
        }
    } else if let Some(a) = &f.annotation {
        let _ = writeln!(out, "   {} {}", p.dim("="), clean(a));
    }
    if let Some(e) = &f.evidence {
        let _ = writeln!(out, "   {} evidence: {}", p.dim("="), clean(e));
    }
    if let Some(h) = f.help.as_deref().or(rule_help).filter(|h| !h.is_empty()) {
        let first = first_sentence(h);
        let _ = writeln!(out, "   {} help: {}", p.dim("="), clean(first));
    }
}

fn summary(out: &mut String, p: &Paint, report: &Report) {
    let s = &report.summary;
    let active: usize = s.counts.values().sum();
    let mut parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            let n = s.counts.get(sev).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    if parts.is_empty() {
        parts.push("none".into());
    }
    let verdict = if s.failed {
        p.wrap("1;31", "FAILED")
    } else {
        p.wrap("1;32", "passed")
    };
    let _ = writeln!(
        out,
        "{} finding{} ({}), {} suppressed, {} files scanned by {} — {verdict} (fail-on {})",
        active,
        if active == 1 { "" } else { "s" },
        parts.join(", "),
        s.suppressed,
        report.files_scanned,
        if report.checks.is_empty() {
            "no checks".to_string()
        } else {
            report.checks.join(", ")
        },
        s.fail_on
    );
}

/// The first sentence of a help text: enough to act on in a terminal; `vouch explain` has the rest.
fn first_sentence(help: &str) -> &str {
    let line = help.lines().next().unwrap_or("");
    match line.find(". ") {
        Some(i) => &line[..=i],
        None => line,
    }
}
