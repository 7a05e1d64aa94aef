//! Every gate fires on a register that breaks it and stays quiet on one that meets it.

use std::path::Path;

use jiff::civil::Date;
use vouch_registers::{GateContext, Register, RegisterKind, gates};

fn ctx() -> GateContext {
    GateContext {
        today: "2026-11-24".parse::<Date>().unwrap(),
        allowed_licences: Some(vec![
            "MIT".into(),
            "Apache-2.0".into(),
            "BSD-3-Clause".into(),
        ]),
    }
}

fn rules(kind: RegisterKind, rows: &str) -> Vec<String> {
    let text = format!("{}\n{rows}", kind.starter_header());
    let r = Register::parse(
        kind,
        Path::new("r.csv"),
        &format!("security/{}.csv", kind.stem()),
        &text,
    )
    .unwrap();
    let mut ids: Vec<String> = gates::check(&r, &ctx())
        .into_iter()
        .map(|f| f.rule)
        .collect();
    ids.sort();
    ids
}

#[test]
fn d1_exit_gate() {
    assert_eq!(
        rules(
            RegisterKind::D1,
            "Login API,Spoofing,Credential stuffing,High,High,,,,Open,2030-01-01\n"
        ),
        vec!["register/threat-uncontrolled"],
        "one threat without control or owner is one finding"
    );
    assert_eq!(
        rules(
            RegisterKind::D1,
            "Login API,Spoofing,Credential stuffing,Med,High,MFA,,,Open,2030-01-01\n"
        ),
        vec!["register/threat-uncontrolled"]
    );
    assert!(rules(RegisterKind::D1, "Login API,Spoofing,Credential stuffing,High,High,MFA + rate limit,Ana,,Mitigated,2030-01-01\n").is_empty());
    assert!(
        rules(
            RegisterKind::D1,
            "Docs site,Tampering,Defacement,Low,High,,,,Open,2030-01-01\n"
        )
        .is_empty(),
        "Low impact is outside the exit gate"
    );
    assert_eq!(
        rules(
            RegisterKind::D1,
            "Docs site,Tampering,Defacement,Low,Low,,,,Accepted,\n"
        ),
        vec!["register/accepted-risk-incomplete"]
    );
    assert_eq!(
        rules(
            RegisterKind::D1,
            "Docs,Tampering,x,Low,Low,c,o,r,Accepted,2026-01-01\n"
        ),
        vec!["register/review-overdue"]
    );
}

#[test]
fn d2_retention_encryption_roles() {
    assert!(rules(RegisterKind::D2, RegisterKind::D2.example_rows()).is_empty());
    assert_eq!(
        rules(
            RegisterKind::D2,
            "Emails,App,Login,DB,,Support,TLS,N,None,Contract,Script,Ana\n"
        ),
        vec!["register/data-unencrypted"],
        "unencrypted data is the problem; its empty fields are named in the one finding"
    );
    assert_eq!(
        rules(
            RegisterKind::D2,
            "Emails,App,Login,DB,,Support,,,Ana,Contract,Script,Ana\n"
        ),
        vec!["register/data-item-incomplete"],
        "one incomplete row, one finding"
    );
}

/// The one finding a row gets, by rule: its message.
fn messages(kind: RegisterKind, rows: &str) -> Vec<(String, String)> {
    let text = format!("{}\n{rows}", kind.starter_header());
    let r = Register::parse(kind, Path::new("r.csv"), "security/r.csv", &text).unwrap();
    gates::check(&r, &ctx())
        .into_iter()
        .map(|f| (f.rule, f.message))
        .collect()
}

#[test]
fn one_row_one_problem_one_finding_that_names_what_is_missing() {
    assert_eq!(
        messages(
            RegisterKind::D2,
            "Emails,App,Login,DB,,,No,N,,Contract,Script,Ana\n"
        ),
        [(
            "register/data-unencrypted".to_string(),
            "data item Emails is not encrypted in transit or at rest (its row has no retention or access roles yet)".to_string()
        )]
    );
    assert_eq!(
        messages(
            RegisterKind::D3,
            "left-pad,,,https://x,,None,prod,Pin,Alex\n"
        ),
        [(
            "register/component-incomplete".to_string(),
            "component left-pad has no version, license or integrity".to_string()
        )]
    );
    assert_eq!(
        messages(RegisterKind::D4, "repo@a1,img,No,,No,pin,2,doc\n"),
        [(
            "register/unsigned-artifact".to_string(),
            "build repo@a1 records no artifact hash and no signature".to_string()
        )]
    );
    assert_eq!(
        messages(
            RegisterKind::D5,
            "API_KEY,prod,plaintext in repo,6 months,,2025-01-01,\n"
        ),
        [(
            "register/secret-plaintext".to_string(),
            "secret API_KEY is stored as `plaintext in repo` (its row has no access roles yet); its rotation was due on 2025-06-30".to_string()
        )],
        "a leaked secret past its rotation date is still one problem"
    );
    // Filling one of the missing fields keeps the finding's identity (its fingerprint).
    let fp = |rows: &str| {
        let kind = RegisterKind::D3;
        let text = format!("{}\n{rows}", kind.starter_header());
        let r = Register::parse(kind, Path::new("r.csv"), "security/r.csv", &text).unwrap();
        gates::check(&r, &ctx())[0].fingerprint.clone()
    };
    assert_eq!(
        fp("left-pad,1.0,,https://x,,None,prod,Pin,Alex\n"),
        fp("left-pad,1.0,,https://x,sha512:ab,None,prod,Pin,Alex\n")
    );
}

#[test]
fn d3_licences_and_completeness() {
    assert_eq!(
        rules(
            RegisterKind::D3,
            "lwIP,2.2.0,BSD-3-Clause,https://x,sha256:ab,None,prod,Pin,Alex\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        rules(
            RegisterKind::D3,
            "readline,8.2,GPL-3.0-only,https://x,,None,prod,Pin,Alex\n"
        ),
        vec![
            "register/component-incomplete",
            "register/licence-not-allowed"
        ]
    );
    assert!(
        rules(
            RegisterKind::D3,
            "dual,1.0,MIT OR Apache-2.0,x,sha256:1,None,prod,p,o\n"
        )
        .is_empty()
    );
}

#[test]
fn d4_signatures() {
    assert!(rules(RegisterKind::D4, RegisterKind::D4.example_rows()).is_empty());
    assert_eq!(
        rules(RegisterKind::D4, "repo@a1,img,No,,No,pin,2,doc\n"),
        vec!["register/unsigned-artifact"]
    );
}

#[test]
fn d5_rotation_and_storage() {
    assert_eq!(
        rules(RegisterKind::D5, RegisterKind::D5.example_rows()),
        vec!["register/secret-rotation-overdue"],
        "rotated 2025-11-01, every 6 months"
    );
    assert!(
        rules(
            RegisterKind::D5,
            "DB,prod,vault,90 days,app,2026-10-01,link\n"
        )
        .is_empty()
    );
    assert_eq!(
        rules(
            RegisterKind::D5,
            "API_KEY,prod,plaintext in repo,,,2026-10-01,\n"
        ),
        vec!["register/secret-plaintext"],
        "one problem, one finding: the plaintext finding names the empty fields"
    );
    assert_eq!(
        rules(RegisterKind::D5, "API_KEY,prod,vault,,,2026-10-01,\n"),
        vec!["register/secret-incomplete"],
        "a stored secret with empty fields is still incomplete"
    );
}

#[test]
fn d5_row_written_by_sync_names_its_scanner_finding() {
    let kind = RegisterKind::D5;
    let text = format!(
        "{}\nsecrets/private-key at release.key:1,,plaintext in repository,,,,\nAPI_KEY,prod,plaintext in repo,,,2026-10-01,\n",
        kind.starter_header()
    );
    let r = Register::parse(kind, Path::new("r.csv"), "security/secrets.csv", &text).unwrap();
    let found = gates::check(&r, &ctx());
    assert_eq!(found.len(), 2, "{found:#?}");
    let synced = &found[0];
    assert_eq!(synced.rule, "register/secret-plaintext");
    assert!(
        synced
            .message
            .contains("no rotation policy, last rotated or access roles"),
        "{}",
        synced.message
    );
    assert_eq!(
        synced.properties["derived_from"],
        serde_json::json!({"rule": "secrets/private-key", "path": "release.key", "line": 1})
    );
    assert!(
        !found[1].properties.contains_key("derived_from"),
        "a row a person wrote is its own finding"
    );
}

#[test]
fn d6_rows_name_the_advisories_a_scanner_reports() {
    let kind = RegisterKind::D6;
    let text = format!(
        "{}\nOSV,GHSA-aaaa-bbbb-cccc (CVE-2025-1),npm/x@1,High,Fix,7,Open,PR#1,2026-11-01\nPentest,login bypass,app,High,Fix,7,Open,PR#2,2026-11-01\n",
        kind.starter_header()
    );
    let r = Register::parse(kind, Path::new("r.csv"), "security/v.csv", &text).unwrap();
    let found = gates::check(&r, &ctx());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        found[0].properties["derived_from"],
        serde_json::json!({"family": "vuln", "ids": ["GHSA-aaaa-bbbb-cccc", "CVE-2025-1"]})
    );
    assert!(
        !found[1].properties.contains_key("derived_from"),
        "a finding of a pentest is the register's own"
    );
}

#[test]
fn d6_sla() {
    assert_eq!(
        rules(
            RegisterKind::D6,
            "NVD,CVE-2025-1,OpenSSL,Critical,Fix,7,Open,PR#1,2026-11-01\n"
        ),
        vec!["register/vuln-sla-overdue"]
    );
    assert!(
        rules(
            RegisterKind::D6,
            "NVD,CVE-2025-1,OpenSSL,Critical,Fix,7,Fixed,PR#1,2026-01-01\n"
        )
        .is_empty()
    );
    assert!(
        rules(
            RegisterKind::D6,
            "NVD,CVE-2025-1,OpenSSL,High,Fix,30,Open,PR#1,2026-11-20\n"
        )
        .is_empty()
    );
    assert_eq!(
        rules(RegisterKind::D6, RegisterKind::D6.example_rows()),
        vec!["register/vuln-sla-unknown"]
    );
}

#[test]
fn d7_ladder_actions_rehearsal() {
    let full = "Key leak,S1,Revoke,Logs,Advisory,On-call,link,2026-06-01\nOutage,S2,Failover,Metrics,Status page,SRE,link,\nBug,S3,Triage,Logs,None,Dev,link,\nQuestion,S4,Answer,None,None,Support,link,\n";
    assert!(rules(RegisterKind::D7, full).is_empty());
    assert_eq!(
        rules(
            RegisterKind::D7,
            "Key leak,S2,,Logs,Advisory,,link,2024-01-01\n"
        ),
        vec![
            "register/ir-ladder-incomplete",
            "register/ir-rehearsal-overdue",
            "register/ir-trigger-incomplete"
        ]
    );
}

#[test]
fn findings_point_at_the_cell() {
    let text = format!(
        "{}\nLogin API,Spoofing,Credential stuffing,High,High,,Ana,,Open,2030-01-01\n",
        RegisterKind::D1.starter_header()
    );
    let r = Register::parse(
        RegisterKind::D1,
        Path::new("r.csv"),
        "security/threat-model.csv",
        &text,
    )
    .unwrap();
    let f = &gates::check(&r, &ctx())[0];
    assert_eq!(f.location.path, "security/threat-model.csv");
    let region = f.location.region.unwrap();
    assert_eq!((region.line, region.column), (2, 50));
}
