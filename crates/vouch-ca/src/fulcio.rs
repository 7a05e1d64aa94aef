//! Fulcio-profile code-signing certificates, issued through a CT precertificate.
//!
//! The leaf, as Fulcio issues it: a random positive 160-bit serial, the issuing CA's subject
//! as issuer, an empty subject, validity of at most 10 minutes, and the extensions in this
//! order: KeyUsage digitalSignature (critical), ExtendedKeyUsage codeSigning, SKI, AKI (the
//! issuer's SKI), one **critical** SAN (empty subject, RFC 5280 §4.2.1.6), the OIDC issuer in
//! `1.3.6.1.4.1.57264.1.1` (raw UTF-8, the form sigstore-python reads) and `.1.8` (DER
//! UTF8String), then the identity's CI extensions. No BasicConstraints, like Fulcio.
//!
//! Issuing: the precertificate is that TBS plus the critical CT poison extension, signed by
//! the issuing CA; the CT log signs an SCT over (SHA-256 of the issuer's SPKI, the TBS
//! without poison); the final certificate is the TBS without poison plus the SCT list
//! extension (last, so a verifier that removes it gets the bytes the log signed).
//!
//! Requests: [`parse_csr`] reads a PKCS#10 CSR (PEM or DER) and checks its self-signature;
//! [`verify_proof_of_possession`] checks the signature over the challenge claim that
//! Fulcio's `publicKeyRequest` form carries.

use aws_lc_rs::signature as sig;
use vouch_crypto::keys::PublicKey;
use x509_cert::der::asn1::{Ia5String, Null, ObjectIdentifier, OctetString, Utf8StringRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

pub use crate::chain::CaError;
use crate::chain::{
    CaKeys, OID_AKI, OID_CODE_SIGNING, OID_EXT_KEY_USAGE, OID_KEY_USAGE, OID_SKI, ext,
    key_identifier, random_serial, raw_ext, signature_algorithm, validity,
};
use crate::ct::Sct;
use crate::identity::{Identity, San};

/// The longest certificate validity issued.
pub const MAX_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

pub const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// CT precertificate poison (RFC 6962 §3.1).
pub const OID_CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// Embedded SCT list (RFC 6962 §3.3).
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio OIDC issuer, v1 (raw bytes).
pub const OID_ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio OIDC issuer, v2 (DER UTF8String).
pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// The largest CSR read, in bytes.
const MAX_CSR: usize = 64 * 1024;

/// What the CT log is asked to log: the precertificate entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecertEntry {
    /// SHA-256 of the issuing CA's SubjectPublicKeyInfo (DER).
    pub issuer_key_hash: [u8; 32],
    /// The precertificate's TBS without the poison extension (DER).
    pub tbs_der: Vec<u8>,
    /// The signed precertificate (DER), with the poison extension.
    pub precert_der: Vec<u8>,
}

/// An issued certificate and the CA chain above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The leaf (DER).
    pub leaf_der: Vec<u8>,
    /// The CA certificates, issuing certificate first, root last (DER).
    pub chain_der: Vec<Vec<u8>>,
}

impl IssuedCert {
    /// Leaf then chain, each as a PEM `CERTIFICATE`.
    pub fn pem_chain(&self) -> Vec<String> {
        std::iter::once(&self.leaf_der)
            .chain(&self.chain_der)
            .map(|d| cert_pem(d))
            .collect()
    }
}

/// A DER certificate as PEM (LF line endings).
pub fn cert_pem(der: &[u8]) -> String {
    x509_cert::der::pem::encode_string("CERTIFICATE", x509_cert::der::pem::LineEnding::LF, der)
        .unwrap_or_default()
}

/// Issues a certificate for `subject_public_key_spki_der` stating `identity`, valid from
/// `not_before` for `validity` (at most [`MAX_VALIDITY`]). `ct` logs the precertificate and
/// returns its SCT; it is called once, and its error ends the issuing.
pub fn issue(
    ca: &CaKeys,
    subject_public_key_spki_der: &[u8],
    identity: &Identity,
    not_before: jiff::Timestamp,
    validity_len: jiff::SignedDuration,
    ct: impl FnOnce(&PrecertEntry) -> Result<Sct, CaError>,
) -> Result<IssuedCert, CaError> {
    if validity_len <= jiff::SignedDuration::ZERO || validity_len > MAX_VALIDITY {
        return Err(CaError::InvalidRequest(format!(
            "the validity must be positive and at most {} minutes",
            MAX_VALIDITY.as_mins()
        )));
    }
    // The key must be one Sigstore clients can use (P-256/384/521, Ed25519, RSA 2048–8192).
    PublicKey::from_spki_der(subject_public_key_spki_der)
        .map_err(|e| CaError::InvalidRequest(format!("the public key is not usable: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(subject_public_key_spki_der)
        .map_err(|e| CaError::InvalidRequest(format!("the public key is not an SPKI: {e}")))?;
    let issuer = ca.issuer();
    let not_after = not_before
        .checked_add(validity_len)
        .map_err(|_| CaError::InvalidRequest("the validity is out of range".into()))?;

    // The leaf may not outlive, or predate, the certificate that issues it.
    let ca_validity = &issuer.certificate().tbs_certificate.validity;
    let (ca_from, ca_to) = (
        ca_validity.not_before.to_unix_duration().as_secs(),
        ca_validity.not_after.to_unix_duration().as_secs(),
    );
    let within =
        |t: jiff::Timestamp| u64::try_from(t.as_second()).is_ok_and(|s| ca_from <= s && s <= ca_to);
    if !within(not_before) || !within(not_after) {
        return Err(CaError::Signing(format!(
            "the issuing CA certificate `{}` is not valid for the whole leaf validity",
            issuer.subject()
        )));
    }

    let san = match &identity.san {
        San::Email(e) => GeneralName::Rfc822Name(
            Ia5String::new(e)
                .map_err(|_| CaError::Identity("the email is not an IA5String".into()))?,
        ),
        San::Uri(u) => GeneralName::UniformResourceIdentifier(
            Ia5String::new(u)
                .map_err(|_| CaError::Identity("the URI is not an IA5String".into()))?,
        ),
    };
    let mut exts = vec![
        ext(
            OID_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        ext(
            OID_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
        )?,
        ext(
            OID_SKI,
            false,
            &SubjectKeyIdentifier(OctetString::new(key_identifier(&spki))?),
        )?,
        ext(
            OID_AKI,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer.key_id())?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        ext(OID_SAN, true, &SubjectAltName(vec![san]))?,
        raw_ext(OID_ISSUER_V1, false, identity.issuer.as_bytes().to_vec())?,
        ext(OID_ISSUER_V2, false, &Utf8StringRef::new(&identity.issuer)?)?,
    ];
    for (oid, value) in &identity.extensions {
        if exts.iter().any(|e| e.extn_id == *oid) {
            return Err(CaError::Identity(format!("extension {oid} is given twice")));
        }
        if !oid.to_string().starts_with("1.3.6.1.4.1.57264.1.") {
            return Err(CaError::Identity(format!(
                "extension {oid} is not in Fulcio's arc"
            )));
        }
        exts.push(raw_ext(*oid, false, value.clone())?);
    }

    let mut tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: random_serial()?,
        signature: signature_algorithm(issuer.signer.as_ref())?,
        issuer: issuer.subject().clone(),
        validity: validity(not_before, not_after)?,
        subject: Name::default(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts.clone()),
    };
    let tbs_der = tbs.to_der()?;

    let mut pre_exts = exts.clone();
    pre_exts.push(ext(OID_CT_POISON, true, &Null)?);
    let mut pre_tbs = tbs.clone();
    pre_tbs.extensions = Some(pre_exts);
    let precert_der = crate::chain::sign_tbs(pre_tbs, issuer.signer.as_ref())?;

    let entry = PrecertEntry {
        issuer_key_hash: issuer.spki_sha256(),
        tbs_der,
        precert_der,
    };
    let sct = ct(&entry)?;

    let mut final_exts = exts;
    final_exts.push(ext(
        OID_SCT_LIST,
        false,
        &OctetString::new(sct.to_tls_list_bytes()?)?,
    )?);
    tbs.extensions = Some(final_exts);
    let leaf_der = crate::chain::sign_tbs(tbs, issuer.signer.as_ref())?;
    Ok(IssuedCert {
        leaf_der,
        chain_der: ca.chain_der(),
    })
}

/// Reads a PKCS#10 CSR (PEM `CERTIFICATE REQUEST`/`NEW CERTIFICATE REQUEST`, or DER),
/// checks its self-signature and returns its SubjectPublicKeyInfo (DER). Only the key is
/// used: the subject and requested extensions are ignored, as Fulcio ignores them.
pub fn parse_csr(pem_or_der: &[u8]) -> Result<Vec<u8>, CaError> {
    let bad = |m: String| CaError::InvalidRequest(format!("the CSR {m}"));
    if pem_or_der.len() > MAX_CSR {
        return Err(bad("is too large".into()));
    }
    let der = if pem_or_der.starts_with(b"-----BEGIN")
        || pem_or_der.first().is_some_and(|b| b.is_ascii_whitespace())
    {
        let text = std::str::from_utf8(pem_or_der).map_err(|_| bad("is not UTF-8 PEM".into()))?;
        pem_block(text).map_err(bad)?
    } else {
        pem_or_der.to_vec()
    };
    let req = CertReq::from_der(&der).map_err(|e| bad(format!("is not PKCS#10: {e}")))?;
    let info = req.info.to_der()?;
    let signature = req
        .signature
        .as_bytes()
        .ok_or_else(|| bad("signature has unused bits".into()))?;
    verify_with_spki(
        &req.info.public_key,
        Some(req.algorithm.oid),
        &info,
        signature,
    )
    .map_err(|m| bad(format!("self-signature {m}")))?;
    let spki = req.info.public_key.to_der()?;
    PublicKey::from_spki_der(&spki).map_err(|e| bad(format!("key is not usable: {e}")))?;
    Ok(spki)
}

/// The DER of the one `CERTIFICATE REQUEST` PEM block in `text`. Lenient about line length
/// and line endings (clients differ); strict about labels and base64.
fn pem_block(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let text = text.trim();
    let first = text.lines().next().unwrap_or_default().trim();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or("is not PEM")?;
    if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
        return Err(format!("is a PEM `{label}`, not a CERTIFICATE REQUEST"));
    }
    let end = format!("-----END {label}-----");
    let mut b64 = String::new();
    let mut ended = false;
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err("has PEM headers".into());
        }
        b64.push_str(line);
    }
    if !ended {
        return Err("PEM has no END line".into());
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "PEM is not base64".into())
}

/// A PKCS#10 CSR (DER) for `signer`'s key, with an empty subject and no attributes, signed
/// by it: what a client sends; for tests and tools.
pub fn make_csr(signer: &dyn vouch_crypto::signer::Signer) -> Result<Vec<u8>, CaError> {
    let info = x509_cert::request::CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Name::default(),
        public_key: SubjectPublicKeyInfoOwned::from_der(signer.public_key().spki_der())?,
        attributes: Default::default(),
    };
    let sig = signer
        .sign(&info.to_der()?)
        .map_err(|e| CaError::Signing(format!("the key did not sign the CSR: {e}")))?;
    Ok(CertReq {
        info,
        algorithm: signature_algorithm(signer)?,
        signature: x509_cert::der::asn1::BitString::from_bytes(&sig)?,
    }
    .to_der()?)
}

/// Checks a `publicKeyRequest` proof of possession: `signature` over `challenge` (the
/// token's challenge claim, `sub` or `email`) by `public_key_spki_der`, as Fulcio checks it:
/// ECDSA (DER) over SHA-256 whatever the curve, Ed25519 over the bytes, RSA PKCS#1 v1.5
/// with SHA-256.
pub fn verify_proof_of_possession(
    public_key_spki_der: &[u8],
    challenge: &str,
    signature: &[u8],
) -> Result<(), CaError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(public_key_spki_der)
        .map_err(|e| CaError::InvalidRequest(format!("the public key is not an SPKI: {e}")))?;
    let alg = match spki.algorithm.oid {
        OID_EC_PUBLIC_KEY => Some(OID_ECDSA_SHA256),
        OID_RSA => Some(OID_RSA_SHA256),
        _ => None,
    };
    verify_with_spki(&spki, alg, challenge.as_bytes(), signature)
        .map_err(|m| CaError::InvalidRequest(format!("the proof of possession {m}")))
}

fn verify_with_spki(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: Option<ObjectIdentifier>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let alg: &'static dyn sig::VerificationAlgorithm = match (spki.algorithm.oid, curve, sig_alg) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256), Some(OID_ECDSA_SHA256)) => &sig::ECDSA_P256_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P256), Some(OID_ECDSA_SHA384)) => &sig::ECDSA_P256_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), Some(OID_ECDSA_SHA256)) => &sig::ECDSA_P384_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), Some(OID_ECDSA_SHA384)) => &sig::ECDSA_P384_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P521), Some(OID_ECDSA_SHA256)) => &sig::ECDSA_P521_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P521), Some(OID_ECDSA_SHA512)) => &sig::ECDSA_P521_SHA512_ASN1,
        (OID_ED25519, _, None | Some(OID_ED25519)) => &sig::ED25519,
        (OID_RSA, _, Some(OID_RSA_SHA256)) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (OID_RSA, _, Some(OID_RSA_SHA384)) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (OID_RSA, _, Some(OID_RSA_SHA512)) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (k, _, s) => {
            return Err(format!(
                "uses an unsupported algorithm (key {k}{})",
                s.map(|s| format!(", signature {s}")).unwrap_or_default()
            ));
        }
    };
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "has a malformed key".to_string())?;
    sig::UnparsedPublicKey::new(alg, raw)
        .verify(message, signature)
        .map_err(|_| "does not verify".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};

    #[test]
    fn proof_of_possession() {
        let k = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let sig = k.sign(b"user@example.com").unwrap();
        let spki = k.public_key().spki_der();
        verify_proof_of_possession(spki, "user@example.com", &sig).unwrap();
        assert!(verify_proof_of_possession(spki, "other@example.com", &sig).is_err());
        let e = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let sig = e.sign(b"sub").unwrap();
        verify_proof_of_possession(e.public_key().spki_der(), "sub", &sig).unwrap();
    }

    #[test]
    fn csr_garbage_is_refused() {
        assert!(parse_csr(b"").is_err());
        assert!(
            parse_csr(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(parse_csr(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }
}
