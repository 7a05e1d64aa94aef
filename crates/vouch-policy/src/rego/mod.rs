//! A conftest-compatible Rego runner on `regorus` (embedded; no OPA process).
//!
//! Conventions follow conftest's `policy/engine.go`: rules named `deny`, `violation`, `warn`
//! and their `_suffix` forms; namespace `main` unless `--namespace`/`--all-namespaces`; a rule
//! value that is a set of strings or of objects with a string `msg` gives results (other keys
//! become metadata); `data.<ns>.exception[_][_] == "<rule without prefix>"` turns a rule's
//! results into exceptions; `data.conftest.file.{name,dir}` is set per input file; a
//! top-level list (multi-document YAML, a JSON array) is evaluated item by item. Policies are
//! Rego v1 (`deny contains msg if { … }`), conftest's default.

pub mod inputs;
pub mod limits;
pub mod verify;

pub use limits::Limits;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use vouch_core::{Finding, InputError, Location, Region, Severity};

/// Which namespaces (Rego packages) are queried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Namespaces {
    /// `main`, conftest's default.
    #[default]
    Main,
    /// The given packages (`--namespace`, repeatable).
    Only(Vec<String>),
    /// Every package found in the policies (`--all-namespaces`).
    All,
}

/// One result of a rule: conftest's `{msg, metadata}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    pub msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loc: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The results for one input file and namespace, shaped like conftest's JSON output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub filename: String,
    pub namespace: String,
    pub successes: usize,
    pub failures: Vec<RuleResult>,
    pub warnings: Vec<RuleResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<RuleResult>,
}

/// Loaded policies, ready to evaluate (cheap to clone per input).
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    /// namespace → rule name → (number of definitions, file that defines it first).
    rules: BTreeMap<String, BTreeMap<String, (usize, String)>>,
    /// Every rule head found per namespace, with the file that defines it first (for `verify`).
    heads: BTreeMap<String, BTreeMap<String, String>>,
    modules: usize,
    limits: Limits,
}

fn is_fail_rule(name: &str) -> bool {
    rule_kind(name) == Some(true)
}

/// `Some(true)` for deny/violation rules, `Some(false)` for warn rules.
fn rule_kind(name: &str) -> Option<bool> {
    let suffix_ok = |rest: &str| {
        rest.is_empty()
            || rest
                .split('_')
                .skip(1)
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
                && rest.starts_with('_')
    };
    for (prefix, fail) in [("deny", true), ("violation", true), ("warn", false)] {
        if let Some(rest) = name.strip_prefix(prefix)
            && suffix_ok(rest)
        {
            return Some(fail);
        }
    }
    None
}

/// Drops comments and string contents, keeping line structure (enough to find `package`
/// and rule heads, which `opa fmt` puts in column 0).
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' | '`' => {
                out.push(c);
                let mut escaped = false;
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                    }
                    if c == '"' && !escaped && n == '\\' {
                        escaped = true;
                        continue;
                    }
                    if n == c && !escaped {
                        break;
                    }
                    escaped = false;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn package_of(src: &str) -> Option<String> {
    src.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("package")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

/// Rule heads in column 0 (`deny contains msg if`, `default warn := …`), not functions.
fn rule_heads(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let line = line.strip_prefix("default").map_or(line, |r| {
            if r.starts_with([' ', '\t']) {
                r.trim_start()
            } else {
                line
            }
        });
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if line[name.len()..].trim_start().starts_with('(') {
            continue;
        }
        out.push(name);
    }
    out
}

/// Turns a regorus parse error (`path:line:col: error: …` somewhere in the text) into an
/// [`InputError`] with that position.
fn rego_error(path: &Path, display: &str, e: &dyn std::fmt::Display) -> InputError {
    let text = e.to_string();
    let mut err = InputError::in_file(path, format!("invalid Rego: {}", first_error_line(&text)));
    if let Some(idx) = text.find(display) {
        let mut parts = text[idx + display.len()..].split(':');
        let _ = parts.next();
        let digits = |s: &str| {
            let d: String = s
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            d.parse::<u32>().ok()
        };
        let line = parts.next().and_then(digits);
        let col = parts.next().and_then(digits);
        err.line = line;
        err.column = line.and(col);
    }
    err.with_hint(
        "vouch evaluates Rego v1 (`deny contains msg if { … }`), as conftest does by default",
    )
}

/// A Rego runtime error naming the rule; a bound that was hit says which and how to proceed.
pub(crate) fn runtime_error(
    defined_in: &str,
    rule: &str,
    e: &anyhow::Error,
    limits: &Limits,
) -> InputError {
    if limits::is_budget(e) {
        let text = e.to_string();
        let detail = match text.find(limits::BUDGET) {
            Some(i) => first_error_line(&text[i..]),
            None => format!("{}: {}", limits::BUDGET, first_error_line(&text)),
        };
        return InputError::in_file(defined_in, format!("rule {rule}: {detail}")).with_hint(
            format!(
                "vouch bounds Rego evaluation ({} s per query, ranges of {} elements, strings of {} MiB); \
                 see docs/policy.md, Resource bounds",
                limits.timeout.as_secs_f64(),
                limits.max_range,
                limits.max_string_bytes >> 20
            ),
        );
    }
    InputError::in_file(
        defined_in,
        format!("rule {rule}: {}", first_error_line(&e.to_string())),
    )
    .with_hint("a Rego runtime error; fix the rule or the input it reads")
}

fn first_error_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains("error:"))
        .unwrap_or_else(|| text.lines().next().unwrap_or(""));
    let message = match line.find("error:") {
        Some(i) => line[i + 6..].trim().to_string(),
        None => line.trim().to_string(),
    };
    if !message.is_empty() {
        return message;
    }
    // regorus sometimes gives an empty message: say where, at least.
    match text.lines().find_map(|l| l.trim().strip_prefix("-->")) {
        Some(at) => format!("evaluation error at {}", at.trim()),
        None => "evaluation error".to_string(),
    }
}

impl PolicySet {
    /// Loads every `*.rego` under `dir` (recursively, sorted; `_test.rego` included, as
    /// conftest does).
    pub fn load(dir: &Path) -> Result<PolicySet, InputError> {
        PolicySet::load_with(dir, Limits::default())
    }

    /// [`PolicySet::load`] with explicit resource bounds.
    pub fn load_with(dir: &Path, limits: Limits) -> Result<PolicySet, InputError> {
        if !dir.is_dir() {
            return Err(InputError::in_file(dir, "policy directory not found")
                .with_hint("pass --policy DIR with the .rego files"));
        }
        let mut files = Vec::new();
        collect_rego(dir, &mut files)?;
        files.sort();
        if files.is_empty() {
            return Err(InputError::in_file(dir, "no .rego files found")
                .with_hint("policies are *.rego files under --policy DIR"));
        }
        let mut sources = Vec::new();
        for f in files {
            let text = vouch_core::fs::read_regular_to_string(&f, vouch_core::fs::MAX_INPUT_LEN)?;
            sources.push((f, text));
        }
        PolicySet::from_sources_with(sources, limits)
    }

    /// Builds a set from (path, source) pairs.
    pub fn from_sources(sources: Vec<(PathBuf, String)>) -> Result<PolicySet, InputError> {
        PolicySet::from_sources_with(sources, Limits::default())
    }

    /// [`PolicySet::from_sources`] with explicit resource bounds.
    pub fn from_sources_with(
        sources: Vec<(PathBuf, String)>,
        limits: Limits,
    ) -> Result<PolicySet, InputError> {
        let mut engine = regorus::Engine::new();
        limits::install(&mut engine, &limits)?;
        let mut rules: BTreeMap<String, BTreeMap<String, (usize, String)>> = BTreeMap::new();
        let mut heads: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let modules = sources.len();
        for (path, text) in sources {
            let display = path.display().to_string();
            // The parser is exponential in nesting depth: refuse before it sees the file.
            limits::check_nesting(&path, &text, limits.max_nesting)?;
            engine
                .add_policy(display.clone(), text.clone())
                .map_err(|e| rego_error(&path, &display, &e))?;
            let stripped = strip_comments(&text);
            let Some(ns) = package_of(&stripped) else {
                return Err(InputError::in_file(&path, "no package declaration"));
            };
            let ns_heads = heads.entry(ns.clone()).or_default();
            let ns_rules = rules.entry(ns).or_default();
            for head in rule_heads(&stripped) {
                ns_heads
                    .entry(head.clone())
                    .or_insert_with(|| display.clone());
                if rule_kind(&head).is_some() {
                    let e = ns_rules.entry(head).or_insert((0, display.clone()));
                    e.0 += 1;
                }
            }
        }
        Ok(PolicySet {
            engine,
            rules,
            heads,
            modules,
            limits,
        })
    }

    /// Every package that defines at least one module.
    pub fn namespaces(&self) -> Vec<String> {
        self.rules.keys().cloned().collect()
    }

    pub fn module_count(&self) -> usize {
        self.modules
    }

    /// The resource bounds this set evaluates under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn selected(&self, which: &Namespaces) -> Vec<String> {
        match which {
            Namespaces::Main => vec!["main".to_string()],
            Namespaces::Only(list) => list.clone(),
            Namespaces::All => self.namespaces(),
        }
    }

    /// Evaluates `docs` (the items of one input file) and returns one outcome per namespace.
    /// `data` documents are deep-merged at the data root; `file` sets `data.conftest.file`.
    pub fn evaluate(
        &self,
        filename: &str,
        file: Option<&Path>,
        docs: &[serde_json::Value],
        data: &[serde_json::Value],
        namespaces: &Namespaces,
    ) -> Result<Vec<Outcome>, InputError> {
        let mut engine = self.engine.clone();
        for d in data {
            engine
                .add_data(regorus::Value::from(d.clone()))
                .map_err(|e| InputError::new(format!("cannot merge data: {e}")))?;
        }
        if let Some(path) = file {
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let name = abs
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let dir = abs
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            engine
                .add_data(regorus::Value::from(
                    serde_json::json!({"conftest": {"file": {"name": name, "dir": dir}}}),
                ))
                .map_err(|e| InputError::new(format!("cannot set data.conftest.file: {e}")))?;
        }
        let mut out = Vec::new();
        for ns in self.selected(namespaces) {
            let mut agg = Outcome {
                filename: filename.to_string(),
                namespace: ns.clone(),
                successes: 0,
                failures: Vec::new(),
                warnings: Vec::new(),
                exceptions: Vec::new(),
            };
            for doc in docs {
                engine.set_input(regorus::Value::from(doc.clone()));
                self.check(&mut engine, &ns, &mut agg)?;
            }
            let key =
                |r: &RuleResult| (r.msg.clone(), serde_json::to_string(r).unwrap_or_default());
            agg.failures.sort_by_key(key);
            agg.warnings.sort_by_key(key);
            agg.exceptions.sort_by_key(key);
            out.push(agg);
        }
        Ok(out)
    }

    fn check(
        &self,
        engine: &mut regorus::Engine,
        ns: &str,
        agg: &mut Outcome,
    ) -> Result<(), InputError> {
        let Some(rules) = self.rules.get(ns) else {
            return Ok(());
        };
        let (mut succ, mut seen) = (0usize, 0usize);
        for (rule, (_, defined_in)) in rules {
            let runtime = |e: &anyhow::Error| {
                runtime_error(defined_in, &format!("data.{ns}.{rule}"), e, &self.limits)
            };
            let short = if matches!(rule.as_str(), "deny" | "violation" | "warn") {
                String::new()
            } else {
                rule.split_once('_')
                    .map(|x| x.1)
                    .unwrap_or_default()
                    .to_string()
            };
            let exq = format!(
                "data.{ns}.exception[_][_] == {}",
                serde_json::Value::String(short.clone())
            );
            let exceptions = engine
                .eval_query(exq.clone(), false)
                .map_err(|e| runtime(&e))?
                .result
                .len();
            let query = format!("data.{ns}.{rule}");
            let results = engine
                .eval_query(query.clone(), false)
                .map_err(|e| runtime(&e))?;
            let value = results
                .result
                .first()
                .and_then(|r| r.expressions.first())
                .map(|e| e.value.clone());
            let items = match value {
                None | Some(regorus::Value::Undefined) => Vec::new(),
                Some(v) => {
                    let json = serde_json::to_value(&v).unwrap_or(serde_json::Value::Null);
                    match json {
                        serde_json::Value::Array(items) if !items.is_empty() => {
                            items.into_iter().map(Some).collect()
                        }
                        _ => vec![None],
                    }
                }
            };
            for item in items {
                seen += usize::from(exceptions == 0);
                if exceptions > 0 {
                    continue;
                }
                let Some(item) = item else {
                    succ += 1;
                    continue;
                };
                let result = to_result(&item, &query).map_err(|m| {
                    InputError::in_file(defined_in, format!("rule {query}: {m}")).with_hint(
                        "rule values are sets of strings or of objects with a string `msg`",
                    )
                })?;
                if is_fail_rule(rule) {
                    agg.failures.push(result);
                } else {
                    agg.warnings.push(result);
                }
            }
            for _ in 0..exceptions {
                agg.exceptions.push(RuleResult {
                    msg: exq.clone(),
                    loc: None,
                    metadata: serde_json::Map::new(),
                });
                seen += 1;
            }
        }
        // conftest's formula: rule definitions that produced nothing count as successes.
        let total: usize = rules.values().map(|(n, _)| n).sum();
        agg.successes += succ + total.saturating_sub(seen);
        Ok(())
    }
}

fn to_result(item: &serde_json::Value, query: &str) -> Result<RuleResult, String> {
    match item {
        serde_json::Value::String(s) => {
            let mut metadata = serde_json::Map::new();
            metadata.insert("query".into(), query.into());
            Ok(RuleResult {
                msg: s.clone(),
                loc: None,
                metadata,
            })
        }
        serde_json::Value::Object(map) => {
            let Some(serde_json::Value::String(msg)) = map.get("msg") else {
                let text = serde_json::to_string(item).unwrap_or_default();
                return Err(format!(
                    "\"msg\" field must be present and a string: {}",
                    &text[..text.len().min(200)]
                ));
            };
            let loc = map.get("_loc").and_then(|l| l.as_object()).map(|l| {
                l.iter()
                    .filter(|(k, v)| {
                        (*k == "file" || *k == "line")
                            && !v.is_null()
                            && **v != serde_json::json!("")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            });
            let mut metadata: serde_json::Map<String, serde_json::Value> = map
                .iter()
                .filter(|(k, _)| *k != "msg" && *k != "_loc")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            metadata.insert("query".into(), query.into());
            Ok(RuleResult {
                msg: msg.clone(),
                loc,
                metadata,
            })
        }
        other => Err(format!("unsupported result {other}")),
    }
}

fn collect_rego(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| InputError::in_file(dir, format!("cannot read: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| InputError::in_file(dir, format!("cannot read: {e}")))?;
        let path = entry.path();
        if path.is_dir() {
            collect_rego(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rego") {
            // A FIFO or device named *.rego would block or never end: refuse it.
            if !path.is_file() {
                return Err(InputError::in_file(&path, "not a regular file")
                    .with_hint("policies are ordinary .rego files"));
            }
            out.push(path);
        }
    }
    Ok(())
}

/// The rule id a Rego result is reported under: `rego/<namespace>.<rule>`.
pub fn rule_id(result: &RuleResult) -> String {
    let query = result
        .metadata
        .get("query")
        .and_then(|q| q.as_str())
        .unwrap_or("data.main.deny");
    format!("rego/{}", query.strip_prefix("data.").unwrap_or(query))
}

/// Turns outcomes into findings: failures at `high`, warnings at `low`; exceptions are not
/// findings (they were accepted in the policy itself).
pub fn findings(outcomes: &[Outcome], path: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in outcomes {
        for (list, severity) in [(&o.failures, Severity::High), (&o.warnings, Severity::Low)] {
            for r in list {
                let id = rule_id(r);
                let line = r
                    .loc
                    .as_ref()
                    .and_then(|l| l.get("line"))
                    .and_then(|l| l.as_u64());
                let location = match line.and_then(|l| u32::try_from(l).ok()) {
                    Some(l) if l > 0 => Location::at(path, Region::line(l)),
                    _ => Location::file(path),
                };
                let mut f = Finding::dynamic(
                    &id,
                    severity,
                    location,
                    r.msg.clone(),
                    &format!("{id}|{}", r.msg),
                );
                let meta: serde_json::Map<String, serde_json::Value> = r
                    .metadata
                    .iter()
                    .filter(|(k, _)| *k != "query")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !meta.is_empty() {
                    f = f.with_property("metadata", serde_json::Value::Object(meta));
                }
                out.push(f.with_help(format!(
                    "Reported by the Rego rule {}.",
                    id.trim_start_matches("rego/")
                )));
            }
        }
    }
    out
}

/// Evaluates `policies` against one JSON input (for callers such as the deploy gate) and
/// returns findings located at `path`. A top-level array is evaluated item by item.
pub fn evaluate_json(
    policies: &PolicySet,
    input: &serde_json::Value,
    path: &str,
    data: &[serde_json::Value],
    namespaces: &Namespaces,
) -> Result<Vec<Finding>, InputError> {
    let docs = match input {
        serde_json::Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let outcomes = policies.evaluate(path, None, &docs, data, namespaces)?;
    Ok(findings(&outcomes, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(src: &str) -> PolicySet {
        PolicySet::from_sources(vec![(PathBuf::from("p.rego"), src.to_string())]).unwrap()
    }

    #[test]
    fn rule_names() {
        assert_eq!(rule_kind("deny"), Some(true));
        assert_eq!(rule_kind("violation_no_root"), Some(true));
        assert_eq!(rule_kind("warn_x_1"), Some(false));
        assert_eq!(rule_kind("denyx"), None);
        assert_eq!(rule_kind("deny_"), None);
        assert_eq!(rule_kind("allow"), None);
    }

    #[test]
    fn deny_warn_and_exceptions() {
        let p = set(r#"package main
deny contains msg if { input.kind == "Pod"; msg := "no pods" }
warn_latest contains {"msg": "latest tag", "sev": 2} if { input.image == "x:latest" }
deny_root contains "root" if { input.root }
exception contains rules if { input.allow_root; rules := ["root"] }
"#);
        let o = p
            .evaluate(
                "f.yaml",
                None,
                &[json!({"kind":"Pod","image":"x:latest","root":true,"allow_root":true})],
                &[],
                &Namespaces::Main,
            )
            .unwrap();
        assert_eq!(o[0].failures.len(), 1);
        assert_eq!(o[0].failures[0].msg, "no pods");
        assert_eq!(o[0].warnings[0].metadata["sev"], json!(2));
        assert_eq!(o[0].exceptions.len(), 1);
        let f = findings(&o, "f.yaml");
        assert_eq!(f.len(), 2);
        assert!(f.iter().any(|f| f.rule == "rego/main.deny"));
    }

    #[test]
    fn library_function_for_the_gate() {
        let p = set("package main\ndeny contains \"frozen\" if { input.freeze }\n");
        let f =
            evaluate_json(&p, &json!({"freeze": true}), "gate", &[], &Namespaces::Main).unwrap();
        assert_eq!(f[0].message, "frozen");
        assert!(
            evaluate_json(
                &p,
                &json!({"freeze": false}),
                "gate",
                &[],
                &Namespaces::Main
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = PolicySet::from_sources(vec![(
            PathBuf::from("bad.rego"),
            "package main\n\ndeny contains msg if {\n  msg := \n}\n".into(),
        )])
        .err()
        .unwrap();
        assert_eq!(e.file.as_deref(), Some(Path::new("bad.rego")));
        assert!(e.line.is_some(), "{e}");
        let e = PolicySet::from_sources(vec![(
            PathBuf::from("v0.rego"),
            "package main\ndeny[msg] { msg := \"x\" }\n".into(),
        )]);
        assert!(e.is_err());
    }

    #[test]
    fn runtime_errors_name_the_rule() {
        let p = set("package main\ndeny contains msg if { msg := sprintf(\"%v\", [1 / 0]) }\n");
        match p.evaluate("f", None, &[json!({})], &[], &Namespaces::Main) {
            Err(e) => assert!(e.message.contains("data.main.deny"), "{e}"),
            Ok(o) => assert!(o[0].failures.is_empty()),
        }
    }
}
