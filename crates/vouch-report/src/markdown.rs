//! A compact Markdown summary for pull-request comments: verdict and counts first, details in
//! collapsible sections per severity, capped so a huge report stays readable.

use std::fmt::Write as _;

use vouch_core::{Report, Severity};

use crate::RenderOptions;

/// Rows shown per severity before "and N more".
const MAX_ROWS: usize = 50;

pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let verdict = if s.failed { "❌ failed" } else { "✅ passed" };
    let _ = writeln!(out, "### {}: {verdict} (fail-on: {})\n", options.title, s.fail_on);
    let _ = writeln!(out, "| severity | findings |\n|---|---:|");
    for sev in Severity::ALL.iter().rev() {
        let _ = writeln!(out, "| {sev} | {} |", s.counts.get(sev).copied().unwrap_or(0));
    }
    let _ = writeln!(out, "| suppressed | {} |\n", s.suppressed);
    for sev in Severity::ALL.iter().rev() {
        let rows: Vec<_> = report.active().filter(|f| f.severity == *sev).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<details><summary>{} {sev}</summary>\n", rows.len());
        let _ = writeln!(out, "| rule | location | message |\n|---|---|---|");
        for f in rows.iter().take(MAX_ROWS) {
            let loc = match f.location.line() {
                Some(l) => format!("{}:{l}", f.location.path),
                None => f.location.path.clone(),
            };
            let _ = writeln!(out, "| `{}` | `{}` | {} |", f.rule, escape(&loc), escape(&f.message));
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(out, "\n…and {} more (see the full report).", rows.len() - MAX_ROWS);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let _ = writeln!(
        out,
        "<sub>{} {} · {} files · checks: {}</sub>",
        report.tool.name,
        report.tool.version,
        report.files_scanned,
        if report.checks.is_empty() { "none".to_string() } else { report.checks.join(", ") }
    );
    out
}

/// Escapes table-breaking characters and HTML in a cell.
fn escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
        .replace(['\n', '\r'], " ")
}
