//! Trust distribution for a keyless instance: the Sigstore trusted root naming this service's
//! CA, CT log, transparency log and TSA, and the ClientTrustConfig (trusted root + SigningConfig
//! v0.2 listing the service's URLs) that `GET /api/v1/trust/config` serves, dev mode writes to
//! `DIR/trust-config.json`, and `sigstore --trust-config` / `vouch trust import` read.
//!
//! Sigstore clients parse these strictly (unknown fields refused, `operator` required,
//! `majorApiVersion` a number, int64 as strings): the shapes here are exactly the
//! protobuf-specs ones, nothing extra.

use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the trusted root lists besides the transparency log.
#[derive(Debug, Clone, Default)]
pub struct KeylessTrust {
    /// The CA chain, issuing certificate first, root last (DER).
    pub ca_chain: Vec<Vec<u8>>,
    /// The CT log's public key (SPKI DER, ECDSA P-256).
    pub ct_spki: Option<Vec<u8>>,
    /// The TSA chain, signing certificate first, root last (DER).
    pub tsa_chain: Vec<Vec<u8>>,
}

/// The trusted root: the log's entry from `tlog_root` (what `vouch log trusted-root` makes)
/// plus the CA, CT log and TSA of `keyless`.
pub fn trusted_root(
    tlog_root: &Value,
    base_url: &str,
    keyless: &KeylessTrust,
    valid_from: &str,
) -> Value {
    let mut root = tlog_root.clone();
    let org = json!({"organization": "vouch", "commonName": "vouch serve"});
    if !keyless.ca_chain.is_empty() {
        root["certificateAuthorities"] = json!([{
            "subject": org,
            "uri": base_url,
            "certChain": {"certificates": keyless.ca_chain.iter().map(|c| json!({"rawBytes": b64(c)})).collect::<Vec<_>>()},
            "validFor": {"start": valid_from},
        }]);
    }
    if let Some(spki) = &keyless.ct_spki {
        root["ctlogs"] = json!([{
            "baseUrl": format!("{base_url}/ct"),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(spki),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": valid_from},
            },
            "logId": {"keyId": b64(&sha2::Sha256::digest(spki))},
        }]);
    }
    if !keyless.tsa_chain.is_empty() {
        root["timestampAuthorities"] = json!([{
            "subject": org,
            "uri": format!("{base_url}/api/v1/timestamp"),
            "certChain": {"certificates": keyless.tsa_chain.iter().map(|c| json!({"rawBytes": b64(c)})).collect::<Vec<_>>()},
            "validFor": {"start": valid_from},
        }]);
    }
    root
}

/// A SigningConfig v0.2 `Service`.
fn service(url: String, major: u32, operator: &str, valid_from: &str) -> Value {
    json!({
        "url": url,
        "majorApiVersion": major,
        "validFor": {"start": valid_from},
        "operator": operator,
    })
}

/// The ClientTrustConfig: the trusted root and a SigningConfig v0.2 whose CA (Fulcio v2 API,
/// `majorApiVersion` 1 as clients number it), Rekor (v2) and TSA are this service.
pub fn client_trust_config(
    trusted_root: &Value,
    base_url: &str,
    keyless: &KeylessTrust,
    operator: &str,
    valid_from: &str,
) -> Value {
    let base = base_url.trim_end_matches('/');
    let ca_urls: Vec<Value> = if keyless.ca_chain.is_empty() {
        vec![]
    } else {
        vec![service(base.to_string(), 1, operator, valid_from)]
    };
    let tsa_urls: Vec<Value> = if keyless.tsa_chain.is_empty() {
        vec![]
    } else {
        vec![service(
            format!("{base}/api/v1/timestamp"),
            1,
            operator,
            valid_from,
        )]
    };
    json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root,
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": ca_urls,
            "oidcUrls": [],
            "rekorTlogUrls": [service(base.to_string(), 2, operator, valid_from)],
            "tsaUrls": tsa_urls,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    })
}
