//! Markdown for pull-request comments: the verdict and counts (by severity and by check) first,
//! then the same content as the HTML report in collapsible `<details>` blocks — per severity,
//! per rule with its fix and references, each finding with its source line, annotation and
//! evidence — then skipped checks and warnings. Capped so a huge report stays postable.

use std::fmt::Write as _;

use vouch_core::{Finding, Report, Severity};

use crate::{RenderOptions, clean, family, position, snippet};

/// Findings shown per severity before "and N more".
const MAX_ROWS: usize = 50;

pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    render_with(report, options, &[])
}

/// [`render`] followed by a command's own sections: `(title, trusted Markdown)` pairs, each
/// under a `####` heading (a register's gate status and tables).
pub fn render_with(report: &Report, options: &RenderOptions<'_>, after: &[(&str, &str)]) -> String {
    let mut out = render_findings(report, options);
    for (title, body) in after {
        let _ = write!(out, "\n#### {}\n\n{}", prose(title), body.trim_end());
        out.push('\n');
    }
    out
}

fn render_findings(report: &Report, options: &RenderOptions<'_>) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let verdict = if s.failed { "❌ failed" } else { "✅ passed" };
    let _ = writeln!(
        out,
        "### {}: {verdict} (fail-on: {})\n",
        options.title, s.fail_on
    );
    let _ = writeln!(out, "| severity | findings |\n|---|---:|");
    for sev in Severity::ALL.iter().rev() {
        let _ = writeln!(
            out,
            "| {sev} | {} |",
            s.counts.get(sev).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "| suppressed | {} |\n", s.suppressed);

    let mut by_check: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in report.active() {
        *by_check.entry(family(&f.rule)).or_default() += 1;
    }
    if !by_check.is_empty() {
        let _ = writeln!(out, "| check | findings |\n|---|---:|");
        for (check, n) in &by_check {
            let _ = writeln!(out, "| `{}` | {n} |", escape(check));
        }
        out.push('\n');
    }

    for sev in Severity::ALL.iter().rev() {
        let rows: Vec<&Finding> = report.active().filter(|f| f.severity == *sev).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<details><summary>{} {sev}</summary>\n", rows.len());
        let mut rules: Vec<&str> = rows.iter().map(|f| f.rule.as_str()).collect();
        rules.dedup();
        rules.sort_unstable();
        rules.dedup();
        let mut shown = 0;
        for rule in rules {
            let list: Vec<&Finding> = rows.iter().copied().filter(|f| f.rule == rule).collect();
            let info = report.rules.iter().find(|r| r.id == rule);
            let summary = info.map(|r| r.summary.as_str()).unwrap_or("");
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code> — {} ({})</summary>\n",
                escape(rule),
                escape(summary),
                list.len()
            );
            if let Some(r) = info {
                if !r.help.is_empty() {
                    let _ = writeln!(out, "**Fix:** {}\n", prose(&one_line(&r.help)));
                }
                if !r.references.is_empty() {
                    let refs: Vec<String> = r
                        .references
                        .iter()
                        .map(|u| format!("<{}>", escape(u)))
                        .collect();
                    let _ = writeln!(out, "References: {}\n", refs.join(", "));
                }
            }
            let rule_help = info.map(|r| r.help.as_str()).unwrap_or("");
            for f in list {
                if shown == MAX_ROWS {
                    break;
                }
                shown += 1;
                finding(&mut out, f, rule_help, options);
            }
            let _ = writeln!(out, "\n</details>\n");
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "…and {} more (see the full report).\n",
                rows.len() - MAX_ROWS
            );
        }
        let _ = writeln!(out, "</details>\n");
    }
    if !report.skipped_checks.is_empty() {
        let _ = writeln!(out, "**Skipped checks**\n");
        for s in &report.skipped_checks {
            let _ = writeln!(out, "- `{}`: {}", escape(&s.name), escape(&s.reason));
        }
        out.push('\n');
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} warning(s)</summary>\n",
            report.warnings.len()
        );
        for w in &report.warnings {
            let _ = writeln!(out, "- {}", escape(w));
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let _ = writeln!(
        out,
        "<sub>{} {} · {} files · checks: {}</sub>",
        report.tool.name,
        report.tool.version,
        report.files_scanned,
        if report.checks.is_empty() {
            "none".to_string()
        } else {
            report.checks.join(", ")
        }
    );
    out
}

/// One finding: location and message, then its source line, annotation, evidence and (when
/// it differs from the rule's) its own fix.
fn finding(out: &mut String, f: &Finding, rule_help: &str, options: &RenderOptions<'_>) {
    let _ = writeln!(out, "- `{}` — {}", escape(&position(f)), escape(&f.message));
    if let Some((line, shown)) = snippet(options.root, f) {
        let fence = "`".repeat(longest_backtick_run(&shown).max(2) + 1);
        let _ = writeln!(out, "  {fence}\n  {line} | {shown}\n  {fence}");
    }
    if let Some(a) = &f.annotation {
        let _ = writeln!(out, "  {}", escape(a));
    }
    if let Some(e) = &f.evidence {
        let _ = writeln!(out, "  evidence: {}", escape(e));
    }
    if let Some(h) = f
        .help
        .as_deref()
        .filter(|h| !h.is_empty() && *h != rule_help)
    {
        let _ = writeln!(out, "  **Fix:** {}", prose(&one_line(h)));
    }
}

/// A help text on one line (a Markdown list item or paragraph cannot hold raw newlines).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Rule help (our own text, with `code` spans): HTML escaped, control characters visible.
fn prose(s: &str) -> String {
    clean(s).replace('<', "&lt;").replace('>', "&gt;")
}

/// Escapes table-breaking characters and HTML, and makes control characters visible.
fn escape(s: &str) -> String {
    clean(s)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_line() {
        assert_eq!(longest_backtick_run("a ``` b ` c"), 3);
        assert_eq!(longest_backtick_run("none"), 0);
    }
}
