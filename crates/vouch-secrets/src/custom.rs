//! Custom rules from vouch.toml, in the shape of gitleaks' `[[rules]]`, so a team's gitleaks
//! rules move over by renaming the table:
//!
//! ```toml
//! [[secrets.rules]]
//! id = "acme-internal-token"            # reported as secrets/acme-internal-token
//! description = "ACME internal API token"
//! regex = '''acme_[a-z0-9]{32}'''        # the secret: group `secret`, else `secret_group`, else 1, else all
//! secret_group = 0                       # optional (gitleaks: secretGroup)
//! keywords = ["acme_"]                   # prefilter literals; empty: the regex runs on every file
//! entropy = 3.5                          # optional minimum bits per character
//! severity = "high"                      # optional, default high
//! [secrets.rules.allowlist]
//! regexes = ['''acme_0{32}''']           # secrets matching one of these are not findings
//! stopwords = ["example"]                # nor secrets containing one of these
//! paths = ['''(^|/)testdata/''']          # nor files whose path matches one of these
//! ```
//!
//! Custom rules are compiled at start-up (a bad regex is bad input naming vouch.toml) and live
//! for the process (their metadata is leaked once into `'static` memory, as built-in rules
//! are static).

use std::path::Path;

use serde::Deserialize;
use vouch_core::{InputError, Rule, Severity};

use crate::rule::SecretRule;
use crate::scan::{ScanOptions, Scanner};

/// One `[[secrets.rules]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    pub regex: String,
    #[serde(default, alias = "secretGroup")]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub entropy: Option<f32>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub allowlist: Option<Allowlist>,
}

/// What a custom rule must not report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
}

/// A compiled allowlist.
#[derive(Debug, Default)]
pub struct CompiledAllow {
    pub secret: Vec<regex::Regex>,
    pub stopwords: Vec<String>,
    pub paths: Vec<regex::Regex>,
    /// The capture group holding the secret (gitleaks `secretGroup`).
    pub group: Option<usize>,
}

impl CompiledAllow {
    /// Whether a candidate `secret` in `path` is allowed (not a finding).
    pub fn allows(&self, path: &str, secret: &str) -> bool {
        let lower = secret.to_ascii_lowercase();
        self.secret.iter().any(|r| r.is_match(secret))
            || self.stopwords.iter().any(|w| lower.contains(w.as_str()))
            || self.paths.iter().any(|r| r.is_match(path))
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The scanner for `options` with the built-in rules and `custom`; `config` names vouch.toml
/// in errors.
pub fn scanner(
    options: ScanOptions,
    custom: &[CustomRule],
    config: Option<&Path>,
) -> Result<Scanner, InputError> {
    if custom.is_empty() {
        return Ok(Scanner::new(options)?);
    }
    let shown = config.unwrap_or(Path::new("vouch.toml"));
    let mut list = crate::rules::all();
    let mut extra = Vec::new();
    let mut seen: Vec<String> = list.iter().map(|r| r.id().to_string()).collect();
    for c in custom {
        let bad = |what: String| {
            InputError::in_file(shown, format!("[[secrets.rules]] `{}`: {what}", c.id))
                .with_hint("see docs/secrets.md#custom-rules")
        };
        let id = if c.id.starts_with("secrets/") {
            c.id.clone()
        } else {
            format!("secrets/{}", c.id)
        };
        if c.id.trim().is_empty() || c.id.contains(char::is_whitespace) {
            return Err(bad("the id must be one word".into()));
        }
        if seen.contains(&id) {
            return Err(bad(format!("{id} is already a rule")));
        }
        seen.push(id.clone());
        regex::bytes::Regex::new(&c.regex).map_err(|e| bad(format!("bad regex: {e}")))?;
        let compile = |v: &[String]| -> Result<Vec<regex::Regex>, InputError> {
            v.iter()
                .map(|r| regex::Regex::new(r).map_err(|e| bad(format!("bad allowlist regex: {e}"))))
                .collect()
        };
        let allow = c.allowlist.clone().unwrap_or_default();
        let compiled = CompiledAllow {
            secret: compile(&allow.regexes)?,
            stopwords: allow
                .stopwords
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
            paths: compile(&allow.paths)?,
            group: c.secret_group,
        };
        let keywords: Vec<&'static str> = c
            .keywords
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| leak(k.to_ascii_lowercase()))
            .collect();
        let rule: &'static SecretRule = Box::leak(Box::new(SecretRule {
            meta: Rule {
                id: leak(id),
                severity: c.severity.unwrap_or(Severity::High),
                summary: leak(
                    c.description
                        .clone()
                        .unwrap_or_else(|| format!("Custom secret rule {}", c.id)),
                ),
                help: crate::rule::DEFAULT_HELP,
                references: &[],
            },
            regex: leak(c.regex.clone()),
            keywords: Box::leak(keywords.into_boxed_slice()),
            min_entropy: c.entropy.unwrap_or(0.0),
            validator: crate::validate::Validator::None,
            examples: &[],
            counter_examples: &[],
        }));
        list.push(rule);
        extra.push((rule, compiled));
    }
    Ok(Scanner::with_rules_and_custom(list, extra, options)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Vec<CustomRule> {
        #[derive(Deserialize)]
        struct Wrap {
            rules: Vec<CustomRule>,
        }
        toml::from_str::<Wrap>(toml_text).unwrap().rules
    }

    #[test]
    fn custom_rule_with_allowlist_and_group() {
        let r = rules(
            r#"
[[rules]]
id = "acme-token"
description = "ACME internal token"
regex = '''acme_(?:live|test)_([a-z0-9]{24})'''
secretGroup = 1
keywords = ["acme_"]
entropy = 3.0
severity = "critical"
[rules.allowlist]
regexes = ['''^0+$''']
stopwords = ["deadbeef"]
paths = ['''(^|/)vendor/''']

[[rules]]
id = "no-keyword"
regex = '''zz9[A-Z]{10}'''
"#,
        );
        let s = scanner(ScanOptions::default(), &r, None).unwrap();
        assert_eq!(s.custom_metadata().len(), 2);
        let text = "a = acme_live_k3j4h5g6f7d8s9a0q1w2e3r4\nb = acme_live_000000000000000000000000\nc = acme_test_deadbeefk3j4h5g6f7d8s9a0\nd = zz9QWERTYUIOP\n";
        let hits = s.scan_bytes("src/app.py", text.as_bytes()).hits;
        let got: Vec<(&str, u32)> = hits.iter().map(|h| (h.rule.id, h.line)).collect();
        assert_eq!(
            got,
            vec![("secrets/acme-token", 1), ("secrets/no-keyword", 4)]
        );
        assert_eq!(hits[0].secret.expose().len(), 24, "the secret group");
        assert_eq!(hits[0].rule.severity, Severity::Critical);
        assert!(
            s.scan_bytes("vendor/x.py", text.as_bytes())
                .hits
                .iter()
                .all(|h| h.rule.id != "secrets/acme-token")
        );
    }

    #[test]
    fn bad_custom_rules_are_input_errors() {
        let bad = rules("[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n");
        let e = scanner(ScanOptions::default(), &bad, Some(Path::new("vouch.toml")))
            .err()
            .unwrap();
        assert!(e.to_string().contains("bad regex"), "{e}");
        let dup = rules("[[rules]]\nid = \"github-pat\"\nregex = 'x'\n");
        assert!(scanner(ScanOptions::default(), &dup, None).is_err());
    }
}
