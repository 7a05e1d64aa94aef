//! Container images in registries: `vouch sign IMAGE`, `vouch verify IMAGE`, `vouch tree
//! IMAGE`, and the image forms of `vouch attest` / `vouch verify-attestation` (an argument
//! that is no existing file and reads as an image reference, see
//! `vouch_oci::looks_like_image`). Each parses, makes one `vouch_oci::ops` call over the
//! network client in `crate::registry`, and renders. See docs/oci.md.

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use vouch_attest::request::TrustOptions;
use vouch_attest::statement::PredicateType;
use vouch_attest::verify::{Outcome, Policy};
use vouch_core::InputError;
use vouch_oci::ops::{self, Target, Wanted};
use vouch_oci::{OciError, Reference};

use crate::cli::GlobalArgs;
use crate::commands::signing::{KeylessArgs, input, load_signer, verification_keys};
use crate::output;
use crate::registry::{HttpRegistry, RegistryArgs};

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Sign a container image in a registry (cosign v3 compatible).
    ///
    /// The tag is resolved to its digest once; the digest is what is signed, and it is printed
    /// (`registry/repo@sha256:…`) on stdout. The signature is a Sigstore bundle (DSSE, in-toto
    /// predicate https://sigstore.dev/cosign/sign/v1) attached as an OCI 1.1 referrer; on
    /// registries without the referrers API the `sha256-<hex>` tag-schema index is updated.
    Sign(SignArgs),

    /// Verify a container image's signatures: cosign v3 referrers and cosign v2 `.sig` tags.
    ///
    /// Exit 0 when at least one signature verifies under the key or identity given; 1 when
    /// none does, including when the registry serves content that does not match its digest;
    /// 2 for usage or a registry that cannot be reached.
    Verify(VerifyArgs),

    /// Push a local OCI image layout (DIR with oci-layout, index.json, blobs/) to a registry
    /// as IMAGE; prints `registry/repo@sha256:…`.
    Push(PushArgs),

    /// Show what is attached to an image: referrers (with artifact and predicate types) and
    /// cosign v2 `.sig`/`.att`/`.sbom` tags. Nothing is verified.
    Tree(TreeArgs),
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The image: `registry/repo:tag` or `registry/repo@sha256:…`.
    pub image: String,
    /// Private key: a PEM path, env://VAR, or a pkcs11: URI.
    #[arg(long, value_name = "KEYREF")]
    pub key: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image.
    pub image: String,
    /// Trusted public key(s). Not needed for keyless signatures: give the identity flags.
    #[arg(long, value_name = "KEYREF", required_unless_present_any = ["certificate_identity", "certificate_identity_regexp"])]
    pub key: Vec<String>,
    #[command(flatten)]
    pub keyless: KeylessArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The OCI image layout directory.
    pub dir: std::path::PathBuf,
    /// Where to push it: `registry/repo:tag`.
    pub image: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The image.
    pub image: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

pub fn run(global: &GlobalArgs, cmd: ImageCommand) -> Result<u8> {
    match cmd {
        ImageCommand::Sign(a) => sign(global, a),
        ImageCommand::Verify(a) => verify(global, a),
        ImageCommand::Tree(a) => tree(global, a),
        ImageCommand::Push(a) => push(global, a),
    }
}

fn push(global: &GlobalArgs, a: PushArgs) -> Result<u8> {
    let r = parse(&a.image)?;
    let registry = HttpRegistry::new(&r, &a.registry)?;
    match vouch_oci::layout::push(&registry, &a.dir, &r) {
        Ok(d) => {
            output::emit(global, format!("{}\n", r.at_digest(&d)).as_bytes())?;
            Ok(0)
        }
        Err(e) => oci_error(e, false),
    }
}

/// Whether a command argument names a registry image rather than a local path: no file or
/// directory by that name (nor a `DIR:REF` layout reference whose DIR exists), and it reads
/// as an image reference naming a registry, tag or digest (`vouch_oci::looks_like_image`).
pub fn names_image(arg: &str) -> bool {
    let local = |p: &str| std::path::Path::new(p).exists();
    !local(arg)
        && !arg.rsplit_once(':').is_some_and(|(dir, _)| local(dir))
        && vouch_oci::looks_like_image(arg)
}

fn parse(image: &str) -> Result<Reference> {
    Reference::parse(image).map_err(|e| {
        anyhow!(
            InputError::new(e.to_string())
                .with_hint("an image is registry/repo:tag or registry/repo@sha256:<hex>")
        )
    })
}

/// A library error: usage and unreachable registries exit 2; for verification, content that
/// does not match its digest is a failed verification (exit 1).
fn oci_error(e: OciError, verifying: bool) -> Result<u8> {
    match e {
        OciError::Usage(m) => Err(anyhow!(InputError::new(m))),
        OciError::Integrity(m) if verifying => {
            eprintln!("error: {m}");
            eprintln!("Verification failed");
            Ok(1)
        }
        e => Err(anyhow!("{e}")),
    }
}

/// The RFC 3339 time written into the referrer's `org.opencontainers.image.created`:
/// SOURCE_DATE_EPOCH when set (reproducible manifests), else now.
fn created() -> Result<String> {
    let t = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| jiff::Timestamp::from_second(n).ok())
            .ok_or_else(|| {
                anyhow!(InputError::new(format!(
                    "SOURCE_DATE_EPOCH=`{s}` is not a time in seconds"
                )))
            })?,
        Err(_) => output::now()?,
    };
    Ok(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn target<'a>(r: &'a Reference, args: &'a RegistryArgs) -> Target<'a> {
    Target {
        reference: r,
        platform: args.platform.as_deref(),
    }
}

fn sign(global: &GlobalArgs, a: SignArgs) -> Result<u8> {
    let r = parse(&a.image)?;
    let signer = load_signer(&a.key)?;
    let registry = HttpRegistry::new(&r, &a.registry)?;
    match ops::sign(
        &registry,
        target(&r, &a.registry),
        signer.as_ref(),
        &created()?,
    ) {
        Ok(s) => {
            if !global.quiet {
                eprintln!(
                    "Signed {} ({}); referrer {}",
                    s.digest,
                    s.attached.storage.name(),
                    s.attached.manifest
                );
            }
            output::emit(global, format!("{}\n", s.image).as_bytes())?;
            Ok(0)
        }
        Err(e) => oci_error(e, false),
    }
}

/// The verification policy of key or keyless flags: `Err(code)` when the evidence side (a
/// key file that is no key, an unreadable trusted root) already failed.
fn policy(keys: &[String], keyless: &KeylessArgs) -> Result<std::result::Result<Policy, String>> {
    let stored = keyless.stored_root();
    let trust: TrustOptions<'_> = keyless.trust(stored.as_deref());
    if let Some(p) = trust.keyless_policy().map_err(input)? {
        return Ok(p);
    }
    Ok(match verification_keys(keys)? {
        Ok(k) => trust.key_policy(k).map_err(input)?,
        Err(reason) => Err(reason),
    })
}

fn render_verification(global: &GlobalArgs, v: &ops::ImageVerification) -> Result<u8> {
    let ok = v.verified();
    match output::format_as(global, ReportFormat::Text)? {
        ReportFormat::Json => {
            let candidates: Vec<_> = v
                .candidates
                .iter()
                .map(|c| {
                    json!({
                        "source": c.source,
                        "verified": c.outcome.is_verified(),
                        "message": c.outcome.message(),
                    })
                })
                .collect();
            let doc = json!({
                "image": v.image.to_string(),
                "storage": v.storage.name(),
                "verified": ok,
                "candidates": candidates,
            });
            let mut bytes = serde_json::to_vec_pretty(&doc)?;
            bytes.push(b'\n');
            output::emit(global, &bytes)?;
        }
        ReportFormat::Text => {
            if !global.quiet {
                for c in &v.candidates {
                    match &c.outcome {
                        Outcome::Verified(ver) => {
                            eprintln!("  {}: verified", c.source);
                            for check in &ver.checks {
                                eprintln!("    {check}");
                            }
                        }
                        other => eprintln!("  {}: {}", c.source, other.message()),
                    }
                }
            }
        }
    }
    if ok {
        if !global.quiet {
            eprintln!("Verified OK: {}", v.image);
        }
        Ok(0)
    } else {
        if v.candidates.is_empty() {
            eprintln!(
                "error: {}: no signatures found ({} and cosign v2 tags)",
                v.image,
                v.storage.name()
            );
        }
        eprintln!("Verification failed");
        Ok(1)
    }
}

fn verify_image(
    global: &GlobalArgs,
    image: &str,
    keys: &[String],
    keyless: &KeylessArgs,
    registry_args: &RegistryArgs,
    wanted: Wanted,
) -> Result<u8> {
    let r = parse(image)?;
    let policy = match policy(keys, keyless)? {
        Ok(p) => p,
        Err(reason) => {
            eprintln!("error: {reason}");
            eprintln!("Verification failed");
            return Ok(1);
        }
    };
    let registry = HttpRegistry::new(&r, registry_args)?;
    match ops::verify(&registry, target(&r, registry_args), policy, &wanted) {
        Ok(v) => render_verification(global, &v),
        Err(e) => oci_error(e, true),
    }
}

fn verify(global: &GlobalArgs, a: VerifyArgs) -> Result<u8> {
    verify_image(
        global,
        &a.image,
        &a.key,
        &a.keyless,
        &a.registry,
        Wanted::Signature,
    )
}

/// `vouch verify-attestation IMAGE --type T`.
pub fn verify_attestation(
    global: &GlobalArgs,
    image: &str,
    predicate_type: Option<&str>,
    keys: &[String],
    keyless: &KeylessArgs,
    registry_args: &RegistryArgs,
) -> Result<u8> {
    let t = predicate_type
        .map(|t| PredicateType::resolve(t).map_err(|e| anyhow!(InputError::new(e.to_string()))))
        .transpose()?;
    verify_image(
        global,
        image,
        keys,
        keyless,
        registry_args,
        Wanted::Attestation(t),
    )
}

/// `vouch attest IMAGE --predicate F --type T --key K`.
pub fn attest(
    global: &GlobalArgs,
    image: &str,
    predicate: &std::path::Path,
    predicate_type: &str,
    key: &str,
    registry_args: &RegistryArgs,
) -> Result<u8> {
    let r = parse(image)?;
    let ptype = PredicateType::resolve(predicate_type)
        .map_err(|e| anyhow!(InputError::new(e.to_string())))?;
    let bytes = vouch_core::fs::read_regular(predicate, vouch_core::fs::MAX_INPUT_LEN)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(InputError::at(
            predicate,
            u32::try_from(e.line()).unwrap_or(0),
            u32::try_from(e.column()).ok(),
            format!("not JSON: {e}"),
        ))
    })?;
    if ptype.uri == vouch_attest::statement::SLSA_V1 {
        vouch_attest::statement::validate_slsa_v1(&value)
            .map_err(|e| anyhow!(InputError::in_file(predicate, e.to_string())))?;
    }
    let signer = load_signer(key)?;
    let registry = HttpRegistry::new(&r, registry_args)?;
    match ops::attest(
        &registry,
        target(&r, registry_args),
        signer.as_ref(),
        &ptype,
        value,
        &created()?,
    ) {
        Ok(s) => {
            if !global.quiet {
                eprintln!(
                    "Attested {} ({}, {}); referrer {}",
                    s.digest,
                    ptype.uri,
                    s.attached.storage.name(),
                    s.attached.manifest
                );
            }
            output::emit(global, format!("{}\n", s.image).as_bytes())?;
            Ok(0)
        }
        Err(e) => oci_error(e, false),
    }
}

fn tree(global: &GlobalArgs, a: TreeArgs) -> Result<u8> {
    let r = parse(&a.image)?;
    let registry = HttpRegistry::new(&r, &a.registry)?;
    let t = match ops::tree(&registry, target(&r, &a.registry)) {
        Ok(t) => t,
        Err(e) => return oci_error(e, false),
    };
    let bytes = match output::format_as(global, ReportFormat::Text)? {
        ReportFormat::Json => {
            let doc = json!({
                "image": t.image.to_string(),
                "mediaType": t.media_type,
                "platforms": t.platforms.iter().map(|(p, d)| json!({"platform": p, "digest": d})).collect::<Vec<_>>(),
                "storage": t.storage.name(),
                "attachments": t.attachments.iter().map(|x| json!({
                    "location": x.location,
                    "digest": x.digest,
                    "type": x.kind,
                    "predicateType": x.predicate_type,
                })).collect::<Vec<_>>(),
            });
            let mut b = serde_json::to_vec_pretty(&doc)?;
            b.push(b'\n');
            b
        }
        ReportFormat::Text => {
            let mut s = format!("{} ({})\n", t.image, t.media_type);
            for (p, d) in &t.platforms {
                s.push_str(&format!("├── platform {p}: {d}\n"));
            }
            if t.attachments.is_empty() {
                s.push_str(&format!("└── nothing attached ({})\n", t.storage.name()));
            }
            for (i, x) in t.attachments.iter().enumerate() {
                let branch = if i + 1 == t.attachments.len() {
                    "└──"
                } else {
                    "├──"
                };
                let location = if x.location == "referrer" {
                    format!("referrer ({})", t.storage.name())
                } else {
                    format!("tag {}", x.location)
                };
                s.push_str(&format!("{branch} {location} {}: {}", x.digest, x.kind));
                if let Some(p) = &x.predicate_type {
                    s.push_str(&format!(" [{p}]"));
                }
                s.push('\n');
            }
            s.into_bytes()
        }
    };
    output::emit(global, &bytes)?;
    Ok(0)
}

/// For `sbom generate` / `vuln scan`: when `path` is no file but an image reference, pulls
/// the image (layers streamed to disk, digests checked) into a temporary OCI layout and
/// returns it; the caller scans the layout as it would a local one.
pub fn pull_for_scan(
    global: &GlobalArgs,
    path: &std::path::Path,
    registry_args: &RegistryArgs,
) -> Result<Option<tempfile::TempDir>> {
    let Some(s) = path
        .to_str()
        .filter(|s| !path.exists() && vouch_oci::looks_like_image(s))
    else {
        return Ok(None);
    };
    let (dir, pinned) = pull_to_layout(s, registry_args, true)?;
    if !global.quiet {
        eprintln!("Pulled {pinned}");
    }
    Ok(Some(dir))
}

/// Pulls `image` into a temporary OCI layout (layers only when `layers`; attached bundles
/// otherwise) and returns it with the pinned reference it holds.
fn pull_to_layout(
    image: &str,
    registry_args: &RegistryArgs,
    layers: bool,
) -> Result<(tempfile::TempDir, String)> {
    let r = parse(image)?;
    let registry = HttpRegistry::new(&r, registry_args)?;
    let dir = tempfile::Builder::new().prefix("vouch-image-").tempdir()?;
    let options = vouch_oci::layout::PullOptions {
        layers,
        referrers: !layers,
    };
    match vouch_oci::layout::pull(
        &registry,
        &r,
        registry_args.platform.as_deref(),
        dir.path(),
        options,
    ) {
        Ok(pulled) => Ok((dir, pulled.pinned().to_string())),
        Err(OciError::Usage(m)) => Err(anyhow!(InputError::new(m))),
        Err(e) => Err(anyhow!("{e}")),
    }
}

/// For `gate`: when `subject` is no file but an image reference, pulls its manifest, config
/// and attached bundles (no layers) into a temporary OCI layout, which vouch-gate gates as it
/// gates a local layout. Returns the layout, its path (the subject to hand the gate: it holds
/// one image) and the pinned reference (the name in the decision).
pub fn pull_for_gate(
    global: &GlobalArgs,
    subject: &str,
    registry_args: &RegistryArgs,
) -> Result<Option<(tempfile::TempDir, String, String)>> {
    if !names_image(subject) {
        return Ok(None);
    }
    let (dir, pinned) = pull_to_layout(subject, registry_args, false)?;
    if !global.quiet {
        eprintln!("Pulled {pinned} and its referrers");
    }
    let layout_subject = dir.path().display().to_string();
    Ok(Some((dir, layout_subject, pinned)))
}
