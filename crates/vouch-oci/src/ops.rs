//! The image commands, one call each: [`sign`], [`attest`], [`verify`] (signatures or
//! attestations) and [`tree`]. Each resolves the reference to a digest once and works on
//! that digest only; what is signed is the manifest (or index) digest.
//!
//! Signing writes what cosign v3 writes: a DSSE bundle whose in-toto statement names the
//! image (`registry/repo`) and its digest, with predicate type
//! `https://sigstore.dev/cosign/sign/v1` for a signature and the given type for an
//! attestation, attached as a referrer. Verification reads referrers (cosign v3 and vouch)
//! and cosign v2's legacy `.sig`/`.att` tags, and hands every candidate to vouch-attest's
//! verifier: this module never judges a signature itself. An image is verified when at
//! least one candidate verifies under the policy.

use std::collections::BTreeMap;

use serde_json::Value;
use vouch_attest::bundle::Bundle;
use vouch_attest::statement::{PredicateType, Statement};
use vouch_attest::verify::{Evidence, Outcome, Policy, SubjectDigest, Verifier};
use vouch_attest::{Signer, sign as attest_sign};

use crate::OciError;
use crate::digest::Digest;
use crate::image::{self, Resolved};
use crate::legacy;
use crate::manifest::{Descriptor, Manifest};
use crate::reference::Reference;
use crate::referrers::{self, Attached, Storage};
use crate::registry::{Registry, RegistryError};

/// The predicate type of a cosign v3 image signature.
pub const SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// What to sign or verify: an image, and optionally one platform of an index.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The image.
    pub reference: &'a Reference,
    /// `os/arch[/variant]`: select one manifest of an index.
    pub platform: Option<&'a str>,
}

/// A bundle attached to an image.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The image at the digest that was signed.
    pub image: Reference,
    /// The digest that was signed.
    pub digest: Digest,
    /// Where the bundle went.
    pub attached: Attached,
    /// The bundle.
    pub bundle: Vec<u8>,
}

fn dsse_bundle(
    signer: &dyn Signer,
    image: &Resolved,
    predicate_type: &str,
    predicate: Value,
) -> Result<Bundle, OciError> {
    let st = Statement::new(
        &image.reference.name(),
        image.digest.hex(),
        predicate_type,
        predicate,
    );
    attest_sign::attest(signer, &st).map_err(|e| OciError::Usage(e.to_string()))
}

fn annotations(predicate_type: &str, created: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            referrers::CONTENT_ANNOTATION.to_string(),
            "dsse-envelope".to_string(),
        ),
        (
            referrers::PREDICATE_TYPE_ANNOTATION.to_string(),
            predicate_type.to_string(),
        ),
        (
            referrers::CREATED_ANNOTATION.to_string(),
            created.to_string(),
        ),
    ])
}

fn push(
    registry: &dyn Registry,
    image: Resolved,
    bundle: Bundle,
    predicate_type: &str,
    created: &str,
) -> Result<Signed, OciError> {
    let bytes = bundle.to_json();
    let attached = referrers::attach(
        registry,
        &image,
        &bytes,
        annotations(predicate_type, created),
    )?;
    Ok(Signed {
        image: image.pinned(),
        digest: image.digest,
        attached,
        bundle: bytes,
    })
}

/// `vouch sign IMAGE`: signs the image's digest and attaches the bundle. `created` is the
/// RFC 3339 time written in the `org.opencontainers.image.created` annotation.
pub fn sign(
    registry: &dyn Registry,
    target: Target<'_>,
    signer: &dyn Signer,
    created: &str,
) -> Result<Signed, OciError> {
    let image = image::resolve(registry, target.reference, target.platform)?;
    let bundle = dsse_bundle(
        signer,
        &image,
        SIGN_PREDICATE,
        Value::Object(Default::default()),
    )?;
    push(registry, image, bundle, SIGN_PREDICATE, created)
}

/// `vouch attest IMAGE`: an in-toto statement of `predicate_type` about the image's digest.
pub fn attest(
    registry: &dyn Registry,
    target: Target<'_>,
    signer: &dyn Signer,
    predicate_type: &PredicateType,
    predicate: Value,
    created: &str,
) -> Result<Signed, OciError> {
    let image = image::resolve(registry, target.reference, target.platform)?;
    let bundle = dsse_bundle(signer, &image, &predicate_type.uri, predicate)?;
    push(registry, image, bundle, &predicate_type.uri, created)
}

/// What verification looks for.
#[derive(Debug, Clone)]
pub enum Wanted {
    /// Image signatures (cosign v3 `sign/v1` statements, cosign v2 `.sig`).
    Signature,
    /// Attestations, of this type if given (cosign v3 referrers, cosign v2 `.att`).
    Attestation(Option<PredicateType>),
}

/// One piece of evidence and what the verifier said about it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it was found (`referrer sha256:…`, `sha256-….sig layer sha256:…`).
    pub source: String,
    /// The verifier's outcome.
    pub outcome: Outcome,
}

/// The result of verifying an image.
#[derive(Debug, Clone)]
pub struct ImageVerification {
    /// The image at the digest that was verified.
    pub image: Reference,
    /// Where referrers were listed.
    pub storage: Storage,
    /// Every candidate, in the order found.
    pub candidates: Vec<Candidate>,
}

impl ImageVerification {
    /// Whether some candidate verified.
    pub fn verified(&self) -> bool {
        self.candidates.iter().any(|c| c.outcome.is_verified())
    }
}

/// `vouch verify IMAGE` / `vouch verify-attestation IMAGE`.
pub fn verify(
    registry: &dyn Registry,
    target: Target<'_>,
    policy: Policy,
    wanted: &Wanted,
) -> Result<ImageVerification, OciError> {
    let image = image::resolve(registry, target.reference, target.platform)?;
    let subject = SubjectDigest::parse(image.digest.as_str())
        .ok_or_else(|| OciError::Integrity("the image digest is not sha256".into()))?;
    let policy = match wanted {
        Wanted::Signature => policy.with_predicate_type(PredicateType {
            uri: SIGN_PREDICATE.to_string(),
            accepted: vec![SIGN_PREDICATE.to_string()],
        }),
        Wanted::Attestation(Some(t)) => policy.with_predicate_type(t.clone()),
        Wanted::Attestation(None) => policy,
    };
    let verifier = Verifier::new(policy);
    let judge = |r: Result<Outcome, vouch_attest::AttestError>| match r {
        Ok(o) => o,
        Err(e) => Outcome::MalformedEvidence {
            reason: e.to_string(),
        },
    };
    let (storage, found) = referrers::bundles(registry, &image)?;
    let mut candidates = Vec::new();
    for f in found {
        let annotated = f
            .annotations
            .get(referrers::PREDICATE_TYPE_ANNOTATION)
            .map(String::as_str);
        let is_signature = annotated == Some(SIGN_PREDICATE);
        match wanted {
            Wanted::Signature if !is_signature => continue,
            Wanted::Attestation(None) if is_signature => continue,
            _ => {}
        }
        let outcome = match Evidence::from_json(&f.bundle) {
            Ok(e) => judge(verifier.verify_attestation_for(&e, std::slice::from_ref(&subject))),
            Err(e) => Outcome::MalformedEvidence {
                reason: e.to_string(),
            },
        };
        candidates.push(Candidate {
            source: format!("referrer {}", f.manifest),
            outcome,
        });
    }
    let kind = match wanted {
        Wanted::Signature => legacy::Kind::Signature,
        Wanted::Attestation(_) => legacy::Kind::Attestation,
    };
    for l in legacy::read(registry, &image.reference, &image.digest, kind)? {
        let source = format!("{}.{} layer {}", image.digest.tag(), kind.suffix(), l.layer);
        let outcome = match (&l.bundle, kind) {
            (Err(reason), _) => Outcome::MalformedEvidence {
                reason: reason.clone(),
            },
            (Ok(b), legacy::Kind::Signature) => {
                match judge(verifier.verify_blob(b, l.payload.as_slice())) {
                    Outcome::Verified(v) => {
                        match legacy::payload_names(&l.payload, &image.digest) {
                            Ok(()) => Outcome::Verified(v),
                            Err(reason) => Outcome::InvalidStatement { reason },
                        }
                    }
                    other => other,
                }
            }
            (Ok(b), legacy::Kind::Attestation) => {
                // Without a certificate or log entry the envelope is judged on its own (the
                // bundle's empty key hint would add nothing).
                let evidence = if b.verification_material.x509_certificate_chain.is_none()
                    && b.verification_material.tlog_entries.is_empty()
                {
                    b.dsse_envelope.clone().map(Evidence::Envelope)
                } else {
                    Some(Evidence::Bundle(Box::new(b.clone())))
                };
                match evidence {
                    Some(e) => {
                        judge(verifier.verify_attestation_for(&e, std::slice::from_ref(&subject)))
                    }
                    None => Outcome::MalformedEvidence {
                        reason: "no DSSE envelope".into(),
                    },
                }
            }
        };
        candidates.push(Candidate { source, outcome });
    }
    Ok(ImageVerification {
        image: image.pinned(),
        storage,
        candidates,
    })
}

/// One thing attached to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `referrer`, or the legacy tag (`sha256-….sig`).
    pub location: String,
    /// The manifest digest.
    pub digest: String,
    /// Artifact type (referrers) or layer media type (legacy).
    pub kind: String,
    /// The predicate type, when known.
    pub predicate_type: Option<String>,
}

/// What `vouch tree IMAGE` shows.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The image at its digest.
    pub image: Reference,
    /// The image's media type.
    pub media_type: String,
    /// Platforms of an index (`os/arch` → digest).
    pub platforms: Vec<(String, String)>,
    /// Where referrers are listed.
    pub storage: Storage,
    /// Everything attached, referrers first, then legacy tags.
    pub attachments: Vec<Attachment>,
}

/// `vouch tree IMAGE`: what is attached to the image (nothing is verified).
pub fn tree(registry: &dyn Registry, target: Target<'_>) -> Result<Tree, OciError> {
    let image = image::resolve(registry, target.reference, target.platform)?;
    let platforms = match &image.manifest {
        Manifest::Index(i) => i
            .manifests
            .iter()
            .map(|d| {
                (
                    d.platform
                        .as_ref()
                        .map(|p| p.name())
                        .unwrap_or_else(|| "unknown".into()),
                    d.digest.clone(),
                )
            })
            .collect(),
        Manifest::Image(_) => Vec::new(),
    };
    let (storage, listed) = referrers::list(registry, &image.reference, &image.digest)?;
    let mut attachments: Vec<Attachment> = listed
        .iter()
        .map(|d: &Descriptor| Attachment {
            location: "referrer".into(),
            digest: d.digest.clone(),
            kind: d
                .artifact_type
                .clone()
                .unwrap_or_else(|| d.media_type.clone()),
            predicate_type: d
                .annotations
                .get(referrers::PREDICATE_TYPE_ANNOTATION)
                .cloned(),
        })
        .collect();
    for suffix in ["sig", "att", "sbom"] {
        let tag = format!("{}.{suffix}", image.digest.tag());
        match registry.get_manifest(&image.reference, &tag) {
            Ok(raw) => {
                let digest = Digest::of(&raw.bytes).to_string();
                match Manifest::parse(&raw.bytes, raw.content_type.as_deref()) {
                    Ok(Manifest::Image(m)) => {
                        attachments.extend(m.layers.iter().map(|l| Attachment {
                            location: tag.clone(),
                            digest: digest.clone(),
                            kind: l.media_type.clone(),
                            predicate_type: l.annotations.get("predicateType").cloned(),
                        }))
                    }
                    _ => attachments.push(Attachment {
                        location: tag.clone(),
                        digest,
                        kind: "unreadable manifest".into(),
                        predicate_type: None,
                    }),
                }
            }
            Err(RegistryError::NotFound(_)) => {}
            Err(e) => {
                return Err(OciError::registry(
                    format!("{}:{tag}", image.reference.name()),
                    e,
                ));
            }
        }
    }
    Ok(Tree {
        image: image.pinned(),
        media_type: image.descriptor.media_type.clone(),
        platforms,
        storage,
        attachments,
    })
}
