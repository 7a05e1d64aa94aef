//! End to end over real HTTP on loopback: one dev instance per test, tokens from its issuer,
//! DPoP proofs from fresh client keys. What the service returns is checked by the same
//! verifier as `vouch verify-*` and, for bundles, by an external judge (`@sigstore/verify`).

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use vouch_attest::{Bundle, Evidence, Outcome, Policy, SubjectDigest, Verifier};
use vouch_crypto::keys::PublicKey;
use vouch_server::audit::AuditStore;
use vouch_server::dev::DEV_TENANT;

const PT: &str = "https://example.com/e2e/v1";

/// The verifier a relying party would use: the tenant's key and the instance's log.
async fn verifier(inst: &Instance, public_key_pem: &str) -> Verifier {
    let root = inst.trusted_root().await;
    Verifier::new(
        Policy::keys(vec![PublicKey::from_pem(public_key_pem).unwrap()])
            .with_tlog_root(Arc::new(root))
            .requiring_tlog(),
    )
}

async fn verify_dsse(inst: &Instance, bundle: &Value, pem: &str, subject_hex: &str) -> Outcome {
    let evidence = Evidence::from_json(&serde_json::to_vec(bundle).unwrap()).unwrap();
    let subject = SubjectDigest::parse(&format!("sha256:{subject_hex}")).unwrap();
    verifier(inst, pem)
        .await
        .verify_attestation_for(&evidence, &[subject])
        .unwrap()
}

/// The bundle with one character of its statement's predicate changed (still valid JSON).
fn tamper_payload(bundle: &Value) -> Value {
    let mut t = bundle.clone();
    let payload = t["dsseEnvelope"]["payload"].as_str().unwrap();
    let mut bytes = STANDARD.decode(payload).unwrap();
    let at = bytes
        .windows(5)
        .position(|w| w == b"built")
        .expect("the predicate note is in the payload");
    bytes[at] = b'B';
    t["dsseEnvelope"]["payload"] = STANDARD.encode(&bytes).into();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsse_bundle_verifies_with_the_verifier_and_the_judge() {
    let inst = start().await;
    let c = inst.signer();
    let artifact = b"the artifact of the DSSE test\n";
    let digest = sha256_hex(artifact);

    let v = inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    let bundle = &v["bundle"];
    let pem = v["signingIdentity"]["publicKey"].as_str().unwrap();
    assert_eq!(v["signingIdentity"]["algorithm"], "ecdsa-p256", "{v}");
    assert!(bundle["dsseEnvelope"].is_object(), "{bundle}");
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{bundle}"
    );
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"][0]["logIndex"],
        v["logIndex"].as_u64().unwrap().to_string()
    );

    let outcome = verify_dsse(&inst, bundle, pem, &digest).await;
    assert!(outcome.is_verified(), "{}", outcome.message());
    assert_eq!(inst.judge(bundle, artifact, pem).await, Judgement::Accept);

    // About this artifact only.
    let other = sha256_hex(b"another artifact");
    let outcome = verify_dsse(&inst, bundle, pem, &other).await;
    assert!(
        matches!(outcome, Outcome::SubjectDigestMismatch { .. }),
        "{outcome:?}"
    );
    assert!(matches!(
        inst.judge(bundle, b"another artifact", pem).await,
        Judgement::Reject(_)
    ));

    // A changed statement verifies nowhere.
    let tampered = tamper_payload(bundle);
    let outcome = verify_dsse(&inst, &tampered, pem, &digest).await;
    assert!(!outcome.is_verified(), "a tampered payload verified");
    assert!(matches!(
        inst.judge(&tampered, artifact, pem).await,
        Judgement::Reject(_)
    ));

    // The log entry is required, and it is what makes the bundle pass.
    let mut unlogged = bundle.clone();
    unlogged["verificationMaterial"]["tlogEntries"] = json!([]);
    let outcome = verify_dsse(&inst, &unlogged, pem, &digest).await;
    assert!(
        matches!(outcome, Outcome::TransparencyLog { .. }),
        "{outcome:?}"
    );

    // Another key does not verify it.
    let stranger =
        vouch_crypto::keys::PrivateKey::generate(vouch_crypto::keys::KeyAlgorithm::EcdsaP256)
            .unwrap()
            .public_key()
            .to_pem();
    let outcome = verify_dsse(&inst, bundle, &stranger, &digest).await;
    assert!(!outcome.is_verified(), "verified with a stranger's key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsse_whole_statement_form_verifies() {
    let inst = start().await;
    let c = inst.signer();
    let artifact = b"the artifact of the statement test\n";
    let digest = sha256_hex(artifact);
    let body = json!({
        "tenant": DEV_TENANT,
        "statement": {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "artifact.bin", "digest": {"sha256": digest}}],
            "predicateType": PT,
            "predicate": {"note": "built as a whole statement"},
        },
    });
    let v = inst.post(&c, DSSE, &body).await.ok();
    let bundle = &v["bundle"];
    let pem = v["signingIdentity"]["publicKey"].as_str().unwrap();
    let payload = STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["predicateType"], PT);
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest);

    let outcome = verify_dsse(&inst, bundle, pem, &digest).await;
    assert!(outcome.is_verified(), "{}", outcome.message());
    assert_eq!(inst.judge(bundle, artifact, pem).await, Judgement::Accept);
    let tampered = tamper_payload(bundle);
    assert!(
        !verify_dsse(&inst, &tampered, pem, &digest)
            .await
            .is_verified()
    );

    // Both forms at once is a malformed request, not a guess.
    let mut both = body.clone();
    both["predicateType"] = PT.into();
    inst.post(&c, DSSE, &both)
        .await
        .refused(400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_bundle_verifies_against_the_artifact() {
    let inst = start().await;
    let c = inst.signer();
    let artifact = b"the artifact of the blob test: never sent to the service\n".repeat(10);
    let digest = sha256_hex(&artifact);

    let v = inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    let bundle_json = &v["bundle"];
    let pem = v["signingIdentity"]["publicKey"].as_str().unwrap();
    assert!(bundle_json["messageSignature"].is_object(), "{bundle_json}");
    let bundle = Bundle::from_json(&serde_json::to_vec(bundle_json).unwrap()).unwrap();
    let verifier = verifier(&inst, pem).await;
    let outcome = verifier.verify_blob(&bundle, artifact.as_slice()).unwrap();
    assert!(outcome.is_verified(), "{}", outcome.message());
    assert_eq!(
        inst.judge(bundle_json, &artifact, pem).await,
        Judgement::Accept
    );

    // Another artifact: refused by both.
    let outcome = verifier.verify_blob(&bundle, &b"other"[..]).unwrap();
    assert!(!outcome.is_verified());
    assert!(matches!(
        inst.judge(bundle_json, b"other", pem).await,
        Judgement::Reject(_)
    ));

    // A malformed digest is a 400.
    inst.post(
        &c,
        BLOB,
        &json!({"tenant": DEV_TENANT, "digest": "sha256:abc"}),
    )
    .await
    .refused(400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_signatures_are_deterministic_and_verify() {
    let inst = start().await;
    let c = inst.signer();
    let file = |p: &str, content: &[u8]| json!({"path": p, "sha256": sha256_hex(content), "size": content.len()});
    let files = vec![
        file("b/report.json", b"{}"),
        file("a.txt", b"hello"),
        file("z/y/x.bin", b"\x00\x01"),
    ];
    let mut reversed = files.clone();
    reversed.reverse();
    let body = |files: Vec<Value>| json!({"tenant": DEV_TENANT, "manifest": {"name": "release-1.2.3", "files": files}});

    let first = inst.post(&c, EXPORT, &body(files)).await;
    let second = inst.post(&c, EXPORT, &body(reversed)).await;
    let v = first.ok();
    second.ok();
    assert_eq!(
        first.body, second.body,
        "identical manifests gave different answers"
    );

    let manifest = v["manifest"].as_str().unwrap();
    assert!(
        manifest.starts_with("{\"files\":[{\"path\":\"a.txt\""),
        "{manifest}"
    );
    assert_eq!(
        v["manifestDigest"],
        format!("sha256:{}", sha256_hex(manifest.as_bytes()))
    );
    assert_eq!(v["signingIdentity"]["algorithm"], "ed25519", "{v}");
    let key = PublicKey::from_pem(v["signingIdentity"]["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!(
        key.key_id(),
        v["signingIdentity"]["keyId"].as_str().unwrap()
    );
    let sig = STANDARD.decode(v["signature"].as_str().unwrap()).unwrap();
    key.verify(manifest.as_bytes(), &sig)
        .expect("the export signature verifies over the manifest");
    let changed = manifest.replace("release-1.2.3", "release-1.2.4");
    assert!(key.verify(changed.as_bytes(), &sig).is_err());

    // A path escaping the export is refused.
    inst.post(&c, EXPORT, &body(vec![file("../etc/passwd", b"x")]))
        .await
        .refused(400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_refusals_over_http() {
    let inst = start().await;
    let digest = sha256_hex(b"auth");
    let body = serde_json::to_vec(&dsse_body(&digest, PT)).unwrap();

    // No token at all.
    let r = inst.raw("POST", DSSE, &[], Some(body.clone())).await;
    r.refused(401, "invalid_token");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("DPoP")),
        "{:?}",
        r.headers
    );

    // A DPoP-bound token sent as a bearer token (with and without its proof).
    let c = inst.signer();
    inst.raw(
        "POST",
        DSSE,
        &[("authorization", format!("Bearer {}", c.token))],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_token");
    let proof = inst.proof(&c, "POST", DSSE, None);
    inst.raw(
        "POST",
        DSSE,
        &[
            ("authorization", format!("Bearer {}", c.token)),
            ("dpop", proof),
        ],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_token");

    // The DPoP scheme without a proof.
    inst.raw(
        "POST",
        DSSE,
        &[("authorization", format!("DPoP {}", c.token))],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_dpop_proof");

    // A proof is good once.
    let proof = inst.proof(&c, "POST", DSSE, None);
    let headers = [
        ("authorization", format!("DPoP {}", c.token)),
        ("dpop", proof),
    ];
    inst.raw("POST", DSSE, &headers, Some(body.clone()))
        .await
        .ok();
    inst.raw("POST", DSSE, &headers, Some(body.clone()))
        .await
        .refused(401, "invalid_dpop_proof");

    // A proof for another URL, and for another method.
    let proof = inst.proof(&c, "POST", BLOB, None);
    inst.raw(
        "POST",
        DSSE,
        &[
            ("authorization", format!("DPoP {}", c.token)),
            ("dpop", proof),
        ],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_dpop_proof");
    let proof = inst.proof(&c, "PUT", DSSE, None);
    inst.raw(
        "POST",
        DSSE,
        &[
            ("authorization", format!("DPoP {}", c.token)),
            ("dpop", proof),
        ],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_dpop_proof");

    // A proof by a key the token is not bound to.
    let other = inst.signer();
    let proof = other
        .key
        .proof("POST", &inst.url(DSSE), Some(&c.token), None, now())
        .unwrap();
    inst.raw(
        "POST",
        DSSE,
        &[
            ("authorization", format!("DPoP {}", c.token)),
            ("dpop", proof),
        ],
        Some(body.clone()),
    )
    .await
    .refused(401, "invalid_dpop_proof");

    // A token of another issuer's key (a second issuer in another directory).
    let dir = tempfile::tempdir().unwrap();
    let foreign =
        vouch_server::auth::issuer::LocalIssuer::load_or_create(dir.path(), "vouch-dev-issuer")
            .unwrap();
    let forged = Caller {
        token: foreign
            .mint(&vouch_server::auth::issuer::MintRequest {
                subject: "ci@example".into(),
                tenant: DEV_TENANT.into(),
                scope: "signer.sign".into(),
                audience: "signer".into(),
                ttl_seconds: 600,
                dpop_jkt: Some(c.key.thumbprint().to_string()),
                now: now(),
                ..Default::default()
            })
            .unwrap(),
        key: c.key,
    };
    inst.call_bytes(&forged, "POST", DSSE, Some(body.clone()), None)
        .await
        .refused(401, "invalid_token");

    // An expired token.
    let expired = inst.mint(|r| {
        r.now = now() - 3600;
        r.ttl_seconds = 60;
    });
    inst.call_bytes(&expired, "POST", DSSE, Some(body.clone()), None)
        .await
        .refused(401, "invalid_token");

    // A token of tenant `dev` signing for tenant `acme`, and one of `acme` for `dev`.
    let c = inst.signer();
    let mut for_acme = dsse_body(&digest, PT);
    for_acme["tenant"] = "acme".into();
    inst.post(&c, DSSE, &for_acme)
        .await
        .refused(403, "insufficient_scope");
    let acme = inst.mint(|r| r.tenant = "acme".into());
    inst.post(&acme, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(403, "insufficient_scope");

    // The wrong scope: an auditor cannot sign, a signer cannot administer or read the audit.
    let auditor = inst.mint(|r| r.scope = "signer.audit".into());
    inst.post(&auditor, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(403, "insufficient_scope");
    inst.call(&c, "GET", "/api/v1/admin/keys", None)
        .await
        .refused(403, "insufficient_scope");
    inst.call(&c, "GET", "/api/v1/admin/audit", None)
        .await
        .refused(403, "insufficient_scope");
    // `signer.audit` or `signer.admin` reads the audit.
    let admin_only = inst.mint(|r| r.scope = "signer.sign signer.admin".into());
    inst.call(&admin_only, "GET", "/api/v1/admin/audit", None)
        .await
        .ok();

    // Nothing above was signed, except the one good request.
    let signed = inst
        .audit_records()
        .await
        .iter()
        .filter(|r| r["record"]["decision"] == "signed")
        .count();
    assert_eq!(signed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_is_required_when_configured() {
    let inst = start_with(|c| c.auth.dpop.require_nonce = true).await;
    let c = inst.signer();
    let body = dsse_body(&sha256_hex(b"nonce"), PT);
    let bytes = serde_json::to_vec(&body).unwrap();

    let r = inst
        .call_bytes(&c, "POST", DSSE, Some(bytes.clone()), None)
        .await;
    r.refused(401, "use_dpop_nonce");
    let nonce = r.header("dpop-nonce").expect("a DPoP-Nonce header");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.contains("use_dpop_nonce")),
        "{:?}",
        r.headers
    );

    // A nonce the server never issued is refused the same way.
    inst.call_bytes(&c, "POST", DSSE, Some(bytes.clone()), Some("not-a-nonce"))
        .await
        .refused(401, "use_dpop_nonce");

    let r = inst
        .call_bytes(&c, "POST", DSSE, Some(bytes.clone()), Some(&nonce))
        .await;
    r.ok();
    // Every answer carries the next nonce, which works too.
    let next = r.header("dpop-nonce").expect("a DPoP-Nonce header");
    inst.call_bytes(&c, "POST", DSSE, Some(bytes), Some(&next))
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_stops_signing_and_rotation_restores_it() {
    let inst = start().await;
    let c = inst.signer();
    let admin = inst.admin();
    let digest = sha256_hex(b"keys");

    let v = inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    let old_id = v["signingIdentity"]["keyId"].as_str().unwrap().to_string();

    // Revoking needs step-up.
    let no_mfa = inst.mint(|r| r.scope = "signer.sign signer.admin".into());
    let revoke = json!({"keyId": old_id, "reason": "compromised in a test"});
    inst.post(&no_mfa, "/api/v1/admin/keys/revoke", &revoke)
        .await
        .refused(403, "step_up_required");
    inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();

    let r = inst
        .post(&admin, "/api/v1/admin/keys/revoke", &revoke)
        .await
        .ok();
    assert_eq!(r["status"], "revoked", "{r}");
    inst.post(&c, DSSE, &dsse_body(&digest, PT))
        .await
        .refused(409, "no_signing_key");
    inst.post(&c, BLOB, &blob_body(&digest))
        .await
        .refused(409, "no_signing_key");
    // The Ed25519 export key is another key: exports still sign.
    let export = json!({"tenant": DEV_TENANT, "manifest": {"name": "n", "files": [
        {"path": "a", "sha256": digest, "size": 4}]}});
    inst.post(&c, EXPORT, &export).await.ok();

    // The revoked key is no longer offered for verification.
    let keys = inst.get("/api/v1/signer/keys?tenant=dev").await.ok();
    assert!(
        !keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["key_id"] == old_id.as_str()),
        "{keys}"
    );

    let rotated = inst
        .post(
            &admin,
            "/api/v1/admin/keys/rotate",
            &json!({"tenant": DEV_TENANT}),
        )
        .await
        .ok();
    let new_id = rotated["key_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(rotated["status"], "active");

    let v = inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    assert_eq!(v["signingIdentity"]["keyId"], new_id.as_str());
    let pem = v["signingIdentity"]["publicKey"].as_str().unwrap();
    let outcome = verify_dsse(&inst, &v["bundle"], pem, &digest).await;
    assert!(outcome.is_verified(), "{}", outcome.message());

    // The admin list shows both, with their status.
    let listed = inst
        .call(&admin, "GET", "/api/v1/admin/keys", None)
        .await
        .ok();
    let status_of = |id: &str| {
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_id"] == id)
            .map(|k| k["status"].clone())
    };
    assert_eq!(status_of(&old_id), Some(json!("revoked")), "{listed}");
    assert_eq!(status_of(&new_id), Some(json!("active")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_has_one_record_per_request_and_detects_an_edit() {
    let mut inst = start().await;
    let c = inst.signer();
    let admin = inst.admin();
    let digest = sha256_hex(b"audit");
    let body = serde_json::to_vec(&dsse_body(&digest, PT)).unwrap();

    // signed, signed, refused (no token), refused (tenant), refused (proof URL), refused
    // (malformed body), signed export, admin rotate, admin revoke of an unknown key.
    inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    inst.post(&c, BLOB, &blob_body(&digest)).await.ok();
    inst.raw("POST", DSSE, &[], Some(body.clone()))
        .await
        .refused(401, "invalid_token");
    let mut other = dsse_body(&digest, PT);
    other["tenant"] = "acme".into();
    inst.post(&c, DSSE, &other)
        .await
        .refused(403, "insufficient_scope");
    let proof = inst.proof(&c, "POST", BLOB, None);
    inst.raw(
        "POST",
        DSSE,
        &[
            ("authorization", format!("DPoP {}", c.token)),
            ("dpop", proof),
        ],
        Some(body),
    )
    .await
    .refused(401, "invalid_dpop_proof");
    inst.call_bytes(&c, "POST", DSSE, Some(b"{not json".to_vec()), None)
        .await
        .refused(400, "invalid_request");
    let export = json!({"tenant": DEV_TENANT, "manifest": {"name": "n", "files": [
        {"path": "a", "sha256": digest, "size": 5}]}});
    inst.post(&c, EXPORT, &export).await.ok();
    inst.post(
        &admin,
        "/api/v1/admin/keys/rotate",
        &json!({"tenant": DEV_TENANT}),
    )
    .await
    .ok();
    inst.post(
        &admin,
        "/api/v1/admin/keys/revoke",
        &json!({"keyId": "00", "reason": "no such key"}),
    )
    .await
    .refused(404, "not_found");

    let expected = [
        ("sign/dsse", "signed", None),
        ("sign/blob", "signed", None),
        ("sign/dsse", "refused", Some("invalid_token")),
        ("sign/dsse", "refused", Some("insufficient_scope")),
        ("sign/dsse", "refused", Some("invalid_dpop_proof")),
        ("sign/dsse", "refused", Some("invalid_request")),
        ("sign/export", "signed", None),
        ("admin/keys/rotate", "done", None),
        ("admin/keys/revoke", "refused", Some("not_found")),
    ];
    let records = inst.audit_records().await;
    let got: Vec<(String, String, Option<String>)> = records
        .iter()
        .map(|r| {
            let r = &r["record"];
            (
                r["endpoint"].as_str().unwrap().to_string(),
                r["decision"].as_str().unwrap().to_string(),
                r["error_code"].as_str().map(String::from),
            )
        })
        .collect();
    let want: Vec<(String, String, Option<String>)> = expected
        .iter()
        .map(|(e, d, c)| (e.to_string(), d.to_string(), c.map(String::from)))
        .collect();
    assert_eq!(got, want);
    // The signed ones name their key and their subject; the records chain.
    assert_eq!(
        records[0]["record"]["subject_digests"],
        json!([format!("sha256:{digest}")])
    );
    assert!(records[0]["record"]["key_id"].is_string());
    for w in records.windows(2) {
        assert_eq!(w[1]["prev_hash"], w[0]["hash"]);
    }

    inst.stop().await;
    let db = inst.data.join("audit.db");
    let report = AuditStore::open_sqlite(&db)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    // The audit read itself is a request too: one more record, decision `read`.
    assert_eq!(report.records, expected.len() as u64 + 1);
    assert_eq!(report.head.seq, expected.len() as u64 + 1);

    // Rewrite a refusal as a signature, directly in the database.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let changed = conn
            .execute(
                "UPDATE audit_log SET record = replace(record, '\"decision\":\"refused\"', '\"decision\":\"signed\"') WHERE seq = 4",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
        let record: String = conn
            .query_row("SELECT record FROM audit_log WHERE seq = 4", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(record.contains("\"decision\":\"signed\""), "{record}");
    }
    let report = AuditStore::open_sqlite(&db)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(
        !report.problems.is_empty(),
        "an edited record went unnoticed"
    );
    assert!(
        report.problems.iter().any(|p| p.contains('4')),
        "{report:?}"
    );

    // Deleting the last record is noticed too (the head remembers it).
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE audit_log SET record = replace(record, '\"decision\":\"signed\"', '\"decision\":\"refused\"') WHERE seq = 4",
            [],
        )
        .unwrap();
    }
    let report = AuditStore::open_sqlite(&db)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("DELETE FROM audit_log WHERE seq = 9", [])
            .unwrap();
    }
    let report = AuditStore::open_sqlite(&db)
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(
        !report.problems.is_empty(),
        "a deleted record went unnoticed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_openapi_readiness_and_unknown_paths() {
    let inst = start().await;
    let c = inst.signer();
    let digest = sha256_hex(b"metrics");
    inst.post(&c, DSSE, &dsse_body(&digest, PT)).await.ok();
    inst.raw("POST", BLOB, &[], Some(b"{}".to_vec()))
        .await
        .refused(401, "invalid_token");

    let m = inst.get("/metrics").await;
    assert_eq!(m.status, 200);
    let text = m.text();
    let has = |needles: &[&str]| {
        text.lines().any(|l| {
            l.starts_with("vouch_serve_requests_total{") && needles.iter().all(|n| l.contains(n))
        })
    };
    assert!(
        has(&[
            "endpoint=\"sign/dsse\"",
            "outcome=\"signed\"",
            "code=\"ok\""
        ]),
        "{text}"
    );
    assert!(
        has(&[
            "endpoint=\"sign/blob\"",
            "outcome=\"refused\"",
            "code=\"invalid_token\""
        ]),
        "{text}"
    );
    assert!(
        !has(&["endpoint=\"sign/blob\"", "outcome=\"signed\""]),
        "{text}"
    );

    let o = inst.get("/openapi.json").await;
    let doc = o.ok();
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [DSSE, BLOB, EXPORT] {
        assert!(doc["paths"][p]["post"].is_object(), "{p} missing");
    }

    let r = inst.get("/readyz").await;
    assert_eq!(r.ok()["ready"], true);
    assert_eq!(inst.get("/healthz").await.status, 200);

    let r = inst.get("/api/v1/nope").await;
    r.refused(404, "not_found");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
}
