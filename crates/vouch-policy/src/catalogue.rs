//! The IAM action catalogue: service prefix → action → access level.
//!
//! Vendored as compact data (`data/iam-actions.tsv`, derived from the `parliament` package's
//! `iam_definition.json`, BSD-3-Clause; see `data/SOURCE.md`), embedded in the binary and
//! indexed on first use, so wildcards (`s3:Put*`) expand offline and every action's access
//! level is known.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../data/iam-actions.tsv");

/// AWS's access levels, as in the Service Authorization Reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    List,
    Read,
    Tagging,
    Write,
    PermissionsManagement,
}

impl AccessLevel {
    fn from_code(c: &str) -> Option<AccessLevel> {
        Some(match c {
            "L" => AccessLevel::List,
            "R" => AccessLevel::Read,
            "T" => AccessLevel::Tagging,
            "W" => AccessLevel::Write,
            "P" => AccessLevel::PermissionsManagement,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Tagging => "Tagging",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
        }
    }

    /// Write and permissions-management actions change state; they need scoped resources.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            AccessLevel::Write | AccessLevel::PermissionsManagement
        )
    }
}

/// One service's actions, in catalogue spelling (`GetObject`).
pub struct Service {
    pub prefix: &'static str,
    pub actions: Vec<(&'static str, AccessLevel)>,
}

/// The whole catalogue, keyed by lowercase prefix.
pub struct Catalogue {
    services: BTreeMap<String, Service>,
}

impl Catalogue {
    /// The embedded catalogue.
    pub fn get() -> &'static Catalogue {
        static CAT: OnceLock<Catalogue> = OnceLock::new();
        CAT.get_or_init(|| {
            let mut services = BTreeMap::new();
            for line in DATA.lines() {
                let Some((prefix, list)) = line.split_once('\t') else {
                    continue;
                };
                let actions = list
                    .split(',')
                    .filter_map(|item| {
                        let (name, code) = item.split_once(':')?;
                        Some((name, AccessLevel::from_code(code)?))
                    })
                    .collect();
                services.insert(prefix.to_ascii_lowercase(), Service { prefix, actions });
            }
            Catalogue { services }
        })
    }

    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    pub fn service(&self, prefix: &str) -> Option<&Service> {
        self.services.get(&prefix.to_ascii_lowercase())
    }

    /// The access level of `service:Action` (case-insensitive), if the action is known.
    pub fn level(&self, action: &str) -> Option<AccessLevel> {
        let (prefix, name) = action.split_once(':')?;
        self.service(prefix)?
            .actions
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name))
            .map(|(_, l)| *l)
    }

    /// Expands an action pattern (`*`, `s3:*`, `s3:Put*`, `ec2:Describe?pcs`) into the
    /// catalogue's actions, as `prefix:Action` with the catalogue's spelling. A literal action
    /// not in the catalogue expands to itself (new actions appear before the data is refreshed).
    pub fn expand(&self, pattern: &str) -> Vec<(String, Option<AccessLevel>)> {
        if pattern == "*" {
            return self
                .services
                .values()
                .flat_map(|s| {
                    s.actions
                        .iter()
                        .map(|(a, l)| (format!("{}:{a}", s.prefix), Some(*l)))
                })
                .collect();
        }
        let Some((prefix, name)) = pattern.split_once(':') else {
            return Vec::new();
        };
        let Some(service) = self.service(prefix) else {
            return vec![(pattern.to_string(), None)];
        };
        if !name.contains(['*', '?']) {
            return match service
                .actions
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(name))
            {
                Some((a, l)) => vec![(format!("{}:{a}", service.prefix), Some(*l))],
                None => vec![(pattern.to_string(), None)],
            };
        }
        service
            .actions
            .iter()
            .filter(|(a, _)| wildcard_match(name, a))
            .map(|(a, l)| (format!("{}:{a}", service.prefix), Some(*l)))
            .collect()
    }
}

/// IAM's `*` / `?` matching, case-insensitive (action names are case-insensitive in IAM).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_expansion() {
        let c = Catalogue::get();
        assert!(c.service_count() > 400);
        assert_eq!(c.level("s3:GetObject"), Some(AccessLevel::Read));
        assert_eq!(c.level("S3:putobject"), Some(AccessLevel::Write));
        assert_eq!(
            c.level("iam:PutRolePolicy"),
            Some(AccessLevel::PermissionsManagement)
        );
        let puts = c.expand("s3:Put*");
        assert!(puts.iter().any(|(a, _)| a == "s3:PutObject"));
        assert!(puts.iter().all(|(a, _)| a.starts_with("s3:Put")));
        assert!(c.expand("*").len() > 15_000);
        assert_eq!(c.expand("foo:Bar"), vec![("foo:Bar".to_string(), None)]);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("Get*", "GetObject"));
        assert!(wildcard_match("g?t*", "GetObject"));
        assert!(!wildcard_match("Put*", "GetObject"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
    }
}
