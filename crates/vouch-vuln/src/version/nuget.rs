//! NuGet version ordering (`NuGetVersion`): up to four numeric parts (missing parts are 0),
//! a dot-separated release label compared as in SemVer but case-insensitively, metadata
//! ignored.

use std::cmp::Ordering;

use super::{VersionError, cmp_digits};

/// A parsed NuGet version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NuGetVersion {
    parts: [String; 4],
    labels: Vec<String>,
}

impl NuGetVersion {
    pub fn parse(text: &str) -> Result<NuGetVersion, VersionError> {
        let err = || VersionError::new("NuGet", text);
        let t = text.trim();
        let t = t.split('+').next().unwrap_or(t);
        let (num, label) = match t.split_once('-') {
            Some((n, l)) => (n, Some(l)),
            None => (t, None),
        };
        let nums: Vec<&str> = num.split('.').collect();
        if nums.is_empty() || nums.len() > 4 {
            return Err(err());
        }
        let mut parts: [String; 4] = Default::default();
        for (i, n) in nums.iter().enumerate() {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            parts[i] = n.trim_start_matches('0').to_string();
        }
        let labels = match label {
            None => Vec::new(),
            Some(l) => {
                let ls: Vec<String> = l.split('.').map(|s| s.to_ascii_lowercase()).collect();
                if ls.iter().any(|s| {
                    s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }) {
                    return Err(err());
                }
                ls
            }
        };
        Ok(NuGetVersion { parts, labels })
    }
}

fn is_num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..4 {
            let r = cmp_digits(&self.parts[i], &other.parts[i]);
            if r != Ordering::Equal {
                return r;
            }
        }
        match (self.labels.is_empty(), other.labels.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (a, b) in self.labels.iter().zip(&other.labels) {
            let r = match (is_num(a), is_num(b)) {
                (true, true) => cmp_digits(a, b),
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => a.cmp(b),
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        self.labels.len().cmp(&other.labels.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// From NuGet.Client's `VersionComparerTests` (as collected in OSV's NuGet fixtures).
    #[test]
    fn nuget_vectors() {
        check_vectors(
            Scheme::NuGet,
            "1.0.0-BETA = 1.0.0-beta\n1.0.0-BETA+AA = 1.0.0-beta+aa\n1.0.0 = 1.0.0+beta\n\
             1.0 = 1.0.0.0\n1.0+test = 1.0.0.0\n1.0.0.1-1.2.A = 1.0.0.1-1.2.a+A\n1.0.01 = 1.0.1.0\n\
             1.0 < 1.0.0.1\n1.0.0.1-1.2.A < 1.0.0.1-1.2.a.A+A\n1.0.01 < 1.0.1.2\n\
             1.0.0-beta2 > 1.0.0-BETA\n1.0.0+AA > 1.0.0-beta+aa\n\
             1.0.0-BETA.X.y.5.77.0+AA < 1.0.0-beta.x.y.5.79.0+aa\n1.999.9999 < 2.1.1\n\
             1.0.0-BETA < 1.0.0-beta.1+AA\n1.0.0-BETA.X.y.5.79.0+AA < 1.0.0-beta.x.y.5.790.0+abc\n\
             1.0.0.1-alpha < 1.0.0.1-pre\n1.0.0-pre < 1.0.0.1-alpha\n0.9.9.1 < 1.0.0\n\
             999999999999999999999999999991 < 999999999999999999999999999999",
        );
    }
}
