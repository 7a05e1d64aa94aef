//! in-toto Statement v1 (reading v0.1 too) and predicate type names.
//!
//! `--type` names follow cosign, with one deliberate difference: plain `slsaprovenance`
//! *creates* SLSA v1 (`https://slsa.dev/provenance/v1`) and, when verifying, accepts v1 or
//! v0.2. In cosign it means v0.2 only, which rejects the v1 provenance most builders now
//! produce. Use `slsaprovenance02` or `slsaprovenance1` to pin one version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical;
use crate::error::AttestError;

/// `_type` of in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of in-toto Statement v0.1 (accepted when reading).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// SLSA Provenance v1.
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
/// SLSA Provenance v0.2.
pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";

/// A resource descriptor (a statement subject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// Name (file name, package name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm (`sha256` → lowercase hex).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Other fields, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// An in-toto Statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1` (or v0.1 when read).
    #[serde(rename = "_type")]
    pub type_: String,
    /// What the statement is about.
    pub subject: Vec<ResourceDescriptor>,
    /// The predicate's type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Value>,
}

impl Statement {
    /// A v1 statement about one subject (name + sha256 hex).
    pub fn new(
        subject_name: &str,
        sha256_hex: &str,
        predicate_type: &str,
        predicate: Value,
    ) -> Self {
        Statement {
            type_: STATEMENT_V1.to_string(),
            subject: vec![ResourceDescriptor {
                name: Some(subject_name.to_string()),
                uri: None,
                digest: BTreeMap::from([("sha256".to_string(), sha256_hex.to_string())]),
                other: serde_json::Map::new(),
            }],
            predicate_type: predicate_type.to_string(),
            predicate: Some(predicate),
        }
    }

    /// Parses and validates a statement.
    pub fn from_json(bytes: &[u8]) -> Result<Statement, AttestError> {
        let st: Statement =
            serde_json::from_slice(bytes).map_err(|e| AttestError::BadStatement(e.to_string()))?;
        st.validate()?;
        Ok(st)
    }

    /// Checks the rules of the in-toto spec: known `_type`, at least one subject, each subject
    /// with a name/uri and a non-empty digest, a non-empty predicate type, a predicate.
    pub fn validate(&self) -> Result<(), AttestError> {
        let bad = |m: &str| Err(AttestError::BadStatement(m.to_string()));
        if self.type_ != STATEMENT_V1 && self.type_ != STATEMENT_V01 {
            return bad(&format!("unknown _type `{}`", self.type_));
        }
        if self.subject.is_empty() {
            return bad("no subject");
        }
        for (i, s) in self.subject.iter().enumerate() {
            if s.name.is_none() && s.uri.is_none() && s.digest.is_empty() {
                return bad(&format!("subject {} has none of name, uri, digest", i + 1));
            }
            if s.digest.is_empty() {
                return bad(&format!("subject {} has no digest", i + 1));
            }
        }
        if self.predicate_type.is_empty() {
            return bad("empty predicateType");
        }
        if self.predicate.is_none() {
            return bad("no predicate");
        }
        Ok(())
    }

    /// The canonical (RFC 8785) JSON bytes that are signed.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        canonical::canonicalize(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// Whether some subject has this sha256 digest (hex, compared case-insensitively).
    pub fn has_sha256(&self, hex_digest: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(hex_digest))
        })
    }
}

/// Validates a SLSA v1 predicate: `buildDefinition.buildType`,
/// `buildDefinition.externalParameters` and `runDetails.builder.id` are required.
pub fn validate_slsa_v1(predicate: &Value) -> Result<(), AttestError> {
    let bad = |m: &str| Err(AttestError::BadStatement(format!("SLSA v1 predicate: {m}")));
    let bd = predicate.get("buildDefinition");
    if !bd
        .and_then(|b| b.get("buildType"))
        .is_some_and(Value::is_string)
    {
        return bad("buildDefinition.buildType is required");
    }
    if !bd
        .and_then(|b| b.get("externalParameters"))
        .is_some_and(Value::is_object)
    {
        return bad("buildDefinition.externalParameters is required");
    }
    let id = predicate
        .get("runDetails")
        .and_then(|r| r.get("builder"))
        .and_then(|b| b.get("id"));
    if id.and_then(Value::as_str).is_none_or(str::is_empty) {
        return bad("runDetails.builder.id is required");
    }
    Ok(())
}

/// A `--type` resolved: the URI written when signing, and the URIs accepted when verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateType {
    /// Written into new statements.
    pub uri: String,
    /// Accepted when verifying.
    pub accepted: Vec<String>,
}

impl PredicateType {
    /// Resolves a cosign-style name or a URI.
    pub fn resolve(name: &str) -> Result<PredicateType, AttestError> {
        let one = |u: &str| PredicateType {
            uri: u.to_string(),
            accepted: vec![u.to_string()],
        };
        Ok(match name {
            "slsaprovenance" => PredicateType {
                uri: SLSA_V1.into(),
                accepted: vec![SLSA_V1.into(), SLSA_V02.into()],
            },
            "slsaprovenance1" => one(SLSA_V1),
            "slsaprovenance02" => one(SLSA_V02),
            "link" => one("https://in-toto.io/Link/v1"),
            "spdx" | "spdxjson" => PredicateType {
                uri: "https://spdx.dev/Document".into(),
                accepted: vec![
                    "https://spdx.dev/Document".into(),
                    "https://spdx.dev/Document/v2.2".into(),
                    "https://spdx.dev/Document/v2.3".into(),
                ],
            },
            "cyclonedx" => one("https://cyclonedx.org/bom"),
            "vuln" => one("https://cosign.sigstore.dev/attestation/vuln/v1"),
            "openvex" => one("https://openvex.dev/ns"),
            "custom" => one("https://cosign.sigstore.dev/attestation/v1"),
            uri if uri.contains(':') && !uri.chars().any(char::is_whitespace) => one(uri),
            other => return Err(AttestError::UnknownPredicateType(other.to_string())),
        })
    }

    /// Whether a statement's predicate type is accepted.
    pub fn accepts(&self, predicate_type: &str) -> bool {
        self.accepted.iter().any(|a| a == predicate_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn statement_parser_never_panics(s in ".{0,300}") {
            let _ = Statement::from_json(s.as_bytes());
            let _ = crate::verify::Evidence::from_json(s.as_bytes());
        }

        #[test]
        fn arbitrary_json_predicates_validate_without_panic(v in proptest::collection::btree_map("[a-zA-Z]{1,12}", "[ -~]{0,12}", 0..6)) {
            let value = serde_json::to_value(v).unwrap_or_default();
            let _ = validate_slsa_v1(&value);
        }
    }

    #[test]
    fn type_names() {
        let s = PredicateType::resolve("slsaprovenance").unwrap();
        assert_eq!(s.uri, SLSA_V1);
        assert!(s.accepts(SLSA_V02));
        assert!(
            !PredicateType::resolve("slsaprovenance1")
                .unwrap()
                .accepts(SLSA_V02)
        );
        assert!(PredicateType::resolve("nonsense").is_err());
        assert_eq!(
            PredicateType::resolve("https://x/y").unwrap().uri,
            "https://x/y"
        );
    }
}
