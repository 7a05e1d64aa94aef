//! Signing commands: `key`, `sign-blob`, `verify-blob`, `attest`, `verify-attestation`,
//! `bundle digest`. Flag names follow cosign.
//!
//! Secrets come from the environment: `VOUCH_PASSWORD` (key passphrase; a prompt on a
//! terminal when unset), `VOUCH_PKCS11_PIN` (HSM user PIN), `VOUCH_PKCS11_MODULE` (module path
//! when the URI has none).

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use vouch_attest::AttestError;
use vouch_attest::TrustedRoot;
use vouch_attest::sign;
use vouch_attest::statement::{self, PredicateType, Statement};
use vouch_attest::verify::{Evidence, Identity, Matcher, Outcome, Policy, SubjectDigest, Verifier};
use vouch_attest::vouch_crypto::keys::{
    HashAlgorithm, KeyAlgorithm, KeyError, PrivateKey, PublicKey,
};
use vouch_attest::vouch_crypto::signer::{self, KeyRef, SecretInputs, Signer, Zeroizing};
use vouch_core::InputError;

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum SigningCommand {
    /// Create or import signing keys.
    #[command(subcommand)]
    Key(KeyCommand),

    /// Sign a file into a Sigstore bundle (v0.3) and/or a raw base64 signature.
    ///
    /// The file is streamed (constant memory) for ECDSA keys. Without --bundle or
    /// --output-signature the bundle goes to stdout (or -o FILE).
    SignBlob(SignBlobArgs),

    /// Verify a file (or a digest, `sha256:<hex>`) against a Sigstore bundle and a public
    /// key or a certificate identity, offline.
    ///
    /// Reads bundles v0.1–v0.3 from any Sigstore client (cosign, sigstore-python, GitHub,
    /// npm): Rekor v1 entries (SET, inclusion proof) and Rekor v2 entries, RFC 3161
    /// timestamps, Fulcio certificates with their SCT. The report lists each check that ran.
    ///
    /// Exit 0 verified; 1 not verified, including a malformed or unsupported bundle, key,
    /// certificate or trusted root; 2 usage (a missing file, a bad flag).
    VerifyBlob(VerifyBlobArgs),

    /// Sign an in-toto Statement v1 about SUBJECT (a DSSE envelope inside a bundle).
    ///
    /// The statement's subject is SUBJECT's file name and sha256; its predicate is the JSON in
    /// --predicate, of type --type. `--format dsse` writes a raw DSSE envelope instead, which
    /// may carry several signatures (`--key a.key --key b.key`).
    Attest(AttestArgs),

    /// Verify an attestation: signature(s), log entry, timestamps, certificate, subject
    /// digest and predicate type.
    ///
    /// SUBJECT is the artifact's file or its digest (`sha256:<hex>`, `sha512:<hex>`: npm
    /// provenance names packages by sha512). Exit 1 says which check failed; a malformed or
    /// unsupported bundle is exit 1 too; 2 is usage only.
    VerifyAttestation(VerifyAttestationArgs),

    /// Work with bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: NAME.key (PKCS#8 PEM, encrypted with VOUCH_PASSWORD) and NAME.pub.
    ///
    /// Encryption: PBES2 with PBKDF2-HMAC-SHA256 (600 000 iterations) and AES-256-CBC, the
    /// format OpenSSL 3 writes. An empty VOUCH_PASSWORD writes an unencrypted key.
    Generate(GenerateArgs),

    /// Import a cosign key (ENCRYPTED SIGSTORE PRIVATE KEY) into vouch's format.
    ///
    /// The cosign passphrase is read from COSIGN_PASSWORD (or VOUCH_PASSWORD); the new key is
    /// encrypted with VOUCH_PASSWORD.
    ImportCosign(ImportCosignArgs),

    /// Print the public key (SPKI PEM) of a private key, env:// key or pkcs11: key.
    PublicKey {
        /// The key: a PEM path, env://VAR, or a pkcs11: URI.
        #[arg(long, value_name = "KEYREF")]
        key: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    pub algorithm: AlgorithmArg,
    /// Write NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME", default_value = "vouch")]
    pub output_key_prefix: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportCosignArgs {
    /// The cosign private key file.
    pub key: PathBuf,
    /// Write NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME", default_value = "import")]
    pub output_key_prefix: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// Private key: a PEM path, env://VAR, or a pkcs11: URI.
    #[arg(long, value_name = "KEYREF")]
    pub key: String,
    /// Write the Sigstore bundle here.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Write the raw signature (base64) here.
    #[arg(long, value_name = "FILE")]
    pub output_signature: Option<PathBuf>,
    /// Log the signature in this vouch transparency log (a `vouch log init` directory; its
    /// key DIR.key must be beside it) and put the entry, its inclusion proof and the signed
    /// checkpoint in the bundle (Rekor v2 shape: hashedrekord v0.0.2). The entry is durable
    /// before the bundle is written.
    #[arg(long, value_name = "DIR")]
    pub tlog: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The file to verify, or its digest (`sha256:<hex>`, `sha512:<hex>`) as cosign accepts.
    #[arg(value_name = "FILE|DIGEST")]
    pub file: String,
    /// The Sigstore bundle.
    #[arg(long, value_name = "FILE", required_unless_present = "signature")]
    pub bundle: Option<PathBuf>,
    /// A raw base64 signature (from --output-signature) instead of a bundle.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub signature: Option<PathBuf>,
    /// Public key: a PEM path, env://VAR, or a pkcs11: URI. Repeat to accept any of several.
    /// Not needed for a keyless (certificate) bundle: give the identity flags instead.
    #[arg(long, value_name = "KEYREF", required_unless_present_any = KEYLESS_IDS)]
    pub key: Vec<String>,
    #[command(flatten)]
    pub keyless: KeylessArgs,
}

const KEYLESS_IDS: [&str; 2] = ["certificate_identity", "certificate_identity_regexp"];

/// Keyless verification (cosign-compatible flags): who must have signed, and the trust root.
#[derive(Debug, Args)]
pub struct KeylessArgs {
    /// Keyless: the signer's identity, exactly as in the certificate's subject alternative
    /// name (an email, or a URI such as a CI workflow). Needs an OIDC issuer flag and
    /// --trusted-root.
    #[arg(long, value_name = "SAN", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,
    /// Keyless: a regular expression the whole identity must match (as cosign:
    /// `--certificate-identity-regexp '.*@example\.com'`).
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer that authenticated the signer, exactly
    /// (e.g. https://token.actions.githubusercontent.com).
    #[arg(long, value_name = "URL", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: a regular expression the whole OIDC issuer must match.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The Sigstore trusted root (trustedroot+json v0.1). Keyless: the CAs, Rekor and CT log
    /// keys; vouch never fetches one: for the public Sigstore instance, save it once with
    /// `cosign trusted-root` or from sigstore/root-signing and pass the file. With --key: the
    /// transparency logs whose entries in the bundle are checked (`vouch log trusted-root`
    /// prints one for a vouch log); an entry that does not verify fails the bundle.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Fail unless the bundle carries a transparency-log entry that verifies against
    /// --trusted-root. This is the default whenever --trusted-root is given; the flag stays
    /// for scripts written before.
    #[arg(
        long,
        requires = "trusted_root",
        conflicts_with = "insecure_ignore_tlog"
    )]
    pub require_tlog: bool,
    /// Do not require or check a transparency-log entry (cosign's flag). Without a log
    /// entry nothing public vouches for the signature; for private instances only.
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Do not require the certificate's embedded SCT (cosign's flag; private CAs without a
    /// certificate-transparency log).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
    /// How many verified transparency-log entries are required (sigstore-go's flag).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub tlog_threshold: usize,
    /// How many verified RFC 3161 timestamps are required (sigstore-go's flag; 0: a log
    /// entry's SET is enough).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub timestamp_threshold: usize,
}

impl KeylessArgs {
    fn given(&self) -> bool {
        self.certificate_identity.is_some()
            || self.certificate_identity_regexp.is_some()
            || self.certificate_oidc_issuer.is_some()
            || self.certificate_oidc_issuer_regexp.is_some()
    }

    /// The thresholds and waivers every policy takes from these flags.
    fn apply(&self, mut policy: Policy) -> Policy {
        policy.tlog_threshold = self.tlog_threshold;
        policy.timestamp_threshold = self.timestamp_threshold;
        policy.ignore_tlog = self.insecure_ignore_tlog;
        policy.ignore_sct = self.insecure_ignore_sct;
        policy
    }

    /// The key policy: `keys`, plus the transparency logs of --trusted-root, whose entry is
    /// then required (cosign's rule) unless --insecure-ignore-tlog.
    fn key_policy(&self, keys: Vec<PublicKey>) -> Result<Checked<Policy>> {
        let mut policy = Policy::keys(keys);
        if let Some(path) = &self.trusted_root {
            let root = match TrustedRoot::for_logs(&read_file(path)?) {
                Ok(r) => r,
                Err(e) => return Ok(Err(attest_error(path, e).to_string())),
            };
            policy = policy.with_tlog_root(Arc::new(root));
            if !self.insecure_ignore_tlog {
                policy = policy.requiring_tlog();
            }
        }
        Ok(Ok(self.apply(policy)))
    }

    /// The keyless policy, or `None` when no keyless flag is given.
    fn policy(&self) -> Result<Option<Checked<Policy>>> {
        if !self.given() {
            return Ok(None);
        }
        let usage = |what: &str, hint: &str| anyhow!(InputError::new(what).with_hint(hint));
        let matcher = |exact: &Option<String>, re: &Option<String>| -> Result<Option<Matcher>> {
            Ok(match (exact, re) {
                (Some(s), _) => Some(Matcher::Exact(s.clone())),
                (None, Some(r)) => {
                    Some(Matcher::regex(r).map_err(|e| anyhow!(InputError::new(e.to_string())))?)
                }
                (None, None) => None,
            })
        };
        let subject = matcher(
            &self.certificate_identity,
            &self.certificate_identity_regexp,
        )?;
        let issuer = matcher(
            &self.certificate_oidc_issuer,
            &self.certificate_oidc_issuer_regexp,
        )?;
        let (Some(subject), Some(issuer)) = (subject, issuer) else {
            return Err(usage(
                "keyless verification needs both the signer's identity and its OIDC issuer",
                "give --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]",
            ));
        };
        let stored = crate::commands::trust::stored_root();
        let Some(root_path) = self.trusted_root.as_ref().or(stored.as_ref()) else {
            return Err(usage(
                "keyless verification needs --trusted-root",
                "vouch verifies offline: pass a Sigstore trusted_root.json (e.g. from `cosign trusted-root`), or install one with `vouch trust import`",
            ));
        };
        let root = match TrustedRoot::from_json(&read_file(root_path)?) {
            Ok(r) => r,
            Err(e) => return Ok(Some(Err(attest_error(root_path, e).to_string()))),
        };
        let mut policy = Policy::keyless(Arc::new(root), vec![Identity { subject, issuer }]);
        policy.require_tlog = !self.insecure_ignore_tlog;
        Ok(Some(Ok(self.apply(policy))))
    }
}

/// Evidence that could be read: `Err` holds why a bundle, key or trusted root is unusable,
/// which is a failed verification (exit 1), not a usage error.
type Checked<T> = std::result::Result<T, String>;

/// Prints why the evidence is unusable; exit 1.
fn evidence_failure(reason: &str) -> u8 {
    eprintln!("error: {reason}");
    eprintln!("Verification failed");
    1
}

/// Reads trusted keys for verification: a key file that is not a usable public key is bad
/// evidence (exit 1); a missing file is a usage error (exit 2).
pub(crate) fn verification_keys(refs: &[String]) -> Result<Checked<Vec<PublicKey>>> {
    for r in refs {
        let p = Path::new(r);
        if !r.contains("://") && !r.starts_with("pkcs11:") && !p.exists() {
            return Err(anyhow!(InputError::in_file(p, "cannot read: no such file")));
        }
    }
    Ok(load_public_keys(refs).map_err(|e| e.to_string()))
}

/// Reads a bundle (or envelope) for verification. A document that is not a Sigstore bundle
/// at all (a JSON object sharing no field with one) was passed by mistake: usage, exit 2.
/// Anything that claims to be a bundle and is malformed or unsupported is a failed
/// verification, exit 1, as in every Sigstore client.
fn read_evidence(path: &Path) -> Result<Checked<Evidence>> {
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
            return Err(anyhow!(
                InputError::in_file(path, "not a Sigstore bundle or DSSE envelope")
                    .with_hint("--bundle takes the .sigstore.json file the signer wrote")
            ));
        }
    }
    Ok(Evidence::from_json(&bytes).map_err(|e| attest_error(path, e).to_string()))
}

/// SUBJECT as a file or a digest (`sha256:<hex>`): a path that exists is a file.
enum SubjectArg {
    File(PathBuf),
    Digest(SubjectDigest),
}

fn subject_arg(s: &str) -> Result<SubjectArg> {
    let p = Path::new(s);
    if p.exists() {
        return Ok(SubjectArg::File(p.to_path_buf()));
    }
    if let Some(d) = SubjectDigest::parse(s) {
        return Ok(SubjectArg::Digest(d));
    }
    if s.contains(':') && s.split_once(':').is_some_and(|(a, _)| a.starts_with("sha")) {
        return Err(anyhow!(
            InputError::new(format!("`{s}` is not a digest"))
                .with_hint("a digest is sha256:<64 hex> or sha512:<128 hex>")
        ));
    }
    Err(anyhow!(InputError::in_file(p, "cannot read: no such file")))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AttestFormat {
    /// Sigstore bundle v0.3 with a DSSE envelope.
    Bundle,
    /// Raw DSSE envelope (allows several signatures).
    Dsse,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The artifact the statement is about.
    pub subject: PathBuf,
    /// The predicate (JSON file).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Predicate type: slsaprovenance (v1), slsaprovenance1, slsaprovenance02, link, spdx,
    /// spdxjson, cyclonedx, vuln, openvex, custom, or any URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub type_: String,
    /// Private key(s): PEM path, env://VAR, or pkcs11: URI. Several only with --format dsse.
    #[arg(long, value_name = "KEYREF", required = true)]
    pub key: Vec<String>,
    /// Write the bundle (or envelope) here instead of stdout / -o.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Log the attestation in this vouch transparency log and put the entry (Rekor v2 shape:
    /// dsse v0.0.2), its inclusion proof and the signed checkpoint in the bundle.
    #[arg(long, value_name = "DIR")]
    pub tlog: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// The artifact (its sha256 must be a subject), or its digest: `sha256:<hex>`,
    /// `sha512:<hex>`.
    #[arg(value_name = "FILE|DIGEST")]
    pub subject: String,
    /// The bundle or raw DSSE envelope.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Required predicate type (names as for attest). `slsaprovenance` accepts SLSA v1 and
    /// v0.2. Without it any type is accepted.
    #[arg(long = "type", value_name = "TYPE")]
    pub type_: Option<String>,
    /// Trusted public key(s). Not needed for a keyless bundle: give the identity flags.
    #[arg(long, value_name = "KEYREF", required_unless_present_any = KEYLESS_IDS)]
    pub key: Vec<String>,
    #[command(flatten)]
    pub keyless: KeylessArgs,
    /// How many distinct trusted keys must have signed (raw DSSE envelopes).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threshold: usize,
    /// Print the verified statement (to FILE, or stdout / -o without a value).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub output_statement: Option<Option<PathBuf>>,
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Print `sha256:HEX` of the bundle's canonical JSON (RFC 8785): formatting-independent.
    Digest {
        /// The bundle.
        bundle: PathBuf,
    },
}

/// Commands that write no report reject `--format` rather than ignore it.
fn no_format(global: &GlobalArgs, command: &str) -> Result<()> {
    match &global.format {
        Some(f) => Err(anyhow!(
            InputError::new(format!("`{command}` has no --format (got `{f}`)"))
                .with_hint("only `attest` takes --format (bundle or dsse)")
        )),
        None => Ok(()),
    }
}

pub fn run(global: &GlobalArgs, cmd: SigningCommand) -> Result<u8> {
    let name = match &cmd {
        SigningCommand::Key(_) => Some("key"),
        SigningCommand::SignBlob(_) => Some("sign-blob"),
        SigningCommand::VerifyBlob(_) => Some("verify-blob"),
        SigningCommand::Attest(_) => None,
        SigningCommand::VerifyAttestation(_) => Some("verify-attestation"),
        SigningCommand::Bundle(_) => Some("bundle"),
    };
    if let Some(n) = name {
        no_format(global, n)?;
    }
    match cmd {
        SigningCommand::Key(KeyCommand::Generate(a)) => generate(global, a),
        SigningCommand::Key(KeyCommand::ImportCosign(a)) => import_cosign(global, a),
        SigningCommand::Key(KeyCommand::PublicKey { key }) => {
            let signer = load_signer(&key)?;
            output::emit(global, signer.public_key().to_pem().as_bytes())?;
            Ok(0)
        }
        SigningCommand::SignBlob(a) => sign_blob(global, a),
        SigningCommand::VerifyBlob(a) => verify_blob(global, a),
        SigningCommand::Attest(a) => attest(global, a),
        SigningCommand::VerifyAttestation(a) => verify_attestation(global, a),
        SigningCommand::Bundle(BundleCommand::Digest { bundle }) => bundle_digest(global, &bundle),
    }
}

// ---------------------------------------------------------------------------------------
// secrets and keys

/// Reads a passphrase from `var`, else prompts on the terminal (no echo), else errors.
fn passphrase(var: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(var) {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow!(InputError::new("no passphrase given").with_hint(
            format!("set {var}, or run on a terminal to be prompted")
        )));
    }
    let first = prompt("Enter passphrase: ")?;
    if confirm {
        let again = prompt("Enter passphrase again: ")?;
        if *again != *first {
            return Err(anyhow!(InputError::new("the passphrases differ")));
        }
    }
    Ok(first)
}

fn prompt(label: &str) -> Result<Zeroizing<String>> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| anyhow!(InputError::new(format!("cannot open the terminal: {e}"))))?;
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(
                tty.try_clone()
                    .map(std::process::Stdio::from)
                    .unwrap_or(std::process::Stdio::null()),
            )
            .status()
    };
    let mut w = &tty;
    let _ = w.write_all(label.as_bytes());
    let _ = stty("-echo");
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufRead::read_line(&mut BufReader::new(&tty), &mut line);
    let _ = stty("echo");
    let _ = w.write_all(b"\n");
    read.map_err(|e| anyhow!(InputError::new(format!("cannot read the passphrase: {e}"))))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
    Ok(trimmed)
}

fn secrets(need_passphrase: bool) -> Result<SecretInputs> {
    Ok(SecretInputs {
        passphrase: if need_passphrase {
            Some(passphrase("VOUCH_PASSWORD", false)?)
        } else {
            std::env::var("VOUCH_PASSWORD").ok().map(Zeroizing::new)
        },
        pkcs11_pin: std::env::var("VOUCH_PKCS11_PIN").ok().map(Zeroizing::new),
        pkcs11_module: std::env::var_os("VOUCH_PKCS11_MODULE").map(PathBuf::from),
    })
}

fn key_error(keyref: &str, e: KeyError) -> anyhow::Error {
    let hint = match &e {
        KeyError::WrongPassphrase => Some("check VOUCH_PASSWORD"),
        KeyError::PassphraseRequired => Some("set VOUCH_PASSWORD"),
        KeyError::NotPem(_) => Some("a key file is PEM: -----BEGIN …-----"),
        KeyError::Pkcs11(_) => Some(
            "PIN from VOUCH_PKCS11_PIN; module from the URI's module-path or VOUCH_PKCS11_MODULE",
        ),
        _ => None,
    };
    let mut ie = InputError::in_file(keyref, e.to_string());
    if let Some(h) = hint {
        ie = ie.with_hint(h);
    }
    anyhow!(ie)
}

fn parse_keyref(s: &str) -> Result<KeyRef> {
    KeyRef::parse(s).map_err(|e| key_error(s, e))
}

fn needs_passphrase(keyref: &KeyRef) -> bool {
    match keyref {
        KeyRef::Path(p) => std::fs::read_to_string(p)
            .map(|t| t.contains("-----BEGIN ENCRYPTED"))
            .unwrap_or(false),
        KeyRef::Env(v) => std::env::var(v)
            .map(|t| t.contains("-----BEGIN ENCRYPTED"))
            .unwrap_or(false),
        KeyRef::Pkcs11(_) => false,
    }
}

pub(crate) fn load_signer(s: &str) -> Result<Box<dyn Signer>> {
    let keyref = parse_keyref(s)?;
    let secrets = secrets(needs_passphrase(&keyref))?;
    signer::load_signer(&keyref, &secrets).map_err(|e| key_error(s, e))
}

pub(crate) fn load_public_keys(refs: &[String]) -> Result<Vec<PublicKey>> {
    let secrets = secrets(false)?;
    refs.iter()
        .map(|s| {
            let keyref = parse_keyref(s)?;
            signer::load_public_key(&keyref, &secrets).map_err(|e| key_error(s, e))
        })
        .collect()
}

fn attest_error(file: &Path, e: AttestError) -> anyhow::Error {
    let ie = match e.position() {
        Some(p) => InputError::at(file, p.line, Some(p.column), e.to_string()),
        None => InputError::in_file(file, e.to_string()),
    };
    anyhow!(ie)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!(InputError::in_file(path, format!("cannot read: {e}"))))
}

fn open_file(path: &Path) -> Result<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(256 * 1024, f))
        .map_err(|e| anyhow!(InputError::in_file(path, format!("cannot read: {e}"))))
}

fn refuse_overwrite(paths: &[&Path], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    for p in paths {
        if p.exists() {
            return Err(anyhow!(
                InputError::in_file(p, "already exists").with_hint("pass --force to overwrite")
            ));
        }
    }
    Ok(())
}

fn write_key_pair(key: &PrivateKey, prefix: &str, force: bool, pass: &str) -> Result<()> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    refuse_overwrite(&[&key_path, &pub_path], force)?;
    let pem = key
        .to_pem((!pass.is_empty()).then_some(pass.as_bytes()))
        .map_err(|e| anyhow!("{e}"))?;
    output::write_atomic(&key_path, pem.as_bytes())?;
    output::write_atomic(&pub_path, key.public_key().to_pem().as_bytes())?;
    Ok(())
}

fn report(global: &GlobalArgs, outcome: &Outcome) -> u8 {
    if let Outcome::Verified(v) = outcome {
        if !global.quiet {
            for c in &v.checks {
                eprintln!("  {c}");
            }
            eprintln!("Verified OK");
            if let Some(c) = &v.certificate {
                eprintln!(
                    "Certificate identity: {} (OIDC issuer {}), logged at {}",
                    c.subject,
                    c.issuer,
                    jiff::Timestamp::from_second(c.integrated_time)
                        .map(|t| t.to_string())
                        .unwrap_or_else(|_| c.integrated_time.to_string())
                );
            }
        }
        0
    } else {
        eprintln!("error: {}", outcome.message());
        eprintln!("Verification failed");
        1
    }
}

// ---------------------------------------------------------------------------------------
// commands

fn generate(global: &GlobalArgs, a: GenerateArgs) -> Result<u8> {
    let alg = match a.algorithm {
        AlgorithmArg::EcdsaP256 => KeyAlgorithm::EcdsaP256,
        AlgorithmArg::EcdsaP384 => KeyAlgorithm::EcdsaP384,
        AlgorithmArg::Ed25519 => KeyAlgorithm::Ed25519,
    };
    let pass = passphrase("VOUCH_PASSWORD", true)?;
    if pass.is_empty() {
        output::warn(
            global,
            "empty passphrase: the private key is written unencrypted",
        );
    }
    let key = PrivateKey::generate(alg).map_err(|e| anyhow!("{e}"))?;
    let key_path = PathBuf::from(format!("{}.key", a.output_key_prefix));
    crate::gitignore::protect(global, &key_path, "a private signing key")?;
    write_key_pair(&key, &a.output_key_prefix, a.force, &pass)?;
    if !global.quiet {
        eprintln!(
            "Private key written to {0}.key, public key to {0}.pub ({alg})",
            a.output_key_prefix
        );
    }
    Ok(0)
}

fn import_cosign(global: &GlobalArgs, a: ImportCosignArgs) -> Result<u8> {
    let text = String::from_utf8(read_file(&a.key)?)
        .map_err(|_| anyhow!(InputError::in_file(&a.key, "not a PEM key: not text")))?;
    let old = match std::env::var("COSIGN_PASSWORD") {
        Ok(p) => Zeroizing::new(p),
        Err(_) => passphrase("VOUCH_PASSWORD", false)?,
    };
    let key = PrivateKey::from_pem(&text, Some(old.as_bytes()))
        .map_err(|e| key_error(&a.key.display().to_string(), e))?;
    let new = passphrase("VOUCH_PASSWORD", true)?;
    let key_path = PathBuf::from(format!("{}.key", a.output_key_prefix));
    crate::gitignore::protect(global, &key_path, "a private signing key")?;
    write_key_pair(&key, &a.output_key_prefix, a.force, &new)?;
    if !global.quiet {
        eprintln!(
            "Imported {1} key to {0}.key / {0}.pub",
            a.output_key_prefix,
            key.algorithm()
        );
    }
    Ok(0)
}

fn sign_blob(global: &GlobalArgs, a: SignBlobArgs) -> Result<u8> {
    let signer = load_signer(&a.key)?;
    let reader = open_file(&a.file)?;
    let sig = sign::sign_blob_raw(signer.as_ref(), reader).map_err(|e| attest_error(&a.file, e))?;
    let raw_b64 = vouch_attest::b64::encode(&sig.signature);
    let mut bundle = sign::blob_bundle(signer.as_ref(), sig);
    if let Some(dir) = &a.tlog {
        crate::commands::log::log_bundle(global, dir, &mut bundle, signer.public_key())?;
    }
    // Write everything only once everything is computed: no half results on failure.
    if let Some(p) = &a.output_signature {
        output::write_atomic(p, raw_b64.as_bytes())?;
    }
    match &a.bundle {
        Some(p) => output::write_atomic(p, &bundle.to_json())?,
        None if a.output_signature.is_none() => output::emit(global, &bundle.to_json())?,
        None => {}
    }
    Ok(0)
}

/// Usage comes first: every path given must exist before any evidence is judged.
fn require_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    for p in paths {
        if p != Path::new("-") && !p.exists() {
            return Err(anyhow!(InputError::in_file(p, "cannot read: no such file")));
        }
    }
    Ok(())
}

fn verify_blob(global: &GlobalArgs, a: VerifyBlobArgs) -> Result<u8> {
    let subject = subject_arg(&a.file)?;
    require_paths(
        a.bundle
            .as_deref()
            .into_iter()
            .chain(a.signature.as_deref())
            .chain(a.keyless.trusted_root.as_deref()),
    )?;
    let policy = match a.keyless.policy()? {
        Some(_) if a.signature.is_some() => {
            return Err(anyhow!(
                InputError::new("--signature is for key signatures; keyless needs --bundle")
                    .with_hint("the bundle carries the certificate and the log entry")
            ));
        }
        Some(p) => p,
        None => match verification_keys(&a.key)? {
            Ok(keys) => a.keyless.key_policy(keys)?,
            Err(reason) => Err(reason),
        },
    };
    let policy = match policy {
        Ok(p) => p,
        Err(reason) => return Ok(evidence_failure(&reason)),
    };
    let verifier = Verifier::new(policy);
    let outcome = if let Some(bpath) = &a.bundle {
        let bundle = match read_evidence(bpath)? {
            Ok(Evidence::Bundle(b)) => b,
            Ok(Evidence::Envelope(_)) => {
                return Ok(evidence_failure(&format!(
                    "{}: a DSSE envelope, not a blob bundle (use verify-attestation)",
                    bpath.display()
                )));
            }
            Err(reason) => return Ok(evidence_failure(&reason)),
        };
        match &subject {
            SubjectArg::File(p) => verifier.verify_blob(&bundle, open_file(p)?),
            SubjectArg::Digest(d) => verifier.verify_blob_digest(&bundle, d),
        }
        .map_err(|e| attest_error(bpath, e))?
    } else {
        let SubjectArg::File(file) = &subject else {
            return Err(anyhow!(
                InputError::new("--signature needs the file itself, not its digest")
                    .with_hint("pass the file, or verify a bundle")
            ));
        };
        let spath = a.signature.as_deref().unwrap_or(Path::new("-"));
        let text = read_file(spath)?;
        let text = String::from_utf8_lossy(&text);
        let Some(sig) = vouch_attest::b64::decode(text.trim()) else {
            return Ok(evidence_failure(&format!(
                "{}: not a signature: not base64",
                spath.display()
            )));
        };
        verifier
            .verify_blob_signature(&sig, None, open_file(file)?)
            .map_err(|e| attest_error(spath, e))?
    };
    Ok(report(global, &outcome))
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut h = vouch_attest::vouch_crypto::keys::HashAlgorithm::Sha256.hasher();
    h.update_reader(open_file(path)?)
        .map_err(|e| anyhow!(InputError::in_file(path, format!("cannot read: {e}"))))?;
    Ok(h.finish().to_hex())
}

fn attest(global: &GlobalArgs, a: AttestArgs) -> Result<u8> {
    let format = output::format_as(global, AttestFormat::Bundle)?;
    if matches!(format, AttestFormat::Bundle) && a.key.len() > 1 {
        return Err(anyhow!(
            InputError::new("a Sigstore bundle carries one signature")
                .with_hint("use --format dsse for several --key")
        ));
    }
    let ptype = PredicateType::resolve(&a.type_).map_err(|e| {
        anyhow!(InputError::new(e.to_string()).with_hint(
            "use slsaprovenance, slsaprovenance1, slsaprovenance02, link, spdx, spdxjson, cyclonedx, vuln, openvex, custom or a URI"
        ))
    })?;
    let pred_bytes = read_file(&a.predicate)?;
    let predicate: serde_json::Value = serde_json::from_slice(&pred_bytes).map_err(|e| {
        anyhow!(InputError::at(
            &a.predicate,
            u32::try_from(e.line()).unwrap_or(0),
            Some(u32::try_from(e.column()).unwrap_or(0)),
            format!("not JSON: {e}")
        ))
    })?;
    if ptype.uri == statement::SLSA_V1 {
        statement::validate_slsa_v1(&predicate).map_err(|e| {
            anyhow!(
                InputError::in_file(&a.predicate, e.to_string())
                    .with_hint("see https://slsa.dev/provenance/v1")
            )
        })?;
    }
    let digest = sha256_file(&a.subject)?;
    let name = a
        .subject
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.subject.display().to_string());
    let st = Statement::new(&name, &digest, &ptype.uri, predicate);
    let signers: Vec<Box<dyn Signer>> = a
        .key
        .iter()
        .map(|k| load_signer(k))
        .collect::<Result<_>>()?;
    let refs: Vec<&dyn Signer> = signers.iter().map(|s| s.as_ref()).collect();
    for (i, s) in refs.iter().enumerate() {
        if refs[..i].iter().any(|o| o.public_key() == s.public_key()) {
            return Err(anyhow!(
                InputError::new(format!(
                    "--key {} is the same key as an earlier --key",
                    a.key[i]
                ))
                .with_hint("each signature must come from a different key")
            ));
        }
    }
    if a.tlog.is_some() && matches!(format, AttestFormat::Dsse) {
        return Err(anyhow!(
            InputError::new("--tlog puts the log entry in a Sigstore bundle")
                .with_hint("drop --format dsse, or log the envelope with `vouch log add`")
        ));
    }
    let bytes = match format {
        AttestFormat::Bundle => {
            let mut bundle =
                sign::attest(refs[0], &st).map_err(|e| attest_error(&a.predicate, e))?;
            if let Some(dir) = &a.tlog {
                crate::commands::log::log_bundle(global, dir, &mut bundle, refs[0].public_key())?;
            }
            bundle.to_json()
        }
        AttestFormat::Dsse => sign::attest_envelope(&refs, &st)
            .map_err(|e| attest_error(&a.predicate, e))?
            .to_json(),
    };
    match &a.bundle {
        Some(p) => output::write_atomic(p, &bytes)?,
        None => output::emit(global, &bytes)?,
    }
    Ok(0)
}

fn verify_attestation(global: &GlobalArgs, a: VerifyAttestationArgs) -> Result<u8> {
    require_paths(std::iter::once(a.bundle.as_path()).chain(a.keyless.trusted_root.as_deref()))?;
    // A file is known by its sha256 and sha512 (npm statements name packages by sha512).
    let subject = match subject_arg(&a.subject)? {
        SubjectArg::Digest(d) => vec![d],
        SubjectArg::File(p) => {
            let mut h256 = HashAlgorithm::Sha256.hasher();
            let mut h512 = HashAlgorithm::Sha512.hasher();
            let mut r = open_file(&p)?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = std::io::Read::read(&mut r, &mut buf)
                    .map_err(|e| anyhow!(InputError::in_file(&p, format!("cannot read: {e}"))))?;
                let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                    break;
                };
                h256.update(chunk);
                h512.update(chunk);
            }
            [h256.finish(), h512.finish()]
                .into_iter()
                .map(|d| SubjectDigest {
                    algorithm: d.algorithm,
                    value: d.value,
                })
                .collect()
        }
    };
    let keyless = a.keyless.policy()?;
    if keyless.is_some() && a.threshold != 1 {
        return Err(anyhow!(
            InputError::new("--threshold applies to keys; a keyless bundle has one signer")
                .with_hint("drop --threshold")
        ));
    }
    if keyless.is_none() && (a.threshold == 0 || a.threshold > a.key.len()) {
        return Err(anyhow!(
            InputError::new(format!(
                "--threshold {} with {} --key",
                a.threshold,
                a.key.len()
            ))
            .with_hint("the threshold is between 1 and the number of keys")
        ));
    }
    let policy = match keyless {
        Some(p) => p,
        None => match verification_keys(&a.key)? {
            Ok(keys) => a
                .keyless
                .key_policy(keys)?
                .map(|p| p.with_threshold(a.threshold)),
            Err(reason) => Err(reason),
        },
    };
    let mut policy = match policy {
        Ok(p) => p,
        Err(reason) => return Ok(evidence_failure(&reason)),
    };
    if let Some(t) = &a.type_ {
        let pt = PredicateType::resolve(t).map_err(|e| anyhow!(InputError::new(e.to_string())))?;
        policy = policy.with_predicate_type(pt);
    }
    let evidence = match read_evidence(&a.bundle)? {
        Ok(e) => e,
        Err(reason) => return Ok(evidence_failure(&reason)),
    };
    let outcome = Verifier::new(policy)
        .verify_attestation_for(&evidence, &subject)
        .map_err(|e| attest_error(&a.bundle, e))?;
    if let (Outcome::Verified(v), Some(dest)) = (&outcome, &a.output_statement) {
        let statement = v.statement.as_ref().map(|s| {
            let mut b = serde_json::to_vec_pretty(s).unwrap_or_default();
            b.push(b'\n');
            b
        });
        let bytes = statement.unwrap_or_default();
        match dest {
            Some(p) => output::write_atomic(p, &bytes)?,
            None => output::emit(global, &bytes)?,
        }
    }
    Ok(report(global, &outcome))
}

fn bundle_digest(global: &GlobalArgs, path: &Path) -> Result<u8> {
    let bytes = read_file(path)?;
    let digest = match Evidence::from_json(&bytes).map_err(|e| attest_error(path, e))? {
        Evidence::Bundle(b) => b.canonical_digest(),
        Evidence::Envelope(e) => e.canonical_digest(),
    };
    output::emit(global, format!("sha256:{digest}\n").as_bytes())?;
    Ok(0)
}
