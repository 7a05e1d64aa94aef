//! Maven version ordering: the `ComparableVersion` algorithm of Maven 3 (items split on `.`,
//! `-` and digit/letter transitions; qualifiers `alpha < beta < milestone < rc < snapshot <
//! "" (release) < sp`, unknown qualifiers after, lexically; trailing null items dropped).

use std::cmp::Ordering;

use super::{VersionError, cmp_digits};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenVersion(Vec<Item>);

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn qualifier_key(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let s = if followed_by_digit && s.len() == 1 {
        match s {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        s
    };
    let s = match s {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(s.to_string())
}

fn parse_item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        let t = s.trim_start_matches('0');
        Item::Int(t.to_string())
    } else {
        string_item(s, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(s) => s.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(a), None) => {
                if a.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => cmp_digits(a, b),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(a), None) => qualifier_key(a).cmp(&qualifier_key("")),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => qualifier_key(a).cmp(&qualifier_key(b)),
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => match l.first() {
                None => Ordering::Equal,
                Some(f) => f.cmp_opt(None),
            },
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let r = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.cmp_opt(None).reverse(),
            (Some(l), r) => l.cmp_opt(r),
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

impl MavenVersion {
    pub fn parse(text: &str) -> Result<MavenVersion, VersionError> {
        let v = text.trim().to_lowercase();
        if v.is_empty() || v.len() > 512 || v.chars().any(char::is_whitespace) {
            return Err(VersionError::new("Maven", text));
        }
        let bytes: Vec<char> = v.chars().collect();
        // A stack of lists: index 0 is the root; nested lists are built bottom-up.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let mut is_digit = false;
        let mut start = 0usize;
        let sub = |a: usize, b: usize| -> String { bytes[a..b].iter().collect() };
        for (i, &c) in bytes.iter().enumerate() {
            let top = stack.len() - 1;
            if c == '.' {
                if i == start {
                    stack[top].push(Item::Int(String::new()));
                } else {
                    stack[top].push(parse_item(is_digit, &sub(start, i)));
                }
                is_digit = false;
                start = i + 1;
            } else if c == '-' {
                if i == start {
                    stack[top].push(Item::Int(String::new()));
                } else {
                    stack[top].push(parse_item(is_digit, &sub(start, i)));
                }
                is_digit = false;
                start = i + 1;
                stack.push(Vec::new());
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    stack[top].push(string_item(&sub(start, i), true));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    stack[top].push(parse_item(true, &sub(start, i)));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
        if bytes.len() > start {
            let top = stack.len() - 1;
            stack[top].push(parse_item(is_digit, &sub(start, bytes.len())));
        }
        // Fold nested lists into their parents, normalising each.
        while stack.len() > 1 {
            let mut list = stack.pop().unwrap_or_default();
            normalize(&mut list);
            if let Some(parent) = stack.last_mut() {
                parent.push(Item::List(list));
            }
        }
        let mut root = stack.pop().unwrap_or_default();
        normalize(&mut root);
        Ok(MavenVersion(root))
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, testutil::check_vectors};

    /// From Maven's `ComparableVersionTest` (as collected in OSV's Maven ordering fixtures).
    #[test]
    fn maven_vectors() {
        check_vectors(
            Scheme::Maven,
            "1 < 2\n1.5 < 2\n1 < 2.5\n1.0 < 1.1\n1.1 < 1.2\n1.0.0 < 1.1\n1.0.1 < 1.1\n1.1 < 1.2.0\n\
             1.0-alpha-1 < 1.0\n1.0-alpha-1 < 1.0-alpha-2\n1.0-alpha-1 < 1.0-beta-1\n\
             1.0-beta-1 < 1.0-SNAPSHOT\n1.0-SNAPSHOT < 1.0\n1.0-alpha-1-SNAPSHOT < 1.0-alpha-1\n\
             1.0 < 1.0-1\n1.0-1 < 1.0-2\n1.0.0 < 1.0-1\n2.0-1 < 2.0.1\n2.0.1-klm < 2.0.1-lmn\n\
             2.0.1 < 2.0.1-xyz\n2.0.1 < 2.0.1-123\n2.0.1-xyz < 2.0.1-123\n\
             1 = 1\n1 = 1.0\n1 = 1.0.0\n1.0 = 1.0.0\n1 = 1-0\n1 = 1.0-0\n1.0 = 1.0-0\n1.1 = 1.01\n\
             1a = 1-a\n1a = 1.0-a\n1a = 1.0.0-a\n1.0a = 1-a\n1.0.0a = 1-a\n1x = 1-x\n1x = 1.0-x\n\
             1ga = 1\n1release = 1\n1final = 1\n1cr = 1rc\n1a1 = 1-alpha-1\n1b2 = 1-beta-2\n\
             1m3 = 1-milestone-3\n1X = 1x\n1A = 1a\n1GA = 1\n1RELeaSE = 1\n1cR = 1rC\n\
             1m3 = 1MILESTONE3\n1 = 01\n01 = 001\n1 = 1.ga\n1 = 1.final\n1 = 1.\n1 = 1-\n\
             1-foo = 1.0.0-foo.0.0\n1 = 1.0.0-0.0.0\n1-1.foo-bar-1-baz-0.1 = 1-1.foo-bar1baz-.1\n\
             1-rc = 1cr\n1-alpha-1 = 1a1\n1-c-1 = 1c1\n\
             6.1.0rc3 < 6.1.0\n6.1.0rc3 < 6.1H.5-beta\n6.1.0 < 6.1H.5-beta\n\
             20190126.230843 < 1234567890.12345\n\
             123456789012345.1H.5-beta < 12345678901234567890.1H.5-beta\n\
             0.0.0 = 0\n0.0.0-0.0.0 = 0-final-ga\n0 < 1\n\
             0.0.0-2021-05-17T01-01-51-5ec03a8b < 20.0.0",
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(a in "[0-9a-z.-]{0,20}", b in "[0-9a-z.-]{0,20}") {
            let _ = super::super::compare(Scheme::Maven, &a, &b);
        }
    }
}
