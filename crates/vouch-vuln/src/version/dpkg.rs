//! Debian version ordering, as `dpkg --compare-versions` (epoch, upstream, revision; `~`
//! sorts before everything, even the end of the string).

use std::cmp::Ordering;

use super::{VersionError, cmp_digits};

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgVersion {
    epoch: String,
    upstream: String,
    revision: String,
}

impl DpkgVersion {
    pub fn parse(text: &str) -> Result<DpkgVersion, VersionError> {
        let err = || VersionError::new("Debian", text);
        let t = text.trim();
        if t.is_empty() || t.len() > 256 || t.chars().any(|c| c.is_whitespace()) {
            return Err(err());
        }
        let (epoch, rest) = match t.split_once(':') {
            Some((e, r)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                (e.trim_start_matches('0').to_string(), r)
            }
            None => (String::new(), t),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        if upstream.is_empty() || !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".+~-:".contains(c);
        if !upstream.chars().all(allowed)
            || !revision.chars().all(|c| allowed(c) && c != '-' && c != ':')
        {
            return Err(err());
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
        })
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let da = std::str::from_utf8(&a[si..i]).unwrap_or("");
        let db = std::str::from_utf8(&b[sj..j]).unwrap_or("");
        let r = cmp_digits(da, db);
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.epoch, &other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// From dpkg's `t/t-version.c` and Debian Policy §5.6.12.
    #[test]
    fn dpkg_vectors() {
        check_vectors(
            Scheme::Dpkg,
            "1.0 = 1.0-0\n1.0 = 0:1.0\n1:1.0 > 2.0\n1.0~rc1 < 1.0\n1.0~~ < 1.0~~a\n1.0~~a < 1.0~\n\
             1.0~ < 1.0\n1.0 < 1.0a\n1.0a < 1.0+\n1.0-1 < 1.0-2\n1.0-1 < 1.0.1-1\n\
             2.30-1 > 2.4-1\n1.2.3-1ubuntu1 > 1.2.3-1\n1.2.3-1+deb12u1 > 1.2.3-1\n\
             1.2.3-1+deb12u1 < 1.2.3-1+deb12u2\n0:0-0 = 0\n1.18.3 < 1.18.10\n7.88.1-10+deb12u5 < 7.88.1-10+deb12u6\n\
             2:1.0 > 1:9.9\n1.0-1~bpo1 < 1.0-1",
        );
    }
}
