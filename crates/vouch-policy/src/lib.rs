//! vouch-policy: IAM guardrails (`iam/*`) and a conftest-compatible Rego runner.
//!
//! - [`iam`]: AWS policies, Terraform JSON plans and CloudFormation templates parsed into a
//!   span-carrying model ([`doc`]) and checked by one file per rule; [`iam::diff`] compares a
//!   policy with CloudTrail usage. [`catalogue`] is the vendored action catalogue.
//! - [`rego`]: conftest conventions on `regorus`; [`rego::evaluate_json`] is the library entry
//!   point for other crates (the deploy gate).
//! - [`check`]: the `vouch check` integrations.
//!
//! Like every capability crate, this one never prints or exits.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod catalogue;
pub mod check;
pub mod doc;
pub mod iam;
pub mod rego;
