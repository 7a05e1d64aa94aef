//! An RFC 3161 Time-Stamp Authority: a DER `TimeStampReq` in, a DER `TimeStampResp` out.
//!
//! What is produced is what `vouch_attest::timestamp`, `openssl ts -verify` and
//! sigstore-python (through the strict DER parser `rfc3161-client`) accept:
//! - `TimeStampResp` with status granted and a `timeStampToken`: CMS `ContentInfo` holding
//!   `SignedData` version 3 over `id-ct-TSTInfo` (the `TSTInfo` DER wrapped in an OCTET STRING);
//! - `TSTInfo` v1: our policy, the request's message imprint copied byte for byte, a random
//!   serial, `genTime` in whole seconds with an accuracy of one second, the request's nonce,
//!   and the TSA name (the signing certificate's subject, which `openssl ts -verify` compares
//!   with the signer);
//! - one `SignerInfo` (sid = issuerAndSerialNumber) whose signed attributes are contentType,
//!   signingTime, messageDigest and ESS `signingCertificateV2` (SHA-256 of the TSA certificate,
//!   with its issuer and serial); the signature covers the DER of those attributes as a SET OF;
//! - the certificate chain only when the request sets `certReq`, as a DER-sorted SET OF (an
//!   unsorted set is refused by strict parsers).
//!
//! A request that cannot be served gives a `TimeStampResp` with status rejection and a
//! `failInfo` (RFC 3161 §2.4.2): `badAlg`, `unacceptedPolicy`, `unacceptedExtension` or
//! `badDataFormat`. Only a failure of our own (the signing key, broken TSA certificates) is an
//! `Err` from [`timestamp`].
//!
//! `genTime` is whole seconds: the `der` crate's GeneralizedTime (used by `vouch_attest`'s
//! verifier, and by every RustCrypto parser) refuses fractional seconds, so millisecond
//! precision would make our own verifier refuse our timestamps.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{
    Any, BitString, GeneralizedTime, Int, Null, OctetString, SetOfVec, UtcTime, Utf8StringRef,
};
use der::{Decode, Encode, Sequence};
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, PrivateKey};
use vouch_crypto::signer::Signer;
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// Sigstore's timestamp policy (`1.3.6.1.4.1.57264.2`), the default for `vouch serve`.
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Why a request was refused, or why we could not answer it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsaError {
    /// The message imprint uses a hash other than SHA-256/384/512 (`badAlg`).
    #[error("unsupported hash algorithm {0}")]
    BadAlg(String),
    /// The request names a policy other than ours (`unacceptedPolicy`).
    #[error("policy {0} is not this TSA's")]
    UnacceptedPolicy(String),
    /// The request carries extensions; none are supported (`unacceptedExtension`).
    #[error("request extensions are not accepted")]
    UnacceptedExtension,
    /// The request is not a DER `TimeStampReq` v1, or its imprint has the wrong length
    /// (`badDataFormat`).
    #[error("malformed timestamp request: {0}")]
    BadDataFormat(String),
    /// The TSA's own certificates or key are unusable (our failure, not the client's).
    #[error("TSA keys: {0}")]
    Keys(String),
    /// Signing or encoding failed (our failure, not the client's).
    #[error("timestamp signing failed: {0}")]
    Signing(String),
}

/// RFC 3161 §2.4.2 `PKIFailureInfo` bits (the value is the bit number).
///
/// `cmpv2`'s `PkiFailureInfoValues` cannot be used: its flag values are bit numbers where
/// `flagset` expects masks, so `badAlg` encodes as no bit and `unacceptedPolicy` as four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// The DER named-bit-list BIT STRING with only this bit set (no trailing zero bits).
    pub fn bit_string(self) -> der::Result<BitString> {
        let n = self as usize;
        let mut bytes = vec![0u8; n / 8 + 1];
        bytes[n / 8] = 0x80 >> (n % 8);
        BitString::new(7 - (n % 8) as u8, bytes)
    }
}

impl TsaError {
    /// The RFC 3161 `PKIFailureInfo` bit for a refused request; `None` for our own failures.
    pub fn fail_info(&self) -> Option<FailureInfo> {
        match self {
            TsaError::BadAlg(_) => Some(FailureInfo::BadAlg),
            TsaError::UnacceptedPolicy(_) => Some(FailureInfo::UnacceptedPolicy),
            TsaError::UnacceptedExtension => Some(FailureInfo::UnacceptedExtension),
            TsaError::BadDataFormat(_) => Some(FailureInfo::BadDataFormat),
            TsaError::Keys(_) | TsaError::Signing(_) => None,
        }
    }
}

fn enc(e: der::Error) -> TsaError {
    TsaError::Signing(format!("DER encoding: {e}"))
}

/// The TSA's signing key and certificate chain.
#[derive(Debug, Clone)]
pub struct TsaKeys {
    /// ECDSA P-256 or P-384, from a file or a PKCS#11 token.
    pub signer: Arc<dyn Signer>,
    /// DER certificates, the TSA's own first, then its issuers up to the root (≥ 2).
    pub chain_der: Vec<Vec<u8>>,
    /// The policy every `TSTInfo` names.
    pub policy_oid: ObjectIdentifier,
}

impl TsaKeys {
    /// Checks that the chain fits the key: at least two certificates that parse, each issued
    /// (and signed) by the next, the first one's public key is the signer's, its ExtendedKeyUsage is timeStamping and critical
    /// (sigstore-python and OpenSSL require both), and the key is ECDSA P-256 or P-384.
    pub fn new(
        signer: Arc<dyn Signer>,
        chain_der: Vec<Vec<u8>>,
        policy_oid: ObjectIdentifier,
    ) -> Result<Self, TsaError> {
        let keys = TsaKeys {
            signer,
            chain_der,
            policy_oid,
        };
        keys.check(true)?;
        Ok(keys)
    }

    /// The checks of [`TsaKeys::new`]; the chain's signatures only when `signatures` (once,
    /// at load time, not on every request). Returns the TSA certificate.
    fn check(&self, signatures: bool) -> Result<Certificate, TsaError> {
        if self.chain_der.len() < 2 {
            return Err(TsaError::Keys(
                "the chain must hold the TSA certificate and at least its issuer".into(),
            ));
        }
        let certs = self
            .chain_der
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Certificate::from_der(c)
                    .map_err(|e| TsaError::Keys(format!("certificate {i} does not parse ({e})")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Each certificate was issued by the next one: a chain in the wrong order, or the
        // right certificate under another root, is caught here rather than by every client.
        for (i, pair) in certs.windows(2).enumerate() {
            if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject
                || (signatures && !issued_by(&pair[0], &pair[1])?)
            {
                return Err(TsaError::Keys(format!(
                    "certificate {} is not the issuer of certificate {i}",
                    i + 1
                )));
            }
        }
        let leaf = Certificate::from_der(&self.chain_der[0])
            .map_err(|e| TsaError::Keys(format!("the TSA certificate does not parse ({e})")))?;
        signature_algorithms(self.signer.algorithm())?;
        let spki = leaf
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(enc)?;
        if spki != self.signer.public_key().spki_der() {
            return Err(TsaError::Keys(
                "the TSA certificate is not for the signing key".into(),
            ));
        }
        let eku = leaf
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == OID_EXT_KEY_USAGE)
            .ok_or_else(|| TsaError::Keys("the TSA certificate has no ExtendedKeyUsage".into()))?;
        let usages = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
            .map_err(|e| TsaError::Keys(format!("bad ExtendedKeyUsage ({e})")))?;
        if !eku.critical || usages.0 != [OID_KP_TIME_STAMPING] {
            return Err(TsaError::Keys(
                "the TSA certificate's ExtendedKeyUsage must be timeStamping alone, critical"
                    .into(),
            ));
        }
        Ok(leaf)
    }

    /// The chain as PEM certificates, TSA certificate first.
    pub fn chain_pem(&self) -> Vec<String> {
        self.chain_der
            .iter()
            .map(|d| crate::fulcio::cert_pem(d))
            .collect::<Vec<_>>()
    }
}

/// Whether `issuer`'s key made `cert`'s signature (ECDSA P-256/P-384/P-521 or RSA PKCS#1
/// v1.5 with SHA-256/384/512; any other algorithm is an error: it cannot be checked).
fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<bool, TsaError> {
    use aws_lc_rs::signature as sig;
    const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
    const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
    const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    let spki = &issuer.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let alg: &'static dyn sig::VerificationAlgorithm =
        match (spki.algorithm.oid, curve, cert.signature_algorithm.oid) {
            (EC, Some(P256), OID_ECDSA_SHA256) => &sig::ECDSA_P256_SHA256_ASN1,
            (EC, Some(P256), OID_ECDSA_SHA384) => &sig::ECDSA_P256_SHA384_ASN1,
            (EC, Some(P384), OID_ECDSA_SHA256) => &sig::ECDSA_P384_SHA256_ASN1,
            (EC, Some(P384), OID_ECDSA_SHA384) => &sig::ECDSA_P384_SHA384_ASN1,
            (EC, Some(P521), ECDSA_SHA512) => &sig::ECDSA_P521_SHA512_ASN1,
            (RSA, _, RSA_SHA256) => &sig::RSA_PKCS1_2048_8192_SHA256,
            (RSA, _, RSA_SHA384) => &sig::RSA_PKCS1_2048_8192_SHA384,
            (RSA, _, RSA_SHA512) => &sig::RSA_PKCS1_2048_8192_SHA512,
            (key, _, alg) => {
                return Err(TsaError::Keys(format!(
                    "cannot check a {alg} signature by a {key} key in the chain"
                )));
            }
        };
    let tbs = cert.tbs_certificate.to_der().map_err(enc)?;
    let (Some(key), Some(signature)) = (
        spki.subject_public_key.as_bytes(),
        cert.signature.as_bytes(),
    ) else {
        return Ok(false);
    };
    Ok(sig::UnparsedPublicKey::new(alg, key)
        .verify(&tbs, signature)
        .is_ok())
}

/// (digest, signature) algorithm OIDs and the digest for a TSA key: the hash is the one
/// [`Signer::sign`] uses with that key.
fn signature_algorithms(
    alg: KeyAlgorithm,
) -> Result<(ObjectIdentifier, ObjectIdentifier, HashAlgorithm), TsaError> {
    match alg {
        KeyAlgorithm::EcdsaP256 => Ok((OID_SHA256, OID_ECDSA_SHA256, HashAlgorithm::Sha256)),
        KeyAlgorithm::EcdsaP384 => Ok((OID_SHA384, OID_ECDSA_SHA384, HashAlgorithm::Sha384)),
        other => Err(TsaError::Keys(format!(
            "a TSA key must be ECDSA P-256 or P-384, not {other}"
        ))),
    }
}

fn hash(alg: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

/// A parsed, acceptable-looking `TimeStampReq` (the policy is checked by [`respond`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampRequest {
    req: TimeStampReq,
    hash_algorithm: HashAlgorithm,
}

impl TimeStampRequest {
    /// The hash of the message imprint.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash_algorithm
    }
    /// The hashed message of the imprint.
    pub fn hashed_message(&self) -> &[u8] {
        self.req.message_imprint.hashed_message.as_bytes()
    }
    /// The policy the client asked for, if any.
    pub fn policy(&self) -> Option<ObjectIdentifier> {
        self.req.req_policy
    }
    /// The nonce's INTEGER content octets (big-endian two's complement), if any.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.req.nonce.as_ref().map(|n| n.as_bytes())
    }
    /// Whether the client asked for the certificate chain.
    pub fn cert_req(&self) -> bool {
        self.req.cert_req
    }
}

/// Parses a DER `TimeStampReq`: version 1, a SHA-256/384/512 imprint of the right length,
/// optional policy and nonce, `certReq`, and no extensions. Anything that is not canonical
/// DER (BER lengths, an explicit `certReq FALSE`, trailing bytes) is `badDataFormat`.
pub fn parse_request(der: &[u8]) -> Result<TimeStampRequest, TsaError> {
    let req = TimeStampReq::from_der(der)
        .map_err(|e| TsaError::BadDataFormat(format!("not a DER TimeStampReq v1 ({e})")))?;
    // Re-encoding must give back the same bytes: DER has one encoding per value.
    if req.to_der().ok().as_deref() != Some(der) {
        return Err(TsaError::BadDataFormat("not canonical DER".into()));
    }
    if req.version != TspVersion::V1 {
        return Err(TsaError::BadDataFormat("version is not 1".into()));
    }
    if req.extensions.is_some() {
        return Err(TsaError::UnacceptedExtension);
    }
    let alg = &req.message_imprint.hash_algorithm;
    let hash_algorithm = match alg.oid {
        OID_SHA256 => HashAlgorithm::Sha256,
        OID_SHA384 => HashAlgorithm::Sha384,
        OID_SHA512 => HashAlgorithm::Sha512,
        other => return Err(TsaError::BadAlg(other.to_string())),
    };
    // RFC 5754: SHA-2 parameters are absent or NULL.
    if let Some(p) = &alg.parameters
        && p.decode_as::<Null>().is_err()
    {
        return Err(TsaError::BadAlg(format!(
            "{} with parameters other than NULL",
            alg.oid
        )));
    }
    let got = req.message_imprint.hashed_message.as_bytes().len();
    if got != hash_algorithm.output_len() {
        return Err(TsaError::BadDataFormat(format!(
            "a {} imprint is {} bytes, not {got}",
            hash_algorithm.proto_name(),
            hash_algorithm.output_len()
        )));
    }
    Ok(TimeStampRequest {
        req,
        hash_algorithm,
    })
}

/// A positive INTEGER from a u128 (minimal two's complement).
fn positive_int(v: u128) -> Result<Int, TsaError> {
    let bytes = v.to_be_bytes();
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut out = Vec::with_capacity(17);
    if bytes[start] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[start..]);
    Int::new(&out).map_err(enc)
}

fn unix(t: jiff::Timestamp) -> Result<Duration, TsaError> {
    u64::try_from(t.as_second())
        .map(Duration::from_secs)
        .map_err(|_| TsaError::Signing(format!("{t} is before 1970")))
}

/// An X.509/CMS `Time`: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn x509_time(t: jiff::Timestamp) -> Result<Time, TsaError> {
    let d = unix(t)?;
    match UtcTime::from_unix_duration(d) {
        Ok(u) => Ok(Time::UtcTime(u)),
        Err(_) => GeneralizedTime::from_unix_duration(d)
            .map(Time::GeneralTime)
            .map_err(enc),
    }
}

fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute, TsaError> {
    let any = Any::from_der(&value.to_der().map_err(enc)?).map_err(enc)?;
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![any]).map_err(enc)?,
    })
}

/// `ESSCertIDv2` (RFC 5035) with the default hash, SHA-256, so `hashAlgorithm` is omitted
/// (DER leaves out a DEFAULT value).
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `SigningCertificateV2` (RFC 5035), without policies.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A granted `TimeStampResp` for `request`, signed with `keys` at `gen_time` (kept to whole
/// seconds) with `serial` as the `TSTInfo` serial number (make it random: [`random_serial`]).
/// A request for another policy is `Err(UnacceptedPolicy)`; [`rejection`] turns that into
/// a response, as [`timestamp`] does.
pub fn respond(
    keys: &TsaKeys,
    request: &TimeStampRequest,
    gen_time: jiff::Timestamp,
    serial: u128,
) -> Result<Vec<u8>, TsaError> {
    if let Some(p) = request.req.req_policy
        && p != keys.policy_oid
    {
        return Err(TsaError::UnacceptedPolicy(p.to_string()));
    }
    let leaf = keys.check(false)?;
    let leaf_der = &keys.chain_der[0];
    let (digest_oid, signature_oid, digest_alg) = signature_algorithms(keys.signer.algorithm())?;
    let secs = unix(gen_time)?;
    let validity = &leaf.tbs_certificate.validity;
    if secs < validity.not_before.to_unix_duration() || secs > validity.not_after.to_unix_duration()
    {
        return Err(TsaError::Keys(format!(
            "the TSA certificate is not valid at {gen_time}"
        )));
    }

    let tst = TstInfo {
        version: TspVersion::V1,
        policy: keys.policy_oid,
        message_imprint: MessageImprint {
            hash_algorithm: request.req.message_imprint.hash_algorithm.clone(),
            hashed_message: request.req.message_imprint.hashed_message.clone(),
        },
        serial_number: positive_int(serial)?,
        gen_time: GeneralizedTime::from_unix_duration(secs).map_err(enc)?,
        accuracy: Some(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: request.req.nonce.clone(),
        tsa: Some(GeneralName::DirectoryName(
            leaf.tbs_certificate.subject.clone(),
        )),
        extensions: None,
    };
    let tst_der = tst.to_der().map_err(enc)?;

    let issuer = leaf.tbs_certificate.issuer.clone();
    let serial_number = leaf.tbs_certificate.serial_number.clone();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha2::Sha256::digest(leaf_der).to_vec()).map_err(enc)?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                serial_number: serial_number.clone(),
            },
        }],
    };
    let signed_attrs = SetOfVec::try_from(vec![
        attribute(OID_CONTENT_TYPE, &OID_TST_INFO)?,
        attribute(OID_SIGNING_TIME, &x509_time(gen_time)?)?,
        attribute(
            OID_MESSAGE_DIGEST,
            &OctetString::new(hash(digest_alg, &tst_der)).map_err(enc)?,
        )?,
        attribute(OID_SIGNING_CERTIFICATE_V2, &ess)?,
    ])
    .map_err(enc)?;
    // RFC 5652 §5.4: the signature is over the attributes' DER with the SET OF tag.
    let to_sign = signed_attrs.to_der().map_err(enc)?;
    let signature = keys
        .signer
        .sign(&to_sign)
        .map_err(|e| TsaError::Signing(e.to_string()))?;

    let digest_algorithm = AlgorithmIdentifierOwned {
        oid: digest_oid,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }),
        digest_alg: digest_algorithm.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: signature_oid,
            parameters: None,
        },
        signature: OctetString::new(signature).map_err(enc)?,
        unsigned_attrs: None,
    };
    let certificates = if request.req.cert_req {
        Some(certificate_set(&keys.chain_der)?)
    } else {
        None
    };
    let signed_data = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![digest_algorithm]).map_err(enc)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: OID_TST_INFO,
            econtent: Some(
                Any::encode_from(&OctetString::new(tst_der).map_err(enc)?).map_err(enc)?,
            ),
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(enc)?),
    };
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(ContentInfo {
            content_type: OID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(enc)?,
        }),
    };
    resp.to_der().map_err(enc)
}

/// The chain as a `CertificateSet` whose elements are in DER order (ascending encodings,
/// X.690 §11.6), checked byte for byte rather than trusted to the encoder.
fn certificate_set(chain: &[Vec<u8>]) -> Result<CertificateSet, TsaError> {
    let mut sorted: Vec<&Vec<u8>> = chain.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut set = SetOfVec::new();
    for der in &sorted {
        let cert = Certificate::from_der(der)
            .map_err(|e| TsaError::Keys(format!("a chain certificate does not parse ({e})")))?;
        set.insert_ordered(CertificateChoices::Certificate(cert))
            .map_err(|e| TsaError::Signing(format!("certificate set order ({e})")))?;
    }
    let encoded: Vec<Vec<u8>> = set
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<_, _>>()
        .map_err(enc)?;
    if encoded
        .iter()
        .map(Vec::as_slice)
        .ne(sorted.iter().map(|d| d.as_slice()))
    {
        return Err(TsaError::Signing(
            "the certificate set would not be in DER order".into(),
        ));
    }
    Ok(CertificateSet(set))
}

/// `PKIStatusInfo` with a correctly encoded `failInfo` (see [`FailureInfo`]).
#[derive(Sequence)]
struct RejectionStatus<'a> {
    status: PkiStatus,
    status_string: Option<Vec<Utf8StringRef<'a>>>,
    fail_info: Option<BitString>,
}

/// `TimeStampResp` without a token.
#[derive(Sequence)]
struct RejectionResp<'a> {
    status: RejectionStatus<'a>,
}

/// A `TimeStampResp` refusing a request: status rejection, the error's `failInfo`
/// (`systemFailure` for our own failures) and its text as `statusString`.
pub fn rejection(error: &TsaError) -> Vec<u8> {
    let text = match error {
        // Our own failures are not detailed to clients.
        TsaError::Keys(_) | TsaError::Signing(_) => "the TSA could not sign".to_string(),
        e => e.to_string(),
    };
    let fail = error.fail_info().unwrap_or(FailureInfo::SystemFailure);
    let status_string = Utf8StringRef::new(&text).ok().map(|s| vec![s]);
    let resp = RejectionResp {
        status: RejectionStatus {
            status: PkiStatus::Rejection,
            status_string,
            fail_info: fail.bit_string().ok(),
        },
    };
    // A rejection holds only a status: encoding it cannot fail, but never panic.
    resp.to_der().unwrap_or_else(|_| {
        // SEQUENCE { SEQUENCE { INTEGER 2 } }
        vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]
    })
}

/// The whole exchange: a DER request in, a DER `TimeStampResp` out (granted, or a rejection
/// for a request we refuse). `Err` only when the TSA itself failed (key, certificates).
pub fn timestamp(
    keys: &TsaKeys,
    request_der: &[u8],
    gen_time: jiff::Timestamp,
    serial: u128,
) -> Result<Vec<u8>, TsaError> {
    let result = parse_request(request_der).and_then(|r| respond(keys, &r, gen_time, serial));
    match result {
        Ok(resp) => Ok(resp),
        Err(e) if e.fail_info().is_some() => Ok(rejection(&e)),
        Err(e) => Err(e),
    }
}

/// A random, positive 127-bit serial number for a `TSTInfo`.
pub fn random_serial() -> Result<u128, TsaError> {
    Ok(u128::from_be_bytes(random_bytes()?) >> 1 | 1)
}

fn random_bytes() -> Result<[u8; 16], TsaError> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| TsaError::Signing("no randomness".into()))?;
    Ok(b)
}

/// A random positive 16-byte certificate serial number.
fn cert_serial() -> Result<SerialNumber, TsaError> {
    let mut b = random_bytes()?;
    b[0] = (b[0] & 0x7f) | 0x01;
    SerialNumber::new(&b).map_err(enc)
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey.
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, TsaError> {
    let h = sha2::Sha256::digest(spki.subject_public_key.raw_bytes());
    OctetString::new(h[..20].to_vec()).map_err(enc)
}

fn extension<T: x509_cert::ext::AsExtension>(
    value: &T,
    issuer: &Name,
    critical: bool,
) -> Result<Extension, TsaError> {
    let mut e = value.to_extension(issuer, &[]).map_err(enc)?;
    e.critical = critical;
    Ok(e)
}

/// A certificate for `subject`'s key, signed by `issuer_key` (ECDSA P-256, SHA-256).
fn issue(
    subject: &Name,
    subject_key: &vouch_crypto::keys::PublicKey,
    issuer: &Name,
    issuer_key: &PrivateKey,
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
    ca: bool,
) -> Result<Vec<u8>, TsaError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(subject_key.spki_der()).map_err(enc)?;
    let issuer_spki =
        SubjectPublicKeyInfoOwned::from_der(issuer_key.public_key().spki_der()).map_err(enc)?;
    let mut extensions = vec![
        extension(
            &BasicConstraints {
                ca,
                path_len_constraint: ca.then_some(0),
            },
            subject,
            true,
        )?,
        extension(
            &KeyUsage(if ca {
                KeyUsages::KeyCertSign | KeyUsages::CRLSign
            } else {
                KeyUsages::DigitalSignature.into()
            }),
            subject,
            true,
        )?,
    ];
    if !ca {
        extensions.push(extension(
            &ExtendedKeyUsage(vec![OID_KP_TIME_STAMPING]),
            subject,
            true,
        )?);
    }
    extensions.push(extension(
        &SubjectKeyIdentifier(key_id(&spki)?),
        subject,
        false,
    )?);
    extensions.push(extension(
        &AuthorityKeyIdentifier {
            key_identifier: Some(key_id(&issuer_spki)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        subject,
        false,
    )?);
    let algorithm = AlgorithmIdentifierOwned {
        oid: OID_ECDSA_SHA256,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: cert_serial()?,
        signature: algorithm.clone(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: x509_time(not_before)?,
            not_after: x509_time(not_after)?,
        },
        subject: subject.clone(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = issuer_key
        .sign(&tbs.to_der().map_err(enc)?)
        .map_err(|e| TsaError::Signing(e.to_string()))?;
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

/// A throw-away TSA for development and tests: a root CA (valid ten years from an hour
/// before `now`) and a TSA certificate it issued (five years; EKU timeStamping, critical;
/// KeyUsage digitalSignature; SKI/AKI), both ECDSA P-256, with [`DEFAULT_POLICY`].
/// Returns the keys (chain = TSA certificate, root) and the root certificate's DER.
pub fn generate_dev_tsa(now: jiff::Timestamp) -> Result<(TsaKeys, Vec<u8>), TsaError> {
    let tsa_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
        .map_err(|e| TsaError::Keys(format!("key generation failed ({e})")))?;
    generate_dev_tsa_for(now, tsa_key)
}

/// [`generate_dev_tsa`] for a TSA key the caller made (and may keep, e.g. to persist it).
pub fn generate_dev_tsa_for(
    now: jiff::Timestamp,
    tsa_key: PrivateKey,
) -> Result<(TsaKeys, Vec<u8>), TsaError> {
    let root_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
        .map_err(|e| TsaError::Keys(format!("key generation failed ({e})")))?;
    let name = |s: &str| Name::from_str(s).map_err(|e| TsaError::Keys(e.to_string()));
    let root_name = name("CN=vouch dev TSA root,O=vouch")?;
    let tsa_name = name("CN=vouch dev TSA,O=vouch")?;
    let start = now - jiff::SignedDuration::from_hours(1);
    let day = |n: i64| jiff::SignedDuration::from_hours(24 * n);
    let root = issue(
        &root_name,
        root_key.public_key(),
        &root_name,
        &root_key,
        start,
        now + day(3650),
        true,
    )?;
    let leaf = issue(
        &tsa_name,
        tsa_key.public_key(),
        &root_name,
        &root_key,
        start,
        now + day(5 * 365),
        false,
    )?;
    let keys = TsaKeys::new(Arc::new(tsa_key), vec![leaf, root.clone()], DEFAULT_POLICY)?;
    Ok((keys, root))
}
