//! D4 build reproducibility: every release artifact has a hash and a signature or attestation.

use vouch_core::{Finding, Rule, Severity};

use super::{GateContext, finding, is_no};
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
        if row.get(D4, "Artifact Hash").is_none() {
            out.push(finding(
                &UNSIGNED_ARTIFACT,
                r,
                row,
                "Artifact Hash",
                format!("build {input} records no artifact hash"),
                "no hash",
            ));
        }
        match row.get(D4, "Signature/Attestation") {
            None => out.push(finding(
                &UNSIGNED_ARTIFACT,
                r,
                row,
                "Signature/Attestation",
                format!("build {input} records no signature or attestation"),
                "unsigned",
            )),
            Some(v) if is_no(v) => out.push(finding(
                &UNSIGNED_ARTIFACT,
                r,
                row,
                "Signature/Attestation",
                format!("build {input} is not signed"),
                "unsigned",
            )),
            Some(_) => {}
        }
    }
}
