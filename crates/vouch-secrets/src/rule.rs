//! A secret rule is data: what to look for (regex), which literals must be present for the
//! regex to be worth running (keywords), how random the secret must be (entropy), an offline
//! validator, and examples that must and must not match. The test in `rules/mod.rs` runs every
//! rule against its own examples.

use vouch_core::Rule;

use crate::validate::Validator;

/// One credential kind.
#[derive(Debug, Clone, Copy)]
pub struct SecretRule {
    /// Id, severity, summary, help and references, as for every vouch rule.
    pub meta: Rule,
    /// The pattern. The secret is the capture group named `secret`, else group 1, else the
    /// whole match.
    pub regex: &'static str,
    /// Lower-case literals; the regex runs only on files (or decoded blobs) that contain at
    /// least one of them (ASCII case-insensitively). Empty: the rule always runs.
    pub keywords: &'static [&'static str],
    /// Minimum Shannon entropy of the secret in bits per character (0: no gate).
    pub min_entropy: f32,
    /// Offline check of the secret's own structure (checksum, decoding).
    pub validator: Validator,
    /// Inputs on which the rule must report exactly one finding.
    pub examples: &'static [&'static str],
    /// Inputs on which the rule must report nothing.
    pub counter_examples: &'static [&'static str],
}

impl SecretRule {
    pub fn id(&self) -> &'static str {
        self.meta.id
    }
}

/// Builds the common shape of a rule; fields can be overridden with struct update syntax.
#[macro_export]
macro_rules! secret_rule {
    (
        id: $id:literal,
        severity: $sev:ident,
        summary: $summary:literal,
        $(refs: $refs:expr,)?
        regex: $regex:expr,
        keywords: $kw:expr,
        entropy: $ent:literal,
        validator: $val:ident,
        examples: $ex:expr,
        counter: $cex:expr $(,)?
    ) => {
        $crate::rule::SecretRule {
            meta: vouch_core::Rule {
                id: $id,
                severity: vouch_core::Severity::$sev,
                summary: $summary,
                help: $crate::rule::DEFAULT_HELP,
                references: $crate::secret_rule!(@refs $($refs)?),
            },
            regex: $regex,
            keywords: $kw,
            min_entropy: $ent,
            validator: $crate::validate::Validator::$val,
            examples: $ex,
            counter_examples: $cex,
        }
    };
    (@refs) => { &[] };
    (@refs $refs:expr) => { $refs };
}

/// The fix for a leaked credential, shared by every secret rule.
pub const DEFAULT_HELP: &str = "Revoke the credential at its issuer now (treat it as leaked even if \
the commit is not pushed yet: it stays in history), issue a new one, and load it at run time from \
a secret store or the CI secret context instead of the repository. If it is a test value, make \
it obviously fake, or add `vouch:allow` with a reason on the line.";
