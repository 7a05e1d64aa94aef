//! Coming from gitleaks: `.gitleaksignore` fingerprints and `gitleaks:allow` comments are
//! honoured where they name a vouch finding (the inline comment is handled by the scanner).
//!
//! A `.gitleaksignore` line is a gitleaks fingerprint: `file:rule-id:line` (from `gitleaks dir`
//! or `--no-git`) or `commit:file:rule-id:line` (from `gitleaks git`). It suppresses the vouch
//! finding at that file and line whose rule is the gitleaks rule's counterpart (the table
//! below, else `secrets/<rule-id>`); with a commit, only a history finding introduced by that
//! commit. Lines that map to nothing are kept and reported as unused by [`GitleaksIgnore::apply`].

use std::path::Path;

use vouch_core::{Finding, InputError};

/// The file gitleaks reads at the root of a repository.
pub const FILE: &str = ".gitleaksignore";

/// The `suppressed_by` value of findings a `.gitleaksignore` line suppresses.
pub const SUPPRESSED_BY: &str = ".gitleaksignore";

/// gitleaks rule id → vouch rule ids, where the names differ.
const RULE_MAP: &[(&str, &[&str])] = &[
    ("generic-api-key", &["secrets/generic-secret-assignment"]),
    (
        "private-key",
        &[
            "secrets/private-key",
            "secrets/encrypted-private-key",
            "secrets/pgp-private-key",
        ],
    ),
    ("aws-access-token", &["secrets/aws-access-key-id"]),
    ("github-oauth", &["secrets/github-oauth-token"]),
    ("github-app-token", &["secrets/github-app-token"]),
    ("gitlab-ptt", &["secrets/gitlab-pipeline-trigger-token"]),
    ("gitlab-rrt", &["secrets/gitlab-runner-token"]),
    ("slack-bot-token", &["secrets/slack-bot-token"]),
    ("slack-user-token", &["secrets/slack-user-token"]),
    ("slack-app-token", &["secrets/slack-app-token"]),
    ("slack-webhook-url", &["secrets/slack-webhook-url"]),
    (
        "stripe-access-token",
        &["secrets/stripe-secret-key", "secrets/stripe-restricted-key"],
    ),
    ("npm-access-token", &["secrets/npm-token"]),
    ("pypi-upload-token", &["secrets/pypi-token"]),
    ("gcp-api-key", &["secrets/gcp-api-key"]),
    ("sendgrid-api-token", &["secrets/sendgrid-api-key"]),
    ("twilio-api-key", &["secrets/twilio-api-key"]),
    ("openai-api-key", &["secrets/openai-api-key"]),
    ("anthropic-api-key", &["secrets/anthropic-api-key"]),
    ("huggingface-access-token", &["secrets/huggingface-token"]),
    ("hashicorp-tf-api-token", &["secrets/terraform-cloud-token"]),
    ("vault-service-token", &["secrets/vault-token"]),
    ("digitalocean-pat", &["secrets/digitalocean-token"]),
    ("doppler-api-token", &["secrets/doppler-token"]),
    ("jwt", &["secrets/jwt"]),
];

/// Whether gitleaks rule `gl` names vouch rule `vouch`.
pub fn rule_matches(gl: &str, vouch: &str) -> bool {
    if let Some((_, ids)) = RULE_MAP.iter().find(|(g, _)| *g == gl) {
        return ids.contains(&vouch);
    }
    vouch.strip_prefix("secrets/") == Some(gl)
}

/// One fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub commit: Option<String>,
    pub path: String,
    pub rule: String,
    pub line: u32,
    /// Line of `.gitleaksignore` it came from.
    pub at: u32,
}

/// A parsed `.gitleaksignore`.
#[derive(Debug, Clone, Default)]
pub struct GitleaksIgnore {
    pub entries: Vec<Entry>,
}

impl GitleaksIgnore {
    /// Parses the file; lines that are not fingerprints are input errors with their line.
    pub fn parse(shown: &Path, text: &str) -> Result<GitleaksIgnore, InputError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let at = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let bad = || {
                InputError::at(shown, at, None, "not a gitleaks fingerprint")
                    .with_hint("expected file:rule-id:line or commit:file:rule-id:line")
            };
            let mut parts = l.rsplitn(3, ':');
            let (Some(line), Some(rule), Some(rest)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let line: u32 = line.parse().map_err(|_| bad())?;
            if rule.is_empty() || rest.is_empty() {
                return Err(bad());
            }
            // A leading hex commit id (7 to 64 digits) followed by `:`.
            let (commit, path) = match rest.split_once(':') {
                Some((c, p))
                    if (7..=64).contains(&c.len())
                        && c.bytes().all(|b| b.is_ascii_hexdigit())
                        && !p.is_empty() =>
                {
                    (Some(c.to_ascii_lowercase()), p)
                }
                _ => (None, rest),
            };
            entries.push(Entry {
                commit,
                path: path.trim_start_matches("./").to_string(),
                rule: rule.to_string(),
                line,
                at,
            });
        }
        Ok(GitleaksIgnore { entries })
    }

    /// `ROOT/.gitleaksignore`, if there is one (a directory or special file there is an error).
    pub fn discover(root: &Path) -> Result<Option<GitleaksIgnore>, InputError> {
        let path = root.join(FILE);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        if !meta.is_file() {
            return Err(InputError::in_file(&path, "not a regular file")
                .with_hint("a .gitleaksignore must be a text file of fingerprints"));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| InputError::in_file(&path, format!("cannot read: {e}")))?;
        GitleaksIgnore::parse(&path, &text).map(Some)
    }

    /// Marks the findings an entry names as suppressed; returns how many were suppressed.
    pub fn apply(&self, findings: &mut [Finding]) -> usize {
        let mut n = 0;
        for f in findings.iter_mut().filter(|f| f.suppressed_by.is_none()) {
            let line = f.location.line().unwrap_or(0);
            let sites: Vec<(String, String)> = f
                .properties
                .get("commits")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| {
                            Some((
                                s.get("commit")?.as_str()?.to_ascii_lowercase(),
                                s.get("path")?.as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let hit = self.entries.iter().any(|e| {
                if e.line != line || !rule_matches(&e.rule, &f.rule) {
                    return false;
                }
                match &e.commit {
                    None => e.path == f.location.path,
                    Some(c) => sites
                        .iter()
                        .any(|(sc, sp)| sc.starts_with(c) && *sp == e.path),
                }
            });
            if hit {
                f.suppressed_by = Some(SUPPRESSED_BY.to_string());
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{ScanOptions, Scanner};

    #[test]
    fn parses_both_forms_and_rejects_garbage() {
        let g = GitleaksIgnore::parse(
            Path::new(".gitleaksignore"),
            "# comment\nconfig/app.env:generic-api-key:3\n\
             0123456789abcdef0123456789abcdef01234567:src/a:b.py:github-pat:12\n",
        )
        .unwrap();
        assert_eq!(g.entries.len(), 2);
        assert_eq!(g.entries[0].commit, None);
        assert_eq!(g.entries[1].path, "src/a:b.py");
        assert_eq!(g.entries[1].line, 12);
        let e = GitleaksIgnore::parse(Path::new("g"), "ok:rule:1\nnonsense\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(GitleaksIgnore::parse(Path::new("g"), "a:b:notanumber\n").is_err());
    }

    #[test]
    fn suppresses_the_named_finding_only() {
        let s = Scanner::new(ScanOptions::default()).unwrap();
        let text = "DB_PASSWORD=Zq8vK2mPp4rT7wXy\nAPI_TOKEN=Hq3vL9mPp4rT7wXz\n";
        let out = s.scan_bytes("config/app.env", text.as_bytes());
        let mut fs: Vec<Finding> = out.hits.iter().map(crate::report::finding).collect();
        assert_eq!(fs.len(), 2);
        let g = GitleaksIgnore::parse(
            Path::new("g"),
            "config/app.env:generic-api-key:1\nconfig/app.env:github-pat:2\nother.env:generic-api-key:2\n",
        )
        .unwrap();
        assert_eq!(g.apply(&mut fs), 1);
        assert_eq!(fs[0].suppressed_by.as_deref(), Some(SUPPRESSED_BY));
        assert!(fs[1].suppressed_by.is_none());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "([0-9a-f]{0,40}|[a-z/._:-]{0,12}|:|[0-9]{0,3}|\n|#| |é){0,30}") {
            if let Ok(g) = GitleaksIgnore::parse(Path::new("g"), &s) {
                let mut none: Vec<Finding> = Vec::new();
                g.apply(&mut none);
            }
        }

        #[test]
        fn generic_filters_never_panic(s in "\\PC{0,64}") {
            let _ = crate::filter::generic_value_ok(&s);
            let _ = crate::filter::is_test_path(&s);
            let _ = crate::validate::pem_is_encrypted(&s);
            let _ = crate::validate::Validator::SignedNoteKey.check(&s);
        }
    }

    #[test]
    fn inline_gitleaks_allow() {
        let s = Scanner::new(ScanOptions::default()).unwrap();
        let out = s.scan_bytes(
            "a.env",
            b"DB_PASSWORD=Zq8vK2mPp4rT7wXy # gitleaks:allow\nX_PASSWORD=Hq3vL9mPp4rT7wXz\n",
        );
        let allowed: Vec<bool> = out.hits.iter().map(|h| h.allowed).collect();
        assert_eq!(allowed, vec![true, false]);
    }
}
