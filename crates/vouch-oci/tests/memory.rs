//! The orchestration against the in-memory registry: both storage formats, tampering, wrong
//! digests, cosign v2 legacy signatures built byte for byte, platforms.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vouch_attest::statement::PredicateType;
use vouch_attest::verify::{Outcome, Policy};
use vouch_crypto::keys::{KeyAlgorithm, PrivateKey};
use vouch_oci::manifest::{self, Descriptor, ImageIndex, ImageManifest, Manifest, Platform};
use vouch_oci::ops::{self, Target, Wanted};
use vouch_oci::referrers::Storage;
use vouch_oci::{Digest, MemoryRegistry, OciError, Reference, Registry};

const CREATED: &str = "2026-01-01T00:00:00Z";

fn push_image(reg: &dyn Registry, r: &Reference, content: &[u8]) -> (Digest, Vec<u8>) {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    reg.put_blob(r, &Digest::of(config), config).unwrap();
    reg.put_blob(r, &Digest::of(content), content).unwrap();
    let m = ImageManifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::of(manifest::OCI_CONFIG, config),
        layers: vec![Descriptor::of(
            "application/vnd.oci.image.layer.v1.tar",
            content,
        )],
        subject: None,
        annotations: BTreeMap::new(),
    };
    let bytes = m.to_json();
    reg.put_manifest(r, &r.target(), manifest::OCI_MANIFEST, &bytes)
        .unwrap();
    (Digest::of(&bytes), bytes)
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn policy(k: &PrivateKey) -> Policy {
    Policy::keys(vec![k.public_key().clone()])
}

fn target(r: &Reference) -> Target<'_> {
    Target {
        reference: r,
        platform: None,
    }
}

fn both() -> [MemoryRegistry; 2] {
    [MemoryRegistry::new(true), MemoryRegistry::new(false)]
}

#[test]
fn sign_then_verify_by_tag_and_digest_in_both_storage_formats() {
    for reg in both() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v1").unwrap();
        let (digest, _) = push_image(&reg, &r, b"layer");
        let k = key();
        let signed = ops::sign(&reg, target(&r), &k, CREATED).unwrap();
        assert_eq!(signed.digest, digest);
        let expected = if reg.referrers_api {
            Storage::ReferrersApi
        } else {
            Storage::TagSchema
        };
        assert_eq!(signed.attached.storage, expected);
        for r in [r.clone(), r.at_digest(&digest)] {
            let v = ops::verify(&reg, target(&r), policy(&k), &Wanted::Signature).unwrap();
            assert!(v.verified(), "{:?}", v.candidates);
            assert_eq!(v.storage, expected);
        }
        // Another key does not verify.
        let v = ops::verify(&reg, target(&r), policy(&key()), &Wanted::Signature).unwrap();
        assert!(!v.verified());
        // A signature is not an attestation.
        let v = ops::verify(&reg, target(&r), policy(&k), &Wanted::Attestation(None)).unwrap();
        assert!(v.candidates.is_empty());
    }
}

#[test]
fn a_second_signature_is_added_beside_the_first() {
    for reg in both() {
        let r = Reference::parse("localhost/app:1").unwrap();
        push_image(&reg, &r, b"x");
        let (a, b) = (key(), key());
        ops::sign(&reg, target(&r), &a, CREATED).unwrap();
        ops::sign(&reg, target(&r), &b, CREATED).unwrap();
        let v = ops::verify(&reg, target(&r), policy(&b), &Wanted::Signature).unwrap();
        assert_eq!(v.candidates.len(), 2);
        assert!(v.verified());
        let v = ops::verify(&reg, target(&r), policy(&a), &Wanted::Signature).unwrap();
        assert!(v.verified());
        let t = ops::tree(&reg, target(&r)).unwrap();
        assert_eq!(t.attachments.len(), 2);
    }
}

#[test]
fn attestations_by_type() {
    for reg in both() {
        let r = Reference::parse("localhost/app:1").unwrap();
        let (digest, _) = push_image(&reg, &r, b"x");
        let k = key();
        let slsa = PredicateType::resolve("slsaprovenance").unwrap();
        let predicate = serde_json::json!({
            "buildDefinition": {"buildType": "https://example.com/b", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://example.com/builder"}}
        });
        ops::attest(&reg, target(&r), &k, &slsa, predicate, CREATED).unwrap();
        let ok = ops::verify(
            &reg,
            target(&r),
            policy(&k),
            &Wanted::Attestation(Some(slsa)),
        )
        .unwrap();
        assert!(ok.verified(), "{:?}", ok.candidates);
        assert_eq!(ok.image.digest, Some(digest));
        let other = PredicateType::resolve("cyclonedx").unwrap();
        let no = ops::verify(
            &reg,
            target(&r),
            policy(&k),
            &Wanted::Attestation(Some(other)),
        )
        .unwrap();
        assert!(!no.verified());
        assert!(matches!(
            no.candidates[0].outcome,
            Outcome::WrongPredicateType { .. }
        ));
        // An attestation is not a signature.
        let sig = ops::verify(&reg, target(&r), policy(&k), &Wanted::Signature).unwrap();
        assert!(!sig.verified());
    }
}

#[test]
fn a_signature_does_not_follow_a_retagged_image() {
    let reg = MemoryRegistry::new(false);
    let r = Reference::parse("localhost/app:1").unwrap();
    push_image(&reg, &r, b"original");
    let k = key();
    ops::sign(&reg, target(&r), &k, CREATED).unwrap();
    push_image(&reg, &r, b"replaced");
    let v = ops::verify(&reg, target(&r), policy(&k), &Wanted::Signature).unwrap();
    assert!(!v.verified());
    assert!(v.candidates.is_empty());
}

#[test]
fn a_registry_serving_other_bytes_is_an_integrity_error() {
    let reg = MemoryRegistry::new(true);
    let r = Reference::parse("localhost/app:1").unwrap();
    let (digest, bytes) = push_image(&reg, &r, b"x");
    let k = key();
    let signed = ops::sign(&reg, target(&r), &k, CREATED).unwrap();
    // A manifest asked for by digest that comes back different.
    let mut tampered = bytes.clone();
    tampered.push(b' ');
    reg.substitute
        .lock()
        .unwrap()
        .insert(digest.to_string(), tampered);
    let pinned = r.at_digest(&digest);
    let e = ops::verify(&reg, target(&pinned), policy(&k), &Wanted::Signature).unwrap_err();
    assert!(matches!(e, OciError::Integrity(_)), "{e}");
    reg.substitute.lock().unwrap().clear();
    // A bundle blob that comes back different.
    let Manifest::Image(m) = Manifest::parse(
        &reg.get_manifest(&r, signed.attached.manifest.as_str())
            .unwrap()
            .bytes,
        None,
    )
    .unwrap() else {
        panic!()
    };
    let mut bundle = signed.bundle.clone();
    bundle[10] ^= 1;
    reg.substitute
        .lock()
        .unwrap()
        .insert(m.layers[0].digest.clone(), bundle);
    let e = ops::verify(&reg, target(&r), policy(&k), &Wanted::Signature).unwrap_err();
    assert!(matches!(e, OciError::Integrity(_)), "{e}");
}

/// cosign v2's layout, byte for byte as cosign writes it: the simple-signing payload as a
/// layer under `sha256-<hex>.sig`, the signature in the layer annotation.
#[test]
fn cosign_v2_legacy_signatures_verify() {
    let reg = MemoryRegistry::new(false);
    let r = Reference::parse("localhost/app:1").unwrap();
    let (digest, _) = push_image(&reg, &r, b"x");
    let k = key();
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"localhost/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    let signature = k.sign(payload.as_bytes()).unwrap();
    let mut layer = Descriptor::of(vouch_oci::legacy::SIMPLESIGNING, payload.as_bytes());
    layer.annotations.insert(
        vouch_oci::legacy::SIGNATURE.into(),
        vouch_attest::b64::encode(&signature),
    );
    let config = br#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#;
    reg.put_blob(&r, &Digest::of(config), config).unwrap();
    reg.put_blob(&r, &Digest::of(payload.as_bytes()), payload.as_bytes())
        .unwrap();
    let m = ImageManifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::of(manifest::OCI_CONFIG, config),
        layers: vec![layer],
        subject: None,
        annotations: BTreeMap::new(),
    };
    reg.put_manifest(
        &r,
        &format!("{}.sig", digest.tag()),
        manifest::OCI_MANIFEST,
        &m.to_json(),
    )
    .unwrap();
    let v = ops::verify(&reg, target(&r), policy(&k), &Wanted::Signature).unwrap();
    assert!(v.verified(), "{:?}", v.candidates);
    assert!(
        v.candidates[0]
            .source
            .ends_with(&Digest::of(payload.as_bytes()).to_string())
    );
    let v = ops::verify(&reg, target(&r), policy(&key()), &Wanted::Signature).unwrap();
    assert!(!v.verified());
    // The same signed payload for another image does not verify that image.
    let other = Reference::parse("localhost/app:2").unwrap();
    let (d2, _) = push_image(&reg, &other, b"y");
    reg.put_manifest(
        &other,
        &format!("{}.sig", d2.tag()),
        manifest::OCI_MANIFEST,
        &m.to_json(),
    )
    .unwrap();
    let v = ops::verify(&reg, target(&other), policy(&k), &Wanted::Signature).unwrap();
    assert!(!v.verified());
    assert!(matches!(
        v.candidates[0].outcome,
        Outcome::InvalidStatement { .. }
    ));
}

#[test]
fn an_index_is_signed_whole_or_per_platform() {
    let reg = MemoryRegistry::new(true);
    let r = Reference::parse("localhost/multi:1").unwrap();
    let amd = Reference::parse("localhost/multi:amd").unwrap();
    let arm = Reference::parse("localhost/multi:arm").unwrap();
    let (da, ba) = push_image(&reg, &amd, b"amd");
    let (dr, br) = push_image(&reg, &arm, b"arm");
    let entry = |bytes: &[u8], arch: &str| Descriptor {
        platform: Some(Platform {
            architecture: arch.into(),
            os: "linux".into(),
            os_version: None,
            variant: None,
        }),
        ..Descriptor::of(manifest::OCI_MANIFEST, bytes)
    };
    let mut index = ImageIndex::empty();
    index.manifests = vec![entry(&ba, "amd64"), entry(&br, "arm64")];
    reg.put_manifest(&r, "1", manifest::OCI_INDEX, &index.to_json())
        .unwrap();
    let k = key();
    let whole = ops::sign(&reg, target(&r), &k, CREATED).unwrap();
    assert_eq!(whole.digest, Digest::of(&index.to_json()));
    let arm_target = Target {
        reference: &r,
        platform: Some("linux/arm64"),
    };
    // The index's signature is about the index, not about each platform's manifest.
    assert!(
        !ops::verify(&reg, arm_target, policy(&k), &Wanted::Signature)
            .unwrap()
            .verified()
    );
    let one = ops::sign(&reg, arm_target, &k, CREATED).unwrap();
    assert_eq!(one.digest, dr);
    assert!(
        ops::verify(&reg, arm_target, policy(&k), &Wanted::Signature)
            .unwrap()
            .verified()
    );
    assert_ne!(da, dr);
    let missing = Target {
        reference: &r,
        platform: Some("linux/s390x"),
    };
    assert!(matches!(ops::tree(&reg, missing), Err(OciError::Usage(_))));
    let t = ops::tree(&reg, target(&r)).unwrap();
    assert_eq!(t.platforms.len(), 2);
}

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,5}(([._]|__|-{1,2})[a-z0-9]{1,5}){0,2}"
}

proptest! {
    #[test]
    fn references_print_and_parse_back(
        host in prop::option::of("[a-z]{1,6}\\.[a-z]{2,3}(:[0-9]{1,5})?"),
        path in prop::collection::vec(component(), 1..4),
        tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in prop::option::of(prop::collection::vec(any::<u8>(), 1..8)),
    ) {
        let mut s = String::new();
        if let Some(h) = &host { s.push_str(h); s.push('/'); }
        let mut path = path;
        if host.is_none() {
            // Without a host, a first component with a `.` would name a registry (as in
            // Docker), which is another reference, not a round-trip failure.
            path[0] = path[0].replace('.', "-");
        }
        s.push_str(&path.join("/"));
        if let Some(t) = &tag { s.push(':'); s.push_str(t); }
        if let Some(d) = &digest { s.push('@'); s.push_str(Digest::of(d).as_str()); }
        let r = Reference::parse(&s).unwrap();
        let printed = r.to_string();
        prop_assert_eq!(Reference::parse(&printed).unwrap(), r.clone());
        prop_assert_eq!(printed.clone(), Reference::parse(&printed).unwrap().to_string());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
        let _ = Reference::parse(&s);
        let _ = Manifest::parse(s.as_bytes(), None);
    }
}
