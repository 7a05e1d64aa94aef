//! The TSA's responses checked by three verifiers: `vouch_attest::timestamp`, `openssl ts
//! -verify`, and (when the interop venv exists) sigstore-python's parser `rfc3161-client`.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use cmpv2::status::PkiStatus;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use vouch_ca::tsa::{self, FailureInfo, TsaError, TsaKeys};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const SIGNATURE: &[u8] = b"the bundle's signature bytes";

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn dev() -> (TsaKeys, Vec<u8>) {
    tsa::generate_dev_tsa(now()).unwrap()
}

fn request(
    alg: ObjectIdentifier,
    hashed: Vec<u8>,
    nonce: Option<&[u8]>,
    policy: Option<ObjectIdentifier>,
    cert_req: bool,
) -> Vec<u8> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: alg,
                parameters: None,
            },
            hashed_message: OctetString::new(hashed).unwrap(),
        },
        req_policy: policy,
        nonce: nonce.map(|n| Int::new(n).unwrap()),
        cert_req,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

fn sha256_request(nonce: Option<&[u8]>, cert_req: bool) -> Vec<u8> {
    request(
        SHA256,
        sha2::Sha256::digest(SIGNATURE).to_vec(),
        nonce,
        None,
        cert_req,
    )
}

fn trusted_root(chain: &[Vec<u8>]) -> vouch_attest::trusted_root::TrustedRoot {
    let b64 = base64::engine::general_purpose::STANDARD;
    let certs: Vec<_> = chain
        .iter()
        .map(|c| serde_json::json!({"rawBytes": b64.encode(c)}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "timestampAuthorities": [{
            "subject": {"organization": "vouch", "commonName": "vouch dev TSA"},
            "uri": "http://tsa.invalid/api/v1/timestamp",
            "certChain": {"certificates": certs},
            "validFor": {"start": "2020-01-01T00:00:00Z"}
        }]
    }))
    .unwrap()
}

fn decode(resp: &[u8]) -> (TimeStampResp<'_>, Option<(SignedData, TstInfo)>) {
    let r = TimeStampResp::from_der(resp).unwrap();
    assert_eq!(r.to_der().unwrap(), resp, "the response is canonical DER");
    let inner = r.time_stamp_token.as_ref().map(|t| {
        let sd = SignedData::from_der(&t.content.to_der().unwrap()).unwrap();
        let octets = sd
            .encap_content_info
            .econtent
            .as_ref()
            .unwrap()
            .decode_as::<OctetString>()
            .unwrap();
        let tst = TstInfo::from_der(octets.as_bytes()).unwrap();
        (sd, tst)
    });
    (r, inner)
}

/// `PKIStatusInfo`, with `failInfo` read as a plain BIT STRING.
#[derive(der::Sequence)]
struct StatusInfo<'a> {
    status: PkiStatus,
    status_string: Option<Vec<der::asn1::Utf8StringRef<'a>>>,
    fail_info: Option<der::asn1::BitString>,
}

#[derive(der::Sequence)]
struct Resp<'a> {
    status: StatusInfo<'a>,
    token: Option<der::asn1::Any>,
}

/// The one failInfo bit of a rejection (whose encoding must be DER).
fn fail_info(resp: &[u8]) -> FailureInfo {
    let r = Resp::from_der(resp).unwrap();
    assert_eq!(r.to_der().unwrap(), resp);
    assert_eq!(r.status.status, PkiStatus::Rejection);
    assert!(r.token.is_none(), "a rejection carries no token");
    assert!(r.status.status_string.is_some());
    let bits = r.status.fail_info.unwrap();
    let set: Vec<usize> = bits
        .bits()
        .enumerate()
        .filter(|(_, b)| *b)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(set.len(), 1, "exactly one failInfo bit: {set:?}");
    assert_eq!(bits.bits().last(), Some(true), "no trailing zero bits");
    let all = [
        FailureInfo::BadAlg,
        FailureInfo::BadRequest,
        FailureInfo::BadDataFormat,
        FailureInfo::TimeNotAvailable,
        FailureInfo::UnacceptedPolicy,
        FailureInfo::UnacceptedExtension,
        FailureInfo::AddInfoNotAvailable,
        FailureInfo::SystemFailure,
    ];
    *all.iter().find(|f| **f as usize == set[0]).unwrap()
}

#[test]
fn verifies_with_vouch_attest() {
    let (keys, _root) = dev();
    let root = trusted_root(&keys.chain_der);
    let when = now();
    for cert_req in [true, false] {
        let resp = tsa::timestamp(
            &keys,
            &sha256_request(Some(&[0x12, 0x34]), cert_req),
            when,
            tsa::random_serial().unwrap(),
        )
        .unwrap();
        let v = vouch_attest::timestamp::verify(&resp, SIGNATURE, &root).unwrap();
        assert_eq!(v.time, when.as_second());
        assert!(v.authority.contains("vouch dev TSA"), "{}", v.authority);
        // Another signature: validly signed, but not about it.
        assert_eq!(
            vouch_attest::timestamp::verify(&resp, b"another signature", &root),
            Err(vouch_attest::timestamp::Rejected::OtherMessage)
        );
    }
    // SHA-384 and SHA-512 imprints too.
    for (alg, hashed) in [
        (SHA384, sha2::Sha384::digest(SIGNATURE).to_vec()),
        (SHA512, sha2::Sha512::digest(SIGNATURE).to_vec()),
    ] {
        let resp = tsa::timestamp(&keys, &request(alg, hashed, None, None, true), when, 7).unwrap();
        vouch_attest::timestamp::verify(&resp, SIGNATURE, &root).unwrap();
    }
    // A changed byte anywhere in the token is noticed.
    let mut resp = tsa::timestamp(&keys, &sha256_request(None, true), when, 9).unwrap();
    let n = resp.len();
    resp[n - 3] ^= 1;
    assert!(matches!(
        vouch_attest::timestamp::verify(&resp, SIGNATURE, &root),
        Err(vouch_attest::timestamp::Rejected::Invalid(_))
    ));
    // Another TSA's root does not vouch for it.
    let (other, _) = dev();
    let resp = tsa::timestamp(&keys, &sha256_request(None, false), when, 9).unwrap();
    assert!(
        vouch_attest::timestamp::verify(&resp, SIGNATURE, &trusted_root(&other.chain_der)).is_err()
    );
}

#[test]
fn nonce_imprint_and_fields_are_echoed() {
    let (keys, _) = dev();
    let nonce = [0x00, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04];
    let hashed = sha2::Sha256::digest(SIGNATURE).to_vec();
    let req = parse(&sha256_request(Some(&nonce), true));
    assert_eq!(req.nonce(), Some(&nonce[..]));
    assert_eq!(req.hashed_message(), &hashed[..]);
    assert!(req.cert_req());
    let when = jiff::Timestamp::from_second(1_900_000_000).unwrap();
    let serial = u128::MAX >> 1;
    let resp = tsa::respond(&keys, &req, when, serial).unwrap();
    let (r, token) = decode(&resp);
    assert_eq!(r.status.status, PkiStatus::Accepted);
    let (sd, tst) = token.unwrap();
    assert_eq!(tst.nonce.unwrap().as_bytes(), &nonce[..]);
    assert_eq!(tst.message_imprint.hashed_message.as_bytes(), &hashed[..]);
    assert_eq!(tst.message_imprint.hash_algorithm.oid, SHA256);
    assert_eq!(tst.policy, tsa::DEFAULT_POLICY);
    assert_eq!(tst.gen_time.to_unix_duration().as_secs(), 1_900_000_000);
    assert!(!tst.ordering);
    assert_eq!(
        tst.serial_number.as_bytes(),
        &serial.to_be_bytes()[..],
        "a 127-bit serial, positive"
    );
    assert_eq!(sd.signer_infos.0.len(), 1);
    let attrs = sd
        .signer_infos
        .0
        .get(0)
        .unwrap()
        .signed_attrs
        .clone()
        .unwrap();
    let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
    for want in [
        "1.2.840.113549.1.9.3",
        "1.2.840.113549.1.9.4",
        "1.2.840.113549.1.9.5",
        "1.2.840.113549.1.9.16.2.47",
    ] {
        assert!(oids.iter().any(|o| o == want), "{want} in {oids:?}");
    }
    // A serial with the top bit clear still encodes as a positive INTEGER.
    let resp = tsa::respond(&keys, &req, when, 1).unwrap();
    assert_eq!(decode(&resp).1.unwrap().1.serial_number.as_bytes(), [1]);
}

fn parse(der: &[u8]) -> tsa::TimeStampRequest {
    tsa::parse_request(der).unwrap()
}

#[test]
fn another_policy_is_rejected() {
    let (keys, _) = dev();
    let hashed = sha2::Sha256::digest(SIGNATURE).to_vec();
    let other = ObjectIdentifier::new_unwrap("1.2.3.4.5");
    let req = request(SHA256, hashed.clone(), None, Some(other), true);
    assert!(matches!(
        tsa::respond(&keys, &parse(&req), now(), 1),
        Err(TsaError::UnacceptedPolicy(_))
    ));
    let resp = tsa::timestamp(&keys, &req, now(), 1).unwrap();
    assert_eq!(fail_info(&resp), FailureInfo::UnacceptedPolicy);
    // Our own policy, named, is fine.
    let req = request(SHA256, hashed, None, Some(tsa::DEFAULT_POLICY), true);
    let resp = tsa::timestamp(&keys, &req, now(), 1).unwrap();
    let (r, _) = decode(&resp);
    assert_eq!(r.status.status, PkiStatus::Accepted);
}

#[test]
fn cert_req_false_embeds_no_certificates() {
    let (keys, _) = dev();
    let resp = tsa::timestamp(&keys, &sha256_request(None, false), now(), 1).unwrap();
    assert!(decode(&resp).1.unwrap().0.certificates.is_none());
    let resp = tsa::timestamp(&keys, &sha256_request(None, true), now(), 1).unwrap();
    assert_eq!(
        decode(&resp).1.unwrap().0.certificates.unwrap().0.len(),
        keys.chain_der.len()
    );
}

/// The raw elements of the `certificates [0] IMPLICIT SET OF`, in the order they appear.
fn embedded_in_order(resp: &[u8]) -> Vec<Vec<u8>> {
    let (_, token) = decode(resp);
    let set = token.unwrap().0.certificates.unwrap();
    set.0.iter().map(|c| c.to_der().unwrap()).collect()
}

#[test]
fn certificate_set_is_der_sorted() {
    // The chain is leaf first, but a dev TSA certificate is longer than its root, so its
    // encoding sorts after the root's: the set must not keep the chain's order.
    let mut orders = std::collections::HashSet::new();
    for _ in 0..8 {
        let (keys, _) = dev();
        let resp = tsa::timestamp(&keys, &sha256_request(None, true), now(), 1).unwrap();
        let certs = embedded_in_order(&resp);
        assert!(certs.windows(2).all(|w| w[0] < w[1]), "ascending encodings");
        let mut want = keys.chain_der.clone();
        want.sort();
        assert_eq!(certs, want);
        orders.insert(certs[0] == keys.chain_der[0]);
        // The embedded bytes really appear in that order in the response.
        let positions: Vec<usize> = certs
            .iter()
            .map(|c| {
                resp.windows(c.len())
                    .position(|w| w == c.as_slice())
                    .unwrap()
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
    }
    assert!(
        orders.contains(&false),
        "the set was reordered at least once"
    );
}

#[test]
fn refused_requests_get_a_rejection() {
    let (keys, _) = dev();
    let t = now();
    let cases: Vec<(Vec<u8>, FailureInfo)> = vec![
        (
            request(SHA1, vec![0; 20], None, None, true),
            FailureInfo::BadAlg,
        ),
        (
            request(SHA256, vec![0; 20], None, None, true),
            FailureInfo::BadDataFormat,
        ),
        (b"not a request".to_vec(), FailureInfo::BadDataFormat),
        (Vec::new(), FailureInfo::BadDataFormat),
        (
            {
                // A trailing byte.
                let mut r = sha256_request(None, true);
                r.push(0);
                r
            },
            FailureInfo::BadDataFormat,
        ),
        (
            {
                // An explicit `certReq FALSE` (DER omits a DEFAULT value).
                let mut r = sha256_request(None, false);
                r.extend_from_slice(&[0x01, 0x01, 0x00]);
                r[1] += 3;
                r
            },
            FailureInfo::BadDataFormat,
        ),
        (
            {
                // A long-form length where the short form fits (BER, not DER).
                let r = sha256_request(None, true);
                let mut ber = vec![0x30, 0x81, r[1]];
                ber.extend_from_slice(&r[2..]);
                ber
            },
            FailureInfo::BadDataFormat,
        ),
        (
            {
                let mut req = TimeStampReq::from_der(&sha256_request(None, true)).unwrap();
                req.extensions = Some(vec![x509_cert::ext::Extension {
                    extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
                    critical: false,
                    extn_value: OctetString::new(vec![5, 0]).unwrap(),
                }]);
                req.to_der().unwrap()
            },
            FailureInfo::UnacceptedExtension,
        ),
    ];
    for (i, (req, want)) in cases.iter().enumerate() {
        assert!(tsa::parse_request(req).is_err(), "case {i}");
        let resp = tsa::timestamp(&keys, req, t, 1).unwrap();
        assert_eq!(fail_info(&resp), *want, "case {i}");
    }
    // A TSA certificate that has expired (or is not yet valid) does not sign.
    for when in [
        t + jiff::SignedDuration::from_hours(24 * 6 * 365),
        t - jiff::SignedDuration::from_hours(2),
    ] {
        assert!(matches!(
            tsa::timestamp(&keys, &sha256_request(None, true), when, 1),
            Err(TsaError::Keys(_))
        ));
    }
    // Our own failure is an error, not a rejection blamed on the client.
    let broken = TsaKeys {
        chain_der: vec![keys.chain_der[1].clone(), keys.chain_der[1].clone()],
        ..keys.clone()
    };
    assert!(matches!(
        tsa::timestamp(&broken, &sha256_request(None, true), t, 1),
        Err(TsaError::Keys(_))
    ));
}

#[test]
fn tsa_keys_are_checked() {
    let (keys, _) = dev();
    let (other, _) = dev();
    // Too short a chain.
    assert!(
        TsaKeys::new(
            keys.signer.clone(),
            vec![keys.chain_der[0].clone()],
            tsa::DEFAULT_POLICY
        )
        .is_err()
    );
    // The root as the TSA certificate: not for time stamping, not the key.
    assert!(
        TsaKeys::new(
            keys.signer.clone(),
            vec![keys.chain_der[1].clone(), keys.chain_der[1].clone()],
            tsa::DEFAULT_POLICY
        )
        .is_err()
    );
    // The right certificate under another root, and a chain in the wrong order.
    assert!(matches!(
        TsaKeys::new(
            keys.signer.clone(),
            vec![keys.chain_der[0].clone(), other.chain_der[1].clone()],
            tsa::DEFAULT_POLICY
        ),
        Err(TsaError::Keys(m)) if m.contains("issuer")
    ));
    // Another TSA's certificate.
    assert!(
        TsaKeys::new(
            keys.signer.clone(),
            other.chain_der.clone(),
            tsa::DEFAULT_POLICY
        )
        .is_err()
    );
    assert!(
        TsaKeys::new(
            keys.signer.clone(),
            keys.chain_der.clone(),
            tsa::DEFAULT_POLICY
        )
        .is_ok()
    );
    let pem = keys.chain_pem();
    assert_eq!(pem.len(), 2);
    assert!(pem[0].starts_with("-----BEGIN CERTIFICATE-----\n"));
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed to run this test");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn openssl_requests_parse_and_responses_verify() {
    let (keys, root) = dev();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("data"), SIGNATURE).unwrap();
    std::fs::write(d.join("root.pem"), vouch_ca::fulcio::cert_pem(&root)).unwrap();
    std::fs::write(
        d.join("tsa.pem"),
        vouch_ca::fulcio::cert_pem(&keys.chain_der[0]),
    )
    .unwrap();
    for (name, extra) in [
        ("cert", &["-cert"][..]),
        ("nocert", &[][..]),
        ("nononce", &["-cert", "-no_nonce"][..]),
        ("sha512", &["-cert", "-sha512"][..]),
    ] {
        let tsq = format!("{name}.tsq");
        let tsr = format!("{name}.tsr");
        let mut args = vec!["ts", "-query", "-data", "data", "-out", &tsq];
        if name != "sha512" {
            args.push("-sha256");
        }
        args.extend_from_slice(extra);
        let (ok, out) = openssl(d, &args);
        assert!(ok, "openssl ts -query: {out}");
        let der = std::fs::read(d.join(&tsq)).unwrap();
        let req = tsa::parse_request(&der).unwrap();
        assert_eq!(req.cert_req(), extra.contains(&"-cert"), "{name}");
        assert_eq!(
            req.nonce().is_some(),
            !extra.contains(&"-no_nonce"),
            "{name}"
        );
        let resp = tsa::respond(&keys, &req, now(), tsa::random_serial().unwrap()).unwrap();
        std::fs::write(d.join(&tsr), &resp).unwrap();
        let (ok, out) = openssl(
            d,
            &[
                "ts",
                "-verify",
                "-in",
                &tsr,
                "-queryfile",
                &tsq,
                "-CAfile",
                "root.pem",
                "-untrusted",
                "tsa.pem",
            ],
        );
        assert!(ok && out.contains("Verification: OK"), "{name}: {out}");
        // The text form names what we put in.
        let (ok, text) = openssl(d, &["ts", "-reply", "-in", &tsr, "-text"]);
        assert!(ok, "{text}");
        assert!(text.contains("Status: Granted"), "{text}");
        assert!(text.contains("Policy OID: 1.3.6.1.4.1.57264.2"), "{text}");
        assert!(text.contains("Ordering: no"), "{text}");
    }
    // openssl's verifier notices a response to another query.
    let (ok, out) = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "cert.tsr",
            "-queryfile",
            "nocert.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    assert!(!ok, "{out}");
    // A query for another policy gets a rejection openssl can read.
    let (ok, out) = openssl(
        d,
        &[
            "ts",
            "-query",
            "-data",
            "data",
            "-sha256",
            "-tspolicy",
            "1.2.3.4",
            "-out",
            "policy.tsq",
        ],
    );
    assert!(ok, "{out}");
    let resp = tsa::timestamp(
        &keys,
        &std::fs::read(d.join("policy.tsq")).unwrap(),
        now(),
        1,
    )
    .unwrap();
    assert_eq!(fail_info(&resp), FailureInfo::UnacceptedPolicy);
    std::fs::write(d.join("policy.tsr"), &resp).unwrap();
    let (ok, text) = openssl(d, &["ts", "-reply", "-in", "policy.tsr", "-text"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("Status: Rejected") && text.contains("policy is not supported by the TSA"),
        "{text}"
    );
}

/// sigstore-python's parser and verifier, when the interop venv exists: decodes `resp`,
/// checks status and nonce, and verifies it against `root` (through `intermediates`) for
/// `tsa_cert` over `hashed`. Panics if it refuses, unless `expect_refusal`.
fn rfc3161_client_verify(
    resp: &[u8],
    chain: &[Vec<u8>],
    nonce: &[u8],
    hashed: &[u8],
    expect_refusal: bool,
) {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let python = Path::new(&home).join(".cache/vouch-interop/venv/bin/python");
    if !python.exists() {
        eprintln!("no interop venv: rfc3161-client not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("resp.tsr"), resp).unwrap();
    for (i, c) in chain.iter().enumerate() {
        std::fs::write(d.join(format!("{i}.der")), c).unwrap();
    }
    let script = r#"
import sys
import rfc3161_client as r
from cryptography import x509
n, nonce, hashed = int(sys.argv[1]), int.from_bytes(bytes.fromhex(sys.argv[2]), "big", signed=True), bytes.fromhex(sys.argv[3])
resp = r.decode_timestamp_response(open("resp.tsr", "rb").read())
assert resp.status == r.PKIStatus.GRANTED, resp.status
assert resp.tst_info.nonce == nonce, resp.tst_info.nonce
certs = [x509.load_der_x509_certificate(open(f"{i}.der", "rb").read()) for i in range(n)]
v = r.VerifierBuilder(tsa_certificate=certs[0], intermediates=certs[1:-1], roots=[certs[-1]], nonce=nonce).build()
v.verify(resp, hashed)
print("ok")
"#;
    let out = Command::new(&python)
        .args([
            "-c",
            script,
            &chain.len().to_string(),
            &hex::encode(nonce),
            &hex::encode(hashed),
        ])
        .current_dir(d)
        .output()
        .unwrap();
    if expect_refusal {
        assert!(
            !out.status.success(),
            "rfc3161-client accepted a wrong imprint"
        );
        return;
    }
    assert!(
        out.status.success(),
        "rfc3161-client refused the response: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rfc3161_client_accepts_the_response() {
    let (keys, _root) = dev();
    let nonce = 0x1234_5678_9abc_def0u64.to_be_bytes();
    let req = sha256_request(Some(&nonce), true);
    let resp = tsa::timestamp(&keys, &req, now(), tsa::random_serial().unwrap()).unwrap();
    rfc3161_client_verify(
        &resp,
        &keys.chain_der,
        &nonce,
        &sha2::Sha256::digest(SIGNATURE),
        false,
    );
    // The check has teeth: another imprint is refused.
    rfc3161_client_verify(&resp, &keys.chain_der, &nonce, &[0; 32], true);
}

proptest::proptest! {
    #[test]
    fn parse_request_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = tsa::parse_request(&b);
    }

    #[test]
    fn mutated_requests_never_panic(i in 0usize..80, x in proptest::prelude::any::<u8>()) {
        let mut r = sha256_request(Some(&[1, 2, 3]), true);
        let n = r.len();
        r[i % n] ^= x;
        let _ = tsa::parse_request(&r);
    }
}

/// A TSA whose key and chain an operator made with openssl: ECDSA P-384, TSA certificate ←
/// intermediate ← root. The token is signed with SHA-384 and verifies with all three.
#[test]
fn p384_key_and_three_certificate_chain_made_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let (ok, out) = openssl(d, args);
        assert!(ok, "openssl {args:?}: {out}");
    };
    std::fs::write(
        d.join("ca.ext"),
        "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    std::fs::write(
        d.join("tsa.ext"),
        "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    for name in ["root", "int", "tsa"] {
        let key = format!("{name}.key");
        run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            &key,
        ]);
    }
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/O=example/CN=ext root",
        "-days",
        "30",
        "-sha384",
        "-out",
        "root.pem",
        "-addext",
        "basicConstraints=critical,CA:true",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    for (name, issuer, ext, cn) in [
        ("int", "root", "ca.ext", "/O=example/CN=ext intermediate"),
        ("tsa", "int", "tsa.ext", "/O=example/CN=ext TSA"),
    ] {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let (ca, ca_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        run(&["req", "-new", "-key", &key, "-subj", cn, "-out", &csr]);
        run(&[
            "x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-days", "20", "-sha384",
            "-extfile", ext, "-out", &pem,
        ]);
    }
    let der = |name: &str| {
        let text = std::fs::read_to_string(d.join(format!("{name}.pem"))).unwrap();
        let (_, der) = vouch_crypto::keys::decode_pem(&text).unwrap();
        der
    };
    let chain = vec![der("tsa"), der("int"), der("root")];
    let key = vouch_crypto::keys::PrivateKey::from_pem(
        &std::fs::read_to_string(d.join("tsa.key")).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(key.algorithm(), vouch_crypto::keys::KeyAlgorithm::EcdsaP384);
    let keys = TsaKeys::new(std::sync::Arc::new(key), chain.clone(), tsa::DEFAULT_POLICY).unwrap();

    run(&[
        "ts", "-query", "-data", "tsa.csr", "-sha384", "-cert", "-out", "q.tsq",
    ]);
    let req = tsa::parse_request(&std::fs::read(d.join("q.tsq")).unwrap()).unwrap();
    let resp = tsa::respond(&keys, &req, now(), tsa::random_serial().unwrap()).unwrap();
    std::fs::write(d.join("r.tsr"), &resp).unwrap();
    let (sd, _) = decode(&resp).1.unwrap();
    let si = sd.signer_infos.0.get(0).unwrap();
    assert_eq!(si.digest_alg.oid, SHA384);
    assert_eq!(
        si.signature_algorithm.oid.to_string(),
        "1.2.840.10045.4.3.3"
    );
    let certs = embedded_in_order(&resp);
    assert!(certs.windows(2).all(|w| w[0] < w[1]), "ascending encodings");
    assert_eq!(certs.len(), 3);

    let mut untrusted = std::fs::read_to_string(d.join("tsa.pem")).unwrap();
    untrusted.push_str(&std::fs::read_to_string(d.join("int.pem")).unwrap());
    std::fs::write(d.join("untrusted.pem"), untrusted).unwrap();
    let (ok, out) = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "untrusted.pem",
        ],
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");

    // vouch's verifier, over the data openssl hashed.
    let data = std::fs::read(d.join("tsa.csr")).unwrap();
    vouch_attest::timestamp::verify(&resp, &data, &trusted_root(&chain)).unwrap();
    rfc3161_client_verify(
        &resp,
        &chain,
        req.nonce().unwrap(),
        &sha2::Sha384::digest(&data),
        false,
    );
}
