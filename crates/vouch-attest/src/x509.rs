//! X.509 for keyless verification: parsing (RustCrypto `x509-cert`/`der`), signatures
//! (`aws-lc-rs`), the chain to a trusted root's CA, Fulcio's identity extensions and the
//! embedded SCT (RFC 6962 §3.3).
//!
//! Why `x509-cert` rather than `rustls-webpki`: webpki validates TLS server and client
//! certificates, takes the EKU as a fixed TLS purpose in older releases and does not expose
//! the TBS needed to rebuild a precertificate for SCT verification, nor unknown extensions
//! such as Fulcio's OIDC issuer. `x509-cert` gives typed access to every field and re-encodes
//! the TBS byte-exactly (DER is canonical), so the precertificate is rebuilt by removing one
//! extension. The chain rules we apply are the ones Sigstore clients apply to Fulcio chains:
//! issuer name = subject name, signature by the issuer's key, every certificate valid at the
//! verified time, CAs marked `cA` with keyCertSign, the chain ending at a root listed in the
//! trusted root. Name constraints and policy mappings are not evaluated (Fulcio uses none).

use aws_lc_rs::signature as sig;
use x509_cert::Certificate;
use x509_cert::der::asn1::{ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Embedded SCT list (RFC 6962 §3.3).
const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio OIDC issuer, v1: the raw string as the extension value.
const OID_FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio OIDC issuer, v2: a DER UTF8String.
const OID_FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// A parsed certificate with its DER.
#[derive(Debug, Clone)]
pub struct Cert {
    /// The DER bytes as given.
    pub der: Vec<u8>,
    /// The parsed certificate.
    pub cert: Certificate,
}

impl Cert {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let cert = Certificate::from_der(der).map_err(|e| format!("not a DER certificate: {e}"))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.cert.tbs_certificate.subject_public_key_info
    }

    /// The subject public key info, DER.
    pub fn spki_der(&self) -> Result<Vec<u8>, String> {
        self.spki().to_der().map_err(|e| e.to_string())
    }

    /// The certificate in PEM.
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// Whether `t` (seconds since the epoch) is within notBefore..=notAfter.
    pub fn valid_at(&self, t: i64) -> bool {
        let v = &self.cert.tbs_certificate.validity;
        let nb = v.not_before.to_unix_duration().as_secs();
        let na = v.not_after.to_unix_duration().as_secs();
        u64::try_from(t).is_ok_and(|t| nb <= t && t <= na)
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// Whether the certificate was signed by `issuer`'s key (and names it as issuer).
    pub fn issued_by(&self, issuer: &Cert) -> Result<(), String> {
        let name = |c: &Cert, subject: bool| {
            let n = if subject {
                &c.cert.tbs_certificate.subject
            } else {
                &c.cert.tbs_certificate.issuer
            };
            n.to_der().unwrap_or_default()
        };
        if name(self, false) != name(issuer, true) {
            return Err(format!(
                "issuer `{}` is not `{}`",
                self.cert.tbs_certificate.issuer, issuer.cert.tbs_certificate.subject
            ));
        }
        let tbs = self
            .cert
            .tbs_certificate
            .to_der()
            .map_err(|e| e.to_string())?;
        let alg = self.cert.signature_algorithm.oid;
        let signature = self.cert.signature.raw_bytes();
        verify_with_spki(issuer.spki(), Some(alg), &tbs, signature)
            .map_err(|e| format!("the signature by `{}` {e}", issuer.subject()))
    }

    /// The subject DN as text.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// Whether this is a CA certificate allowed to sign certificates.
    pub fn is_ca(&self) -> bool {
        let ca = self
            .extension(OID_BASIC_CONSTRAINTS)
            .and_then(|b| BasicConstraints::from_der(b).ok())
            .is_some_and(|b| b.ca);
        let ku = self
            .extension(OID_KEY_USAGE)
            .and_then(|b| KeyUsage::from_der(b).ok())
            .is_none_or(|k| k.key_cert_sign());
        ca && ku
    }

    /// Checks KeyUsage digitalSignature and EKU codeSigning (what Fulcio issues).
    pub fn check_code_signing(&self) -> Result<(), String> {
        let ku = self
            .extension(OID_KEY_USAGE)
            .ok_or("the certificate has no KeyUsage")?;
        let ku = KeyUsage::from_der(ku).map_err(|e| format!("bad KeyUsage: {e}"))?;
        if !ku.digital_signature() {
            return Err("KeyUsage lacks digitalSignature".into());
        }
        let eku = self
            .extension(OID_EXT_KEY_USAGE)
            .ok_or("the certificate has no ExtendedKeyUsage")?;
        let eku =
            ExtendedKeyUsage::from_der(eku).map_err(|e| format!("bad ExtendedKeyUsage: {e}"))?;
        if !eku.0.contains(&OID_CODE_SIGNING) {
            return Err("ExtendedKeyUsage lacks codeSigning".into());
        }
        Ok(())
    }

    /// Checks the certificate may sign timestamps: EKU timeStamping (RFC 3161 §2.3).
    pub fn check_time_stamping(&self) -> Result<(), String> {
        let eku = self
            .extension(OID_EXT_KEY_USAGE)
            .ok_or("the TSA certificate has no ExtendedKeyUsage")?;
        let eku =
            ExtendedKeyUsage::from_der(eku).map_err(|e| format!("bad ExtendedKeyUsage: {e}"))?;
        if !eku.0.contains(&OID_TIME_STAMPING) {
            return Err("the TSA certificate's ExtendedKeyUsage lacks timeStamping".into());
        }
        Ok(())
    }

    /// The subject key identifier, if the certificate has one.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.extension(OID_SKI)
            .and_then(|b| OctetString::from_der(b).ok())
            .map(|o| o.as_bytes().to_vec())
    }

    /// Subject alternative names usable as identities: email, URI and otherName (UTF-8).
    pub fn identities(&self) -> Vec<String> {
        let Some(san) = self
            .extension(OID_SAN)
            .and_then(|b| SubjectAltName::from_der(b).ok())
        else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|g| match g {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
                GeneralName::OtherName(o) => o
                    .value
                    .decode_as::<x509_cert::der::asn1::Utf8StringRef<'_>>()
                    .ok()
                    .map(|s| s.as_str().to_string()),
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer from Fulcio's extensions: v2 (`.1.8`, DER UTF8String) if present,
    /// else v1 (`.1.1`, raw bytes), as cosign reads them.
    pub fn oidc_issuer(&self) -> Option<String> {
        if let Some(v2) = self.extension(OID_FULCIO_ISSUER_V2)
            && let Ok(s) = x509_cert::der::asn1::Utf8StringRef::from_der(v2)
        {
            return Some(s.as_str().to_string());
        }
        self.extension(OID_FULCIO_ISSUER_V1)
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_string)
    }

    /// The embedded SCTs, parsed (RFC 6962 §3.3 `SignedCertificateTimestampList`).
    pub fn embedded_scts(&self) -> Result<Vec<Sct>, String> {
        let Some(value) = self.extension(OID_SCT_LIST) else {
            return Ok(Vec::new());
        };
        let inner = OctetString::from_der(value).map_err(|e| format!("bad SCT list: {e}"))?;
        parse_sct_list(inner.as_bytes())
    }

    /// The precertificate TBS an SCT signs: this certificate's TBS without the SCT list.
    pub fn precert_tbs(&self) -> Result<Vec<u8>, String> {
        let mut tbs = self.cert.tbs_certificate.clone();
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.retain(|e| e.extn_id != OID_SCT_LIST);
        }
        tbs.to_der().map_err(|e| e.to_string())
    }
}

/// One signed certificate timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sct {
    /// SHA-256 of the CT log's key.
    pub log_id: Vec<u8>,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// SCT extensions.
    pub extensions: Vec<u8>,
    /// TLS HashAlgorithm (4 = SHA-256).
    pub hash_alg: u8,
    /// TLS SignatureAlgorithm (3 = ECDSA, 1 = RSA).
    pub sig_alg: u8,
    /// The signature.
    pub signature: Vec<u8>,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated SCT".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
    fn vec16(&mut self) -> Result<&'a [u8], String> {
        let n = self.uint(2)? as usize;
        self.take(n)
    }
}

fn parse_sct_list(b: &[u8]) -> Result<Vec<Sct>, String> {
    let mut outer = Reader(b);
    let list = outer.vec16()?;
    if !outer.0.is_empty() {
        return Err("trailing bytes after the SCT list".into());
    }
    let mut r = Reader(list);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let mut s = Reader(r.vec16()?);
        if s.uint(1)? != 0 {
            return Err("unknown SCT version".into());
        }
        let sct = Sct {
            log_id: s.take(32)?.to_vec(),
            timestamp: s.uint(8)?,
            extensions: s.vec16()?.to_vec(),
            hash_alg: s.uint(1)? as u8,
            sig_alg: s.uint(1)? as u8,
            signature: s.vec16()?.to_vec(),
        };
        if !s.0.is_empty() {
            return Err("trailing bytes in an SCT".into());
        }
        out.push(sct);
    }
    Ok(out)
}

impl Sct {
    /// The bytes the log signed for a precertificate entry (RFC 6962 §3.2).
    pub fn signed_data(&self, issuer_key_hash: &[u8], precert_tbs: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8, 0u8]; // v1, certificate_timestamp
        d.extend_from_slice(&self.timestamp.to_be_bytes());
        d.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        d.extend_from_slice(issuer_key_hash);
        let n = precert_tbs.len() as u32;
        d.extend_from_slice(&n.to_be_bytes()[1..]);
        d.extend_from_slice(precert_tbs);
        d.extend_from_slice(&(self.extensions.len() as u16).to_be_bytes());
        d.extend_from_slice(&self.extensions);
        d
    }
}

/// Verifies a CMS signer's signature (RFC 5652 §5.4: over the DER signed attributes) with
/// `cert`'s key. CMS names RSA signatures by the key algorithm (`rsaEncryption`) and the
/// digest separately, so the digest decides the hash there.
pub(crate) fn verify_signed_attrs(
    cert: &Cert,
    signature_alg: ObjectIdentifier,
    digest_alg: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let alg = match (signature_alg, digest_alg) {
        (OID_RSA, OID_SHA256) => OID_RSA_SHA256,
        (OID_RSA, OID_SHA384) => OID_RSA_SHA384,
        (OID_RSA, OID_SHA512) => OID_RSA_SHA512,
        (OID_EC_PUBLIC_KEY, OID_SHA256) => OID_ECDSA_SHA256,
        (OID_EC_PUBLIC_KEY, OID_SHA384) => OID_ECDSA_SHA384,
        (OID_EC_PUBLIC_KEY, OID_SHA512) => OID_ECDSA_SHA512,
        (other, _) => other,
    };
    verify_with_spki(cert.spki(), Some(alg), message, signature)
}

/// Verifies `signature` over `message` with an SPKI (DER). Without a signature algorithm,
/// the key decides it (ECDSA P-256 → SHA-256, P-384 → SHA-384, Ed25519, RSA PKCS#1 SHA-256).
pub fn verify_spki_der(spki_der: &[u8], message: &[u8], signature: &[u8]) -> Result<(), String> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(|e| format!("is not a public key ({e})"))?;
    verify_with_spki(&spki, None, message, signature)
}

fn verify_with_spki(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: Option<ObjectIdentifier>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key_alg = spki.algorithm.oid;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let alg: &'static dyn sig::VerificationAlgorithm = match (key_alg, curve, sig_alg) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256), None | Some(OID_ECDSA_SHA256)) => {
            &sig::ECDSA_P256_SHA256_ASN1
        }
        (OID_EC_PUBLIC_KEY, Some(OID_P256), Some(OID_ECDSA_SHA384)) => &sig::ECDSA_P256_SHA384_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P384), None | Some(OID_ECDSA_SHA384)) => {
            &sig::ECDSA_P384_SHA384_ASN1
        }
        (OID_EC_PUBLIC_KEY, Some(OID_P384), Some(OID_ECDSA_SHA256)) => &sig::ECDSA_P384_SHA256_ASN1,
        (OID_EC_PUBLIC_KEY, Some(OID_P521), None | Some(OID_ECDSA_SHA512)) => {
            &sig::ECDSA_P521_SHA512_ASN1
        }
        (OID_ED25519, _, None | Some(OID_ED25519)) => &sig::ED25519,
        (OID_RSA, _, None | Some(OID_RSA_SHA256)) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (OID_RSA, _, Some(OID_RSA_SHA384)) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (OID_RSA, _, Some(OID_RSA_SHA512)) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (k, c, s) => {
            return Err(format!(
                "uses an unsupported algorithm (key {k}{}{})",
                c.map(|c| format!(" on {c}")).unwrap_or_default(),
                s.map(|s| format!(", signature {s}")).unwrap_or_default()
            ));
        }
    };
    let raw = spki.subject_public_key.raw_bytes();
    sig::UnparsedPublicKey::new(alg, raw)
        .verify(message, signature)
        .map_err(|_| "does not verify".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sct_list_parser_rejects_garbage() {
        assert!(parse_sct_list(&[]).is_err());
        assert!(parse_sct_list(&[0, 3, 0, 1, 0]).is_err());
        assert_eq!(parse_sct_list(&[0, 0]), Ok(Vec::new()));
    }

    proptest::proptest! {
        #[test]
        fn sct_lists_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_sct_list(&b);
        }

        #[test]
        fn certificates_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            if let Ok(c) = Cert::from_der(&b) {
                let _ = (c.identities(), c.oidc_issuer(), c.embedded_scts(), c.precert_tbs());
            }
        }
    }
}
