//! Fingerprint baselines: a JSON file listing findings accepted as they are (typically the
//! secrets already in history when scanning is introduced), so only new ones fail a run.
//!
//! ```json
//! {"version": 1, "findings": [{"fingerprint": "…", "rule": "secrets/github-pat", "path": "a.env"}]}
//! ```
//! The file holds no secret material: fingerprints are hashes over rule, path and the secret's
//! SHA-256.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use vouch_core::{Finding, InputError};

/// The `suppressed_by` value of findings in the baseline.
pub const SUPPRESSED_BY: &str = "baseline";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
}

/// A fingerprint without the `:N` occurrence suffix: every occurrence of a baselined secret in
/// a file is covered.
fn base(fp: &str) -> &str {
    fp.split(':').next().unwrap_or(fp)
}

impl Baseline {
    /// A baseline of every active finding, sorted and deduplicated.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let set: BTreeSet<BaselineEntry> = findings
            .iter()
            .filter(|f| f.is_active())
            .map(|f| BaselineEntry {
                fingerprint: base(&f.fingerprint).to_string(),
                rule: f.rule.clone(),
                path: f.location.path.clone(),
            })
            .collect();
        Baseline {
            version: 1,
            findings: set.into_iter().collect(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    pub fn parse(path: &Path, text: &str) -> Result<Baseline, InputError> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| {
            InputError::at(
                path,
                u32::try_from(e.line()).unwrap_or(0),
                u32::try_from(e.column()).ok(),
                format!("not a vouch secrets baseline: {e}"),
            )
            .with_hint("create one with `vouch secrets baseline PATH -o FILE`")
        })?;
        if b.version != 1 {
            return Err(InputError::in_file(
                path,
                format!("baseline version {} is not supported", b.version),
            )
            .with_hint("this vouch reads version 1"));
        }
        Ok(b)
    }

    pub fn load(path: &Path) -> Result<Baseline, InputError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read baseline: {e}")))?;
        Baseline::parse(path, &text)
    }

    /// Marks the findings the baseline covers; returns how many.
    pub fn apply(&self, findings: &mut [Finding]) -> usize {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let mut n = 0;
        for f in findings.iter_mut().filter(|f| f.suppressed_by.is_none()) {
            if known.contains(base(&f.fingerprint)) {
                f.suppressed_by = Some(SUPPRESSED_BY.to_string());
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_suppress() {
        let f = Finding::dynamic(
            "secrets/x",
            vouch_core::Severity::High,
            vouch_core::Location::file("a"),
            "m",
            "k",
        );
        let b = Baseline::from_findings(std::slice::from_ref(&f));
        let text = String::from_utf8(b.to_json()).unwrap();
        let b2 = Baseline::parse(Path::new("b.json"), &text).unwrap();
        let mut fs = vec![
            f.clone(),
            Finding {
                fingerprint: format!("{}:2", f.fingerprint),
                ..f
            },
        ];
        assert_eq!(b2.apply(&mut fs), 2);
    }

    #[test]
    fn bad_baselines_are_input_errors() {
        assert!(Baseline::parse(Path::new("b"), "{").is_err());
        assert!(Baseline::parse(Path::new("b"), "{\"version\":2,\"findings\":[]}").is_err());
        assert!(
            Baseline::parse(Path::new("b"), "{\"version\":1,\"findings\":[],\"x\":1}").is_err()
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = Baseline::parse(Path::new("b"), &s);
        }
    }
}
