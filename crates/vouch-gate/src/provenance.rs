//! SLSA Provenance v1 predicates for the build that is running now.
//!
//! The builder is detected from the environment — GitHub Actions, GitLab CI, or a plain local
//! build — with the variable mapping documented in docs/provenance.md; every field can be
//! overridden. Times come from `SOURCE_DATE_EPOCH` when set, so the same inputs give the same
//! bytes. The predicate follows <https://slsa.dev/spec/v1.0/provenance>; for GitHub Actions it
//! uses the build type GitHub's own attestations use, so verifiers that know it read ours.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use vouch_core::InputError;
use vouch_core::digest::DigestAlgorithm;

/// The SLSA v1 predicate type.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// GitHub Actions workflow build type (as used by GitHub artifact attestations).
pub const GITHUB_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
/// GitLab CI build type (as used by GitLab Runner's provenance).
pub const GITLAB_BUILD_TYPE: &str =
    "https://gitlab.com/gitlab-org/gitlab-runner/-/blob/main/PROVENANCE.md";
/// A local build with vouch.
pub const LOCAL_BUILD_TYPE: &str =
    "https://github.com/vouch-dev/vouch/blob/main/docs/provenance.md#local-build-v1";

/// Which CI produced the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    GitHubActions,
    GitLabCi,
    Local,
}

/// Values the user sets on the command line; they win over detection.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub builder_id: Option<String>,
    pub build_type: Option<String>,
    pub invocation_id: Option<String>,
    pub source_uri: Option<String>,
    pub source_commit: Option<String>,
    /// RFC 3339 start/finish; else `SOURCE_DATE_EPOCH`, else omitted.
    pub started_on: Option<String>,
    pub finished_on: Option<String>,
}

/// Detects the platform from the environment.
pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Platform {
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        Platform::GitHubActions
    } else if env("GITLAB_CI").as_deref() == Some("true") {
        Platform::GitLabCi
    } else {
        Platform::Local
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        map.insert(key.to_string(), Value::String(v));
    }
}

/// Builds the predicate. `env` reads an environment variable (tests pass a map); `epoch` is
/// `SOURCE_DATE_EPOCH` already parsed, if any.
pub fn predicate(
    env: &dyn Fn(&str) -> Option<String>,
    overrides: &Overrides,
    epoch: Option<i64>,
) -> Value {
    let platform = detect(env);
    let mut external = Map::new();
    let mut internal = Map::new();
    let mut deps: Vec<Value> = Vec::new();
    let (build_type, builder_id, invocation_id);
    match platform {
        Platform::GitHubActions => {
            let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
            let repo = env("GITHUB_REPOSITORY").unwrap_or_default();
            let git_ref = env("GITHUB_REF").unwrap_or_default();
            // GITHUB_WORKFLOW_REF = owner/repo/.github/workflows/release.yml@refs/heads/main
            let workflow_path = env("GITHUB_WORKFLOW_REF")
                .and_then(|w| w.split_once('@').map(|(p, _)| p.to_string()))
                .and_then(|p| p.strip_prefix(&format!("{repo}/")).map(str::to_string));
            let mut workflow = Map::new();
            put(&mut workflow, "ref", Some(git_ref.clone()));
            put(
                &mut workflow,
                "repository",
                Some(format!("{server}/{repo}")),
            );
            put(&mut workflow, "path", workflow_path);
            external.insert("workflow".into(), Value::Object(workflow));
            let mut gh = Map::new();
            for (k, var) in [
                ("event_name", "GITHUB_EVENT_NAME"),
                ("repository_id", "GITHUB_REPOSITORY_ID"),
                ("repository_owner_id", "GITHUB_REPOSITORY_OWNER_ID"),
                ("runner_environment", "RUNNER_ENVIRONMENT"),
            ] {
                put(&mut gh, k, env(var));
            }
            internal.insert("github".into(), Value::Object(gh));
            if let Some(sha) = env("GITHUB_SHA") {
                deps.push(json!({"uri": format!("git+{server}/{repo}@{git_ref}"), "digest": {"gitCommit": sha}}));
            }
            build_type = GITHUB_BUILD_TYPE.to_string();
            builder_id = format!(
                "{server}/actions/runner/{}",
                env("RUNNER_ENVIRONMENT").unwrap_or_else(|| "github-hosted".into())
            );
            invocation_id = env("GITHUB_RUN_ID").map(|id| {
                format!(
                    "{server}/{repo}/actions/runs/{id}/attempts/{}",
                    env("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into())
                )
            });
        }
        Platform::GitLabCi => {
            let project_url = env("CI_PROJECT_URL").unwrap_or_default();
            put(&mut external, "source", Some(project_url.clone()));
            put(&mut external, "entryPoint", env("CI_JOB_NAME"));
            put(&mut external, "ref", env("CI_COMMIT_REF_NAME"));
            let mut gl = Map::new();
            for (k, var) in [
                ("pipeline_source", "CI_PIPELINE_SOURCE"),
                ("project_id", "CI_PROJECT_ID"),
                ("runner_id", "CI_RUNNER_ID"),
                ("job_image", "CI_JOB_IMAGE"),
            ] {
                put(&mut gl, k, env(var));
            }
            internal.insert("gitlab".into(), Value::Object(gl));
            if let Some(sha) = env("CI_COMMIT_SHA") {
                deps.push(json!({"uri": format!("git+{project_url}@{}", env("CI_COMMIT_REF_NAME").map(|r| if r.starts_with("refs/") { r } else { format!("refs/heads/{r}") }).unwrap_or_default()), "digest": {"gitCommit": sha}}));
            }
            build_type = GITLAB_BUILD_TYPE.to_string();
            builder_id = format!(
                "{}/{}/-/runners/{}",
                env("CI_SERVER_URL").unwrap_or_else(|| "https://gitlab.com".into()),
                env("CI_PROJECT_PATH").unwrap_or_default(),
                env("CI_RUNNER_ID").unwrap_or_default()
            );
            invocation_id = env("CI_JOB_URL");
        }
        Platform::Local => {
            build_type = LOCAL_BUILD_TYPE.to_string();
            builder_id =
                "https://github.com/vouch-dev/vouch/blob/main/docs/provenance.md#local-builder"
                    .to_string();
            invocation_id = None;
        }
    }
    if let (Some(uri), commit) = (&overrides.source_uri, &overrides.source_commit) {
        deps.retain(|d| d.get("digest").and_then(|x| x.get("gitCommit")).is_none());
        let mut d = json!({"uri": uri});
        if let Some(c) = commit {
            d["digest"] = json!({"gitCommit": c});
        }
        deps.insert(0, d);
    }
    let mut build_definition = Map::new();
    build_definition.insert(
        "buildType".into(),
        Value::String(overrides.build_type.clone().unwrap_or(build_type)),
    );
    build_definition.insert("externalParameters".into(), Value::Object(external));
    if !internal.is_empty() {
        build_definition.insert("internalParameters".into(), Value::Object(internal));
    }
    if !deps.is_empty() {
        build_definition.insert("resolvedDependencies".into(), Value::Array(deps));
    }
    let mut metadata = Map::new();
    put(
        &mut metadata,
        "invocationId",
        overrides.invocation_id.clone().or(invocation_id),
    );
    let epoch_time = epoch
        .and_then(|e| jiff::Timestamp::from_second(e).ok())
        .map(|t| t.to_string());
    put(
        &mut metadata,
        "startedOn",
        overrides.started_on.clone().or_else(|| epoch_time.clone()),
    );
    put(
        &mut metadata,
        "finishedOn",
        overrides.finished_on.clone().or(epoch_time),
    );
    let mut run_details = Map::new();
    run_details.insert(
        "builder".into(),
        json!({"id": overrides.builder_id.clone().unwrap_or(builder_id)}),
    );
    if !metadata.is_empty() {
        run_details.insert("metadata".into(), Value::Object(metadata));
    }
    json!({"buildDefinition": Value::Object(build_definition), "runDetails": Value::Object(run_details)})
}

/// Reads an environment variable (the process environment in the binary, a map in tests).
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `SOURCE_DATE_EPOCH` read through `env`, validated.
pub fn source_date_epoch(env: &Env<'_>) -> Result<Option<i64>, InputError> {
    match env("SOURCE_DATE_EPOCH") {
        Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            InputError::new(format!(
                "SOURCE_DATE_EPOCH=`{s}` is not a number of seconds"
            ))
        }),
        None => Ok(None),
    }
}

/// What `vouch provenance generate` is given.
pub struct GenerateRequest<'a> {
    /// Artifact files the build produced.
    pub subjects: &'a [PathBuf],
    /// A `sha256sum`-format checksums file listing (more) subjects.
    pub checksums: Option<&'a Path>,
    /// Also record SHA-512 digests of subject files.
    pub sha512: bool,
    /// Only the predicate, not the statement.
    pub predicate_only: bool,
    pub overrides: &'a Overrides,
    pub env: &'a Env<'a>,
}

/// The in-toto resource descriptors (`{"name", "digest"}`) for subject files and the entries
/// of a checksums file, sorted by name; no subjects at all is an error.
pub fn subjects(
    files: &[PathBuf],
    checksums: Option<&Path>,
    sha512: bool,
) -> Result<Vec<Value>, InputError> {
    let mut subjects: Vec<Value> = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut digest =
            json!({"sha256": crate::decide::digest_file(path, DigestAlgorithm::Sha256)?});
        if sha512 {
            digest["sha512"] =
                Value::String(crate::decide::digest_file(path, DigestAlgorithm::Sha512)?);
        }
        subjects.push(json!({"name": name, "digest": digest}));
    }
    if let Some(c) = checksums {
        let text = std::fs::read_to_string(c)
            .map_err(|e| InputError::in_file(c, format!("cannot read: {e}")))?;
        let pairs = parse_checksums(&text).map_err(|(line, msg)| {
            InputError::at(c, u32::try_from(line).unwrap_or(0), None, msg)
        })?;
        for (name, hex) in pairs {
            subjects.push(json!({"name": name, "digest": {"sha256": hex}}));
        }
    }
    if subjects.is_empty() {
        return Err(InputError::new("no subjects")
            .with_hint("pass --subject FILE (repeatable) or --checksums checksums.txt"));
    }
    subjects.sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
    Ok(subjects)
}

/// The provenance statement about the request's subjects (or only its predicate).
pub fn generate(req: &GenerateRequest<'_>) -> Result<Value, InputError> {
    let subjects = subjects(req.subjects, req.checksums, req.sha512)?;
    let predicate = predicate(req.env, req.overrides, source_date_epoch(req.env)?);
    Ok(if req.predicate_only {
        predicate
    } else {
        json!({"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": PREDICATE_TYPE, "predicate": predicate})
    })
}

/// Parses a `sha256sum`-format checksums file into (name, hex digest) pairs.
pub fn parse_checksums(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (hex, name) = line
            .split_once(char::is_whitespace)
            .ok_or((i + 1, "expected `<sha256 hex>  <file name>`".to_string()))?;
        let name = name.trim_start().trim_start_matches('*');
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            return Err((i + 1, "expected `<sha256 hex>  <file name>`".to_string()));
        }
        out.push((name.to_string(), hex.to_ascii_lowercase()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn github_actions_mapping() {
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REF", "refs/tags/v1.2.0"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/app/.github/workflows/release.yml@refs/tags/v1.2.0",
            ),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_EVENT_NAME", "push"),
            ("RUNNER_ENVIRONMENT", "github-hosted"),
        ]);
        let p = predicate(&env, &Overrides::default(), Some(1_700_000_000));
        assert_eq!(p["buildDefinition"]["buildType"], GITHUB_BUILD_TYPE);
        assert_eq!(
            p["buildDefinition"]["externalParameters"]["workflow"]["path"],
            ".github/workflows/release.yml"
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "git+https://github.com/acme/app@refs/tags/v1.2.0"
        );
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://github.com/actions/runner/github-hosted"
        );
        assert_eq!(
            p["runDetails"]["metadata"]["invocationId"],
            "https://github.com/acme/app/actions/runs/42/attempts/1"
        );
        assert_eq!(
            p["runDetails"]["metadata"]["startedOn"],
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn gitlab_and_local_and_overrides() {
        let env = env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_URL", "https://gitlab.com/acme/app"),
            ("CI_COMMIT_SHA", "ab"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_SERVER_URL", "https://gitlab.com"),
            ("CI_PROJECT_PATH", "acme/app"),
            ("CI_RUNNER_ID", "7"),
        ]);
        let p = predicate(&env, &Overrides::default(), None);
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://gitlab.com/acme/app/-/runners/7"
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "git+https://gitlab.com/acme/app@refs/heads/main"
        );
        assert!(p["runDetails"].get("metadata").is_none());
        let local = predicate(
            &env_of(&[]),
            &Overrides {
                builder_id: Some("https://ci.example/b".into()),
                source_uri: Some("git+https://example.com/r".into()),
                source_commit: Some("cd".into()),
                ..Default::default()
            },
            None,
        );
        assert_eq!(local["runDetails"]["builder"]["id"], "https://ci.example/b");
        assert_eq!(
            local["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
            "cd"
        );
    }

    #[test]
    fn checksums() {
        let h = "a".repeat(64);
        assert_eq!(
            parse_checksums(&format!("{h}  dist/app\n{h} *app.exe\n"))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_checksums("nothex  x\n").unwrap_err().0, 1);
    }
}
