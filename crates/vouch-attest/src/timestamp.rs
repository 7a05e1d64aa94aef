//! RFC 3161 signed timestamps in Sigstore bundles
//! (`verificationMaterial.timestampVerificationData.rfc3161Timestamps[]`).
//!
//! A timestamp is a verified time when, as sigstore-go and sigstore-python check it:
//! 1. it parses as a `TimeStampResp` with status granted (or a bare `TimeStampToken`), whose
//!    token is CMS `SignedData` over an `id-ct-TSTInfo`;
//! 2. the `TSTInfo` message imprint is the hash (SHA-256/384/512, as the imprint names it) of
//!    the bundle's signature bytes;
//! 3. the one `SignerInfo` has signed attributes whose `messageDigest` is the hash of the
//!    `TSTInfo`, and its signature over those attributes verifies with the key of a TSA
//!    certificate listed under `timestampAuthorities` in the trusted root (the chain's first
//!    certificate, or a certificate embedded in the token that the listed chain issued);
//! 4. that signing certificate is for time stamping (EKU `timeStamping`), and it and the rest
//!    of the listed chain are valid at `genTime`, as is the authority's `validFor` window.
//!
//! Parsing is RustCrypto's `x509-tsp` (RFC 3161 types) and `cms` (RFC 5652), the same `der`
//! stack as `x509-cert`; signatures are checked with `aws-lc-rs` through [`crate::x509`].
//! Nothing here reads the clock: the caller decides what a verified time is used for.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use x509_cert::der::asn1::{ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_tsp::{TimeStampResp, TstInfo};

use crate::trusted_root::{CertificateAuthority, TimeRange, TrustedRoot};
use crate::x509::Cert;

/// At most this many timestamps are looked at; more is an error (as in sigstore-python and
/// sigstore-go), so a bundle cannot make a verifier do unbounded work.
pub const MAX_TIMESTAMPS: usize = 32;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Why a timestamp was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Validly signed by a trusted TSA, but over another signature: not evidence about this
    /// bundle, skipped (as sigstore-go and sigstore-python do).
    OtherMessage,
    /// Malformed, tampered, or not signed by a trusted TSA: the bundle fails.
    Invalid(String),
}

/// A timestamp that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// `genTime`, seconds since the epoch.
    pub time: i64,
    /// The TSA's subject (its signing certificate's DN), for reports.
    pub authority: String,
}

fn digest(oid: ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest as _;
    Some(match oid {
        OID_SHA256 => sha2::Sha256::digest(data).to_vec(),
        OID_SHA384 => sha2::Sha384::digest(data).to_vec(),
        OID_SHA512 => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// The token of a DER `TimeStampResp` (status granted) or a bare `TimeStampToken`.
fn token(der: &[u8]) -> Result<ContentInfo, String> {
    if let Ok(resp) = TimeStampResp::from_der(der) {
        use cmpv2::status::PkiStatus;
        if !matches!(
            resp.status.status,
            PkiStatus::Accepted | PkiStatus::GrantedWithMods
        ) {
            return Err(format!(
                "the TSA did not grant it ({:?})",
                resp.status.status
            ));
        }
        return resp
            .time_stamp_token
            .ok_or_else(|| "the response carries no timestamp token".to_string());
    }
    ContentInfo::from_der(der).map_err(|e| format!("not an RFC 3161 timestamp ({e})"))
}

/// The parts of a timestamp needed to verify it.
struct Parsed {
    tst: TstInfo,
    /// The DER `TSTInfo` (what `messageDigest` covers).
    tst_der: Vec<u8>,
    signed: SignedData,
}

fn parse(der: &[u8]) -> Result<Parsed, String> {
    // Only canonical DER: re-encoding what was read must give the same bytes, so no byte of
    // the token can change without the parse noticing.
    if let Ok(resp) = TimeStampResp::from_der(der) {
        if resp.to_der().ok().as_deref() != Some(der) {
            return Err("the timestamp response is not canonical DER".into());
        }
    } else if ContentInfo::from_der(der)
        .ok()
        .and_then(|c| c.to_der().ok())
        .as_deref()
        != Some(der)
    {
        return Err("the timestamp token is not canonical DER".into());
    }
    let ci = token(der)?;
    if ci.content_type != OID_SIGNED_DATA {
        return Err("the timestamp token is not CMS SignedData".into());
    }
    let content = ci.content.to_der().map_err(|e| e.to_string())?;
    let signed = SignedData::from_der(&content)
        .map_err(|e| format!("the timestamp's SignedData is malformed ({e})"))?;
    if signed.encap_content_info.econtent_type != OID_TST_INFO {
        return Err("the timestamp token does not hold a TSTInfo".into());
    }
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the timestamp token has no TSTInfo")?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(|e| format!("the TSTInfo is not wrapped in an OCTET STRING ({e})"))?
        .as_bytes()
        .to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| format!("the TSTInfo is malformed ({e})"))?;
    // RFC 5652 §5.1: SignedData over a content other than id-data is version 3.
    if signed.version != cms::content_info::CmsVersion::V3 {
        return Err("the timestamp's SignedData is not version 3".into());
    }
    Ok(Parsed {
        tst,
        tst_der,
        signed,
    })
}

/// Verifies one timestamp over `signature` (the bundle's signature bytes) against the
/// trusted root's timestamp authorities.
pub fn verify(
    der: &[u8],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<VerifiedTimestamp, Rejected> {
    let v = verify_token(der, root).map_err(Rejected::Invalid)?;
    let imprint = &v.imprint;
    let want = digest(imprint.hash_algorithm.oid, signature).ok_or_else(|| {
        Rejected::Invalid(format!(
            "the message imprint uses an unsupported hash ({})",
            imprint.hash_algorithm.oid
        ))
    })?;
    if imprint.hashed_message.as_bytes() != want.as_slice() {
        return Err(Rejected::OtherMessage);
    }
    Ok(v.stamp)
}

struct Token {
    stamp: VerifiedTimestamp,
    imprint: x509_tsp::MessageImprint,
}

/// Everything but the imprint: the token is well formed, canonical, and signed by a trusted
/// TSA valid at its genTime.
fn verify_token(der: &[u8], root: &TrustedRoot) -> Result<Token, String> {
    let p = parse(der)?;
    let time = i64::try_from(p.tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| "genTime is out of range".to_string())?;
    let when = jiff::Timestamp::from_second(time).map_err(|_| "genTime is out of range")?;
    let [signer] = p.signed.signer_infos.0.as_slice() else {
        return Err(format!(
            "the timestamp has {} signer infos; exactly one is expected",
            p.signed.signer_infos.0.len()
        ));
    };
    if !p
        .signed
        .digest_algorithms
        .iter()
        .any(|a| a.oid == signer.digest_alg.oid)
    {
        return Err("the signer's digest algorithm is not among the token's".into());
    }
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the timestamp's signer info has no signed attributes")?;
    let attr = |oid| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.get(0))
    };
    let content_type = attr(OID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or("the signed attributes name no content type")?;
    if content_type != OID_TST_INFO {
        return Err("the signed attributes name another content type".into());
    }
    let md = attr(OID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or("the signed attributes carry no message digest")?;
    let tst_hash = digest(signer.digest_alg.oid, &p.tst_der)
        .ok_or("the signer info uses an unsupported digest")?;
    if md.as_bytes() != tst_hash.as_slice() {
        return Err("the signed message digest is not the TSTInfo's".into());
    }
    // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
    let signed_bytes = attrs.to_der().map_err(|e| e.to_string())?;
    let embedded: Vec<Cert> = p
        .signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => {
                c.to_der().ok().and_then(|d| Cert::from_der(&d).ok())
            }
            _ => None,
        })
        .collect();

    let mut reasons = Vec::new();
    for (i, tsa) in root.timestamp_authorities.iter().enumerate() {
        match by_authority(tsa, signer, &signed_bytes, &embedded, time) {
            Ok(authority) if TimeRange::contains(tsa.valid_for.as_ref(), when) => {
                return Ok(Token {
                    stamp: VerifiedTimestamp { time, authority },
                    imprint: p.tst.message_imprint.clone(),
                });
            }
            Ok(_) => reasons.push(format!("TSA {i} was not valid at {when}")),
            Err(r) => reasons.push(format!("TSA {i}: {r}")),
        }
    }
    if reasons.is_empty() {
        return Err("the trusted root lists no timestamp authority".into());
    }
    Err(format!(
        "no trusted timestamp authority signed it ({})",
        reasons.join("; ")
    ))
}

/// Whether `tsa` (a listed chain, signing certificate first) signed `signer`; its subject.
fn by_authority(
    tsa: &CertificateAuthority,
    signer: &cms::signed_data::SignerInfo,
    signed_bytes: &[u8],
    embedded: &[Cert],
    time: i64,
) -> Result<String, String> {
    let chain: Vec<Cert> = tsa
        .cert_chain
        .certificates
        .iter()
        .map(|c| Cert::from_der(&c.raw_bytes.0))
        .collect::<Result<_, _>>()?;
    let Some(listed) = chain.first() else {
        return Err("empty chain".into());
    };
    // The signing certificate: the listed one, or an embedded one the listed CAs issued.
    let mut candidates = vec![(listed, 0usize)];
    for c in embedded {
        if chain.iter().any(|l| l.der == c.der) {
            continue;
        }
        // Every embedded certificate must be one the listed chain issued: the token carries
        // nothing that is not accounted for.
        let Some(pos) = chain.iter().position(|ca| c.issued_by(ca).is_ok()) else {
            return Err(format!(
                "the token embeds `{}`, which the authority did not issue",
                c.subject()
            ));
        };
        candidates.push((c, pos));
    }
    let mut last = String::from("the signer is not the authority's certificate");
    for (cert, parent) in candidates {
        if !matches_sid(cert, &signer.sid) {
            continue;
        }
        if let Err(r) = crate::x509::verify_signed_attrs(
            cert,
            signer.signature_algorithm.oid,
            signer.digest_alg.oid,
            signed_bytes,
            signer.signature.as_bytes(),
        ) {
            last = format!("the signature {r}");
            continue;
        }
        cert.check_time_stamping()?;
        if !cert.valid_at(time) {
            return Err(format!("`{}` was not valid at genTime", cert.subject()));
        }
        // The chain above the signing certificate, each link checked and valid at genTime.
        let rest = if cert.der == listed.der {
            chain.get(1..).unwrap_or_default()
        } else {
            chain.get(parent..).unwrap_or_default()
        };
        let mut child = cert;
        for ca in rest {
            child.issued_by(ca)?;
            if !ca.valid_at(time) {
                return Err(format!("`{}` was not valid at genTime", ca.subject()));
            }
            child = ca;
        }
        return Ok(cert.subject());
    }
    Err(last)
}

fn matches_sid(cert: &Cert, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => {
            let tbs = &cert.cert.tbs_certificate;
            tbs.serial_number == is.serial_number
                && tbs.issuer.to_der().ok() == is.issuer.to_der().ok()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .subject_key_id()
            .is_some_and(|id| id == ski.0.as_bytes()),
    }
}

/// Verifies every timestamp of a bundle; the verified ones and how many were skipped, or why
/// the set is unacceptable. A validly signed timestamp over another signature is skipped (as
/// sigstore-go and sigstore-python do); a malformed, tampered or untrusted one fails the
/// bundle (stricter than both, which skip those too: a changed byte never passes unnoticed);
/// duplicates and more than [`MAX_TIMESTAMPS`] are errors.
pub fn verify_all(
    timestamps: &[&[u8]],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<(Vec<VerifiedTimestamp>, usize), String> {
    if timestamps.len() > MAX_TIMESTAMPS {
        return Err(format!(
            "the bundle carries {} timestamps; at most {MAX_TIMESTAMPS} are accepted",
            timestamps.len()
        ));
    }
    for (i, t) in timestamps.iter().enumerate() {
        if timestamps[..i].contains(t) {
            return Err(format!("timestamp {i} is a duplicate of an earlier one"));
        }
    }
    let mut ok = Vec::new();
    let mut skipped = 0;
    for (i, t) in timestamps.iter().enumerate() {
        match verify(t, signature, root) {
            Ok(v) => ok.push(v),
            Err(Rejected::OtherMessage) => skipped += 1,
            Err(Rejected::Invalid(r)) => return Err(format!("timestamp {i}: {r}")),
        }
    }
    Ok((ok, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let root: TrustedRoot = serde_json::from_str(
                r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            ).unwrap();
            let _ = verify(&b, b"sig", &root);
        }
    }
}
