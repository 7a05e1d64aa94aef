//! vouch-sbom: software bills of materials.
//!
//! - [`scan`] / [`scan_with`]: a project directory (every lockfile, recursively), a single
//!   lockfile, an unpacked root filesystem, or an SBOM file → [`Inventory`].
//! - [`read_sbom`]: CycloneDX (JSON) or SPDX 2.3 (JSON) back into an [`Inventory`].
//! - [`write`] with [`SbomFormat`]: CycloneDX 1.6/1.7 JSON, CycloneDX 1.6 XML, SPDX 2.3 JSON,
//!   byte-deterministic.
//! - [`diff()`]: what changed between two inventories, rendered as Markdown or JSON.
//! - [`validate`]: schema validation against the vendored official schemas.
//! - [`checks::SbomCheck`]: the `sbom/unpinned` and `sbom/licence` rules for `vouch check`.
//!
//! Components carry name, version, purl (the identity and the CycloneDX `bom-ref`),
//! ecosystem (with its OSV name for vulnerability matching), scope, hashes, licences,
//! dependency edges and the files they were found in.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod checks;
pub mod cyclonedx;
pub mod diff;
pub mod diff_rows;
pub mod image;
pub mod licence;
pub mod model;
pub mod purl;
pub mod readers;
pub mod sbom_read;
pub mod scan;
pub mod spdx;
pub mod validate;
pub mod write;

pub use cyclonedx::SpecVersion;
pub use diff::{Diff, diff};
pub use model::{Component, Ecosystem, Hash, HashAlg, Inventory, Scope, Subject};
pub use sbom_read::{read_sbom, read_sbom_str};
pub use scan::{ScanOptions, scan, scan_with};
pub use validate::validate;
pub use write::{SbomFormat, WriteOptions, write};
