//! D1 threat model: the exit gate (every High/High and High/Medium threat has a control and an
//! owner), accepted risks carry a residual-risk note and a live review date.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, incomplete, review_date};
use crate::register::Register;
use crate::schema::RegisterKind::D1;

pub const THREAT_UNCONTROLLED: Rule = Rule {
    id: "register/threat-uncontrolled",
    severity: Severity::High,
    summary: "A High/High or High/Medium threat has no control or no owner (D1 exit gate)",
    help: "Record the control (prevent, detect or respond) and the person who owns it. The D1 exit gate requires both for every High/High and High/Medium threat before release.",
    references: &[],
};

pub const ACCEPTED_INCOMPLETE: Rule = Rule {
    id: "register/accepted-risk-incomplete",
    severity: Severity::Medium,
    summary: "An accepted threat has no residual-risk note or no review date",
    help: "Accepting a risk is a decision: write down the residual risk that remains and when the decision will be reviewed.",
    references: &[],
};

pub const RULES: &[&Rule] = &[&THREAT_UNCONTROLLED, &ACCEPTED_INCOMPLETE];

pub(super) fn check(r: &Register, ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        let asset = row.get(D1, "Asset/Data Flow").unwrap_or("(no asset)");
        let threat = row.get(D1, "Threat").unwrap_or("threat");
        let impact = row.get(D1, "Impact").unwrap_or("");
        let likelihood = row.get(D1, "Likelihood").unwrap_or("");
        let serious = matches!(
            (impact, likelihood),
            ("High", "High") | ("High", "Medium") | ("Medium", "High")
        );
        if serious {
            incomplete(
                &THREAT_UNCONTROLLED,
                r,
                row,
                &["Control", "Owner"],
                &format!("{threat} on {asset} is {impact} impact / {likelihood} likelihood but"),
                out,
            );
        }
        if row.get(D1, "Status") == Some("Accepted") {
            incomplete(
                &ACCEPTED_INCOMPLETE,
                r,
                row,
                &["Residual Risk", "Review Date"],
                &format!("accepted risk {threat} on {asset}"),
                out,
            );
        }
        review_date(
            r,
            row,
            "Review Date",
            ctx,
            &format!("{threat} on {asset}"),
            out,
        );
    }
}
