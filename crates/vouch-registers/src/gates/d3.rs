//! D3 SBOM & licences: components have a version, licence and integrity hash, and licences are
//! on the allow-list (`[registers] allowed_licences`).

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, finding, incomplete};
use crate::register::Register;
use crate::schema::RegisterKind::D3;

pub const COMPONENT_INCOMPLETE: Rule = Rule {
    id: "register/component-incomplete",
    severity: Severity::Low,
    summary: "A component has no version, licence or integrity hash",
    help: "Run `vouch register sync` to fill Component, Version, License and Integrity from the SBOM, or fill them by hand.",
    references: &[],
};

pub const LICENCE_NOT_ALLOWED: Rule = Rule {
    id: "register/licence-not-allowed",
    severity: Severity::High,
    summary: "A component's licence is not on the allow-list",
    help: "Replace the component, get the licence approved and add it to `[registers] allowed_licences` in vouch.toml, or record an exception.",
    references: &["https://spdx.org/licenses/"],
};

pub const RULES: &[&Rule] = &[&COMPONENT_INCOMPLETE, &LICENCE_NOT_ALLOWED];

pub(super) fn check(r: &Register, ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        let name = row.get(D3, "Component").unwrap_or("(unnamed component)");
        incomplete(
            &COMPONENT_INCOMPLETE,
            r,
            row,
            &["Version", "License", "Integrity"],
            &format!("component {name}"),
            out,
        );
        if let (Some(allowed), Some(licence)) = (&ctx.allowed_licences, row.get(D3, "License"))
            && !licence_allowed(licence, allowed)
        {
            out.push(finding(
                &LICENCE_NOT_ALLOWED,
                r,
                row,
                "License",
                format!("component {name} is licensed {licence}, which is not on the allow-list"),
                "not allowed",
            ));
        }
    }
}

/// An expression is allowed when every licence id in it is (`MIT OR Apache-2.0`, `(A AND B)`):
/// conservative for `OR`, which would only need one.
fn licence_allowed(expr: &str, allowed: &[String]) -> bool {
    expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| {
            !t.is_empty() && !matches!(t.to_ascii_uppercase().as_str(), "AND" | "OR" | "WITH")
        })
        .all(|id| allowed.iter().any(|a| a.eq_ignore_ascii_case(id)))
}
