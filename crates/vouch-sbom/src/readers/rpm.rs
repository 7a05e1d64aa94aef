//! RPM's SQLite package database (`rpmdb.sqlite`, RHEL/Fedora ≥ 9/33, openSUSE): each row of
//! `Packages` is an RPM header blob, decoded here (index entries of tag, type, offset, count
//! over a data store; big-endian) for NAME, EPOCH, VERSION, RELEASE, ARCH, LICENSE, VENDOR
//! and the REQUIRENAME/PROVIDENAME capabilities that give dependency edges. Opened read-only
//! through `rusqlite`. The purl namespace comes from the vendor (`Red Hat, Inc.` → `redhat`,
//! `Fedora Project` → `fedora`, …); `epoch` and `arch` are qualifiers.

use std::collections::HashMap;
use std::path::Path;

use vouch_core::InputError;

use super::Parsed;
use crate::licence::canonical;
use crate::model::{Component, Ecosystem};
use crate::purl::Purl;

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const VENDOR: u32 = 1011;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const PROVIDENAME: u32 = 1047;
const REQUIRENAME: u32 = 1049;

/// The fields vouch uses from one header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: String,
    pub license: String,
    pub vendor: String,
    pub provides: Vec<String>,
    pub requires: Vec<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn cstrings(data: &[u8], offset: usize, count: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = offset;
    for _ in 0..count.min(100_000) {
        let Some(rest) = data.get(pos..) else { break };
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        pos += end + 1;
    }
    out
}

/// Decodes an RPM header blob (as stored in rpmdb.sqlite, without the lead magic).
pub fn parse_header(blob: &[u8]) -> Option<Header> {
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    let index_end = 8usize.checked_add(il.checked_mul(16)?)?;
    let data = blob.get(index_end..index_end.checked_add(dl)?)?;
    let mut h = Header::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, ty, off, count) = (
            be32(blob, e)?,
            be32(blob, e + 4)?,
            be32(blob, e + 8)?,
            be32(blob, e + 12)?,
        );
        let off = usize::try_from(off).ok()?;
        let count = usize::try_from(count).ok()?;
        let strs = || match ty {
            6 | 8 | 9 => cstrings(data, off, if ty == 6 { 1 } else { count }),
            _ => Vec::new(),
        };
        let first = || strs().into_iter().next().unwrap_or_default();
        match tag {
            NAME => h.name = first(),
            VERSION => h.version = first(),
            RELEASE => h.release = first(),
            EPOCH if ty == 4 => h.epoch = be32(data, off),
            VENDOR => h.vendor = first(),
            LICENSE => h.license = first(),
            ARCH => h.arch = first(),
            PROVIDENAME => h.provides = strs(),
            REQUIRENAME => h.requires = strs(),
            _ => {}
        }
    }
    (!h.name.is_empty() && !h.version.is_empty()).then_some(h)
}

fn namespace(vendor: &str) -> Option<&'static str> {
    let v = vendor.to_ascii_lowercase();
    [
        ("red hat", "redhat"),
        ("fedora", "fedora"),
        ("centos", "centos"),
        ("rocky", "rocky"),
        ("almalinux", "almalinux"),
        ("opensuse", "opensuse"),
        ("suse", "suse"),
        ("amazon", "amzn"),
        ("oracle", "oracle"),
    ]
    .iter()
    .find(|(k, _)| v.contains(k))
    .map(|(_, n)| *n)
}

/// Components from decoded headers.
pub fn from_headers(path: &str, headers: Vec<Header>) -> Parsed {
    let mut providers: HashMap<String, String> = HashMap::new();
    let mut comps = Vec::new();
    for h in headers {
        if h.name == "gpg-pubkey" {
            continue; // imported signing keys, not packages
        }
        let version = if h.release.is_empty() {
            h.version.clone()
        } else {
            format!("{}-{}", h.version, h.release)
        };
        let mut p = Purl::new("rpm", namespace(&h.vendor), &h.name, Some(&version));
        if !h.arch.is_empty() {
            p = p.qualifier("arch", &h.arch);
        }
        if let Some(e) = h.epoch.filter(|e| *e > 0) {
            p = p.qualifier("epoch", &e.to_string());
        }
        let purl = p.to_string();
        providers
            .entry(h.name.clone())
            .or_insert_with(|| purl.clone());
        for cap in &h.provides {
            providers.entry(cap.clone()).or_insert_with(|| purl.clone());
        }
        let mut c = Component::new(Ecosystem::Rpm, &h.name, &version, purl);
        if !h.license.is_empty() {
            c.licenses.push(canonical(&h.license));
        }
        c.sources.push(path.to_string());
        comps.push((c, h.requires));
    }
    let mut out = Parsed::default();
    for (mut c, reqs) in comps {
        c.dependencies = reqs
            .iter()
            .filter_map(|r| providers.get(r).cloned())
            .collect();
        out.direct.push(c.purl.clone());
        out.components.push(c);
    }
    out
}

/// Reads an rpmdb.sqlite file.
pub fn read_db(rel: &str, full: &Path) -> Result<Parsed, InputError> {
    let bad = |e: rusqlite::Error| {
        InputError::in_file(rel, format!("cannot read the RPM database: {e}"))
            .with_hint("expected rpmdb.sqlite with a Packages table")
    };
    let conn = rusqlite::Connection::open_with_flags(
        full,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(bad)?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .map_err(bad)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(bad)?;
    let mut headers = Vec::new();
    for (i, row) in rows.enumerate() {
        let blob = row.map_err(bad)?;
        let h = parse_header(&blob).ok_or_else(|| {
            InputError::in_file(rel, format!("package header #{} is malformed", i + 1))
        })?;
        headers.push(h);
    }
    Ok(from_headers(rel, headers))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob: (tag, type, payload, count).
    pub(crate) fn blob(entries: &[(u32, u32, Vec<u8>, u32)]) -> Vec<u8> {
        let mut index: Vec<u8> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, ty, payload, count) in entries {
            index.extend(tag.to_be_bytes());
            index.extend(ty.to_be_bytes());
            index.extend((data.len() as u32).to_be_bytes());
            index.extend(count.to_be_bytes());
            data.extend(payload);
        }
        let mut out = Vec::new();
        out.extend((entries.len() as u32).to_be_bytes());
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    pub(crate) fn s(v: &str) -> Vec<u8> {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        b
    }

    pub(crate) fn pkg(name: &str, version: &str, requires: &[&str]) -> Vec<u8> {
        let reqs: Vec<u8> = requires.iter().flat_map(|r| s(r)).collect();
        blob(&[
            (NAME, 6, s(name), 1),
            (VERSION, 6, s(version), 1),
            (RELEASE, 6, s("1.el9"), 1),
            (EPOCH, 4, 1u32.to_be_bytes().to_vec(), 1),
            (ARCH, 6, s("x86_64"), 1),
            (LICENSE, 6, s("MIT"), 1),
            (VENDOR, 6, s("Red Hat, Inc."), 1),
            (REQUIRENAME, 8, reqs, requires.len() as u32),
        ])
    }

    #[test]
    fn reads_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rpmdb.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
            [],
        )
        .unwrap();
        for b in [
            pkg("glibc", "2.34", &[]),
            pkg("curl", "7.76.1", &["glibc", "rpmlib(X)"]),
        ] {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        drop(conn);
        let p = read_db("var/lib/rpm/rpmdb.sqlite", &db).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(
            p.components[1].purl,
            "pkg:rpm/redhat/curl@7.76.1-1.el9?arch=x86_64&epoch=1"
        );
        assert_eq!(
            p.components[1].dependencies,
            vec![p.components[0].purl.clone()]
        );
        assert_eq!(p.components[0].licenses, vec!["MIT".to_string()]);
        std::fs::write(&db, b"not sqlite").unwrap();
        assert!(read_db("rpmdb.sqlite", &db).is_err());
    }

    proptest::proptest! {
        #[test]
        fn header_never_panics(v in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_header(&v);
        }
    }
}
