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

/// Most bytes kept from all layers together (the wanted files only); beyond it the image is
/// refused rather than read into memory without bound.
const MAX_KEPT: u64 = 1024 * 1024 * 1024;

/// Most bytes one compressed layer may decompress to.
const MAX_LAYER_DECOMPRESSED: u64 = 16 * 1024 * 1024 * 1024;

/// Largest decompression ratio accepted once a layer has decompressed past
/// [`RATIO_GRACE`]: real layers compress 2–20×; a gzip bomb compresses 1000×.
const MAX_RATIO: u64 = 200;
const RATIO_GRACE: u64 = 64 * 1024 * 1024;

/// A digest used as a path: `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase, nothing
/// else, so that `blobs/<alg>/<hex>` can never leave the layout (`sha256:../../x`).
pub fn valid_digest(digest: &str) -> bool {
    let Some((alg, hex)) = digest.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An archive entry name, relative to the archive's root: `./` and leading `/` dropped;
/// `None` when a `..` component would take it out of the root.
fn entry_name(raw: &str) -> Option<String> {
    let name = raw.trim_start_matches("./").trim_start_matches('/');
    if name.split('/').any(|c| c == "..") {
        return None;
    }
    Some(name.to_string())
}

/// Reads a regular file of an OCI layout. Symlinks and special files (a FIFO would block
/// forever, a link could point outside the layout) are refused.
fn read_regular(root: &Path, rel: &str) -> Result<Vec<u8>, InputError> {
    let p = root.join(rel);
    let meta = std::fs::symlink_metadata(&p).map_err(|e| err(root, format!("{rel}: {e}")))?;
    if !meta.file_type().is_file() {
        return Err(err(root, format!("{rel} is not a regular file")));
    }
    let f = File::open(&p).map_err(|e| err(root, format!("{rel}: {e}")))?;
    let mut out = Vec::new();
    f.take(MAX_KEPT + 1)
        .read_to_end(&mut out)
        .map_err(|e| err(root, format!("{rel}: {e}")))?;
    if out.len() as u64 > MAX_KEPT {
        return Err(err(root, format!("{rel} is larger than {MAX_KEPT} bytes")));
    }
    Ok(out)
}

/// Counts the bytes read through it (the compressed side of a layer).
struct Counting<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Fails the read once the decompressed side exceeds the size or ratio limits.
struct BombGuard<R> {
    inner: R,
    compressed: std::rc::Rc<std::cell::Cell<u64>>,
    out: u64,
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let c = self.compressed.get().max(1);
        if self.out > MAX_LAYER_DECOMPRESSED || (self.out > RATIO_GRACE && self.out / c > MAX_RATIO)
        {
            return Err(std::io::Error::other(format!(
                "layer decompresses to more than {} bytes from {c} (limit {MAX_LAYER_DECOMPRESSED} bytes, ratio {MAX_RATIO}:1): refusing a decompression bomb",
                self.out
            )));
        }
        Ok(n)
    }
}

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
#[derive(Default, Clone)]
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
fn read_layer(reader: impl Read, image: &Path, kept: &mut u64) -> Result<Delta, InputError> {
    let mut delta = Delta::default();
    let compressed = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut buf = BufReader::new(Counting {
        inner: reader,
        count: compressed.clone(),
    });
    let mut magic = [0u8; 4];
    let n = peek(&mut buf, &mut magic);
    let inner: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(BombGuard {
            inner: flate2::read::GzDecoder::new(buf),
            compressed,
            out: 0,
        })
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
        let raw = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(name) = entry_name(&raw) else {
            return Err(err(
                image,
                format!("layer entry `{raw}` leaves the layer's root"),
            ));
        };
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
        *kept += entry.size();
        if *kept > MAX_KEPT {
            return Err(err(
                image,
                format!("the image's package databases and lockfiles exceed {MAX_KEPT} bytes"),
            ));
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
    let blob = |digest: &str| -> Result<String, InputError> {
        if !valid_digest(digest) {
            return Err(err(
                dir,
                format!("`{digest}` is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)"),
            ));
        }
        Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
    };
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
        let doc: Value = read(&blob(digest)?)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| err(dir, format!("blob {digest} missing or not JSON")))?;
        if let Some(layers) = doc.get("layers").and_then(Value::as_array) {
            let paths = layers
                .iter()
                .map(|l| {
                    l.get("digest")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err(dir, "layer descriptor without digest"))
                        .and_then(blob)
                })
                .collect::<Result<Vec<_>, _>>()?;
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
        let read = |rel: &str| read_regular(path, rel).ok();
        let (layers, tag) = oci_layers(path, &read)?;
        let mut kept = 0u64;
        for l in &layers {
            let full = path.join(l);
            let meta = std::fs::symlink_metadata(&full)
                .map_err(|e| err(path, format!("layer {l}: {e}")))?;
            if !meta.file_type().is_file() {
                return Err(err(path, format!("layer {l} is not a regular file")));
            }
            let f = File::open(&full).map_err(|e| err(path, format!("layer {l}: {e}")))?;
            read_layer(f, path, &mut kept)?.apply(&mut files);
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
        for l in &layers {
            if entry_name(l).as_deref() != Some(l.trim_start_matches("./")) || l.is_empty() {
                return Err(err(
                    path,
                    format!("layer name `{l}` leaves the archive's root"),
                ));
            }
        }
        let mut per_layer: BTreeMap<usize, Delta> = BTreeMap::new();
        let mut kept = 0u64;
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
            // The same layer may be listed more than once (identical empty layers).
            let at: Vec<usize> = layers
                .iter()
                .enumerate()
                .filter(|(i, l)| l.trim_start_matches("./") == name && !per_layer.contains_key(i))
                .map(|(i, _)| i)
                .collect();
            if let Some((first, rest)) = at.split_first() {
                let delta = read_layer(entry, path, &mut kept)?;
                for i in rest {
                    per_layer.insert(*i, delta.clone());
                }
                per_layer.insert(*first, delta);
            }
        }
        // A layer the manifest names but the tarball lacks would silently shrink the SBOM.
        if let Some((_, missing)) = layers
            .iter()
            .enumerate()
            .find(|(i, _)| !per_layer.contains_key(i))
        {
            return Err(err(
                path,
                format!("the manifest names layer `{missing}`, which is not in the tarball"),
            )
            .with_hint("the image is incomplete; save it again with `docker save`"));
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
            Err(e) if !opts.skip_unreadable => return Err(e),
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
    fn a_layer_missing_from_the_tarball_is_an_error() {
        let layer1 = tar_of(&[("var/lib/dpkg/status", STATUS)]);
        let layer2 = tar_of(&[("srv/package-lock.json", LOCK)]);
        let manifest = br#"[{"Config":"c.json","RepoTags":["example/app:1.0"],"Layers":["l1/layer.tar","l2/layer.tar","l1/layer.tar"]}]"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        // Complete (l1 listed twice, as identical layers are): fine.
        std::fs::write(
            &path,
            tar_of(&[
                ("manifest.json", manifest),
                ("l1/layer.tar", &layer1),
                ("l2/layer.tar", &layer2),
            ]),
        )
        .unwrap();
        assert_eq!(crate::scan(&path).unwrap().components.len(), 3);
        // Without l2: an error naming it, not an SBOM without its packages.
        std::fs::write(
            &path,
            tar_of(&[("manifest.json", manifest), ("l1/layer.tar", &layer1)]),
        )
        .unwrap();
        let e = crate::scan(&path).unwrap_err();
        assert!(e.to_string().contains("`l2/layer.tar`"), "{e}");
        // A layer name that climbs out of the archive is refused before any use.
        let bad = br#"[{"Layers":["../l1/layer.tar"]}]"#;
        std::fs::write(
            &path,
            tar_of(&[("manifest.json", bad), ("l1/layer.tar", &layer1)]),
        )
        .unwrap();
        let e = crate::scan(&path).unwrap_err();
        assert!(e.to_string().contains("leaves the archive"), "{e}");
    }

    #[test]
    fn digests_are_validated_before_they_become_paths() {
        assert!(valid_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(valid_digest(&format!("sha512:{}", "0".repeat(128))));
        for bad in [
            "sha256:../../../outside/x.tar".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("md5:{}", "a".repeat(32)),
            format!("sha256/{}", "a".repeat(64)),
            format!("sha256:{}/..", "a".repeat(61)),
        ] {
            assert!(!valid_digest(&bad), "{bad}");
        }
        // An OCI layout whose layer digest climbs out of the layout is an error, and the
        // file outside is never read.
        use sha2::{Digest, Sha256};
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("layout");
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::create_dir_all(top.path().join("outside")).unwrap();
        std::fs::write(
            top.path().join("outside/x.tar"),
            tar_of(&[("var/lib/dpkg/status", STATUS)]),
        )
        .unwrap();
        let manifest =
            br#"{"schemaVersion":2,"layers":[{"digest":"sha256:../../../outside/x.tar"}]}"#;
        let md = hex::encode(Sha256::digest(manifest));
        std::fs::write(blobs.join(&md), manifest).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::write(
            dir.join("index.json"),
            format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"sha256:{md}"}}]}}"#),
        )
        .unwrap();
        let e = crate::scan(&dir).unwrap_err();
        assert!(e.to_string().contains("not a valid digest"), "{e}");
        // The same for the manifest digest in index.json.
        std::fs::write(
            dir.join("index.json"),
            r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:../../outside/x.tar"}]}"#,
        )
        .unwrap();
        assert!(crate::scan(&dir).is_err());
    }

    #[test]
    fn layer_entries_never_leave_the_root() {
        let layer = tar_of(&[("srv/package-lock.json", LOCK)]);
        // tar::Builder refuses `..` names, so write the header by hand.
        let mut evil = tar::Header::new_gnu();
        evil.set_size(LOCK.len() as u64);
        evil.set_mode(0o644);
        {
            let name = b"../../etc/package-lock.json";
            let h = evil.as_old_mut();
            h.name[..name.len()].copy_from_slice(name);
        }
        evil.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&evil, LOCK).unwrap();
        let evil_layer = b.into_inner().unwrap();
        for (l, ok) in [(&layer, true), (&evil_layer, false)] {
            let r = read_layer(&l[..], Path::new("img"), &mut 0);
            assert_eq!(r.is_ok(), ok);
        }
    }

    #[test]
    fn a_gzip_bomb_layer_is_refused() {
        // 200 MiB of zeros in one wanted file compresses to about 200 KiB (ratio ~1000:1).
        use std::io::Write;
        let size: u64 = 200 * 1024 * 1024;
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_path("var/lib/dpkg/status").unwrap();
        h.set_cksum();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(h.as_bytes()).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..200 {
            enc.write_all(&zeros).unwrap();
        }
        enc.write_all(&[0u8; 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024);
        let e = read_layer(&bomb[..], Path::new("img"), &mut 0)
            .err()
            .unwrap();
        assert!(e.to_string().contains("decompression bomb"), "{e}");
        // An ordinary gzip layer is fine.
        assert!(
            read_layer(
                &gz(&tar_of(&[("var/lib/dpkg/status", STATUS)]))[..],
                Path::new("img"),
                &mut 0
            )
            .is_ok()
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
