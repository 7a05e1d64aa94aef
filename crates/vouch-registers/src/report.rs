//! The register report: gate status per register, a likelihood × impact heat map of the threat
//! model, the data-flow diagram, SLA status of open vulnerabilities, findings and the tables —
//! as one self-contained HTML page or as Markdown.
//!
//! The findings part is vouch-report's, as in every other report (summary with counts by
//! severity and by check and a bar chart, findings grouped by severity then rule with fix
//! text, source line, references and collapsible details, suppressed findings, skipped checks,
//! one page under a strict Content-Security-Policy); this module only builds the
//! register-specific sections around it. It must never write a second findings renderer, and
//! never put a `style` attribute, script or remote resource in a section (the CSP blocks them).

use std::fmt::Write as _;

use jiff::civil::Date;
use vouch_core::{Finding, Report};
use vouch_report::RenderOptions;
use vouch_report::html::{Extra, Section, escape};

/// Register cells and names are the team's text, maybe pasted from a terminal: control
/// characters become visible escapes (vouch-report's `clean`) before HTML escaping.
fn text(s: &str) -> String {
    escape(&vouch_report::clean_block(s))
}

use crate::register::Register;
use crate::schema::RegisterKind;
use crate::threats::Flows;

/// What the report shows.
pub struct ReportInput<'a> {
    pub registers: &'a [Register],
    /// The gates' findings, settled (exceptions, threshold) as `vouch register lint` does.
    pub report: &'a Report,
    pub flows: Option<&'a Flows>,
    pub today: Date,
    /// The repository root, for the source lines under findings.
    pub root: Option<&'a std::path::Path>,
}

/// Gate status of one register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Empty,
    Missing,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Empty => "empty",
            Status::Missing => "missing",
        }
    }
}

/// Status and active-finding count per register, D1 to D7.
pub fn statuses<'a>(
    input: &ReportInput<'a>,
) -> Vec<(RegisterKind, Option<&'a Register>, Status, usize)> {
    RegisterKind::ALL
        .iter()
        .map(|k| {
            let reg = input.registers.iter().find(|r| r.kind == *k);
            let active: Vec<&Finding> = match reg {
                Some(r) => input
                    .report
                    .findings
                    .iter()
                    .filter(|f| {
                        f.is_active() && f.location.path == r.path && f.rule != "register/empty"
                    })
                    .collect(),
                None => Vec::new(),
            };
            let status = match reg {
                None => Status::Missing,
                Some(r) if r.rows.is_empty() => Status::Empty,
                Some(_)
                    if active
                        .iter()
                        .any(|f| f.severity >= input.report.summary.fail_on) =>
                {
                    Status::Fail
                }
                Some(_) => Status::Pass,
            };
            (*k, reg, status, active.len())
        })
        .collect()
}

const LEVELS: [&str; 3] = ["Low", "Medium", "High"];

/// Counts of D1 threats not yet mitigated, by (impact, likelihood).
fn heat(input: &ReportInput<'_>) -> [[usize; 3]; 3] {
    let mut grid = [[0usize; 3]; 3];
    if let Some(d1) = input.registers.iter().find(|r| r.kind == RegisterKind::D1) {
        for row in &d1.rows {
            if row.get(RegisterKind::D1, "Status") == Some("Mitigated") {
                continue;
            }
            let i = LEVELS
                .iter()
                .position(|l| Some(*l) == row.get(RegisterKind::D1, "Impact"));
            let l = LEVELS
                .iter()
                .position(|l| Some(*l) == row.get(RegisterKind::D1, "Likelihood"));
            if let (Some(i), Some(l)) = (i, l) {
                grid[i][l] += 1;
            }
        }
    }
    grid
}

/// Open D6 items with the days left on their SLA (negative: overdue), soonest first.
fn sla_items(input: &ReportInput<'_>) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    if let Some(d6) = input.registers.iter().find(|r| r.kind == RegisterKind::D6) {
        for row in &d6.rows {
            if !matches!(
                row.get(RegisterKind::D6, "Status"),
                Some("Open" | "In Progress") | None
            ) {
                continue;
            }
            let (Some(opened), Some(sla)) = (
                row.date(RegisterKind::D6, "Opened"),
                row.get(RegisterKind::D6, "SLA")
                    .and_then(|s| s.parse::<i64>().ok()),
            ) else {
                continue;
            };
            let Ok(due) = opened.checked_add(jiff::Span::new().days(sla)) else {
                continue;
            };
            let left = i64::from((due - input.today).get_days());
            out.push((
                row.get(RegisterKind::D6, "CVE/Issue")
                    .unwrap_or("?")
                    .to_string(),
                row.get(RegisterKind::D6, "Severity")
                    .unwrap_or("")
                    .to_string(),
                left,
            ));
        }
    }
    out.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    out
}

fn sla_svg(items: &[(String, String, i64)]) -> String {
    let max = items.iter().map(|i| i.2.abs()).max().unwrap_or(1).max(1) as f64;
    let (w, row_h, label_w) = (640.0, 22.0, 170.0);
    let mid = label_w + (w - label_w) / 2.0;
    // Leave room right of the bars for the "N days left" label.
    let half = (w - label_w) / 2.0 - 110.0;
    let h = row_h * items.len() as f64 + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"Days left on SLA per open vulnerability\" font-family=\"system-ui, sans-serif\" font-size=\"12\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{mid}\" y1=\"0\" x2=\"{mid}\" y2=\"{h}\" stroke=\"#57606a\"/><text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" fill=\"#57606a\">due today</text>",
        h - 6.0
    );
    for (i, (id, sev, left)) in items.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let len = (*left as f64).abs() / max * half;
        let (x, color) = if *left < 0 {
            (mid - len, "#cf222e")
        } else {
            (mid, "#1a7f37")
        };
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.0}\" fill=\"#1b1f23\">{} ({})</text><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{:.0}\" fill=\"{color}\"/><text x=\"{:.0}\" y=\"{:.0}\" fill=\"#1b1f23\">{}</text>",
            y + 13.0,
            text(id),
            text(sev),
            len.max(2.0),
            row_h - 6.0,
            if *left < 0 {
                mid + 4.0
            } else {
                mid + len + 4.0
            },
            y + 13.0,
            if *left < 0 {
                format!("{} days overdue", -left)
            } else {
                format!("{left} days left")
            }
        );
    }
    s.push_str("</svg>");
    s
}

/// CSS of the register sections, added to the report's stylesheet (and its CSP hash).
const REGISTER_STYLE: &str = ".scroll{overflow-x:auto}.heat td{text-align:center;min-width:4rem}.h0{background:#f6f8fa}.h1{background:#fff8c5}.h2{background:#ffd8b5}.h3{background:#ffcecb}section{page-break-inside:avoid}td.cell{white-space:pre-wrap}";

const TITLE: &str = "vouch register report";

fn gate_table(input: &ReportInput<'_>) -> String {
    let mut out = format!(
        "<p>Gates judged on {} with fail-on {}.</p><div class=\"scroll\"><table id=\"gate-status\"><tr><th>register</th><th>file</th><th>rows</th><th>findings</th><th>gate</th></tr>",
        input.today, input.report.summary.fail_on
    );
    for (kind, reg, status, n) in statuses(input) {
        let class = match status {
            Status::Pass => "pass",
            Status::Fail => "fail",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr data-register=\"{}\" data-gate=\"{}\"><td>{} {}</td><td><code>{}</code></td><td>{}</td><td>{n}</td><td class=\"{class}\"><strong>{}</strong></td></tr>",
            kind.code(),
            status.label(),
            kind.code(),
            escape(kind.title()),
            reg.map(|r| text(&r.path)).unwrap_or_else(|| "—".into()),
            reg.map(|r| r.rows.len()).unwrap_or(0),
            status.label()
        );
    }
    out.push_str("</table></div>");
    out
}

fn heat_table(input: &ReportInput<'_>) -> String {
    let grid = heat(input);
    let mut out = String::from(
        "<p>D1 rows not yet mitigated.</p><table class=\"heat\"><tr><th>impact \\ likelihood</th><th>Low</th><th>Medium</th><th>High</th></tr>",
    );
    for (i, impact) in LEVELS.iter().enumerate().rev() {
        let _ = write!(out, "<tr><th>{impact}</th>");
        for (l, n) in grid[i].iter().enumerate() {
            let level = if *n == 0 { 0 } else { (i + l).min(3) };
            let _ = write!(out, "<td class=\"h{level}\">{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

fn register_table(r: &Register) -> String {
    let mut out = String::from("<div class=\"scroll\"><table class=\"register\"><tr>");
    for f in r.present_fields() {
        let _ = write!(out, "<th>{}</th>", escape(f.name));
    }
    out.push_str("</tr>");
    for row in &r.rows {
        out.push_str("<tr>");
        for i in &r.columns {
            let v = row.cells[*i]
                .as_ref()
                .map(|c| c.value.as_str())
                .unwrap_or("");
            let _ = write!(out, "<td class=\"cell\">{}</td>", text(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></div>");
    out
}

/// The self-contained HTML page: vouch-report's findings page with the gate status, heat
/// map, data-flow diagram and SLA chart above the findings and the register tables below.
pub fn html(input: &ReportInput<'_>) -> String {
    let gates = gate_table(input);
    let heat = heat_table(input);
    let dfd = input.flows.map(|flows| {
        format!(
            "<div class=\"scroll\">{}</div><p>Dashed boxes are trust boundaries.</p>",
            crate::svg::dfd(flows)
        )
    });
    let items = sla_items(input);
    let sla = (!items.is_empty()).then(|| {
        format!(
            "<p>Open D6 items: days left before the SLA runs out (red: overdue).</p>{}",
            sla_svg(&items)
        )
    });
    let mut before = vec![
        Section {
            id: "gate-status-section",
            title: "Gate status",
            body: &gates,
        },
        Section {
            id: "heat-map",
            title: "Threats by likelihood and impact",
            body: &heat,
        },
    ];
    if let Some(body) = &dfd {
        before.push(Section {
            id: "data-flow",
            title: "Data-flow diagram",
            body,
        });
    }
    if let Some(body) = &sla {
        before.push(Section {
            id: "sla",
            title: "Vulnerability SLAs",
            body,
        });
    }
    let tables: Vec<(String, String, String)> = input
        .registers
        .iter()
        .map(|r| {
            (
                format!("register-{}", r.kind.code()),
                format!("{} — {}", r.kind.code(), r.kind.title()),
                register_table(r),
            )
        })
        .collect();
    let after: Vec<Section<'_>> = tables
        .iter()
        .map(|(id, title, body)| Section { id, title, body })
        .collect();
    vouch_report::html::render_with(
        input.report,
        &RenderOptions {
            root: input.root,
            color: false,
            title: TITLE,
        },
        &Extra {
            style: REGISTER_STYLE,
            before: &before,
            after: &after,
        },
    )
}

/// The Markdown report: vouch-report's findings (summary, `<details>` per severity and rule)
/// followed by the gate status and the register tables.
pub fn markdown(input: &ReportInput<'_>) -> String {
    let mut gates = format!(
        "Gates judged on {} with fail-on {}.\n\n| register | file | rows | findings | gate |\n|---|---|---:|---:|---|\n",
        input.today, input.report.summary.fail_on
    );
    for (kind, reg, status, n) in statuses(input) {
        let _ = writeln!(
            gates,
            "| {} {} | {} | {} | {n} | {} |",
            kind.code(),
            kind.title(),
            reg.map(|r| format!("`{}`", r.path))
                .unwrap_or_else(|| "—".into()),
            reg.map(|r| r.rows.len()).unwrap_or(0),
            status.label()
        );
    }
    let mut tables = String::new();
    for r in input.registers {
        if !tables.is_empty() {
            tables.push('\n');
        }
        tables.push_str(&crate::export::to_markdown(r));
    }
    let mut after = vec![("Gate status", gates.as_str())];
    if !tables.is_empty() {
        after.push(("Registers", tables.as_str()));
    }
    vouch_report::markdown::render_with(
        input.report,
        &RenderOptions {
            root: input.root,
            color: false,
            title: TITLE,
        },
        &after,
    )
}
