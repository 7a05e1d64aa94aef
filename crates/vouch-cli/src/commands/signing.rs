//! Signing commands: `key`, `sign-blob`, `verify-blob`, `attest`, `verify-attestation`,
//! `bundle digest`. Flag names follow cosign.
//!
//! Secrets come from the environment: `VOUCH_PASSWORD` (key passphrase; a prompt on a
//! terminal when unset), `VOUCH_PKCS11_PIN` (HSM user PIN), `VOUCH_PKCS11_MODULE` (module path
//! when the URI has none).

use std::io::{BufReader, IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use vouch_attest::request::{self, BadInput, Checked, TrustOptions};
use vouch_attest::verify::Outcome;
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
    #[arg(long, value_name = "KEYREF", required_unless_present = "keyless")]
    pub key: Option<String>,
    /// Sign keylessly: an ephemeral key, a certificate for the identity token's identity from
    /// the CA the --trust-config names, an RFC 3161 timestamp and a Rekor v2 entry. The bundle
    /// is verified against the config's trusted root before it is written.
    #[arg(long, conflicts_with_all = ["key", "tlog", "output_signature"], requires = "trust_config")]
    pub keyless: bool,
    /// The OIDC identity token for --keyless: a file holding the JWT, or env://VAR. Without
    /// it: SIGSTORE_ID_TOKEN, then the GitHub Actions ambient token
    /// (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN, audience sigstore).
    #[arg(long, value_name = "FILE|env://VAR", requires = "keyless")]
    pub identity_token: Option<String>,
    /// The ClientTrustConfig JSON naming the CA, TSA and log, and their trusted root (a
    /// `vouch serve` instance serves it at /api/v1/trust/config).
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub trust_config: Option<PathBuf>,
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
    /// The trust options of these flags; `stored` is the installed trusted root, the keyless
    /// fallback for --trusted-root.
    pub(crate) fn trust<'a>(&'a self, stored: Option<&'a Path>) -> TrustOptions<'a> {
        TrustOptions {
            identity: self.certificate_identity.as_deref(),
            identity_regexp: self.certificate_identity_regexp.as_deref(),
            issuer: self.certificate_oidc_issuer.as_deref(),
            issuer_regexp: self.certificate_oidc_issuer_regexp.as_deref(),
            trusted_root: self.trusted_root.as_deref(),
            stored_root: stored,
            ignore_tlog: self.insecure_ignore_tlog,
            ignore_sct: self.insecure_ignore_sct,
            tlog_threshold: self.tlog_threshold,
            timestamp_threshold: self.timestamp_threshold,
        }
    }

    /// The trust store's trusted root, looked up only for keyless verification.
    pub(crate) fn stored_root(&self) -> Option<PathBuf> {
        if self.trust(None).keyless() {
            crate::commands::trust::stored_root()
        } else {
            None
        }
    }
}

/// The library's bad input as the CLI's (exit 2).
pub(crate) fn input(e: BadInput) -> anyhow::Error {
    anyhow!(InputError {
        file: e.file,
        line: e.line,
        column: e.column,
        message: e.message,
        hint: e.hint,
    })
}

/// A CLI helper's error (always an `InputError` for key loading) as the library's bad input.
fn bad(e: anyhow::Error) -> BadInput {
    match e.downcast::<InputError>() {
        Ok(i) => BadInput {
            file: i.file,
            line: i.line,
            column: i.column,
            message: i.message,
            hint: i.hint,
        },
        Err(other) => BadInput::new(other.to_string()),
    }
}

/// Prints why the evidence is unusable; exit 1.
fn evidence_failure(reason: &str) -> u8 {
    eprintln!("error: {reason}");
    eprintln!("Verification failed");
    1
}

/// Reads trusted keys for verification: a key file that is not a usable public key is bad
/// evidence (exit 1); a missing file is a usage error (exit 2).
pub(crate) fn verification_keys(refs: &[String]) -> Result<Checked<Vec<PublicKey>>> {
    request::require_key_files(refs).map_err(input)?;
    Ok(load_public_keys(refs).map_err(|e| e.to_string()))
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
    /// The artifact the statement is about: a file, or a container image in a registry
    /// (`registry/repo:tag`, `…@sha256:…`; the statement is then attached as an OCI referrer).
    pub subject: PathBuf,
    /// The predicate (JSON file).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// Predicate type: slsaprovenance (v1), slsaprovenance1, slsaprovenance02, link, spdx,
    /// spdxjson, cyclonedx, vuln, openvex, custom, or any URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub type_: String,
    /// Private key(s): PEM path, env://VAR, or pkcs11: URI. Several only with --format dsse.
    #[arg(long, value_name = "KEYREF", required_unless_present = "keyless")]
    pub key: Vec<String>,
    /// Attest keylessly: an ephemeral key, a certificate for the identity token's identity
    /// from the CA the --trust-config names, an RFC 3161 timestamp and a Rekor v2 entry. The
    /// bundle is verified against the config's trusted root before it is written.
    #[arg(long, conflicts_with_all = ["key", "tlog"], requires = "trust_config")]
    pub keyless: bool,
    /// The OIDC identity token for --keyless: a file holding the JWT, or env://VAR. Without
    /// it: SIGSTORE_ID_TOKEN, then the GitHub Actions ambient token.
    #[arg(long, value_name = "FILE|env://VAR", requires = "keyless")]
    pub identity_token: Option<String>,
    /// The ClientTrustConfig JSON naming the CA, TSA and log, and their trusted root.
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub trust_config: Option<PathBuf>,
    /// Write the bundle (or envelope) here instead of stdout / -o.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Log the attestation in this vouch transparency log and put the entry (Rekor v2 shape:
    /// dsse v0.0.2), its inclusion proof and the signed checkpoint in the bundle.
    #[arg(long, value_name = "DIR")]
    pub tlog: Option<PathBuf>,
    #[command(flatten)]
    pub registry: crate::registry::RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// The artifact (its sha256 must be a subject), or its digest: `sha256:<hex>`,
    /// `sha512:<hex>`, or a container image in a registry (its attestations are read from
    /// the registry; no --bundle).
    #[arg(value_name = "FILE|DIGEST|IMAGE")]
    pub subject: String,
    /// The bundle or raw DSSE envelope (required unless SUBJECT is an image).
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
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
    #[command(flatten)]
    pub registry: crate::registry::RegistryArgs,
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
pub(crate) fn passphrase(var: &str, confirm: bool) -> Result<Zeroizing<String>> {
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

fn report(global: &GlobalArgs, checked: Checked<Outcome>) -> u8 {
    let outcome = match checked {
        Ok(o) => o,
        Err(reason) => return evidence_failure(&reason),
    };
    if let Outcome::Verified(v) = &outcome {
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
        evidence_failure(&outcome.message())
    }
}

/// Writes a key pair's files (after the private key's path is protected from commits).
fn write_key_pair(
    global: &GlobalArgs,
    key: &PrivateKey,
    prefix: &str,
    force: bool,
    pass: &str,
) -> Result<()> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    crate::gitignore::protect(global, &key_path, "a private signing key")?;
    let files = request::key_pair(key, prefix, force, pass).map_err(input)?;
    output::write_atomic(&files.private.0, files.private.1.as_bytes())?;
    output::write_atomic(&files.public.0, files.public.1.as_bytes())?;
    Ok(())
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
    write_key_pair(global, &key, &a.output_key_prefix, a.force, &pass)?;
    if !global.quiet {
        eprintln!(
            "Private key written to {0}.key, public key to {0}.pub ({alg})",
            a.output_key_prefix
        );
    }
    Ok(0)
}

fn import_cosign(global: &GlobalArgs, a: ImportCosignArgs) -> Result<u8> {
    let text = request::read_key_text(&a.key).map_err(input)?;
    let old = match std::env::var("COSIGN_PASSWORD") {
        Ok(p) => Zeroizing::new(p),
        Err(_) => passphrase("VOUCH_PASSWORD", false)?,
    };
    let key = PrivateKey::from_pem(&text, Some(old.as_bytes()))
        .map_err(|e| key_error(&a.key.display().to_string(), e))?;
    let new = passphrase("VOUCH_PASSWORD", true)?;
    write_key_pair(global, &key, &a.output_key_prefix, a.force, &new)?;
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
    if a.keyless {
        return sign_blob_keyless(global, &a);
    }
    let key = a
        .key
        .as_deref()
        .ok_or_else(|| anyhow!(InputError::new("give --key or --keyless")))?;
    let signer = load_signer(key)?;
    let mut signed = request::sign_file(signer.as_ref(), &a.file).map_err(input)?;
    if let Some(dir) = &a.tlog {
        crate::commands::log::log_bundle(global, dir, &mut signed.bundle, signer.public_key())?;
    }
    // Write everything only once everything is computed: no half results on failure.
    if let Some(p) = &a.output_signature {
        output::write_atomic(p, signed.signature.as_bytes())?;
    }
    match &a.bundle {
        Some(p) => output::write_atomic(p, &signed.bundle.to_json())?,
        None if a.output_signature.is_none() => output::emit(global, &signed.bundle.to_json())?,
        None => {}
    }
    Ok(0)
}

/// The identity token and trust config of a keyless command: `--identity-token` (a file or
/// env://VAR), else the ambient token (SIGSTORE_ID_TOKEN, GitHub Actions). `Ok(Err(code))`
/// is a failure already reported (fetching the ambient token failed: exit 1).
fn keyless_inputs(
    identity_token: Option<&str>,
    trust_config: Option<&Path>,
) -> Result<std::result::Result<(String, serde_json::Value), u8>> {
    use vouch_server::keyless::ambient::{AmbientEnv, ambient_identity_token_blocking};
    use vouch_server::keyless::client::ClientError;
    let token = match identity_token {
        Some(token_ref) => match token_ref.strip_prefix("env://") {
            Some(var) => std::env::var(var).map_err(|_| {
                anyhow!(InputError::new(format!(
                    "--identity-token: the environment variable {var} is not set"
                )))
            })?,
            None => std::fs::read_to_string(token_ref).map_err(|e| {
                anyhow!(InputError::new(format!(
                    "--identity-token {token_ref}: {e}"
                )))
            })?,
        },
        None => {
            let env = AmbientEnv::from_process();
            if !env.has_token_source() {
                return Err(anyhow!(
                    InputError::new("--keyless needs an identity token").with_hint(
                        "pass --identity-token FILE or env://VAR, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with `permissions: id-token: write`"
                    )
                ));
            }
            match ambient_identity_token_blocking(&env) {
                Ok(Some(t)) => t.to_string(),
                Ok(None) => return Err(anyhow!(InputError::new("no ambient identity token"))),
                Err(ClientError::BadInput(m)) => return Err(anyhow!(InputError::new(m))),
                Err(ClientError::Service(m)) => {
                    output::print_error(&anyhow!("no ambient identity token: {m}"));
                    return Ok(Err(1));
                }
            }
        }
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(anyhow!(InputError::new("the identity token is empty")));
    }
    let cfg_path =
        trust_config.ok_or_else(|| anyhow!(InputError::new("--keyless needs --trust-config")))?;
    let cfg_bytes = std::fs::read(cfg_path).map_err(|e| {
        anyhow!(InputError::new(format!(
            "--trust-config {}: {e}",
            cfg_path.display()
        )))
    })?;
    let config: serde_json::Value = serde_json::from_slice(&cfg_bytes).map_err(|e| {
        anyhow!(InputError::new(format!(
            "--trust-config {}: not JSON: {e}",
            cfg_path.display()
        )))
    })?;
    Ok(Ok((token, config)))
}

/// A keyless client's answer: bad input exits 2, a service that refuses or answers
/// something that does not verify exits 1 (reported here).
fn keyless_outcome(
    result: std::result::Result<Vec<u8>, vouch_server::keyless::client::ClientError>,
    what: &str,
) -> Result<std::result::Result<Vec<u8>, u8>> {
    use vouch_server::keyless::client::ClientError;
    match result {
        Ok(b) => Ok(Ok(b)),
        Err(ClientError::BadInput(m)) => Err(anyhow!(InputError::new(m))),
        Err(ClientError::Service(m)) => {
            output::print_error(&anyhow!("keyless {what} failed: {m}"));
            Ok(Err(1))
        }
    }
}

/// `sign-blob --keyless`: bad input (file, token, trust config) exits 2, a service that
/// refuses or answers something that does not verify exits 1.
fn sign_blob_keyless(global: &GlobalArgs, a: &SignBlobArgs) -> Result<u8> {
    use vouch_server::keyless::client::{KeylessSignRequest, sign_blob_blocking};
    let (token, trust_config) =
        match keyless_inputs(a.identity_token.as_deref(), a.trust_config.as_deref())? {
            Ok(inputs) => inputs,
            Err(code) => return Ok(code),
        };
    let file = std::fs::File::open(&a.file)
        .map_err(|e| anyhow!(InputError::new(format!("{}: {e}", a.file.display()))))?;
    let mut hasher = HashAlgorithm::Sha256.hasher();
    hasher
        .update_reader(BufReader::new(file))
        .map_err(|e| anyhow!(InputError::new(format!("{}: {e}", a.file.display()))))?;
    let digest = hasher.finish().value;
    let artifact_sha256: [u8; 32] = digest
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("SHA-256 gave {} bytes", digest.len()))?;
    let signed = sign_blob_blocking(&KeylessSignRequest {
        artifact_sha256,
        identity_token: token,
        trust_config,
    });
    let bundle = match keyless_outcome(signed, "signing")? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    match &a.bundle {
        Some(p) => output::write_atomic(p, &bundle)?,
        None => output::emit(global, &bundle)?,
    }
    Ok(0)
}

/// `attest --keyless`: the same statement as `attest --key`, signed with an ephemeral key
/// whose certificate, log entry and timestamp go into the bundle.
fn attest_keyless(global: &GlobalArgs, a: &AttestArgs) -> Result<u8> {
    use vouch_server::keyless::client::{KeylessAttestRequest, attest_blocking};
    if matches!(
        output::format_as(global, AttestFormat::Bundle)?,
        AttestFormat::Dsse
    ) {
        return Err(anyhow!(
            InputError::new("--keyless writes a Sigstore bundle")
                .with_hint("drop --format dsse: a raw envelope cannot carry the certificate")
        ));
    }
    let statement = request::attest_statement(&a.subject, &a.predicate, &a.type_).map_err(input)?;
    let (token, trust_config) =
        match keyless_inputs(a.identity_token.as_deref(), a.trust_config.as_deref())? {
            Ok(inputs) => inputs,
            Err(code) => return Ok(code),
        };
    let attested = attest_blocking(&KeylessAttestRequest {
        statement,
        identity_token: token,
        trust_config,
    });
    let bundle = match keyless_outcome(attested, "attestation")? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    match &a.bundle {
        Some(p) => output::write_atomic(p, &bundle)?,
        None => output::emit(global, &bundle)?,
    }
    Ok(0)
}

/// The keyref rule shared with the gate, as the library's key loader.
fn key_loader(refs: &[String]) -> std::result::Result<Checked<Vec<PublicKey>>, BadInput> {
    verification_keys(refs).map_err(bad)
}

fn verify_blob(global: &GlobalArgs, a: VerifyBlobArgs) -> Result<u8> {
    let stored = a.keyless.stored_root();
    let checked = request::verify_blob(&request::VerifyBlobRequest {
        subject: &a.file,
        bundle: a.bundle.as_deref(),
        signature: a.signature.as_deref(),
        keys: &a.key,
        trust: &a.keyless.trust(stored.as_deref()),
        load_keys: &key_loader,
    })
    .map_err(input)?;
    Ok(report(global, checked))
}

/// A subject that is no file but reads as an image reference is an image in a registry.
fn is_image(subject: &str) -> bool {
    crate::commands::image::names_image(subject)
}

fn attest(global: &GlobalArgs, a: AttestArgs) -> Result<u8> {
    if let Some(image) = a.subject.to_str().filter(|s| is_image(s)) {
        if a.keyless {
            return Err(anyhow!(InputError::new(
                "keyless attestation of a registry image is not supported yet: attest the image with --key, or attest a file with --keyless"
            )));
        }
        let [key] = a.key.as_slice() else {
            return Err(anyhow!(InputError::new(
                "an image attestation is signed by one --key"
            )));
        };
        return crate::commands::image::attest(
            global,
            image,
            &a.predicate,
            &a.type_,
            key,
            &a.registry,
        );
    }
    if a.keyless {
        return attest_keyless(global, &a);
    }
    let format = match output::format_as(global, AttestFormat::Bundle)? {
        AttestFormat::Bundle => request::AttestFormat::Bundle,
        AttestFormat::Dsse => request::AttestFormat::Dsse,
    };
    let signer = |k: &str| load_signer(k).map_err(bad);
    let mut attested = request::attest(&request::AttestRequest {
        subject: &a.subject,
        predicate: &a.predicate,
        predicate_type: &a.type_,
        keys: &a.key,
        format,
        log: a.tlog.is_some(),
        load_signer: &signer,
    })
    .map_err(input)?;
    if let (request::Attested::Bundle { bundle, key }, Some(dir)) = (&mut attested, &a.tlog) {
        crate::commands::log::log_bundle(global, dir, bundle, key)?;
    }
    let bytes = attested.to_json();
    match &a.bundle {
        Some(p) => output::write_atomic(p, &bytes)?,
        None => output::emit(global, &bytes)?,
    }
    Ok(0)
}

fn verify_attestation(global: &GlobalArgs, a: VerifyAttestationArgs) -> Result<u8> {
    let Some(bundle) = &a.bundle else {
        if is_image(&a.subject) {
            return crate::commands::image::verify_attestation(
                global,
                &a.subject,
                a.type_.as_deref(),
                &a.key,
                &a.keyless,
                &a.registry,
            );
        }
        return Err(anyhow!(InputError::new("--bundle is required").with_hint(
            "give the bundle or DSSE envelope; only an image subject is verified from its registry"
        )));
    };
    let stored = a.keyless.stored_root();
    let checked = request::verify_attestation(&request::VerifyAttestationRequest {
        subject: &a.subject,
        bundle,
        predicate_type: a.type_.as_deref(),
        keys: &a.key,
        threshold: a.threshold,
        trust: &a.keyless.trust(stored.as_deref()),
        load_keys: &key_loader,
    })
    .map_err(input)?;
    if let (Ok(Outcome::Verified(v)), Some(dest)) = (&checked, &a.output_statement) {
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
    Ok(report(global, checked))
}

fn bundle_digest(global: &GlobalArgs, path: &Path) -> Result<u8> {
    let digest = request::bundle_digest(path).map_err(input)?;
    output::emit(global, format!("{digest}\n").as_bytes())?;
    Ok(0)
}
