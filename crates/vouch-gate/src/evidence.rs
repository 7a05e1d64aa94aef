//! Finds and verifies the evidence for a subject: blob bundles and attestations next to the
//! artifact (`FILE.sigstore.json`, `FILE.bundle`, `FILE.*.intoto.jsonl`, `FILE.*.sigstore.json`)
//! and in release manifests (`release.json`).
//!
//! Every bundle is verified against the policy's trusted keys and, for certificate-signed
//! (keyless) bundles, its trusted identities under its trusted root; the result says whether
//! it was made by a trusted signer, by some other key or identity, or does not verify, so the
//! decision can name the difference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vouch_attest::bundle::{Bundle, Content};
use vouch_attest::trusted_root::TrustedRoot;
use vouch_attest::verify::{
    CertificateSigner, Evidence as Signed, Identity, Outcome as Verdict, Policy, SubjectDigest,
    Verifier,
};
use vouch_crypto::keys::PublicKey;

use crate::evaluate::{AttestationEvidence, Evidence, SignatureEvidence, SignatureProblem};
use crate::release::Loaded;

/// The thing being gated.
#[derive(Debug, Clone)]
pub struct Subject {
    /// As the user named it.
    pub name: String,
    /// File name used to match release manifests (`None` for a bare digest).
    pub file_name: Option<String>,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// The file, when the subject is one (blob signatures are verified against it).
    pub path: Option<PathBuf>,
}

/// A trusted key with the name the policy gave it (its file name).
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub name: String,
    pub key: PublicKey,
}

/// Keyless trust: certificates must chain to `root`, be logged in one of its transparency
/// logs, and name one of `identities`.
#[derive(Debug, Clone)]
pub struct TrustedIdentities {
    pub root: Arc<TrustedRoot>,
    pub identities: Vec<Identity>,
}

/// The transparency logs key-signed evidence is checked against.
#[derive(Debug, Clone)]
pub struct TrustedLogs {
    pub root: Arc<TrustedRoot>,
    /// Evidence without a log entry is refused.
    pub required: bool,
}

/// Everyone whose signature counts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub keys: Vec<TrustedKey>,
    pub keyless: Option<TrustedIdentities>,
    pub logs: Option<TrustedLogs>,
}

impl Trust {
    /// One `vouch-attest` policy trusting every key and identity.
    fn policy(&self) -> Policy {
        let keys = self.keys.iter().map(|k| k.key.clone()).collect();
        match (&self.keyless, &self.logs) {
            (Some(k), Some(l)) => {
                // One policy has one root: the keyless root, also naming the logs key-signed
                // evidence is logged in.
                let mut root = (*k.root).clone();
                root.tlogs.extend(l.root.tlogs.iter().cloned());
                let p = Policy::keys(keys).with_keyless(Arc::new(root), k.identities.clone());
                if l.required { p.requiring_tlog() } else { p }
            }
            (Some(k), None) => {
                Policy::keys(keys).with_keyless(k.root.clone(), k.identities.clone())
            }
            (None, _) => self.with_logs(Policy::keys(keys)),
        }
    }

    /// Adds the transparency-log checks to a key policy.
    fn with_logs(&self, policy: Policy) -> Policy {
        match &self.logs {
            Some(l) if l.required => policy.with_tlog_root(l.root.clone()).requiring_tlog(),
            Some(l) => policy.with_tlog_root(l.root.clone()),
            None => policy,
        }
    }
}

/// How a verified certificate signer is named in decisions: `subject (issuer)`.
fn identity_name(c: &CertificateSigner) -> String {
    format!("{} ({})", c.subject, c.issuer)
}

/// Whether the bundle is signed with a certificate (keyless) rather than a key hint.
fn is_certificate_signed(b: &Bundle) -> bool {
    let vm = &b.verification_material;
    vm.public_key.is_none() && (vm.certificate.is_some() || vm.x509_certificate_chain.is_some())
}

/// Sorts a failed keyless verdict into "untrusted signer" (a certificate the policy does not
/// trust) and "does not verify" (the signature, log entry or artifact is wrong).
fn keyless_problem(v: &Verdict) -> SignatureProblem {
    match v {
        Verdict::IdentityMismatch { .. } | Verdict::UntrustedCertificate { .. } => {
            SignatureProblem::UntrustedSigner(v.message())
        }
        _ => SignatureProblem::DoesNotVerify(v.message()),
    }
}

const NO_KEYLESS_TRUST: &str = "signed with a certificate (keyless), and the policy names no `identities` with a `trusted_root`";

/// Bundle files found for the subject.
#[derive(Debug, Default)]
pub struct Found {
    pub signatures: Vec<PathBuf>,
    pub attestations: Vec<PathBuf>,
}

/// Looks for evidence next to the artifact and in the given release directories.
pub fn discover(subject: &Subject, releases: &[Loaded]) -> Found {
    let mut sigs = BTreeSet::new();
    let mut atts = BTreeSet::new();
    if let (Some(path), Some(name)) = (&subject.path, &subject.file_name) {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for ext in ["sigstore.json", "bundle", "sigstore"] {
            let p = dir.join(format!("{name}.{ext}"));
            if p.is_file() {
                sigs.insert(p);
            }
        }
        if let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        }) {
            for e in entries.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                let Some(rest) = f.strip_prefix(&format!("{name}.")) else {
                    continue;
                };
                if rest.ends_with(".intoto.jsonl")
                    || (rest.ends_with(".sigstore.json") && rest != "sigstore.json")
                {
                    atts.insert(e.path());
                }
            }
        }
    }
    for r in releases {
        for a in &r.manifest.artifacts {
            let same_digest = a.sha256 == subject.sha256;
            let same_name = subject.file_name.as_deref() == Some(a.name.as_str());
            if (same_digest || same_name)
                && let Some(p) = r.resolve(&a.signature)
            {
                sigs.insert(p);
            }
        }
        // Attestations cover all artifacts of a release; their subjects are checked later.
        if r.manifest.artifacts.iter().any(|a| {
            a.sha256 == subject.sha256 || subject.file_name.as_deref() == Some(a.name.as_str())
        }) {
            for att in &r.manifest.attestations {
                if let Some(p) = r.resolve(&att.bundle) {
                    atts.insert(p);
                }
            }
        }
    }
    Found {
        signatures: sigs.into_iter().collect(),
        attestations: atts.into_iter().collect(),
    }
}

fn trusted_by_hint<'a>(keys: &'a [TrustedKey], hint: Option<&str>) -> Option<&'a TrustedKey> {
    hint.and_then(|h| keys.iter().find(|k| k.key.hint() == h))
}

fn read_signed(path: &Path) -> Result<Signed, SignatureProblem> {
    let bytes = vouch_core::fs::read_regular(path, vouch_core::fs::MAX_INPUT_LEN)
        .map_err(|e| SignatureProblem::Malformed(e.to_string()))?;
    // `.intoto.jsonl` files hold one JSON document per line; take the first.
    let first = if path.to_string_lossy().ends_with(".jsonl") {
        bytes
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap_or(&bytes)
            .to_vec()
    } else {
        bytes
    };
    Signed::from_json(&first).map_err(|e| SignatureProblem::Malformed(e.to_string()))
}

fn hint_of(s: &Signed) -> Option<String> {
    match s {
        Signed::Bundle(b) => b
            .verification_material
            .public_key
            .as_ref()
            .map(|k| k.hint.clone()),
        Signed::Envelope(_) => None,
    }
}

/// The in-toto predicate type of a cosign v3 image signature (a DSSE statement about the
/// image digest), which `vouch sign IMAGE` writes.
pub const IMAGE_SIGNATURE_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// A cosign v3 image signature: a DSSE bundle whose statement, of the image-signature
/// predicate type, names the subject's digest; by a trusted key or keyless signer.
fn verify_image_signature(
    bundle: &Bundle,
    subject: &Subject,
    trust: &Trust,
) -> Result<String, SignatureProblem> {
    let Some(digest) = SubjectDigest::parse(&format!("sha256:{}", subject.sha256)) else {
        return Err(SignatureProblem::Malformed(
            "the subject has no sha256 digest".into(),
        ));
    };
    let predicate = vouch_attest::statement::PredicateType {
        uri: IMAGE_SIGNATURE_PREDICATE.to_string(),
        accepted: vec![IMAGE_SIGNATURE_PREDICATE.to_string()],
    };
    let evidence = Signed::Bundle(Box::new(bundle.clone()));
    if is_certificate_signed(bundle) {
        let Some(k) = &trust.keyless else {
            return Err(SignatureProblem::UntrustedSigner(NO_KEYLESS_TRUST.into()));
        };
        let verifier = Verifier::new(
            Policy::keyless(k.root.clone(), k.identities.clone()).with_predicate_type(predicate),
        );
        return match verifier.verify_attestation_for(&evidence, std::slice::from_ref(&digest)) {
            Ok(Verdict::Verified(v)) => Ok(v
                .certificate
                .as_deref()
                .map(identity_name)
                .unwrap_or_default()),
            Ok(Verdict::SubjectDigestMismatch { .. }) => Err(modified()),
            Ok(other) => Err(keyless_problem(&other)),
            Err(e) => Err(SignatureProblem::Malformed(e.to_string())),
        };
    }
    let mut last = String::from("no trusted key verifies it");
    for k in &trust.keys {
        let verifier = Verifier::new(
            trust
                .with_logs(Policy::keys(vec![k.key.clone()]))
                .with_predicate_type(predicate.clone()),
        );
        match verifier.verify_attestation_for(&evidence, std::slice::from_ref(&digest)) {
            Ok(Verdict::Verified(_)) => return Ok(k.name.clone()),
            Ok(Verdict::SubjectDigestMismatch { .. }) => return Err(modified()),
            Ok(other) => last = other.message(),
            Err(e) => return Err(SignatureProblem::Malformed(e.to_string())),
        }
    }
    Err(SignatureProblem::DoesNotVerify(last))
}

/// Verifies what [`discover`] found.
pub fn verify(subject: &Subject, found: &Found, trust: &Trust) -> Evidence {
    let mut evidence = Evidence::default();
    let keys = trust.keys.as_slice();
    for path in &found.signatures {
        let source = path.display().to_string();
        let result = (|| {
            let signed = read_signed(path)?;
            let Signed::Bundle(bundle) = &signed else {
                return Err(SignatureProblem::Malformed(
                    "a DSSE envelope where a blob signature was expected".into(),
                ));
            };
            if matches!(bundle.content(), Some(Content::Dsse(_))) {
                return verify_image_signature(bundle, subject, trust);
            }
            if !matches!(bundle.content(), Some(Content::Message(_))) {
                return Err(SignatureProblem::Malformed(
                    "holds an attestation, not a blob signature".into(),
                ));
            }
            let Some(file) = &subject.path else {
                return Err(SignatureProblem::DoesNotVerify(
                    "a blob signature needs the artifact itself, not only its digest".into(),
                ));
            };
            let open = || {
                vouch_core::fs::open_regular(file)
                    .map(|(f, _)| std::io::BufReader::new(f))
                    .map_err(|e| SignatureProblem::Malformed(e.to_string()))
            };
            if is_certificate_signed(bundle) {
                let Some(k) = &trust.keyless else {
                    return Err(SignatureProblem::UntrustedSigner(NO_KEYLESS_TRUST.into()));
                };
                let verifier = Verifier::new(Policy::keyless(k.root.clone(), k.identities.clone()));
                return match verifier.verify_blob(bundle, open()?) {
                    Ok(Verdict::Verified(v)) => Ok(v
                        .certificate
                        .as_deref()
                        .map(identity_name)
                        .unwrap_or_default()),
                    Ok(Verdict::SubjectDigestMismatch { .. }) => Err(modified()),
                    Ok(other) => Err(keyless_problem(&other)),
                    Err(e) => Err(SignatureProblem::Malformed(e.to_string())),
                };
            }
            let hint = hint_of(&signed);
            let candidates: Vec<&TrustedKey> = match trusted_by_hint(keys, hint.as_deref()) {
                Some(k) => vec![k],
                None if hint.is_some() => {
                    return Err(SignatureProblem::UntrustedSigner(format!(
                        "key hint {}",
                        hint.unwrap_or_default()
                    )));
                }
                None => keys.iter().collect(),
            };
            // A bundle without a key hint is tried against every trusted key.
            let mut last = String::from("no trusted key verifies it");
            for k in candidates {
                let verifier = Verifier::new(trust.with_logs(Policy::keys(vec![k.key.clone()])));
                match verifier.verify_blob(bundle, open()?) {
                    Ok(Verdict::Verified(_)) => return Ok(k.name.clone()),
                    Ok(Verdict::SubjectDigestMismatch { .. }) => return Err(modified()),
                    Ok(other) => last = other.message(),
                    Err(e) => return Err(SignatureProblem::Malformed(e.to_string())),
                }
            }
            Err(SignatureProblem::DoesNotVerify(last))
        })();
        evidence
            .signatures
            .push(SignatureEvidence { source, result });
    }
    for path in &found.attestations {
        let source = path.display().to_string();
        let signed = match read_signed(path) {
            Ok(s) => s,
            Err(p) => {
                evidence.attestations.push(AttestationEvidence {
                    source,
                    predicate_type: String::new(),
                    result: Err(p),
                    subject_matches: false,
                    predicate: serde_json::Value::Null,
                });
                continue;
            }
        };
        let keyless_bundle = matches!(&signed, Signed::Bundle(b) if is_certificate_signed(b));
        if keyless_bundle && trust.keyless.is_none() {
            evidence.attestations.push(AttestationEvidence {
                source,
                predicate_type: unverified_predicate_type(&signed).unwrap_or_default(),
                result: Err(SignatureProblem::UntrustedSigner(NO_KEYLESS_TRUST.into())),
                subject_matches: false,
                predicate: serde_json::Value::Null,
            });
            continue;
        }
        let hint = hint_of(&signed);
        if hint.is_some() && trusted_by_hint(keys, hint.as_deref()).is_none() {
            // Still read the (unverified) predicate type so the decision can say what it was.
            let predicate_type = unverified_predicate_type(&signed).unwrap_or_default();
            evidence.attestations.push(AttestationEvidence {
                source,
                predicate_type,
                result: Err(SignatureProblem::UntrustedSigner(format!(
                    "key hint {}",
                    hint.unwrap_or_default()
                ))),
                subject_matches: false,
                predicate: serde_json::Value::Null,
            });
            continue;
        }
        let verifier = Verifier::new(trust.policy());
        let att = match verifier.verify_attestation(&signed, None) {
            Ok(Verdict::Verified(v)) => {
                let signer = match v.certificate.as_deref() {
                    Some(c) => identity_name(c),
                    None => v
                        .keys
                        .first()
                        .and_then(|i| keys.get(*i))
                        .map(|k| k.name.clone())
                        .unwrap_or_default(),
                };
                let statement = v.statement;
                match statement {
                    Some(st) => AttestationEvidence {
                        source,
                        subject_matches: st.has_sha256(&subject.sha256),
                        predicate_type: st.predicate_type.clone(),
                        predicate: st.predicate.clone().unwrap_or(serde_json::Value::Null),
                        result: Ok(signer),
                    },
                    None => AttestationEvidence {
                        source,
                        predicate_type: String::new(),
                        result: Err(SignatureProblem::Malformed("no statement".into())),
                        subject_matches: false,
                        predicate: serde_json::Value::Null,
                    },
                }
            }
            Ok(other) => AttestationEvidence {
                source,
                predicate_type: unverified_predicate_type(&signed).unwrap_or_default(),
                result: Err(keyless_problem(&other)),
                subject_matches: false,
                predicate: serde_json::Value::Null,
            },
            Err(e) => AttestationEvidence {
                source,
                predicate_type: String::new(),
                result: Err(SignatureProblem::Malformed(e.to_string())),
                subject_matches: false,
                predicate: serde_json::Value::Null,
            },
        };
        evidence.attestations.push(att);
    }
    evidence
}

fn modified() -> SignatureProblem {
    SignatureProblem::DoesNotVerify(
        "the artifact's digest differs from the signed one: it was modified after signing".into(),
    )
}

/// The predicate type a statement claims, read without verifying (for messages only).
fn unverified_predicate_type(s: &Signed) -> Option<String> {
    let env = match s {
        Signed::Envelope(e) => e,
        Signed::Bundle(b) => match b.content() {
            Some(Content::Dsse(e)) => e,
            _ => return None,
        },
    };
    let v: serde_json::Value = serde_json::from_slice(&env.payload.0).ok()?;
    v.get("predicateType")
        .and_then(|t| t.as_str())
        .map(str::to_string)
}
