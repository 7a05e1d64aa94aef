//! Keyless verification against the shared fixtures (a private Fulcio-like CA, CT log and
//! Rekor-like log made by sigstore-python's generator), with the tampered variants the
//! sigstore-python judge rejects. `judge_agrees` runs the judge itself on every case.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use vouch_attest::verify::{Evidence, Identity, Matcher, Outcome, Policy, Verifier};
use vouch_attest::{Bundle, TrustedRoot};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/fixtures/keyless")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn text(name: &str) -> String {
    String::from_utf8(read(name)).unwrap().trim().to_string()
}

fn root(name: &str) -> Arc<TrustedRoot> {
    Arc::new(TrustedRoot::from_json(&read(name)).unwrap())
}

fn identity(subject: &str, issuer: &str) -> Identity {
    Identity {
        subject: Matcher::Exact(subject.into()),
        issuer: Matcher::Exact(issuer.into()),
    }
}

fn verifier(root_file: &str, id: Identity) -> Verifier {
    Verifier::new(Policy::keyless(root(root_file), vec![id]))
}

fn good() -> Verifier {
    verifier(
        "trusted_root.json",
        identity(&text("identity.txt"), &text("issuer.txt")),
    )
}

fn edit(name: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn no_set() -> Vec<u8> {
    edit("bundle.sigstore.json", |v| {
        v["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
    })
}

fn bad_checkpoint() -> Vec<u8> {
    edit("bundle.sigstore.json", |v| {
        let cp = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"];
        *cp = cp.as_str().unwrap().replacen("\n2\n", "\n3\n", 1).into();
    })
}

fn modified_payload() -> Vec<u8> {
    edit("attest.sigstore.json", |v| {
        let b64 = base64::engine::general_purpose::STANDARD;
        let p = b64
            .decode(v["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let mut s: serde_json::Value = serde_json::from_slice(&p).unwrap();
        s["subject"][0]["name"] = "evil.txt".into();
        v["dsseEnvelope"]["payload"] = b64.encode(serde_json::to_vec(&s).unwrap()).into();
    })
}

fn flipped() -> Vec<u8> {
    let mut a = read("artifact.txt");
    a[0] ^= 1;
    a
}

fn blob(v: &Verifier, bundle: &[u8], artifact: &[u8]) -> Outcome {
    let b = Bundle::from_json(bundle).unwrap();
    v.verify_blob(&b, artifact).unwrap()
}

fn attestation(v: &Verifier, bundle: &[u8], artifact: &[u8]) -> Outcome {
    let e = Evidence::from_json(bundle).unwrap();
    let sha = hex::encode(
        vouch_attest::vouch_crypto::keys::HashAlgorithm::Sha256
            .hash(artifact)
            .value,
    );
    v.verify_attestation(&e, Some(&sha)).unwrap()
}

#[test]
fn accepts_the_good_blob_bundle() {
    let out = blob(
        &good(),
        &read("bundle.sigstore.json"),
        &read("artifact.txt"),
    );
    let Outcome::Verified(v) = out else {
        panic!("{}", out.message())
    };
    let c = v.certificate.unwrap();
    assert_eq!(c.subject, "dev@vouch.example");
    assert_eq!(c.issuer, "https://issuer.vouch.example");
    assert_eq!(c.integrated_time, 1_767_225_660);
}

#[test]
fn accepts_the_good_attestation() {
    let out = attestation(
        &good(),
        &read("attest.sigstore.json"),
        &read("artifact.txt"),
    );
    assert!(out.is_verified(), "{}", out.message());
}

#[test]
fn regexp_identities_are_full_match() {
    let re = |s: &str, i: &str| Identity {
        subject: Matcher::regex(s).unwrap(),
        issuer: Matcher::regex(i).unwrap(),
    };
    let ok = verifier(
        "trusted_root.json",
        re(r".*@vouch\.example", r"https://issuer\.vouch\..*"),
    );
    assert!(blob(&ok, &read("bundle.sigstore.json"), &read("artifact.txt")).is_verified());
    // A substring match is not enough.
    let partial = verifier("trusted_root.json", re("dev", "https://issuer"));
    assert!(matches!(
        blob(
            &partial,
            &read("bundle.sigstore.json"),
            &read("artifact.txt")
        ),
        Outcome::IdentityMismatch { .. }
    ));
}

#[test]
fn rejects_each_tampered_case_with_its_outcome() {
    let art = read("artifact.txt");
    let b = read("bundle.sigstore.json");
    let out = blob(&good(), &b, &flipped());
    assert!(
        matches!(out, Outcome::SubjectDigestMismatch { .. }),
        "{out:?}"
    );

    let v = verifier(
        "trusted_root.json",
        identity("mallory@example.com", &text("issuer.txt")),
    );
    let out = blob(&v, &b, &art);
    assert!(matches!(out, Outcome::IdentityMismatch { .. }), "{out:?}");
    insta::assert_snapshot!(out.message(), @"certificate identity mismatch: the certificate is for `dev@vouch.example` issued by `https://issuer.vouch.example`, which no trusted identity matches");

    let v = verifier(
        "trusted_root.json",
        identity(&text("identity.txt"), "https://evil.example.com"),
    );
    assert!(matches!(
        blob(&v, &b, &art),
        Outcome::IdentityMismatch { .. }
    ));

    let v = verifier(
        "other_trusted_root.json",
        identity(&text("identity.txt"), &text("issuer.txt")),
    );
    let out = blob(&v, &b, &art);
    assert!(
        matches!(out, Outcome::UntrustedCertificate { .. }),
        "{out:?}"
    );

    let out = blob(&good(), &no_set(), &art);
    assert!(matches!(out, Outcome::TransparencyLog { .. }), "{out:?}");
    assert!(
        out.message().contains("inclusion promise"),
        "{}",
        out.message()
    );

    let out = blob(&good(), &bad_checkpoint(), &art);
    assert!(matches!(out, Outcome::TransparencyLog { .. }), "{out:?}");
    assert!(out.message().contains("checkpoint"), "{}", out.message());

    let out = attestation(&good(), &modified_payload(), &art);
    assert!(matches!(out, Outcome::NoValidSignature { .. }), "{out:?}");

    let out = attestation(&good(), &read("attest.sigstore.json"), &flipped());
    assert!(
        matches!(out, Outcome::SubjectDigestMismatch { .. }),
        "{out:?}"
    );
}

#[test]
fn rejects_more_tampering() {
    let art = read("artifact.txt");
    // The attestation's log entry under the blob bundle: the body does not describe it.
    let swapped = edit("bundle.sigstore.json", |v| {
        let a: serde_json::Value = serde_json::from_slice(&read("attest.sigstore.json")).unwrap();
        v["verificationMaterial"]["tlogEntries"] = a["verificationMaterial"]["tlogEntries"].clone();
    });
    let out = blob(&good(), &swapped, &art);
    assert!(matches!(out, Outcome::TransparencyLog { .. }), "{out:?}");
    // A changed integratedTime breaks the SET.
    let moved = edit("bundle.sigstore.json", |v| {
        v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1767225661".into();
    });
    let out = blob(&good(), &moved, &art);
    assert!(matches!(out, Outcome::TransparencyLog { .. }), "{out:?}");
    // A signing time outside the certificate's ten minutes: the SET binds integratedTime,
    // so moving it is caught there, before the certificate is checked at that time.
    let late = edit("bundle.sigstore.json", |v| {
        v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1767312000".into();
    });
    let out = blob(&good(), &late, &art);
    assert!(matches!(out, Outcome::TransparencyLog { .. }), "{out:?}");
    // No proof in a v0.3 bundle.
    let no_proof = edit("bundle.sigstore.json", |v| {
        v["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionProof");
    });
    assert!(matches!(
        blob(&good(), &no_proof, &art),
        Outcome::TransparencyLog { .. }
    ));
    // No log entry at all.
    let none = edit("bundle.sigstore.json", |v| {
        v["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    });
    assert!(matches!(
        blob(&good(), &none, &art),
        Outcome::TransparencyLog { .. }
    ));
    // A v0.2 bundle with the certificate as a one-element chain still verifies.
    let v02 = edit("bundle.sigstore.json", |v| {
        v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into();
        let vm = v["verificationMaterial"].as_object_mut().unwrap();
        let c = vm.remove("certificate").unwrap();
        vm.insert(
            "x509CertificateChain".into(),
            serde_json::json!({ "certificates": [c] }),
        );
    });
    assert!(blob(&good(), &v02, &art).is_verified());
}

#[test]
fn key_policies_do_not_accept_certificates() {
    let key = vouch_attest::vouch_crypto::keys::PrivateKey::generate(
        vouch_attest::vouch_crypto::keys::KeyAlgorithm::EcdsaP256,
    )
    .unwrap();
    let v = Verifier::new(Policy::keys(vec![key.public_key().clone()]));
    let out = blob(&v, &read("bundle.sigstore.json"), &read("artifact.txt"));
    assert!(matches!(out, Outcome::NoValidSignature { .. }), "{out:?}");
}

/// The sigstore-python judge and vouch agree on every case.
#[test]
fn judge_agrees() {
    let judge =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/verify-bundle-keyless");
    assert!(judge.exists(), "the judge {} is missing", judge.display());
    let tmp = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let id = text("identity.txt");
    let iss = text("issuer.txt");
    // (name, bundle, artifact, trusted root file, identity, issuer)
    type Case = (&'static str, Vec<u8>, Vec<u8>, &'static str, String, String);
    let cases: Vec<Case> = vec![
        (
            "good",
            read("bundle.sigstore.json"),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "flipped",
            read("bundle.sigstore.json"),
            flipped(),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "identity",
            read("bundle.sigstore.json"),
            read("artifact.txt"),
            "trusted_root.json",
            "mallory@example.com".into(),
            iss.clone(),
        ),
        (
            "issuer",
            read("bundle.sigstore.json"),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            "https://evil.example.com".into(),
        ),
        (
            "root",
            read("bundle.sigstore.json"),
            read("artifact.txt"),
            "other_trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "noset",
            no_set(),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "badcp",
            bad_checkpoint(),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "dsse",
            read("attest.sigstore.json"),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "dsse-mod",
            modified_payload(),
            read("artifact.txt"),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
        (
            "dsse-flipped",
            read("attest.sigstore.json"),
            flipped(),
            "trusted_root.json",
            id.clone(),
            iss.clone(),
        ),
    ];
    for (name, bundle, artifact, root_file, subject, issuer) in cases {
        let bp = put(&format!("{name}.json"), &bundle);
        let ap = put(&format!("{name}.artifact"), &artifact);
        let st = std::process::Command::new(&judge)
            .arg(&bp)
            .arg(&ap)
            .arg(dir().join(root_file))
            .arg(&subject)
            .arg(&issuer)
            .output()
            .unwrap();
        let code = st.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "judge error on {name}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let v = verifier(root_file, identity(&subject, &issuer));
        let ours = if bundle.windows(12).any(|w| w == b"dsseEnvelope") {
            attestation(&v, &bundle, &artifact)
        } else {
            blob(&v, &bundle, &artifact)
        };
        assert_eq!(
            ours.is_verified(),
            code == Some(0),
            "{name}: vouch says {}, the judge {}",
            ours.message(),
            String::from_utf8_lossy(&st.stdout)
        );
    }
}
