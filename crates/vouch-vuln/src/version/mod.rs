//! Version ordering per ecosystem, with the semantics OSV ranges of type `ECOSYSTEM` assume.
//!
//! | ecosystem | implementation |
//! |---|---|
//! | crates.io, npm, Hex, Pub, `SEMVER` ranges | the `semver` crate (SemVer 2.0, build metadata ignored) |
//! | Go | `semver` after stripping `v`/`go`, `+incompatible`; `go1.21rc2` style toolchains |
//! | PyPI | [`pep440`] (written here: the Rust PEP 440 crates pull a large tree or reject legacy forms) |
//! | Maven | [`maven`] (Maven's `ComparableVersion` algorithm) |
//! | RubyGems | [`gem`] (`Gem::Version`) |
//! | NuGet | [`nuget`] (`NuGetVersion`: four parts, case-insensitive labels) |
//! | Packagist | [`composer`] (PHP `version_compare` after Composer normalisation) |
//! | Debian, Ubuntu | [`dpkg`] (`dpkg --compare-versions`) |
//! | Alpine | [`apk`] (`apk version -t`) |
//! | Red Hat, Rocky Linux, AlmaLinux, SUSE, openSUSE, Mageia | [`rpm`] (`rpmvercmp`) |
//!
//! Every comparator is tested against published ordering vectors (see each module's tests).

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod gem;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod semver_like;

use std::cmp::Ordering;
use std::fmt;

/// A version string that does not follow its ecosystem's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{version}` is not a valid {scheme} version")]
pub struct VersionError {
    pub version: String,
    pub scheme: &'static str,
}

impl VersionError {
    pub(crate) fn new(scheme: &'static str, version: &str) -> Self {
        VersionError {
            version: version.chars().take(80).collect(),
            scheme,
        }
    }
}

/// The ecosystems vouch can match, named as OSV names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    CratesIo,
    Npm,
    PyPI,
    Go,
    Maven,
    RubyGems,
    NuGet,
    Packagist,
    Hex,
    Pub,
    Debian,
    Ubuntu,
    Alpine,
    RedHat,
    RockyLinux,
    AlmaLinux,
    Suse,
    OpenSuse,
    Mageia,
}

/// How versions of an ecosystem are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    SemVer,
    Go,
    Pep440,
    Maven,
    Gem,
    NuGet,
    Composer,
    Dpkg,
    Apk,
    Rpm,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::SemVer => "SemVer",
            Scheme::Go => "Go module",
            Scheme::Pep440 => "PEP 440",
            Scheme::Maven => "Maven",
            Scheme::Gem => "RubyGems",
            Scheme::NuGet => "NuGet",
            Scheme::Composer => "Composer",
            Scheme::Dpkg => "Debian",
            Scheme::Apk => "Alpine",
            Scheme::Rpm => "RPM",
        }
    }
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 19] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Packagist,
        Ecosystem::Hex,
        Ecosystem::Pub,
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::RedHat,
        Ecosystem::RockyLinux,
        Ecosystem::AlmaLinux,
        Ecosystem::Suse,
        Ecosystem::OpenSuse,
        Ecosystem::Mageia,
    ];

    /// The OSV name (`crates.io`, `PyPI`, `Debian`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Hex => "Hex",
            Ecosystem::Pub => "Pub",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::RockyLinux => "Rocky Linux",
            Ecosystem::AlmaLinux => "AlmaLinux",
            Ecosystem::Suse => "SUSE",
            Ecosystem::OpenSuse => "openSUSE",
            Ecosystem::Mageia => "Mageia",
        }
    }

    /// Parses an OSV ecosystem name; the release suffix (`Debian:12`, `Alpine:v3.19`) is
    /// ignored. `None` for ecosystems vouch cannot order (they are reported, not ignored).
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        let base = name.split(':').next().unwrap_or(name).trim();
        Ecosystem::ALL.iter().copied().find(|e| e.as_str() == base)
    }

    pub fn scheme(self) -> Scheme {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Hex | Ecosystem::Pub => {
                Scheme::SemVer
            }
            Ecosystem::Go => Scheme::Go,
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::RubyGems => Scheme::Gem,
            Ecosystem::NuGet => Scheme::NuGet,
            Ecosystem::Packagist => Scheme::Composer,
            Ecosystem::Debian | Ecosystem::Ubuntu => Scheme::Dpkg,
            Ecosystem::Alpine => Scheme::Apk,
            Ecosystem::RedHat
            | Ecosystem::RockyLinux
            | Ecosystem::AlmaLinux
            | Ecosystem::Suse
            | Ecosystem::OpenSuse
            | Ecosystem::Mageia => Scheme::Rpm,
        }
    }

    /// The package name as the ecosystem compares it: PEP 503 for PyPI, case-folded where the
    /// registry is case-insensitive, unchanged elsewhere.
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::PyPI => pep440::normalize_name(name),
            Ecosystem::CratesIo => name.to_ascii_lowercase().replace('_', "-"),
            Ecosystem::NuGet | Ecosystem::Packagist | Ecosystem::Pub | Ecosystem::Hex => {
                name.to_ascii_lowercase()
            }
            _ => name.to_string(),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed version of some scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    SemVer(semver_like::SemVer),
    Pep440(pep440::Pep440),
    Maven(maven::MavenVersion),
    Gem(gem::GemVersion),
    NuGet(nuget::NuGetVersion),
    Composer(composer::ComposerVersion),
    Dpkg(dpkg::DpkgVersion),
    Apk(apk::ApkVersion),
    Rpm(rpm::RpmVersion),
}

impl Version {
    /// Parses `text` under `scheme`.
    pub fn parse(scheme: Scheme, text: &str) -> Result<Version, VersionError> {
        Ok(match scheme {
            Scheme::SemVer => Version::SemVer(semver_like::SemVer::parse(text)?),
            Scheme::Go => Version::SemVer(semver_like::SemVer::parse_go(text)?),
            Scheme::Pep440 => Version::Pep440(pep440::Pep440::parse(text)?),
            Scheme::Maven => Version::Maven(maven::MavenVersion::parse(text)?),
            Scheme::Gem => Version::Gem(gem::GemVersion::parse(text)?),
            Scheme::NuGet => Version::NuGet(nuget::NuGetVersion::parse(text)?),
            Scheme::Composer => Version::Composer(composer::ComposerVersion::parse(text)?),
            Scheme::Dpkg => Version::Dpkg(dpkg::DpkgVersion::parse(text)?),
            Scheme::Apk => Version::Apk(apk::ApkVersion::parse(text)?),
            Scheme::Rpm => Version::Rpm(rpm::RpmVersion::parse(text)?),
        })
    }

    /// Orders two versions of the same scheme; versions of different schemes are unordered.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::SemVer(a), Version::SemVer(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            (Version::Gem(a), Version::Gem(b)) => a.cmp(b),
            (Version::NuGet(a), Version::NuGet(b)) => a.cmp(b),
            (Version::Composer(a), Version::Composer(b)) => a.cmp(b),
            (Version::Dpkg(a), Version::Dpkg(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

/// Compares two version strings under `scheme`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let va = Version::parse(scheme, a)?;
    let vb = Version::parse(scheme, b)?;
    va.compare(&vb)
        .ok_or_else(|| VersionError::new(scheme.name(), b))
}

/// Compares digit strings of any length numerically (leading zeros ignored).
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Checks lines of `a < b`, `a = b`, `a > b` (the format of published ordering vectors).
    pub fn check_vectors(scheme: Scheme, vectors: &str) {
        let mut n = 0;
        for line in vectors.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "bad vector line {line}");
            let want = match parts[1] {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                op => panic!("bad op {op}"),
            };
            let got = compare(scheme, parts[0], parts[2]).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(got, want, "{:?}: {line}", scheme);
            let back = compare(scheme, parts[2], parts[0]).unwrap();
            assert_eq!(back, want.reverse(), "{:?}: reverse of {line}", scheme);
            n += 1;
        }
        assert!(n > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_names() {
        assert_eq!(Ecosystem::from_osv("Debian:12"), Some(Ecosystem::Debian));
        assert_eq!(Ecosystem::from_osv("crates.io"), Some(Ecosystem::CratesIo));
        assert_eq!(Ecosystem::from_osv("Bitnami"), None);
        assert_eq!(
            Ecosystem::PyPI.normalize_name("Foo.Bar__baz"),
            "foo-bar-baz"
        );
    }
}
