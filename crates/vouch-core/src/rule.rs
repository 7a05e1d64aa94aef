//! Rule metadata: the one declaration at the top of every rule file.
//!
//! `vouch explain RULE` prints it and the SARIF `tool.driver.rules` are built from it, so the
//! help a user reads in the terminal and in code scanning is the same text.

use crate::Severity;

/// What a rule is, declared once beside its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `family/name` (`workflow/unpinned-action`).
    pub id: &'static str,
    /// Severity when `vouch.toml` does not override it.
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: &'static str,
    /// How to fix it; may span several lines of Markdown.
    pub help: &'static str,
    /// Links to the standard, advisory or documentation behind the rule.
    pub references: &'static [&'static str],
}

impl Rule {
    /// The family part of the id (`workflow` for `workflow/unpinned-action`).
    pub fn family(&self) -> &'static str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

/// Owned rule metadata, for rules whose ids are only known at run time
/// (one per vulnerability advisory, one per Rego rule).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub severity: crate::Severity,
    pub summary: String,
    pub help: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl From<&Rule> for RuleInfo {
    fn from(r: &Rule) -> Self {
        RuleInfo {
            id: r.id.to_string(),
            severity: r.severity,
            summary: r.summary.to_string(),
            help: r.help.to_string(),
            references: r.references.iter().map(|s| s.to_string()).collect(),
        }
    }
}
