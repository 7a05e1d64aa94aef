//! A self-contained HTML report: what a security lead opens. It carries everything the text
//! report has — the source line, the fix, references, evidence, skipped checks and warnings —
//! grouped by severity then rule, under a summary (counts by severity and by check, and an
//! inline SVG bar chart). Details are collapsible `<details>` elements, so it needs no script.
//! One file: inline CSS allowed by its hash in a strict Content-Security-Policy, no scripts, no
//! remote assets; readable on a phone and printable.

use std::fmt::Write as _;

use vouch_core::rule::RuleInfo;
use vouch_core::{Finding, Report, Severity};

use crate::{RenderOptions, clean, clean_block, family, position, snippet};

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
.pass{color:#1a7f37}.fail{color:#cf222e}@media (max-width:40rem){body{padding:.5rem}table{font-size:.8rem}th,td{padding:.25rem .3rem}h1{font-size:1.25rem}}@media print{.sev{color:#000;border:1px solid #000}}";

/// What the findings report adds to [`STYLE`]: summary cards, chart, groups, snippets, wrapping.
const REPORT_STYLE: &str = "td,p,li,summary{overflow-wrap:anywhere}th{white-space:nowrap}.meta{color:#57606a}\
.cards{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.cards>*{flex:1 1 16rem;margin:0}\
.chart{max-width:22rem}.chart text{font-size:11px;fill:#1b1f23}.chart rect.critical{fill:#8250df}.chart rect.high{fill:#cf222e}\
.chart rect.medium{fill:#bf8700}.chart rect.low{fill:#0969da}.chart rect.info{fill:#57606a}\
details{margin:.25rem 0}details.rule{border:1px solid #d0d7de;border-radius:.4rem;padding:.3rem .6rem;margin:.6rem 0}\
details.rule>summary{cursor:pointer;font-weight:600}.help{white-space:pre-wrap;margin:.4rem 0}\
pre.snippet{background:#f6f8fa;padding:.4rem .6rem;border-radius:.3rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}\
pre.snippet .ln{color:#57606a;user-select:none}.annotation{color:#cf222e}.small{font-size:.85em;color:#57606a}\
ul.refs{margin:.2rem 0;padding-left:1.2rem}td.loc{width:30%}@media print{details{display:block}}";

/// The Content-Security-Policy of every page: nothing may load, no script may run, and only
/// the page's own stylesheet (named by its hash) applies.
fn csp(style: &str) -> String {
    let digest = vouch_core::Digest::sha256(style.as_bytes());
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:; base-uri 'none'; form-action 'none'",
        base64(&digest.value)
    )
}

/// Standard base64 (RFC 4648, padded), for the CSP hash.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes untrusted text for HTML after making control characters visible.
fn text(s: &str) -> String {
    escape(&clean(s))
}

/// A part of a page that one command adds around the findings (a register's gate status,
/// heat map and tables): its own HTML, built and escaped by that command, under an `<h2>`.
/// It may use inline SVG and classes of [`Extra::style`], never scripts, `style` attributes
/// or remote resources: the page's Content-Security-Policy would block them.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The section's `id` attribute.
    pub id: &'a str,
    pub title: &'a str,
    /// Trusted HTML (the caller escaped every untrusted value in it).
    pub body: &'a str,
}

/// What a command adds to the findings report: sections before the findings (right under the
/// summary), sections after them, and the CSS they need (covered by the page's CSP hash).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra<'a> {
    pub style: &'a str,
    pub before: &'a [Section<'a>],
    pub after: &'a [Section<'a>],
}

/// The findings report as one self-contained page.
pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    render_with(report, options, &Extra::default())
}

/// [`render`] with a command's own sections around the findings: one page layout, one CSP
/// and one findings renderer for every report.
pub fn render_with(report: &Report, options: &RenderOptions<'_>, extra: &Extra<'_>) -> String {
    let s = &report.summary;
    let style = format!("{STYLE}{REPORT_STYLE}{}", extra.style);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{style}</style></head><body>\n",
        csp(&style),
        escape(options.title)
    );
    let (class, verdict) = if s.failed {
        ("fail", "failed")
    } else {
        ("pass", "passed")
    };
    let active: usize = s.counts.values().sum();
    let _ = writeln!(
        out,
        "<header><h1>{}: <span id=\"verdict\" class=\"{class}\">{verdict}</span></h1>\
         <p class=\"meta\">Target <code>{}</code> · {} files · checks: {} · fail-on <b>{}</b> · \
         <span id=\"total\" data-count=\"{active}\">{active}</span> finding{}, \
         <span id=\"suppressed-count\" data-count=\"{}\">{}</span> suppressed</p></header>",
        escape(options.title),
        text(&report.target),
        report.files_scanned,
        if report.checks.is_empty() {
            "none".to_string()
        } else {
            escape(&report.checks.join(", "))
        },
        s.fail_on,
        if active == 1 { "" } else { "s" },
        s.suppressed,
        s.suppressed
    );
    summary(&mut out, report);
    sections(&mut out, extra.before);
    findings(&mut out, report, options);
    suppressed(&mut out, report);
    notes(&mut out, report);
    sections(&mut out, extra.after);
    let _ = writeln!(
        out,
        "<footer><small>{} {}</small></footer></body></html>",
        escape(&report.tool.name),
        escape(&report.tool.version)
    );
    out
}

fn sections(out: &mut String, list: &[Section<'_>]) {
    for s in list {
        let _ = writeln!(
            out,
            "<section id=\"{}\" class=\"extra\"><h2>{}</h2>{}</section>",
            escape(s.id),
            escape(s.title),
            s.body
        );
    }
}

/// Counts by severity and by check, and the bar chart.
fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    out.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">\n");
    out.push_str(
        "<table id=\"by-severity\"><thead><tr><th>severity</th><th>findings</th></tr></thead><tbody>",
    );
    for sev in Severity::ALL.iter().rev() {
        let n = s.counts.get(sev).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<tr data-severity=\"{sev}\" data-count=\"{n}\"><td><span class=\"sev {sev}\">{sev}</span></td><td>{n}</td></tr>"
        );
    }
    let _ = writeln!(
        out,
        "<tr data-severity=\"suppressed\" data-count=\"{0}\"><td>suppressed</td><td>{0}</td></tr></tbody></table>",
        s.suppressed
    );
    let mut by_check: std::collections::BTreeMap<&str, [usize; 5]> = Default::default();
    for f in report.active() {
        let row = by_check.entry(family(&f.rule)).or_default();
        if let Some(i) = Severity::ALL.iter().rev().position(|x| *x == f.severity) {
            row[i] += 1;
        }
    }
    out.push_str("<table id=\"by-check\"><thead><tr><th>check</th>");
    for sev in Severity::ALL.iter().rev() {
        let _ = write!(out, "<th>{sev}</th>");
    }
    out.push_str("<th>total</th></tr></thead><tbody>");
    if by_check.is_empty() {
        out.push_str("<tr><td colspan=\"7\">no findings</td></tr>");
    }
    for (check, counts) in &by_check {
        let total: usize = counts.iter().sum();
        let _ = write!(
            out,
            "<tr data-check=\"{0}\" data-count=\"{total}\"><td><code>{0}</code></td>",
            escape(check)
        );
        for n in counts {
            let _ = write!(out, "<td>{n}</td>");
        }
        let _ = write!(out, "<td>{total}</td></tr>");
    }
    out.push_str("</tbody></table>\n");
    chart(out, report);
    out.push_str("</div></section>\n");
}

/// A horizontal bar per severity, scaled to the largest count.
fn chart(out: &mut String, report: &Report) {
    let counts: Vec<(Severity, usize)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| (*s, report.summary.counts.get(s).copied().unwrap_or(0)))
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (64usize, 200usize, 22usize);
    let height = row_h * counts.len() + 4;
    let _ = write!(
        out,
        "<svg class=\"chart\" id=\"chart\" role=\"img\" aria-label=\"findings by severity\" viewBox=\"0 0 {} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">",
        label_w + bar_w + 40
    );
    for (i, (sev, n)) in counts.iter().enumerate() {
        let y = i * row_h + 2;
        let w = if *n == 0 { 0 } else { (n * bar_w / max).max(2) };
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\">{sev}</text><rect class=\"{sev}\" data-severity=\"{sev}\" x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\"><title>{n} {sev}</title></rect><text x=\"{}\" y=\"{}\">{n}</text>",
            y + 14,
            row_h - 6,
            label_w + w + 4,
            y + 14
        );
    }
    out.push_str("</svg>\n");
}

/// Active findings grouped by severity, then rule; each rule with its help and references,
/// each finding with its source line and evidence.
fn findings(out: &mut String, report: &Report, options: &RenderOptions<'_>) {
    let active: Vec<&Finding> = report.active().collect();
    let _ = writeln!(
        out,
        "<section id=\"findings\"><h2>Findings ({})</h2>",
        active.len()
    );
    if active.is_empty() {
        out.push_str("<p>No findings.</p>");
    }
    for sev in Severity::ALL.iter().rev() {
        let of_sev: Vec<&Finding> = active
            .iter()
            .copied()
            .filter(|f| f.severity == *sev)
            .collect();
        if of_sev.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<section class=\"severity\" id=\"severity-{sev}\"><h3><span class=\"sev {sev}\">{sev}</span> {}</h3>",
            of_sev.len()
        );
        let mut rules: Vec<&str> = of_sev.iter().map(|f| f.rule.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        for rule in rules {
            let list: Vec<&Finding> = of_sev.iter().copied().filter(|f| f.rule == rule).collect();
            let info = report.rules.iter().find(|r| r.id == rule);
            rule_group(out, rule, info, &list, options);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</section>\n");
}

fn rule_group(
    out: &mut String,
    rule: &str,
    info: Option<&RuleInfo>,
    list: &[&Finding],
    options: &RenderOptions<'_>,
) {
    let summary = info.map(|r| r.summary.as_str()).unwrap_or("");
    let _ = write!(
        out,
        "<details class=\"rule\" open data-rule=\"{}\"><summary><code>{}</code> — {} <span class=\"small\">({} finding{})</span></summary>",
        escape(rule),
        text(rule),
        text(summary),
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    if let Some(r) = info {
        if !r.help.is_empty() {
            let _ = write!(
                out,
                "<p class=\"help\"><b>Fix:</b> {}</p>",
                escape(&clean_block(&r.help))
            );
        }
        if !r.references.is_empty() {
            out.push_str("<ul class=\"refs\">");
            for u in &r.references {
                let _ = write!(
                    out,
                    "<li><a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a></li>",
                    text(u)
                );
            }
            out.push_str("</ul>");
        }
    }
    out.push_str(
        "<table class=\"findings\"><thead><tr><th>location</th><th>finding</th></tr></thead><tbody>\n",
    );
    let rule_help = info.map(|r| r.help.as_str()).unwrap_or("");
    for f in list {
        finding_row(out, f, rule_help, options);
    }
    out.push_str("</tbody></table></details>\n");
}

fn finding_row(out: &mut String, f: &Finding, rule_help: &str, options: &RenderOptions<'_>) {
    let _ = write!(
        out,
        "<tr class=\"finding\" data-rule=\"{}\" data-severity=\"{}\" data-fingerprint=\"{}\"><td class=\"loc\"><code>{}</code></td><td><span class=\"message\">{}</span>",
        escape(&f.rule),
        f.severity,
        escape(&f.fingerprint),
        escape(&position(f)),
        text(&f.message)
    );
    if let Some((line, shown)) = snippet(options.root, f) {
        let _ = write!(
            out,
            "<pre class=\"snippet\"><span class=\"ln\">{line} | </span>{}</pre>",
            escape(&shown)
        );
    }
    if let Some(a) = &f.annotation {
        let _ = write!(out, "<p class=\"annotation\">{}</p>", text(a));
    }
    let mut details = String::new();
    if let Some(e) = &f.evidence {
        let _ = write!(details, "<p>evidence: <code>{}</code></p>", text(e));
    }
    if let Some(h) = f
        .help
        .as_deref()
        .filter(|h| !h.is_empty() && *h != rule_help)
    {
        let _ = write!(
            details,
            "<p class=\"help\"><b>Fix:</b> {}</p>",
            escape(&clean_block(h))
        );
    }
    let _ = write!(
        details,
        "<p class=\"small\">fingerprint <code>{}</code></p>",
        escape(&f.fingerprint)
    );
    let _ = writeln!(
        out,
        "<details class=\"finding-details\"><summary>details</summary>{details}</details></td></tr>"
    );
}

/// Findings suppressed by exceptions, inline allows or a baseline, with what suppressed them.
fn suppressed(out: &mut String, report: &Report) {
    let list: Vec<&Finding> = report.findings.iter().filter(|f| !f.is_active()).collect();
    if list.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"suppressed\"><details><summary><h2>Suppressed ({})</h2></summary><table><thead><tr><th>severity</th><th>rule</th><th>location</th><th>message</th><th>suppressed by</th></tr></thead><tbody>",
        list.len()
    );
    for f in list {
        let _ = write!(
            out,
            "<tr class=\"suppressed-finding\"><td><span class=\"sev {0}\">{0}</span></td><td><code>{1}</code></td><td><code>{2}</code></td><td>{3}</td><td>{4}</td></tr>",
            f.severity,
            text(&f.rule),
            escape(&position(f)),
            text(&f.message),
            text(f.suppressed_by.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table></details></section>\n");
}

/// Checks that did not run, and why; warnings.
fn notes(out: &mut String, report: &Report) {
    if !report.skipped_checks.is_empty() {
        out.push_str("<section id=\"skipped\"><h2>Skipped checks</h2><ul>");
        for s in &report.skipped_checks {
            let _ = write!(
                out,
                "<li class=\"skipped-check\"><code>{}</code>: {}</li>",
                text(&s.name),
                text(&s.reason)
            );
        }
        out.push_str("</ul></section>\n");
    }
    if !report.warnings.is_empty() {
        out.push_str("<section id=\"warnings\"><h2>Warnings</h2><ul>");
        for w in &report.warnings {
            let _ = write!(out, "<li class=\"warning\">{}</li>", text(w));
        }
        out.push_str("</ul></section>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn the_page_loads_nothing_and_escapes_everything() {
        let mut report = Report::new("repo");
        let mut f = Finding::dynamic(
            "secrets/x",
            Severity::High,
            vouch_core::Location::file("evil\u{1b}[2J<script>.txt"),
            "message <img src=x onerror=alert(1)>",
            "k",
        );
        f.evidence = Some("\u{202e}gpj.exe".into());
        report.findings.push(f);
        report.finalize(Severity::High, &[]);
        let html = render(&report, &RenderOptions::default());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
        assert!(html.contains("evil\\x1b[2J&lt;script&gt;.txt"));
        assert!(!html.contains("src=\"http") && !html.contains("href=\"//"));
        assert!(
            !html.contains("style=\""),
            "inline style attributes would need unsafe-inline"
        );
        let style = format!("{STYLE}{REPORT_STYLE}");
        assert!(html.contains(&csp(&style)));
        assert_eq!(html.matches("<tr class=\"finding\"").count(), 1);
    }

    #[test]
    fn extra_sections_sit_around_the_findings_and_their_style_is_in_the_csp() {
        let mut report = Report::new("repo");
        report.finalize(Severity::High, &[]);
        let before = [Section {
            id: "gates",
            title: "Gate <status>",
            body: "<table class=\"gates\"></table>",
        }];
        let after = [Section {
            id: "tables",
            title: "Tables",
            body: "<p>rows</p>",
        }];
        let extra = Extra {
            style: ".gates{width:50%}",
            before: &before,
            after: &after,
        };
        let html = render_with(&report, &RenderOptions::default(), &extra);
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("id=\"summary\"") < at("id=\"gates\""));
        assert!(at("id=\"gates\"") < at("id=\"findings\""));
        assert!(at("id=\"findings\"") < at("id=\"tables\""));
        assert!(html.contains("<h2>Gate &lt;status&gt;</h2>"));
        let style = format!("{STYLE}{REPORT_STYLE}.gates{{width:50%}}");
        assert!(html.contains(&format!("<style>{style}</style>")));
        assert!(html.contains(&csp(&style)));
    }
}
