//! Seed register D6 (vulnerability management & patch policy) from a scan report:
//! Source, CVE/Issue, Affected, Severity, Decision, SLA, Status, Evidence — as CSV and
//! Markdown.

use vouch_core::{Finding, Report, Severity};

use crate::sla::{SLA_OVERDUE, SlaConfig, State};

/// One register row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub source: String,
    pub issue: String,
    pub affected: String,
    pub severity: String,
    pub decision: String,
    pub sla: String,
    pub status: String,
    pub evidence: String,
}

pub const HEADER: [&str; 8] = [
    "Source",
    "CVE/Issue",
    "Affected",
    "Severity",
    "Decision",
    "SLA",
    "Status",
    "Evidence",
];

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Med",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

fn prop<'a>(f: &'a Finding, k: &str) -> Option<&'a str> {
    f.properties.get(k).and_then(|v| v.as_str())
}

/// The rows for every vulnerability finding of `report`.
pub fn rows(report: &Report, sla: &SlaConfig, state: &State) -> Vec<Row> {
    let mut out = Vec::new();
    for f in &report.findings {
        if !f.rule.starts_with("vuln/") || f.rule == SLA_OVERDUE.id {
            continue;
        }
        let id = f.rule.trim_start_matches("vuln/");
        let aliases: Vec<&str> = match f.properties.get("aliases") {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        let issue = if aliases.is_empty() {
            id.to_string()
        } else {
            format!("{id} ({})", aliases.join(", "))
        };
        let affected = prop(f, "purl").map(str::to_string).unwrap_or_else(|| {
            format!(
                "{}@{}",
                prop(f, "package").unwrap_or("?"),
                prop(f, "version").unwrap_or("?")
            )
        });
        let vex = f
            .properties
            .get("vex")
            .and_then(|v| v.get("status"))
            .and_then(|v| v.as_str());
        let fixed_in = prop(f, "fixed_in");
        let (decision, status) = match (&f.suppressed_by, vex) {
            (Some(_), Some("fixed")) => ("Fix", "Fixed"),
            (Some(_), _) => ("Accept", "Open"),
            (None, Some("under_investigation")) => ("Defer", "In Progress"),
            (None, _) if fixed_in.is_some() => ("Fix", "Open"),
            (None, _) => ("Defer", "Open"),
        };
        let mut evidence = Vec::new();
        if let Some(s) = &f.suppressed_by {
            evidence.push(format!("suppressed by {s}"));
        }
        if let Some(fx) = fixed_in {
            evidence.push(format!("fixed in {fx}"));
        }
        if let Some(d) = state.first_seen(f) {
            evidence.push(format!("first seen {d}"));
        }
        evidence.push(format!("found in {}", f.location.path));
        out.push(Row {
            source: "OSV (vouch vuln scan)".into(),
            issue,
            affected,
            severity: sev(f.severity).into(),
            decision: decision.into(),
            sla: sla
                .days(f.severity)
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            status: status.into(),
            evidence: evidence.join("; "),
        });
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cells(r: &Row) -> [&str; 8] {
    [
        &r.source,
        &r.issue,
        &r.affected,
        &r.severity,
        &r.decision,
        &r.sla,
        &r.status,
        &r.evidence,
    ]
}

/// RFC 4180 CSV with a header row.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(
            &cells(r)
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// A Markdown table under a D6 heading.
pub fn to_markdown(rows: &[Row]) -> String {
    let mut out = String::from("# D6 — Vulnerability Management & Patch Policy\n\n");
    out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for r in rows {
        let esc: Vec<String> = cells(r)
            .iter()
            .map(|c| c.replace('|', "\\|").replace('\n', " "))
            .collect();
        out.push_str(&format!("| {} |\n", esc.join(" | ")));
    }
    if rows.is_empty() {
        out.push_str("\nNo known vulnerabilities.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
