//! The issuing CA: a root and, usually, an intermediate, each a [`Signer`] (a key file or a
//! PKCS#11 object) with its DER certificate; and a dev-mode chain generator.
//!
//! Also the certificate plumbing the other modules share: the signature algorithm a signer
//! implies, times as RFC 5280 wants them (UTCTime before 2050), random 160-bit serials, key
//! identifiers (RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits) and signing
//! a `TbsCertificate`.
//!
//! The dev chain follows Fulcio's certificate specification for CA certificates: subject
//! with CN and O, keyUsage keyCertSign + cRLSign (critical), critical BasicConstraints
//! CA:true (`pathlen:0` on the intermediate), SKI, AKI = the parent's SKI, and the
//! intermediate also carries EKU codeSigning.

use std::str::FromStr;
use std::time::Duration;

use vouch_crypto::keys::{KeyAlgorithm, PrivateKey, PublicKey};
use vouch_crypto::signer::Signer;
use x509_cert::Certificate;
use x509_cert::der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaError {
    /// The OIDC token's claims do not make an identity (the message names the claim).
    #[error("identity: {0}")]
    Identity(String),
    /// The request is unusable: a bad CSR or key, a failed proof of possession, a validity
    /// longer than allowed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A CA or CT key, or a CA certificate, is unusable or did not sign.
    #[error("signing: {0}")]
    Signing(String),
    /// The CT log refused or failed to log the precertificate.
    #[error("certificate transparency: {0}")]
    Ct(String),
    /// A value could not be DER-encoded.
    #[error("encoding: {0}")]
    Encoding(String),
}

impl From<x509_cert::der::Error> for CaError {
    fn from(e: x509_cert::der::Error) -> Self {
        CaError::Encoding(e.to_string())
    }
}

pub(crate) const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(crate) const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const OID_BASIC_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.19");
pub(crate) const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
pub(crate) const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
pub(crate) const OID_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// One CA level: the key that signs and its certificate.
#[derive(Debug)]
pub struct CaCert {
    pub signer: Box<dyn Signer>,
    pub cert_der: Vec<u8>,
    cert: Certificate,
}

impl CaCert {
    /// Pairs a signer with its certificate; the certificate's key must be the signer's, and
    /// the certificate must be a CA (BasicConstraints CA:true).
    pub fn new(signer: Box<dyn Signer>, cert_der: Vec<u8>) -> Result<CaCert, CaError> {
        let cert = Certificate::from_der(&cert_der)
            .map_err(|e| CaError::Signing(format!("the CA certificate is not DER: {e}")))?;
        let spki = cert.tbs_certificate.subject_public_key_info.to_der()?;
        if spki != signer.public_key().spki_der() {
            return Err(CaError::Signing(format!(
                "the key of CA certificate `{}` is not its signer's",
                cert.tbs_certificate.subject
            )));
        }
        let is_ca = extension(&cert, OID_BASIC_CONSTRAINTS)
            .and_then(|v| BasicConstraints::from_der(v).ok())
            .is_some_and(|b| b.ca);
        if !is_ca {
            return Err(CaError::Signing(format!(
                "certificate `{}` is not a CA certificate",
                cert.tbs_certificate.subject
            )));
        }
        Ok(CaCert {
            signer,
            cert_der,
            cert,
        })
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The subject name, which issued certificates carry as their issuer.
    pub fn subject(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }

    /// The subject key identifier: the certificate's SKI extension, else computed.
    pub fn key_id(&self) -> Vec<u8> {
        extension(&self.cert, OID_SKI)
            .and_then(|v| OctetString::from_der(v).ok())
            .map(|o| o.as_bytes().to_vec())
            .unwrap_or_else(|| key_identifier(&self.cert.tbs_certificate.subject_public_key_info))
    }

    /// SHA-256 of the certificate's SubjectPublicKeyInfo (DER): the CT `issuer_key_hash`.
    pub fn spki_sha256(&self) -> [u8; 32] {
        sha256(self.signer.public_key().spki_der())
    }
}

/// The issuing CA: the root and, optionally, the intermediate that signs leaves.
#[derive(Debug)]
pub struct CaKeys {
    pub root: CaCert,
    pub intermediate: Option<CaCert>,
    /// Certificates above the top certificate we hold a key for (e.g. an offline root),
    /// issuer first: published in the chain, never used to sign.
    pub above: Vec<Vec<u8>>,
}

impl CaKeys {
    /// A CA; the intermediate, when given, must name the root as its issuer.
    pub fn new(root: CaCert, intermediate: Option<CaCert>) -> Result<CaKeys, CaError> {
        if let Some(i) = &intermediate
            && i.cert.tbs_certificate.issuer != root.cert.tbs_certificate.subject
        {
            return Err(CaError::Signing(format!(
                "the intermediate `{}` was not issued by the root `{}`",
                i.cert.tbs_certificate.subject, root.cert.tbs_certificate.subject
            )));
        }
        Ok(CaKeys {
            root,
            intermediate,
            above: Vec::new(),
        })
    }

    /// A CA whose only key is the issuing certificate's; `above` are the certificates up to
    /// the (offline) root, issuer first, each issued by the next.
    pub fn issuing(issuing: CaCert, above: Vec<Vec<u8>>) -> Result<CaKeys, CaError> {
        let mut child = issuing.cert.clone();
        for der in &above {
            let cert = x509_cert::Certificate::from_der(der)
                .map_err(|e| CaError::Encoding(format!("a CA chain certificate: {e}")))?;
            if child.tbs_certificate.issuer != cert.tbs_certificate.subject {
                return Err(CaError::Signing(format!(
                    "`{}` was not issued by `{}`: the chain must go from the issuing certificate up to the root",
                    child.tbs_certificate.subject, cert.tbs_certificate.subject
                )));
            }
            child = cert;
        }
        Ok(CaKeys {
            root: issuing,
            intermediate: None,
            above,
        })
    }

    /// The certificate that signs leaves: the intermediate, else the root.
    pub fn issuer(&self) -> &CaCert {
        self.intermediate.as_ref().unwrap_or(&self.root)
    }

    /// The CA certificates, issuing certificate first, root last (DER).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(i) = &self.intermediate {
            out.push(i.cert_der.clone());
        }
        out.push(self.root.cert_der.clone());
        out.extend(self.above.iter().cloned());
        out
    }
}

/// A generated dev chain: certificates and their keys.
#[derive(Debug)]
pub struct DevChain {
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    pub root_key: PrivateKey,
    pub intermediate_key: PrivateKey,
}

impl DevChain {
    /// The chain as a [`CaKeys`].
    pub fn into_ca_keys(self) -> Result<CaKeys, CaError> {
        let root = CaCert::new(Box::new(self.root_key), self.root_der)?;
        let intermediate = CaCert::new(Box::new(self.intermediate_key), self.intermediate_der)?;
        CaKeys::new(root, Some(intermediate))
    }
}

/// Generates a dev CA (ECDSA P-256 root and intermediate), both valid from `now` for
/// `validity`.
pub fn generate_dev_chain(
    now: jiff::Timestamp,
    validity: jiff::SignedDuration,
) -> Result<DevChain, CaError> {
    let gen_key = || {
        PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .map_err(|e| CaError::Signing(format!("key generation failed: {e}")))
    };
    let root_key = gen_key()?;
    let intermediate_key = gen_key()?;
    let not_after = now
        .checked_add(validity)
        .map_err(|_| CaError::InvalidRequest("the validity is out of range".into()))?;
    let root_name = name("CN=vouch dev root,O=vouch")?;
    let root_der = ca_certificate(
        &root_name,
        root_key.public_key(),
        &root_name,
        &root_key,
        None,
        (now, not_after),
        None,
        false,
    )?;
    let root_ski = key_identifier(&spki_of(root_key.public_key())?);
    let intermediate_der = ca_certificate(
        &name("CN=vouch dev intermediate,O=vouch")?,
        intermediate_key.public_key(),
        &root_name,
        &root_key,
        Some(root_ski),
        (now, not_after),
        Some(0),
        true,
    )?;
    Ok(DevChain {
        root_der,
        intermediate_der,
        root_key,
        intermediate_key,
    })
}

/// Parses a DN like `CN=x,O=y`.
pub fn name(s: &str) -> Result<Name, CaError> {
    Name::from_str(s).map_err(|e| CaError::Encoding(format!("bad name `{s}`: {e}")))
}

/// A CA certificate for `public` named `subject`, signed by `issuer_key` as `issuer`
/// (`parent_ski` = the issuer's SKI; `None` for a self-signed root).
#[allow(clippy::too_many_arguments)]
pub fn ca_certificate(
    subject: &Name,
    public: &PublicKey,
    issuer: &Name,
    issuer_key: &dyn Signer,
    parent_ski: Option<Vec<u8>>,
    (not_before, not_after): (jiff::Timestamp, jiff::Timestamp),
    path_len: Option<u8>,
    code_signing: bool,
) -> Result<Vec<u8>, CaError> {
    let spki = spki_of(public)?;
    let ski = key_identifier(&spki);
    let mut exts = vec![
        ext(
            OID_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        ext(
            OID_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        ext(
            OID_SKI,
            false,
            &SubjectKeyIdentifier(OctetString::new(ski.clone())?),
        )?,
    ];
    if code_signing {
        exts.insert(
            1,
            ext(
                OID_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![OID_CODE_SIGNING]),
            )?,
        );
    }
    exts.push(ext(
        OID_AKI,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(parent_ski.unwrap_or(ski))?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )?);
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: random_serial()?,
        signature: signature_algorithm(issuer_key)?,
        issuer: issuer.clone(),
        validity: validity(not_before, not_after)?,
        subject: subject.clone(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(exts),
    };
    sign_tbs(tbs, issuer_key)
}

fn spki_of(public: &PublicKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    Ok(SubjectPublicKeyInfoOwned::from_der(public.spki_der())?)
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// An extension whose value is `value`'s DER.
pub(crate) fn ext(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, CaError> {
    raw_ext(oid, critical, value.to_der()?)
}

/// An extension whose value is the given bytes.
pub(crate) fn raw_ext(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

/// The X.509 signature algorithm of certificates `signer` signs.
pub fn signature_algorithm(signer: &dyn Signer) -> Result<AlgorithmIdentifierOwned, CaError> {
    let oid = match signer.algorithm() {
        KeyAlgorithm::EcdsaP256 => OID_ECDSA_SHA256,
        KeyAlgorithm::EcdsaP384 => OID_ECDSA_SHA384,
        KeyAlgorithm::Ed25519 => OID_ED25519,
        other => {
            return Err(CaError::Signing(format!(
                "a {other} key cannot sign certificates here"
            )));
        }
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// Signs a TBS certificate; returns the certificate's DER.
pub fn sign_tbs(tbs: x509_cert::TbsCertificate, signer: &dyn Signer) -> Result<Vec<u8>, CaError> {
    let alg = signature_algorithm(signer)?;
    if tbs.signature != alg {
        return Err(CaError::Signing(
            "the TBS names another signature algorithm than the signer's".into(),
        ));
    }
    let tbs_der = tbs.to_der()?;
    let sig = signer
        .sign(&tbs_der)
        .map_err(|e| CaError::Signing(format!("the CA key did not sign: {e}")))?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&sig)?,
    };
    Ok(cert.to_der()?)
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub fn x509_time(t: jiff::Timestamp) -> Result<Time, CaError> {
    let secs = u64::try_from(t.as_second())
        .map_err(|_| CaError::InvalidRequest(format!("time {t} is before 1970")))?;
    let d = Duration::from_secs(secs);
    // 2050-01-01T00:00:00Z
    if secs < 2_524_608_000 {
        Ok(Time::UtcTime(UtcTime::from_unix_duration(d)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?))
    }
}

pub(crate) fn validity(
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
) -> Result<Validity, CaError> {
    Ok(Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    })
}

/// A random positive serial number of 160 bits (20 octets; the top bit clear so the
/// INTEGER stays positive in 20 octets, the next one set so it is always 20 octets long).
pub fn random_serial() -> Result<SerialNumber, CaError> {
    let mut b = [0u8; 20];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| CaError::Signing("the random generator failed".into()))?;
    b[0] = (b[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&b)?)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 over the subjectPublicKey BIT STRING's bytes.
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    )
    .as_ref()
    .to_vec()
}

pub(crate) fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_chain_is_a_chain() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let dev = generate_dev_chain(now, jiff::SignedDuration::from_hours(24 * 365)).unwrap();
        let root = Certificate::from_der(&dev.root_der).unwrap();
        let inter = Certificate::from_der(&dev.intermediate_der).unwrap();
        assert_eq!(inter.tbs_certificate.issuer, root.tbs_certificate.subject);
        assert_eq!(root.tbs_certificate.issuer, root.tbs_certificate.subject);
        let ca = dev.into_ca_keys().unwrap();
        assert_eq!(ca.chain_der().len(), 2);
        assert_eq!(ca.issuer().key_id().len(), 20);
        let aki = extension(&inter, OID_AKI)
            .map(|v| AuthorityKeyIdentifier::from_der(v).unwrap())
            .unwrap();
        assert_eq!(
            aki.key_identifier.unwrap().as_bytes(),
            ca.root.key_id().as_slice()
        );
        // A signer that is not the certificate's key is refused.
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(CaCert::new(Box::new(other), ca.root.cert_der.clone()).is_err());
    }

    #[test]
    fn serials_are_positive_and_20_octets() {
        for _ in 0..50 {
            let s = random_serial().unwrap();
            assert_eq!(s.as_bytes().len(), 20);
            assert!(s.as_bytes()[0] & 0x80 == 0);
        }
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        let t = jiff::Timestamp::from_second(2_524_607_999).unwrap();
        assert!(matches!(x509_time(t).unwrap(), Time::UtcTime(_)));
        let t = jiff::Timestamp::from_second(2_524_608_000).unwrap();
        assert!(matches!(x509_time(t).unwrap(), Time::GeneralTime(_)));
    }
}
