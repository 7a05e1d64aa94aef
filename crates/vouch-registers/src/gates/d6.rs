//! D6 vulnerabilities: no open item past its SLA.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, finding};
use crate::register::Register;
use crate::schema::RegisterKind::D6;

pub const SLA_OVERDUE: Rule = Rule {
    id: "register/vuln-sla-overdue",
    severity: Severity::High,
    summary: "An open vulnerability is past its SLA (D6 exit gate)",
    help: "Ship the fix, or change the decision to Defer/Accept with a reason and a new SLA agreed with the owner.",
    references: &[],
};

pub const SLA_UNKNOWN: Rule = Rule {
    id: "register/vuln-sla-unknown",
    severity: Severity::Low,
    summary: "An open vulnerability has an SLA but no Opened date, so the deadline is unknown",
    help: "Add an `Opened` column with the date the item was found (`vouch vuln report` fills it from .vouch/vuln-state.json).",
    references: &[],
};

pub const RULES: &[&Rule] = &[&SLA_OVERDUE, &SLA_UNKNOWN];

pub(super) fn check(r: &Register, ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        if !matches!(row.get(D6, "Status"), Some("Open" | "In Progress") | None)
            || row.get(D6, "Decision") == Some("Accept")
        {
            continue;
        }
        let id = row.get(D6, "CVE/Issue").unwrap_or("(no id)");
        let Some(sla) = row.get(D6, "SLA").and_then(|s| s.parse::<i64>().ok()) else {
            continue;
        };
        let mut found = match row.date(D6, "Opened") {
            Some(opened) => {
                if let Ok(due) = opened.checked_add(jiff::Span::new().days(sla))
                    && due < ctx.today
                {
                    let late = (ctx.today - due).get_days();
                    Some(finding(
                        &SLA_OVERDUE,
                        r,
                        row,
                        "SLA",
                        format!(
                            "{id} was due on {due} ({sla}-day SLA from {opened}), {late} days ago"
                        ),
                        "past SLA",
                    ))
                } else {
                    None
                }
            }
            None => Some(finding(
                &SLA_UNKNOWN,
                r,
                row,
                "SLA",
                format!("{id} has a {sla}-day SLA but no Opened date"),
                "no Opened date",
            )),
        };
        // The row is about a vulnerability the scanner may report in the same run: that is one
        // problem, and `vouch check` keeps the scanner's finding with this row mentioned.
        let ids = advisory_ids(id);
        if let Some(f) = found.as_mut().filter(|_| !ids.is_empty()) {
            f.properties.insert(
                vouch_core::engine::DERIVED_FROM.to_string(),
                serde_json::json!({"family": "vuln", "ids": ids}),
            );
        }
        out.extend(found);
    }
}

/// The advisory ids in a CVE/Issue cell (`GHSA-xxxx-xxxx-xxxx (CVE-2024-1234)`, `CVE-…`,
/// `RUSTSEC-…`): `PREFIX-…` words with a digit after the prefix (a GHSA id may have none).
/// Hand-written issue names (`login bypass`, `PR-fix`) give none.
fn advisory_ids(cell: &str) -> Vec<&str> {
    cell.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | '/'))
        .filter(|w| {
            let Some((prefix, rest)) = w.split_once('-') else {
                return false;
            };
            prefix.len() >= 2
                && prefix.chars().all(|c| c.is_ascii_uppercase())
                && !rest.is_empty()
                && (prefix == "GHSA" || rest.chars().any(|c| c.is_ascii_digit()))
        })
        .collect()
}
