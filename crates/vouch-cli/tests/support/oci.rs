//! Test support for the registry tests: a Debian `docker-registry` (distribution 2.8, no
//! referrers API) started on a free loopback port with its own configuration and storage,
//! OCI image layouts built from files, and a minimal HTTP GET for reading what the registry
//! stores. No network beyond loopback, no image pulls.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// The registry binary, or `None` (test skipped, said on stderr) when it is absent and
/// VOUCH_REQUIRE_REGISTRY is unset. CI sets it: there a missing binary fails the test.
pub fn registry_binary() -> Option<PathBuf> {
    for p in ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"] {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var_os("VOUCH_REQUIRE_REGISTRY").is_some() {
        panic!(
            "docker-registry is not installed and VOUCH_REQUIRE_REGISTRY is set (run .ci/setup.d/50-registry.sh)"
        );
    }
    eprintln!("SKIPPED: docker-registry is not installed (.ci/setup.d/50-registry.sh installs it)");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct DockerRegistry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub host: String,
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DockerRegistry {
    /// Starts an instance; with `htpasswd` (user, password) it requires basic auth.
    pub fn start(bin: &Path, htpasswd: Option<(&str, &str)>) -> DockerRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut auth = String::new();
        if let Some((user, pass)) = htpasswd {
            // bcrypt by apache2-utils' htpasswd (distribution accepts bcrypt entries only).
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .expect("htpasswd (apache2-utils, installed by .ci/setup.d/50-registry.sh)");
            assert!(out.status.success());
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd:\n    realm: vouch-test\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let me = DockerRegistry { child, dir, host };
        let start = Instant::now();
        while TcpStream::connect(&me.host).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// The on-disk path of a blob (distribution's filesystem layout).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

/// `GET path` on a loopback HTTP server: (status, body).
pub fn http_get(host: &str, path: &str, accept: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    (status, body)
}

/// A tar archive of `files` (path, content).
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, *content).unwrap();
    }
    b.into_inner().unwrap()
}

/// An OCI image layout in `dir` with one image of `layers` (uncompressed tars); returns the
/// manifest bytes (its sha256 is the image digest).
pub fn write_layout(dir: &Path, layers: &[Vec<u8>]) -> Vec<u8> {
    write_artifact_layout(dir, layers, "application/vnd.oci.image.layer.v1.tar", None)
}

/// A layout whose image has `layers` of `media_type`, with per-layer annotations.
pub fn write_artifact_layout(
    dir: &Path,
    layers: &[Vec<u8>],
    media_type: &str,
    annotations: Option<Vec<serde_json::Value>>,
) -> Vec<u8> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha256(b);
        std::fs::write(blobs.join(d.strip_prefix("sha256:").unwrap()), b).unwrap();
        d
    };
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {}
    }))
    .unwrap();
    let config_digest = put(&config);
    let layer_descs: Vec<serde_json::Value> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut d =
                serde_json::json!({"mediaType": media_type, "digest": put(l), "size": l.len()});
            if let Some(a) = annotations.as_ref().and_then(|a| a.get(i)) {
                d["annotations"] = a.clone();
            }
            d
        })
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layer_descs,
    }))
    .unwrap();
    let md = put(&manifest);
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len()}]
        }))
        .unwrap(),
    )
    .unwrap();
    manifest
}
