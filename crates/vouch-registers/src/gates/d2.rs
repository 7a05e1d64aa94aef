//! D2 data handling: every data item has retention, encryption in transit and at rest, and
//! access roles.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, finding, is_no};
use crate::register::Register;
use crate::schema::RegisterKind::D2;

pub const DATA_INCOMPLETE: Rule = Rule {
    id: "register/data-item-incomplete",
    severity: Severity::Medium,
    summary: "A data item lacks retention, encryption or access roles (D2 exit gate)",
    help: "For every data item record how long it is kept, how it is encrypted in transit and at rest, and which roles may access it.",
    references: &[],
};

pub const DATA_UNENCRYPTED: Rule = Rule {
    id: "register/data-unencrypted",
    severity: Severity::High,
    summary: "A data item is stored or sent without encryption",
    help: "Encrypt the data in transit (TLS) and at rest (e.g. AES-256 with managed keys), or record why this item needs none and accept the risk in the threat model.",
    references: &[],
};

pub const RULES: &[&Rule] = &[&DATA_INCOMPLETE, &DATA_UNENCRYPTED];

pub(super) fn check(r: &Register, _ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        let item = row.get(D2, "Data Item").unwrap_or("(unnamed item)");
        for field in ["Retention", "In-Transit", "At-Rest", "Access Roles"] {
            match row.get(D2, field) {
                None => out.push(finding(
                    &DATA_INCOMPLETE,
                    r,
                    row,
                    field,
                    format!("data item {item} has no {field}"),
                    "empty",
                )),
                Some(v) if field.ends_with("Transit") || field.ends_with("Rest") => {
                    if is_no(v) {
                        out.push(finding(
                            &DATA_UNENCRYPTED,
                            r,
                            row,
                            field,
                            format!(
                                "data item {item} is not encrypted {}",
                                if field == "At-Rest" {
                                    "at rest"
                                } else {
                                    "in transit"
                                }
                            ),
                            "no encryption",
                        ));
                    }
                }
                Some(_) => {}
            }
        }
    }
}
