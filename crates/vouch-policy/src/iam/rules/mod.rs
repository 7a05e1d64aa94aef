//! The `iam/*` rules, one file each. Adding a rule means adding its file and one line to
//! [`ALL`].

pub mod cross_environment;
pub mod missing_tags;
pub mod not_action_allow;
pub mod not_resource_allow;
pub mod privilege_escalation;
pub mod public_principal;
pub mod wildcard_action;
pub mod wildcard_resource;

use vouch_core::{Finding, Rule};

use super::{IamFile, IamOptions};

/// A rule: its metadata and its check.
pub struct IamRule {
    pub meta: &'static Rule,
    pub check: fn(&IamFile, &IamOptions, &mut Vec<Finding>),
}

/// Every `iam/*` rule.
pub const ALL: &[IamRule] = &[
    IamRule {
        meta: &wildcard_action::RULE,
        check: wildcard_action::check,
    },
    IamRule {
        meta: &wildcard_resource::RULE,
        check: wildcard_resource::check,
    },
    IamRule {
        meta: &public_principal::RULE,
        check: public_principal::check,
    },
    IamRule {
        meta: &not_action_allow::RULE,
        check: not_action_allow::check,
    },
    IamRule {
        meta: &not_resource_allow::RULE,
        check: not_resource_allow::check,
    },
    IamRule {
        meta: &missing_tags::RULE,
        check: missing_tags::check,
    },
    IamRule {
        meta: &cross_environment::RULE,
        check: cross_environment::check,
    },
    IamRule {
        meta: &privilege_escalation::RULE,
        check: privilege_escalation::check,
    },
];

/// The metadata of every rule, for `vouch explain` and SARIF.
pub fn metadata() -> Vec<&'static Rule> {
    ALL.iter().map(|r| r.meta).collect()
}
