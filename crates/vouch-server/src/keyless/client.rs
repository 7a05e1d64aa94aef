//! The client side of keyless signing: one call that signs an artifact digest against a
//! Sigstore instance (this service, or any that speaks the same wire formats) named by a
//! `ClientTrustConfig`, and returns a v0.3 bundle that has already been verified.
//!
//! The steps are sigstore-python's: an ephemeral ECDSA P-256 key; a certificate from the CA
//! (`POST {caUrl}/api/v2/signingCert` with a `publicKeyRequest` whose proof of possession
//! signs the token's challenge claim); the signature over the digest; an RFC 3161 timestamp
//! over the signature from every TSA; a Rekor v2 `hashedrekord` entry; then the bundle is
//! checked with `vouch_attest::Verifier` against the config's own trusted root, for the
//! certificate's own SAN and OIDC issuer, so a broken server never yields a bundle.
//!
//! It must never: put the identity token into an error, name a URL with its credentials, or
//! return a bundle that does not verify.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use serde_json::{Value, json};
use sha2::Digest as _;
use vouch_attest::dsse::{IN_TOTO_PAYLOAD_TYPE, KeyIdStyle};
use vouch_attest::verify::SubjectDigest;
use vouch_attest::x509::Cert;
use vouch_attest::{
    Bundle, Envelope, Evidence, Identity, Matcher, Outcome, Policy, Statement, TrustedRoot,
    Verifier,
};
use vouch_crypto::keys::{HashAlgorithm, KeyAlgorithm, Prehash, PrivateKey};

use crate::http_client::{loopback_http, redact_url};

/// The v0.3 bundle media type.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const MAX_RESPONSE: usize = 1 << 20;

/// What to sign and with which identity, against which instance.
#[derive(Debug, Clone)]
pub struct KeylessSignRequest {
    /// SHA-256 of the artifact.
    pub artifact_sha256: [u8; 32],
    /// The OIDC identity token (a JWT; its signature is the CA's to check).
    pub identity_token: String,
    /// The `ClientTrustConfig` (signing config and trusted root).
    pub trust_config: Value,
}

/// Why no bundle was produced.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The trust config or the token is unusable: nothing was sent.
    #[error("{0}")]
    BadInput(String),
    /// A service refused, could not be reached, or answered something that does not verify.
    #[error("{0}")]
    Service(String),
}

pub(crate) fn bad(m: impl Into<String>) -> ClientError {
    ClientError::BadInput(m.into())
}

pub(crate) fn service(m: impl Into<String>) -> ClientError {
    ClientError::Service(m.into())
}

/// The services a `ClientTrustConfig` names, and its trusted root.
#[derive(Debug)]
struct Endpoints {
    ca: String,
    rekor: String,
    tsas: Vec<String>,
    root: TrustedRoot,
}

fn parse_config(config: &Value) -> Result<Endpoints, ClientError> {
    let sc = config
        .get("signingConfig")
        .ok_or_else(|| bad("the trust config has no signingConfig"))?;
    let urls = |field: &str| -> Vec<&Value> {
        sc.get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let url_of = |s: &Value| s.get("url").and_then(Value::as_str).map(str::to_owned);
    let ca_base = urls("caUrls")
        .into_iter()
        .find_map(url_of)
        .ok_or_else(|| bad("the trust config lists no CA (signingConfig.caUrls)"))?;
    let rekor_base = urls("rekorTlogUrls")
        .into_iter()
        .filter(|s| s.get("majorApiVersion").and_then(Value::as_u64) == Some(2))
        .find_map(url_of)
        .ok_or_else(|| {
            bad("the trust config lists no Rekor v2 log (rekorTlogUrls with majorApiVersion 2)")
        })?;
    let tsas: Vec<String> = urls("tsaUrls").into_iter().filter_map(url_of).collect();
    if tsas.is_empty() {
        return Err(bad(
            "the trust config lists no TSA (signingConfig.tsaUrls); a Rekor v2 entry needs a timestamp",
        ));
    }
    let root_json = config
        .get("trustedRoot")
        .ok_or_else(|| bad("the trust config has no trustedRoot"))?;
    let root = TrustedRoot::from_json(&serde_json::to_vec(root_json).unwrap_or_default())
        .map_err(|e| bad(format!("the trust config's trustedRoot: {e}")))?;
    Ok(Endpoints {
        ca: url_join_root(&ca_base, "/api/v2/signingCert")?,
        rekor: format!("{rekor_base}/api/v2/log/entries"),
        tsas,
        root,
    })
}

/// `urljoin(base, "/path")`: scheme and authority of `base`, its path dropped.
fn url_join_root(base: &str, path: &str) -> Result<String, ClientError> {
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| bad(format!("`{}` is not an absolute URL", redact_url(base))))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    Ok(format!("{scheme}://{authority}{path}"))
}

/// The claim the CA's proof of possession is over: `email` when the token has one (as cosign
/// chooses), else `sub`. The payload is read without verifying the signature.
fn challenge(token: &str) -> Result<String, ClientError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| bad("the identity token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("the identity token's payload is not base64url"))?;
    let claims: Value = serde_json::from_slice(&bytes)
        .map_err(|_| bad("the identity token's payload is not JSON"))?;
    ["email", "sub"]
        .iter()
        .find_map(|c| {
            claims
                .get(*c)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_owned)
        .ok_or_else(|| bad("the identity token has no `sub` claim"))
}

pub(crate) type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

pub(crate) fn client() -> Result<Client, ClientError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| service(format!("cannot load the system's TLS roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// POSTs `body` as `content_type`; a status of 400 or more is an error quoting the answer
/// (which never holds the token: it was only in the request).
async fn post(
    client: &Client,
    url: &str,
    content_type: &str,
    accept: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, ClientError> {
    let shown = redact_url(url);
    if !url.starts_with("https://") && !loopback_http(url) {
        return Err(bad(format!(
            "{shown}: only https:// (or http:// to loopback) is allowed"
        )));
    }
    let req = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::ACCEPT, accept)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| bad(format!("{shown}: {e}")))?;
    let call = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| service(format!("{shown}: {e}")))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| service(format!("{shown}: reading the response: {e}")))?
            .to_bytes()
            .to_vec();
        Ok::<_, ClientError>((status, body))
    };
    let (status, body) = tokio::time::timeout(TIMEOUT, call)
        .await
        .map_err(|_| service(format!("{shown}: no answer within {} s", TIMEOUT.as_secs())))??;
    if status >= 400 {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.chars().take(500).collect();
        return Err(service(format!("{shown} refused (HTTP {status}): {text}")));
    }
    Ok(body)
}

async fn post_json(client: &Client, url: &str, body: &Value) -> Result<Value, ClientError> {
    let bytes = post(
        client,
        url,
        "application/json",
        "application/json",
        body.to_string().into_bytes(),
    )
    .await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| service(format!("{}: the answer is not JSON: {e}", redact_url(url))))
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    STANDARD.decode(b64).ok()
}

// ---------------------------------------------------------------------------------------
// RFC 3161: a hand-written DER TimeStampReq, and just enough parsing of the reply to check
// its status, imprint and nonce (the full verification is the Verifier's).

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// SHA-256 `AlgorithmIdentifier` (parameters absent, RFC 5754).
const SHA256_ALG: [u8; 13] = [
    0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
];

/// `TimeStampReq { version 1, messageImprint SHA-256, nonce, certReq TRUE }`; `nonce` is a
/// positive INTEGER's minimal content octets.
fn timestamp_request(imprint: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    let mut mi = SHA256_ALG.to_vec();
    mi.extend(tlv(0x04, imprint));
    let mut body = tlv(0x02, &[1]);
    body.extend(tlv(0x30, &mi));
    body.extend(tlv(0x02, nonce));
    body.extend(tlv(0x01, &[0xff]));
    tlv(0x30, &body)
}

/// Splits one TLV (single-byte tags, definite lengths) off `input`.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| a << 8 | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, c, r) = read_tlv(input)?;
    (t == tag).then_some((c, r))
}

/// The reply's status, and the `TSTInfo`'s imprint and nonce (if any).
struct Reply {
    status: u8,
    imprint: Vec<u8>,
    nonce: Option<Vec<u8>>,
}

fn parse_reply(der: &[u8]) -> Option<Reply> {
    let (resp, _) = expect(der, 0x30)?;
    let (status_info, rest) = expect(resp, 0x30)?;
    let (status, _) = expect(status_info, 0x02)?;
    let status = *status.last()?;
    if status > 1 {
        return Some(Reply {
            status,
            imprint: Vec::new(),
            nonce: None,
        });
    }
    // ContentInfo { contentType, [0] SignedData { version, digestAlgorithms,
    // encapContentInfo { eContentType, [0] OCTET STRING TSTInfo } ... } }
    let (ci, _) = expect(rest, 0x30)?;
    let (_, ci) = expect(ci, 0x06)?;
    let (sd, _) = expect(ci, 0xa0)?;
    let (sd, _) = expect(sd, 0x30)?;
    let (_, sd) = expect(sd, 0x02)?;
    let (_, sd) = expect(sd, 0x31)?;
    let (eci, _) = expect(sd, 0x30)?;
    let (_, eci) = expect(eci, 0x06)?;
    let (octets, _) = expect(eci, 0xa0)?;
    let (tst, _) = expect(octets, 0x04)?;
    let (tst, _) = expect(tst, 0x30)?;
    let (_, tst) = expect(tst, 0x02)?; // version
    let (_, tst) = expect(tst, 0x06)?; // policy
    let (mi, tst) = expect(tst, 0x30)?; // messageImprint
    let (_, mi) = expect(mi, 0x30)?;
    let (imprint, _) = expect(mi, 0x04)?;
    let (_, tst) = expect(tst, 0x02)?; // serialNumber
    let (_, mut tst) = expect(tst, 0x18)?; // genTime
    let mut nonce = None;
    while let Some((tag, content, rest)) = read_tlv(tst) {
        match tag {
            0x30 | 0x01 => {} // accuracy, ordering
            0x02 => {
                nonce = Some(content.to_vec());
                break;
            }
            _ => break,
        }
        tst = rest;
    }
    Some(Reply {
        status,
        imprint: imprint.to_vec(),
        nonce,
    })
}

fn random_nonce() -> Result<Vec<u8>, ClientError> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| service("no randomness for the timestamp nonce"))?;
    b[0] = (b[0] & 0x7f) | 0x01;
    Ok(b.to_vec())
}

async fn timestamp(client: &Client, url: &str, signature: &[u8]) -> Result<Vec<u8>, ClientError> {
    let shown = redact_url(url);
    let imprint: [u8; 32] = sha2::Sha256::digest(signature).into();
    let nonce = random_nonce()?;
    let reply = post(
        client,
        url,
        "application/timestamp-query",
        "application/timestamp-reply",
        timestamp_request(&imprint, &nonce),
    )
    .await?;
    let parsed =
        parse_reply(&reply).ok_or_else(|| service(format!("{shown}: not a TimeStampResp")))?;
    if parsed.status > 1 {
        return Err(service(format!(
            "{shown} refused the timestamp request (PKIStatus {})",
            parsed.status
        )));
    }
    if parsed.imprint != imprint {
        return Err(service(format!(
            "{shown}: the timestamp is over another message"
        )));
    }
    if parsed.nonce.as_deref() != Some(nonce.as_slice()) {
        return Err(service(format!(
            "{shown}: the timestamp's nonce is not the request's"
        )));
    }
    Ok(reply)
}

// ---------------------------------------------------------------------------------------

/// An ephemeral key and the certificate the CA issued for it.
struct Ephemeral {
    key: PrivateKey,
    leaf_der: Vec<u8>,
    /// The certificate's identity (SAN) and OIDC issuer, which the new bundle is verified for.
    subject: String,
    issuer: String,
}

/// Generates the ephemeral key and asks the CA for its certificate (proof of possession over
/// the token's challenge claim).
async fn certificate(client: &Client, ca: &str, token: &str) -> Result<Ephemeral, ClientError> {
    let challenge = challenge(token)?;
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)
        .map_err(|e| service(format!("cannot generate the ephemeral key: {e}")))?;
    let proof = key
        .sign(challenge.as_bytes())
        .map_err(|e| service(format!("cannot sign the proof of possession: {e}")))?;
    let answer = post_json(
        client,
        ca,
        &json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": key.public_key().to_pem()},
                "proofOfPossession": STANDARD.encode(&proof),
            }
        }),
    )
    .await?;
    let shown_ca = redact_url(ca);
    let chain = answer
        .pointer("/signedCertificateEmbeddedSct/chain/certificates")
        .and_then(Value::as_array)
        .ok_or_else(|| service(format!("{shown_ca}: the answer has no certificate chain")))?;
    let leaf_der = chain
        .first()
        .and_then(Value::as_str)
        .and_then(pem_to_der)
        .ok_or_else(|| service(format!("{shown_ca}: the leaf certificate is not PEM")))?;
    let leaf = Cert::from_der(&leaf_der)
        .map_err(|e| service(format!("{shown_ca}: the leaf certificate: {e}")))?;
    if leaf.spki_der().ok().as_deref() != Some(key.public_key().spki_der()) {
        return Err(service(format!(
            "{shown_ca}: the certificate is not for the key that was sent"
        )));
    }
    let subject = leaf
        .identities()
        .into_iter()
        .next()
        .ok_or_else(|| service(format!("{shown_ca}: the certificate has no identity SAN")))?;
    let issuer = leaf.oidc_issuer().ok_or_else(|| {
        service(format!(
            "{shown_ca}: the certificate has no OIDC issuer extension"
        ))
    })?;
    Ok(Ephemeral {
        key,
        leaf_der,
        subject,
        issuer,
    })
}

/// What witnesses one signature: an RFC 3161 timestamp over it from every TSA, and the
/// Rekor v2 entry logging it (as proto3 JSON, ready for a bundle's verification material).
#[derive(Debug, Clone)]
pub struct Witness {
    /// `{"signedTimestamp": b64}` per TSA, in the signing config's order.
    pub timestamps: Vec<Value>,
    /// The `TransparencyLogEntry`.
    pub tlog_entry: Value,
}

/// Asks the trust config's TSAs to timestamp `signature` (before the log, as
/// sigstore-python does), then its Rekor v2 log to record the `hashedrekord` of `digest`,
/// `signature` and the certificate `leaf_der`. Nothing here checks the certificate: the
/// caller verifies the bundle it builds from the answer.
pub async fn witness(
    trust_config: &Value,
    leaf_der: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<Witness, ClientError> {
    let ep = parse_config(trust_config)?;
    witness_with(&client()?, &ep, leaf_der, digest, signature).await
}

async fn witness_with(
    client: &Client,
    ep: &Endpoints,
    leaf_der: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<Witness, ClientError> {
    let mut timestamps = Vec::new();
    for url in &ep.tsas {
        let der = timestamp(client, url, signature).await?;
        timestamps.push(json!({"signedTimestamp": STANDARD.encode(der)}));
    }
    let tlog_entry = post_json(
        client,
        &ep.rekor,
        &json!({
            "hashedRekordRequestV002": {
                "digest": STANDARD.encode(digest),
                "signature": {
                    "content": STANDARD.encode(signature),
                    "verifier": {
                        "x509Certificate": {"rawBytes": STANDARD.encode(leaf_der)},
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    }
                }
            }
        }),
    )
    .await?;
    Ok(Witness {
        timestamps,
        tlog_entry,
    })
}

/// A v0.3 bundle's `verificationMaterial` for a certificate and its witness.
fn verification_material(leaf_der: &[u8], witness: &Witness) -> Value {
    json!({
        "certificate": {"rawBytes": STANDARD.encode(leaf_der)},
        "tlogEntries": [witness.tlog_entry],
        "timestampVerificationData": {"rfc3161Timestamps": witness.timestamps},
    })
}

/// The v0.3 message-signature bundle (unverified) for a blob's `digest` and `signature`.
pub fn blob_bundle(
    leaf_der: &[u8],
    witness: &Witness,
    digest: &[u8; 32],
    signature: &[u8],
) -> Value {
    json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": verification_material(leaf_der, witness),
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
            "signature": STANDARD.encode(signature),
        }
    })
}

/// The v0.3 DSSE bundle (unverified) for an envelope with one signature.
fn dsse_bundle(leaf_der: &[u8], witness: &Witness, envelope: &Envelope) -> Value {
    json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": verification_material(leaf_der, witness),
        "dsseEnvelope": serde_json::to_value(envelope).unwrap_or(Value::Null),
    })
}

/// The policy a new bundle must pass: the config's trusted root, the certificate's own
/// identity and issuer.
fn own_policy(root: TrustedRoot, cert: &Ephemeral) -> Policy {
    Policy::keyless(
        Arc::new(root),
        vec![Identity {
            subject: Matcher::Exact(cert.subject.clone()),
            issuer: Matcher::Exact(cert.issuer.clone()),
        }],
    )
}

fn checked(outcome: Result<Outcome, vouch_attest::AttestError>) -> Result<(), ClientError> {
    let outcome = outcome.map_err(|e| service(format!("the new bundle cannot be checked: {e}")))?;
    if !outcome.is_verified() {
        return Err(service(format!(
            "the new bundle does not verify against the trust config's root: {}",
            outcome.message()
        )));
    }
    Ok(())
}

fn bundle_bytes(bundle: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(bundle).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Signs `request.artifact_sha256` keylessly; returns the v0.3 bundle JSON, verified against
/// the trust config's trusted root for the certificate's own identity.
pub async fn sign_blob(request: &KeylessSignRequest) -> Result<Vec<u8>, ClientError> {
    let ep = parse_config(&request.trust_config)?;
    let token = request.identity_token.trim();
    let client = client()?;
    let cert = certificate(&client, &ep.ca, token).await?;
    let prehash = Prehash {
        algorithm: HashAlgorithm::Sha256,
        value: request.artifact_sha256.to_vec(),
    };
    let signature = cert
        .key
        .sign_prehashed(&prehash)
        .map_err(|e| service(format!("cannot sign: {e}")))?;
    let witness = witness_with(
        &client,
        &ep,
        &cert.leaf_der,
        &request.artifact_sha256,
        &signature,
    )
    .await?;
    let bytes = bundle_bytes(&blob_bundle(
        &cert.leaf_der,
        &witness,
        &request.artifact_sha256,
        &signature,
    ));
    let parsed = Bundle::from_json(&bytes)
        .map_err(|e| service(format!("the services' answers make no valid bundle: {e}")))?;
    checked(
        Verifier::new(own_policy(ep.root, &cert)).verify_blob_digest(
            &parsed,
            &SubjectDigest {
                algorithm: HashAlgorithm::Sha256,
                value: request.artifact_sha256.to_vec(),
            },
        ),
    )?;
    Ok(bytes)
}

/// What to attest keylessly.
#[derive(Debug, Clone)]
pub struct KeylessAttestRequest {
    /// The in-toto statement (DSSE payload).
    pub statement: Statement,
    /// The OIDC identity token.
    pub identity_token: String,
    /// The `ClientTrustConfig`.
    pub trust_config: Value,
}

/// Attests `request.statement` keylessly: a DSSE envelope signed by the ephemeral key, logged
/// (as Sigstore clients do with Rekor v2) as a `hashedrekord` over SHA-256 of the PAE, and
/// timestamped; returns the v0.3 bundle JSON, verified as `verify-attestation` would for the
/// statement's subjects and the certificate's own identity.
pub async fn attest(request: &KeylessAttestRequest) -> Result<Vec<u8>, ClientError> {
    request
        .statement
        .validate()
        .map_err(|e| bad(format!("the statement: {e}")))?;
    let ep = parse_config(&request.trust_config)?;
    let token = request.identity_token.trim();
    let client = client()?;
    let cert = certificate(&client, &ep.ca, token).await?;
    let envelope = Envelope::sign(
        IN_TOTO_PAYLOAD_TYPE,
        request.statement.to_canonical_json(),
        &[&cert.key],
        KeyIdStyle::Empty,
    )
    .map_err(|e| service(format!("cannot sign: {e}")))?;
    let signature = envelope
        .signatures
        .first()
        .map(|s| s.sig.0.clone())
        .ok_or_else(|| service("the envelope has no signature"))?;
    let pae_digest: [u8; 32] = sha2::Sha256::digest(envelope.pae()).into();
    let witness = witness_with(&client, &ep, &cert.leaf_der, &pae_digest, &signature).await?;
    let bytes = bundle_bytes(&dsse_bundle(&cert.leaf_der, &witness, &envelope));
    let evidence = Evidence::from_json(&bytes)
        .map_err(|e| service(format!("the services' answers make no valid bundle: {e}")))?;
    let subjects: Vec<SubjectDigest> = request
        .statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("sha256"))
        .filter_map(|hex| SubjectDigest::parse(&format!("sha256:{hex}")))
        .collect();
    checked(
        Verifier::new(own_policy(ep.root, &cert)).verify_attestation_for(&evidence, &subjects),
    )?;
    Ok(bytes)
}

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| service(format!("cannot start the async runtime: {e}")))
}

/// [`sign_blob`] on a runtime of its own, for callers without one.
pub fn sign_blob_blocking(request: &KeylessSignRequest) -> Result<Vec<u8>, ClientError> {
    runtime()?.block_on(sign_blob(request))
}

/// [`attest`] on a runtime of its own, for callers without one.
pub fn attest_blocking(request: &KeylessAttestRequest) -> Result<Vec<u8>, ClientError> {
    runtime()?.block_on(attest(request))
}

/// [`witness`] on a runtime of its own, for callers without one.
pub fn witness_blocking(
    trust_config: &Value,
    leaf_der: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<Witness, ClientError> {
    runtime()?.block_on(witness(trust_config, leaf_der, digest, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_request_is_what_the_tsa_parses() {
        let nonce = [0x11, 0x22, 0x33];
        let der = timestamp_request(&[7; 32], &nonce);
        let req = vouch_ca::tsa::parse_request(&der).unwrap();
        assert_eq!(req.hashed_message(), &[7; 32]);
        assert_eq!(req.nonce(), Some(&nonce[..]));
        assert!(req.cert_req());
    }

    #[test]
    fn reply_status_imprint_and_nonce_are_read() {
        let now = jiff::Timestamp::now();
        let (keys, _) = vouch_ca::tsa::generate_dev_tsa(now).unwrap();
        let der = timestamp_request(&[9; 32], &[0x42, 1]);
        let reply = vouch_ca::tsa::timestamp(&keys, &der, now, 5).unwrap();
        let r = parse_reply(&reply).unwrap();
        assert!(r.status <= 1);
        assert_eq!(r.imprint, vec![9; 32]);
        assert_eq!(r.nonce.as_deref(), Some(&[0x42, 1][..]));
        // A SHA-224 imprint is refused with a rejection reply.
        let mut other = der.clone();
        other[19] = 0x04;
        let refused = vouch_ca::tsa::timestamp(&keys, &other, now, 6).unwrap();
        assert!(parse_reply(&refused).unwrap().status > 1);
    }

    #[test]
    fn urls_and_claims() {
        assert_eq!(
            url_join_root("http://127.0.0.1:9/prefix/x", "/api/v2/signingCert").unwrap(),
            "http://127.0.0.1:9/api/v2/signingCert"
        );
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","email":"a@b.example"}"#);
        assert_eq!(challenge(&format!("h.{claims}.s")).unwrap(), "a@b.example");
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1"}"#);
        assert_eq!(challenge(&format!("h.{claims}.s")).unwrap(), "u1");
        let e = challenge("secret-not-a-jwt").unwrap_err().to_string();
        assert!(!e.contains("secret"));
    }
}
