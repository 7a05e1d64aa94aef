//! The gate policy (`gate.yaml`): required signatures and attestations, provenance conditions,
//! the vulnerability ceiling, freeze windows and break-glass limits.
//!
//! Validated with line numbers: an unknown key (a misspelling such as `keyz`) is bad input, so
//! a typo never silently removes a requirement. Relative paths are resolved against the
//! policy file's directory.

use std::path::{Path, PathBuf};

use marked_yaml::Spanned;
use serde::Deserialize;
use vouch_core::{InputError, Severity};

use crate::freeze::FreezeWindow;

/// The whole policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatePolicy {
    #[serde(default)]
    pub signatures: Option<SignaturePolicy>,
    #[serde(default)]
    pub attestations: Vec<AttestationPolicy>,
    #[serde(default)]
    pub vulnerabilities: Option<VulnerabilityPolicy>,
    #[serde(default)]
    pub freeze: Vec<FreezeWindow>,
    #[serde(default)]
    pub break_glass: Option<BreakGlassPolicy>,
    /// The environment this policy guards when `--environment` is not given.
    pub environment: Option<String>,
    /// Directory of the policy file; relative paths are resolved against it.
    #[serde(skip)]
    pub base: PathBuf,
}

/// Who must have signed the subject.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignaturePolicy {
    /// Trusted public keys (PEM files).
    #[serde(default)]
    pub keys: Vec<Spanned<String>>,
    /// Trusted keyless identities (certificate subject + OIDC issuer, as cosign's flags).
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// The Sigstore trusted root (JSON) that keyless certificates must chain to, and whose
    /// transparency logs they must be logged in. Required with `identities`.
    pub trusted_root: Option<Spanned<String>>,
    /// Distinct trusted signers required (default 1).
    pub threshold: Option<u32>,
    /// Key-signed bundles must be logged in a transparency log this root names.
    pub transparency_log: Option<TransparencyLogPolicy>,
}

/// Transparency-log inclusion for key-signed evidence (signatures and attestations).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransparencyLogPolicy {
    /// A Sigstore trusted root naming the log(s), e.g. from `vouch log trusted-root`.
    pub trusted_root: Spanned<String>,
    /// Whether evidence without a log entry is refused (default true). With `false`, entries
    /// present are still checked and one that does not verify still fails.
    pub required: Option<bool>,
}

/// A keyless signer: certificate issuer and subject, as cosign's identity flags.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub issuer: Option<String>,
    pub issuer_regexp: Option<String>,
    pub subject: Option<String>,
    pub subject_regexp: Option<String>,
}

impl Identity {
    /// The certificate identity `vouch-attest` matches against (regexps match the whole
    /// value, as cosign's `--certificate-identity-regexp`).
    pub fn to_attest(&self) -> Result<vouch_attest::verify::Identity, String> {
        use vouch_attest::verify::Matcher;
        let matcher = |exact: &Option<String>, re: &Option<String>, what: &str| match (exact, re) {
            (Some(e), _) => Ok(Matcher::Exact(e.clone())),
            (None, Some(r)) => Matcher::regex(r).map_err(|e| e.to_string()),
            (None, None) => Err(format!("an identity has no {what}")),
        };
        Ok(vouch_attest::verify::Identity {
            subject: matcher(&self.subject, &self.subject_regexp, "subject")?,
            issuer: matcher(&self.issuer, &self.issuer_regexp, "issuer")?,
        })
    }
}

/// A required attestation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationPolicy {
    /// cosign-style name (`slsaprovenance`, `cyclonedx`, `spdxjson`, `openvex`, `vuln`) or a
    /// predicate-type URI.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// Provenance only: allowed `runDetails.builder.id` values (globs).
    #[serde(default)]
    pub builder_ids: Vec<String>,
    /// Provenance only: allowed source repositories (globs over the resolved dependency URI).
    #[serde(default)]
    pub source_repos: Vec<String>,
    /// Provenance only: allowed git refs (globs, e.g. `refs/heads/main`, `refs/tags/v*`).
    #[serde(default)]
    pub refs: Vec<String>,
}

/// The vulnerability condition on the attached SBOM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityPolicy {
    /// Highest severity allowed; a finding above it denies.
    pub max_severity: Severity,
    /// The vulnerability database (`vouch db build`).
    pub db: Option<String>,
    /// Accept an attested SBOM that lists no components (an intentionally empty release);
    /// without it such an SBOM is refused: "no known vulnerabilities" in nothing is no
    /// evidence.
    #[serde(default)]
    pub allow_empty: bool,
}

/// Limits on break-glass approvals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassPolicy {
    /// Who may approve (ids as given to `--approver`); empty = anyone.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Longest allowed `--ttl`, e.g. `4h` (default 24h).
    pub max_ttl: Option<String>,
    /// The log file (default `.vouch/break-glass.log`).
    pub log: Option<String>,
}

/// `true` when `predicate_type` satisfies the policy type `kind` (a cosign-style name such as
/// `slsaprovenance`, which accepts SLSA v1 and v0.2, or a predicate-type URI).
pub fn type_matches(kind: &str, predicate_type: &str) -> bool {
    match vouch_attest::statement::PredicateType::resolve(kind) {
        Ok(t) => t.accepts(predicate_type),
        Err(_) => kind == predicate_type,
    }
}

pub(crate) fn line<T>(s: &Spanned<T>) -> Option<u32> {
    s.span().start().and_then(|m| u32::try_from(m.line()).ok())
}

impl GatePolicy {
    /// Parses a policy; `path` is used for errors and as the base for relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<GatePolicy, InputError> {
        if text.trim().is_empty() {
            return Err(
                InputError::in_file(path, "empty gate policy").with_hint("see docs/deploy-gate.md")
            );
        }
        let mut policy: GatePolicy = vouch_core::yaml::from_yaml(path, text)
            .map_err(|e| e.or_hint("see docs/deploy-gate.md for the policy keys"))?;
        policy.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        policy.validate(path)?;
        Ok(policy)
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<GatePolicy, InputError> {
        let text = vouch_core::fs::read_regular_to_string(path, vouch_core::fs::MAX_INPUT_LEN)?;
        GatePolicy::parse(path, &text)
    }

    fn validate(&self, path: &Path) -> Result<(), InputError> {
        if self.signatures.is_none()
            && self.attestations.is_empty()
            && self.vulnerabilities.is_none()
            && self.freeze.is_empty()
        {
            return Err(InputError::in_file(path, "the policy requires nothing")
                .with_hint("add `signatures:`, `attestations:`, `vulnerabilities:` or `freeze:`"));
        }
        if let Some(s) = &self.signatures {
            match (&s.trusted_root, s.identities.is_empty()) {
                (None, false) => {
                    return Err(InputError::in_file(
                        path,
                        "`signatures.identities` needs a `signatures.trusted_root` to verify certificates against",
                    )
                    .with_hint("add `trusted_root: trusted_root.json` (a Sigstore trusted root, e.g. from `cosign trusted-root create` or your Sigstore deployment)"));
                }
                (Some(r), true) => {
                    return Err(InputError::at(
                        path,
                        line(r).unwrap_or(0),
                        None,
                        "`signatures.trusted_root` is given but no `identities` say whom it should trust",
                    )
                    .with_hint("add `identities: [{issuer: ..., subject: ...}]`"));
                }
                (Some(r), false) if !self.resolve(r.as_str()).is_file() => {
                    return Err(InputError::at(
                        path,
                        line(r).unwrap_or(0),
                        None,
                        format!("trusted root `{}` not found", r.as_str()),
                    )
                    .with_hint("paths are relative to the policy file"));
                }
                _ => {}
            }
            if s.keys.is_empty() && s.identities.is_empty() {
                return Err(InputError::in_file(
                    path,
                    "`signatures` names no trusted key or identity",
                )
                .with_hint("add `keys: [release.pub]` or `identities:`"));
            }
            if s.threshold == Some(0) {
                return Err(InputError::in_file(
                    path,
                    "`signatures.threshold` must be at least 1",
                ));
            }
            for k in &s.keys {
                let full = self.resolve(k.as_str());
                if !full.is_file() {
                    return Err(InputError::at(
                        path,
                        line(k).unwrap_or(0),
                        None,
                        format!("trusted key `{}` not found", k.as_str()),
                    )
                    .with_hint("paths are relative to the policy file"));
                }
            }
            if let Some(t) = &s.transparency_log
                && !self.resolve(t.trusted_root.as_str()).is_file()
            {
                return Err(InputError::at(
                    path,
                    line(&t.trusted_root).unwrap_or(0),
                    None,
                    format!("trusted root `{}` not found", t.trusted_root.as_str()),
                )
                .with_hint(
                    "paths are relative to the policy file; `vouch log trusted-root` writes one",
                ));
            }
            for id in &s.identities {
                if id.issuer.is_none() && id.issuer_regexp.is_none()
                    || id.subject.is_none() && id.subject_regexp.is_none()
                {
                    return Err(InputError::in_file(
                        path,
                        "an identity needs an issuer (or issuer_regexp) and a subject (or subject_regexp)",
                    ));
                }
                if id.issuer.is_some() && id.issuer_regexp.is_some()
                    || id.subject.is_some() && id.subject_regexp.is_some()
                {
                    return Err(InputError::in_file(
                        path,
                        "an identity takes `issuer` or `issuer_regexp` (and `subject` or `subject_regexp`), not both",
                    ));
                }
                for re in [&id.issuer_regexp, &id.subject_regexp]
                    .into_iter()
                    .flatten()
                {
                    regex::Regex::new(re).map_err(|e| {
                        InputError::in_file(path, format!("bad regexp `{re}`: {e}"))
                    })?;
                }
            }
        }
        for a in &self.attestations {
            if a.kind.trim().is_empty() {
                return Err(InputError::at(
                    path,
                    line(&a.kind).unwrap_or(0),
                    None,
                    "attestation `type` is empty",
                ));
            }
            for g in a.builder_ids.iter().chain(&a.source_repos).chain(&a.refs) {
                globset::Glob::new(g)
                    .map_err(|e| InputError::in_file(path, format!("bad pattern `{g}`: {e}")))?;
            }
        }
        for w in &self.freeze {
            w.validate(path)?;
        }
        if let Some(bg) = &self.break_glass
            && let Some(ttl) = &bg.max_ttl
        {
            crate::breakglass::parse_ttl(ttl)
                .map_err(|e| InputError::in_file(path, format!("break_glass.max_ttl: {e}")))?;
        }
        Ok(())
    }

    /// Resolves a policy-relative path.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// Signatures required (threshold), 0 when the policy has no `signatures`.
    pub fn threshold(&self) -> u32 {
        self.signatures
            .as_ref()
            .map(|s| s.threshold.unwrap_or(1))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(dir: &Path, text: &str) -> Result<GatePolicy, InputError> {
        GatePolicy::parse(&dir.join("gate.yaml"), text)
    }

    #[test]
    fn minimal_policy_from_the_issue() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("release.pub"), "pem").unwrap();
        let p = parse_in(d.path(), "signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\n").unwrap();
        assert_eq!(p.threshold(), 1);
        assert_eq!(p.resolve("release.pub"), d.path().join("release.pub"));
        assert!(type_matches(
            "slsaprovenance",
            "https://slsa.dev/provenance/v0.2"
        ));
        assert!(type_matches(
            "slsaprovenance",
            "https://slsa.dev/provenance/v1"
        ));
        assert!(!type_matches("cyclonedx", "https://slsa.dev/provenance/v1"));
    }

    #[test]
    fn misspelled_keys_and_missing_files_are_errors_with_lines() {
        let d = tempfile::tempdir().unwrap();
        let e = parse_in(d.path(), "signatures:\n  keyz: [release.pub]\n").unwrap_err();
        assert!(e.message.contains("keyz"), "{e}");
        assert_eq!(e.line, Some(2));
        let e = parse_in(d.path(), "signatures:\n  keys:\n    - missing.pub\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(parse_in(d.path(), "environment: prod\n").is_err());
        assert!(parse_in(d.path(), "").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_policies_never_panic(text in "[a-z_:\\[\\] \\-\n0-9]{0,120}") {
            let _ = GatePolicy::parse(Path::new("gate.yaml"), &text);
        }
    }
}
