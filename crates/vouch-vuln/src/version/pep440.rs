//! PEP 440 versions and PEP 503 name normalisation, ordered as the `packaging` library orders
//! them (epoch, release without trailing zeros, pre, post, dev, local).
//!
//! Written here rather than taken from `pep440_rs`: that crate is well made but brings a
//! large dependency tree for one comparison, and it rejects the legacy forms (`0.9-doduo`)
//! still found in old advisories, which we order as strings after the valid ones' grammar
//! fails (as `packaging`'s `LegacyVersion` did).

use std::cmp::Ordering;

use super::VersionError;

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    // strings sort before numbers
    Str(String),
    Num(u64),
}

/// A parsed PEP 440 version (or a legacy version that fails the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440 {
    key: Key,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    // Legacy versions sort before every valid version (packaging's LegacyVersion, epoch -1).
    Legacy(Vec<String>),
    Valid {
        epoch: u64,
        release: Vec<u64>,
        /// (phase, n): phase 0 = dev-only marker (-inf), 1 a, 2 b, 3 rc, 4 none (+inf)
        pre: (u8, u64),
        /// None = -inf
        post: Option<u64>,
        /// u64::MAX + flag: no dev = +inf
        dev: (u8, u64),
        /// None = -inf
        local: Option<Vec<LocalPart>>,
    },
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pep440 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.s[self.i..];
        // longest match first
        let mut best: Option<(usize, usize)> = None;
        for (k, w) in words.iter().enumerate() {
            if rest.starts_with(w.as_bytes()) && best.is_none_or(|(_, l)| w.len() > l) {
                best = Some((k, w.len()));
            }
        }
        let (k, l) = best?;
        self.i += l;
        Some(k)
    }
}

impl Pep440 {
    pub fn parse(text: &str) -> Result<Pep440, VersionError> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.is_empty() {
            return Err(VersionError::new("PEP 440", text));
        }
        match parse_valid(&lower) {
            Some(key) => Ok(Pep440 { key }),
            None => {
                if lower.chars().any(|c| c.is_whitespace()) || lower.len() > 256 {
                    return Err(VersionError::new("PEP 440", text));
                }
                let parts = lower.split(['.', '-', '_']).map(str::to_string).collect();
                Ok(Pep440 {
                    key: Key::Legacy(parts),
                })
            }
        }
    }
}

fn parse_valid(s: &str) -> Option<Key> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (main, local) = match s.split_once('+') {
        Some((m, l)) => (m, Some(l)),
        None => (s, None),
    };
    let mut c = Cursor {
        s: main.as_bytes(),
        i: 0,
    };
    let first = c.number()?;
    let (epoch, mut release) = if c.peek() == Some(b'!') {
        c.i += 1;
        (first, vec![c.number()?])
    } else {
        (0, vec![first])
    };
    while c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        release.push(c.number()?);
    }
    // pre-release
    let mut pre: Option<(u8, u64)> = None;
    let save = c.i;
    c.sep();
    if let Some(k) = c.word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
        let phase = match k {
            0 | 1 => 1,
            2 | 3 => 2,
            _ => 3,
        };
        let save2 = c.i;
        c.sep();
        let n = match c.number() {
            Some(n) => n,
            None => {
                c.i = save2;
                0
            }
        };
        pre = Some((phase, n));
    } else {
        c.i = save;
    }
    // post-release
    let mut post: Option<u64> = None;
    let save = c.i;
    if c.peek() == Some(b'-') && c.s.get(c.i + 1).is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        post = c.number();
    } else {
        c.sep();
        if c.word(&["post", "rev", "r"]).is_some() {
            let save2 = c.i;
            c.sep();
            post = Some(match c.number() {
                Some(n) => n,
                None => {
                    c.i = save2;
                    0
                }
            });
        } else {
            c.i = save;
        }
    }
    // dev-release
    let mut dev: Option<u64> = None;
    let save = c.i;
    c.sep();
    if c.word(&["dev"]).is_some() {
        let save2 = c.i;
        c.sep();
        dev = Some(match c.number() {
            Some(n) => n,
            None => {
                c.i = save2;
                0
            }
        });
    } else {
        c.i = save;
    }
    if c.i != c.s.len() {
        return None;
    }
    let local = match local {
        None => None,
        Some(l) => {
            let mut parts = Vec::new();
            for p in l.split(['.', '-', '_']) {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return None;
                }
                parts.push(match p.parse::<u64>() {
                    Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => LocalPart::Num(n),
                    _ => LocalPart::Str(p.to_string()),
                });
            }
            Some(parts)
        }
    };
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    // packaging's _cmpkey
    let pre_key = match (pre, post, dev) {
        (None, None, Some(_)) => (0, 0),
        (None, _, _) => (4, 0),
        (Some(p), _, _) => p,
    };
    let dev_key = match dev {
        None => (1, 0),
        Some(n) => (0, n),
    };
    Some(Key::Valid {
        epoch,
        release,
        pre: pre_key,
        post,
        dev: dev_key,
        local,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};
    use super::*;

    /// Vectors from PEP 440's examples and the `packaging` test-suite ordering (as collected
    /// in OSV's PyPI ordering fixtures).
    #[test]
    fn pep440_vectors() {
        check_vectors(
            Scheme::Pep440,
            "1.36.0rc1 > 1.35.0\n1.36.1 > 1.36.0\n0.3.0 > 0\n1.0.0+local > 1.0.0\n\
             1.0.0.dev1 < 1.0.0\n1.0.0.dev1 < 1.0.0.dev2\n1.0.dev0 < 1.0a0\n\
             1.2a3.dev4 < 1.2a3.dev5\n1.2b3.DEV4 < 1.2b3.dev5\n1.2a3.dev4 < 1.2b3.dev4\n\
             1.2.post3.dev4 > 1.2b3.dev4\n2.0.0a1 < 2.0.0rc1\n0.9.alpha < 1.0\n0.9.beta < 1.0\n\
             0.9.c < 1.0\n0.9.pre < 1.0\n0.9.preview < 1.0\n0.9.rev < 1.0\n0.9.r < 1.0\n\
             1.0.0+local.0 < 1.0.0+local.0.1\n1.0.0+local.a < 1.0.0+local.1\n\
             1.0.0+local = 1.0.0+local\n1.0-1 < 1.0-2\n1!1.0 < 2!1.0\n1!0.1 > 2.0\n\
             1.0 = 1.0.0\n1.0c1 = 1.0rc1\n1.0.post1 > 1.0\n1.0.post1 < 1.0.1\n\
             1.0a1 < 1.0a1.post1\n1.0a1.post1.dev1 < 1.0a1.post1\n1.0b1 < 1.0rc1\n\
             1.0rc1 < 1.0\n1.0 < 1.0+abc\n1.1.dev1 < 1.1a1\n\
             0.1-bulbasaur < 0.1-charmander\n0.9-ivysaur < 1.0",
        );
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("Django"), "django");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("Foo__Bar-._baz"), "foo-bar-baz");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = Pep440::parse(&s);
        }
    }
}
