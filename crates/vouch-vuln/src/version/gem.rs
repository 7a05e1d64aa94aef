//! RubyGems `Gem::Version` ordering: segments are runs of digits or letters; a letter segment
//! marks a prerelease (sorts before numbers); `-` means `.pre.`; trailing zeros are ignored.

use std::cmp::Ordering;

use super::{VersionError, cmp_digits};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(String),
    Str(String),
}

/// A parsed RubyGems version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemVersion(Vec<Seg>);

impl GemVersion {
    pub fn parse(text: &str) -> Result<GemVersion, VersionError> {
        let t = text.trim();
        // Gem::Version::ANCHORED_VERSION_PATTERN: [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?
        let ok = !t.is_empty()
            && t.len() <= 256
            && t.starts_with(|c: char| c.is_ascii_digit())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !ok {
            return Err(VersionError::new("RubyGems", text));
        }
        let t = t.replace('-', ".pre.");
        let mut segs = Vec::new();
        let mut cur = String::new();
        let mut cur_digit = false;
        for c in t.chars() {
            if c == '.' {
                if !cur.is_empty() {
                    segs.push(seg(&cur, cur_digit));
                    cur.clear();
                }
                continue;
            }
            let d = c.is_ascii_digit();
            if !cur.is_empty() && d != cur_digit {
                segs.push(seg(&cur, cur_digit));
                cur.clear();
            }
            cur_digit = d;
            cur.push(c);
        }
        if !cur.is_empty() {
            segs.push(seg(&cur, cur_digit));
        }
        Ok(GemVersion(canonical(segs)))
    }
}

fn seg(s: &str, digit: bool) -> Seg {
    if digit {
        Seg::Num(s.trim_start_matches('0').to_string())
    } else {
        Seg::Str(s.to_string())
    }
}

fn is_zero(s: &Seg) -> bool {
    matches!(s, Seg::Num(n) if n.is_empty())
}

/// `Gem::Version#canonical_segments`: drop zeros at the end of the release part and at the end.
fn canonical(segs: Vec<Seg>) -> Vec<Seg> {
    let split = segs
        .iter()
        .position(|s| matches!(s, Seg::Str(_)))
        .unwrap_or(segs.len());
    let (release, pre) = segs.split_at(split);
    let mut release = release.to_vec();
    while release.last().is_some_and(is_zero) {
        release.pop();
    }
    let mut pre = pre.to_vec();
    while pre.last().is_some_and(is_zero) {
        pre.pop();
    }
    release.extend(pre);
    release
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(String::new());
        let n = self.0.len().max(other.0.len());
        for i in 0..n {
            let a = self.0.get(i).unwrap_or(&zero);
            let b = other.0.get(i).unwrap_or(&zero);
            let r = match (a, b) {
                (Seg::Num(x), Seg::Num(y)) => cmp_digits(x, y),
                (Seg::Str(x), Seg::Str(y)) => x.cmp(y),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// From RubyGems' `test_gem_version.rb` (`test_spaceship`, `test_prerelease`, `test_eql`).
    #[test]
    fn gem_vectors() {
        check_vectors(
            Scheme::Gem,
            "1.0 = 1.0.0\n1.0 > 1.0.a\n1.8.2 > 0.0.0\n1.8.2 > 1.8.2.a\n1.8.2.b > 1.8.2.a\n\
             1.8.2.a < 1.8.2\n1.8.2.a10 > 1.8.2.a9\n0.beta.1 = 0.0.beta.1\n0.0.beta < 0.0.beta.1\n1.2.b1 = 1.2.b.1\n\
             1.0.0-rc1 < 1.0.0\n1.0.0-rc1 = 1.0.0.pre.rc1\n5.2.4 < 5.2.4.1\n\
             1.0.0.0.0 = 1\n1.a = 1.a.0\n2.0.0.rc2 < 2.0.0\n2.0.0.rc2 > 2.0.0.rc1\n\
             1.9.3 < 1.10.0\n0.9 < 1.0.a",
        );
    }
}
