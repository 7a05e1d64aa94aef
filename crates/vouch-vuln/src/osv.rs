//! The OSV schema (ossf.github.io/osv-schema), the parts the matcher reads.
//!
//! Parsing is lenient where the schema allows extension (unknown fields are ignored) and
//! strict where meaning depends on it: a record without `id`, or with malformed `affected`
//! entries, is an error so the importer can skip and count it.

use serde::{Deserialize, Serialize};

use crate::version::{Scheme, Version, VersionError};

/// One OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default)]
    pub events: Vec<Event>,
    /// The events parsed and ordered, filled on first use by the matcher.
    #[serde(skip)]
    pub sorted: SortedEvents,
}

/// A range's events parsed in one version scheme and sorted, computed once per record: the
/// database shares records between packages, so a popular advisory's versions are parsed
/// once per scan instead of once per package checked against it. Not part of the record's
/// value: it compares equal, clones empty and prints nothing.
#[derive(Default)]
pub struct SortedEvents(pub(crate) std::sync::OnceLock<(Scheme, ParsedEvents)>);

/// Each event's version (`None` for `introduced: 0`) with its index in `Range::events`, in
/// version order; or the first version that does not parse.
pub type ParsedEvents = Result<Vec<(Option<Version>, usize)>, VersionError>;

impl Clone for SortedEvents {
    fn clone(&self) -> Self {
        SortedEvents::default()
    }
}

impl PartialEq for SortedEvents {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SortedEvents {}

impl std::fmt::Debug for SortedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SortedEvents")
    }
}

/// One range event: exactly one of the four keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RecordError {
    pub message: String,
    pub line: Option<u32>,
}

impl Record {
    /// Parses one OSV JSON document.
    pub fn parse(bytes: &[u8]) -> Result<Record, RecordError> {
        let rec: Record = serde_json::from_slice(bytes).map_err(|e| RecordError {
            message: format!("not an OSV record: {e}"),
            line: u32::try_from(e.line()).ok().filter(|l| *l > 0),
        })?;
        if rec.id.trim().is_empty() {
            return Err(RecordError {
                message: "OSV record has an empty `id`".into(),
                line: None,
            });
        }
        Ok(rec)
    }

    /// Every id this record is known by: its own, then its aliases.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events() {
        let r = Record::parse(
            br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            r.affected[0].ranges[0].events[1],
            Event::Fixed("1.0".into())
        );
        assert!(Record::parse(b"{").is_err());
        assert!(Record::parse(br#"{"id":""}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn malformed_is_an_error_not_a_panic(s in ".{0,200}") {
            let _ = Record::parse(s.as_bytes());
        }

        #[test]
        fn mutated_records_never_panic(cut in 0usize..400, byte in 0u8..128) {
            let good = br#"{"id":"GHSA-1","aliases":["CVE-1"],"affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}],"versions":["1.0.0"]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#;
            let mut v = good.to_vec();
            let i = cut % v.len();
            v[i] = byte;
            if let Ok(r) = Record::parse(&v) {
                let _ = crate::matcher::affected_versions_check(&r, "1.0.0");
            }
        }
    }
}
