//! Every expected result of the Rego suite is checked against the real OPA engine.
//!
//! For each case the same policies, flags and inputs go through vouch's runner and through
//! `../shared/interop/opa-eval` (OPA v1.20.2 with conftest's conventions); the conftest-shaped
//! results must be equal, and vouch's are snapshotted so a change in expectations is reviewed.
//! Inputs OPA's judge cannot parse (HCL, Dockerfile, INI, .env) are handed to it as the JSON
//! vouch's parser produced, so the Rego semantics are still OPA's. Needs the judge installed
//! (`.ci/setup.d/10-interop.sh`); fails, never skips, when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use vouch_policy::rego::{Namespaces, PolicySet, inputs};

const FIX: &str = "tests/fixtures/rego";
/// The starter library at the repository root (`policy/`).
const LIBRARY: &str = "@library";

fn policy_dir(name: &str) -> PathBuf {
    if name == LIBRARY {
        Path::new("../../policy").to_path_buf()
    } else {
        Path::new(FIX).join("policy").join(name)
    }
}

fn judge() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/opa-eval");
    assert!(
        p.exists(),
        "OPA judge missing at {}: the shared interop material is required",
        p.display()
    );
    p
}

struct Case {
    name: &'static str,
    policy: &'static str,
    namespaces: &'static [&'static str],
    all: bool,
    data: &'static [&'static str],
    inputs: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "multi_document_yaml",
        policy: "basic",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["deploy.yaml"],
    },
    Case {
        name: "passing_yaml",
        policy: "basic",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["deploy-ok.yaml"],
    },
    Case {
        name: "json_object_results_and_suffix_rules",
        policy: "basic",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["privileged.json", "deploy-ok.yaml"],
    },
    Case {
        name: "all_namespaces_on_a_json_list",
        policy: "namespaces",
        namespaces: &[],
        all: true,
        data: &[],
        inputs: &["list.json"],
    },
    Case {
        name: "two_namespaces",
        policy: "namespaces",
        namespaces: &["main", "docker"],
        all: false,
        data: &[],
        inputs: &["list.json"],
    },
    Case {
        name: "dockerfile",
        policy: "namespaces",
        namespaces: &["docker"],
        all: false,
        data: &[],
        inputs: &["Dockerfile"],
    },
    Case {
        name: "hcl2",
        policy: "namespaces",
        namespaces: &["terraform"],
        all: false,
        data: &[],
        inputs: &["main.tf"],
    },
    Case {
        name: "data_file",
        policy: "data",
        namespaces: &[],
        all: false,
        data: &["registries.yaml"],
        inputs: &["pods.yaml"],
    },
    Case {
        name: "toml",
        policy: "formats",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["server.toml"],
    },
    Case {
        name: "ini",
        policy: "formats",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["server.ini"],
    },
    Case {
        name: "dotenv",
        policy: "formats",
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &["app.env"],
    },
    Case {
        name: "library_kubernetes",
        policy: LIBRARY,
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &[
            "../library/deployment-bad.yaml",
            "../library/deployment-ok.yaml",
        ],
    },
    Case {
        name: "library_iam",
        policy: LIBRARY,
        namespaces: &[],
        all: false,
        data: &[],
        inputs: &[
            "../library/admin-star.json",
            "../library/bucket-public-read.json",
            "../library/not-action-allow.json",
            "../library/passrole-runinstances.json",
            "../library/s3-readonly.json",
            "../library/single-statement-object.json",
        ],
    },
    Case {
        name: "unknown_namespace",
        policy: "basic",
        namespaces: &["nothing"],
        all: false,
        data: &[],
        inputs: &["deploy.yaml"],
    },
];

/// Formats the judge can read itself.
fn judge_reads(path: &str) -> bool {
    [".json", ".yaml", ".yml", ".toml"]
        .iter()
        .any(|e| path.ends_with(e))
}

fn sort_results(v: &mut Value) {
    if let Value::Array(entries) = v {
        for e in entries.iter_mut() {
            for k in ["failures", "warnings", "exceptions"] {
                if let Some(Value::Array(list)) = e.get_mut(k) {
                    list.sort_by_key(|r| {
                        (r["msg"].as_str().unwrap_or("").to_string(), r.to_string())
                    });
                }
            }
        }
        entries.sort_by_key(|e| (e["filename"].to_string(), e["namespace"].to_string()));
    }
}

fn vouch(case: &Case) -> Value {
    let set = PolicySet::load(&policy_dir(case.policy)).unwrap();
    let ns = if case.all {
        Namespaces::All
    } else if case.namespaces.is_empty() {
        Namespaces::Main
    } else {
        Namespaces::Only(case.namespaces.iter().map(|s| s.to_string()).collect())
    };
    let data: Vec<Value> = case
        .data
        .iter()
        .map(|d| inputs::read(&Path::new(FIX).join("data").join(d)).unwrap())
        .collect();
    let mut out = Vec::new();
    for input in case.inputs {
        let path = Path::new(FIX).join("inputs").join(input);
        let docs = match inputs::read(&path).unwrap() {
            Value::Array(items) => items,
            other => vec![other],
        };
        out.extend(
            set.evaluate(&path.display().to_string(), Some(&path), &docs, &data, &ns)
                .unwrap(),
        );
    }
    let mut v = serde_json::to_value(out).unwrap();
    sort_results(&mut v);
    v
}

fn opa(case: &Case, tmp: &Path) -> (Value, i32) {
    let mut cmd = Command::new(judge());
    cmd.arg("--policy").arg(policy_dir(case.policy));
    if case.all {
        cmd.arg("--all-namespaces");
    }
    for ns in case.namespaces {
        cmd.arg("--namespace").arg(ns);
    }
    for d in case.data {
        cmd.arg("--data").arg(Path::new(FIX).join("data").join(d));
    }
    let mut renames = Vec::new();
    for input in case.inputs {
        let path = Path::new(FIX).join("inputs").join(input);
        if judge_reads(input) {
            cmd.arg(&path);
        } else {
            // The judge has no parser for this format: give it the JSON vouch parsed.
            let json = tmp.join(format!("{input}.json"));
            std::fs::write(
                &json,
                serde_json::to_vec(&inputs::read(&path).unwrap()).unwrap(),
            )
            .unwrap();
            renames.push((json.display().to_string(), path.display().to_string()));
            cmd.arg(&json);
        }
    }
    let out = cmd.output().expect("run opa-eval");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "opa-eval failed for {}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).expect("opa-eval JSON");
    if let Value::Array(entries) = &mut v {
        for e in entries {
            for (from, to) in &renames {
                if e["filename"] == Value::String(from.clone()) {
                    e["filename"] = Value::String(to.clone());
                }
            }
        }
    }
    sort_results(&mut v);
    (v, code)
}

#[test]
fn every_case_matches_opa() {
    let tmp = tempfile::tempdir().unwrap();
    for case in CASES {
        let ours = vouch(case);
        let (theirs, code) = opa(case, tmp.path());
        assert_eq!(ours, theirs, "case {} differs from OPA", case.name);
        let failures: usize = ours
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["failures"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(
            code == 1,
            failures > 0,
            "case {}: exit code disagrees",
            case.name
        );
        insta::assert_json_snapshot!(case.name, ours);
    }
}

#[test]
fn syntax_and_runtime_errors_agree_with_opa() {
    // A syntax error: both reject; vouch names file, line and column.
    let broken = Path::new(FIX).join("policy/broken");
    let err = PolicySet::load(&broken).err().expect("syntax error");
    assert!(err.file.as_ref().unwrap().ends_with("bad.rego"));
    assert!(err.line.is_some() && err.column.is_some(), "{err}");
    let out = Command::new(judge())
        .arg("--policy")
        .arg(&broken)
        .arg(Path::new(FIX).join("inputs/deploy-ok.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A runtime error (a complete rule with two values): both fail; vouch names the rule.
    let runtime = Path::new(FIX).join("policy/runtime");
    let input = Path::new(FIX).join("inputs/runtime.json");
    let set = PolicySet::load(&runtime).unwrap();
    let docs = vec![inputs::read(&input).unwrap()];
    let err = set
        .evaluate("runtime.json", Some(&input), &docs, &[], &Namespaces::Main)
        .err();
    let out = Command::new(judge())
        .arg("--policy")
        .arg(&runtime)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "OPA rejects the conflict");
    let err = err.expect("vouch rejects the conflict too");
    assert!(err.message.contains("data.main.deny"), "{err}");
}
