//! Options shared by the writers and the content-derived identifiers.

use sha2::{Digest, Sha256};

use crate::cyclonedx::SpecVersion;
use crate::model::Inventory;

/// An SBOM format vouch writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    CycloneDxJson,
    CycloneDxXml,
    SpdxJson,
}

/// How to write a document.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub cyclonedx_version: SpecVersion,
    /// `urn:uuid:…` to use instead of the content-derived one.
    pub serial_number: Option<String>,
    /// Document time (`SOURCE_DATE_EPOCH`). CycloneDX omits it when `None`; SPDX requires a
    /// creation time and writes the Unix epoch then, so output stays byte-deterministic.
    pub timestamp: Option<jiff::Timestamp>,
}

impl WriteOptions {
    /// Reads `SOURCE_DATE_EPOCH` (seconds since the epoch); an unparsable value is an error.
    pub fn timestamp_from_env() -> Result<Option<jiff::Timestamp>, vouch_core::InputError> {
        let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") else {
            return Ok(None);
        };
        v.trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(Some)
            .ok_or_else(|| {
                vouch_core::InputError::new(format!("SOURCE_DATE_EPOCH=`{v}` is not a Unix time"))
                    .with_hint(
                        "set it to whole seconds since 1970-01-01, e.g. `git log -1 --format=%ct`",
                    )
            })
    }
}

/// Writes `inv` in `format`.
pub fn write(inv: &Inventory, format: SbomFormat, opts: &WriteOptions) -> Vec<u8> {
    match format {
        SbomFormat::CycloneDxJson => crate::cyclonedx::to_json(inv, opts),
        SbomFormat::CycloneDxXml => crate::cyclonedx::to_xml(inv, opts),
        SbomFormat::SpdxJson => crate::spdx::to_json(inv, opts),
    }
}

/// A digest of the inventory's content (subject, components, edges) and a salt.
pub(crate) fn content_digest(inv: &Inventory, salt: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(inv).unwrap_or_default());
    h.finalize().into()
}

/// A name-based UUID (version 5 layout) derived from the content, as `urn:uuid:…`.
pub fn serial_number(inv: &Inventory, salt: &str) -> String {
    let d = content_digest(inv, salt);
    format!("urn:uuid:{}", uuid_from(&d))
}

pub(crate) fn uuid_from(d: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The bom-ref of the described subject.
pub(crate) fn subject_ref(inv: &Inventory) -> String {
    format!("vouch:subject/{}", inv.subject.name)
}
