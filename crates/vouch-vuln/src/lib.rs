//! vouch-vuln: the vulnerability gate.
//!
//! - [`db`]: OSV records imported into an embedded SQLite database (directories, per-ecosystem
//!   `.zip` exports, `.tar.gz` snapshots, single files), incremental, indexed by
//!   (ecosystem, normalised name).
//! - [`version`]: version ordering per ecosystem.
//! - [`matcher`]: exact OSV range semantics, withdrawn records dropped, aliases grouped.
//! - [`severity`]: CVSS v2/v3.x/v4 vectors and database-specific severities.
//! - [`sbom`]: the packages of a CycloneDX or SPDX JSON SBOM (by purl).
//! - [`vex`]: OpenVEX and CycloneDX VEX statements applied to findings; OpenVEX output.
//! - [`sla`]: first-seen state and SLA deadlines (seed register D6).
//! - [`freshness`]: the database's age and `[vuln] max_db_age`.
//! - [`scan`]: packages → findings, the function `vouch vuln scan` and `vouch check` share.
//!
//! Nothing here prints or exits.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod check;
pub mod db;
pub mod freshness;
pub mod matcher;
pub mod osv;
pub mod purl;
pub mod register;
pub mod sbom;
pub mod scan;
pub mod severity;
pub mod sla;
pub mod version;
pub mod vex;

pub use db::{Database, DbError};
pub use matcher::PackageRef;
pub use version::Ecosystem;
