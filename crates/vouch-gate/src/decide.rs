//! `decide`: the whole deploy gate as one call — the subject (an OCI layout `DIR[:REF]`, a
//! `sha256:` digest or a file), the release directories, the policy's trust material, the
//! attested SBOM's vulnerabilities, break-glass recording, exceptions and the evaluation.
//!
//! Everything the process environment decides (the clock, how key references are read, the
//! `[vuln]` settings) comes in through [`GateRequest`]; nothing is printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use vouch_attest::trusted_root::TrustedRoot;
use vouch_core::InputError;
use vouch_core::exceptions::ExceptionSet;
use vouch_crypto::keys::PublicKey;
use vouch_vuln::freshness::MaxAge;

use crate::breakglass::{self, Entry};
use crate::decision::Decision;
use crate::evaluate::{Context, Evidence};
use crate::evidence::{self, Found, Subject, Trust, TrustedIdentities, TrustedKey, TrustedLogs};
use crate::policy::{GatePolicy, VulnerabilityPolicy};
use crate::{oci, release};

/// Reads the policy's public keys (paths already resolved against the policy's directory, or
/// `env://`, `pkcs11:` references). `Err` is usage (a key file that does not exist); `Ok(Err)`
/// is trust material that exists but cannot be used, which denies.
pub type KeyLoader<'a> =
    dyn Fn(&[String]) -> Result<Result<Vec<PublicKey>, String>, InputError> + 'a;

/// The `[vuln]` settings the database is judged by, read only when the gate scans an attested
/// SBOM against a database.
pub type VulnLoader<'a> = dyn Fn() -> Result<VulnSettings, InputError> + 'a;

/// How the vulnerability database's age is judged.
#[derive(Debug, Clone, Copy)]
pub struct VulnSettings {
    /// `[vuln] max_db_age`.
    pub max_db_age: MaxAge,
    /// "Now" for the database's age.
    pub now: Timestamp,
}

/// A break-glass approval to record before deciding.
#[derive(Debug, Clone, Copy)]
pub struct BreakGlassRequest<'a> {
    pub reason: &'a str,
    pub approver: &'a str,
    /// How long it lasts, as given (`2h`, `30m`).
    pub ttl: &'a str,
}

/// What the gate is asked.
pub struct GateRequest<'a> {
    /// A file, a `sha256:…` digest, or an OCI image layout `DIR[:REF]`.
    pub subject: &'a str,
    /// The subject's name in the decision when `subject` is not what the user named (a
    /// registry image the CLI pulled into a temporary layout: its pinned reference).
    pub subject_name: Option<&'a str>,
    /// The gate policy (YAML).
    pub policy_path: &'a Path,
    /// The environment deployed to; `None` takes the policy's `environment`.
    pub environment: Option<&'a str>,
    /// Release directories holding `release.json`; empty = next to the subject, `./`, `./*/`.
    pub releases: &'a [PathBuf],
    pub break_glass: Option<BreakGlassRequest<'a>>,
    /// For freeze windows and break-glass expiry.
    pub now: Timestamp,
    /// For exception expiry.
    pub today: jiff::civil::Date,
    /// Where exceptions are discovered.
    pub exceptions_root: &'a Path,
    pub vuln: &'a VulnLoader<'a>,
    pub keys: &'a KeyLoader<'a>,
}

/// A break-glass approval `decide` wrote to the log.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub entry: Entry,
    /// The log it was appended to.
    pub log: PathBuf,
}

/// The gate's answer.
#[derive(Debug)]
pub enum GateOutcome {
    /// The policy was evaluated.
    Decided {
        decision: Decision,
        /// The approval recorded for this call, if one was requested.
        break_glass: Option<Box<Recorded>>,
    },
    /// The policy's trust material (a key or trusted root) exists but cannot be used: a failed
    /// verification, so deny.
    TrustUnusable { reason: String },
}

impl GateOutcome {
    /// 0 allow, 1 deny.
    pub fn exit_code(&self) -> u8 {
        match self {
            GateOutcome::Decided { decision, .. } => decision.exit_code(),
            GateOutcome::TrustUnusable { .. } => 1,
        }
    }
}

/// Bad input. When a break-glass approval had already been recorded, it is reported too: the
/// log changed even though no decision was made.
#[derive(Debug)]
pub struct GateError {
    pub error: InputError,
    pub break_glass: Option<Box<Recorded>>,
}

impl From<InputError> for GateError {
    fn from(error: InputError) -> Self {
        GateError {
            error,
            break_glass: None,
        }
    }
}

impl std::fmt::Display for GateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for GateError {}

/// Decides whether `req.subject` may be deployed under `req.policy_path`.
pub fn decide(req: &GateRequest<'_>) -> Result<GateOutcome, GateError> {
    let policy = GatePolicy::load(req.policy_path)?;
    let environment = req
        .environment
        .map(str::to_string)
        .or_else(|| policy.environment.clone());
    let (mut subject, found) = resolve_subject(req.subject, req.releases)?;
    if let Some(name) = req.subject_name {
        subject.name = name.to_string();
    }
    let digest = format!("sha256:{}", subject.sha256);

    let trust = match trust(&policy, req.policy_path, req.keys)? {
        Ok(t) => t,
        Err(reason) => return Ok(GateOutcome::TrustUnusable { reason }),
    };
    let mut evidence = evidence::verify(&subject, &found, &trust);
    if let Some(v) = &policy.vulnerabilities {
        attested_sbom_vulnerabilities(&policy, v, &mut evidence, req.vuln)?;
    }

    let log_path = policy
        .break_glass
        .as_ref()
        .and_then(|b| b.log.as_deref())
        .map(|l| policy.resolve(l))
        .unwrap_or_else(|| PathBuf::from(breakglass::DEFAULT_LOG));
    let recorded = match &req.break_glass {
        Some(bg) => Some(Box::new(record_break_glass(
            &policy,
            bg,
            &log_path,
            &digest,
            environment.as_deref(),
            req.now,
        )?)),
        None => None,
    };
    let with_recorded = |error: InputError| GateError {
        error,
        break_glass: recorded.clone(),
    };
    let entries = breakglass::read(&log_path)
        .map_err(|e| {
            InputError::in_file(
                &log_path,
                format!("the break-glass log does not verify: {e}"),
            )
        })
        .map_err(with_recorded)?;
    let exceptions = ExceptionSet::discover(req.exceptions_root).map_err(with_recorded)?;
    let ctx = Context {
        subject: &subject.name,
        digest: &digest,
        environment: environment.as_deref(),
        now: req.now,
        break_glass: &entries,
        exceptions: &exceptions,
        today: req.today,
    };
    Ok(GateOutcome::Decided {
        decision: crate::evaluate(&policy, &evidence, &ctx),
        break_glass: recorded,
    })
}

/// The subject and the evidence files found for it: an OCI image layout (optionally
/// `DIR:REF`), a `sha256:` digest, or a file, with evidence from `releases` (or the release
/// directories searched next to the file, `./` and `./*/`).
pub fn resolve_subject(
    subject: &str,
    releases: &[PathBuf],
) -> Result<(Subject, Found), InputError> {
    let (layout_dir, layout_ref) = match subject.rsplit_once(':') {
        Some((d, r)) if oci::is_layout(Path::new(d)) => (Some(PathBuf::from(d)), Some(r)),
        _ if oci::is_layout(Path::new(subject)) => (Some(PathBuf::from(subject)), None),
        _ => (None, None),
    };
    if let Some(dir) = layout_dir {
        return oci::load(&dir, layout_ref);
    }
    let resolved = if let Some(hex) = subject.strip_prefix("sha256:") {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InputError::new(format!(
                "`{subject}` is not a sha256 digest"
            )));
        }
        Subject {
            name: subject.to_string(),
            file_name: None,
            sha256: hex.to_ascii_lowercase(),
            path: None,
        }
    } else {
        let path = PathBuf::from(subject);
        if !path.is_file() {
            return Err(InputError::in_file(&path, "no such file").with_hint(
                "the subject is a file, a sha256:… digest or an OCI image layout directory",
            ));
        }
        let sha256 = sha256_file(&path)?;
        Subject {
            name: subject.to_string(),
            file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            sha256,
            path: Some(path),
        }
    };
    let release_dirs = if releases.is_empty() {
        release::search(resolved.path.as_deref().and_then(Path::parent))
    } else {
        releases.to_vec()
    };
    let loaded = release_dirs
        .iter()
        .map(|d| release::load(d))
        .collect::<Result<Vec<_>, _>>()?;
    let found = evidence::discover(&resolved, &loaded);
    Ok((resolved, found))
}

/// Lowercase hex SHA-256 of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, InputError> {
    digest_file(path, vouch_core::digest::DigestAlgorithm::Sha256)
}

pub(crate) fn digest_file(
    path: &Path,
    algorithm: vouch_core::digest::DigestAlgorithm,
) -> Result<String, InputError> {
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    vouch_core::Digest::of_reader(algorithm, std::io::BufReader::new(file))
        .map(|d| d.hex())
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))
}

/// The keys and keyless identities whose signatures the policy trusts; `Ok(Err)` when a key or
/// trusted root exists but cannot be used (deny), `Err` when one is missing (usage).
pub fn trust(
    policy: &GatePolicy,
    policy_path: &Path,
    keys: &KeyLoader<'_>,
) -> Result<Result<Trust, String>, InputError> {
    let mut trust = Trust::default();
    let Some(sig) = &policy.signatures else {
        return Ok(Ok(trust));
    };
    let refs: Vec<String> = sig
        .keys
        .iter()
        .map(|k| policy.resolve(k.as_str()).display().to_string())
        .collect();
    let loaded = match keys(&refs)? {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    for (r, pk) in sig.keys.iter().zip(loaded) {
        trust.keys.push(TrustedKey {
            name: r.as_str().to_string(),
            key: pk,
        });
    }
    if let Some(t) = &sig.transparency_log {
        let path = policy.resolve(t.trusted_root.as_str());
        let bytes = read_trusted_root(&path)?;
        let root = match TrustedRoot::for_logs(&bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Err(not_a_root(&path, e))),
        };
        trust.logs = Some(TrustedLogs {
            root: Arc::new(root),
            required: t.required.unwrap_or(true),
        });
    }
    if let Some(root) = &sig.trusted_root {
        let path = policy.resolve(root.as_str());
        let bytes = read_trusted_root(&path)?;
        let root = match TrustedRoot::from_json(&bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Err(not_a_root(&path, e))),
        };
        let identities = sig
            .identities
            .iter()
            .map(|i| i.to_attest())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| InputError::in_file(policy_path, e))?;
        trust.keyless = Some(TrustedIdentities {
            root: Arc::new(root),
            identities,
        });
    }
    Ok(Ok(trust))
}

fn read_trusted_root(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read the trusted root: {e}")))
}

fn not_a_root(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: not a Sigstore trusted root: {e}", path.display())
}

/// Checks the approver and ttl against the policy's `break_glass` limits and appends the
/// approval to the log.
fn record_break_glass(
    policy: &GatePolicy,
    bg: &BreakGlassRequest<'_>,
    log_path: &Path,
    digest: &str,
    environment: Option<&str>,
    now: Timestamp,
) -> Result<Recorded, InputError> {
    let ttl = breakglass::parse_ttl(bg.ttl).map_err(|e| InputError::new(format!("--ttl: {e}")))?;
    if let Some(limits) = &policy.break_glass {
        if !limits.approvers.is_empty() && !limits.approvers.iter().any(|x| x == bg.approver) {
            return Err(InputError::new(format!(
                "`{}` may not approve break-glass under this policy",
                bg.approver
            ))
            .with_hint(format!("approvers: {}", limits.approvers.join(", "))));
        }
        let max = limits
            .max_ttl
            .as_deref()
            .map(breakglass::parse_ttl)
            .transpose()
            .map_err(|e| InputError::new(format!("break_glass.max_ttl: {e}")))?
            .unwrap_or(86_400);
        if ttl > max {
            return Err(InputError::new(format!(
                "--ttl {} exceeds the policy's max_ttl",
                bg.ttl
            )));
        }
    }
    let entry = breakglass::append(
        log_path,
        &breakglass::Approval {
            approver: bg.approver,
            reason: bg.reason,
            subject: digest,
            environment,
            ttl_seconds: ttl,
            now,
        },
    )?;
    Ok(Recorded {
        entry,
        log: log_path.to_path_buf(),
    })
}

/// The highest-severity vulnerability in the SBOM attested for the subject (a verified
/// CycloneDX or SPDX attestation about it), checked against the policy's database, with the
/// database's age judged against `max_db_age`. `max_vulnerability` stays `None` when there is
/// no such SBOM or no database, so the requirement says it cannot judge. An attested SBOM that
/// lists no components is refused unless the policy says `allow_empty: true`.
fn attested_sbom_vulnerabilities(
    policy: &GatePolicy,
    v: &VulnerabilityPolicy,
    evidence: &mut Evidence,
    settings: &VulnLoader<'_>,
) -> Result<(), InputError> {
    let sbom = evidence.attestations.iter().find(|a| {
        a.result.is_ok()
            && a.subject_matches
            && (a.predicate_type == "https://cyclonedx.org/bom"
                || a.predicate_type.starts_with("https://spdx.dev/Document"))
    });
    let Some(sbom) = sbom else { return Ok(()) };
    let db_path = match &v.db {
        Some(p) => policy.resolve(p),
        None => PathBuf::from(".vouch/osv.db"),
    };
    if !db_path.is_file() {
        return Ok(());
    }
    let mut db = vouch_vuln::db::Database::open(&db_path).map_err(|e| {
        InputError::in_file(&db_path, e.to_string()).with_hint("rebuild with vouch db build")
    })?;
    let text = serde_json::to_string(&sbom.predicate)
        .map_err(|e| InputError::in_file(&sbom.source, e.to_string()))?;
    let packages = vouch_vuln::sbom::read(Path::new(&sbom.source), &sbom.source, &text)?;
    if packages.packages.is_empty() && packages.without_purl == 0 && !v.allow_empty {
        return Err(InputError::in_file(
            &sbom.source,
            format!(
                "no package sources found under {}: the attested SBOM lists no components",
                sbom.source
            ),
        )
        .with_hint("release from the project root, or set `allow_empty: true` under `vulnerabilities:` for an intentionally empty SBOM"));
    }
    let result = vouch_vuln::scan::scan(&mut db, &packages.packages)
        .map_err(|e| InputError::in_file(&db_path, e.to_string()))?;
    let settings = settings()?;
    let age = vouch_vuln::freshness::age(&db, settings.now)
        .map_err(|e| InputError::in_file(&db_path, e.to_string()))?;
    let shown = db_path.display().to_string();
    evidence.vulnerability_db_age = Some(age.describe(&shown));
    evidence.vulnerability_db_problem = age.judge(&shown, settings.max_db_age).map(|f| f.message);
    evidence.max_vulnerability = Some(
        result
            .findings
            .iter()
            .filter(|f| f.is_active())
            .max_by_key(|f| f.severity)
            .map(|f| (f.severity, f.rule.trim_start_matches("vuln/").to_string())),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};

    use super::*;

    const POLICY: &str = "signatures:\n  keys: [release.pub]\n  threshold: 1\nattestations:\n  - type: slsaprovenance\nbreak_glass:\n  approvers: [alice]\n  max_ttl: 4h\n  log: break-glass.log\n";

    /// A directory with `dist/app` released (signed bundle, provenance, release.json) into
    /// `rel` by a fresh key whose public half is `release.pub`, and `gate.yaml`.
    fn released() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("dist")).unwrap();
        fs::write(d.path().join("dist/app"), "binary one\n").unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        fs::write(d.path().join("release.pub"), key.public_key().to_pem()).unwrap();
        let env = |_: &str| None;
        let predicate =
            crate::provenance::predicate(&env, &crate::provenance::Overrides::default(), None);
        release::write(&release::ReleaseInput {
            artifacts: &[d.path().join("dist/app")],
            out_dir: &d.path().join("rel"),
            replace: false,
            signer: &key,
            provenance: predicate,
            sbom: None,
            log: None,
        })
        .unwrap();
        fs::write(d.path().join("gate.yaml"), POLICY).unwrap();
        d
    }

    /// Reads PEM public keys as the binary does: a missing file is usage, one that does not
    /// parse is unusable trust material.
    fn pem_keys(refs: &[String]) -> Result<Result<Vec<PublicKey>, String>, InputError> {
        let mut keys = Vec::new();
        for r in refs {
            let text = fs::read_to_string(r)
                .map_err(|_| InputError::in_file(r, "cannot read: no such file"))?;
            match PublicKey::from_pem(&text) {
                Ok(k) => keys.push(k),
                Err(e) => return Ok(Err(format!("{r}: {e}"))),
            }
        }
        Ok(Ok(keys))
    }

    fn no_vuln() -> Result<VulnSettings, InputError> {
        Ok(VulnSettings {
            max_db_age: MaxAge::default(),
            now: "2026-11-24T12:00:00Z".parse().unwrap(),
        })
    }

    fn decide_in(
        d: &Path,
        break_glass: Option<BreakGlassRequest<'_>>,
    ) -> Result<GateOutcome, GateError> {
        let subject = d.join("dist/app").display().to_string();
        let policy = d.join("gate.yaml");
        let releases = [d.join("rel")];
        decide(&GateRequest {
            subject_name: None,
            subject: &subject,
            policy_path: &policy,
            environment: Some("prod"),
            releases: &releases,
            break_glass,
            now: "2026-11-24T12:00:00Z".parse().unwrap(),
            today: "2026-11-24".parse().unwrap(),
            exceptions_root: d,
            vuln: &no_vuln,
            keys: &pem_keys,
        })
    }

    fn decision(outcome: GateOutcome) -> (Decision, Option<Box<Recorded>>) {
        match outcome {
            GateOutcome::Decided {
                decision,
                break_glass,
            } => (decision, break_glass),
            GateOutcome::TrustUnusable { reason } => panic!("trust unusable: {reason}"),
        }
    }

    #[test]
    fn signed_release_is_allowed() {
        let d = released();
        let (decision, recorded) = decision(decide_in(d.path(), None).unwrap());
        assert_eq!(decision.exit_code(), 0, "{}", decision.to_text());
        assert!(recorded.is_none());
        assert!(decision.to_text().starts_with("ALLOW: "));
    }

    #[test]
    fn untrusted_key_is_denied() {
        let d = released();
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        fs::write(d.path().join("release.pub"), other.public_key().to_pem()).unwrap();
        let (decision, _) = decision(decide_in(d.path(), None).unwrap());
        assert_eq!(decision.exit_code(), 1);
        assert!(
            decision.to_text().contains("signature by untrusted key"),
            "{}",
            decision.to_text()
        );
    }

    #[test]
    fn tampered_artifact_is_denied() {
        let d = released();
        fs::write(d.path().join("dist/app"), "binary two\n").unwrap();
        let (decision, _) = decision(decide_in(d.path(), None).unwrap());
        assert_eq!(decision.exit_code(), 1, "{}", decision.to_text());
    }

    #[test]
    fn unusable_key_denies() {
        let d = released();
        fs::write(d.path().join("release.pub"), "not a key\n").unwrap();
        let outcome = decide_in(d.path(), None).unwrap();
        assert_eq!(outcome.exit_code(), 1);
        assert!(matches!(outcome, GateOutcome::TrustUnusable { .. }));
    }

    #[test]
    fn unusable_trusted_root_denies() {
        let d = released();
        fs::write(d.path().join("root.json"), "{}").unwrap();
        fs::write(
            d.path().join("gate.yaml"),
            "signatures:\n  keys: [release.pub]\n  transparency_log:\n    trusted_root: root.json\n",
        )
        .unwrap();
        match decide_in(d.path(), None).unwrap() {
            GateOutcome::TrustUnusable { reason } => {
                assert!(reason.contains("not a Sigstore trusted root"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_key_file_is_input_error() {
        let d = released();
        fs::remove_file(d.path().join("release.pub")).unwrap();
        let e = decide_in(d.path(), None).unwrap_err();
        assert!(e.error.to_string().contains("release.pub"), "{e}");
        assert!(e.break_glass.is_none());
    }

    #[test]
    fn bad_digest_is_input_error() {
        let d = released();
        let policy = d.path().join("gate.yaml");
        let e = decide(&GateRequest {
            subject_name: None,
            subject: "sha256:abc",
            policy_path: &policy,
            environment: None,
            releases: &[],
            break_glass: None,
            now: "2026-11-24T12:00:00Z".parse().unwrap(),
            today: "2026-11-24".parse().unwrap(),
            exceptions_root: d.path(),
            vuln: &no_vuln,
            keys: &pem_keys,
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "`sha256:abc` is not a sha256 digest");
    }

    #[test]
    fn break_glass_is_recorded() {
        let d = released();
        let bg = BreakGlassRequest {
            reason: "hotfix",
            approver: "alice",
            ttl: "2h",
        };
        let (decision, recorded) = decision(decide_in(d.path(), Some(bg)).unwrap());
        assert_eq!(decision.exit_code(), 0);
        let recorded = recorded.unwrap();
        assert_eq!(recorded.entry.seq, 1);
        assert_eq!(recorded.entry.approver, "alice");
        assert_eq!(recorded.log, d.path().join("break-glass.log"));
        assert_eq!(breakglass::read(&recorded.log).unwrap().len(), 1);
    }

    #[test]
    fn break_glass_approver_must_be_allowed() {
        let d = released();
        let bg = BreakGlassRequest {
            reason: "hotfix",
            approver: "mallory",
            ttl: "2h",
        };
        let e = decide_in(d.path(), Some(bg)).unwrap_err();
        assert!(
            e.to_string()
                .contains("`mallory` may not approve break-glass under this policy"),
            "{e}"
        );
        assert!(!d.path().join("break-glass.log").exists());
    }

    #[test]
    fn break_glass_ttl_over_max_ttl() {
        let d = released();
        let bg = BreakGlassRequest {
            reason: "hotfix",
            approver: "alice",
            ttl: "5h",
        };
        let e = decide_in(d.path(), Some(bg)).unwrap_err();
        assert_eq!(e.to_string(), "--ttl 5h exceeds the policy's max_ttl");
        assert!(!d.path().join("break-glass.log").exists());
    }
}
