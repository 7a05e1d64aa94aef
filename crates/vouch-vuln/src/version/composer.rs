//! Packagist (Composer) ordering: PHP's `version_compare` after Composer-style clean-up
//! (leading `v` dropped, `-`, `_`, `+` as separators, a break between digits and letters).
//! Special words order `dev < alpha = a < beta = b < RC = rc < # (number) < pl = p`; any other
//! word sorts before `dev`.

use std::cmp::Ordering;

use super::{VersionError, cmp_digits};

/// A parsed Composer version: its canonical parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerVersion(Vec<String>);

impl ComposerVersion {
    pub fn parse(text: &str) -> Result<ComposerVersion, VersionError> {
        let t = text.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        if t.is_empty() || t.len() > 256 || t.chars().any(|c| c.is_whitespace() || !c.is_ascii()) {
            return Err(VersionError::new("Composer", text));
        }
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut prev: Option<bool> = None;
        for c in t.chars() {
            if matches!(c, '.' | '-' | '_' | '+') {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
                prev = None;
                continue;
            }
            let d = c.is_ascii_digit();
            if prev.is_some_and(|p| p != d) && !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev = Some(d);
            cur.push(c);
        }
        if !cur.is_empty() {
            parts.push(cur);
        }
        if parts.is_empty() {
            return Err(VersionError::new("Composer", text));
        }
        Ok(ComposerVersion(parts))
    }
}

fn special(s: &str) -> i32 {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return 4; // "#"
    }
    match s.to_ascii_lowercase().as_str() {
        "dev" => 0,
        "alpha" | "a" => 1,
        "beta" | "b" => 2,
        "rc" => 3,
        "#" => 4,
        "pl" | "p" | "patch" => 5,
        _ => -1,
    }
}

fn cmp_part(a: &str, b: &str) -> Ordering {
    let an = a.bytes().all(|x| x.is_ascii_digit());
    let bn = b.bytes().all(|x| x.is_ascii_digit());
    if an && bn {
        cmp_digits(a, b)
    } else {
        special(a).cmp(&special(b))
    }
}

/// How the extra part of the longer version compares against "nothing".
fn tail(part: &str) -> Ordering {
    if part.bytes().all(|b| b.is_ascii_digit()) {
        Ordering::Greater
    } else {
        special(part).cmp(&special("#"))
    }
}

impl PartialOrd for ComposerVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ComposerVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        for (x, y) in a.iter().zip(b) {
            let r = cmp_part(x, y);
            if r != Ordering::Equal {
                return r;
            }
        }
        // PHP: a longer version with a number next is newer; with a word next, compare that
        // word against "#".
        match a.len().cmp(&b.len()) {
            Ordering::Equal => Ordering::Equal,
            Ordering::Greater => tail(&a[b.len()]),
            Ordering::Less => tail(&b[a.len()]).reverse(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// From PHP's `version_compare` documentation and tests (ext/standard/tests/versioning).
    #[test]
    fn composer_vectors() {
        check_vectors(
            Scheme::Composer,
            "5.2 < 5.2.0\n1.0.0 > 1.0.0-rc1\n1.0.0-dev < 1.0.0-alpha\n1.0.0-alpha < 1.0.0-beta\n\
             1.0.0-beta < 1.0.0-RC1\n1.0.0-rc1 < 1.0.0-rc2\n1.0.0 < 1.0.0-pl1\n1.0.0-p1 = 1.0.0-pl1\n\
             v2.1.0 = 2.1.0\n1.10 > 1.9\n1.0rc1 = 1.0-rc1\n1.0.0-foo < 1.0.0-dev\n5.3.0-dev < 5.3.0",
        );
    }
}
