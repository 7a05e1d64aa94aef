//! Issuing end to end with a dev chain and a CT log: the certificates must pass vouch_attest's
//! keyless checks (chain to the trusted root, code signing, exactly one SCT signed by a
//! trusted CT key over the rebuilt precertificate, SAN and OIDC issuer), carry every
//! extension of Fulcio's profile, and be accepted by OpenSSL.

use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};
use vouch_attest::TrustedRoot;
use vouch_attest::x509::Cert;
use vouch_ca::chain::{CaKeys, generate_dev_chain};
use vouch_ca::ct::{CtLog, Sct, merkle_leaf};
use vouch_ca::fulcio::{
    CaError, IssuedCert, MAX_VALIDITY, OID_CT_POISON, OID_ISSUER_V1, OID_ISSUER_V2, OID_SAN,
    OID_SCT_LIST, PrecertEntry, issue, parse_csr, verify_proof_of_possession,
};
use vouch_ca::identity::{Identity, IssuerType, San, from_claims, fulcio_oid};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
use x509_cert::Certificate;
use x509_cert::der::asn1::{BitString, ObjectIdentifier, OctetString, Utf8StringRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::request::{CertReq, CertReqInfo};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn t(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(s).unwrap()
}

/// Now, to the second (OpenSSL checks certificates against its own clock by default; the
/// tests pass `-attime` anyway).
fn now() -> jiff::Timestamp {
    t(jiff::Timestamp::now().as_second())
}

struct Setup {
    ca: CaKeys,
    ct: CtLog,
    ct_public_spki: Vec<u8>,
    root: TrustedRoot,
}

fn setup(start: jiff::Timestamp) -> Setup {
    let dev = generate_dev_chain(
        start - jiff::SignedDuration::from_hours(1),
        jiff::SignedDuration::from_hours(24 * 365),
    )
    .unwrap();
    let ca = dev.into_ca_keys().unwrap();
    let ct_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let ct_public_spki = ct_key.public_key().spki_der().to_vec();
    let ct = CtLog::new(Box::new(ct_key)).unwrap();
    let chain: Vec<Value> = ca
        .chain_der()
        .iter()
        .map(|d| json!({"rawBytes": B64.encode(d)}))
        .collect();
    let valid = json!({"start": "2020-01-01T00:00:00Z"});
    let root_json = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [],
        "certificateAuthorities": [{
            "subject": {"organization": "vouch", "commonName": "vouch dev"},
            "uri": "https://ca.invalid",
            "certChain": {"certificates": chain},
            "validFor": valid,
        }],
        "ctlogs": [{
            "baseUrl": "https://ct.invalid",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": B64.encode(&ct_public_spki),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": valid,
            },
            "logId": {"keyId": B64.encode(ct.log_id())},
        }],
        "timestampAuthorities": [],
    });
    let root = TrustedRoot::from_json(root_json.to_string().as_bytes()).unwrap();
    Setup {
        ca,
        ct,
        ct_public_spki,
        root,
    }
}

/// A PKCS#10 CSR for `key`, built and self-signed here.
fn csr_der(key: &PrivateKey) -> Vec<u8> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Default::default(),
        public_key: x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(
            key.public_key().spki_der(),
        )
        .unwrap(),
        attributes: Default::default(),
    };
    let sig = key.sign(&info.to_der().unwrap()).unwrap();
    let alg = match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => "1.2.840.10045.4.3.2",
        KeyAlgorithm::EcdsaP384 => "1.2.840.10045.4.3.3",
        _ => "1.3.101.112",
    };
    CertReq {
        info,
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(alg),
            parameters: None,
        },
        signature: BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

struct Logged {
    entry: Option<PrecertEntry>,
    leaf: Vec<u8>,
}

/// Issues through the CT log, keeping the precert entry and the Merkle leaf.
fn issue_with(s: &Setup, spki: &[u8], id: &Identity, at: jiff::Timestamp) -> (IssuedCert, Logged) {
    let mut logged = Logged {
        entry: None,
        leaf: Vec::new(),
    };
    let ts = u64::try_from(at.as_millisecond()).unwrap() + 1500;
    let issued = issue(&s.ca, spki, id, at, MAX_VALIDITY, |e| {
        logged.entry = Some(e.clone());
        logged.leaf = merkle_leaf(&e.issuer_key_hash, &e.tbs_der, ts)?;
        s.ct.sign_precert(&e.issuer_key_hash, &e.tbs_der, ts)
    })
    .unwrap();
    (issued, logged)
}

/// The keyless checks vouch_attest makes (`keyless::check_certificate`, which is internal
/// to that crate), rebuilt from its public x509 and trusted-root pieces in the same order:
/// validity, chain to a trusted CA, code signing, exactly one SCT from a trusted CT log,
/// SAN and issuer.
fn attest_checks(root: &TrustedRoot, leaf_der: &[u8], at: i64) -> (Vec<String>, Option<String>) {
    let leaf = Cert::from_der(leaf_der).unwrap();
    assert!(leaf.valid_at(at), "leaf not valid at {at}");
    leaf.check_code_signing().unwrap();
    let ca = &root.certificate_authorities[0];
    let certs: Vec<Cert> = ca
        .cert_chain
        .certificates
        .iter()
        .map(|c| Cert::from_der(&c.raw_bytes.0).unwrap())
        .collect();
    // Walk up: leaf → intermediate → root (self-signed).
    let mut child = leaf.clone();
    let mut issuer_of_leaf = None;
    loop {
        let parent = certs
            .iter()
            .find(|c| child.issued_by(c).is_ok())
            .expect("a parent in the trusted chain")
            .clone();
        assert!(parent.valid_at(at));
        assert!(parent.is_ca(), "{} is not a CA", parent.subject());
        if issuer_of_leaf.is_none() {
            issuer_of_leaf = Some(parent.clone());
        }
        if parent.issued_by(&parent).is_ok() {
            break;
        }
        child = parent;
    }
    let issuer = issuer_of_leaf.unwrap();
    let scts = leaf.embedded_scts().unwrap();
    let [sct] = scts.as_slice() else {
        panic!("{} SCTs", scts.len())
    };
    assert_eq!(sct.hash_alg, 4);
    let log = root.ctlog(&sct.log_id).expect("SCT from a trusted CT log");
    let ikh: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(issuer.spki_der().unwrap()).into()
    };
    let data = sct.signed_data(&ikh, &leaf.precert_tbs().unwrap());
    vouch_attest::x509::verify_spki_der(&log.public_key.raw_bytes.0, &data, &sct.signature)
        .unwrap();
    (leaf.identities(), leaf.oidc_issuer())
}

fn extension<'a>(cert: &'a Certificate, oid: &str) -> &'a x509_cert::ext::Extension {
    let oid = ObjectIdentifier::new_unwrap(oid);
    let exts = cert.tbs_certificate.extensions.as_ref().unwrap();
    let found: Vec<_> = exts.iter().filter(|e| e.extn_id == oid).collect();
    assert_eq!(found.len(), 1, "extension {oid}");
    found[0]
}

/// Asserts Fulcio's profile on a leaf: returns the parsed certificate.
fn assert_profile(issued: &IssuedCert, ca: &CaKeys, spki: &[u8], id: &Identity) -> Certificate {
    let cert = Certificate::from_der(&issued.leaf_der).unwrap();
    let tbs = &cert.tbs_certificate;
    assert_eq!(tbs.version, x509_cert::Version::V3);
    let serial = tbs.serial_number.as_bytes();
    assert_eq!(serial.len(), 20);
    assert_eq!(serial[0] & 0x80, 0);
    assert!(tbs.subject.0.is_empty(), "subject must be empty");
    assert_eq!(&tbs.issuer, ca.issuer().subject());
    assert_eq!(tbs.subject_public_key_info.to_der().unwrap(), spki);
    let nb = tbs.validity.not_before.to_unix_duration().as_secs();
    let na = tbs.validity.not_after.to_unix_duration().as_secs();
    assert_eq!(na - nb, 600);
    assert_eq!(
        cert.signature_algorithm.oid,
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2")
    );

    let ku = extension(&cert, "2.5.29.15");
    assert!(ku.critical);
    let ku = KeyUsage::from_der(ku.extn_value.as_bytes()).unwrap();
    assert!(ku.digital_signature());
    assert_eq!(
        ku.0.bits(),
        x509_cert::der::flagset::FlagSet::from(KeyUsages::DigitalSignature).bits()
    );

    let eku = extension(&cert, "2.5.29.37");
    assert!(!eku.critical);
    let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
    assert_eq!(
        eku.0,
        vec![ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")]
    );

    let ski = extension(&cert, "2.5.29.14");
    let ski = SubjectKeyIdentifier::from_der(ski.extn_value.as_bytes()).unwrap();
    assert_eq!(ski.0.as_bytes().len(), 20);
    let aki = extension(&cert, "2.5.29.35");
    let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).unwrap();
    assert_eq!(
        aki.key_identifier.unwrap().as_bytes(),
        ca.issuer().key_id().as_slice()
    );

    let san = extension(&cert, &OID_SAN.to_string());
    assert!(san.critical, "SAN must be critical");
    let san = SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
    assert_eq!(san.0.len(), 1);
    match (&san.0[0], &id.san) {
        (GeneralName::Rfc822Name(a), San::Email(b)) => assert_eq!(a.as_str(), b),
        (GeneralName::UniformResourceIdentifier(a), San::Uri(b)) => assert_eq!(a.as_str(), b),
        other => panic!("SAN {other:?}"),
    }

    let v1 = extension(&cert, &OID_ISSUER_V1.to_string());
    assert_eq!(v1.extn_value.as_bytes(), id.issuer.as_bytes());
    let v2 = extension(&cert, &OID_ISSUER_V2.to_string());
    assert_eq!(
        Utf8StringRef::from_der(v2.extn_value.as_bytes())
            .unwrap()
            .as_str(),
        id.issuer
    );
    for (oid, value) in &id.extensions {
        assert_eq!(
            extension(&cert, &oid.to_string()).extn_value.as_bytes(),
            value
        );
    }

    // No BasicConstraints (as Fulcio), no poison, one SCT list holding one SCT, last.
    let exts = tbs.extensions.as_ref().unwrap();
    assert!(!exts.iter().any(|e| e.extn_id.to_string() == "2.5.29.19"));
    assert!(!exts.iter().any(|e| e.extn_id == OID_CT_POISON));
    let last = exts.last().unwrap();
    assert_eq!(last.extn_id, OID_SCT_LIST);
    assert!(!last.critical);
    let list = OctetString::from_der(last.extn_value.as_bytes()).unwrap();
    assert!(list.as_bytes().len() > 40);
    cert
}

fn email_identity() -> Identity {
    let iss = "https://accounts.example.com";
    let claims =
        json!({"iss": iss, "sub": "u1", "email": "dev@example.com", "email_verified": true});
    from_claims(IssuerType::Email, iss, None, claims.as_object().unwrap()).unwrap()
}

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:octo/app:ref:refs/heads/main",
        "aud": "sigstore",
        "repository": "octo/app",
        "repository_id": "123",
        "repository_owner": "octo",
        "repository_owner_id": 456,
        "repository_visibility": "public",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "ref": "refs/heads/main",
        "event_name": "push",
        "workflow": "release",
        "workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "0123456789abcdef0123456789abcdef01234567",
        "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "0123456789abcdef0123456789abcdef01234567",
        "runner_environment": "github-hosted",
        "run_id": "789",
        "run_attempt": "2",
    })
}

#[test]
fn email_certificate_verifies_with_vouch_attest() {
    let at = t(1_800_000_000);
    let s = setup(at);
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let spki = parse_csr(&csr_der(&key)).unwrap();
    assert_eq!(spki, key.public_key().spki_der());
    let id = email_identity();
    let (issued, logged) = issue_with(&s, &spki, &id, at);
    assert_eq!(issued.chain_der, s.ca.chain_der());
    assert_profile(&issued, &s.ca, &spki, &id);

    let (sans, issuer) = attest_checks(&s.root, &issued.leaf_der, at.as_second() + 60);
    assert_eq!(sans, vec!["dev@example.com".to_string()]);
    // vouch_attest prefers the v2 issuer; sigstore-python reads v1: both are the issuer.
    assert_eq!(issuer.as_deref(), Some("https://accounts.example.com"));

    // The precertificate: the same TBS plus the critical poison, signed by the intermediate.
    let entry = logged.entry.unwrap();
    let pre = Cert::from_der(&entry.precert_der).unwrap();
    let inter = Cert::from_der(&s.ca.chain_der()[0]).unwrap();
    pre.issued_by(&inter).unwrap();
    let poison = extension(&pre.cert, &OID_CT_POISON.to_string());
    assert!(poison.critical);
    assert_eq!(poison.extn_value.as_bytes(), &[0x05, 0x00]);
    let leaf = Cert::from_der(&issued.leaf_der).unwrap();
    assert_eq!(leaf.precert_tbs().unwrap(), entry.tbs_der);
    let mut pre_tbs = pre.cert.tbs_certificate.clone();
    pre_tbs
        .extensions
        .as_mut()
        .unwrap()
        .retain(|e| e.extn_id != OID_CT_POISON);
    assert_eq!(pre_tbs.to_der().unwrap(), entry.tbs_der);
    assert_eq!(
        entry.issuer_key_hash,
        <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(
            inter.spki_der().unwrap()
        ))
    );
    // The Merkle leaf carries the SCT's timestamp and the same TBS.
    let sct = &leaf.embedded_scts().unwrap()[0];
    assert_eq!(&logged.leaf[..2], &[0, 0]);
    assert_eq!(&logged.leaf[2..10], &sct.timestamp.to_be_bytes());
    assert!(logged.leaf.ends_with(&[0, 0]));
    assert_eq!(sct.log_id, s.ct.log_id());
    assert_eq!(s.ct_public_spki, s.ct.public_key_spki_der());
}

#[test]
fn github_actions_certificate_carries_the_workflow_claims() {
    let at = t(1_800_000_000);
    let s = setup(at);
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let spki = key.public_key().spki_der().to_vec();
    let claims = github_claims();
    let iss = "https://token.actions.githubusercontent.com";
    let id = from_claims(
        IssuerType::GithubWorkflow,
        iss,
        None,
        claims.as_object().unwrap(),
    )
    .unwrap();
    let san = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main";
    assert_eq!(id.san, San::Uri(san.into()));
    let (issued, _) = issue_with(&s, &spki, &id, at);
    let cert = assert_profile(&issued, &s.ca, &spki, &id);
    let (sans, issuer) = attest_checks(&s.root, &issued.leaf_der, at.as_second() + 1);
    assert_eq!(sans, vec![san.to_string()]);
    assert_eq!(issuer.as_deref(), Some(iss));

    let raw = |n: u32| {
        extension(&cert, &fulcio_oid(n).unwrap().to_string())
            .extn_value
            .as_bytes()
            .to_vec()
    };
    let utf8 = |n: u32| {
        let v = raw(n);
        Utf8StringRef::from_der(&v).unwrap().as_str().to_string()
    };
    assert_eq!(raw(2), b"push");
    assert_eq!(raw(3), b"0123456789abcdef0123456789abcdef01234567");
    assert_eq!(raw(4), b"release");
    assert_eq!(raw(5), b"octo/app");
    assert_eq!(raw(6), b"refs/heads/main");
    assert_eq!(utf8(9), san);
    assert_eq!(utf8(10), "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(utf8(11), "github-hosted");
    assert_eq!(utf8(12), "https://github.com/octo/app");
    assert_eq!(utf8(13), "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(utf8(14), "refs/heads/main");
    assert_eq!(utf8(15), "123");
    assert_eq!(utf8(16), "https://github.com/octo");
    assert_eq!(utf8(17), "456");
    assert_eq!(
        utf8(18),
        "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(utf8(19), "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(utf8(20), "push");
    assert_eq!(
        utf8(21),
        "https://github.com/octo/app/actions/runs/789/attempts/2"
    );
    assert_eq!(utf8(22), "public");
    let exts = cert.tbs_certificate.extensions.as_ref().unwrap();
    assert!(
        !exts.iter().any(|e| e.extn_id == fulcio_oid(23).unwrap()),
        "no environment claim, no .1.23"
    );

    // A missing required claim is named.
    let mut c = claims.as_object().unwrap().clone();
    c.remove("run_attempt");
    let e = from_claims(IssuerType::GithubWorkflow, iss, None, &c).unwrap_err();
    assert!(e.to_string().contains("run_attempt"), "{e}");
}

#[test]
fn a_tampered_sct_or_foreign_ct_key_fails_the_checks() {
    let at = t(1_800_000_000);
    let s = setup(at);
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let spki = key.public_key().spki_der().to_vec();
    let id = email_identity();
    // The SCT signs another TBS than the certificate's.
    let issued = issue(&s.ca, &spki, &id, at, MAX_VALIDITY, |e| {
        let mut tbs = e.tbs_der.clone();
        let last = tbs.len() - 1;
        tbs[last] ^= 1;
        s.ct.sign_precert(&e.issuer_key_hash, &tbs, 1)
    })
    .unwrap();
    let leaf = Cert::from_der(&issued.leaf_der).unwrap();
    let sct = &leaf.embedded_scts().unwrap()[0];
    let inter = Cert::from_der(&s.ca.chain_der()[0]).unwrap();
    let ikh: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(inter.spki_der().unwrap()).into();
    let data = sct.signed_data(&ikh, &leaf.precert_tbs().unwrap());
    assert!(vouch_attest::x509::verify_spki_der(&s.ct_public_spki, &data, &sct.signature).is_err());

    // A CT error ends the issuing.
    let e = issue(
        &s.ca,
        &spki,
        &id,
        at,
        MAX_VALIDITY,
        |_| -> Result<Sct, CaError> { Err(CaError::Ct("log down".into())) },
    )
    .unwrap_err();
    assert_eq!(e, CaError::Ct("log down".into()));
    // Validity over 10 minutes, or a non-key, is refused before anything is signed.
    let never = |_: &PrecertEntry| -> Result<Sct, CaError> { panic!("must not log") };
    assert!(matches!(
        issue(
            &s.ca,
            &spki,
            &id,
            at,
            jiff::SignedDuration::from_mins(11),
            never
        ),
        Err(CaError::InvalidRequest(_))
    ));
    assert!(matches!(
        issue(&s.ca, b"nope", &id, at, MAX_VALIDITY, never),
        Err(CaError::InvalidRequest(_))
    ));
    // A leaf outliving the CA (setup's chain ends a year after `at`) is refused.
    let late = at + jiff::SignedDuration::from_hours(24 * 365);
    assert!(matches!(
        issue(&s.ca, &spki, &id, late, MAX_VALIDITY, never),
        Err(CaError::Signing(_))
    ));
    let early = at - jiff::SignedDuration::from_hours(2);
    assert!(matches!(
        issue(&s.ca, &spki, &id, early, MAX_VALIDITY, never),
        Err(CaError::Signing(_))
    ));
}

#[test]
fn csrs_in_pem_p384_ed25519_and_tampered() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let key = PrivateKey::generate(alg).unwrap();
        let der = csr_der(&key);
        let pem = x509_cert::der::pem::encode_string(
            "CERTIFICATE REQUEST",
            x509_cert::der::pem::LineEnding::LF,
            &der,
        )
        .unwrap();
        assert_eq!(
            parse_csr(pem.as_bytes()).unwrap(),
            key.public_key().spki_der()
        );
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x55;
        assert!(parse_csr(&bad).is_err(), "{alg:?} tampered CSR accepted");
    }
    // Proof of possession over the challenge claim.
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = key.sign(b"dev@example.com").unwrap();
    verify_proof_of_possession(key.public_key().spki_der(), "dev@example.com", &sig).unwrap();
    assert!(verify_proof_of_possession(key.public_key().spki_der(), "x", &sig).is_err());
}

fn openssl() -> &'static str {
    let ok = Command::new("sh")
        .args(["-c", "command -v openssl"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "openssl must be on the machine for these tests");
    "openssl"
}

fn run_openssl(args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write as _;
    let mut child = Command::new(openssl())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed: {text}");
    text
}

#[test]
fn openssl_reads_and_verifies_the_chain() {
    let dir = tempdir();
    let at = now();
    let s = setup(at);
    // A CSR as sigstore-python makes it: empty subject, critical BasicConstraints CA:false.
    let key_pem = dir.join("leaf.key");
    let csr_pem = dir.join("leaf.csr");
    run_openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key_pem.to_str().unwrap(),
            "-out",
            csr_pem.to_str().unwrap(),
            "-subj",
            "/",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-sha256",
        ],
        None,
    );
    let spki = parse_csr(&std::fs::read(&csr_pem).unwrap()).unwrap();
    let claims = github_claims();
    let id = from_claims(
        IssuerType::GithubWorkflow,
        "https://token.actions.githubusercontent.com",
        None,
        claims.as_object().unwrap(),
    )
    .unwrap();
    let (issued, _) = issue_with(&s, &spki, &id, at);
    let pems = issued.pem_chain();
    assert_eq!(pems.len(), 3);
    let leaf = dir.join("leaf.pem");
    let inter = dir.join("inter.pem");
    let root = dir.join("root.pem");
    std::fs::write(&leaf, &pems[0]).unwrap();
    std::fs::write(&inter, &pems[1]).unwrap();
    std::fs::write(&root, &pems[2]).unwrap();

    let text = run_openssl(
        &["x509", "-noout", "-text", "-in", leaf.to_str().unwrap()],
        None,
    );
    for want in [
        "Subject: \n",
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "X509v3 Extended Key Usage",
        "Code Signing",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Alternative Name: critical",
        "URI:https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
        "1.3.6.1.4.1.57264.1.1",
        "1.3.6.1.4.1.57264.1.8",
        "1.3.6.1.4.1.57264.1.21",
        "CT Precertificate SCTs",
        "Signed Certificate Timestamp",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(want), "`{want}` missing from:\n{text}");
    }
    assert!(!text.contains("Basic Constraints"), "{text}");

    let attime = (at.as_second() + 30).to_string();
    let out = run_openssl(
        &[
            "verify",
            "-attime",
            &attime,
            "-CAfile",
            root.to_str().unwrap(),
            "-untrusted",
            inter.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.contains(": OK"), "{out}");
    let root_text = run_openssl(
        &["x509", "-noout", "-text", "-in", root.to_str().unwrap()],
        None,
    );
    assert!(root_text.contains("CA:TRUE"), "{root_text}");
    assert!(
        root_text.contains("Certificate Sign, CRL Sign"),
        "{root_text}"
    );
    let inter_text = run_openssl(
        &["x509", "-noout", "-text", "-in", inter.to_str().unwrap()],
        None,
    );
    assert!(inter_text.contains("CA:TRUE, pathlen:0"), "{inter_text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openssl_csrs_of_every_key_type_parse() {
    let dir = tempdir();
    for (name, newkey) in [
        (
            "p256",
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-sha256",
            ][..],
        ),
        (
            "p384",
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-sha384",
            ][..],
        ),
        ("rsa", &["-newkey", "rsa:2048", "-sha256"][..]),
        ("ed25519", &["-newkey", "ed25519"][..]),
    ] {
        let key = dir.join(format!("{name}.key"));
        let csr = dir.join(format!("{name}.csr"));
        let mut args = vec!["req", "-new", "-nodes", "-subj", "/"];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&[
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
        ]);
        run_openssl(&args, None);
        let spki =
            parse_csr(&std::fs::read(&csr).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pub_pem = run_openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"], None);
        let want = vouch_crypto::keys::PublicKey::from_pem(&pub_pem).unwrap();
        assert_eq!(spki, want.spki_der(), "{name}");
        // DER works too.
        let der = dir.join(format!("{name}.der"));
        run_openssl(
            &[
                "req",
                "-in",
                csr.to_str().unwrap(),
                "-outform",
                "DER",
                "-out",
                der.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(
            parse_csr(&std::fs::read(&der).unwrap()).unwrap(),
            spki,
            "{name} DER"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    let d = std::env::temp_dir().join(format!("vouch-ca-test-{}", hex::encode(b)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

proptest::proptest! {
    #[test]
    fn parse_csr_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = parse_csr(&b);
    }

    #[test]
    fn parse_csr_never_panics_on_pem(s in "-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]{0,300}\n-----END CERTIFICATE REQUEST-----\n") {
        let _ = parse_csr(s.as_bytes());
    }

    #[test]
    fn mutated_csrs_never_panic(i in 0usize..400, x in 1u8..=255) {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut der = csr_der(&key);
        let n = der.len();
        der[i % n] ^= x;
        let _ = parse_csr(&der);
    }
}
