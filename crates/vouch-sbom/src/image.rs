//! Container images: a `docker save` tarball or an OCI image layout directory.
//!
//! The layers are read in manifest order without unpacking anything to disk; only the files a
//! reader wants (OS package databases, lockfiles outside `node_modules`) are kept, and OCI
//! whiteouts (`.wh.<name>`, `.wh..wh..opq`) of later layers remove files of earlier ones. The
//! result is scanned like an unpacked root filesystem. Layers may be plain or gzip tar; zstd
//! layers are reported as unsupported.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde_json::Value;
use vouch_core::InputError;

use crate::model::{Inventory, Subject};
use crate::readers;
use crate::scan::ScanOptions;

/// Largest single file kept from a layer (a package database or lockfile).
const MAX_FILE: u64 = 256 * 1024 * 1024;

/// Whether `path` looks like an image: an OCI layout directory or a tar file.
pub fn is_image(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("oci-layout").is_file() && path.join("index.json").is_file();
    }
    let mut head = [0u8; 262];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head[257..262] == b"ustar")
        .unwrap_or(false)
}

fn wanted(path: &str) -> bool {
    path == "etc/os-release"
        || path == "usr/lib/os-release"
        || (!path.split('/').any(|s| s == "node_modules") && readers::reader_for(path).is_some())
}

fn err(path: &Path, msg: impl Into<String>) -> InputError {
    InputError::in_file(path, msg)
        .with_hint("expected a `docker save` tarball or an OCI image layout")
}

/// What one layer changes: files it adds and paths/directories it hides in lower layers.
#[derive(Default)]
struct Delta {
    files: BTreeMap<String, Vec<u8>>,
    whiteouts: Vec<String>,
    opaque: Vec<String>,
}

impl Delta {
    /// Applies this layer on top of the lower layers' files.
    fn apply(self, files: &mut BTreeMap<String, Vec<u8>>) {
        for dir in &self.opaque {
            files.retain(|k, _| !k.starts_with(dir.as_str()));
        }
        for t in &self.whiteouts {
            let under = format!("{t}/");
            files.retain(|k, _| k != t && !k.starts_with(&under));
        }
        files.extend(self.files);
    }
}

/// Reads one layer (a tar stream, possibly gzip).
fn read_layer(reader: impl Read, image: &Path) -> Result<Delta, InputError> {
    let mut delta = Delta::default();
    let mut buf = BufReader::new(reader);
    let mut magic = [0u8; 4];
    let n = peek(&mut buf, &mut magic);
    let inner: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(buf))
    } else if n >= 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        return Err(err(image, "zstd-compressed layers are not supported"));
    } else {
        Box::new(buf)
    };
    let mut archive = tar::Archive::new(inner);
    let entries = archive
        .entries()
        .map_err(|e| err(image, format!("bad layer: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| err(image, format!("bad layer entry: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = name
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let (dir, base) = name
            .rsplit_once('/')
            .map(|(d, b)| (format!("{d}/"), b))
            .unwrap_or((String::new(), name.as_str()));
        if base == ".wh..wh..opq" {
            delta.opaque.push(dir);
            continue;
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            delta.whiteouts.push(format!("{dir}{hidden}"));
            continue;
        }
        if !entry.header().entry_type().is_file() || !wanted(&name) || entry.size() > MAX_FILE {
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| err(image, format!("bad layer entry {name}: {e}")))?;
        delta.files.insert(name, bytes);
    }
    Ok(delta)
}

fn peek(buf: &mut BufReader<impl Read>, out: &mut [u8; 4]) -> usize {
    use std::io::BufRead;
    match buf.fill_buf() {
        Ok(b) => {
            let n = b.len().min(4);
            out[..n].copy_from_slice(&b[..n]);
            n
        }
        Err(_) => 0,
    }
}

/// The layer blob paths of an OCI layout (first manifest of the index), relative to it.
fn oci_layers(
    dir: &Path,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<(Vec<String>, Option<String>), InputError> {
    let index: Value = read("index.json")
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| err(dir, "index.json missing or not JSON"))?;
    let blob = |digest: &str| format!("blobs/{}", digest.replacen(':', "/", 1));
    let mut desc = index
        .pointer("/manifests/0")
        .cloned()
        .ok_or_else(|| err(dir, "index.json lists no manifest"))?;
    let tag = desc
        .pointer("/annotations/org.opencontainers.image.ref.name")
        .and_then(Value::as_str)
        .map(str::to_string);
    for _ in 0..4 {
        let digest = desc
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| err(dir, "manifest descriptor without digest"))?;
        let doc: Value = read(&blob(digest))
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| err(dir, format!("blob {digest} missing or not JSON")))?;
        if let Some(layers) = doc.get("layers").and_then(Value::as_array) {
            let paths = layers
                .iter()
                .filter_map(|l| l.get("digest").and_then(Value::as_str))
                .map(blob)
                .collect();
            return Ok((paths, tag));
        }
        // An index (multi-platform): prefer linux/amd64, else the first.
        let manifests = doc
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        desc = manifests
            .iter()
            .find(|m| m.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64"))
            .or_else(|| manifests.first())
            .cloned()
            .ok_or_else(|| err(dir, "image index lists no manifest"))?;
    }
    Err(err(dir, "image index nested too deeply"))
}

/// Scans an image into an inventory.
pub fn scan_image(path: &Path, opts: &ScanOptions) -> Result<Inventory, InputError> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let subject_name = if path.is_dir() {
        let read = |rel: &str| std::fs::read(path.join(rel)).ok();
        let (layers, tag) = oci_layers(path, &read)?;
        for l in &layers {
            let f = File::open(path.join(l)).map_err(|e| err(path, format!("layer {l}: {e}")))?;
            read_layer(f, path)?.apply(&mut files);
        }
        tag
    } else {
        // Pass 1: the small JSON documents; pass 2: layers in manifest order.
        let mut small: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let open = || File::open(path).map_err(|e| err(path, format!("cannot read: {e}")));
        let mut archive = tar::Archive::new(BufReader::new(open()?));
        for entry in archive
            .entries()
            .map_err(|e| err(path, format!("not a tar archive: {e}")))?
        {
            let mut entry = entry.map_err(|e| err(path, format!("bad tar entry: {e}")))?;
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = name.trim_start_matches("./").to_string();
            if entry.size() < 4 * 1024 * 1024
                && (name.ends_with(".json") || name.starts_with("blobs/"))
            {
                let mut b = Vec::new();
                if entry.read_to_end(&mut b).is_ok() && serde_json::from_slice::<Value>(&b).is_ok()
                {
                    small.insert(name, b);
                }
            }
        }
        let (layers, tag) = if let Some(m) = small.get("manifest.json") {
            let m: Value =
                serde_json::from_slice(m).map_err(|e| err(path, format!("manifest.json: {e}")))?;
            let layers = m
                .pointer("/0/Layers")
                .and_then(Value::as_array)
                .ok_or_else(|| err(path, "manifest.json has no Layers"))?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>();
            let tag = m
                .pointer("/0/RepoTags/0")
                .and_then(Value::as_str)
                .map(str::to_string);
            (layers, tag)
        } else {
            oci_layers(path, &|rel: &str| small.get(rel).cloned())?
        };
        let mut per_layer: BTreeMap<usize, Delta> = BTreeMap::new();
        let mut archive = tar::Archive::new(BufReader::new(open()?));
        for entry in archive
            .entries()
            .map_err(|e| err(path, format!("not a tar archive: {e}")))?
        {
            let entry = entry.map_err(|e| err(path, format!("bad tar entry: {e}")))?;
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = name.trim_start_matches("./").to_string();
            if let Some(i) = layers.iter().position(|l| l == &name) {
                per_layer.insert(i, read_layer(entry, path)?);
            }
        }
        // Layers in manifest order, whatever their order in the tarball.
        for (_, delta) in per_layer {
            delta.apply(&mut files);
        }
        tag
    };
    let mut inv = Inventory::default();
    let os_release: Option<String> = ["usr/lib/os-release", "etc/os-release"]
        .iter()
        .find_map(|p| files.get(*p))
        .map(|b| String::from_utf8_lossy(b).into_owned());
    for (rel, bytes) in &files {
        let Some(reader) = readers::reader_for(rel) else {
            continue;
        };
        let result = if rel.ends_with("rpmdb.sqlite") {
            // SQLite needs a file: a private temporary copy, removed right after.
            let tmp = std::env::temp_dir().join(format!(
                "vouch-rpmdb-{}-{}.sqlite",
                std::process::id(),
                inv.files.len()
            ));
            let r = std::fs::write(&tmp, bytes)
                .map_err(|e| err(path, format!("cannot stage {rel}: {e}")))
                .and_then(|_| readers::rpm::read_db(rel, &tmp));
            let _ = std::fs::remove_file(&tmp);
            r
        } else {
            reader(rel, &String::from_utf8_lossy(bytes))
        };
        match result {
            Ok(p) => {
                inv.files.push(rel.clone());
                inv.direct.extend(p.direct);
                inv.add(p.components);
            }
            Err(e) if opts.strict => return Err(e),
            Err(e) => inv.warnings.push(e),
        }
    }
    if let Some(text) = &os_release {
        crate::scan::apply_os_release(&mut inv, text);
    }
    inv.subject = Subject {
        name: subject_name.unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        version: None,
    };
    inv.finish();
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    const STATUS: &[u8] = b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1-10\nDepends: libc6\n";
    const LOCK: &[u8] =
        br#"{"lockfileVersion":3,"packages":{"":{},"node_modules/left-pad":{"version":"1.3.0"}}}"#;

    #[test]
    fn docker_save_tarball_with_whiteouts() {
        let layer1 = tar_of(&[
            ("var/lib/dpkg/status", STATUS),
            ("app/old/package-lock.json", LOCK),
        ]);
        let layer2 = gz(&tar_of(&[
            ("app/.wh.old", b""),
            ("srv/package-lock.json", LOCK),
            ("srv/node_modules/x/package-lock.json", LOCK),
        ]));
        let manifest = br#"[{"Config":"c.json","RepoTags":["example/app:1.0"],"Layers":["l1/layer.tar","l2/layer.tar.gz"]}]"#;
        // Layers deliberately stored in the reverse of manifest order.
        let image = tar_of(&[
            ("l2/layer.tar.gz", &layer2),
            ("manifest.json", manifest),
            ("l1/layer.tar", &layer1),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, image).unwrap();
        assert!(is_image(&path));
        let inv = crate::scan(&path).unwrap();
        assert_eq!(inv.subject.name, "example/app:1.0");
        let purls: Vec<_> = inv.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:deb/debian/curl@7.88.1-10?arch=amd64",
                "pkg:deb/debian/libc6@2.36-9?arch=amd64",
                "pkg:npm/left-pad@1.3.0"
            ]
        );
        assert_eq!(inv.files, ["srv/package-lock.json", "var/lib/dpkg/status"]);
    }

    #[test]
    fn oci_layout() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |data: &[u8]| {
            let d = hex::encode(Sha256::digest(data));
            std::fs::write(blobs.join(&d), data).unwrap();
            format!("sha256:{d}")
        };
        let layer = put(&gz(&tar_of(&[(
            "lib/apk/db/installed",
            b"P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n",
        )])));
        let manifest =
            put(format!(r#"{{"schemaVersion":2,"layers":[{{"digest":"{layer}"}}]}}"#).as_bytes());
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("index.json"), format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{manifest}","annotations":{{"org.opencontainers.image.ref.name":"alpine:3.19"}}}}]}}"#)).unwrap();
        let inv = crate::scan(dir.path()).unwrap();
        assert_eq!(inv.subject.name, "alpine:3.19");
        assert_eq!(
            inv.components[0].purl,
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"
        );
    }

    #[test]
    fn broken_image_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tar");
        std::fs::write(&path, tar_of(&[("manifest.json", b"[{}]")])).unwrap();
        let e = crate::scan(&path).unwrap_err();
        assert!(e.to_string().contains("Layers"), "{e}");
    }
}
