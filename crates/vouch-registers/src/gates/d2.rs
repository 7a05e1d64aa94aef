//! D2 data handling: every data item has retention, encryption in transit and at rest, and
//! access roles.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, either, empty_fields, incomplete, is_no, row_finding};
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
        let unencrypted: Vec<&str> = ["In-Transit", "At-Rest"]
            .into_iter()
            .filter(|f| row.get(D2, f).is_some_and(is_no))
            .collect();
        let Some(first) = unencrypted.first() else {
            incomplete(
                &DATA_INCOMPLETE,
                r,
                row,
                &FIELDS,
                &format!("data item {item}"),
                out,
            );
            continue;
        };
        // One problem, one finding: unencrypted data is the problem, and fixing it fills the
        // row, so its empty fields are named here rather than reported again.
        let how = match unencrypted.as_slice() {
            [_, _] => "in transit or at rest",
            ["At-Rest"] => "at rest",
            _ => "in transit",
        };
        let mut message = format!("data item {item} is not encrypted {how}");
        let empty = empty_fields(r, row, &FIELDS);
        if !empty.is_empty() {
            message.push_str(&format!(" (its row has no {} yet)", either(&empty)));
        }
        out.push(row_finding(
            &DATA_UNENCRYPTED,
            r,
            row,
            first,
            message,
            "no encryption",
        ));
    }
}

/// What every D2 row must record.
const FIELDS: [&str; 4] = ["Retention", "In-Transit", "At-Rest", "Access Roles"];
