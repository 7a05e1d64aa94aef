//! package-url (purl) construction and parsing, per the package-url specification.
//!
//! Written here rather than taken from the `packageurl` crate: vouch needs the per-type
//! normalisations of the spec in one place (PyPI names lower-cased with `_` → `-`, npm and
//! Composer lower-cased, Go module paths split into namespace and name, Debian/RPM qualifiers)
//! and a canonical string (qualifiers sorted, `:` kept, everything else outside the unreserved
//! set percent-encoded) that is byte-stable across releases; the builder is short.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A package-url under construction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Purl {
    /// A purl of `ty` for `name`, applying the type's name normalisation.
    pub fn new(ty: &str, namespace: Option<&str>, name: &str, version: Option<&str>) -> Purl {
        let ty = ty.to_ascii_lowercase();
        let lower = matches!(
            ty.as_str(),
            "npm" | "pypi" | "composer" | "hex" | "pub" | "bitbucket" | "github"
        );
        let norm = |s: &str| {
            let mut s = if lower {
                s.to_lowercase()
            } else {
                s.to_string()
            };
            if ty == "pypi" {
                s = s.replace('_', "-");
            }
            s
        };
        Purl {
            namespace: namespace
                .filter(|n| !n.is_empty())
                .map(|n| norm(n.trim_matches('/'))),
            name: norm(name),
            version: version.filter(|v| !v.is_empty()).map(str::to_string),
            qualifiers: BTreeMap::new(),
            subpath: None,
            ty,
        }
    }

    /// Adds a qualifier (ignored when `value` is empty, as the spec requires).
    pub fn qualifier(mut self, key: &str, value: &str) -> Purl {
        if !value.is_empty() {
            self.qualifiers
                .insert(key.to_ascii_lowercase(), value.to_string());
        }
        self
    }

    /// The canonical string.
    pub fn to_canonical(&self) -> String {
        let mut out = String::with_capacity(64);
        out.push_str("pkg:");
        out.push_str(&self.ty);
        out.push('/');
        if let Some(ns) = &self.namespace {
            for (i, seg) in ns.split('/').filter(|s| !s.is_empty()).enumerate() {
                if i > 0 {
                    out.push('/');
                }
                encode_into(&mut out, seg);
            }
            out.push('/');
        }
        encode_into(&mut out, &self.name);
        if let Some(v) = &self.version {
            out.push('@');
            encode_into(&mut out, v);
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            encode_into(&mut out, v);
        }
        if let Some(sp) = &self.subpath {
            out.push('#');
            for (i, seg) in sp.split('/').filter(|s| !s.is_empty()).enumerate() {
                if i > 0 {
                    out.push('/');
                }
                encode_into(&mut out, seg);
            }
        }
        out
    }

    /// Parses a purl string; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Purl> {
        let rest = s.trim().strip_prefix("pkg:")?.trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, sp)) => (r, Some(decode(sp))),
            None => (rest, None),
        };
        let (rest, quals) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (ty, path) = rest.split_once('/')?;
        if ty.is_empty() {
            return None;
        }
        let path = path.trim_end_matches('/');
        // The version follows the last `@` of the last segment.
        let (path, version) = match path.rfind('@') {
            Some(i) if !path[i..].contains('/') => (&path[..i], Some(decode(&path[i + 1..]))),
            _ => (path, None),
        };
        let (namespace, name) = match path.rfind('/') {
            Some(i) => (
                Some(
                    path[..i]
                        .split('/')
                        .map(decode)
                        .collect::<Vec<_>>()
                        .join("/"),
                ),
                decode(&path[i + 1..]),
            ),
            None => (None, decode(path)),
        };
        if name.is_empty() {
            return None;
        }
        let mut qualifiers = BTreeMap::new();
        for pair in quals.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            if let Some((k, v)) = pair.split_once('=') {
                qualifiers.insert(k.to_ascii_lowercase(), decode(v));
            }
        }
        Some(Purl {
            ty: ty.to_ascii_lowercase(),
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        })
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

/// Splits a name with an npm scope (`@babel/core`) into (namespace, name).
pub fn split_npm(name: &str) -> (Option<&str>, &str) {
    match name.strip_prefix('@').and_then(|_| name.split_once('/')) {
        Some((scope, n)) => (Some(scope), n),
        None => (None, name),
    }
}

/// Splits at the last `/` (Go module paths, Composer `vendor/name`).
pub fn split_last(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(
            Purl::new("npm", Some("@babel"), "core", Some("7.0.0")).to_string(),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            Purl::new("pypi", None, "Django_Rest", Some("1.0")).to_string(),
            "pkg:pypi/django-rest@1.0"
        );
        assert_eq!(
            Purl::new(
                "golang",
                Some("github.com/gorilla"),
                "context",
                Some("v1.1.1")
            )
            .to_string(),
            "pkg:golang/github.com/gorilla/context@v1.1.1"
        );
        assert_eq!(
            Purl::new("deb", Some("debian"), "curl", Some("7.50.3-1"))
                .qualifier("distro", "jessie")
                .qualifier("arch", "i386")
                .to_string(),
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"
        );
        assert_eq!(
            Purl::new("cargo", None, "rand", Some("0.7.2+build")).to_string(),
            "pkg:cargo/rand@0.7.2%2Bbuild"
        );
        assert_eq!(
            Purl::new("rpm", Some("fedora"), "curl", Some("7.50.3-1.fc25"))
                .qualifier("epoch", "1")
                .to_string(),
            "pkg:rpm/fedora/curl@7.50.3-1.fc25?epoch=1"
        );
    }

    #[test]
    fn round_trip() {
        for s in [
            "pkg:npm/%40babel/core@7.0.0",
            "pkg:golang/github.com/gorilla/context@v1.1.1",
            "pkg:maven/org.apache.commons/io@1.3.4?type=jar",
            "pkg:cargo/rand@0.7.2%2Bbuild",
            "pkg:gem/rails@7.1.0",
        ] {
            let p = Purl::parse(s).expect(s);
            assert_eq!(p.to_string(), s);
        }
        let p = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("@babel"));
        assert_eq!(p.name, "core");
        assert_eq!(p.version.as_deref(), Some("7.0.0"));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = Purl::parse(&s);
        }
    }
}
