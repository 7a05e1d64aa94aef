//! Verification against an explicit [`Policy`], with a typed [`Outcome`].
//!
//! The outcomes are distinct on purpose: a deploy gate must tell "nobody we trust signed
//! this" ([`Outcome::NoValidSignature`]) from "a trusted key signed a statement of another
//! kind" ([`Outcome::WrongPredicateType`]) from "the statement is about another artifact"
//! ([`Outcome::SubjectDigestMismatch`]). Errors ([`AttestError`]) are reserved for input that
//! is not a bundle/envelope at all.
//!
//! Order of checks for attestations: signatures first (an unverified payload is never
//! parsed), then the statement's shape, then the predicate type, then the subject digest.

use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, PublicKey};

use crate::bundle::{Bundle, Content};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::AttestError;
use crate::keyless::{self, Signed};
use crate::statement::{PredicateType, Statement};
use crate::trusted_root::TrustedRoot;

/// How a certificate field is matched: exactly, or by a regular expression that must match
/// the whole value (cosign's `--certificate-identity-regexp` semantics).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Byte-for-byte equality.
    Exact(String),
    /// A full-match regular expression (compiled anchored as `^(?:…)$`).
    Regex(regex::Regex),
}

impl Matcher {
    /// A full-match regular expression; the error names what does not compile.
    pub fn regex(pattern: &str) -> Result<Matcher, AttestError> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(Matcher::Regex)
            .map_err(|e| AttestError::Usage(format!("invalid regular expression `{pattern}`: {e}")))
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }

    /// The string or pattern, for messages.
    pub fn as_str(&self) -> &str {
        match self {
            Matcher::Exact(s) => s,
            Matcher::Regex(r) => r.as_str(),
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        matches!(
            (self, other),
            (Matcher::Exact(_), Matcher::Exact(_)) | (Matcher::Regex(_), Matcher::Regex(_))
        ) && self.as_str() == other.as_str()
    }
}

impl Eq for Matcher {}

/// A certificate identity (keyless signing): subject (a SAN: email, URI or otherName) and
/// OIDC issuer. Both are required, as in cosign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Matches a certificate subject alternative name.
    pub subject: Matcher,
    /// Matches the Fulcio OIDC issuer extension.
    pub issuer: Matcher,
}

/// Who signed a keyless bundle, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSigner {
    /// Index into [`Policy::identities`] of the identity that matched.
    pub identity: usize,
    /// The subject alternative name that matched.
    pub subject: String,
    /// The certificate's OIDC issuer.
    pub issuer: String,
    /// The verified signing time (the log's integrated time, seconds since the epoch).
    pub integrated_time: i64,
}

/// What must hold for evidence to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Trusted public keys.
    pub keys: Vec<PublicKey>,
    /// Trusted certificate identities (see [`Identity`]).
    pub identities: Vec<Identity>,
    /// How many distinct trusted keys must have signed (≥ 1). Bundles carry one signature,
    /// so a threshold above 1 is only reachable with raw DSSE envelopes.
    pub threshold: usize,
    /// Accepted predicate types for attestations (`None`: any).
    pub predicate_type: Option<PredicateType>,
    /// The trust anchors for certificate-signed (keyless) bundles, and the transparency logs
    /// whose entries in key-signed bundles are checked.
    pub trusted_root: Option<Arc<TrustedRoot>>,
    /// Key-signed bundles must carry a log entry that verifies against `trusted_root`.
    pub require_tlog: bool,
}

impl Policy {
    /// Trust these keys, threshold 1, any predicate type.
    pub fn keys(keys: Vec<PublicKey>) -> Self {
        Policy {
            keys,
            identities: Vec::new(),
            threshold: 1,
            predicate_type: None,
            trusted_root: None,
            require_tlog: false,
        }
    }

    /// Trust certificates that chain to `root` and match one of `identities`.
    pub fn keyless(root: Arc<TrustedRoot>, identities: Vec<Identity>) -> Self {
        Policy {
            keys: Vec::new(),
            identities,
            threshold: 1,
            predicate_type: None,
            trusted_root: Some(root),
            require_tlog: false,
        }
    }

    /// Also trust keyless signatures by these identities under this root.
    pub fn with_keyless(mut self, root: Arc<TrustedRoot>, identities: Vec<Identity>) -> Self {
        self.identities = identities;
        self.trusted_root = Some(root);
        self
    }

    /// Checks the transparency-log entries of key-signed bundles against the logs in `root`
    /// (an entry that does not verify fails the bundle).
    pub fn with_tlog_root(mut self, root: Arc<TrustedRoot>) -> Self {
        self.trusted_root = Some(root);
        self
    }

    /// Key-signed bundles must carry a verified log entry (needs a root naming the log).
    pub fn requiring_tlog(mut self) -> Self {
        self.require_tlog = true;
        self
    }

    /// Requires `n` distinct trusted signers.
    pub fn with_threshold(mut self, n: usize) -> Self {
        self.threshold = n;
        self
    }

    /// Requires one of these predicate types.
    pub fn with_predicate_type(mut self, t: PredicateType) -> Self {
        self.predicate_type = Some(t);
        self
    }

    fn check(&self) -> Result<(), AttestError> {
        if self.threshold == 0 {
            return Err(AttestError::Usage(
                "the threshold must be at least 1".into(),
            ));
        }
        if self.keys.is_empty() && self.identities.is_empty() {
            return Err(AttestError::Usage(
                "the policy trusts no key and no certificate identity".into(),
            ));
        }
        if self.require_tlog && self.trusted_root.is_none() {
            return Err(AttestError::Usage(
                "requiring a transparency-log entry needs a trusted root that names the log".into(),
            ));
        }
        if !self.identities.is_empty() && self.trusted_root.is_none() {
            return Err(AttestError::Usage(
                "certificate identities need a trusted root to verify against".into(),
            ));
        }
        if self.identities.is_empty() && self.threshold > self.keys.len() {
            return Err(AttestError::Usage(format!(
                "threshold {} is more than the {} trusted key(s) given",
                self.threshold,
                self.keys.len()
            )));
        }
        Ok(())
    }
}

/// A verified result's details.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The trusted keys that signed (indices into [`Policy::keys`]).
    pub keys: Vec<usize>,
    /// For attestations: the verified statement.
    pub statement: Option<Statement>,
    /// For attestations: the verified payload bytes, exactly as signed.
    pub payload: Option<Vec<u8>>,
    /// For keyless bundles: the certificate identity that signed.
    pub certificate: Option<Box<CertificateSigner>>,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Everything the policy asks for holds.
    Verified(Verified),
    /// No (or not enough) valid signatures by trusted keys.
    NoValidSignature {
        /// Why.
        reason: String,
    },
    /// The signature is valid but the signed statement is malformed or not in-toto.
    InvalidStatement {
        /// Why.
        reason: String,
    },
    /// Validly signed, but the predicate type is not one the policy accepts.
    WrongPredicateType {
        /// The statement's predicate type.
        found: String,
        /// What the policy accepts.
        expected: Vec<String>,
    },
    /// Validly signed, but not about this artifact.
    SubjectDigestMismatch {
        /// The artifact's digest (`sha256:…`).
        artifact: String,
        /// What the evidence says (`sha256:…` of each subject or the message digest).
        signed: Vec<String>,
    },
    /// The signing certificate is not trusted: it does not chain to the trusted root, was
    /// not valid at the signing time, is not for code signing, or its SCT does not verify.
    UntrustedCertificate {
        /// Why.
        reason: String,
    },
    /// The certificate is trusted but names nobody the policy trusts.
    IdentityMismatch {
        /// The certificate's subject alternative names.
        subjects: Vec<String>,
        /// The certificate's OIDC issuer, if it has one.
        issuer: Option<String>,
    },
    /// The transparency-log entry is missing, does not verify against the trusted root, or
    /// does not describe this signature.
    TransparencyLog {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether verification succeeded.
    pub fn is_verified(&self) -> bool {
        matches!(self, Outcome::Verified(_))
    }

    /// One line for humans.
    pub fn message(&self) -> String {
        match self {
            Outcome::Verified(_) => "verified".into(),
            Outcome::NoValidSignature { reason } => format!("signature does not verify: {reason}"),
            Outcome::InvalidStatement { reason } => {
                format!("the signed payload is not a valid in-toto statement: {reason}")
            }
            Outcome::WrongPredicateType { found, expected } => format!(
                "wrong predicate type: the attestation is `{found}`, expected {}",
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Outcome::SubjectDigestMismatch { artifact, signed } => format!(
                "subject digest mismatch: the artifact is {artifact}, the signature covers {}",
                if signed.is_empty() {
                    "no sha256 digest".to_string()
                } else {
                    signed.join(", ")
                }
            ),
            Outcome::UntrustedCertificate { reason } => {
                format!("untrusted certificate: {reason}")
            }
            Outcome::IdentityMismatch { subjects, issuer } => format!(
                "certificate identity mismatch: the certificate is for {} issued by {}, which no trusted identity matches",
                if subjects.is_empty() {
                    "no subject".to_string()
                } else {
                    subjects
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                issuer
                    .as_deref()
                    .map(|i| format!("`{i}`"))
                    .unwrap_or_else(|| "no OIDC issuer".to_string())
            ),
            Outcome::TransparencyLog { reason } => {
                format!("transparency log entry does not verify: {reason}")
            }
        }
    }
}

/// Signed evidence: a Sigstore bundle or a raw DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A Sigstore bundle.
    Bundle(Box<Bundle>),
    /// A raw DSSE envelope.
    Envelope(Envelope),
}

impl Evidence {
    /// Reads either form (a document with `payloadType` at the top is an envelope).
    pub fn from_json(bytes: &[u8]) -> Result<Evidence, AttestError> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| AttestError::from_json(&e, false))?;
        if v.get("payloadType").is_some() && v.get("mediaType").is_none() {
            Envelope::from_json(bytes).map(Evidence::Envelope)
        } else {
            Bundle::from_json(bytes).map(|b| Evidence::Bundle(Box::new(b)))
        }
    }
}

/// Verifies evidence against a policy. Holds no global state; cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: Policy,
}

fn no_sig(reason: impl Into<String>) -> Outcome {
    Outcome::NoValidSignature {
        reason: reason.into(),
    }
}

impl Verifier {
    /// A verifier for this policy.
    pub fn new(policy: Policy) -> Self {
        Verifier { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies a blob bundle (`messageSignature`) against the artifact read from `artifact`.
    /// ECDSA keys stream the artifact; Ed25519 keys need it whole in memory.
    pub fn verify_blob(
        &self,
        bundle: &Bundle,
        artifact: impl Read,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        let Some(Content::Message(ms)) = bundle.content() else {
            return Err(AttestError::Usage(
                "the bundle holds a DSSE envelope, not a blob signature (use verify-attestation)"
                    .into(),
            ));
        };
        let claimed = ms.message_digest.as_ref().and_then(|d| {
            HashAlgorithm::from_proto_name(&d.algorithm).map(|a| (a, d.digest.0.clone()))
        });
        if bundle.verification_material.public_key.is_none() {
            return self.verify_blob_keyless(bundle, &ms.signature.0, claimed, artifact);
        }
        if self.policy.keys.is_empty() {
            return Ok(no_sig(
                "the bundle is signed with a key, and the policy trusts only certificate identities",
            ));
        }
        let mut tee = Tee {
            inner: artifact,
            hasher: Sha256::new(),
        };
        let outcome = self.verify_blob_signature(&ms.signature.0, claimed, &mut tee)?;
        let Outcome::Verified(v) = &outcome else {
            return Ok(outcome);
        };
        // Drain what the verifier did not read, so the digest is the whole artifact's.
        std::io::copy(&mut tee, &mut std::io::sink())
            .map_err(|e| AttestError::Usage(format!("cannot read the artifact: {e}")))?;
        let sha256: [u8; 32] = tee.hasher.finalize().into();
        let signed = Signed::Blob {
            sha256: &sha256,
            signature: &ms.signature.0,
        };
        Ok(self
            .key_tlog(bundle, v.keys.first(), signed)
            .unwrap_or(outcome))
    }

    /// For a bundle verified with key `key` (an index into the policy's keys): the failure,
    /// if its log entry must be checked and does not verify. Entries are checked when the
    /// policy has a trusted root; required when the policy says so.
    fn key_tlog(
        &self,
        bundle: &Bundle,
        key: Option<&usize>,
        signed: Signed<'_>,
    ) -> Option<Outcome> {
        let root = self.policy.trusted_root.as_deref()?;
        let has_entries = !bundle.verification_material.tlog_entries.is_empty();
        if !has_entries && !self.policy.require_tlog {
            return None;
        }
        let spki = key.and_then(|i| self.policy.keys.get(*i))?.spki_der();
        crate::rekor_v2::check(bundle, root, spki, signed).err()
    }

    fn keyless_root(&self) -> Result<Option<&TrustedRoot>, AttestError> {
        if self.policy.identities.is_empty() {
            return Ok(None);
        }
        self.policy
            .trusted_root
            .as_deref()
            .map(Some)
            .ok_or_else(|| AttestError::Usage("certificate identities need a trusted root".into()))
    }

    fn verify_blob_keyless(
        &self,
        bundle: &Bundle,
        signature: &[u8],
        claimed: Option<(HashAlgorithm, Vec<u8>)>,
        artifact: impl Read,
    ) -> Result<Outcome, AttestError> {
        let Some(root) = self.keyless_root()? else {
            return Ok(no_sig(
                "the bundle is signed with a certificate (keyless); give a certificate identity, its OIDC issuer and a trusted root",
            ));
        };
        let leaf = match keyless::check_certificate(bundle, root, &self.policy.identities) {
            Ok(l) => l,
            Err(o) => return Ok(o),
        };
        let mut tee = Tee {
            inner: artifact,
            hasher: Sha256::new(),
        };
        let by_leaf = Verifier::new(Policy::keys(vec![leaf.key.clone()]));
        let outcome = by_leaf.verify_blob_signature(signature, claimed, &mut tee)?;
        if let Outcome::NoValidSignature { .. } = outcome {
            return Ok(no_sig(
                "the signature was not made by the certificate's key over this artifact",
            ));
        }
        if !outcome.is_verified() {
            return Ok(outcome);
        }
        let sha256: [u8; 32] = tee.hasher.finalize().into();
        if let Err(o) = keyless::check_tlog(
            bundle,
            root,
            &leaf,
            Signed::Blob {
                sha256: &sha256,
                signature,
            },
        ) {
            return Ok(o);
        }
        Ok(Outcome::Verified(Verified {
            keys: Vec::new(),
            statement: None,
            payload: None,
            certificate: Some(Box::new(signer(bundle, &leaf))),
        }))
    }

    /// Verifies a raw signature over an artifact (`--signature`), optionally with the digest
    /// the signer claimed (from a bundle's `messageDigest`).
    pub fn verify_blob_signature(
        &self,
        signature: &[u8],
        claimed_digest: Option<(HashAlgorithm, Vec<u8>)>,
        mut artifact: impl Read,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        if self.policy.threshold > 1 {
            return Ok(no_sig(format!(
                "a blob signature is made by one key; threshold {} cannot be met",
                self.policy.threshold
            )));
        }
        let need_whole = self
            .policy
            .keys
            .iter()
            .any(|k| k.algorithm() == KeyAlgorithm::Ed25519);
        let mut algs: Vec<HashAlgorithm> = self
            .policy
            .keys
            .iter()
            .map(|k| k.algorithm().hash())
            .collect();
        algs.push(HashAlgorithm::Sha256);
        if let Some((a, _)) = &claimed_digest {
            algs.push(*a);
        }
        algs.sort_by_key(|a| a.proto_name());
        algs.dedup();
        let mut hashers: Vec<_> = algs.iter().map(|a| a.hasher()).collect();
        let mut whole = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match artifact.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(AttestError::Io(e.to_string())),
            };
            for h in &mut hashers {
                h.update(&buf[..n]);
            }
            if need_whole {
                whole.extend_from_slice(&buf[..n]);
            }
        }
        let digests: Vec<_> = hashers.into_iter().map(|h| h.finish()).collect();
        let digest_for = |a: HashAlgorithm| digests.iter().find(|d| d.algorithm == a);
        if let Some((a, value)) = &claimed_digest {
            let actual = digest_for(*a)
                .map(|d| d.value.as_slice())
                .unwrap_or_default();
            if actual != value.as_slice() {
                let name = a.proto_name().to_lowercase().replace("sha2_", "sha");
                return Ok(Outcome::SubjectDigestMismatch {
                    artifact: format!("{name}:{}", hex::encode(actual)),
                    signed: vec![format!("{name}:{}", hex::encode(value))],
                });
            }
        }
        for (i, key) in self.policy.keys.iter().enumerate() {
            let ok = match key.algorithm() {
                KeyAlgorithm::Ed25519 => key.verify(&whole, signature).is_ok(),
                other => digest_for(other.hash())
                    .is_some_and(|d| key.verify_prehashed(d, signature).is_ok()),
            };
            if ok {
                return Ok(Outcome::Verified(Verified {
                    keys: vec![i],
                    statement: None,
                    payload: None,
                    certificate: None,
                }));
            }
        }
        Ok(no_sig(if self.policy.keys.len() == 1 {
            "the signature was not made by this key over this artifact".to_string()
        } else {
            format!(
                "the signature was not made over this artifact by any of the {} keys",
                self.policy.keys.len()
            )
        }))
    }

    /// Verifies an attestation (a DSSE bundle or raw envelope). With `subject_sha256` (hex),
    /// some subject of the statement must carry that digest.
    pub fn verify_attestation(
        &self,
        evidence: &Evidence,
        subject_sha256: Option<&str>,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        let (env, keyless_bundle) = match evidence {
            Evidence::Envelope(e) => (e, None),
            Evidence::Bundle(b) => match b.content() {
                Some(Content::Dsse(e)) => (
                    e,
                    b.verification_material
                        .public_key
                        .is_none()
                        .then_some(b.as_ref()),
                ),
                _ => {
                    return Err(AttestError::Usage(
                        "the bundle holds a blob signature, not an attestation (use verify-blob)"
                            .into(),
                    ));
                }
            },
        };
        let (keys, certificate) = if let Some(bundle) = keyless_bundle {
            let Some(root) = self.keyless_root()? else {
                return Ok(no_sig(
                    "the bundle is signed with a certificate (keyless); give a certificate identity, its OIDC issuer and a trusted root",
                ));
            };
            let leaf = match keyless::check_certificate(bundle, root, &self.policy.identities) {
                Ok(l) => l,
                Err(o) => return Ok(o),
            };
            if env.verify(std::slice::from_ref(&leaf.key), 1).is_err() {
                return Ok(no_sig(
                    "the envelope's signature was not made by the certificate's key over this payload",
                ));
            }
            let signed = Signed::Dsse {
                payload: &env.payload.0,
                signatures: env.signatures.iter().map(|s| s.sig.0.as_slice()).collect(),
            };
            if let Err(o) = keyless::check_tlog(bundle, root, &leaf, signed) {
                return Ok(o);
            }
            (Vec::new(), Some(Box::new(signer(bundle, &leaf))))
        } else {
            if self.policy.keys.is_empty() {
                return Ok(no_sig(
                    "the evidence is signed with a key, and the policy trusts only certificate identities",
                ));
            }
            match env.verify(&self.policy.keys, self.policy.threshold) {
                Ok(v) => {
                    let signed = Signed::Dsse {
                        payload: &env.payload.0,
                        signatures: env.signatures.iter().map(|s| s.sig.0.as_slice()).collect(),
                    };
                    match evidence {
                        Evidence::Bundle(b) => {
                            if let Some(o) = self.key_tlog(b, v.keys.first(), signed) {
                                return Ok(o);
                            }
                        }
                        Evidence::Envelope(_) if self.policy.require_tlog => {
                            return Ok(Outcome::TransparencyLog {
                                reason: "a bare DSSE envelope carries no transparency-log entry; verify the Sigstore bundle".into(),
                            });
                        }
                        Evidence::Envelope(_) => {}
                    }
                    (v.keys, None)
                }
                Err(reason) => return Ok(no_sig(reason)),
            }
        };
        if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Ok(Outcome::InvalidStatement {
                reason: format!(
                    "payloadType is `{}`, not `{IN_TOTO_PAYLOAD_TYPE}`",
                    env.payload_type
                ),
            });
        }
        let statement = match Statement::from_json(&env.payload.0) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Outcome::InvalidStatement {
                    reason: e.to_string(),
                });
            }
        };
        if let Some(pt) = &self.policy.predicate_type
            && !pt.accepts(&statement.predicate_type)
        {
            return Ok(Outcome::WrongPredicateType {
                found: statement.predicate_type.clone(),
                expected: pt.accepted.clone(),
            });
        }
        if let Some(want) = subject_sha256
            && !statement.has_sha256(want)
        {
            return Ok(Outcome::SubjectDigestMismatch {
                artifact: format!("sha256:{want}"),
                signed: statement
                    .subject
                    .iter()
                    .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
                    .collect(),
            });
        }
        Ok(Outcome::Verified(Verified {
            keys,
            statement: Some(statement),
            payload: Some(env.payload.0.clone()),
            certificate,
        }))
    }
}

fn signer(bundle: &Bundle, leaf: &keyless::Leaf) -> CertificateSigner {
    CertificateSigner {
        identity: leaf.identity,
        subject: leaf.subject.clone(),
        issuer: leaf.issuer.clone(),
        integrated_time: bundle
            .verification_material
            .tlog_entries
            .first()
            .map(|e| e.integrated_time.0)
            .unwrap_or_default(),
    }
}

/// Hashes what passes through (the artifact's SHA-256 for the log entry check).
struct Tee<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_messages() {
        let outcomes = [
            Outcome::NoValidSignature {
                reason: "none of the 1 signature(s) verifies with the given key(s)".into(),
            },
            Outcome::InvalidStatement {
                reason: "payloadType is `text/plain`, not `application/vnd.in-toto+json`".into(),
            },
            Outcome::WrongPredicateType {
                found: "https://cyclonedx.org/bom".into(),
                expected: PredicateType::resolve("slsaprovenance")
                    .map(|p| p.accepted)
                    .unwrap_or_default(),
            },
            Outcome::SubjectDigestMismatch {
                artifact: "sha256:aaaa".into(),
                signed: vec!["sha256:bbbb".into()],
            },
        ];
        let text: Vec<String> = outcomes.iter().map(Outcome::message).collect();
        insta::assert_snapshot!(text.join("\n"));
    }
}
