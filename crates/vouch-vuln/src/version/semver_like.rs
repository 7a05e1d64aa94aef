//! SemVer 2.0 (crates.io, npm, Hex, Pub, OSV `SEMVER` ranges) and Go module versions, on top
//! of the `semver` crate. Build metadata never affects ordering (SemVer §10).

use std::cmp::Ordering;

use super::VersionError;

/// A SemVer version; ordering ignores build metadata.
#[derive(Debug, Clone)]
pub struct SemVer(pub semver::Version);

impl PartialEq for SemVer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for SemVer {}
impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        (a.major, a.minor, a.patch)
            .cmp(&(b.major, b.minor, b.patch))
            .then_with(|| a.pre.cmp(&b.pre))
    }
}

impl SemVer {
    /// Strict SemVer, tolerating a leading `v` or `=` and surrounding space.
    pub fn parse(text: &str) -> Result<SemVer, VersionError> {
        let t = text.trim();
        let t = t.strip_prefix('=').unwrap_or(t).trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        semver::Version::parse(t)
            .map(SemVer)
            .map_err(|_| VersionError::new("SemVer", text))
    }

    /// Go module versions (`v1.2.3`, pseudo-versions, `+incompatible`) and Go toolchain
    /// versions of the standard library (`go1.21.3`, `1.21`, `go1.22rc1`).
    pub fn parse_go(text: &str) -> Result<SemVer, VersionError> {
        let err = || VersionError::new("Go module", text);
        let t = text.trim();
        let t = t.strip_prefix("go").unwrap_or(t);
        let t = t.strip_prefix('v').unwrap_or(t);
        let t = t.strip_suffix("+incompatible").unwrap_or(t);
        if let Ok(v) = semver::Version::parse(t) {
            return Ok(SemVer(v));
        }
        // Toolchain forms: 1.21, 1.21.3, 1.21rc2, 1.21.0-rc.2
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (nums, rest) = t.split_at(split);
        let parts: Vec<&str> = nums.split('.').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() || parts.len() > 3 || nums.ends_with('.') {
            return Err(err());
        }
        let mut n = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            n[i] = p.parse().map_err(|_| err())?;
        }
        let pre = rest.trim_start_matches('-');
        let pre = if pre.is_empty() {
            semver::Prerelease::EMPTY
        } else {
            // go1.21rc2 → 1.21.0-rc.2 ordering: split letters from digits.
            let d = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
            let label = if d > 0 && d < pre.len() && !pre[..d].ends_with('.') {
                format!("{}.{}", &pre[..d], &pre[d..])
            } else {
                pre.to_string()
            };
            semver::Prerelease::new(&label).map_err(|_| err())?
        };
        Ok(SemVer(semver::Version {
            major: n[0],
            minor: n[1],
            patch: n[2],
            pre,
            build: semver::BuildMetadata::EMPTY,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, compare, testutil::check_vectors};
    use std::cmp::Ordering;

    /// The precedence examples of SemVer 2.0.0 §11 and the build-metadata rule of §10.
    #[test]
    fn semver_spec_vectors() {
        check_vectors(
            Scheme::SemVer,
            "1.0.0 < 2.0.0\n2.0.0 < 2.1.0\n2.1.0 < 2.1.1\n\
             1.0.0-alpha < 1.0.0-alpha.1\n1.0.0-alpha.1 < 1.0.0-alpha.beta\n\
             1.0.0-alpha.beta < 1.0.0-beta\n1.0.0-beta < 1.0.0-beta.2\n\
             1.0.0-beta.2 < 1.0.0-beta.11\n1.0.0-beta.11 < 1.0.0-rc.1\n1.0.0-rc.1 < 1.0.0\n\
             1.0.0+build.1 = 1.0.0+build.2\n1.0.0-alpha+001 = 1.0.0-alpha\n\
             v1.2.3 = 1.2.3\n0.9.99 < 0.10.0",
        );
    }

    /// Go module ordering: pseudo-versions sort before the release they precede and after the
    /// previous tag (golang.org/ref/mod#pseudo-versions); `+incompatible` is ignored.
    #[test]
    fn go_vectors() {
        check_vectors(
            Scheme::Go,
            "v0.0.0-20191109021931-daa7c04131f5 < v0.1.0\n\
             v1.2.3 < v1.2.4-0.20191109021931-daa7c04131f5\n\
             v1.2.4-0.20191109021931-daa7c04131f5 < v1.2.4\n\
             v1.2.4-pre.0.20191109021931-daa7c04131f5 > v1.2.4-pre\n\
             v2.0.0+incompatible = v2.0.0\n\
             v2.1.0+incompatible > v2.0.9\n\
             go1.21 = 1.21.0\n go1.21rc2 < go1.21.0\n go1.21.3 < go1.22.0\n 1.20.10 > 1.20.9",
        );
        assert!(compare(Scheme::Go, "v1", "v1.0.0").is_ok());
        assert_eq!(
            compare(Scheme::Go, "go1.9", "1.10").unwrap(),
            Ordering::Less
        );
    }
}
