//! The register report: gate status per register, a likelihood × impact heat map of the threat
//! model, the data-flow diagram, SLA status of open vulnerabilities, findings and the tables —
//! as one self-contained HTML page (inline CSS and SVG, no scripts, no remote assets; readable
//! on a phone, printable) or as Markdown.

use std::fmt::Write as _;

use jiff::civil::Date;
use vouch_core::{Finding, Severity};
use vouch_report::html::{STYLE, escape};

use crate::export::md_cell;
use crate::register::Register;
use crate::schema::RegisterKind;
use crate::threats::Flows;

/// What the report shows.
pub struct ReportInput<'a> {
    pub registers: &'a [Register],
    pub findings: &'a [Finding],
    pub flows: Option<&'a Flows>,
    pub today: Date,
    pub fail_on: Severity,
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
                Some(_) if active.iter().any(|f| f.severity >= input.fail_on) => Status::Fail,
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
            escape(id),
            escape(sev),
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

/// The self-contained HTML page.
pub fn html(input: &ReportInput<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Security registers</title><style>{STYLE}.scroll{{overflow-x:auto}}.heat td{{text-align:center;min-width:4rem}}.h0{{background:#f6f8fa}}.h1{{background:#fff8c5}}.h2{{background:#ffd8b5}}.h3{{background:#ffcecb}}section{{page-break-inside:avoid}}</style></head><body>\n"
    );
    let _ = writeln!(
        out,
        "<h1>Security registers</h1><p>Gates judged on {} with fail-on {}.</p>",
        input.today, input.fail_on
    );

    out.push_str("<section><h2>Gate status</h2><div class=\"scroll\"><table><tr><th>register</th><th>file</th><th>rows</th><th>findings</th><th>gate</th></tr>");
    for (kind, reg, status, n) in statuses(input) {
        let class = match status {
            Status::Pass => "pass",
            Status::Fail => "fail",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr><td>{} {}</td><td><code>{}</code></td><td>{}</td><td>{n}</td><td class=\"{class}\"><strong>{}</strong></td></tr>",
            kind.code(),
            escape(kind.title()),
            reg.map(|r| escape(&r.path)).unwrap_or_else(|| "—".into()),
            reg.map(|r| r.rows.len()).unwrap_or(0),
            status.label()
        );
    }
    out.push_str("</table></div></section>\n");

    let grid = heat(input);
    out.push_str("<section><h2>Threats by likelihood and impact</h2><p>D1 rows not yet mitigated.</p><table class=\"heat\"><tr><th>impact \\ likelihood</th><th>Low</th><th>Medium</th><th>High</th></tr>");
    for (i, impact) in LEVELS.iter().enumerate().rev() {
        let _ = write!(out, "<tr><th>{impact}</th>");
        for (l, n) in grid[i].iter().enumerate() {
            let level = if *n == 0 { 0 } else { (i + l).min(3) };
            let _ = write!(out, "<td class=\"h{level}\">{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></section>\n");

    if let Some(flows) = input.flows {
        let _ = writeln!(
            out,
            "<section><h2>Data-flow diagram</h2><div class=\"scroll\">{}</div><p>Dashed boxes are trust boundaries.</p></section>",
            crate::svg::dfd(flows)
        );
    }

    let items = sla_items(input);
    if !items.is_empty() {
        let _ = writeln!(
            out,
            "<section><h2>Vulnerability SLAs</h2><p>Open D6 items: days left before the SLA runs out (red: overdue).</p>{}</section>",
            sla_svg(&items)
        );
    }

    out.push_str("<section><h2>Findings</h2><div class=\"scroll\"><table><tr><th>severity</th><th>rule</th><th>where</th><th>what</th></tr>");
    for f in input.findings.iter().filter(|f| f.is_active()) {
        let at = match f.location.region {
            Some(r) if !r.is_whole_line() => format!("{}:{}:{}", f.location.path, r.line, r.column),
            Some(r) => format!("{}:{}", f.location.path, r.line),
            None => f.location.path.clone(),
        };
        let _ = write!(
            out,
            "<tr><td><span class=\"sev {0}\">{0}</span></td><td><code>{1}</code></td><td><code>{2}</code></td><td>{3}</td></tr>",
            f.severity,
            escape(&f.rule),
            escape(&at),
            escape(&f.message)
        );
    }
    out.push_str("</table></div></section>\n");

    for r in input.registers {
        let _ = write!(
            out,
            "<section><h2>{} — {}</h2><div class=\"scroll\"><table><tr>",
            r.kind.code(),
            escape(r.kind.title())
        );
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
                let _ = write!(out, "<td>{}</td>", escape(v).replace('\n', "<br>"));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table></div></section>\n");
    }
    out.push_str("<footer><small>vouch register report</small></footer></body></html>\n");
    out
}

/// The Markdown report: gate status, findings, tables.
pub fn markdown(input: &ReportInput<'_>) -> String {
    let mut out = format!(
        "# Security registers\n\nGates judged on {} with fail-on {}.\n\n| register | file | rows | findings | gate |\n|---|---|---:|---:|---|\n",
        input.today, input.fail_on
    );
    for (kind, reg, status, n) in statuses(input) {
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {n} | {} |",
            kind.code(),
            kind.title(),
            reg.map(|r| format!("`{}`", r.path))
                .unwrap_or_else(|| "—".into()),
            reg.map(|r| r.rows.len()).unwrap_or(0),
            status.label()
        );
    }
    let active: Vec<&Finding> = input.findings.iter().filter(|f| f.is_active()).collect();
    if !active.is_empty() {
        out.push_str("\n## Findings\n\n| severity | rule | where | what |\n|---|---|---|---|\n");
        for f in active {
            let at = match f.location.line() {
                Some(l) => format!("{}:{l}", f.location.path),
                None => f.location.path.clone(),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} |",
                f.severity,
                f.rule,
                at,
                md_cell(&f.message)
            );
        }
    }
    for r in input.registers {
        out.push('\n');
        out.push_str(&crate::export::to_markdown(r));
    }
    out
}
