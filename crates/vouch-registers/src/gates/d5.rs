//! D5 secrets & access: rotation not overdue, roles listed, no plaintext storage.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, either, empty_fields, finding, incomplete, interval_days};
use crate::register::Register;
use crate::schema::RegisterKind::D5;

pub const ROTATION_OVERDUE: Rule = Rule {
    id: "register/secret-rotation-overdue",
    severity: Severity::High,
    summary: "A secret is past its rotation date",
    help: "Rotate the secret, then update Last Rotated. If rotation is event-driven, say so in the Rotation Policy (e.g. `on compromise`) and accept the risk in the threat model.",
    references: &[],
};

pub const SECRET_INCOMPLETE: Rule = Rule {
    id: "register/secret-incomplete",
    severity: Severity::Medium,
    summary: "A secret has no storage method, rotation policy, last-rotated date or access roles",
    help: "Record where the secret lives, how often it rotates, when it last rotated and which roles can read it.",
    references: &[],
};

pub const SECRET_PLAINTEXT: Rule = Rule {
    id: "register/secret-plaintext",
    severity: Severity::High,
    summary: "A secret is stored in plaintext or in the repository",
    help: "Move the secret to a secret store (vault, cloud secret manager, HSM) and rotate it: a secret that was in a repository must be treated as leaked.",
    references: &[],
};

pub const RULES: &[&Rule] = &[&ROTATION_OVERDUE, &SECRET_INCOMPLETE, &SECRET_PLAINTEXT];

/// `(rule, path, line)` of a Secret cell that `vouch register sync` wrote for a scanner finding
/// (`secrets/private-key at release.key:1`).
fn scanner_source(secret: &str) -> Option<(&str, &str, u32)> {
    let (rule, place) = secret.split_once(" at ")?;
    let (path, line) = place.rsplit_once(':')?;
    if !rule.starts_with("secrets/") || path.is_empty() {
        return None;
    }
    Some((rule, path, line.parse().ok()?))
}

pub(super) fn check(r: &Register, ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        let name = row.get(D5, "Secret").unwrap_or("(unnamed secret)");
        let overdue = rotation_due(row, ctx).map(|(due, policy, last)| {
            (
                due,
                format!("secret {name} was due for rotation on {due} ({policy} after {last})"),
            )
        });
        let Some(storage) = row.get(D5, "Storage Method").filter(|s| is_plaintext(s)) else {
            incomplete(
                &SECRET_INCOMPLETE,
                r,
                row,
                &FIELDS,
                &format!("secret {name}"),
                out,
            );
            if let Some((_, message)) = overdue {
                out.push(finding(
                    &ROTATION_OVERDUE,
                    r,
                    row,
                    "Last Rotated",
                    message,
                    "rotation overdue",
                ));
            }
            continue;
        };
        // One problem, one finding: a secret in plaintext is leaked, and the fix (move it to a
        // store, rotate it) fills the row and restarts its rotation clock; its empty fields and
        // an overdue rotation are named, not reported again.
        let mut message = format!("secret {name} is stored as `{storage}`");
        let empty = empty_fields(r, row, &FIELDS);
        if !empty.is_empty() {
            message.push_str(&format!(" (its row has no {} yet)", either(&empty)));
        }
        if let Some((due, _)) = overdue {
            message.push_str(&format!("; its rotation was due on {due}"));
        }
        let mut f = finding(
            &SECRET_PLAINTEXT,
            r,
            row,
            "Storage Method",
            message,
            "plaintext storage",
        );
        if let Some((rule, path, line)) = scanner_source(name) {
            f.properties.insert(
                vouch_core::engine::DERIVED_FROM.to_string(),
                serde_json::json!({"rule": rule, "path": path, "line": line}),
            );
        }
        out.push(f);
    }
}

/// What every D5 row must record.
const FIELDS: [&str; 4] = [
    "Storage Method",
    "Rotation Policy",
    "Last Rotated",
    "Access Roles",
];

/// A Storage Method that says the secret is not in a store.
fn is_plaintext(storage: &str) -> bool {
    let s = storage.to_ascii_lowercase();
    [
        "plaintext",
        "plain text",
        "repo",
        "repository",
        "git",
        "source code",
        "hardcoded",
        "hard-coded",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// `(due date, policy, last rotated)` when the row's rotation date has passed.
fn rotation_due<'r>(
    row: &'r crate::register::Row,
    ctx: &GateContext,
) -> Option<(jiff::civil::Date, &'r str, jiff::civil::Date)> {
    let last = row.date(D5, "Last Rotated")?;
    let policy = row.get(D5, "Rotation Policy")?;
    let due = last
        .checked_add(jiff::Span::new().days(interval_days(policy)?))
        .ok()?;
    (due < ctx.today).then_some((due, policy, last))
}
