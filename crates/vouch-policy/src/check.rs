//! `vouch check` integrations: `iam` lints IAM documents found in the repository; `policy`
//! runs the repository's own Rego policies (`policy/` by default) against its configuration
//! files.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use vouch_core::{Check, CheckContext, Config, InputError, Rule, Sink, SourceFile};

use crate::iam::{self, IamOptions};
use crate::rego::{self, Namespaces, PolicySet, inputs};

fn skipped_dir(path: &str) -> bool {
    path.split('/')
        .any(|c| matches!(c, "node_modules" | "vendor" | "target" | ".git"))
}

/// `iam/*` over policy JSON, Terraform plans and CloudFormation templates.
#[derive(Default)]
pub struct IamCheck {
    options: IamOptions,
}

impl Check for IamCheck {
    fn name(&self) -> &'static str {
        "iam"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        iam::rules::metadata()
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.options = config.section::<IamOptions>("iam")?;
        Ok(())
    }

    fn wants(&self, path: &str) -> bool {
        let lower = path.to_ascii_lowercase();
        !skipped_dir(path)
            && (lower.ends_with(".json")
                || lower.ends_with(".yaml")
                || lower.ends_with(".yml")
                || lower.ends_with(".template"))
    }

    fn check_file(
        &self,
        _ctx: &CheckContext<'_>,
        file: &SourceFile<'_>,
        sink: &mut Sink,
    ) -> Result<(), InputError> {
        let Some(text) = file.text() else {
            return Ok(());
        };
        // Cheap content sniffing: only documents that can hold a policy are parsed.
        let candidate = text.contains("\"Statement\"")
            || text.contains("Statement:")
            || (text.contains("AWS::") && text.contains("Resources"))
            || text.contains("\"planned_values\"");
        if !candidate || !json_root_may_be_iam(text) {
            return Ok(());
        }
        match iam::parse(file.path, text) {
            Ok(parsed) => sink.findings.extend(iam::lint(&parsed, &self.options)),
            Err(e) if e.message.starts_with("not an IAM policy") => {}
            Err(e) => sink.warn(format!("iam: {e}")),
        }
        Ok(())
    }
}

/// The top-level keys `iam::parse` recognises a document by (see `iam::detect`).
#[derive(Deserialize)]
struct RootProbe {
    #[serde(rename = "Statement")]
    statement: Option<serde::de::IgnoredAny>,
    planned_values: Option<serde::de::IgnoredAny>,
    resource_changes: Option<serde::de::IgnoredAny>,
    format_version: Option<serde::de::IgnoredAny>,
    terraform_version: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Resources")]
    resources: Option<serde::de::IgnoredAny>,
    #[serde(rename = "AWSTemplateFormatVersion")]
    template_version: Option<serde::de::IgnoredAny>,
}

/// For a JSON document, whether its top level has a key that makes it a policy, plan or
/// template; checked with serde_json skipping every value, so a large JSON file that only
/// mentions `Statement` somewhere inside (an OpenAPI schema, a lock file) is not built into a
/// span-carrying tree. Anything that is not a JSON object (YAML, invalid JSON) answers `true`
/// and is left to `iam::parse`, which reports errors with positions.
fn json_root_may_be_iam(text: &str) -> bool {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('{') {
        return true;
    }
    match serde_json::from_str::<RootProbe>(trimmed) {
        Ok(p) => {
            p.statement.is_some()
                || p.planned_values.is_some()
                || p.resource_changes.is_some()
                || (p.format_version.is_some() && p.terraform_version.is_some())
                || p.resources.is_some()
                || p.template_version.is_some()
        }
        Err(_) => true,
    }
}

/// `[policy]` in vouch.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOptions {
    /// Directory of Rego policies, relative to the repository (default `policy`).
    #[serde(default = "default_dir")]
    pub dir: String,
    /// Globs (relative to the repository) of the files evaluated as `input`.
    #[serde(default = "default_inputs")]
    pub inputs: Vec<String>,
    /// Namespaces to query (default `main`); `["*"]` for every package.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Data files (JSON/YAML/TOML) merged into `data`, relative to the repository.
    #[serde(default)]
    pub data: Vec<String>,
}

fn default_dir() -> String {
    "policy".into()
}

fn default_inputs() -> Vec<String> {
    [
        "**/*.yaml",
        "**/*.yml",
        "**/*.json",
        "**/*.toml",
        "**/*.tf",
        "**/Dockerfile",
        "**/*.dockerfile",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            dir: default_dir(),
            inputs: default_inputs(),
            namespaces: Vec::new(),
            data: Vec::new(),
        }
    }
}

/// Runs the repository's Rego policies on its configuration files.
#[derive(Default)]
pub struct PolicyCheck {
    options: PolicyOptions,
    matcher: Option<globset::GlobSet>,
    state: Mutex<Option<Arc<Loaded>>>,
}

struct Loaded {
    set: PolicySet,
    data: Vec<serde_json::Value>,
}

impl PolicyCheck {
    fn namespaces(&self) -> Namespaces {
        match self.options.namespaces.as_slice() {
            [] => Namespaces::Main,
            [all] if all == "*" => Namespaces::All,
            list => Namespaces::Only(list.to_vec()),
        }
    }

    fn loaded(&self, root: &std::path::Path) -> Result<Option<Loaded>, InputError> {
        let dir = root.join(&self.options.dir);
        if !dir.is_dir() {
            return Ok(None);
        }
        let set = PolicySet::load(&dir)?;
        let mut data = Vec::new();
        for d in &self.options.data {
            data.push(inputs::read(&root.join(d))?);
        }
        Ok(Some(Loaded { set, data }))
    }
}

impl Check for PolicyCheck {
    fn name(&self) -> &'static str {
        "policy"
    }

    fn rules(&self) -> Vec<&'static Rule> {
        Vec::new()
    }

    fn configure(&mut self, config: &Config) -> Result<(), InputError> {
        self.options = config.section::<PolicyOptions>("policy")?;
        let mut b = globset::GlobSetBuilder::new();
        for g in &self.options.inputs {
            let glob = globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    InputError::new(format!("[policy] inputs: {e}")).or_file("vouch.toml")
                })?;
            b.add(glob);
            // `**/x` should also match `x` at the root.
            if let Some(rest) = g.strip_prefix("**/")
                && let Ok(glob) = globset::Glob::new(rest)
            {
                b.add(glob);
            }
        }
        self.matcher = Some(
            b.build()
                .map_err(|e| InputError::new(format!("[policy] inputs: {e}")))?,
        );
        Ok(())
    }

    fn wants(&self, path: &str) -> bool {
        let in_policy_dir =
            path.starts_with(&format!("{}/", self.options.dir.trim_end_matches('/')));
        !in_policy_dir
            && !skipped_dir(path)
            && self.matcher.as_ref().is_some_and(|m| m.is_match(path))
    }

    fn check_file(
        &self,
        ctx: &CheckContext<'_>,
        file: &SourceFile<'_>,
        sink: &mut Sink,
    ) -> Result<(), InputError> {
        // Load once; evaluate outside the lock so files are checked in parallel.
        let loaded = {
            let mut guard = self
                .state
                .lock()
                .map_err(|_| InputError::new("policy check state poisoned"))?;
            if guard.is_none() {
                match self.loaded(ctx.root)? {
                    Some(l) => *guard = Some(Arc::new(l)),
                    None => return Ok(()),
                }
            }
            match guard.as_ref() {
                Some(l) => Arc::clone(l),
                None => return Ok(()),
            }
        };
        let Some(text) = file.text() else {
            return Ok(());
        };
        let value = match inputs::parse(inputs::format_for(&PathBuf::from(file.path)), text) {
            Ok(v) => v,
            Err(e) => {
                sink.warn(format!("policy: {}", e.or_file(file.path)));
                return Ok(());
            }
        };
        let docs = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        let outcomes = loaded.set.evaluate(
            file.path,
            Some(file.full_path),
            &docs,
            &loaded.data,
            &self.namespaces(),
        )?;
        sink.findings.extend(rego::findings(&outcomes, file.path));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::json_root_may_be_iam;

    #[test]
    fn json_probe_keeps_iam_documents_and_skips_others() {
        assert!(json_root_may_be_iam(
            r#"{"Version":"2012-10-17","Statement":[]}"#
        ));
        assert!(json_root_may_be_iam("\u{feff} {\"Resources\": {}}"));
        assert!(json_root_may_be_iam(
            r#"{"format_version":"1.2","terraform_version":"1.9.0"}"#
        ));
        // `Statement` deeper down (an OpenAPI schema) is not a policy.
        assert!(!json_root_may_be_iam(
            r#"{"components":{"schemas":{"Statement":{"type":"object"}}}}"#
        ));
        assert!(!json_root_may_be_iam(r#"{"format_version":"1.2"}"#));
        // Not decidable here: left to the full parser, which reports positions.
        assert!(json_root_may_be_iam("{\"Statement\": [}"));
        assert!(json_root_may_be_iam("Resources:\n  A: {}\n"));
    }
}
