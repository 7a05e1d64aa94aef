//! `vouch log ...`: every exit-code path, witnessing and forks, and the SIGKILL crash test.

use std::path::Path;
use std::process::Command as Proc;

use assert_cmd::Command;
use predicates::prelude::*;

fn vouch(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("vouch").unwrap();
    // The log and witness keys are encrypted with it (the default), so every test below
    // also decrypts them.
    c.current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("VOUCH_PASSWORD", "log-test");
    c
}

fn setup(n: usize) -> (tempfile::TempDir, String) {
    setup_keyed(n, "log-test")
}

/// A log of `n` entries whose key is encrypted with `password` (empty: plaintext).
fn setup_keyed(n: usize, password: &str) -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    let out = vouch(t.path())
        .env("VOUCH_PASSWORD", password)
        .args([
            "log",
            "init",
            "--origin",
            "example.com/test",
            "--dir",
            "log",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_string();
    std::fs::write(t.path().join("vk"), &vkey).unwrap();
    for i in 0..n {
        std::fs::write(t.path().join(format!("e{i}")), format!("entry {i}\n")).unwrap();
        vouch(t.path())
            .args(["log", "add", &format!("e{i}"), "--dir", "log"])
            .assert()
            .success();
    }
    (t, vkey)
}

#[test]
fn the_log_key_is_encrypted_by_default_and_every_signing_command_decrypts_it() {
    let (t, vkey) = setup(1);
    let d = t.path();
    let key = std::fs::read_to_string(d.join("log.key")).unwrap();
    assert!(
        key.starts_with("vouch-note-key: example.com/test+"),
        "{key}"
    );
    assert!(key.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(
        !key.contains("PRIVATE+KEY"),
        "no plaintext note key on disk"
    );
    let header = key.lines().next().unwrap();
    let (name_and_id, alg) = header["vouch-note-key: ".len()..].rsplit_once('+').unwrap();
    assert_eq!(alg, "01");
    assert!(
        vkey.starts_with(&format!("{name_and_id}+")),
        "{vkey} / {header}"
    );
    std::fs::write(d.join("e9"), "nine").unwrap();
    // Without the passphrase (no terminal to prompt on): bad input, nothing appended.
    vouch(d)
        .env_remove("VOUCH_PASSWORD")
        .args(["log", "add", "e9", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no passphrase given"));
    vouch(d)
        .env("VOUCH_PASSWORD", "wrong")
        .args(["log", "add", "e9", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("wrong passphrase"))
        .stderr(predicate::str::contains("log-test").not());
    assert_eq!(
        std::fs::read_to_string(d.join("log/checkpoint"))
            .unwrap()
            .lines()
            .nth(1),
        Some("1")
    );
    vouch(d)
        .args(["log", "add", "e9", "--dir", "log"])
        .assert()
        .success()
        .stdout("e9: index 1\n");
    // The secret scanner sees the encrypted key for what it is.
    vouch(d)
        .args(["secrets", "scan", "log.key", "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("secrets/encrypted-private-key"))
        .stdout(predicate::str::contains("secrets/signed-note-key").not());

    // An empty passphrase is the opt-out, as for `vouch key generate`: the plaintext note
    // key, with a warning, which the scanner reports as a critical secret.
    vouch(d)
        .env("VOUCH_PASSWORD", "")
        .args([
            "log",
            "init",
            "--origin",
            "example.com/plain",
            "--dir",
            "plain",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("written unencrypted"));
    let plain = std::fs::read_to_string(d.join("plain.key")).unwrap();
    assert!(
        plain.starts_with("PRIVATE+KEY+example.com/plain+"),
        "{plain}"
    );
    vouch(d)
        .env_remove("VOUCH_PASSWORD")
        .args(["log", "add", "e9", "--dir", "plain"])
        .assert()
        .success();
    vouch(d)
        .args(["secrets", "scan", "plain.key", "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("secrets/signed-note-key"));
}

#[test]
fn init_add_prove_verify_exit_codes() {
    let (t, _) = setup(3);
    let d = t.path();
    // init twice: bad input.
    vouch(d)
        .args(["log", "init", "--origin", "x", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already"));
    // add: dedup, missing file, not a log.
    vouch(d)
        .args(["log", "add", "e1", "--dir", "log"])
        .assert()
        .success()
        .stdout("e1: index 1 (already in the log)\n");
    vouch(d)
        .args(["log", "add", "nope", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: nope"));
    vouch(d)
        .args(["log", "add", "e1", "--dir", "elsewhere"])
        .assert()
        .code(2);
    std::fs::write(d.join("big"), vec![b'x'; 70_000]).unwrap();
    vouch(d)
        .args(["log", "add", "big", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("65535"));
    // prove + verify the proof.
    let proof = vouch(d)
        .args(["log", "prove", "--index", "2", "--dir", "log"])
        .output()
        .unwrap();
    assert!(proof.status.success());
    assert!(
        proof
            .stdout
            .starts_with(b"c2sp.org/tlog-proof@v1\nindex 2\n")
    );
    std::fs::write(d.join("p"), &proof.stdout).unwrap();
    vouch(d)
        .args([
            "log", "verify", "--proof", "p", "--entry", "e2", "--vkey", "vk",
        ])
        .assert()
        .success();
    vouch(d)
        .args([
            "log", "verify", "--proof", "p", "--entry", "e1", "--vkey", "vk",
        ])
        .assert()
        .code(1);
    vouch(d)
        .args([
            "log", "verify", "--proof", "p", "--entry", "e2", "--vkey", "vk", "--quorum", "1",
        ])
        .assert()
        .code(1);
    vouch(d)
        .args([
            "log", "verify", "--proof", "p", "--entry", "e2", "--vkey", "vk", "--origin", "other",
        ])
        .assert()
        .code(1);
    std::fs::write(d.join("bad"), "c2sp.org/tlog-proof@v1\nindex x\n\n").unwrap();
    vouch(d)
        .args([
            "log", "verify", "--proof", "bad", "--entry", "e2", "--vkey", "vk",
        ])
        .assert()
        .code(2);
    vouch(d)
        .args([
            "log", "verify", "--proof", "p", "--entry", "e2", "--vkey", "notakey",
        ])
        .assert()
        .code(2);
    vouch(d)
        .args(["log", "prove", "--index", "3", "--dir", "log"])
        .assert()
        .code(2);
    // full audit: ok, then tampered (1), then malformed checkpoint (2).
    vouch(d)
        .args(["log", "verify", "--dir", "log", "--vkey", "vk"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 entries"));
    let e = d.join("log/tile/entries/000.p/3");
    let orig = std::fs::read(&e).unwrap();
    let mut b = orig.clone();
    b[3] ^= 1;
    std::fs::write(&e, &b).unwrap();
    vouch(d)
        .args(["log", "verify", "--dir", "log"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL"));
    std::fs::write(&e, &orig).unwrap();
    let cp = std::fs::read(d.join("log/checkpoint")).unwrap();
    std::fs::write(d.join("log/checkpoint"), "garbage\n").unwrap();
    vouch(d)
        .args(["log", "verify", "--dir", "log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("malformed"));
    std::fs::write(d.join("log/checkpoint"), &cp).unwrap();
    // A checkpoint signed by another key: verification failure.
    let (t2, _) = setup(0);
    vouch(d)
        .args(["log", "verify", "--dir", "log", "--vkey"])
        .arg(t2.path().join("vk"))
        .assert()
        .code(1);
}

#[test]
fn witness_cosigns_follows_and_refuses_forks() {
    let (t, _) = setup(2);
    let d = t.path();
    vouch(d)
        .args([
            "log",
            "witness",
            "--key",
            "w.key",
            "--new-key",
            "witness.example/w1",
        ])
        .assert()
        .success();
    let wvk = String::from_utf8(
        vouch(d)
            .args(["log", "witness", "--key", "w.key", "--new-key", "x"])
            .output()
            .unwrap()
            .stderr,
    )
    .unwrap();
    assert!(wvk.contains("already exists"));
    let w = [
        "log", "witness", "--key", "w.key", "--vkey", "vk", "--state", "w.json", "--dir",
    ];
    let out = vouch(d).args(w).arg("log").output().unwrap();
    assert!(out.status.success());
    let cosigned = String::from_utf8(out.stdout).unwrap();
    assert!(cosigned.contains("\n\u{2014} witness.example/w1 "));
    // The fork: a copy of the log (same key) that grows differently.
    copy_dir(&d.join("log"), &d.join("fork"));
    std::fs::copy(d.join("log.key"), d.join("fork.key")).unwrap();
    std::fs::write(d.join("x1"), "x1").unwrap();
    std::fs::write(d.join("x2"), "x2").unwrap();
    vouch(d)
        .args(["log", "add", "x1", "--dir", "log"])
        .assert()
        .success();
    vouch(d)
        .args(["log", "add", "x2", "--dir", "fork"])
        .assert()
        .success();
    vouch(d).args(w).arg("log").assert().success();
    vouch(d)
        .args(w)
        .arg("fork")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("split view"));
    // Monitor: first run remembers, the fork is an alert.
    let m = [
        "log", "monitor", "--vkey", "vk", "--state", "m.json", "--dir",
    ];
    vouch(d).args(m).arg("log").assert().success();
    vouch(d)
        .args(m)
        .arg("fork")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ALERT"));
    std::fs::write(d.join("m.json"), "{").unwrap();
    vouch(d).args(m).arg("log").assert().code(2);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &p);
        } else {
            std::fs::copy(e.path(), p).unwrap();
        }
    }
}

/// Kills `vouch log add` with SIGKILL at random points many times, then proves that every
/// acknowledged entry is at its acknowledged index, that the final tree is consistent with
/// every checkpoint ever observed, and that the audit finds no torn or wrong tile.
#[test]
fn sigkill_crash_safety() {
    use vouch_tlog::merkle;
    use vouch_tlog::store::PosixStore;
    use vouch_tlog::tiles::TileReader;

    // A plaintext key: this test is about appends, and a kill during key decryption
    // (PBKDF2) would only waste rounds.
    let (t, vkey) = setup_keyed(0, "");
    let d = t.path();
    let bin = assert_cmd::cargo::cargo_bin("vouch");
    let mut acked: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut seen_checkpoints: Vec<Vec<u8>> = Vec::new();
    let mut rng: u64 = 0x9e3779b97f4a7c15;
    let mut kills = 0;
    let mut next = 0u64;
    // The kill delay adapts to the machine: shorter after a run that finished, longer after a
    // kill, so most kills land mid-append whatever the speed of the disk.
    let mut max_wait_us: u64 = 12_000;
    let mut round = 0u64;
    let mut completed = 0;
    while (kills < 150 || completed < 30) && round < 1500 {
        round += 1;
        let n = 1 + (round % 40) as usize;
        let mut files = Vec::new();
        for _ in 0..n {
            let name = format!("c{next}");
            std::fs::write(d.join(&name), format!("crash entry {next}")).unwrap();
            files.push(name);
            next += 1;
        }
        let mut child = Proc::new(&bin)
            .current_dir(d)
            .args(["log", "add", "--dir", "log"])
            .args(&files)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait_us = rng % max_wait_us;
        std::thread::sleep(std::time::Duration::from_micros(wait_us));
        // Every fifth append runs to completion, so the log keeps growing and acks exist.
        let killed = !round.is_multiple_of(5) && child.kill().is_ok();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            completed += 1;
            if !round.is_multiple_of(5) {
                max_wait_us = (max_wait_us * 4 / 5).max(300);
            }
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                let (f, rest) = line.split_once(": index ").unwrap();
                let idx: u64 = rest.split(' ').next().unwrap().parse().unwrap();
                acked.push((std::fs::read(d.join(f)).unwrap(), idx));
            }
        } else if killed {
            kills += 1;
            max_wait_us = (max_wait_us * 11 / 10).min(500_000);
        }
        if let Ok(cp) = std::fs::read(d.join("log/checkpoint"))
            && seen_checkpoints.last() != Some(&cp)
        {
            seen_checkpoints.push(cp);
        }
    }
    assert!(
        kills >= 150 && completed >= 30,
        "only {kills} kills landed, {completed} appends completed"
    );
    // One clean append repairs anything a kill left half-published.
    std::fs::write(d.join("final"), "final").unwrap();
    vouch(d)
        .args(["log", "add", "final", "--dir", "log"])
        .assert()
        .success();
    vouch(d)
        .args(["log", "verify", "--dir", "log", "--vkey"])
        .arg(&vkey)
        .assert()
        .success();

    let store = PosixStore::new(d.join("log"));
    let reader = vouch_tlog::log::LogReader { store: &store };
    let cp = reader.checkpoint_bytes().unwrap();
    let note = vouch_tlog::note::Note::parse(&cp).unwrap();
    let head = vouch_tlog::checkpoint::Checkpoint::parse_body(&note.text).unwrap();
    for (data, idx) in &acked {
        assert_eq!(
            &reader.entry(*idx, head.size).unwrap(),
            data,
            "acknowledged entry {idx} moved or vanished"
        );
    }
    let tiles = TileReader::new(&store, head.size);
    let root = head.root32().unwrap();
    for c in &seen_checkpoints {
        let n = vouch_tlog::note::Note::parse(c).unwrap();
        let old = vouch_tlog::checkpoint::Checkpoint::parse_body(&n.text).unwrap();
        let proof = merkle::consistency_proof(&tiles, old.size, head.size).unwrap();
        if old.size > 0 {
            merkle::verify_consistency(old.size, head.size, &old.root32().unwrap(), &root, &proof)
                .unwrap();
        }
    }
    eprintln!(
        "{kills} kills, {} acknowledged entries, {} checkpoints observed, final size {}",
        acked.len(),
        seen_checkpoints.len(),
        head.size
    );
}

/// `--postgres`: the index in PostgreSQL (127.0.0.1:5432, trust auth, database `test`).
/// Fails, rather than skips, when the server is not there.
#[test]
fn postgres_index_from_the_cli() {
    const PG: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
    let schema = format!("vouch_cli_test_{}", std::process::id());
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let pg = ["--postgres", PG, "--postgres-schema", &schema];
    let ok = std::panic::catch_unwind(|| {
        vouch(d)
            .args(["log", "init", "--origin", "example.com/pg", "--dir", "log"])
            .args(pg)
            .assert()
            .success();
        assert!(!d.join("log/.state/index.db").exists());
        std::fs::write(d.join("a"), "a").unwrap();
        std::fs::write(d.join("b"), "b").unwrap();
        vouch(d)
            .args(["log", "add", "a", "b", "--dir", "log"])
            .args(pg)
            .assert()
            .success()
            .stdout("a: index 0\nb: index 1\n");
        vouch(d)
            .args(["log", "add", "b", "--dir", "log"])
            .args(pg)
            .assert()
            .success()
            .stdout("b: index 1 (already in the log)\n");
        vouch(d)
            .args(["log", "verify", "--dir", "log"])
            .args(pg)
            .assert()
            .success()
            .stdout(predicate::str::contains("2 checkpoints"));
    });
    let _ = vouch_tlog::index_pg::PgIndex::drop_schema(PG, &schema);
    if let Err(e) = ok {
        std::panic::resume_unwind(e);
    }
}

/// `vouch log serve`: the checkpoint and tiles over HTTP, followed by monitor and witness.
#[test]
fn serve_is_followed_over_http() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (t, _) = setup(1);
    let d = t.path();
    let files: Vec<String> = (1..300).map(|i| format!("e{i}")).collect();
    for f in &files {
        std::fs::write(d.join(f), format!("entry {f}\n")).unwrap();
    }
    vouch(d)
        .args(["log", "add", "--dir", "log"])
        .args(&files)
        .assert()
        .success();
    let mut server = Proc::new(assert_cmd::cargo::cargo_bin("vouch"))
        .current_dir(d)
        .args(["log", "serve", "--dir", "log", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let addr = url.trim_start_matches("http://").to_string();
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    };
    let r = std::panic::catch_unwind(|| {
        let cp = get("/checkpoint");
        assert!(cp.starts_with("HTTP/1.1 200"), "{cp}");
        assert!(cp.contains("example.com/test\n300\n"));
        assert!(get("/tile/0/001.p/44").starts_with("HTTP/1.1 200"));
        assert!(
            get("/tile/0/000")
                .to_ascii_lowercase()
                .contains("immutable")
        );
        assert!(get("/tile/0/009").starts_with("HTTP/1.1 404"));
        assert!(!get("/tile/../../log.key").starts_with("HTTP/1.1 200"));
        assert!(get("/.state/vkey").starts_with("HTTP/1.1 404"));
        vouch(d)
            .args([
                "log", "monitor", "--vkey", "vk", "--state", "m.json", "--url", &url,
            ])
            .assert()
            .success();
        vouch(d)
            .args([
                "log",
                "witness",
                "--key",
                "w.key",
                "--new-key",
                "w.example/w",
            ])
            .assert()
            .success();
        vouch(d)
            .args([
                "log", "witness", "--key", "w.key", "--vkey", "vk", "--state", "w.json", "--url",
                &url,
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("\u{2014} w.example/w "));
        vouch(d)
            .args([
                "log",
                "monitor",
                "--vkey",
                "vk",
                "--state",
                "m.json",
                "--url",
                "http://127.0.0.1:1",
            ])
            .assert()
            .code(2);
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}
