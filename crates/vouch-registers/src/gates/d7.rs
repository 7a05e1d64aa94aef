//! D7 incident response: the S1–S4 ladder exists, every trigger has first-hour actions and
//! contacts, and the runbook was rehearsed within the last year.

use vouch_core::{Finding, Location, Region, Rule, Severity};

use super::{GateContext, incomplete};
use crate::register::Register;
use crate::schema::RegisterKind::D7;

pub const LADDER_INCOMPLETE: Rule = Rule {
    id: "register/ir-ladder-incomplete",
    severity: Severity::Medium,
    summary: "The incident severity ladder does not cover S1–S4",
    help: "Define at least one trigger for each severity S1 (critical) to S4 (low), so responders know how to classify any event.",
    references: &[],
};

pub const TRIGGER_INCOMPLETE: Rule = Rule {
    id: "register/ir-trigger-incomplete",
    severity: Severity::Medium,
    summary: "An incident trigger has no first-hour actions or no contacts",
    help: "Write the first-hour checklist (revoke, rotate, isolate…) and who to call for this trigger.",
    references: &[],
};

pub const REHEARSAL_OVERDUE: Rule = Rule {
    id: "register/ir-rehearsal-overdue",
    severity: Severity::Medium,
    summary: "The incident runbook has not been rehearsed in the last year",
    help: "Run a tabletop exercise and record its date in the `Last Rehearsal` column.",
    references: &[],
};

pub const RULES: &[&Rule] = &[&LADDER_INCOMPLETE, &TRIGGER_INCOMPLETE, &REHEARSAL_OVERDUE];

pub(super) fn check(r: &Register, ctx: &GateContext, out: &mut Vec<Finding>) {
    let header = Location::at(r.path.clone(), Region::line(r.header_line));
    let missing: Vec<&str> = ["S1", "S2", "S3", "S4"]
        .into_iter()
        .filter(|s| !r.rows.iter().any(|row| row.get(D7, "Severity") == Some(*s)))
        .collect();
    if !missing.is_empty() {
        out.push(
            Finding::new(
                &LADDER_INCOMPLETE,
                header.clone(),
                format!("no trigger is defined for {}", missing.join(", ")),
                &missing.join(","),
            )
            .with_annotation("ladder incomplete"),
        );
    }
    for row in &r.rows {
        let trigger = row.get(D7, "Trigger").unwrap_or("(unnamed trigger)");
        incomplete(
            &TRIGGER_INCOMPLETE,
            r,
            row,
            &["First-Hour Actions", "Roles/Contacts"],
            &format!("trigger {trigger}"),
            out,
        );
    }
    let last = r
        .rows
        .iter()
        .filter_map(|row| row.date(D7, "Last Rehearsal"))
        .max();
    let year_ago = ctx
        .today
        .checked_sub(jiff::Span::new().days(365))
        .unwrap_or(ctx.today);
    match last {
        Some(d) if d >= year_ago => {}
        Some(d) => out.push(
            Finding::new(
                &REHEARSAL_OVERDUE,
                header,
                format!("the last rehearsal was on {d}, more than a year ago"),
                "rehearsal",
            )
            .with_annotation("rehearsal overdue"),
        ),
        None => out.push(
            Finding::new(
                &REHEARSAL_OVERDUE,
                header,
                "no rehearsal date is recorded (add a `Last Rehearsal` column)".to_string(),
                "rehearsal",
            )
            .with_annotation("never rehearsed"),
        ),
    }
}
