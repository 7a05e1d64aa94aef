//! Go binaries' embedded build information (`go version -m`): the `.go.buildinfo` blob that
//! Go 1.18+ writes into every executable, found by its magic `\xff Go buildinf:` and read
//! without parsing the object format (ELF, Mach-O and PE alike). The module lines are
//! `path`, `mod` (the main module), `dep PATH VERSION [SUM]` and `=> PATH VERSION [SUM]`
//! (the replacement of the preceding dep). `h1:` sums are Go's directory hashes, not reported.
//! Binaries from Go < 1.18 (pointer-based build info) are reported as unsupported.

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Subject};
use crate::readers::gomod::go_purl;

const MAGIC: &[u8] = b"\xff Go buildinf:";

/// Whether the bytes start like an executable (ELF, Mach-O, PE).
pub fn is_executable(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
        || bytes.starts_with(b"MZ")
        || bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || bytes.starts_with(&[0xce, 0xfa, 0xed, 0xfe])
}

fn uvarint(b: &[u8]) -> Option<(usize, usize)> {
    let mut x: u64 = 0;
    for (i, byte) in b.iter().enumerate().take(10) {
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((usize::try_from(x).ok()?, i + 1));
        }
    }
    None
}

fn string_at(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = uvarint(b)?;
    let end = n.checked_add(len)?;
    Some((b.get(n..end)?, b.get(end..)?))
}

/// Reads the build information of a Go executable; `path` is used for errors and sources.
pub fn read_bytes(path: &str, bytes: &[u8]) -> Result<Parsed, InputError> {
    let not_go = || {
        InputError::in_file(path, "no Go build information in this executable")
            .with_hint("only Go 1.18+ binaries carry module information")
    };
    let start = bytes
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
        .ok_or_else(not_go)?;
    let header = bytes.get(start..start + 32).ok_or_else(not_go)?;
    if header[15] & 2 == 0 {
        return Err(InputError::in_file(
            path,
            "Go build information from before Go 1.18 is not supported",
        ));
    }
    let rest = &bytes[start + 32..];
    let (_version, rest) = string_at(rest).ok_or_else(not_go)?;
    let (modinfo, _) = string_at(rest).ok_or_else(not_go)?;
    // modinfo is framed by 16-byte sentinels.
    let text = String::from_utf8_lossy(
        modinfo
            .get(16..modinfo.len().saturating_sub(16))
            .unwrap_or(&[]),
    );
    let mut out = Parsed::default();
    let mut last: Option<Component> = None;
    let push = |c: Option<Component>, out: &mut Parsed| {
        if let Some(c) = c {
            out.direct.push(c.purl.clone());
            out.components.push(c);
        }
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", m, v, ..] => {
                out.subject = Some(Subject {
                    name: m.to_string(),
                    version: Some(v.to_string()).filter(|v| v != "(devel)"),
                });
            }
            ["dep", m, v, ..] => {
                push(last.take(), &mut out);
                let mut c = Component::new(Ecosystem::Go, m, v, go_purl(m, v));
                c.sources.push(path.to_string());
                last = Some(c);
            }
            ["=>", m, v, ..] if !v.is_empty() => {
                // The replacement takes the place of the preceding dep.
                let mut c = Component::new(Ecosystem::Go, m, v, go_purl(m, v));
                c.sources.push(path.to_string());
                last = Some(c);
            }
            ["=>", ..] => {
                last = None; // replaced by a local directory: part of the build, not a module
            }
            _ => {}
        }
    }
    push(last.take(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut n = n;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    pub(crate) fn fake_binary(modinfo: &str) -> Vec<u8> {
        let mut b = b"\x7fELF....padding....".to_vec();
        b.extend_from_slice(MAGIC);
        b.push(8);
        b.push(2);
        b.extend_from_slice(&[0u8; 16]);
        let version = b"go1.22.1";
        b.extend(varint(version.len()));
        b.extend_from_slice(version);
        let mut mi = vec![0x30u8; 16];
        mi.extend_from_slice(modinfo.as_bytes());
        mi.extend_from_slice(&[0x31u8; 16]);
        b.extend(varint(mi.len()));
        b.extend(mi);
        b.extend_from_slice(b"trailing");
        b
    }

    #[test]
    fn reads() {
        let bin = fake_binary(
            "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:abc=\ndep\tgolang.org/x/sys\tv0.1.0\th1:def=\n=>\tgolang.org/x/sys\tv0.2.0\th1:ghi=\ndep\texample.com/local\tv0.0.0\n=>\t../local\t\nbuild\t-compiler=gc\n",
        );
        let p = read_bytes("app", &bin).unwrap();
        let purls: Vec<_> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/pkg/errors@v0.9.1",
                "pkg:golang/golang.org/x/sys@v0.2.0"
            ]
        );
        assert_eq!(p.subject.unwrap().name, "example.com/app");
        assert!(read_bytes("x", b"\x7fELF nothing here").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(v in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut b = b"\xff Go buildinf:".to_vec();
            b.extend(v);
            let _ = read_bytes("x", &b);
        }
    }
}
