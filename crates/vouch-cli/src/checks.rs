//! The registry of `vouch check` checks: the one place that lists them.
//! Adding a capability to `vouch check` means adding one line here.

use vouch_core::Check;

/// Every check, in a fixed order. Each reads its own configuration in `configure`.
pub fn all() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(vouch_core::repo_rules::RepoCheck),
        Box::new(vouch_registers::check::RegistersCheck::default()),
        Box::new(vouch_workflow::WorkflowCheck::default()),
        Box::new(vouch_vuln::check::VulnCheck::default()),
        Box::new(vouch_sbom::checks::SbomCheck::default()),
        Box::new(vouch_policy::check::IamCheck::default()),
        Box::new(vouch_policy::check::PolicyCheck::default()),
        Box::new(vouch_secrets::SecretsCheck::new()),
    ]
}
