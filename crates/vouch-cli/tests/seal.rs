//! `vouch seal` end to end: every exit code, the keyring lifecycle, and a planted secret that
//! must appear in no log, audit line or error output.

use std::path::Path;

use assert_cmd::Command;

const KEK: [u8; 32] = [7u8; 32];

/// base64 of `KEK`.
const KEK_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn kek_b64() -> String {
    KEK_B64.to_string()
}

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    c.current_dir(dir)
        .env_remove("VOUCH_SEAL_KEYRING")
        .env_remove("VOUCH_SEAL_KEK_FILE")
        .env_remove("VOUCH_SEAL_AUDIT_LOG")
        .env("VOUCH_SEAL_KEK", kek_b64())
        .env("SOURCE_DATE_EPOCH", "1767225600");
    c
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn lifecycle_with_every_exit_code() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    vouch(p).args(["seal", "keygen"]).assert().code(0);
    // A second keygen never overwrites.
    let o = vouch(p).args(["seal", "keygen"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("a keyring already exists"),
        "{}",
        stderr(&o)
    );

    std::fs::write(p.join("p.txt"), b"the launch codes").unwrap();
    vouch(p)
        .args([
            "seal", "encrypt", "-i", "p.txt", "-o", "c.bin", "--aad", "tenant=a",
        ])
        .assert()
        .code(0);
    let env = std::fs::read(p.join("c.bin")).unwrap();
    assert_eq!(env[0], 1);
    assert_eq!(&env[1..5], &[0, 0, 0, 1]);

    // Decrypt to stdout.
    let o = vouch(p)
        .args(["seal", "decrypt", "-i", "c.bin", "--aad", "tenant=a"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"the launch codes");

    // Wrong AAD: exit 1, opaque message, nothing written.
    let o = vouch(p)
        .args([
            "seal", "decrypt", "-i", "c.bin", "-o", "out.txt", "--aad", "tenant=b",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("decryption failed"), "{}", stderr(&o));
    assert!(!p.join("out.txt").exists());

    // --key-id: encrypt must name the active key, decrypt the envelope's key.
    vouch(p)
        .args(["seal", "encrypt", "-i", "p.txt", "-o", "x", "--key-id", "9"])
        .assert()
        .code(2);
    vouch(p)
        .args([
            "seal", "decrypt", "-i", "c.bin", "--aad", "tenant=a", "--key-id", "2",
        ])
        .assert()
        .code(1);

    // Rotate, old data still opens, rewrap moves it, retire the old key.
    vouch(p).args(["seal", "rotate"]).assert().code(0);
    vouch(p)
        .args([
            "seal", "encrypt", "-i", "p.txt", "-o", "c2.bin", "--key-id", "2",
        ])
        .assert()
        .code(0);
    vouch(p)
        .args([
            "seal", "decrypt", "-i", "c.bin", "--aad", "tenant=a", "--key-id", "1",
        ])
        .assert()
        .code(0);
    let kept = std::fs::read(p.join("c.bin")).unwrap();
    std::fs::copy(p.join("c.bin"), p.join("old.bin")).unwrap();
    let o = vouch(p)
        .args(["seal", "rewrap", "c.bin", "--aad", "tenant=a"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("key 1 -> key 2"));
    assert_ne!(std::fs::read(p.join("c.bin")).unwrap(), kept);
    // Rewrap with the wrong AAD: exit 1 and the file is untouched.
    vouch(p)
        .args(["seal", "rewrap", "old.bin", "--aad", "nope"])
        .assert()
        .code(1);
    assert_eq!(std::fs::read(p.join("old.bin")).unwrap(), kept);
    // Rewrap refuses -o.
    vouch(p)
        .args(["seal", "rewrap", "c.bin", "-o", "z"])
        .assert()
        .code(2);

    // Minimum decryption version: reversible refusal of key 1.
    vouch(p)
        .args(["seal", "min-decryption-version", "2"])
        .assert()
        .code(0);
    vouch(p)
        .args(["seal", "decrypt", "-i", "old.bin", "--aad", "tenant=a"])
        .assert()
        .code(1);
    vouch(p)
        .args(["seal", "min-decryption-version", "3"])
        .assert()
        .code(2);
    vouch(p)
        .args(["seal", "min-decryption-version", "1"])
        .assert()
        .code(0);
    vouch(p)
        .args(["seal", "decrypt", "-i", "old.bin", "--aad", "tenant=a"])
        .assert()
        .code(0);

    // Retire: key 1 is gone for good; the active key cannot be retired.
    vouch(p).args(["seal", "retire", "2"]).assert().code(2);
    vouch(p).args(["seal", "retire", "1"]).assert().code(0);
    vouch(p)
        .args(["seal", "decrypt", "-i", "old.bin", "--aad", "tenant=a"])
        .assert()
        .code(1);
    vouch(p)
        .args(["seal", "decrypt", "-i", "c.bin", "--aad", "tenant=a"])
        .assert()
        .code(0);

    // Status, text and JSON.
    let o = vouch(p)
        .args(["seal", "status", "c.bin", "old.bin", "p.txt"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("retired"), "{text}");
    assert!(text.contains("2026-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("c.bin: key 2 (active)"), "{text}");
    assert!(
        text.contains("old.bin: key 1: no longer decryptable"),
        "{text}"
    );
    assert!(text.contains("p.txt: not a vouch seal envelope"), "{text}");
    let o = vouch(p)
        .args(["seal", "status", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["active_key"], 2);
    assert_eq!(v["keys"][0]["state"], "retired");
    assert_eq!(v["keys"][1]["encryptions"], 2);
    vouch(p)
        .args(["seal", "status", "--format", "sarif"])
        .assert()
        .code(2);
}

#[test]
fn bad_input_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // No keyring yet.
    let o = vouch(p).args(["seal", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("vouch seal keygen"), "{}", stderr(&o));
    // No KEK.
    vouch(p)
        .env_remove("VOUCH_SEAL_KEK")
        .args(["seal", "keygen"])
        .assert()
        .code(2);
    // A KEK that is not 32 bytes.
    let o = vouch(p)
        .env("VOUCH_SEAL_KEK", "AQEBAQEBAQEBAQEBAQEBAQ==")
        .args(["seal", "keygen"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("exactly 32 bytes, got 16"),
        "{}",
        stderr(&o)
    );
    vouch(p).args(["seal", "keygen"]).assert().code(0);
    // Wrong KEK.
    vouch(p)
        .env(
            "VOUCH_SEAL_KEK",
            "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=",
        )
        .args(["seal", "status"])
        .assert()
        .code(2);
    let audit = std::fs::read_to_string(p.join(".vouch/seal/audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .last()
            .unwrap()
            .contains(r#""op":"open-keyring""#)
            && audit.contains(r#""reason":"keyring-auth-failed""#),
        "{audit}"
    );
    // Damaged keyring file.
    let kr = p.join(".vouch/seal/keyring");
    let mut bytes = std::fs::read(&kr).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(p.join("bad-keyring"), &bytes).unwrap();
    vouch(p)
        .args(["seal", "status", "--keyring", "bad-keyring"])
        .assert()
        .code(2);
    // Over the 1 MiB guard: exit 2 and no output file; the cap is configurable.
    std::fs::write(p.join("big"), vec![0u8; (1 << 20) + 1]).unwrap();
    let o = vouch(p)
        .args(["seal", "encrypt", "-i", "big", "-o", "big.c"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("over the limit of 1048576 bytes"),
        "{}",
        stderr(&o)
    );
    assert!(!p.join("big.c").exists());
    std::fs::write(p.join("vouch.toml"), "[seal]\nmax_payload = 100\n").unwrap();
    std::fs::write(p.join("small"), vec![0u8; 101]).unwrap();
    vouch(p)
        .args(["seal", "encrypt", "-i", "small", "-o", "s.c"])
        .assert()
        .code(2);
    // Unknown [seal] key: exit 2 with the line.
    std::fs::write(p.join("vouch.toml"), "[seal]\nmax_paylod = 100\n").unwrap();
    let o = vouch(p).args(["seal", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("vouch.toml:2"), "{}", stderr(&o));
    std::fs::remove_file(p.join("vouch.toml")).unwrap();
    // Missing input file, usage errors.
    vouch(p)
        .args(["seal", "encrypt", "-i", "nope"])
        .assert()
        .code(2);
    vouch(p).args(["seal", "rewrap"]).assert().code(2);
    vouch(p).args(["seal", "bogus"]).assert().code(2);
    // --format means nothing for raw bytes: refused rather than ignored.
    std::fs::write(p.join("x"), b"x").unwrap();
    vouch(p)
        .args(["seal", "encrypt", "-i", "x", "--format", "json"])
        .assert()
        .code(2);
}

#[test]
fn concurrent_encrypts_never_lose_a_count() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    vouch(&p).args(["seal", "keygen"]).assert().code(0);
    std::fs::write(p.join("m"), b"message").unwrap();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let p = p.clone();
            std::thread::spawn(move || {
                let out = format!("c{i}");
                vouch(&p)
                    .args(["seal", "encrypt", "-i", "m", "-o", &out])
                    .assert()
                    .code(0);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let o = vouch(&p)
        .args(["seal", "status", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["keys"][0]["encryptions"], 6);
}

#[test]
fn stdin_stdout_and_kek_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("kek"), KEK).unwrap();
    let run = |args: &[&str], input: &[u8]| {
        vouch(p)
            .env_remove("VOUCH_SEAL_KEK")
            .args(["seal", "--kek-file", "kek", "--keyring", "kr/keyring"])
            .args(args)
            .write_stdin(input.to_vec())
            .output()
            .unwrap()
    };
    assert_eq!(run(&["keygen"], b"").status.code(), Some(0));
    let env = run(&["encrypt"], b"from stdin");
    assert_eq!(env.status.code(), Some(0));
    let plain = run(&["decrypt"], &env.stdout);
    assert_eq!(plain.stdout, b"from stdin");
    // The same keyring opens with the same key given in base64 through the environment.
    let o = vouch(p)
        .args(["seal", "--keyring", "kr/keyring", "decrypt"])
        .write_stdin(env.stdout.clone())
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"from stdin");
    // A pipe given with -i (size unknown until read).
    let o = vouch(p)
        .args([
            "seal",
            "--keyring",
            "kr/keyring",
            "decrypt",
            "-i",
            "/dev/stdin",
        ])
        .write_stdin(env.stdout.clone())
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"from stdin", "{}", stderr(&o));
    // Over the cap from stdin.
    let big = run(&["encrypt"], &vec![1u8; (1 << 20) + 10]);
    assert_eq!(big.status.code(), Some(2));
    assert!(p.join("kr/audit.jsonl").exists());
}

#[test]
fn planted_secret_never_reaches_logs_audit_or_errors() {
    const PLANTED: &str = "PLANTED-SECRET-d41d8cd98f00b204-hunter2";
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut all_text = String::new();
    let mut run = |args: &[&str]| {
        let o = vouch(p).args(args).output().unwrap();
        all_text.push_str(&stderr(&o));
        o
    };
    run(&["seal", "keygen"]);
    std::fs::write(p.join("secret.txt"), PLANTED).unwrap();
    run(&[
        "seal",
        "encrypt",
        "-i",
        "secret.txt",
        "-o",
        "s.bin",
        "--aad",
        "field=password",
    ]);
    let ok = run(&["seal", "decrypt", "-i", "s.bin", "--aad", "field=password"]);
    assert_eq!(ok.stdout, PLANTED.as_bytes());
    run(&["seal", "decrypt", "-i", "s.bin", "--aad", "wrong"]);
    let mut t = std::fs::read(p.join("s.bin")).unwrap();
    t[20] ^= 1;
    std::fs::write(p.join("t.bin"), &t).unwrap();
    run(&[
        "seal",
        "decrypt",
        "-i",
        "t.bin",
        "--aad",
        "field=password",
        "-o",
        "leak",
    ]);
    run(&["seal", "rotate"]);
    run(&["seal", "rewrap", "s.bin", "--aad", "field=password"]);
    let mut stdouts = String::new();
    for args in [
        &["seal", "status", "s.bin"][..],
        &["seal", "status", "--format", "json"][..],
    ] {
        let o = run(args);
        stdouts.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    all_text.push_str(&stdouts);
    assert!(!p.join("leak").exists());
    let audit = std::fs::read_to_string(p.join(".vouch/seal/audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 7, "{audit}");
    for line in audit.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["op"].is_string() && v["outcome"].is_string(), "{line}");
    }
    all_text.push_str(&audit);
    let keyring = std::fs::read(p.join(".vouch/seal/keyring")).unwrap();
    for needle in [
        PLANTED,
        "hunter2",
        "field=password",
        &kek_b64(),
        &hex_of(&KEK),
    ] {
        assert!(
            !all_text.contains(needle),
            "found {needle:?} in output or audit"
        );
        assert!(
            !keyring
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "found {needle:?} in the keyring file"
        );
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn status_and_error_wording_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    vouch(p).args(["seal", "keygen"]).assert().code(0);
    std::fs::write(p.join("p.txt"), b"x").unwrap();
    vouch(p)
        .args(["seal", "encrypt", "-i", "p.txt", "-o", "c.bin"])
        .assert()
        .code(0);
    vouch(p).args(["seal", "rotate"]).assert().code(0);
    let status = vouch(p)
        .args(["seal", "status", "c.bin", "p.txt"])
        .output()
        .unwrap();
    let wrong = vouch(p)
        .args(["seal", "decrypt", "-i", "c.bin", "--aad", "nope"])
        .output()
        .unwrap();
    let text = format!(
        "{}--- decrypt with the wrong --aad (exit {:?}):\n{}",
        String::from_utf8_lossy(&status.stdout),
        wrong.status.code(),
        stderr(&wrong)
    );
    insta::assert_snapshot!(text);
}

#[test]
fn per_key_limit_warns_then_forces_rotation() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("vouch.toml"), "[seal]\nmax_encryptions = 10\n").unwrap();
    vouch(p).args(["seal", "keygen"]).assert().code(0);
    std::fs::write(p.join("m"), b"m").unwrap();
    let mut warned = false;
    for _ in 0..10 {
        let o = vouch(p)
            .args(["seal", "encrypt", "-i", "m", "-o", "c"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        warned |= stderr(&o).contains("run `vouch seal rotate` soon");
    }
    assert!(warned);
    let o = vouch(p)
        .args(["seal", "encrypt", "-i", "m", "-o", "c11"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("key 1 has made 10 encryptions, its limit"),
        "{}",
        stderr(&o)
    );
    assert!(!p.join("c11").exists());
    vouch(p).args(["seal", "rotate"]).assert().code(0);
    vouch(p)
        .args(["seal", "encrypt", "-i", "m", "-o", "c12", "--key-id", "2"])
        .assert()
        .code(0);
}
