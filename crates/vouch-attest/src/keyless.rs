//! Keyless (Fulcio certificate) checks of a Sigstore bundle's signing certificate, offline,
//! against a [`TrustedRoot`], at every verified time.
//!
//! These are the checks Sigstore clients (sigstore-go, sigstore-python, cosign) make:
//! 1. the leaf is the bundle's `certificate`, or the first certificate of its
//!    `x509CertificateChain` (further certificates in the bundle are not used: the chain is
//!    built from the trusted root only, as sigstore-go does; from v0.2 on a chain that
//!    includes a root CA is refused, per the protobuf-specs client policy);
//! 2. at each verified time (a SET-verified `integratedTime`, an RFC 3161 `genTime`), the
//!    leaf is within its validity, and it chains to a `certificateAuthorities[].certChain`
//!    (issuing certificate first, root last) whose `validFor` window contains that time and
//!    whose certificates are valid CAs at that time;
//! 3. the leaf has KeyUsage digitalSignature and EKU codeSigning;
//! 4. exactly one embedded precertificate SCT, signed (SHA-256) by a `ctlogs` key valid at
//!    the SCT's time (SCT extensions are part of the signed data) — unless the policy waives
//!    CT (`--insecure-ignore-sct`, for private instances without a CT log);
//! 5. a subject alternative name (email, URI or otherName) and the OIDC issuer (extension
//!    `1.3.6.1.4.1.57264.1.8`, else `.1.1`) match one trusted [`Identity`].
//!
//! Each failure maps to its own [`Outcome`]: an untrusted certificate or an identity
//! mismatch.

// A failed check returns the final `Outcome` directly; it is the cold path, taken once.
#![allow(clippy::result_large_err)]

use sha2::{Digest, Sha256};

use crate::bundle::Bundle;
use crate::trusted_root::{TimeRange, TrustedRoot};
use crate::verify::{Identity, Outcome};
use crate::x509::Cert;

/// A certificate that passed the checks.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// Index into the policy's identities.
    pub identity: usize,
    /// The SAN that matched.
    pub subject: String,
    /// The OIDC issuer in the certificate.
    pub issuer: String,
    /// The subject of the CA certificate that issued the leaf.
    pub ca: String,
}

pub(crate) fn untrusted(reason: impl Into<String>) -> Outcome {
    Outcome::UntrustedCertificate {
        reason: reason.into(),
    }
}

/// The bundle's leaf certificate (step 1), parsed, with its key.
pub(crate) fn leaf_of(
    bundle: &Bundle,
) -> Result<(Cert, vouch_crypto::keys::PublicKey, Vec<u8>), Outcome> {
    let vm = &bundle.verification_material;
    let leaf_der = match (&vm.certificate, &vm.x509_certificate_chain) {
        (Some(c), _) => &c.raw_bytes.0,
        (None, Some(chain)) => {
            // The protobuf-specs client policy: the chain MUST NOT include a root CA (a
            // bundle carrying its own anchor invites misuse). v0.1 bundles from before the
            // rule are accepted, as sigstore-go and sigstore-js accept them.
            if bundle.version() >= Some(crate::bundle::BundleVersion::V02) {
                for c in chain.certificates.iter().skip(1) {
                    if Cert::from_der(&c.raw_bytes.0).is_ok_and(|c| c.issued_by(&c).is_ok()) {
                        return Err(untrusted(
                            "the bundle's certificate chain includes a root CA; only the trusted root may anchor it",
                        ));
                    }
                }
            }
            match chain.certificates.first() {
                Some(c) => &c.raw_bytes.0,
                None => return Err(untrusted("the certificate chain in the bundle is empty")),
            }
        }
        (None, None) => return Err(untrusted("the bundle carries no certificate")),
    };
    let leaf = Cert::from_der(leaf_der).map_err(untrusted)?;
    let spki = leaf.spki_der().map_err(untrusted)?;
    let key = vouch_crypto::keys::PublicKey::from_spki_der(&spki)
        .map_err(|e| untrusted(format!("the certificate's key is not usable: {e}")))?;
    Ok((leaf, key, spki))
}

/// A quick first check, before the log entries are looked at: some CA certificate of the
/// trusted root issued the leaf (names and signature; times and the rest of the chain come in
/// [`check_certificate`]). A bundle from another Sigstore instance is then reported as an
/// untrusted certificate, not as a log entry from an unknown log.
pub(crate) fn issued_under(leaf: &Cert, root: &TrustedRoot) -> Result<(), Outcome> {
    let issued = root.certificate_authorities.iter().any(|ca| {
        ca.cert_chain
            .certificates
            .iter()
            .filter_map(|c| Cert::from_der(&c.raw_bytes.0).ok())
            .any(|c| leaf.issued_by(&c).is_ok())
    });
    if issued {
        Ok(())
    } else {
        Err(untrusted(
            "the certificate was not issued by a CA in the trusted root",
        ))
    }
}

/// Steps 2–5 for a parsed leaf at every verified time in `times` (seconds; at least one).
pub(crate) fn check_certificate(
    leaf: &Cert,
    root: &TrustedRoot,
    identities: &[Identity],
    times: &[i64],
    check_sct: bool,
) -> Result<Leaf, Outcome> {
    if times.is_empty() {
        return Err(untrusted(
            "no verified time to check the certificate at (no log entry with a SET and no RFC 3161 timestamp verified)",
        ));
    }
    leaf.check_code_signing()
        .map_err(|r| untrusted(format!("the certificate is not for code signing: {r}")))?;

    let mut ca_subject = String::new();
    let mut issuer_cert: Option<Cert> = None;
    for &time in times {
        let when = jiff::Timestamp::from_second(time)
            .map_err(|_| untrusted(format!("verified time {time} is out of range")))?;
        if !leaf.valid_at(time) {
            return Err(untrusted(format!(
                "the certificate was not valid at the verified time {when}"
            )));
        }
        let mut reasons = Vec::new();
        let mut found = None;
        for (i, ca) in root.certificate_authorities.iter().enumerate() {
            if !TimeRange::contains(ca.valid_for.as_ref(), when) {
                reasons.push(format!("CA {i} is not valid at {when}"));
                continue;
            }
            match chain_to(leaf, ca, time) {
                Ok(first) => {
                    found = Some(first);
                    break;
                }
                Err(r) => reasons.push(format!("CA {i}: {r}")),
            }
        }
        let Some(first) = found else {
            return Err(untrusted(format!(
                "the certificate does not chain to a CA in the trusted root at {when} ({})",
                if reasons.is_empty() {
                    "the trusted root lists no CA".to_string()
                } else {
                    reasons.join("; ")
                }
            )));
        };
        ca_subject = first.subject();
        issuer_cert = Some(first);
    }
    if check_sct && let Some(issuer) = &issuer_cert {
        check_sct_of(leaf, issuer, root)?;
    }

    let sans = leaf.identities();
    let cert_issuer = leaf.oidc_issuer();
    let matched = identities.iter().enumerate().find_map(|(i, id)| {
        let iss = cert_issuer.as_deref().filter(|s| id.issuer.matches(s))?;
        let san = sans.iter().find(|s| id.subject.matches(s))?;
        Some((i, san.clone(), iss.to_string()))
    });
    let Some((identity, subject, issuer_name)) = matched else {
        return Err(Outcome::IdentityMismatch {
            subjects: sans,
            issuer: cert_issuer,
        });
    };
    Ok(Leaf {
        identity,
        subject,
        issuer: issuer_name,
        ca: ca_subject,
    })
}

/// Chains `leaf` through one CA's certificates; returns the leaf's issuer. The chain is
/// built by issuer, not by position: trusted roots list it issuing certificate first, but
/// some (sigstore-js fixtures) list the root first, and sigstore-go builds from a pool.
fn chain_to(
    leaf: &Cert,
    ca: &crate::trusted_root::CertificateAuthority,
    time: i64,
) -> Result<Cert, String> {
    let certs: Vec<Cert> = ca
        .cert_chain
        .certificates
        .iter()
        .map(|c| Cert::from_der(&c.raw_bytes.0))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err("empty chain".into());
    }
    let mut used = vec![false; certs.len()];
    let mut child = leaf;
    let mut first = None;
    let mut last_reason = String::new();
    loop {
        let parent = certs.iter().enumerate().find_map(|(i, c)| {
            if used.get(i).copied().unwrap_or(true) {
                return None;
            }
            match child.issued_by(c) {
                Ok(()) => Some(i),
                Err(r) => {
                    last_reason = r;
                    None
                }
            }
        });
        let Some(i) = parent else {
            return match first {
                // The path ends at a certificate the trusted root lists: that is the anchor.
                Some(f) => Ok(f),
                None => Err(last_reason),
            };
        };
        let Some(c) = certs.get(i) else {
            return Err("chain index out of range".into());
        };
        if let Some(u) = used.get_mut(i) {
            *u = true;
        }
        if !c.valid_at(time) {
            return Err(format!("`{}` is not valid at that time", c.subject()));
        }
        if !c.is_ca() {
            return Err(format!("`{}` is not a CA certificate", c.subject()));
        }
        if first.is_none() {
            first = Some(c.clone());
        }
        if c.issued_by(c).is_ok() {
            // Self-signed: the root.
            return first.ok_or_else(|| "no issuer".to_string());
        }
        child = c;
    }
}

fn check_sct_of(leaf: &Cert, issuer: &Cert, root: &TrustedRoot) -> Result<(), Outcome> {
    let scts = leaf
        .embedded_scts()
        .map_err(|r| untrusted(format!("the certificate's SCT list is unreadable: {r}")))?;
    let [sct] = scts.as_slice() else {
        return Err(untrusted(format!(
            "the certificate carries {} embedded SCTs; exactly one is expected",
            scts.len()
        )));
    };
    let Some(log) = root.ctlog(&sct.log_id) else {
        return Err(untrusted(
            "the certificate's SCT is from a CT log not in the trusted root",
        ));
    };
    let when = jiff::Timestamp::from_millisecond(i64::try_from(sct.timestamp).unwrap_or(i64::MAX))
        .map_err(|_| untrusted("the SCT timestamp is out of range"))?;
    if !TimeRange::contains(log.public_key.valid_for.as_ref(), when) {
        return Err(untrusted(
            "the SCT was made outside the CT log key's validity",
        ));
    }
    if sct.hash_alg != 4 {
        return Err(untrusted("the SCT is not signed with SHA-256"));
    }
    let issuer_key_hash = Sha256::digest(issuer.spki_der().map_err(untrusted)?);
    let tbs = leaf.precert_tbs().map_err(untrusted)?;
    let data = sct.signed_data(&issuer_key_hash, &tbs);
    crate::x509::verify_spki_der(&log.public_key.raw_bytes.0, &data, &sct.signature)
        .map_err(|r| untrusted(format!("the certificate's SCT {r}")))
}
