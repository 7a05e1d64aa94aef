//! Evaluates a policy against the evidence found for a subject.

use globset::Glob;
use jiff::Timestamp;
use vouch_core::exceptions::ExceptionSet;
use vouch_core::{Finding, Location, Severity};

use crate::breakglass::Entry;
use crate::decision::{Decision, Outcome, Requirement};
use crate::freeze;
use crate::policy::{AttestationPolicy, GatePolicy, type_matches};

/// Why a signature did not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// It verifies, but with a key (or identity) the policy does not trust.
    UntrustedSigner(String),
    /// It does not verify: the artifact changed, or the signature is corrupt.
    DoesNotVerify(String),
    /// The bundle cannot be read.
    Malformed(String),
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::UntrustedSigner(s) => write!(f, "signature by untrusted key ({s})"),
            SignatureProblem::DoesNotVerify(s) => write!(f, "signature does not verify ({s})"),
            SignatureProblem::Malformed(s) => write!(f, "not a bundle ({s})"),
        }
    }
}

/// One signature found for the subject.
#[derive(Debug, Clone)]
pub struct SignatureEvidence {
    /// Where it was found (bundle path).
    pub source: String,
    /// `Ok(signer)`: verified by a trusted signer (key hint or identity).
    pub result: Result<String, SignatureProblem>,
}

/// One attestation found for the subject.
#[derive(Debug, Clone)]
pub struct AttestationEvidence {
    pub source: String,
    pub predicate_type: String,
    /// Signature check of the envelope, as for signatures.
    pub result: Result<String, SignatureProblem>,
    /// Whether the statement's subject digests include the subject's.
    pub subject_matches: bool,
    pub predicate: serde_json::Value,
}

/// Everything found for the subject.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub signatures: Vec<SignatureEvidence>,
    pub attestations: Vec<AttestationEvidence>,
    /// Highest vulnerability severity in the attached SBOM: `Some(None)` = scanned, none found;
    /// `None` = no SBOM or database, so the condition cannot be judged.
    pub max_vulnerability: Option<Option<(Severity, String)>>,
    /// How old the vulnerability database's newest record is (shown in the decision).
    pub vulnerability_db_age: Option<String>,
    /// Why the database cannot be trusted for this decision (older than `[vuln]
    /// max_db_age`, no records): the condition is not met whatever the findings.
    pub vulnerability_db_problem: Option<String>,
}

/// Inputs besides the policy and evidence.
pub struct Context<'a> {
    pub subject: &'a str,
    pub digest: &'a str,
    pub environment: Option<&'a str>,
    pub now: Timestamp,
    pub break_glass: &'a [Entry],
    pub exceptions: &'a ExceptionSet,
    pub today: jiff::civil::Date,
}

/// The decision for the subject.
pub fn evaluate(policy: &GatePolicy, evidence: &Evidence, ctx: &Context<'_>) -> Decision {
    let mut reqs = Vec::new();
    if let Some(sig) = &policy.signatures {
        let threshold = sig.threshold.unwrap_or(1) as usize;
        let mut signers: Vec<&str> = evidence
            .signatures
            .iter()
            .filter_map(|s| s.result.as_ref().ok().map(String::as_str))
            .collect();
        signers.sort_unstable();
        signers.dedup();
        let (outcome, detail) = if signers.len() >= threshold {
            (
                Outcome::Met,
                format!(
                    "{} of {threshold} required trusted signature(s): {}",
                    signers.len(),
                    signers.join(", ")
                ),
            )
        } else if evidence.signatures.is_empty() {
            (Outcome::NotMet, "no signature found (looked for FILE.sigstore.json, FILE.bundle and release.json entries)".to_string())
        } else {
            let problems: Vec<String> = evidence
                .signatures
                .iter()
                .filter_map(|s| {
                    s.result
                        .as_ref()
                        .err()
                        .map(|p| format!("{p} in {}", s.source))
                })
                .collect();
            let lead = if signers.is_empty() {
                String::new()
            } else {
                format!("{} of {threshold} trusted signature(s); ", signers.len())
            };
            (Outcome::NotMet, format!("{lead}{}", problems.join("; ")))
        };
        reqs.push(Requirement {
            id: "signatures".into(),
            outcome,
            detail,
        });
    }
    for att in &policy.attestations {
        reqs.push(attestation(att, evidence));
    }
    if let Some(v) = &policy.vulnerabilities {
        let (outcome, detail) = match &evidence.max_vulnerability {
            Some(_) if evidence.vulnerability_db_problem.is_some() => (
                Outcome::NotMet,
                evidence
                    .vulnerability_db_problem
                    .clone()
                    .unwrap_or_default(),
            ),
            None => (
                Outcome::NotMet,
                "cannot judge vulnerabilities: no SBOM attestation or no vulnerability database"
                    .to_string(),
            ),
            Some(None) => (
                Outcome::Met,
                "no known vulnerabilities in the attached SBOM".to_string(),
            ),
            Some(Some((sev, id))) if *sev > v.max_severity => (
                Outcome::NotMet,
                format!("{id} is {sev}, above the allowed {}", v.max_severity),
            ),
            Some(Some((sev, id))) => (
                Outcome::Met,
                format!("highest is {id} ({sev}), within {}", v.max_severity),
            ),
        };
        let detail = match &evidence.vulnerability_db_age {
            Some(age) if evidence.vulnerability_db_problem.is_none() => format!("{detail} ({age})"),
            _ => detail,
        };
        reqs.push(Requirement {
            id: "vulnerabilities".into(),
            outcome,
            detail,
        });
    }
    if !policy.freeze.is_empty() {
        let req = match freeze::active(&policy.freeze, ctx.now, ctx.environment) {
            None => Requirement {
                id: "freeze".into(),
                outcome: Outcome::Met,
                detail: "no freeze window is active".into(),
            },
            Some((w, until)) => {
                let approval = ctx
                    .break_glass
                    .iter()
                    .rev()
                    .find(|e| e.covers(ctx.digest, ctx.environment, ctx.now));
                match approval {
                    Some(e) => Requirement {
                        id: "freeze".into(),
                        outcome: Outcome::Waived,
                        detail: format!(
                            "frozen by `{}` until {until}; break-glass #{} by {} until {}: {}",
                            w.name, e.seq, e.approver, e.expires, e.reason
                        ),
                    },
                    None => Requirement {
                        id: "freeze".into(),
                        outcome: Outcome::NotMet,
                        detail: format!("frozen until {until} (window `{}`)", w.name),
                    },
                }
            }
        };
        reqs.push(req);
    }
    apply_exceptions(&mut reqs, ctx);
    Decision::new(ctx.subject, ctx.digest, ctx.environment, reqs)
}

fn attestation(att: &AttestationPolicy, evidence: &Evidence) -> Requirement {
    let kind = att.kind.as_str();
    let id = format!("attestation/{kind}");
    let of_type: Vec<&AttestationEvidence> = evidence
        .attestations
        .iter()
        .filter(|a| type_matches(kind, &a.predicate_type))
        .collect();
    if of_type.is_empty() {
        let other: Vec<&str> = evidence
            .attestations
            .iter()
            .map(|a| a.predicate_type.as_str())
            .collect();
        let detail = if other.is_empty() {
            format!("no {kind} attestation found")
        } else {
            format!("no {kind} attestation found (found: {})", other.join(", "))
        };
        return Requirement {
            id,
            outcome: Outcome::NotMet,
            detail,
        };
    }
    let mut reasons = Vec::new();
    for a in &of_type {
        match &a.result {
            Err(p) => reasons.push(format!("{p} in {}", a.source)),
            Ok(_) if !a.subject_matches => reasons.push(format!(
                "{} is about another artifact (subject digest mismatch)",
                a.source
            )),
            Ok(signer) => match provenance_conditions(att, &a.predicate) {
                Ok(()) => {
                    return Requirement {
                        id,
                        outcome: Outcome::Met,
                        detail: format!("{} signed by {signer}", a.predicate_type),
                    };
                }
                Err(why) => reasons.push(why),
            },
        }
    }
    Requirement {
        id,
        outcome: Outcome::NotMet,
        detail: reasons.join("; "),
    }
}

/// Builder id, source repository and ref conditions on SLSA provenance (v1 and v0.2).
fn provenance_conditions(att: &AttestationPolicy, p: &serde_json::Value) -> Result<(), String> {
    let glob_any = |patterns: &[String], value: &str| {
        patterns.iter().any(|g| {
            Glob::new(g)
                .map(|g| g.compile_matcher().is_match(value))
                .unwrap_or(false)
        })
    };
    if !att.builder_ids.is_empty() {
        let builder = p
            .pointer("/runDetails/builder/id")
            .or_else(|| p.pointer("/builder/id"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !glob_any(&att.builder_ids, builder) {
            return Err(format!("provenance builder not allowed: `{builder}`"));
        }
    }
    let deps: Vec<&str> = p
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|d| d.get("uri").and_then(|u| u.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let config_source = p
        .pointer("/invocation/configSource/uri")
        .and_then(|v| v.as_str());
    let workflow_repo = p
        .pointer("/buildDefinition/externalParameters/workflow/repository")
        .and_then(|v| v.as_str());
    if !att.source_repos.is_empty() {
        let candidates: Vec<String> = deps
            .iter()
            .copied()
            .chain(config_source)
            .chain(workflow_repo)
            .map(strip_ref)
            .collect();
        if !candidates.iter().any(|c| glob_any(&att.source_repos, c)) {
            return Err(format!(
                "provenance source repository not allowed: {}",
                if candidates.is_empty() {
                    "none recorded".to_string()
                } else {
                    candidates.join(", ")
                }
            ));
        }
    }
    if !att.refs.is_empty() {
        let mut refs: Vec<String> = deps
            .iter()
            .copied()
            .chain(config_source)
            .filter_map(|u| u.split_once('@').map(|(_, r)| r.to_string()))
            .collect();
        if let Some(r) = p
            .pointer("/buildDefinition/externalParameters/workflow/ref")
            .and_then(|v| v.as_str())
        {
            refs.push(r.to_string());
        }
        if !refs.iter().any(|r| glob_any(&att.refs, r)) {
            return Err(format!(
                "provenance ref not allowed: {}",
                if refs.is_empty() {
                    "none recorded".to_string()
                } else {
                    refs.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// `git+https://github.com/o/r@refs/heads/main` → `git+https://github.com/o/r`.
fn strip_ref(uri: &str) -> String {
    match uri.rsplit_once('@') {
        Some((repo, r)) if r.starts_with("refs/") || r.len() == 40 => repo.to_string(),
        _ => uri.to_string(),
    }
}

/// Exceptions waive failed requirements: an entry with `rule: gate/<requirement id>` (and an
/// optional `path` glob over the subject name) that has not expired.
fn apply_exceptions(reqs: &mut [Requirement], ctx: &Context<'_>) {
    if ctx.exceptions.entries.is_empty() {
        return;
    }
    let mut findings: Vec<Finding> = reqs
        .iter()
        .map(|r| {
            Finding::dynamic(
                format!("gate/{}", r.id),
                Severity::High,
                Location::file(ctx.subject),
                r.detail.clone(),
                &r.id,
            )
        })
        .collect();
    let _ = ctx.exceptions.apply(&mut findings, ctx.today, u32::MAX);
    for (r, f) in reqs.iter_mut().zip(findings) {
        if r.outcome == Outcome::NotMet
            && let Some(by) = f.suppressed_by
        {
            let ex = ctx.exceptions.entries.iter().find(|e| e.id == by);
            r.outcome = Outcome::Waived;
            r.detail = match ex {
                Some(e) => format!(
                    "{} — waived by exception {by} (owner {}, until {}): {}",
                    r.detail, e.owner, e.expires, e.reason
                ),
                None => format!("{} — waived by {by}", r.detail),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::breakglass::{self, Approval};

    fn policy(extra: &str) -> GatePolicy {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("release.pub"), "pem").unwrap();
        let text = format!(
            "signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\n    builder_ids: [\"https://github.com/*/.github/workflows/release.yml@*\"]\n    refs: [\"refs/tags/v*\"]\n{extra}"
        );
        GatePolicy::parse(&d.path().join("gate.yaml"), &text).unwrap()
    }

    fn provenance(builder: &str, r: &str) -> AttestationEvidence {
        AttestationEvidence {
            source: "app.intoto.jsonl".into(),
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            result: Ok("release.pub".into()),
            subject_matches: true,
            predicate: serde_json::json!({
                "buildDefinition": {"buildType": "x", "externalParameters": {"workflow": {"ref": r, "repository": "https://github.com/acme/app"}},
                    "resolvedDependencies": [{"uri": format!("git+https://github.com/acme/app@{r}")}]},
                "runDetails": {"builder": {"id": builder}}
            }),
        }
    }

    fn good() -> Evidence {
        Evidence {
            signatures: vec![SignatureEvidence {
                source: "app.sigstore.json".into(),
                result: Ok("release.pub".into()),
            }],
            attestations: vec![provenance(
                "https://github.com/acme/.github/workflows/release.yml@refs/tags/v1.2.0",
                "refs/tags/v1.2.0",
            )],
            max_vulnerability: None,
            vulnerability_db_age: None,
            vulnerability_db_problem: None,
        }
    }

    fn decide(
        p: &GatePolicy,
        e: &Evidence,
        now: &str,
        bg: &[breakglass::Entry],
        ex: &ExceptionSet,
    ) -> Decision {
        evaluate(
            p,
            e,
            &Context {
                subject: "app",
                digest: "sha256:ab",
                environment: Some("prod"),
                now: now.parse().unwrap(),
                break_glass: bg,
                exceptions: ex,
                today: "2026-11-24".parse().unwrap(),
            },
        )
    }

    const NOW: &str = "2026-11-24T12:00:00Z";

    #[test]
    fn allow_when_everything_verifies() {
        let d = decide(&policy(""), &good(), NOW, &[], &ExceptionSet::default());
        assert!(d.allowed, "{}", d.to_text());
        assert_eq!(d.exit_code(), 0);
    }

    #[test]
    fn missing_and_untrusted_signatures_are_told_apart() {
        let mut e = good();
        e.signatures.clear();
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(!d.allowed);
        assert!(
            d.requirements[0].detail.starts_with("no signature found"),
            "{}",
            d.to_text()
        );
        e.signatures.push(SignatureEvidence {
            source: "app.sigstore.json".into(),
            result: Err(SignatureProblem::UntrustedSigner("key hint abc".into())),
        });
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(
            d.requirements[0]
                .detail
                .contains("signature by untrusted key"),
            "{}",
            d.to_text()
        );
        e.signatures[0].result = Err(SignatureProblem::DoesNotVerify("digest mismatch".into()));
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(
            d.requirements[0]
                .detail
                .contains("signature does not verify"),
            "{}",
            d.to_text()
        );
    }

    #[test]
    fn provenance_conditions_and_missing_attestations() {
        let mut e = good();
        e.attestations = vec![provenance(
            "https://evil.example/builder",
            "refs/tags/v1.2.0",
        )];
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(
            d.requirements[1]
                .detail
                .contains("provenance builder not allowed"),
            "{}",
            d.to_text()
        );
        e.attestations = vec![provenance(
            "https://github.com/acme/.github/workflows/release.yml@refs/heads/dev",
            "refs/heads/dev",
        )];
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(
            d.requirements[1]
                .detail
                .contains("provenance ref not allowed"),
            "{}",
            d.to_text()
        );
        e.attestations.clear();
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert_eq!(
            d.requirements[1].detail,
            "no slsaprovenance attestation found"
        );
        e.attestations = vec![provenance("b", "r")];
        e.attestations[0].subject_matches = false;
        let d = decide(&policy(""), &e, NOW, &[], &ExceptionSet::default());
        assert!(
            d.requirements[1].detail.contains("subject digest mismatch"),
            "{}",
            d.to_text()
        );
    }

    #[test]
    fn freeze_windows_and_break_glass() {
        let p = policy(
            "freeze:\n  - name: year-end\n    start: 2026-11-20T00:00:00Z\n    end: 2026-12-01T00:00:00Z\n    environments: [prod]\n",
        );
        let d = decide(&p, &good(), NOW, &[], &ExceptionSet::default());
        assert!(!d.allowed);
        assert!(
            d.requirements
                .last()
                .unwrap()
                .detail
                .starts_with("frozen until 2026-12-01T00:00:00Z"),
            "{}",
            d.to_text()
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("bg.log");
        breakglass::append(
            &log,
            &Approval {
                approver: "alice",
                reason: "INC-7 hotfix",
                subject: "sha256:ab",
                environment: Some("prod"),
                ttl_seconds: 7200,
                now: "2026-11-24T11:00:00Z".parse().unwrap(),
            },
        )
        .unwrap();
        let entries = breakglass::read(&log).unwrap();
        let d = decide(&p, &good(), NOW, &entries, &ExceptionSet::default());
        assert!(d.allowed, "{}", d.to_text());
        assert!(
            d.requirements
                .last()
                .unwrap()
                .detail
                .contains("break-glass #1 by alice")
        );
        // Expired approval: denied again.
        let d = decide(
            &p,
            &good(),
            "2026-11-24T13:00:01Z",
            &entries,
            &ExceptionSet::default(),
        );
        assert!(!d.allowed);
    }

    #[test]
    fn exceptions_waive_failed_requirements_until_they_expire() {
        let ex = ExceptionSet::parse(Path::new("e.yaml"), "e.yaml", "exceptions:\n  - id: EXC-9\n    rule: gate/attestation/slsaprovenance\n    owner: rel@example.com\n    expires: 2026-12-01\n    reason: provenance rollout, REL-3\n").unwrap();
        let mut e = good();
        e.attestations.clear();
        let d = decide(&policy(""), &e, NOW, &[], &ex);
        assert!(d.allowed, "{}", d.to_text());
        assert!(
            d.requirements[1]
                .detail
                .contains("waived by exception EXC-9")
        );
        let d = evaluate(
            &policy(""),
            &e,
            &Context {
                subject: "app",
                digest: "sha256:ab",
                environment: None,
                now: NOW.parse().unwrap(),
                break_glass: &[],
                exceptions: &ex,
                today: "2026-12-02".parse().unwrap(),
            },
        );
        assert!(!d.allowed, "expired exceptions do not waive");
    }

    #[test]
    fn vulnerability_ceiling() {
        let p = policy("vulnerabilities:\n  max_severity: medium\n");
        let mut e = good();
        assert!(
            !decide(&p, &e, NOW, &[], &ExceptionSet::default()).allowed,
            "cannot judge without an SBOM"
        );
        e.max_vulnerability = Some(Some((Severity::High, "GHSA-1".into())));
        assert!(!decide(&p, &e, NOW, &[], &ExceptionSet::default()).allowed);
        e.max_vulnerability = Some(Some((Severity::Low, "GHSA-2".into())));
        assert!(decide(&p, &e, NOW, &[], &ExceptionSet::default()).allowed);
        // A stale database fails the condition whatever the findings.
        e.max_vulnerability = Some(None);
        e.vulnerability_db_problem = Some("the vulnerability database is 30 days old".into());
        let d = decide(&p, &e, NOW, &[], &ExceptionSet::default());
        assert!(!d.allowed);
        let req = d
            .requirements
            .iter()
            .find(|r| r.id == "vulnerabilities")
            .unwrap();
        assert_eq!(req.outcome, Outcome::NotMet);
        assert!(req.detail.contains("30 days old"));
    }
}
