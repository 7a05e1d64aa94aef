//! What the signing commands ask for, one call each: `verify-blob` ([`verify_blob`]),
//! `verify-attestation` ([`verify_attestation`]), `attest` ([`attest`]), `sign-blob`
//! ([`sign_file`]), `bundle digest` ([`bundle_digest`]) and the key files `key generate` and
//! `key import-cosign` write ([`key_pair`], [`read_key_text`]).
//!
//! The verification policy is built here from the command's trust options ([`TrustOptions`]):
//! keys, the trusted root whose logs must hold an entry, keyless identities, thresholds and
//! waivers. Keys are loaded by the caller ([`KeyLoader`], [`SignerLoader`]): key references,
//! passphrases and PINs are the caller's business, and so is every prompt.
//!
//! Two kinds of failure are told apart, as in every Sigstore client: bad usage (a missing
//! file, a bad flag, a document that is not a bundle at all) is a [`BadInput`] error; evidence
//! that cannot be used (a malformed bundle, a key file that is no key, an unreadable trusted
//! root) is a failed verification, [`Checked`]'s `Err` with the reason.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vouch_crypto::keys::{HashAlgorithm, PrivateKey, PublicKey};
use vouch_crypto::signer::{Signer, Zeroizing};

use crate::bundle::Bundle;
use crate::dsse::Envelope;
use crate::error::AttestError;
use crate::sign;
use crate::statement::{self, PredicateType, Statement};
use crate::trusted_root::TrustedRoot;
use crate::verify::{Evidence, Identity, Matcher, Outcome, Policy, SubjectDigest, Verifier};

pub use vouch_tlog::input::BadInput;

/// A signing or verification error about `file`, with its position when it has one.
pub fn attest_input(file: &Path, e: AttestError) -> BadInput {
    match e.position() {
        Some(p) => BadInput::at(file, p.line, p.column, e.to_string()),
        None => BadInput::in_file(file, e.to_string()),
    }
}

/// Evidence that could be read: `Err` holds why a bundle, key or trusted root is unusable,
/// which is a failed verification (exit 1), not a usage error.
pub type Checked<T> = Result<T, String>;

/// Loads trusted public keys from key references: `Err` for usage (a missing file), `Ok(Err)`
/// for a key that cannot be used (see [`require_key_files`]).
pub type KeyLoader<'a> = dyn Fn(&[String]) -> Result<Checked<Vec<PublicKey>>, BadInput> + 'a;

/// Loads a signing key from a key reference (prompting for its passphrase if need be).
pub type SignerLoader<'a> = dyn Fn(&str) -> Result<Box<dyn Signer>, BadInput> + 'a;

/// The usage half of the keyref rule: a key reference that names a file (not `env://…`, not
/// `pkcs11:`) that does not exist is a usage error. A file that is no usable key is a failed
/// verification, for the loader to report.
pub fn require_key_files(refs: &[String]) -> Result<(), BadInput> {
    for r in refs {
        let p = Path::new(r);
        if !r.contains("://") && !r.starts_with("pkcs11:") && !p.exists() {
            return Err(BadInput::in_file(p, "cannot read: no such file"));
        }
    }
    Ok(())
}

/// Who must have signed and what vouches for it (cosign's verification flags).
#[derive(Debug, Clone, Default)]
pub struct TrustOptions<'a> {
    /// The signer's identity, exactly.
    pub identity: Option<&'a str>,
    /// A regular expression the whole identity must match.
    pub identity_regexp: Option<&'a str>,
    /// The OIDC issuer, exactly.
    pub issuer: Option<&'a str>,
    /// A regular expression the whole OIDC issuer must match.
    pub issuer_regexp: Option<&'a str>,
    /// The Sigstore trusted root given on the command line.
    pub trusted_root: Option<&'a Path>,
    /// The installed trusted root, used for keyless verification without `trusted_root`.
    pub stored_root: Option<&'a Path>,
    /// Do not require or check a transparency-log entry.
    pub ignore_tlog: bool,
    /// Do not require the certificate's SCT.
    pub ignore_sct: bool,
    /// Verified transparency-log entries required.
    pub tlog_threshold: usize,
    /// Verified RFC 3161 timestamps required.
    pub timestamp_threshold: usize,
}

impl TrustOptions<'_> {
    /// Whether any keyless (identity or issuer) option is given.
    pub fn keyless(&self) -> bool {
        self.identity.is_some()
            || self.identity_regexp.is_some()
            || self.issuer.is_some()
            || self.issuer_regexp.is_some()
    }

    /// The thresholds and waivers every policy takes from the options.
    fn apply(&self, mut policy: Policy) -> Policy {
        policy.tlog_threshold = self.tlog_threshold;
        policy.timestamp_threshold = self.timestamp_threshold;
        policy.ignore_tlog = self.ignore_tlog;
        policy.ignore_sct = self.ignore_sct;
        policy
    }

    /// The key policy: `keys`, plus the transparency logs of the trusted root, whose entry is
    /// then required (cosign's rule) unless the log is ignored.
    pub fn key_policy(&self, keys: Vec<PublicKey>) -> Result<Checked<Policy>, BadInput> {
        let mut policy = Policy::keys(keys);
        if let Some(path) = self.trusted_root {
            let root = match TrustedRoot::for_logs(&read_file(path)?) {
                Ok(r) => r,
                Err(e) => return Ok(Err(attest_input(path, e).to_string())),
            };
            policy = policy.with_tlog_root(Arc::new(root));
            if !self.ignore_tlog {
                policy = policy.requiring_tlog();
            }
        }
        Ok(Ok(self.apply(policy)))
    }

    /// The keyless policy, or `None` when no keyless option is given.
    pub fn keyless_policy(&self) -> Result<Option<Checked<Policy>>, BadInput> {
        if !self.keyless() {
            return Ok(None);
        }
        let matcher =
            |exact: Option<&str>, re: Option<&str>| -> Result<Option<Matcher>, BadInput> {
                Ok(match (exact, re) {
                    (Some(s), _) => Some(Matcher::Exact(s.to_string())),
                    (None, Some(r)) => {
                        Some(Matcher::regex(r).map_err(|e| BadInput::new(e.to_string()))?)
                    }
                    (None, None) => None,
                })
            };
        let subject = matcher(self.identity, self.identity_regexp)?;
        let issuer = matcher(self.issuer, self.issuer_regexp)?;
        let (Some(subject), Some(issuer)) = (subject, issuer) else {
            return Err(BadInput::new(
                "keyless verification needs both the signer's identity and its OIDC issuer",
            )
            .with_hint(
                "give --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]",
            ));
        };
        let Some(root_path) = self.trusted_root.or(self.stored_root) else {
            return Err(BadInput::new("keyless verification needs --trusted-root").with_hint(
                "vouch verifies offline: pass a Sigstore trusted_root.json (e.g. from `cosign trusted-root`), or install one with `vouch trust import`",
            ));
        };
        let root = match TrustedRoot::from_json(&read_file(root_path)?) {
            Ok(r) => r,
            Err(e) => return Ok(Some(Err(attest_input(root_path, e).to_string()))),
        };
        let mut policy = Policy::keyless(Arc::new(root), vec![Identity { subject, issuer }]);
        policy.require_tlog = !self.ignore_tlog;
        Ok(Some(Ok(self.apply(policy))))
    }
}

/// Reads a bundle (or envelope) for verification. A document that is not a Sigstore bundle
/// at all (a JSON object sharing no field with one) was passed by mistake: usage. Anything
/// that claims to be a bundle and is malformed or unsupported is a failed verification, as in
/// every Sigstore client.
pub fn read_evidence(path: &Path) -> Result<Checked<Evidence>, BadInput> {
    let bytes = read_file(path)?;
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        const FIELDS: [&str; 8] = [
            "mediaType",
            "media_type",
            "verificationMaterial",
            "verification_material",
            "messageSignature",
            "dsseEnvelope",
            "payloadType",
            "signatures",
        ];
        if !o.keys().any(|k| FIELDS.contains(&k.as_str())) {
            return Err(
                BadInput::in_file(path, "not a Sigstore bundle or DSSE envelope")
                    .with_hint("--bundle takes the .sigstore.json file the signer wrote"),
            );
        }
    }
    Ok(Evidence::from_json(&bytes).map_err(|e| attest_input(path, e).to_string()))
}

/// A subject as given: a file, or a digest (`sha256:<hex>`, `sha512:<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A file that exists.
    File(PathBuf),
    /// A digest.
    Digest(SubjectDigest),
}

impl Subject {
    /// A path that exists is a file; otherwise a digest, or a usage error.
    pub fn parse(s: &str) -> Result<Subject, BadInput> {
        let p = Path::new(s);
        if p.exists() {
            return Ok(Subject::File(p.to_path_buf()));
        }
        if let Some(d) = SubjectDigest::parse(s) {
            return Ok(Subject::Digest(d));
        }
        if s.split_once(':').is_some_and(|(a, _)| a.starts_with("sha")) {
            return Err(BadInput::new(format!("`{s}` is not a digest"))
                .with_hint("a digest is sha256:<64 hex> or sha512:<128 hex>"));
        }
        Err(BadInput::in_file(p, "cannot read: no such file"))
    }

    /// The digests the subject is known by: a file by its sha256 and sha512 (npm statements
    /// name packages by sha512), read once.
    pub fn digests(&self) -> Result<Vec<SubjectDigest>, BadInput> {
        let p = match self {
            Subject::Digest(d) => return Ok(vec![d.clone()]),
            Subject::File(p) => p,
        };
        let mut h256 = HashAlgorithm::Sha256.hasher();
        let mut h512 = HashAlgorithm::Sha512.hasher();
        let mut r = open_file(p)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = r
                .read(&mut buf)
                .map_err(|e| BadInput::in_file(p, format!("cannot read: {e}")))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            h256.update(chunk);
            h512.update(chunk);
        }
        Ok([h256.finish(), h512.finish()]
            .into_iter()
            .map(|d| SubjectDigest {
                algorithm: d.algorithm,
                value: d.value,
            })
            .collect())
    }
}

/// Usage comes first: every path given must exist before any evidence is judged (`-` is
/// standard input).
fn require_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), BadInput> {
    for p in paths {
        if p != Path::new("-") && !p.exists() {
            return Err(BadInput::in_file(p, "cannot read: no such file"));
        }
    }
    Ok(())
}

/// `verify-blob`: a file or digest against a bundle or a raw signature.
pub struct VerifyBlobRequest<'a> {
    /// The file, or its digest.
    pub subject: &'a str,
    /// The Sigstore bundle.
    pub bundle: Option<&'a Path>,
    /// A raw base64 signature instead (`-` or `None`: standard input).
    pub signature: Option<&'a Path>,
    /// Trusted key references (key verification).
    pub keys: &'a [String],
    /// Keyless identities, trusted root, thresholds and waivers.
    pub trust: &'a TrustOptions<'a>,
    /// Loads `keys`.
    pub load_keys: &'a KeyLoader<'a>,
}

/// Verifies a blob: the outcome, `Ok(Err)` when the evidence cannot be used.
pub fn verify_blob(req: &VerifyBlobRequest<'_>) -> Result<Checked<Outcome>, BadInput> {
    let subject = Subject::parse(req.subject)?;
    require_paths(
        req.bundle
            .into_iter()
            .chain(req.signature)
            .chain(req.trust.trusted_root),
    )?;
    let policy = match req.trust.keyless_policy()? {
        Some(_) if req.signature.is_some() => {
            return Err(
                BadInput::new("--signature is for key signatures; keyless needs --bundle")
                    .with_hint("the bundle carries the certificate and the log entry"),
            );
        }
        Some(p) => p,
        None => match (req.load_keys)(req.keys)? {
            Ok(keys) => req.trust.key_policy(keys)?,
            Err(reason) => Err(reason),
        },
    };
    let policy = match policy {
        Ok(p) => p,
        Err(reason) => return Ok(Err(reason)),
    };
    let verifier = Verifier::new(policy);
    if let Some(bpath) = req.bundle {
        let bundle = match read_evidence(bpath)? {
            Ok(Evidence::Bundle(b)) => b,
            Ok(Evidence::Envelope(_)) => {
                return Ok(Err(format!(
                    "{}: a DSSE envelope, not a blob bundle (use verify-attestation)",
                    bpath.display()
                )));
            }
            Err(reason) => return Ok(Err(reason)),
        };
        return match &subject {
            Subject::File(p) => verifier.verify_blob(&bundle, open_file(p)?),
            Subject::Digest(d) => verifier.verify_blob_digest(&bundle, d),
        }
        .map(Ok)
        .map_err(|e| attest_input(bpath, e));
    }
    let Subject::File(file) = &subject else {
        return Err(
            BadInput::new("--signature needs the file itself, not its digest")
                .with_hint("pass the file, or verify a bundle"),
        );
    };
    let spath = req.signature.unwrap_or(Path::new("-"));
    let text = read_file(spath)?;
    let text = String::from_utf8_lossy(&text);
    let Some(sig) = crate::b64::decode(text.trim()) else {
        return Ok(Err(format!(
            "{}: not a signature: not base64",
            spath.display()
        )));
    };
    verifier
        .verify_blob_signature(&sig, None, open_file(file)?)
        .map(Ok)
        .map_err(|e| attest_input(spath, e))
}

/// `verify-attestation`: an attestation about a file or digest.
pub struct VerifyAttestationRequest<'a> {
    /// The artifact, or its digest.
    pub subject: &'a str,
    /// The bundle or raw DSSE envelope.
    pub bundle: &'a Path,
    /// The required predicate type (a name or URI), if any.
    pub predicate_type: Option<&'a str>,
    /// Trusted key references.
    pub keys: &'a [String],
    /// How many distinct trusted keys must have signed (key verification only).
    pub threshold: usize,
    /// Keyless identities, trusted root, thresholds and waivers.
    pub trust: &'a TrustOptions<'a>,
    /// Loads `keys`.
    pub load_keys: &'a KeyLoader<'a>,
}

/// Verifies an attestation: the outcome (with the statement when verified), `Ok(Err)` when
/// the evidence cannot be used.
pub fn verify_attestation(
    req: &VerifyAttestationRequest<'_>,
) -> Result<Checked<Outcome>, BadInput> {
    require_paths(std::iter::once(req.bundle).chain(req.trust.trusted_root))?;
    let subject = Subject::parse(req.subject)?.digests()?;
    let keyless = req.trust.keyless_policy()?;
    if keyless.is_some() && req.threshold != 1 {
        return Err(
            BadInput::new("--threshold applies to keys; a keyless bundle has one signer")
                .with_hint("drop --threshold"),
        );
    }
    if keyless.is_none() && (req.threshold == 0 || req.threshold > req.keys.len()) {
        return Err(BadInput::new(format!(
            "--threshold {} with {} --key",
            req.threshold,
            req.keys.len()
        ))
        .with_hint("the threshold is between 1 and the number of keys"));
    }
    let policy = match keyless {
        Some(p) => p,
        None => match (req.load_keys)(req.keys)? {
            Ok(keys) => req
                .trust
                .key_policy(keys)?
                .map(|p| p.with_threshold(req.threshold)),
            Err(reason) => Err(reason),
        },
    };
    let mut policy = match policy {
        Ok(p) => p,
        Err(reason) => return Ok(Err(reason)),
    };
    if let Some(t) = req.predicate_type {
        let pt = PredicateType::resolve(t).map_err(|e| BadInput::new(e.to_string()))?;
        policy = policy.with_predicate_type(pt);
    }
    let evidence = match read_evidence(req.bundle)? {
        Ok(e) => e,
        Err(reason) => return Ok(Err(reason)),
    };
    Verifier::new(policy)
        .verify_attestation_for(&evidence, &subject)
        .map(Ok)
        .map_err(|e| attest_input(req.bundle, e))
}

/// What `attest` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestFormat {
    /// A Sigstore bundle: one signature, may carry a log entry.
    Bundle,
    /// A raw DSSE envelope: several signatures.
    Dsse,
}

/// `attest`: a statement about a file, signed.
pub struct AttestRequest<'a> {
    /// The artifact the statement is about.
    pub subject: &'a Path,
    /// The predicate (a JSON file).
    pub predicate: &'a Path,
    /// The predicate type: a name (`slsaprovenance`, `spdx` …) or a URI.
    pub predicate_type: &'a str,
    /// Signing key references, one signature each.
    pub keys: &'a [String],
    /// Bundle or envelope.
    pub format: AttestFormat,
    /// Whether the caller will log the bundle (needs [`AttestFormat::Bundle`]).
    pub log: bool,
    /// Loads each of `keys`.
    pub load_signer: &'a SignerLoader<'a>,
}

/// A signed attestation.
#[derive(Debug)]
pub enum Attested {
    /// A bundle, and the key that signed it (for logging it).
    Bundle {
        /// The bundle.
        bundle: Box<Bundle>,
        /// The signer's public key.
        key: PublicKey,
    },
    /// A DSSE envelope.
    Envelope(Envelope),
}

impl Attested {
    /// The JSON the command writes.
    pub fn to_json(&self) -> Vec<u8> {
        match self {
            Attested::Bundle { bundle, .. } => bundle.to_json(),
            Attested::Envelope(e) => e.to_json(),
        }
    }
}

/// The in-toto statement `attest` signs: about `subject` (its file name and sha256), with
/// the predicate read from `predicate` (a JSON file) of type `predicate_type` (a name or a
/// URI). Keyless attestation builds the same statement.
pub fn attest_statement(
    subject: &Path,
    predicate: &Path,
    predicate_type: &str,
) -> Result<Statement, BadInput> {
    let ptype = PredicateType::resolve(predicate_type).map_err(|e| {
        BadInput::new(e.to_string()).with_hint(
            "use slsaprovenance, slsaprovenance1, slsaprovenance02, link, spdx, spdxjson, cyclonedx, vuln, openvex, custom or a URI",
        )
    })?;
    let pred_bytes = read_file(predicate)?;
    let predicate_json: serde_json::Value = serde_json::from_slice(&pred_bytes).map_err(|e| {
        BadInput::at(
            predicate,
            u32::try_from(e.line()).unwrap_or(0),
            u32::try_from(e.column()).unwrap_or(0),
            format!("not JSON: {e}"),
        )
    })?;
    if ptype.uri == statement::SLSA_V1 {
        statement::validate_slsa_v1(&predicate_json).map_err(|e| {
            BadInput::in_file(predicate, e.to_string())
                .with_hint("see https://slsa.dev/provenance/v1")
        })?;
    }
    let digest = sha256_file(subject)?;
    let name = subject
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| subject.display().to_string());
    Ok(Statement::new(&name, &digest, &ptype.uri, predicate_json))
}

/// Builds the in-toto statement about the subject (its file name and sha256) and signs it.
pub fn attest(req: &AttestRequest<'_>) -> Result<Attested, BadInput> {
    if req.format == AttestFormat::Bundle && req.keys.len() > 1 {
        return Err(BadInput::new("a Sigstore bundle carries one signature")
            .with_hint("use --format dsse for several --key"));
    }
    let st = attest_statement(req.subject, req.predicate, req.predicate_type)?;
    let signers: Vec<Box<dyn Signer>> = req
        .keys
        .iter()
        .map(|k| (req.load_signer)(k))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&dyn Signer> = signers.iter().map(|s| s.as_ref()).collect();
    for (i, (s, keyref)) in refs.iter().zip(req.keys).enumerate() {
        if refs[..i].iter().any(|o| o.public_key() == s.public_key()) {
            return Err(BadInput::new(format!(
                "--key {keyref} is the same key as an earlier --key"
            ))
            .with_hint("each signature must come from a different key"));
        }
    }
    if req.log && req.format == AttestFormat::Dsse {
        return Err(
            BadInput::new("--tlog puts the log entry in a Sigstore bundle")
                .with_hint("drop --format dsse, or log the envelope with `vouch log add`"),
        );
    }
    let attest_err = |e| attest_input(req.predicate, e);
    match (req.format, refs.first()) {
        (AttestFormat::Bundle, Some(signer)) => Ok(Attested::Bundle {
            bundle: Box::new(sign::attest(*signer, &st).map_err(attest_err)?),
            key: signer.public_key().clone(),
        }),
        _ => Ok(Attested::Envelope(
            sign::attest_envelope(&refs, &st).map_err(attest_err)?,
        )),
    }
}

/// A file signed by `sign-blob`.
#[derive(Debug)]
pub struct SignedFile {
    /// The bundle (no log entry yet).
    pub bundle: Bundle,
    /// The raw signature, base64.
    pub signature: String,
}

/// Signs a file (streamed, constant memory for ECDSA keys) into a bundle and a raw signature.
pub fn sign_file(signer: &dyn Signer, file: &Path) -> Result<SignedFile, BadInput> {
    let sig = sign::sign_blob_raw(signer, open_file(file)?).map_err(|e| attest_input(file, e))?;
    let signature = crate::b64::encode(&sig.signature);
    Ok(SignedFile {
        bundle: sign::blob_bundle(signer, sig),
        signature,
    })
}

/// `bundle digest`: `sha256:HEX` of the canonical JSON of a bundle or envelope.
pub fn bundle_digest(path: &Path) -> Result<String, BadInput> {
    let bytes = read_file(path)?;
    let digest = match Evidence::from_json(&bytes).map_err(|e| attest_input(path, e))? {
        Evidence::Bundle(b) => b.canonical_digest(),
        Evidence::Envelope(e) => e.canonical_digest(),
    };
    Ok(format!("sha256:{digest}"))
}

/// `log add --bundle`: reads a key-signed bundle and checks its signature against `key`
/// (only a signature that verifies is worth logging). A bundle with a message signature is
/// checked over the digest it claims: the artifact is not at hand.
pub fn bundle_to_log(path: &Path, key: &PublicKey) -> Result<Bundle, BadInput> {
    use crate::bundle::Content;
    let bytes = std::fs::read(path).map_err(|e| BadInput::in_file(path, e.to_string()))?;
    let bundle = Bundle::from_json(&bytes).map_err(|e| BadInput::in_file(path, e.to_string()))?;
    let problem: Option<String> = match bundle.content() {
        Some(Content::Dsse(_)) => {
            let verifier = Verifier::new(Policy::keys(vec![key.clone()]));
            let outcome = verifier
                .verify_attestation(&Evidence::Bundle(Box::new(bundle.clone())), None)
                .map_err(|e| BadInput::in_file(path, e.to_string()))?;
            (!outcome.is_verified()).then(|| outcome.message())
        }
        Some(Content::Message(ms)) => {
            let digest = ms
                .message_digest
                .as_ref()
                .filter(|d| d.algorithm == "SHA2_256")
                .ok_or_else(|| {
                    BadInput::in_file(path, "the bundle has no SHA2_256 messageDigest")
                })?;
            let prehash = vouch_crypto::keys::Prehash {
                algorithm: HashAlgorithm::Sha256,
                value: digest.digest.0.clone(),
            };
            key.verify_prehashed(&prehash, &ms.signature.0)
                .err()
                .map(|_| "the signature was not made by --public-key".to_string())
        }
        None => Some("the bundle has no content".into()),
    };
    match problem {
        Some(why) => Err(BadInput::in_file(path, why)
            .with_hint("log only bundles that verify with --public-key")),
        None => Ok(bundle),
    }
}

/// A key pair's two files: `PREFIX.key` (PKCS#8 PEM, encrypted unless the passphrase is
/// empty) and `PREFIX.pub` (SPKI PEM).
#[derive(Debug)]
pub struct KeyPairFiles {
    /// The private key's path and PEM.
    pub private: (PathBuf, Zeroizing<String>),
    /// The public key's path and PEM.
    pub public: (PathBuf, String),
}

/// The files for `key`, refusing to replace existing ones unless `replace`.
pub fn key_pair(
    key: &PrivateKey,
    prefix: &str,
    replace: bool,
    passphrase: &str,
) -> Result<KeyPairFiles, BadInput> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    if !replace {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(
                    BadInput::in_file(p, "already exists").with_hint("pass --force to overwrite")
                );
            }
        }
    }
    let pem = key
        .to_pem((!passphrase.is_empty()).then_some(passphrase.as_bytes()))
        .map_err(|e| BadInput::new(e.to_string()))?;
    Ok(KeyPairFiles {
        private: (key_path, pem),
        public: (pub_path, key.public_key().to_pem()),
    })
}

/// The text of a PEM key file (`key import-cosign`).
pub fn read_key_text(path: &Path) -> Result<String, BadInput> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| BadInput::in_file(path, "not a PEM key: not text"))
}

fn sha256_file(path: &Path) -> Result<String, BadInput> {
    let mut h = HashAlgorithm::Sha256.hasher();
    h.update_reader(open_file(path)?)
        .map_err(|e| BadInput::in_file(path, format!("cannot read: {e}")))?;
    Ok(h.finish().to_hex())
}

fn read_file(path: &Path) -> Result<Vec<u8>, BadInput> {
    std::fs::read(path).map_err(|e| BadInput::in_file(path, format!("cannot read: {e}")))
}

fn open_file(path: &Path) -> Result<BufReader<File>, BadInput> {
    File::open(path)
        .map(|f| BufReader::with_capacity(256 * 1024, f))
        .map_err(|e| BadInput::in_file(path, format!("cannot read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_crypto::keys::KeyAlgorithm;

    fn key() -> PublicKey {
        PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .unwrap()
            .public_key()
            .clone()
    }

    /// A trusted root naming one vouch log, as `vouch log trusted-root` prints it.
    fn log_root(dir: &Path) -> PathBuf {
        let signer =
            vouch_tlog::note::Signer::generate("example.com/log", vouch_tlog::note::ALG_ED25519)
                .unwrap();
        let root = vouch_tlog::rekor::trusted_root_json(&signer.verifier(), "2024-01-01T00:00:00Z")
            .unwrap();
        let path = dir.join("root.json");
        std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
        path
    }

    fn no_keys(_: &[String]) -> Result<Checked<Vec<PublicKey>>, BadInput> {
        Ok(Ok(Vec::new()))
    }

    #[test]
    fn a_trusted_root_requires_a_log_entry_unless_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = log_root(dir.path());
        let trust = TrustOptions {
            trusted_root: Some(&root),
            tlog_threshold: 1,
            ..TrustOptions::default()
        };
        let p = trust.key_policy(vec![key()]).unwrap().unwrap();
        assert!(p.require_tlog && p.trusted_root.is_some() && !p.ignore_tlog);

        let ignored = TrustOptions {
            ignore_tlog: true,
            ..trust.clone()
        };
        let p = ignored.key_policy(vec![key()]).unwrap().unwrap();
        assert!(!p.require_tlog && p.ignore_tlog);

        let none = TrustOptions::default()
            .key_policy(vec![key()])
            .unwrap()
            .unwrap();
        assert!(!none.require_tlog && none.trusted_root.is_none());
    }

    #[test]
    fn thresholds_and_waivers_come_from_the_options() {
        let trust = TrustOptions {
            tlog_threshold: 2,
            timestamp_threshold: 1,
            ignore_sct: true,
            ..TrustOptions::default()
        };
        let p = trust.key_policy(vec![key()]).unwrap().unwrap();
        assert_eq!((p.tlog_threshold, p.timestamp_threshold), (2, 1));
        assert!(p.ignore_sct);
    }

    #[test]
    fn an_unusable_trusted_root_fails_verification_a_missing_one_is_usage() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\"mediaType\": 3}").unwrap();
        let trust = TrustOptions {
            trusted_root: Some(&bad),
            ..TrustOptions::default()
        };
        let reason = trust.key_policy(vec![key()]).unwrap().unwrap_err();
        assert!(
            reason.starts_with(&format!("{}:", bad.display())),
            "{reason}"
        );

        let keyless = TrustOptions {
            identity: Some("me@example.com"),
            issuer: Some("https://issuer.example"),
            ..trust.clone()
        };
        assert!(keyless.keyless_policy().unwrap().unwrap().is_err());

        let missing = dir.path().join("missing.json");
        let trust = TrustOptions {
            trusted_root: Some(&missing),
            ..TrustOptions::default()
        };
        let e = trust.key_policy(vec![key()]).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(missing.as_path()));
        assert!(e.message.starts_with("cannot read:"));
    }

    #[test]
    fn keyless_needs_identity_issuer_and_a_root() {
        assert!(TrustOptions::default().keyless_policy().unwrap().is_none());
        let half = TrustOptions {
            identity: Some("me@example.com"),
            ..TrustOptions::default()
        };
        let e = half.keyless_policy().unwrap_err();
        assert!(
            e.message
                .contains("both the signer's identity and its OIDC issuer")
        );
        let no_root = TrustOptions {
            issuer_regexp: Some("https://.*"),
            ..half
        };
        let e = no_root.keyless_policy().unwrap_err();
        assert_eq!(e.message, "keyless verification needs --trusted-root");
        let bad_re = TrustOptions {
            identity: None,
            identity_regexp: Some("("),
            issuer: Some("x"),
            ..TrustOptions::default()
        };
        assert!(bad_re.keyless_policy().is_err());
    }

    #[test]
    fn subjects_are_files_or_digests() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"hello").unwrap();
        let s = Subject::parse(file.to_str().unwrap()).unwrap();
        assert_eq!(s, Subject::File(file.clone()));
        let d = s.digests().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            hex::encode(&d[0].value),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(d[1].value.len(), 64);

        let hex256 = "ab".repeat(32);
        let s = Subject::parse(&format!("sha256:{hex256}")).unwrap();
        assert!(matches!(&s, Subject::Digest(_)));
        assert_eq!(s.digests().unwrap().len(), 1);

        let e = Subject::parse("sha256:abc").unwrap_err();
        assert_eq!(e.message, "`sha256:abc` is not a digest");
        assert!(e.file.is_none());
        let missing = dir.path().join("missing");
        let e = Subject::parse(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(missing.as_path()));
        assert_eq!(e.message, "cannot read: no such file");
    }

    #[test]
    fn missing_evidence_is_usage_a_malformed_bundle_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"hello").unwrap();
        let missing = dir.path().join("missing.sigstore.json");
        let trust = TrustOptions::default();
        let req = VerifyBlobRequest {
            subject: file.to_str().unwrap(),
            bundle: Some(&missing),
            signature: None,
            keys: &[],
            trust: &trust,
            load_keys: &no_keys,
        };
        let e = verify_blob(&req).err().unwrap();
        assert_eq!(e.file.as_deref(), Some(missing.as_path()));

        let not_bundle = dir.path().join("x.json");
        std::fs::write(&not_bundle, b"{\"name\": 1}").unwrap();
        assert!(read_evidence(&not_bundle).is_err());
        let malformed = dir.path().join("m.json");
        std::fs::write(&malformed, b"{\"mediaType\": 1}").unwrap();
        assert!(read_evidence(&malformed).unwrap().is_err());
        let bundle_req = VerifyBlobRequest {
            bundle: Some(&malformed),
            ..req
        };
        assert!(verify_blob(&bundle_req).unwrap().is_err());
    }

    #[test]
    fn attest_and_verify_round_trip_with_a_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.tar");
        std::fs::write(&file, b"artifact").unwrap();
        let predicate = dir.path().join("p.json");
        std::fs::write(&predicate, b"{\"ok\": true}").unwrap();
        let keys: Vec<PrivateKey> = (0..2)
            .map(|_| PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
            .collect();
        let refs = vec!["a".to_string(), "b".to_string()];
        let pick = |k: &str| -> usize { usize::from(k == "b") };
        let signer = |k: &str| -> Result<Box<dyn Signer>, BadInput> {
            let pem = keys[pick(k)].to_pem(None).unwrap();
            Ok(Box::new(PrivateKey::from_pem(&pem, None).unwrap()))
        };
        let req = AttestRequest {
            subject: &file,
            predicate: &predicate,
            predicate_type: "custom",
            keys: &refs,
            format: AttestFormat::Bundle,
            log: false,
            load_signer: &signer,
        };
        assert!(attest(&req).unwrap_err().message.contains("one signature"));
        let envelope = attest(&AttestRequest {
            format: AttestFormat::Dsse,
            ..req
        })
        .unwrap();
        let env_path = dir.path().join("att.json");
        std::fs::write(&env_path, envelope.to_json()).unwrap();

        let public: Vec<PublicKey> = keys.iter().map(|k| k.public_key().clone()).collect();
        let load =
            |_: &[String]| -> Result<Checked<Vec<PublicKey>>, BadInput> { Ok(Ok(public.clone())) };
        let trust = TrustOptions::default();
        let verify = |threshold| {
            verify_attestation(&VerifyAttestationRequest {
                subject: file.to_str().unwrap(),
                bundle: &env_path,
                predicate_type: Some("custom"),
                keys: &refs,
                threshold,
                trust: &trust,
                load_keys: &load,
            })
        };
        assert!(verify(2).unwrap().unwrap().is_verified());
        assert!(
            verify(3)
                .unwrap_err()
                .message
                .starts_with("--threshold 3 with 2")
        );

        let same = vec!["a".to_string(), "a".to_string()];
        let e = attest(&AttestRequest {
            keys: &same,
            format: AttestFormat::Dsse,
            ..req
        })
        .unwrap_err();
        assert_eq!(e.message, "--key a is the same key as an earlier --key");
    }

    #[test]
    fn only_a_bundle_that_verifies_with_the_key_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"hello").unwrap();
        let signer = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let signed = sign_file(&signer, &file).unwrap();
        let path = dir.path().join("a.sigstore.json");
        std::fs::write(&path, signed.bundle.to_json()).unwrap();
        assert!(bundle_to_log(&path, signer.public_key()).is_ok());
        let e = bundle_to_log(&path, &key()).unwrap_err();
        assert_eq!(e.message, "the signature was not made by --public-key");
        assert_eq!(
            bundle_digest(&path).unwrap(),
            format!("sha256:{}", signed.bundle.canonical_digest())
        );
    }
}
