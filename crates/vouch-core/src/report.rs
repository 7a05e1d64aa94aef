//! The report every command that produces findings returns: findings plus what ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rule::RuleInfo;
use crate::{Finding, Severity, fingerprint};

/// Version of the JSON report schema (docs/json-schema.md). Bumped on breaking changes.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The tool that produced a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: crate::TOOL_NAME.to_string(),
            version: crate::TOOL_VERSION.to_string(),
        }
    }
}

/// A check that did not run, and why (disabled, no database, nothing to check).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedCheck {
    pub name: String,
    pub reason: String,
}

/// Counts and the verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Active (unsuppressed) findings by severity; every severity is present.
    pub counts: BTreeMap<Severity, usize>,
    /// Findings suppressed by exceptions, inline allows or a baseline.
    pub suppressed: usize,
    /// The threshold the verdict used.
    pub fail_on: Severity,
    /// `true` when an active finding is at or above `fail_on`.
    pub failed: bool,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// What was scanned, as the user named it.
    pub target: String,
    /// Checks that ran, sorted.
    pub checks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_checks: Vec<SkippedCheck>,
    pub files_scanned: usize,
    /// Metadata of every rule that has a finding, sorted by id.
    pub rules: Vec<RuleInfo>,
    /// Sorted by path, position, rule.
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub summary: Summary,
}

impl Report {
    /// A report with no findings yet.
    pub fn new(target: impl Into<String>) -> Report {
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool::default(),
            target: target.into(),
            checks: Vec::new(),
            skipped_checks: Vec::new(),
            files_scanned: 0,
            rules: Vec::new(),
            findings: Vec::new(),
            warnings: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Sorts everything, makes fingerprints unique, keeps only the metadata of rules that
    /// fired, and computes the summary against `fail_on`. Idempotent.
    pub fn finalize(&mut self, fail_on: Severity, known_rules: &[RuleInfo]) {
        self.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.findings.dedup();
        if !self.findings.iter().any(|f| f.fingerprint.contains(':')) {
            fingerprint::disambiguate(&mut self.findings);
        }
        self.checks.sort();
        self.checks.dedup();
        self.skipped_checks.sort();
        self.skipped_checks.dedup();
        self.warnings.sort();
        self.warnings.dedup();

        let fired: std::collections::BTreeSet<&str> =
            self.findings.iter().map(|f| f.rule.as_str()).collect();
        let mut rules: BTreeMap<String, RuleInfo> = self
            .rules
            .drain(..)
            .map(|r| (r.id.clone(), r))
            .collect();
        for r in known_rules {
            if fired.contains(r.id.as_str()) {
                rules.entry(r.id.clone()).or_insert_with(|| r.clone());
            }
        }
        for f in &self.findings {
            rules.entry(f.rule.clone()).or_insert_with(|| RuleInfo {
                id: f.rule.clone(),
                severity: f.severity,
                summary: f.message.clone(),
                help: f.help.clone().unwrap_or_default(),
                references: Vec::new(),
            });
        }
        self.rules = rules.into_values().collect();

        let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        let mut suppressed = 0;
        for f in &self.findings {
            if f.is_active() {
                *counts.entry(f.severity).or_insert(0) += 1;
            } else {
                suppressed += 1;
            }
        }
        let failed = self
            .findings
            .iter()
            .any(|f| f.is_active() && f.severity >= fail_on);
        self.summary = Summary {
            counts,
            suppressed,
            fail_on,
            failed,
        };
    }

    /// Active findings only.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_active())
    }

    /// Process exit code for this report: 1 when it failed, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.summary.failed)
    }
}
