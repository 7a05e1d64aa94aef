//! A self-contained HTML report: inline CSS, no scripts or remote assets, readable on a phone
//! and printable.

use std::fmt::Write as _;

use vouch_core::{Report, Severity};

use crate::RenderOptions;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The stylesheet shared by every vouch HTML page.
pub const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#1b1f23;line-height:1.4}\
h1{font-size:1.5rem}table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;word-break:break-all}\
.sev{font-weight:600;border-radius:.3rem;padding:.05rem .4rem;color:#fff}.critical{background:#8250df}.high{background:#cf222e}.medium{background:#bf8700}.low{background:#0969da}.info{background:#57606a}\
.pass{color:#1a7f37}.fail{color:#cf222e}@media (max-width:40rem){td,th{display:block;width:auto}}@media print{.sev{color:#000;border:1px solid #000}}";

pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(options.title)
    );
    let (class, verdict) = if s.failed { ("fail", "failed") } else { ("pass", "passed") };
    let _ = writeln!(
        out,
        "<h1>{}: <span class=\"{class}\">{verdict}</span></h1><p>Target <code>{}</code>, {} files, checks: {}. Fail-on: {}.</p>",
        escape(options.title),
        escape(&report.target),
        report.files_scanned,
        escape(&report.checks.join(", ")),
        s.fail_on
    );
    out.push_str("<table><tr><th>severity</th><th>findings</th></tr>");
    for sev in Severity::ALL.iter().rev() {
        let _ = write!(
            out,
            "<tr><td><span class=\"sev {sev}\">{sev}</span></td><td>{}</td></tr>",
            s.counts.get(sev).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "<tr><td>suppressed</td><td>{}</td></tr></table>", s.suppressed);
    out.push_str("<table><tr><th>severity</th><th>rule</th><th>location</th><th>message</th></tr>\n");
    for f in &report.findings {
        let loc = match f.location.line() {
            Some(l) => format!("{}:{l}", f.location.path),
            None => f.location.path.clone(),
        };
        let mut msg = escape(&f.message);
        if let Some(by) = &f.suppressed_by {
            let _ = write!(msg, " <em>(suppressed by {})</em>", escape(by));
        }
        let _ = writeln!(
            out,
            "<tr><td><span class=\"sev {}\">{}</span></td><td><code>{}</code></td><td><code>{}</code></td><td>{msg}</td></tr>",
            f.severity,
            f.severity,
            escape(&f.rule),
            escape(&loc)
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(
        out,
        "<footer><small>{} {}</small></footer></body></html>",
        escape(&report.tool.name),
        escape(&report.tool.version)
    );
    out
}
