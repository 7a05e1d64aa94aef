//! The registers' gates: each register file's module declares its rules at the top and checks
//! its rows. Every finding points at the register file, the row's line and the cell's column.

mod d1;
mod d2;
mod d3;
mod d4;
mod d5;
mod d6;
mod d7;

use jiff::civil::Date;
use vouch_core::{Finding, Location, Region, Rule, Severity};

use crate::register::{Register, Row};
use crate::schema::RegisterKind;

/// What the gates need besides the registers.
#[derive(Debug, Clone)]
pub struct GateContext {
    pub today: Date,
    /// Licences allowed in D3 (`[registers] allowed_licences`); `None` skips the check.
    pub allowed_licences: Option<Vec<String>>,
}

pub const EMPTY: Rule = Rule {
    id: "register/empty",
    severity: Severity::Info,
    summary: "A register has no rows yet",
    help: "Fill the register (see security/examples/ for the mini-spec's example rows). Its gate cannot pass or fail until it has content.",
    references: &[],
};

pub const MISSING: Rule = Rule {
    id: "register/missing",
    severity: Severity::Info,
    summary: "A register of the D1–D7 set has no file under security/",
    help: "Run `vouch register init` to write the missing starter files.",
    references: &[],
};

pub const REVIEW_OVERDUE: Rule = Rule {
    id: "register/review-overdue",
    severity: Severity::Medium,
    summary: "A review date in a register is in the past",
    help: "Review the entry, update it, and set the next review date.",
    references: &[],
};

/// Every rule of every register.
pub fn rules() -> Vec<&'static Rule> {
    let mut r = vec![&EMPTY, &MISSING, &REVIEW_OVERDUE];
    r.extend_from_slice(d1::RULES);
    r.extend_from_slice(d2::RULES);
    r.extend_from_slice(d3::RULES);
    r.extend_from_slice(d4::RULES);
    r.extend_from_slice(d5::RULES);
    r.extend_from_slice(d6::RULES);
    r.extend_from_slice(d7::RULES);
    r
}

/// Runs the gate of one register.
pub fn check(register: &Register, ctx: &GateContext) -> Vec<Finding> {
    let mut out = Vec::new();
    if register.rows.is_empty() {
        out.push(
            Finding::new(
                &EMPTY,
                Location::at(register.path.clone(), Region::line(register.header_line)),
                format!(
                    "the {} register ({}) has no rows",
                    register.kind.code(),
                    register.kind.title()
                ),
                "",
            )
            .with_annotation("no rows"),
        );
        return out;
    }
    match register.kind {
        RegisterKind::D1 => d1::check(register, ctx, &mut out),
        RegisterKind::D2 => d2::check(register, ctx, &mut out),
        RegisterKind::D3 => d3::check(register, ctx, &mut out),
        RegisterKind::D4 => d4::check(register, ctx, &mut out),
        RegisterKind::D5 => d5::check(register, ctx, &mut out),
        RegisterKind::D6 => d6::check(register, ctx, &mut out),
        RegisterKind::D7 => d7::check(register, ctx, &mut out),
    }
    out
}

/// The location of field `name` in `row`, or of the row when the column is absent.
pub(crate) fn at(register: &Register, row: &Row, name: &str) -> Location {
    let region = match row.cell(register.kind, name) {
        Some(c) if c.line == row.line || !c.value.is_empty() => Region::span(
            c.line,
            c.column,
            c.column + c.value.chars().count().max(1) as u32 - 1,
        ),
        _ => Region::line(row.line),
    };
    Location::at(register.path.clone(), region)
}

/// A stable key for a row: its ID, or its first non-empty cells (never its line).
pub(crate) fn row_key(register: &Register, row: &Row) -> String {
    let parts: Vec<&str> = row
        .cells
        .iter()
        .flatten()
        .map(|c| c.value.as_str())
        .filter(|v| !v.is_empty())
        .take(3)
        .collect();
    format!("{}:{}", register.kind.code(), parts.join("|"))
}

/// A finding about `row`, located at field `field`.
pub(crate) fn finding(
    rule: &Rule,
    register: &Register,
    row: &Row,
    field: &str,
    message: String,
    annotation: &str,
) -> Finding {
    Finding::new(
        rule,
        at(register, row, field),
        message,
        &format!("{}#{field}", row_key(register, row)),
    )
    .with_annotation(annotation)
}

/// One finding of `rule` about `row` as a whole, located at field `at_field`. Its fingerprint
/// names the rule, not the field, so a row's problem keeps its identity while its fields are
/// filled in one by one.
pub(crate) fn row_finding(
    rule: &Rule,
    register: &Register,
    row: &Row,
    at_field: &str,
    message: String,
    annotation: &str,
) -> Finding {
    Finding::new(
        rule,
        at(register, row, at_field),
        message,
        &format!("{}#{}", row_key(register, row), rule.id),
    )
    .with_annotation(annotation)
}

/// The fields of `row` among `fields` that are empty, in `fields`' order.
pub(crate) fn empty_fields<'f>(register: &Register, row: &Row, fields: &[&'f str]) -> Vec<&'f str> {
    fields
        .iter()
        .copied()
        .filter(|f| row.get(register.kind, f).is_none())
        .collect()
}

/// `a`, `a or b`, `a, b or c` — lowercased field names for a message.
pub(crate) fn either(fields: &[&str]) -> String {
    let names: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// One finding per row for its empty `fields` (none when all are filled): one incomplete
/// row is one problem, located at its first empty field.
pub(crate) fn incomplete(
    rule: &Rule,
    register: &Register,
    row: &Row,
    fields: &[&str],
    what: &str,
    out: &mut Vec<Finding>,
) {
    let empty = empty_fields(register, row, fields);
    if let Some(first) = empty.first() {
        out.push(row_finding(
            rule,
            register,
            row,
            first,
            format!("{what} has no {}", either(&empty)),
            "empty",
        ));
    }
}

/// `register/review-overdue` for a date field.
pub(crate) fn review_date(
    register: &Register,
    row: &Row,
    field: &str,
    ctx: &GateContext,
    what: &str,
    out: &mut Vec<Finding>,
) {
    if let Some(d) = row.date(register.kind, field)
        && d < ctx.today
    {
        out.push(finding(
            &REVIEW_OVERDUE,
            register,
            row,
            field,
            format!("{what}: review date {d} is in the past"),
            "review overdue",
        ));
    }
}

/// `true` for values that say "no": N, No, None, false, -.
pub(crate) fn is_no(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "n" | "no" | "none" | "false" | "-" | "plaintext" | "unencrypted"
    )
}

/// Parses a rotation interval ("90 days", "6 months", "quarterly", "1y") into days.
pub(crate) fn interval_days(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let named = match t.as_str() {
        "daily" => Some(1),
        "weekly" => Some(7),
        "monthly" => Some(30),
        "quarterly" => Some(91),
        "yearly" | "annually" | "annual" => Some(365),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    let unit = t[digits.len()..].trim();
    let per = match unit {
        "d" | "day" | "days" => 1,
        "w" | "wk" | "week" | "weeks" => 7,
        "m" | "mo" | "month" | "months" => 30,
        "y" | "yr" | "year" | "years" => 365,
        _ => return None,
    };
    Some(n * per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_read_as_prose() {
        assert_eq!(either(&[]), "");
        assert_eq!(either(&["Owner"]), "owner");
        assert_eq!(either(&["Control", "Owner"]), "control or owner");
        assert_eq!(
            either(&["Version", "License", "Integrity"]),
            "version, license or integrity"
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(interval_days("6 months"), Some(180));
        assert_eq!(interval_days("90 days"), Some(90));
        assert_eq!(interval_days("Quarterly"), Some(91));
        assert_eq!(interval_days("on compromise"), None);
    }
}
