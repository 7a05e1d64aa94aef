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

use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, Prehash, PublicKey};

use crate::bundle::{Bundle, Content};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::error::AttestError;
use crate::statement::{PredicateType, Statement};
use crate::trusted_root::{TimeRange, TrustedRoot};
use crate::{entry, keyless, timestamp};

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
    /// The trust anchors: CAs for certificate-signed (keyless) bundles, the transparency logs
    /// whose entries are checked, CT logs and timestamp authorities.
    pub trusted_root: Option<Arc<TrustedRoot>>,
    /// A verified transparency-log entry is required (always for keyless bundles unless
    /// `ignore_tlog`; for key-signed bundles when set). Entries present are always checked
    /// when there is a trusted root.
    pub require_tlog: bool,
    /// How many verified log entries are required when one is (sigstore-go's
    /// `--tlog-threshold`; default 1).
    pub tlog_threshold: usize,
    /// How many verified RFC 3161 timestamps are required (default 0: a SET-verified
    /// integrated time suffices; bundles without one need a timestamp anyway).
    pub timestamp_threshold: usize,
    /// cosign's `--insecure-ignore-tlog`: log entries are neither required nor checked.
    pub ignore_tlog: bool,
    /// cosign's `--insecure-ignore-sct`: the certificate's SCT is not required (private
    /// instances without a CT log).
    pub ignore_sct: bool,
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
            tlog_threshold: 1,
            timestamp_threshold: 0,
            ignore_tlog: false,
            ignore_sct: false,
        }
    }

    /// Trust certificates that chain to `root` and match one of `identities`.
    pub fn keyless(root: Arc<TrustedRoot>, identities: Vec<Identity>) -> Self {
        Policy {
            identities,
            trusted_root: Some(root),
            require_tlog: true,
            ..Policy::keys(Vec::new())
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
        if self.require_tlog && self.trusted_root.is_none() && !self.ignore_tlog {
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
    /// Each check that ran and passed, in order, one line each (for the report).
    pub checks: Vec<String>,
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
    /// The RFC 3161 timestamps are unacceptable (too many, duplicated, fewer verified than
    /// the policy requires).
    Timestamp {
        /// Why.
        reason: String,
    },
    /// The evidence itself is unusable: not a bundle, an unsupported version, the wrong kind
    /// of bundle for the command. Verification fails (exit 1), as in every Sigstore client.
    MalformedEvidence {
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
                    "no digest of that kind".to_string()
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
            Outcome::Timestamp { reason } => format!("signed timestamps: {reason}"),
            Outcome::MalformedEvidence { reason } => format!("unusable evidence: {reason}"),
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

/// A subject given by digest (`sha256:<hex>`, `sha512:<hex>`) instead of by its bytes, as
/// cosign accepts for `verify-blob` and `verify-attestation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectDigest {
    /// The hash.
    pub algorithm: HashAlgorithm,
    /// The raw digest.
    pub value: Vec<u8>,
}

impl SubjectDigest {
    /// Parses `sha256:<hex>`, `sha384:<hex>` or `sha512:<hex>`; `None` if it is not one.
    pub fn parse(s: &str) -> Option<SubjectDigest> {
        let (alg, hex_digest) = s.split_once(':')?;
        let algorithm = match alg.to_ascii_lowercase().as_str() {
            "sha256" => HashAlgorithm::Sha256,
            "sha384" => HashAlgorithm::Sha384,
            "sha512" => HashAlgorithm::Sha512,
            _ => return None,
        };
        let value = hex::decode(hex_digest).ok()?;
        (value.len() == algorithm.output_len()).then_some(SubjectDigest { algorithm, value })
    }

    /// The in-toto digest name (`sha256`, …).
    pub fn name(&self) -> &'static str {
        digest_name(self.algorithm)
    }

    /// `sha256:<hex>`.
    pub fn display(&self) -> String {
        format!("{}:{}", self.name(), hex::encode(&self.value))
    }
}

/// What a message signature is checked against: the artifact's digests in the hashes the
/// signature may use, and its bytes when an Ed25519 key needs them whole.
struct Artifact {
    digests: Vec<Prehash>,
    whole: Option<Vec<u8>>,
}

impl Artifact {
    fn read(
        mut r: impl Read,
        algs: &[HashAlgorithm],
        whole: bool,
    ) -> Result<Artifact, AttestError> {
        let mut algs = algs.to_vec();
        algs.sort_by_key(|a| a.proto_name());
        algs.dedup();
        let mut hashers: Vec<_> = algs.iter().map(|a| a.hasher()).collect();
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(AttestError::Io(e.to_string())),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            for h in &mut hashers {
                h.update(chunk);
            }
            if whole {
                bytes.extend_from_slice(chunk);
            }
        }
        Ok(Artifact {
            digests: hashers.into_iter().map(|h| h.finish()).collect(),
            whole: whole.then_some(bytes),
        })
    }

    fn digest(&self, alg: HashAlgorithm) -> Option<&Prehash> {
        self.digests.iter().find(|d| d.algorithm == alg)
    }

    /// Whether `key` made `signature` over this artifact.
    fn verified_by(&self, key: &PublicKey, signature: &[u8]) -> bool {
        match key.algorithm() {
            KeyAlgorithm::Ed25519 => self
                .whole
                .as_deref()
                .is_some_and(|w| key.verify(w, signature).is_ok()),
            // The key's own hash first; then the others computed (the signer picks the
            // hash, and the bundle's messageDigest names it).
            other => {
                self.digest(other.hash())
                    .is_some_and(|d| key.verify_prehashed(d, signature).is_ok())
                    || self.digests.iter().any(|d| {
                        d.algorithm != other.hash()
                            && key.verify_prehashed_any(d, signature).is_ok()
                    })
            }
        }
    }
}

/// What the signature in a bundle covers.
enum Content2<'a> {
    Message {
        signature: &'a [u8],
        claimed: Option<(HashAlgorithm, &'a [u8])>,
        artifact: &'a Artifact,
    },
    Dsse(&'a Envelope),
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

fn malformed(reason: impl Into<String>) -> Outcome {
    Outcome::MalformedEvidence {
        reason: reason.into(),
    }
}

const KEYLESS_NEEDS: &str = "the bundle is signed with a certificate (keyless); give a certificate identity, its OIDC issuer and a trusted root";

/// At most this many log entries are looked at.
const MAX_TLOG_ENTRIES: usize = 32;

impl Verifier {
    /// A verifier for this policy.
    pub fn new(policy: Policy) -> Self {
        Verifier { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The hash algorithms a message signature may need, and whether Ed25519 needs the whole
    /// artifact: the keys of the policy (or the bundle's certificate), SHA-256 (log entries)
    /// and the bundle's claimed digest.
    fn needs(&self, bundle: &Bundle) -> (Vec<HashAlgorithm>, bool) {
        let mut keys: Vec<KeyAlgorithm> = Vec::new();
        if bundle.verification_material.public_key.is_some() {
            keys.extend(self.policy.keys.iter().map(|k| k.algorithm()));
        } else if let Ok((_, k, _)) = keyless::leaf_of(bundle) {
            keys.push(k.algorithm());
        }
        let mut algs: Vec<HashAlgorithm> = keys.iter().map(|k| k.hash()).collect();
        algs.push(HashAlgorithm::Sha256);
        if let Some(Content::Message(ms)) = bundle.content()
            && let Some(d) = &ms.message_digest
            && let Some(a) = HashAlgorithm::from_proto_name(&d.algorithm)
        {
            algs.push(a);
        }
        (algs, keys.contains(&KeyAlgorithm::Ed25519))
    }

    /// Verifies a blob bundle (`messageSignature`) against the artifact read from `artifact`.
    /// ECDSA and RSA keys stream the artifact; Ed25519 keys need it whole in memory.
    pub fn verify_blob(
        &self,
        bundle: &Bundle,
        artifact: impl Read,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        let (algs, whole) = self.needs(bundle);
        let artifact = Artifact::read(artifact, &algs, whole)?;
        Ok(self.verify_message(bundle, &artifact))
    }

    /// Verifies a blob bundle against an artifact known only by its digest (cosign's
    /// `verify-blob sha256:<hex>`). The signature must be over that digest, so an Ed25519
    /// signature (over the whole artifact) cannot be checked this way.
    pub fn verify_blob_digest(
        &self,
        bundle: &Bundle,
        digest: &SubjectDigest,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        let artifact = Artifact {
            digests: vec![Prehash {
                algorithm: digest.algorithm,
                value: digest.value.clone(),
            }],
            whole: None,
        };
        Ok(self.verify_message(bundle, &artifact))
    }

    fn verify_message(&self, bundle: &Bundle, artifact: &Artifact) -> Outcome {
        let Some(Content::Message(ms)) = bundle.content() else {
            return malformed(
                "the bundle holds a DSSE envelope, not a blob signature (use verify-attestation)",
            );
        };
        let claimed = match &ms.message_digest {
            Some(d) => match HashAlgorithm::from_proto_name(&d.algorithm) {
                Some(a) => Some((a, d.digest.0.as_slice())),
                None => {
                    return malformed(format!("unknown messageDigest algorithm `{}`", d.algorithm));
                }
            },
            None => None,
        };
        self.verify_bundle(
            bundle,
            Content2::Message {
                signature: &ms.signature.0,
                claimed,
                artifact,
            },
        )
    }

    /// Verifies a raw signature over an artifact (`--signature`), with the policy's keys.
    pub fn verify_blob_signature(
        &self,
        signature: &[u8],
        claimed_digest: Option<(HashAlgorithm, Vec<u8>)>,
        artifact: impl Read,
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        if self.policy.threshold > 1 {
            return Ok(no_sig(format!(
                "a blob signature is made by one key; threshold {} cannot be met",
                self.policy.threshold
            )));
        }
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
        let whole = self
            .policy
            .keys
            .iter()
            .any(|k| k.algorithm() == KeyAlgorithm::Ed25519);
        let artifact = Artifact::read(artifact, &algs, whole)?;
        if let Some(o) = digest_mismatch(
            claimed_digest.as_ref().map(|(a, v)| (*a, v.as_slice())),
            &artifact,
        ) {
            return Ok(o);
        }
        Ok(match self.signing_key(signature, &artifact) {
            Some(i) => Outcome::Verified(Verified {
                keys: vec![i],
                statement: None,
                payload: None,
                certificate: None,
                checks: vec![format!("signature ✓ (key {})", self.key_name(i))],
            }),
            None => no_sig(self.no_key_reason()),
        })
    }

    fn key_name(&self, i: usize) -> String {
        self.policy
            .keys
            .get(i)
            .map(|k| k.hint())
            .unwrap_or_default()
    }

    fn no_key_reason(&self) -> String {
        if self.policy.keys.len() == 1 {
            "the signature was not made by this key over this artifact".to_string()
        } else {
            format!(
                "the signature was not made over this artifact by any of the {} keys",
                self.policy.keys.len()
            )
        }
    }

    fn signing_key(&self, signature: &[u8], artifact: &Artifact) -> Option<usize> {
        self.policy
            .keys
            .iter()
            .position(|k| artifact.verified_by(k, signature))
    }

    /// Verifies an attestation (a DSSE bundle or raw envelope). With `subject_sha256` (hex),
    /// some subject of the statement must carry that digest.
    pub fn verify_attestation(
        &self,
        evidence: &Evidence,
        subject_sha256: Option<&str>,
    ) -> Result<Outcome, AttestError> {
        let subject = match subject_sha256 {
            Some(h) => match SubjectDigest::parse(&format!("sha256:{h}")) {
                Some(d) => Some(d),
                None => {
                    return Err(AttestError::Usage(format!("`{h}` is not a sha256 digest")));
                }
            },
            None => None,
        };
        self.verify_attestation_for(evidence, subject.as_slice())
    }

    /// Verifies an attestation; when `subject` names digests of the artifact (in one or more
    /// hashes: a file is known by all of them, npm statements name sha512 only), some subject
    /// of the statement must carry one of them.
    pub fn verify_attestation_for(
        &self,
        evidence: &Evidence,
        subject: &[SubjectDigest],
    ) -> Result<Outcome, AttestError> {
        self.policy.check()?;
        let outcome = match evidence {
            Evidence::Bundle(b) => match b.content() {
                Some(Content::Dsse(env)) => self.verify_bundle(b, Content2::Dsse(env)),
                _ => malformed(
                    "the bundle holds a blob signature, not an attestation (use verify-blob)",
                ),
            },
            Evidence::Envelope(env) => self.verify_envelope(env),
        };
        let Outcome::Verified(mut v) = outcome else {
            return Ok(outcome);
        };
        let env = match evidence {
            Evidence::Bundle(b) => match b.content() {
                Some(Content::Dsse(e)) => e,
                _ => return Ok(malformed("the bundle holds no DSSE envelope")),
            },
            Evidence::Envelope(e) => e,
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
        if subject.is_empty() {
            v.checks
                .push(format!("statement ✓ ({})", statement.predicate_type));
        } else {
            let matched = subject.iter().find(|want| {
                let hex_want = hex::encode(&want.value);
                statement.subject.iter().any(|s| {
                    s.digest
                        .get(want.name())
                        .is_some_and(|d| d.eq_ignore_ascii_case(&hex_want))
                })
            });
            let Some(want) = matched else {
                return Ok(Outcome::SubjectDigestMismatch {
                    artifact: subject
                        .iter()
                        .map(SubjectDigest::display)
                        .collect::<Vec<_>>()
                        .join(" / "),
                    signed: statement
                        .subject
                        .iter()
                        .flat_map(|s| s.digest.iter().map(|(k, d)| format!("{k}:{d}")))
                        .collect(),
                });
            };
            v.checks.push(format!(
                "statement ✓ ({}, subject {})",
                statement.predicate_type,
                want.display()
            ));
        }
        v.statement = Some(statement);
        v.payload = Some(env.payload.0.clone());
        Ok(Outcome::Verified(v))
    }

    /// A raw DSSE envelope: key signatures only, no log entry.
    fn verify_envelope(&self, env: &Envelope) -> Outcome {
        if self.policy.keys.is_empty() {
            return no_sig(
                "the evidence is a bare DSSE envelope signed with keys, and the policy trusts only certificate identities",
            );
        }
        if self.policy.require_tlog && !self.policy.ignore_tlog {
            return Outcome::TransparencyLog {
                reason: "a bare DSSE envelope carries no transparency-log entry; verify the Sigstore bundle".into(),
            };
        }
        match env.verify(&self.policy.keys, self.policy.threshold) {
            Ok(v) => {
                let checks = v
                    .keys
                    .iter()
                    .map(|i| format!("signature ✓ (key {})", self.key_name(*i)))
                    .collect();
                Outcome::Verified(Verified {
                    keys: v.keys,
                    statement: None,
                    payload: None,
                    certificate: None,
                    checks,
                })
            }
            Err(reason) => no_sig(reason),
        }
    }

    /// The whole check of a bundle: signature, log entries, timestamps, certificate.
    fn verify_bundle(&self, bundle: &Bundle, content: Content2<'_>) -> Outcome {
        let Some(version) = bundle.version() else {
            return malformed(format!("unknown bundle mediaType `{}`", bundle.media_type));
        };
        let p = &self.policy;
        let mut checks = Vec::new();
        let keyed = bundle.verification_material.public_key.is_some();

        // 1. Who signed, and the signature itself.
        let signature = match &content {
            Content2::Message { signature, .. } => *signature,
            Content2::Dsse(env) => match env.signatures.as_slice() {
                [s] => s.sig.0.as_slice(),
                more => {
                    return malformed(format!(
                        "a bundle's DSSE envelope has exactly one signature, this one has {}",
                        more.len()
                    ));
                }
            },
        };
        let mut key_index = None;
        let mut leaf_parts = None;
        if keyed {
            if p.keys.is_empty() {
                return no_sig(
                    "the bundle is signed with a key, and the policy trusts only certificate identities",
                );
            }
            let found = match &content {
                Content2::Message {
                    artifact, claimed, ..
                } => {
                    if let Some(o) = digest_mismatch(*claimed, artifact) {
                        return o;
                    }
                    self.signing_key(signature, artifact)
                }
                Content2::Dsse(env) => match env.verify_sigstore(&p.keys, 1) {
                    Ok(v) => v.keys.first().copied(),
                    Err(_) => None,
                },
            };
            let Some(i) = found else {
                return no_sig(self.no_key_reason());
            };
            checks.push(format!("signature ✓ (key {})", self.key_name(i)));
            key_index = Some(i);
        } else {
            if p.identities.is_empty() || p.trusted_root.is_none() {
                return no_sig(KEYLESS_NEEDS);
            }
            let (leaf, key, spki) = match keyless::leaf_of(bundle) {
                Ok(l) => l,
                Err(o) => return o,
            };
            if let Some(root) = p.trusted_root.as_deref()
                && let Err(o) = keyless::issued_under(&leaf, root)
            {
                return o;
            }
            let ok = match &content {
                Content2::Message {
                    artifact, claimed, ..
                } => {
                    if let Some(o) = digest_mismatch(*claimed, artifact) {
                        return o;
                    }
                    artifact.verified_by(&key, signature)
                }
                Content2::Dsse(env) => env.verify_sigstore(std::slice::from_ref(&key), 1).is_ok(),
            };
            if !ok {
                return no_sig(match content {
                    Content2::Message { .. } => {
                        "the signature was not made by the certificate's key over this artifact"
                    }
                    Content2::Dsse(_) => {
                        "the envelope's signature was not made by the certificate's key over this payload"
                    }
                });
            }
            checks.push("signature ✓ (certificate key)".to_string());
            leaf_parts = Some((leaf, key, spki));
        }

        let Some(root) = p.trusted_root.as_deref() else {
            // Key-signed evidence without a trusted root: nothing more can be checked.
            return Outcome::Verified(Verified {
                keys: key_index.into_iter().collect(),
                statement: None,
                payload: None,
                certificate: None,
                checks,
            });
        };

        // 2. Log entries.
        let spki_owned;
        let material = match (&leaf_parts, key_index) {
            (Some((leaf, _, spki)), _) => entry::SignerMaterial {
                cert_der: Some(leaf.der.as_slice()),
                spki,
            },
            (None, Some(i)) => {
                spki_owned = p
                    .keys
                    .get(i)
                    .map(|k| k.spki_der().to_vec())
                    .unwrap_or_default();
                entry::SignerMaterial {
                    cert_der: None,
                    spki: &spki_owned,
                }
            }
            (None, None) => return no_sig("no signer"),
        };
        let signed = match &content {
            Content2::Message { artifact, .. } => entry::Signed::Blob {
                digests: &artifact.digests,
                signature,
            },
            Content2::Dsse(env) => entry::Signed::Dsse {
                payload_type: &env.payload_type,
                payload: &env.payload.0,
                signature,
            },
        };
        let entries = &bundle.verification_material.tlog_entries;
        let mut verified_entries = Vec::new();
        if p.ignore_tlog {
            checks.push("log inclusion skipped (--insecure-ignore-tlog)".to_string());
        } else {
            if entries.len() > MAX_TLOG_ENTRIES {
                return Outcome::TransparencyLog {
                    reason: format!(
                        "the bundle has {} log entries; at most {MAX_TLOG_ENTRIES} are accepted",
                        entries.len()
                    ),
                };
            }
            for e in entries {
                match entry::verify_entry(e, root, version, &material, &signed) {
                    Ok(v) => verified_entries.push(v),
                    Err(o) => return o,
                }
            }
            let required = if keyed { p.require_tlog } else { true };
            if required && verified_entries.len() < p.tlog_threshold {
                return Outcome::TransparencyLog {
                    reason: if entries.is_empty() {
                        "the bundle has no transparency-log entry, and one is required (--insecure-ignore-tlog waives it)".to_string()
                    } else {
                        format!(
                            "{} verified log entries, {} required",
                            verified_entries.len(),
                            p.tlog_threshold
                        )
                    },
                };
            }
        }

        // 3. Timestamps.
        let stamps: Vec<&[u8]> = bundle
            .verification_material
            .timestamp_verification_data
            .iter()
            .flat_map(|t| t.rfc3161_timestamps.iter())
            .map(|t| t.signed_timestamp.0.as_slice())
            .collect();
        let (verified_stamps, skipped_stamps) =
            match timestamp::verify_all(&stamps, signature, root) {
                Ok(v) => v,
                Err(reason) => return Outcome::Timestamp { reason },
            };
        if skipped_stamps > 0 {
            checks.push(format!(
                "{skipped_stamps} timestamp(s) over another signature skipped"
            ));
        }
        if verified_stamps.len() < p.timestamp_threshold {
            return Outcome::Timestamp {
                reason: format!(
                    "{} verified RFC 3161 timestamp(s), {} required",
                    verified_stamps.len(),
                    p.timestamp_threshold
                ),
            };
        }

        // 4. Verified times, and the log keys' validity at them.
        let mut times: Vec<i64> = verified_entries
            .iter()
            .filter_map(|e| e.integrated_time)
            .chain(verified_stamps.iter().map(|t| t.time))
            .collect();
        times.sort_unstable();
        times.dedup();
        for e in &verified_entries {
            let at: Vec<i64> = match e.integrated_time {
                Some(t) => vec![t],
                None => verified_stamps.iter().map(|t| t.time).collect(),
            };
            for t in at {
                let Ok(when) = jiff::Timestamp::from_second(t) else {
                    return Outcome::TransparencyLog {
                        reason: format!("time {t} is out of range"),
                    };
                };
                if !TimeRange::contains(e.valid_for.as_ref(), when) {
                    return Outcome::TransparencyLog {
                        reason: format!(
                            "the entry in {} dates from {when}, outside the log key's validity",
                            e.log
                        ),
                    };
                }
            }
            checks.push(format!(
                "log inclusion ✓ ({}, index {}{})",
                host(&e.log),
                e.index,
                e.integrated_time
                    .and_then(|t| jiff::Timestamp::from_second(t).ok())
                    .map(|t| format!(", integrated {t}"))
                    .unwrap_or_default()
            ));
        }
        for t in &verified_stamps {
            checks.push(format!(
                "timestamp ✓ ({}, {})",
                t.authority,
                jiff::Timestamp::from_second(t.time)
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            ));
        }

        // 5. The certificate at every verified time, and the identity.
        if leaf_parts.is_some() && times.is_empty() {
            return Outcome::TransparencyLog {
                reason: "nothing vouches for the signing time: no log entry with a verified inclusion promise (SET) and no verified RFC 3161 timestamp".into(),
            };
        }
        let certificate = match leaf_parts {
            None => None,
            Some((leaf, _, _)) => {
                let l = match keyless::check_certificate(
                    &leaf,
                    root,
                    &p.identities,
                    &times,
                    !p.ignore_sct,
                ) {
                    Ok(l) => l,
                    Err(o) => return o,
                };
                checks.push(format!(
                    "certificate ✓ (issued by {}, valid at every verified time)",
                    l.ca
                ));
                checks.push(if p.ignore_sct {
                    "SCT skipped (--insecure-ignore-sct)".to_string()
                } else {
                    "SCT ✓".to_string()
                });
                checks.push(format!("identity ✓ ({}, issuer {})", l.subject, l.issuer));
                Some(Box::new(CertificateSigner {
                    identity: l.identity,
                    subject: l.subject,
                    issuer: l.issuer,
                    integrated_time: times.first().copied().unwrap_or_default(),
                }))
            }
        };
        Outcome::Verified(Verified {
            keys: key_index.into_iter().collect(),
            statement: None,
            payload: None,
            certificate,
            checks,
        })
    }
}

/// The log's host, for reports (`https://rekor.sigstore.dev` → `rekor.sigstore.dev`).
fn host(url: &str) -> &str {
    let u = url.trim_end_matches('/');
    u.split_once("://").map(|(_, h)| h).unwrap_or(u)
}

/// The in-toto / `sha256:<hex>` name of a hash.
fn digest_name(alg: HashAlgorithm) -> &'static str {
    match alg {
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
    }
}

/// The bundle's claimed digest differs from the artifact's (when computed in that hash).
fn digest_mismatch(
    claimed: Option<(HashAlgorithm, &[u8])>,
    artifact: &Artifact,
) -> Option<Outcome> {
    let (alg, value) = claimed?;
    let name = digest_name(alg);
    match artifact.digest(alg) {
        Some(d) if d.value.as_slice() == value => None,
        Some(d) => Some(Outcome::SubjectDigestMismatch {
            artifact: format!("{name}:{}", hex::encode(&d.value)),
            signed: vec![format!("{name}:{}", hex::encode(value))],
        }),
        None => Some(Outcome::SubjectDigestMismatch {
            artifact: artifact
                .digests
                .first()
                .map(|d| hex::encode(&d.value))
                .unwrap_or_default(),
            signed: vec![format!("{name}:{}", hex::encode(value))],
        }),
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
