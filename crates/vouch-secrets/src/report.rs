//! Turns hits into findings: redacted evidence, stable fingerprints, inline allows.

use vouch_core::{Finding, Location, Region, Severity};

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
    if crate::filter::is_test_path(&hit.path) {
        let lower = lower_severity(f.severity);
        f.message.push_str(&format!(
            "; in test code or fixtures, so reported at {lower} instead of {} (rotate it if it is real)",
            f.severity
        ));
        f.severity = lower;
        f = f.with_property("context", "test");
    }
    f
}

/// The directory (or file) the text renderer may read source lines from, for a scan of
/// `target`: `None` for an archive, whose bytes are not the text of the member a finding is in
/// (the renderer would show raw archive bytes, or for a stored zip member the secret itself,
/// with a mask computed for another text). Members are shown without a source line.
pub fn source_root(target: &std::path::Path) -> Option<&std::path::Path> {
    if target.is_file() && crate::scan::is_archive(&target.to_string_lossy()) {
        None
    } else {
        Some(target)
    }
}

/// One step down, never below info.
pub fn lower_severity(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// The key that identifies one secret value across files and rules (a hash prefix, never the
/// value).
fn secret_key(f: &Finding) -> Option<&str> {
    f.properties.get("secret_sha256_prefix")?.as_str()
}

/// Groups findings of the same secret value found in several places: each finding stays (one
/// per location), and carries `secret_id` (`sha256:` + 8 hex digits of the value's hash), how
/// many places hold the value (`secret_locations`) and the other places (`same_secret_at`, at
/// most 10); the message names them. Findings of a value found once are left as they are.
pub fn group_same_secret(findings: &mut [Finding]) {
    use std::collections::BTreeMap;
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in findings.iter() {
        if let Some(k) = secret_key(f) {
            let at = format!("{}:{}", f.location.path, f.location.line().unwrap_or(0));
            let v = places.entry(k.to_string()).or_default();
            if !v.contains(&at) {
                v.push(at);
            }
        }
    }
    for f in findings.iter_mut() {
        let Some(k) = secret_key(f).map(str::to_string) else {
            continue;
        };
        let Some(all) = places.get(&k) else { continue };
        if all.len() < 2 {
            continue;
        }
        let me = format!("{}:{}", f.location.path, f.location.line().unwrap_or(0));
        let mut others: Vec<String> = all.iter().filter(|p| **p != me).cloned().collect();
        others.sort();
        let shown: Vec<&str> = others.iter().take(3).map(String::as_str).collect();
        let more = others.len().saturating_sub(shown.len());
        f.message.push_str(&format!(
            "; the same value is also at {}{} (one secret in {} places)",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            all.len()
        ));
        let id = format!("sha256:{}", k.get(..8).unwrap_or(&k));
        let listed: Vec<serde_json::Value> =
            others.iter().take(10).map(|p| p.as_str().into()).collect();
        f.properties.insert("secret_id".into(), id.into());
        f.properties
            .insert("secret_locations".into(), all.len().into());
        f.properties.insert("same_secret_at".into(), listed.into());
    }
}

/// How many distinct secret values the (active) findings hold, and how many of them were found
/// in more than one place: `(findings, distinct, repeated)`.
pub fn distinct_secrets(findings: &[Finding]) -> (usize, usize, usize) {
    use std::collections::BTreeMap;
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n = 0;
    for f in findings.iter().filter(|f| f.is_active()) {
        if let Some(k) = secret_key(f) {
            n += 1;
            *count.entry(k).or_default() += 1;
        }
    }
    let repeated = count.values().filter(|c| **c > 1).count();
    (n, count.len(), repeated)
}

/// The summary line for a scan whose findings repeat a value: `5 findings are 3 distinct
/// secrets (1 value found in more than one place)`; `None` when every value is found once.
pub fn distinct_summary(findings: &[Finding]) -> Option<String> {
    let (n, distinct, repeated) = distinct_secrets(findings);
    (repeated > 0).then(|| {
        format!(
            "{n} secret finding{} {} {distinct} distinct secret{} ({repeated} value{} found in more than one place)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
            if distinct == 1 { "" } else { "s" },
            if repeated == 1 { "" } else { "s" },
        )
    })
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
