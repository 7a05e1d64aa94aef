//! `vouch policy verify`: Rego unit tests, as `conftest verify` (OPA's test runner) runs them.
//!
//! Every rule whose name starts with `test_` in any package is a test; it passes when it is
//! defined and not `false`. Rules named `todo_test_…` are skipped (reported, not run). A test
//! that raises a runtime error fails with that error. Tests run without `input` (they set it
//! with `with input as …`); `--data` documents are merged into `data` first.

use serde::Serialize;
use vouch_core::InputError;

use super::{Outcome, PolicySet, RuleResult};

/// One unit test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The file that defines the test.
    pub file: String,
    pub namespace: String,
    /// The rule name (`test_deny_root`).
    pub name: String,
    pub outcome: TestOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Pass,
    /// Undefined or `false`.
    Fail,
    /// A runtime error (or a resource bound) while evaluating the test.
    Error(String),
    /// `todo_test_…`.
    Skip,
}

impl TestResult {
    /// `data.<namespace>.<name>`.
    pub fn query(&self) -> String {
        format!("data.{}.{}", self.namespace, self.name)
    }
}

impl PolicySet {
    /// Runs every `test_*` rule (and lists every `todo_test_*` rule as skipped), sorted by
    /// file, namespace and name.
    pub fn verify(&self, data: &[serde_json::Value]) -> Result<Vec<TestResult>, InputError> {
        let mut engine = self.engine.clone();
        for d in data {
            engine
                .add_data(regorus::Value::from(d.clone()))
                .map_err(|e| InputError::new(format!("cannot merge data: {e}")))?;
        }
        let mut out = Vec::new();
        for (ns, heads) in &self.heads {
            for (name, file) in heads {
                let skip = name.starts_with("todo_test_");
                if !skip && !name.starts_with("test_") {
                    continue;
                }
                let mut result = TestResult {
                    file: file.clone(),
                    namespace: ns.clone(),
                    name: name.clone(),
                    outcome: TestOutcome::Skip,
                };
                if !skip {
                    result.outcome = match engine.eval_query(result.query(), false) {
                        Err(e) => {
                            let err = super::runtime_error(file, &result.query(), &e, &self.limits);
                            TestOutcome::Error(err.message)
                        }
                        Ok(r) => {
                            let value = r
                                .result
                                .first()
                                .and_then(|r| r.expressions.first())
                                .map(|e| e.value.clone());
                            match value {
                                None
                                | Some(regorus::Value::Undefined)
                                | Some(regorus::Value::Bool(false)) => TestOutcome::Fail,
                                Some(_) => TestOutcome::Pass,
                            }
                        }
                    };
                }
                out.push(result);
            }
        }
        out.sort_by(|a, b| (&a.file, &a.namespace, &a.name).cmp(&(&b.file, &b.namespace, &b.name)));
        Ok(out)
    }
}

/// Test results grouped per file and namespace in conftest's result shape: a passing test is
/// a success, a failing or erroring one a failure whose `msg` is the test's query (and the
/// error, if any); skipped tests are counted in neither.
pub fn outcomes(results: &[TestResult]) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::new();
    for r in results {
        let idx = match out
            .iter()
            .position(|o| o.filename == r.file && o.namespace == r.namespace)
        {
            Some(i) => i,
            None => {
                out.push(Outcome {
                    filename: r.file.clone(),
                    namespace: r.namespace.clone(),
                    successes: 0,
                    failures: Vec::new(),
                    warnings: Vec::new(),
                    exceptions: Vec::new(),
                });
                out.len() - 1
            }
        };
        let o = &mut out[idx];
        let mut metadata = serde_json::Map::new();
        metadata.insert("query".into(), r.query().into());
        match &r.outcome {
            TestOutcome::Pass => o.successes += 1,
            TestOutcome::Skip => {}
            TestOutcome::Fail => o.failures.push(RuleResult {
                msg: r.query(),
                loc: None,
                metadata,
            }),
            TestOutcome::Error(e) => o.failures.push(RuleResult {
                msg: format!("{}: {e}", r.query()),
                loc: None,
                metadata,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn tests_pass_fail_error_and_skip() {
        let policy = "package main\n\ndeny contains \"root\" if { input.root }\n";
        let tests = r#"package main

test_denies_root if {
	deny["root"] with input as {"root": true}
}

test_wrong if {
	deny["root"] with input as {"root": false}
}

test_false := false

test_boom if {
	x := 1 / 0
	x > 0
}

todo_test_later if {
	false
}

helper(x) if { x }
"#;
        let set = PolicySet::from_sources(vec![
            (PathBuf::from("p.rego"), policy.into()),
            (PathBuf::from("p_test.rego"), tests.into()),
        ])
        .unwrap();
        let r = set.verify(&[]).unwrap();
        let by_name = |n: &str| r.iter().find(|t| t.name == n).unwrap().outcome.clone();
        assert_eq!(r.len(), 5, "{r:?}");
        assert_eq!(by_name("test_denies_root"), TestOutcome::Pass);
        assert_eq!(by_name("test_wrong"), TestOutcome::Fail);
        assert_eq!(by_name("test_false"), TestOutcome::Fail);
        assert_eq!(by_name("todo_test_later"), TestOutcome::Skip);
        // Division by zero is undefined in Rego (not an error), so the test fails.
        assert!(
            matches!(
                by_name("test_boom"),
                TestOutcome::Fail | TestOutcome::Error(_)
            ),
            "{r:?}"
        );
        let o = outcomes(&r);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].filename, "p_test.rego");
        assert_eq!(o[0].successes, 1);
        assert_eq!(o[0].failures.len(), 3);
    }

    #[test]
    fn data_files_reach_tests() {
        let set = PolicySet::from_sources(vec![(
            PathBuf::from("t_test.rego"),
            "package t\n\ntest_port if { data.services.ports[_] == 22 }\n".into(),
        )])
        .unwrap();
        assert_eq!(set.verify(&[]).unwrap()[0].outcome, TestOutcome::Fail);
        let data = serde_json::json!({"services": {"ports": [22]}});
        assert_eq!(set.verify(&[data]).unwrap()[0].outcome, TestOutcome::Pass);
    }
}
