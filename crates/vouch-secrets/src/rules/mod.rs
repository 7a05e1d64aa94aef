//! The rule set: one file per provider family, each a `RULES` table of [`SecretRule`] data.
//! Adding a credential kind means adding one entry to its family's table (with examples that
//! must and must not match); `every_rule_matches_its_examples` below checks them all.

pub mod ai;
pub mod atlassian;
pub mod aws;
pub mod azure;
pub mod gcp;
pub mod generic;
pub mod github;
pub mod gitlab;
pub mod infra;
pub mod keys;
pub mod kubernetes;
pub mod messaging;
pub mod observability;
pub mod payments;
pub mod registries;
pub mod slack;
pub mod urls;

use crate::rule::SecretRule;

/// Every regex rule, in a fixed order.
pub fn all() -> Vec<&'static SecretRule> {
    let families: [&'static [SecretRule]; 16] = [
        aws::RULES,
        gcp::RULES,
        azure::RULES,
        github::RULES,
        gitlab::RULES,
        atlassian::RULES,
        registries::RULES,
        slack::RULES,
        payments::RULES,
        messaging::RULES,
        observability::RULES,
        ai::RULES,
        infra::RULES,
        keys::RULES,
        urls::RULES,
        generic::RULES,
    ];
    families.iter().flat_map(|f| f.iter()).collect()
}

/// Every rule id this crate can report, with metadata (regex rules, the Kubernetes rule and
/// the inventory rules).
pub fn metadata() -> Vec<&'static vouch_core::Rule> {
    let mut out: Vec<&'static vouch_core::Rule> = all().into_iter().map(|r| &r.meta).collect();
    out.push(&kubernetes::KUBERNETES_SECRET);
    out.extend(crate::inventory::RULES.iter().copied());
    out
}

/// The rule id of the generic assignment rule: weaker than every provider rule, so its hit is
/// dropped where a provider rule matched the same text.
pub const GENERIC_ID: &str = "secrets/generic-secret-assignment";

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::scan::{ScanOptions, Scanner};

    #[test]
    fn every_rule_matches_its_examples() {
        let scanner = Scanner::new(ScanOptions::default()).unwrap();
        let mut failures = Vec::new();
        for rule in all() {
            assert!(!rule.examples.is_empty(), "{} has no example", rule.id());
            assert!(
                !rule.counter_examples.is_empty(),
                "{} has no counter-example",
                rule.id()
            );
            for ex in rule.examples {
                let hits = scanner.scan_bytes("example.txt", ex.as_bytes()).hits;
                let n = hits.iter().filter(|h| h.rule.id == rule.id()).count();
                if n != 1 {
                    failures.push(format!("{}: example matched {n} times", rule.id()));
                }
            }
            for ex in rule.counter_examples {
                let hits = scanner.scan_bytes("example.txt", ex.as_bytes()).hits;
                if hits.iter().any(|h| h.rule.id == rule.id()) {
                    failures.push(format!("{}: counter-example matched: {ex}", rule.id()));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn ids_are_unique_and_enough() {
        let ids: BTreeSet<&str> = metadata().iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), metadata().len());
        let credential_kinds = all().len() + 1;
        assert!(credential_kinds >= 60, "{credential_kinds}");
        for r in all() {
            assert!(r.id().starts_with("secrets/"));
            assert!(
                !r.keywords.is_empty(),
                "{}: keywords drive the prefilter",
                r.id()
            );
            for k in r.keywords {
                assert_eq!(
                    *k,
                    k.to_ascii_lowercase(),
                    "{}: keywords are lower-case",
                    r.id()
                );
            }
        }
    }
}
