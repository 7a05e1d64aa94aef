//! End-to-end tests of the sealer: guards, opaque errors, rotation, rewrap and audit.

use std::sync::Arc;

use jiff::Timestamp;

use super::audit::{JsonLinesSink, MemorySink, Operation, Outcome};
use super::envelope::OVERHEAD;
use super::*;

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn sealer() -> (Sealer, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    (
        Sealer::new(Keyring::generate(t0()).unwrap(), sink.clone()),
        sink,
    )
}

#[test]
fn round_trip_and_envelope_shape() {
    let (s, _) = sealer();
    let env = s.encrypt("t", b"hello", b"ctx").unwrap();
    assert_eq!(env.len(), 5 + OVERHEAD);
    assert_eq!(env[0], 1);
    assert_eq!(envelope::key_id(&env), Some(1));
    assert_eq!(s.decrypt("t", &env, b"ctx").unwrap().expose(), b"hello");
    // Nonces are random: the same input seals differently.
    assert_ne!(env, s.encrypt("t", b"hello", b"ctx").unwrap());
    // Empty plaintext and empty AAD work.
    let e = s.encrypt("t", b"", b"").unwrap();
    assert!(s.decrypt("t", &e, b"").unwrap().is_empty());
}

#[test]
fn every_flipped_byte_is_the_one_opaque_error() {
    let (s, _) = sealer();
    let env = s
        .encrypt("t", b"attack at dawn, bring snacks", b"tenant=a")
        .unwrap();
    for i in 0..env.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = env.clone();
            t[i] ^= bit;
            let e = s.decrypt("t", &t, b"tenant=a").unwrap_err();
            assert!(matches!(e, SealError::Decrypt), "byte {i}: {e:?}");
        }
    }
    // Truncations too.
    for n in 0..env.len() {
        assert!(matches!(
            s.decrypt("t", &env[..n], b"tenant=a"),
            Err(SealError::Decrypt)
        ));
    }
}

#[test]
fn wrong_aad_wrong_key_same_error_and_message() {
    let (a, _) = sealer();
    let (b, _) = sealer(); // another keyring: key 1 with other bytes
    let env = a.encrypt("t", b"x", b"field=ssn").unwrap();
    let wrong_aad = a.decrypt("t", &env, b"field=name").unwrap_err();
    let wrong_key = b.decrypt("t", &env, b"field=ssn").unwrap_err();
    let mut tampered = env.clone();
    tampered[20] ^= 4;
    let bad_tag = a.decrypt("t", &tampered, b"field=ssn").unwrap_err();
    assert_eq!(wrong_aad.to_string(), wrong_key.to_string());
    assert_eq!(wrong_aad.to_string(), bad_tag.to_string());
}

#[test]
fn retired_key_and_min_decryption_version() {
    let (mut s, sink) = sealer();
    let old = s.encrypt("t", b"old", b"").unwrap();
    assert_eq!(s.rotate("t", t0()).unwrap(), 2);
    let mid = s.encrypt("t", b"mid", b"").unwrap();
    s.rotate("t", t0()).unwrap();
    assert_eq!(s.decrypt("t", &old, b"").unwrap().expose(), b"old");
    // Cut-over: keys below 2 refuse, reversibly.
    s.set_min_decryption_version("t", 2).unwrap();
    assert!(matches!(s.decrypt("t", &old, b""), Err(SealError::Decrypt)));
    assert_eq!(s.decrypt("t", &mid, b"").unwrap().expose(), b"mid");
    s.set_min_decryption_version("t", 1).unwrap();
    assert!(s.decrypt("t", &old, b"").is_ok());
    // Retire destroys key 1 for good.
    s.retire("t", 1).unwrap();
    assert!(matches!(s.decrypt("t", &old, b""), Err(SealError::Decrypt)));
    assert!(s.retire("t", 3).is_err(), "active key");
    let reasons: Vec<_> = sink.events().iter().filter_map(|e| e.reason).collect();
    assert!(
        reasons.contains(&"below-min-decryption-version"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"key-retired"), "{reasons:?}");
}

#[test]
fn one_mib_guard_before_any_work() {
    let (s, sink) = sealer();
    let big = vec![0u8; DEFAULT_MAX_PAYLOAD + 1];
    let e = s.encrypt("t", &big, b"").unwrap_err();
    assert!(
        matches!(e, SealError::TooLarge { size, max } if size == big.len() as u64 && max == 1 << 20)
    );
    // No counter was used.
    assert_eq!(s.keyring().keys()[0].encryptions, 0);
    assert!(s.encrypt("t", &big[..DEFAULT_MAX_PAYLOAD], b"").is_ok());
    let big_env = vec![1u8; DEFAULT_MAX_PAYLOAD + OVERHEAD + 1];
    assert!(matches!(
        s.decrypt("t", &big_env, b""),
        Err(SealError::TooLarge { .. })
    ));
    let s2 = Sealer::new(Keyring::generate(t0()).unwrap(), sink).with_max_payload(10);
    assert!(s2.encrypt("t", &[0u8; 11], b"").is_err());
    assert!(s2.encrypt("t", &[0u8; 10], b"").is_ok());
}

#[test]
fn rotation_and_rewrap_end_to_end() {
    let (mut s, sink) = sealer();
    let envs: Vec<_> = (0..5u8)
        .map(|i| s.encrypt("t", &[i; 100], &[i]).unwrap())
        .collect();
    s.rotate("t", t0()).unwrap();
    for (i, env) in envs.iter().enumerate() {
        let r = s.rewrap("t", env, &[i as u8]).unwrap();
        assert_eq!((r.from, r.to), (1, 2));
        assert!(r.changed());
        assert_eq!(envelope::key_id(&r.envelope), Some(2));
        assert_eq!(
            s.decrypt("t", &r.envelope, &[i as u8]).unwrap().expose(),
            &[i as u8; 100]
        );
        // Rewrapping again is a no-op.
        let again = s.rewrap("t", &r.envelope, &[i as u8]).unwrap();
        assert!(!again.changed());
        assert_eq!(again.envelope, r.envelope);
        // Rewrap checks the AAD like decrypt.
        assert!(matches!(
            s.rewrap("t", env, b"other"),
            Err(SealError::Decrypt)
        ));
    }
    // After rewrapping everything, key 1 can be retired and the data still opens.
    s.retire("t", 1).unwrap();
    let ops: Vec<_> = sink.events().iter().map(|e| e.op).collect();
    assert!(ops.contains(&Operation::Rewrap) && ops.contains(&Operation::Rotate));
}

#[test]
fn rate_limit_caps_decrypt_attempts_per_caller() {
    let sink = Arc::new(MemorySink::default());
    let s = Sealer::new(Keyring::generate(t0()).unwrap(), sink.clone())
        .with_decrypt_rate_limit(3, 0.001);
    let env = s.encrypt("svc", b"x", b"").unwrap();
    for _ in 0..3 {
        let _ = s.decrypt("mallory", &env, b"guess");
    }
    assert!(matches!(
        s.decrypt("mallory", &env, b""),
        Err(SealError::RateLimited(_))
    ));
    assert!(s.decrypt("alice", &env, b"").is_ok());
    assert_eq!(sink.events().last().unwrap().outcome, Outcome::Ok);
}

#[test]
fn audit_events_cover_every_operation_and_never_carry_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sink = Arc::new(JsonLinesSink::open(&log).unwrap());
    let material = [0x42u8; 32];
    let mut s = Sealer::new(Keyring::import(&material, t0()).unwrap(), sink);
    const PLANTED: &[u8] = b"PLANTED-SECRET-7f3a9c-correct-horse-battery";
    let aad = b"tenant=PLANTED-AAD";
    let env = s.encrypt("svc-a", PLANTED, aad).unwrap();
    let _ = s.decrypt("svc-a", &env, aad).unwrap();
    let _ = s.decrypt("svc-a", &env, b"wrong").unwrap_err();
    s.rotate("ops", t0()).unwrap();
    let r = s.rewrap("ops", &env, aad).unwrap();
    let _ = s
        .encrypt("svc-a", &vec![0u8; DEFAULT_MAX_PAYLOAD + 1], b"")
        .unwrap_err();
    drop(s);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<_> = lines
        .iter()
        .map(|l| l["op"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ops,
        [
            "encrypt", "decrypt", "decrypt", "rotate", "rewrap", "encrypt"
        ]
    );
    assert_eq!(lines[2]["outcome"], "denied");
    assert_eq!(lines[2]["reason"], "authentication-failed");
    assert_eq!(lines[0]["size"], PLANTED.len());
    assert_eq!(lines[0]["caller"], "svc-a");
    assert_eq!(lines[0]["key_id"], 1);
    assert_eq!(lines[4]["new_key_id"], 2);
    assert_eq!(lines[5]["reason"], "too-large");
    // Nothing secret: not the plaintext, not the AAD, not the key (raw, hex or base64), not
    // the ciphertext.
    use base64::Engine as _;
    let forbidden = [
        String::from_utf8_lossy(PLANTED).to_string(),
        "PLANTED".to_string(),
        hex::encode(material),
        base64::engine::general_purpose::STANDARD.encode(material),
        hex::encode(&env[17..env.len() - 16]),
        base64::engine::general_purpose::STANDARD.encode(&r.envelope),
    ];
    for f in &forbidden {
        assert!(!text.contains(f.as_str()), "audit log contains {f}");
    }
    assert!(!text.as_bytes().windows(PLANTED.len()).any(|w| w == PLANTED));
    // Debug output of the sealer and errors carry no key bytes either.
    let dbg = format!(
        "{:?}",
        Sealer::new(
            Keyring::import(&material, t0()).unwrap(),
            Arc::new(MemorySink::default())
        )
    );
    assert!(
        !dbg.contains("66, 66") && !dbg.contains(&hex::encode(material)),
        "{dbg}"
    );
}

#[test]
fn failing_sink_blocks_the_operation() {
    struct Broken;
    impl AuditSink for Broken {
        fn record(&self, _: &AuditEvent) -> Result<(), String> {
            Err("disk full".into())
        }
    }
    let s = Sealer::new(Keyring::generate(t0()).unwrap(), Arc::new(Broken));
    assert!(matches!(
        s.encrypt("t", b"x", b""),
        Err(SealError::Audit(_))
    ));
}

#[test]
fn callback_sink_sees_events() {
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = seen.clone();
    let sink = audit::CallbackSink(move |e: &AuditEvent| {
        assert!(e.caller == "cb");
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let s = Sealer::new(Keyring::generate(t0()).unwrap(), Arc::new(sink));
    let env = s.encrypt("cb", b"x", b"").unwrap();
    s.decrypt("cb", &env, b"").unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..2048), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
            let (s, _) = sealer();
            let env = s.encrypt("p", &data, &aad).unwrap();
            let plain = s.decrypt("p", &env, &aad).unwrap();
            prop_assert_eq!(plain.expose(), &data[..]);
        }

        #[test]
        fn garbage_envelopes_are_the_opaque_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let (s, _) = sealer();
            prop_assert!(matches!(s.decrypt("p", &bytes, b""), Err(SealError::Decrypt)));
        }
    }
}
