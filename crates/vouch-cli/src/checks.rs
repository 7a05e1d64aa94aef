//! The registry of `vouch check` checks: the one place that lists them.
//! Adding a capability to `vouch check` means adding one line here.

use vouch_core::Check;

/// Every check, in a fixed order. Each reads its own configuration in `configure`.
pub fn all() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(vouch_core::repo_rules::RepoCheck),
        Box::new(vouch_secrets::SecretsCheck::new()),
    ]
}
