//! The one finding model every check produces.

use serde::{Deserialize, Serialize};

use crate::{Fingerprint, Rule, Severity};

/// A span inside a file; lines and columns are 1-based, columns count characters, and the end
/// is inclusive of the last character (as SARIF's `endColumn` is exclusive, renderers add one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Region {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Region {
    /// A whole line, without column information.
    pub fn line(line: u32) -> Region {
        Region {
            line,
            column: 1,
            end_line: line,
            end_column: 0,
        }
    }

    /// A span on one line from `column` to `end_column` (inclusive).
    pub fn span(line: u32, column: u32, end_column: u32) -> Region {
        Region {
            line,
            column,
            end_line: line,
            end_column,
        }
    }

    /// `true` when the region names whole lines only (`end_column == 0`).
    pub fn is_whole_line(&self) -> bool {
        self.end_column == 0
    }
}

/// Where a finding is: a path relative to the scanned root (always `/`-separated) and, when the
/// finding is about a part of the file, a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

impl Location {
    /// The file as a whole (a missing file, a file-level property).
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            region: None,
        }
    }

    /// A position in a file.
    pub fn at(path: impl Into<String>, region: Region) -> Location {
        Location {
            path: path.into(),
            region: Some(region),
        }
    }

    /// The first line, if any.
    pub fn line(&self) -> Option<u32> {
        self.region.map(|r| r.line)
    }
}

/// One problem found by one rule at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (`secrets/github-pat`, `vuln/GHSA-…`).
    pub rule: String,
    pub severity: Severity,
    /// What is wrong, as a sentence.
    pub message: String,
    pub location: Location,
    /// A short label shown under the caret in text output: what exactly is wrong here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// Stable across runs and unrelated line moves; used by baselines and exceptions.
    pub fingerprint: String,
    /// How to fix it (defaults to the rule's help).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending text, already redacted where it may hold a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The id of the exception (or `vouch:allow` / baseline) that suppresses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// Extra, rule-specific structured data (aliases of a vulnerability, fixed versions, …).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl Finding {
    /// Starts a finding of `rule` at `location`. The fingerprint is derived from the rule, the
    /// path and `key`: pass the text that identifies the problem (the offending line's content,
    /// the action reference, a hash of the secret) — never the line number, so fingerprints
    /// survive unrelated edits above the finding.
    pub fn new(rule: &Rule, location: Location, message: impl Into<String>, key: &str) -> Finding {
        let fingerprint = Fingerprint::of(rule.id, &location.path, key).to_string();
        Finding {
            rule: rule.id.to_string(),
            severity: rule.severity,
            message: message.into(),
            location,
            annotation: None,
            fingerprint,
            help: None,
            evidence: None,
            suppressed_by: None,
            properties: serde_json::Map::new(),
        }
    }

    /// A finding for a rule only known at run time (a vulnerability, a Rego rule).
    pub fn dynamic(
        rule_id: impl Into<String>,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
        key: &str,
    ) -> Finding {
        let rule = rule_id.into();
        let fingerprint = Fingerprint::of(&rule, &location.path, key).to_string();
        Finding {
            rule,
            severity,
            message: message.into(),
            location,
            annotation: None,
            fingerprint,
            help: None,
            evidence: None,
            suppressed_by: None,
            properties: serde_json::Map::new(),
        }
    }

    pub fn with_annotation(mut self, annotation: impl Into<String>) -> Finding {
        self.annotation = Some(annotation.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Finding {
        self.evidence = Some(evidence.into());
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    pub fn with_property(mut self, key: &str, value: impl Into<serde_json::Value>) -> Finding {
        self.properties.insert(key.to_string(), value.into());
        self
    }

    /// `true` unless an exception, inline allow or baseline suppresses it.
    pub fn is_active(&self) -> bool {
        self.suppressed_by.is_none()
    }

    /// The order reports use: path, position, rule, fingerprint.
    pub fn sort_key(&self) -> (&str, Option<Region>, &str, &str) {
        (
            &self.location.path,
            self.location.region,
            &self.rule,
            &self.fingerprint,
        )
    }
}
