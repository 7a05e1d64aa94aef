//! The SARIF renderer's output validates against the SARIF 2.1.0 JSON Schema, for a report
//! that exercises every field we write (regions, suppressions, rules with references).

use vouch_core::rule::RuleInfo;
use vouch_core::{Finding, Location, Region, Report, Severity};

/// Loads the vendored schema. Its `language` patterns have has an unescaped `]`, which ECMA-262
/// regexes accept and the Rust regex engines behind `jsonschema` reject; escape it (the meaning
/// is unchanged) rather than edit the vendored file.
fn validator() -> jsonschema::Validator {
    // In the JSON text `\\]` is the regex `\]`.
    let text = include_str!("data/sarif-2.1.0-rtm.5.json").replace("{2}]?$", "{2}\\\\]?$");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

fn sample() -> Report {
    let rule = RuleInfo {
        id: "workflow/unpinned-action".into(),
        severity: Severity::High,
        summary: "Action not pinned to a commit".into(),
        help: "Pin `uses:` to a full commit SHA.".into(),
        references: vec!["https://docs.github.com/en/actions/security-guides".into()],
    };
    let mut r = Report::new(".");
    r.checks.push("workflow".into());
    r.findings = vec![
        Finding::dynamic(
            "workflow/unpinned-action",
            Severity::High,
            Location::at(".github/workflows/ci yml.yml", Region::span(7, 15, 40)),
            "actions/checkout@v4 is not pinned",
            "actions/checkout@v4",
        )
        .with_annotation("tag, not a SHA"),
        Finding::dynamic(
            "repo/security-md",
            Severity::Info,
            Location::file("SECURITY.md"),
            "missing",
            "",
        ),
        {
            let mut f = Finding::dynamic(
                "secrets/aws",
                Severity::Critical,
                Location::at("src/ä.rs", Region::line(3)),
                "AWS key",
                "k",
            );
            f.suppressed_by = Some("EXC-1".into());
            f
        },
    ];
    r.finalize(Severity::High, &[rule]);
    r
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let validator = validator();
    let out = vouch_report::sarif::render(&sample());
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    // GitHub code scanning requirements beyond the schema.
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    for r in results {
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
        assert!(r["partialFingerprints"]["vouch/v1"].is_string());
    }
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(
        rules
            .iter()
            .all(|r| r["help"]["text"].is_string()
                && r["properties"]["security-severity"].is_string())
    );
}

#[test]
fn a_broken_document_is_rejected_by_the_schema() {
    // Guards the test above against a validator that accepts anything.
    let validator = validator();
    let bad =
        serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]});
    assert!(!validator.is_valid(&bad));
}
