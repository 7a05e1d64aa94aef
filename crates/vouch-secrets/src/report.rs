//! Turns hits into findings: redacted evidence, stable fingerprints, inline allows.

use vouch_core::{Finding, Location, Region};

use crate::redact::{redact, secret_hash};
use crate::scan::Hit;

/// The `suppressed_by` value of findings allowed inline.
pub const INLINE_ALLOW: &str = "vouch:allow";

/// A finding for one hit. The fingerprint depends on the rule, the path and the secret's hash
/// (never its line), so it survives edits elsewhere in the file and identifies the same secret
/// in every commit of the history.
pub fn finding(hit: &Hit) -> Finding {
    let secret = hit.secret.expose();
    let hash = secret_hash(secret);
    let redacted = redact(secret);
    let region = Region {
        line: hit.line,
        column: hit.column,
        end_line: hit.end_line,
        end_column: hit.end_column,
    };
    let mut message = hit.rule.summary.to_string();
    if let Some(enc) = hit.encoding {
        message.push_str(match enc {
            "base64" => ", inside a base64 blob",
            "kubernetes-data" => ", in a Kubernetes Secret's data",
            _ => "",
        });
    }
    let mut f = Finding::new(
        hit.rule,
        Location::at(hit.path.clone(), region),
        message,
        &hash,
    )
    .with_annotation(format!("{} here", short_kind(hit.rule.id)))
    .with_evidence(redacted)
    .with_property("secret_sha256_prefix", &hash[..16])
    .with_property("secret_length", secret.chars().count())
    .with_property("redact", true);
    if hit.validated {
        f = f.with_property("validated", "structure (offline)");
    }
    if let Some(enc) = hit.encoding {
        f = f.with_property("encoding", enc);
    }
    if hit.allowed {
        f.suppressed_by = Some(INLINE_ALLOW.to_string());
    }
    f
}

fn short_kind(id: &str) -> &str {
    id.strip_prefix("secrets/").unwrap_or(id)
}

/// Marks AWS key ids and secret keys found in the same file as a pair (a usable credential) and
/// raises the key id to critical.
pub fn pair_aws(findings: &mut [Finding]) {
    use std::collections::BTreeSet;
    let with = |rule: &str| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.location.path.clone())
            .collect()
    };
    let ids = with("secrets/aws-access-key-id");
    let keys = with("secrets/aws-secret-access-key");
    for f in findings.iter_mut() {
        let paired = match f.rule.as_str() {
            "secrets/aws-access-key-id" => keys.contains(&f.location.path),
            "secrets/aws-secret-access-key" => ids.contains(&f.location.path),
            _ => false,
        };
        if paired {
            f.severity = vouch_core::Severity::Critical;
            f.message
                .push_str("; paired with its counterpart in the same file (a usable credential)");
            f.properties.insert("paired".into(), true.into());
        }
    }
}
