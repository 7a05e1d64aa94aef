//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.
//!
//! Written with `serde_json` rather than a typed SARIF crate: the subset we emit is small, and
//! the test suite validates it against the official 2.1.0 schema (vendored under tests/).
//! GitHub's requirements honoured here: every result has a location, rules carry help text and
//! `security-severity`, `partialFingerprints` are stable, suppressed findings are reported with
//! `suppressions` so that alerts close instead of reappearing.

use serde_json::{Value, json};
use vouch_core::{Finding, Report};

/// Key under `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "vouch/v1";

pub fn render(report: &Report) -> Vec<u8> {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let mut rule = json!({
                "id": r.id,
                "name": rule_name(&r.id),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": if r.help.is_empty() { r.summary.clone() } else { r.help.clone() }, "markdown": if r.help.is_empty() { r.summary.clone() } else { r.help.clone() }},
                "defaultConfiguration": {"level": r.severity.sarif_level()},
                "properties": {
                    "security-severity": r.severity.security_severity(),
                    "tags": ["security", r.id.split('/').next().unwrap_or("vouch")],
                },
            });
            if let (Some(uri), Some(obj)) = (r.references.first(), rule.as_object_mut()) {
                obj.insert("helpUri".into(), json!(uri));
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(report, f))
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://github.com/vouch-dev/vouch",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The scanned directory"}}},
            "results": results,
        }],
    });
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `workflow/unpinned-action` → `UnpinnedAction` (SARIF rule names are identifiers).
fn rule_name(id: &str) -> String {
    let last = id.rsplit('/').next().unwrap_or(id);
    last.split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn result(report: &Report, f: &Finding) -> Value {
    let mut physical = json!({
        "artifactLocation": {"uri": uri(&f.location.path), "uriBaseId": "%SRCROOT%"},
    });
    if let Some(r) = f.location.region {
        let mut region = json!({"startLine": r.line.max(1)});
        if !r.is_whole_line() {
            region["startColumn"] = json!(r.column.max(1));
            region["endLine"] = json!(r.end_line.max(r.line).max(1));
            region["endColumn"] = json!(r.end_column.max(1) + 1);
        }
        physical["region"] = region;
    }
    let mut message = f.message.clone();
    if let Some(a) = &f.annotation {
        message = format!("{message} ({a})");
    }
    let rule_index = report.rules.iter().position(|r| r.id == f.rule);
    let mut res = json!({
        "ruleId": f.rule,
        "level": f.severity.sarif_level(),
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"severity": f.severity.as_str()},
    });
    if let Some(i) = rule_index {
        res["ruleIndex"] = json!(i);
    }
    if let Some(by) = &f.suppressed_by {
        res["suppressions"] = json!([{"kind": "external", "justification": format!("suppressed by {by}")}]);
    }
    res
}

/// Relative paths as URI references: percent-encode what is not allowed unescaped.
fn uri(path: &str) -> String {
    let path = if path.is_empty() { "." } else { path };
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(rule_name("workflow/unpinned-action"), "UnpinnedAction");
        assert_eq!(uri("a b/ü.txt"), "a%20b/%C3%BC.txt");
    }
}
