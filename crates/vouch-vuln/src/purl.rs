//! Package URLs → (ecosystem, name, version), with the `packageurl` crate doing the parsing.

use crate::version::Ecosystem;

/// What a purl names, in OSV terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlPackage {
    /// The OSV ecosystem, or the purl type when vouch cannot match it (`Err`).
    pub ecosystem: Result<Ecosystem, String>,
    pub name: String,
    pub version: Option<String>,
}

/// Parses a purl; `None` when it is not one.
pub fn parse(purl: &str) -> Option<PurlPackage> {
    let p = packageurl::PackageUrl::from_str_lossy(purl)?;
    let ns = p.namespace();
    let name = p.name();
    let ty = p.ty().to_ascii_lowercase();
    let joined = |sep: &str| match ns {
        Some(n) if !n.is_empty() => format!("{n}{sep}{name}"),
        _ => name.to_string(),
    };
    let (eco, name) = match ty.as_str() {
        "cargo" => (Ok(Ecosystem::CratesIo), name.to_string()),
        "npm" => (Ok(Ecosystem::Npm), joined("/")),
        "pypi" => (Ok(Ecosystem::PyPI), name.to_string()),
        "golang" => (Ok(Ecosystem::Go), joined("/")),
        "maven" => (Ok(Ecosystem::Maven), joined(":")),
        "gem" => (Ok(Ecosystem::RubyGems), name.to_string()),
        "nuget" => (Ok(Ecosystem::NuGet), name.to_string()),
        "composer" => (Ok(Ecosystem::Packagist), joined("/")),
        "hex" => (Ok(Ecosystem::Hex), name.to_string()),
        "pub" => (Ok(Ecosystem::Pub), name.to_string()),
        "deb" => match ns.map(str::to_ascii_lowercase).as_deref() {
            Some("ubuntu") => (Ok(Ecosystem::Ubuntu), name.to_string()),
            _ => (Ok(Ecosystem::Debian), name.to_string()),
        },
        "apk" => (Ok(Ecosystem::Alpine), name.to_string()),
        "rpm" => {
            let eco = match ns.map(str::to_ascii_lowercase).as_deref() {
                Some("redhat") | Some("rhel") => Ok(Ecosystem::RedHat),
                Some("rocky") | Some("rocky-linux") => Ok(Ecosystem::RockyLinux),
                Some("almalinux") | Some("alma") => Ok(Ecosystem::AlmaLinux),
                Some("opensuse") => Ok(Ecosystem::OpenSuse),
                Some("suse") | Some("sles") => Ok(Ecosystem::Suse),
                Some("mageia") => Ok(Ecosystem::Mageia),
                other => Err(format!("rpm/{}", other.unwrap_or(""))),
            };
            (eco, name.to_string())
        }
        other => (Err(other.to_string()), joined("/")),
    };
    Some(PurlPackage {
        ecosystem: eco,
        name,
        version: p.version().map(str::to_string),
    })
}

/// Small helper: the crate's strict parser behind a lossy front (no panics, `None` on error).
trait Lossy<'a>: Sized {
    fn from_str_lossy(s: &'a str) -> Option<Self>;
}

impl<'a> Lossy<'a> for packageurl::PackageUrl<'a> {
    fn from_str_lossy(s: &'a str) -> Option<Self> {
        use std::str::FromStr;
        packageurl::PackageUrl::from_str(s.trim()).ok()
    }
}

/// A purl without version, qualifiers and subpath, for comparing products in VEX.
pub fn base(purl: &str) -> String {
    let p = purl.split(['?', '#']).next().unwrap_or(purl);
    match p.rfind('@') {
        // `@` inside a scoped npm name comes right after a `/`
        Some(i) if i > 0 && !p[..i].ends_with('/') && p[..i].contains('/') => p[..i].to_string(),
        _ => p.to_string(),
    }
    .replace("%40", "@")
    .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_types() {
        let p = parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        assert_eq!(p.ecosystem, Ok(Ecosystem::Maven));
        assert_eq!(p.name, "org.apache.logging.log4j:log4j-core");
        let p = parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(p.name, "@babel/core");
        let p = parse("pkg:golang/github.com/gin-gonic/gin@v1.9.0").unwrap();
        assert_eq!(p.name, "github.com/gin-gonic/gin");
        assert_eq!(p.version.as_deref(), Some("v1.9.0"));
        assert_eq!(
            parse("pkg:swift/a/b@1").unwrap().ecosystem,
            Err("swift".into())
        );
        assert!(parse("not a purl").is_none());
        assert_eq!(
            base("pkg:npm/%40babel/core@7.0.0?x=y"),
            "pkg:npm/@babel/core"
        );
        assert_eq!(base("pkg:pypi/Jinja2@2.4.1"), "pkg:pypi/jinja2");
    }
}
