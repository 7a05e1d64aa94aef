//! D4 build reproducibility: every release artifact has a hash and a signature or attestation.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, is_no, row_finding};
use crate::register::Register;
use crate::schema::RegisterKind::D4;

pub const UNSIGNED_ARTIFACT: Rule = Rule {
    id: "register/unsigned-artifact",
    severity: Severity::High,
    summary: "A release artifact has no hash or no signature/attestation (D4 exit gate)",
    help: "Sign the artifact and attach provenance (`vouch release`), then record the artifact hash and where the signature/attestation lives.",
    references: &["https://slsa.dev/spec/v1.0/levels"],
};

pub const RULES: &[&Rule] = &[&UNSIGNED_ARTIFACT];

pub(super) fn check(r: &Register, _ctx: &GateContext, out: &mut Vec<Finding>) {
    for row in &r.rows {
        let input = row.get(D4, "Build Input").unwrap_or("(unnamed build)");
        let no_hash = row.get(D4, "Artifact Hash").is_none();
        let signature = row.get(D4, "Signature/Attestation");
        let unsigned = match signature {
            None => Some("no signature or attestation"),
            Some(v) if is_no(v) => Some("no signature"),
            Some(_) => None,
        };
        // One artifact that cannot be checked is one problem, whatever it lacks.
        let (field, message, annotation) = match (no_hash, unsigned) {
            (false, None) => continue,
            (true, None) => ("Artifact Hash", "no artifact hash".to_string(), "no hash"),
            (false, Some(what)) => ("Signature/Attestation", what.to_string(), "unsigned"),
            (true, Some(what)) => (
                "Artifact Hash",
                format!("no artifact hash and {what}"),
                "no hash, unsigned",
            ),
        };
        out.push(row_finding(
            &UNSIGNED_ARTIFACT,
            r,
            row,
            field,
            format!("build {input} records {message}"),
            annotation,
        ));
    }
}
