//! vouch-gate: decides whether a subject (an artifact, a digest, an image) may be deployed.
//!
//! The gate is pure logic over evidence: the signatures and attestations found for the subject
//! (already verified cryptographically by vouch-attest), the policy, the current time, the
//! freeze windows, the break-glass log and the exceptions. Each requirement is reported as met,
//! waived (by an exception or a break-glass approval) or not met with the reason, so that "no
//! signature" and "signature by an untrusted key" are never confused.
//!
//! [`decide`] is the gate as one call (what `vouch gate` and a signing server run);
//! [`release::release`] and [`provenance::generate`] are the release and provenance commands.
//!
//! This crate never prints or exits, and never reads the clock: `now` is an input.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod breakglass;
pub mod decide;
pub mod decision;
pub mod evaluate;
pub mod evidence;
pub mod freeze;
pub mod oci;
pub mod policy;
pub mod provenance;
pub mod release;
pub mod starter;

pub use decide::{
    BreakGlassRequest, GateError, GateOutcome, GateRequest, KeyLoader, Recorded, VulnLoader,
    VulnSettings, decide,
};
pub use decision::{Decision, Outcome, Requirement};
pub use evaluate::{AttestationEvidence, Evidence, SignatureEvidence, SignatureProblem, evaluate};
pub use policy::GatePolicy;
