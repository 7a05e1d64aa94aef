//! The gate's decision: allow or deny, with one line per requirement.

use std::fmt::Write as _;

use serde::Serialize;

/// How one requirement fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Met,
    NotMet,
    /// Not met, but an exception or break-glass approval lets the deploy proceed.
    Waived,
}

/// One requirement of the policy and what the gate found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// `signatures`, `attestation/slsaprovenance`, `vulnerabilities`, `freeze`.
    pub id: String,
    pub outcome: Outcome,
    /// Why: "2 of 1 required trusted signatures", "signature by untrusted key", "frozen until …".
    pub detail: String,
}

/// The decision for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// What was gated, as named by the user.
    pub subject: String,
    /// Its digest, `sha256:…`.
    pub digest: String,
    pub environment: Option<String>,
    pub allowed: bool,
    pub requirements: Vec<Requirement>,
}

impl Decision {
    pub fn new(
        subject: &str,
        digest: &str,
        environment: Option<&str>,
        requirements: Vec<Requirement>,
    ) -> Decision {
        let allowed = requirements.iter().all(|r| r.outcome != Outcome::NotMet);
        Decision {
            subject: subject.to_string(),
            digest: digest.to_string(),
            environment: environment.map(str::to_string),
            allowed,
            requirements,
        }
    }

    /// Process exit code: 0 allow, 1 deny.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.allowed)
    }

    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}: {} ({})\n",
            if self.allowed { "ALLOW" } else { "DENY" },
            self.subject,
            self.digest
        );
        if let Some(env) = &self.environment {
            let _ = writeln!(out, "  environment: {env}");
        }
        for r in &self.requirements {
            let mark = match r.outcome {
                Outcome::Met => "met    ",
                Outcome::NotMet => "NOT MET",
                Outcome::Waived => "waived ",
            };
            let _ = writeln!(out, "  [{mark}] {}: {}", r.id, r.detail);
        }
        out
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "### Deploy gate: {} `{}`\n\n`{}`{}\n\n| requirement | result | detail |\n|---|---|---|\n",
            if self.allowed {
                "✅ allow"
            } else {
                "❌ deny"
            },
            self.subject,
            self.digest,
            self.environment
                .as_ref()
                .map(|e| format!(" → {e}"))
                .unwrap_or_default()
        );
        for r in &self.requirements {
            let res = match r.outcome {
                Outcome::Met => "met",
                Outcome::NotMet => "**not met**",
                Outcome::Waived => "waived",
            };
            let _ = writeln!(
                out,
                "| {} | {res} | {} |",
                r.id,
                r.detail.replace('|', "\\|")
            );
        }
        out
    }
}
