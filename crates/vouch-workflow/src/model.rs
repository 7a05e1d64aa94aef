//! The workflow model the audits read: triggers, jobs, steps and `uses:` references over the
//! span-carrying YAML tree, plus the shared judgements (is this a deploy job, which
//! expressions appear in a string) that several audits need.

use crate::yaml::{self, Node, Source};
use vouch_core::{InputError, Location, Region};

/// What a YAML file is to GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.github/workflows/*.yml`.
    Workflow,
    /// `action.yml` / `action.yaml` (composite, JavaScript or Docker action metadata).
    Action,
}

impl FileKind {
    /// Decides by file name: `action.yml`/`action.yaml` are actions, anything else a workflow.
    pub fn of_path(path: &str) -> FileKind {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name == "action.yml" || name == "action.yaml" {
            FileKind::Action
        } else {
            FileKind::Workflow
        }
    }
}

/// A parsed workflow or action file.
pub struct Document {
    /// Relative, `/`-separated (used in findings).
    pub path: String,
    pub kind: FileKind,
    pub root: Node,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Document {
    /// Parses `text`; bad YAML is an [`InputError`] at the parser's line and column.
    pub fn parse(path: &str, kind: FileKind, text: &str) -> Result<Document, InputError> {
        let root = yaml::parse(text).map_err(|e| {
            InputError::at(path, e.line, Some(e.column), e.message).with_hint(match kind {
                FileKind::Workflow => "GitHub cannot run a workflow that is not valid YAML",
                FileKind::Action => {
                    "GitHub cannot use an action whose action.yml is not valid YAML"
                }
            })
        })?;
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Ok(Document {
            path: path.to_string(),
            kind,
            root,
            text: text.to_string(),
            line_starts,
        })
    }

    /// A location for `node`.
    pub fn at(&self, node: &Node) -> Location {
        Location::at(self.path.clone(), node.region())
    }

    /// A location for `needle` found inside scalar `node` (the `nth` occurrence in its value):
    /// the exact line and columns when the text appears verbatim in the source (plain, block
    /// and most quoted scalars), else the scalar itself.
    pub fn at_text(&self, node: &Node, needle: &str, nth: usize) -> Location {
        let src = Source::new(&self.text);
        let from = src.byte(node.start.index);
        let mut found = None;
        let mut at = from;
        for _ in 0..=nth {
            match self.text.get(at..).and_then(|rest| rest.find(needle)) {
                Some(i) => {
                    found = Some(at + i);
                    at += i + needle.len().max(1);
                }
                None => {
                    found = None;
                    break;
                }
            }
        }
        match found {
            Some(b) if needle.len() <= 1024 && !needle.contains('\n') => {
                let start = src.pos_of_byte(b);
                let end_col = start.column + u32::try_from(needle.chars().count()).unwrap_or(1) - 1;
                Location::at(
                    self.path.clone(),
                    Region::span(start.line, start.column, end_col),
                )
            }
            _ => self.at(node),
        }
    }

    /// The text of line `line` (1-based), for messages.
    pub fn line_text(&self, line: u32) -> &str {
        let i = line.saturating_sub(1) as usize;
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |e| e - 1);
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// The events that trigger the workflow, with the node naming each.
    pub fn triggers(&self) -> Vec<(&str, &Node)> {
        let Some(on) = self.root.get("on") else {
            return Vec::new();
        };
        if let Some(s) = on.as_str() {
            return vec![(s, on)];
        }
        if let Some(seq) = on.as_seq() {
            return seq
                .iter()
                .filter_map(|n| n.as_str().map(|s| (s, n)))
                .collect();
        }
        on.as_map()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, _)| k.as_str().map(|s| (s, k)))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn has_trigger(&self, name: &str) -> bool {
        self.triggers().iter().any(|(t, _)| *t == name)
    }

    /// Whether the workflow runs with repository secrets and a writable token for code it
    /// did not write: `pull_request_target`, `workflow_run`, `issue_comment`.
    pub fn privileged_triggers(&self) -> Vec<(&str, &Node)> {
        self.triggers()
            .into_iter()
            .filter(|(t, _)| matches!(*t, "pull_request_target" | "workflow_run" | "issue_comment"))
            .collect()
    }

    /// Whether the workflow publishes: runs on releases or tag pushes.
    pub fn is_release_workflow(&self) -> bool {
        if self.has_trigger("release") {
            return true;
        }
        self.root
            .get("on")
            .and_then(|on| on.get("push"))
            .is_some_and(|push| push.get("tags").is_some())
    }

    /// The jobs of a workflow, or the one pseudo-job of a composite action.
    pub fn jobs(&self) -> Vec<Job<'_>> {
        match self.kind {
            FileKind::Workflow => self
                .root
                .get("jobs")
                .and_then(Node::as_map)
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| v.as_map().is_some())
                        .map(|(k, v)| Job { key: k, node: v })
                        .collect()
                })
                .unwrap_or_default(),
            FileKind::Action => match self.root.entry("runs") {
                Some((k, v)) if v.get("steps").is_some() => vec![Job { key: k, node: v }],
                _ => Vec::new(),
            },
        }
    }

    /// Top-level `permissions:` (key and value).
    pub fn permissions(&self) -> Option<(&Node, &Node)> {
        self.root.entry("permissions")
    }

    /// The node to point at for workflow-wide findings: `on:` or else the first key.
    pub fn head(&self) -> &Node {
        if let Some((k, _)) = self.root.entry("on") {
            return k;
        }
        self.root
            .as_map()
            .and_then(|m| m.first())
            .map_or(&self.root, |(k, _)| k)
    }
}

/// A job (or a composite action's `runs:`).
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// The job id key (`build:`), or `runs:` for an action.
    pub key: &'a Node,
    pub node: &'a Node,
}

impl<'a> Job<'a> {
    pub fn id(&self) -> &'a str {
        self.key.as_str().unwrap_or("")
    }

    pub fn steps(&self) -> Vec<Step<'a>> {
        self.node
            .get("steps")
            .and_then(Node::as_seq)
            .map(|s| {
                s.iter()
                    .filter(|n| n.as_map().is_some())
                    .map(|n| Step { node: n })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `uses:` of a job that calls a reusable workflow.
    pub fn uses(&self) -> Option<&'a Node> {
        self.node.get("uses")
    }

    pub fn permissions(&self) -> Option<(&'a Node, &'a Node)> {
        self.node.entry("permissions")
    }

    pub fn environment(&self) -> Option<&'a Node> {
        self.node.get("environment").filter(|n| !n.is_null())
    }

    /// Job id and `name:`, lower-cased, for name-based judgements.
    pub fn names(&self) -> String {
        let mut s = self.id().to_ascii_lowercase();
        if let Some(n) = self.node.get_str("name") {
            s.push(' ');
            s.push_str(&n.to_ascii_lowercase());
        }
        s
    }
}

/// One step of a job.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub node: &'a Node,
}

impl<'a> Step<'a> {
    pub fn uses(&self) -> Option<&'a Node> {
        self.node.get("uses")
    }

    /// The parsed `uses:` reference.
    pub fn action(&self) -> Option<Uses<'a>> {
        self.uses().and_then(|n| n.as_str()).map(Uses::parse)
    }

    pub fn run(&self) -> Option<&'a Node> {
        self.node.get("run").filter(|n| n.as_str().is_some())
    }

    /// `with.<key>`.
    pub fn with(&self, key: &str) -> Option<&'a Node> {
        self.node.get("with").and_then(|w| w.get(key))
    }

    /// Whether the step uses the action `owner/repo` (case-insensitive, any ref or subpath).
    pub fn uses_action(&self, owner_repo: &str) -> bool {
        matches!(self.action(), Some(Uses::Repo { owner, repo, .. })
            if format!("{owner}/{repo}").eq_ignore_ascii_case(owner_repo))
    }

    /// `owner/repo[/path]` lower-cased, when the step uses a repository action.
    pub fn action_name(&self) -> Option<String> {
        match self.action()? {
            Uses::Repo {
                owner, repo, path, ..
            } => Some(match path {
                Some(p) => format!("{owner}/{repo}/{p}").to_ascii_lowercase(),
                None => format!("{owner}/{repo}").to_ascii_lowercase(),
            }),
            _ => None,
        }
    }
}

/// A parsed `uses:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uses<'a> {
    /// `./path` in the same repository: pinned by the commit that runs it.
    Local(&'a str),
    /// `docker://image[:tag][@sha256:…]`.
    Docker {
        image: &'a str,
        digest: Option<&'a str>,
    },
    /// `owner/repo[/path]@ref`.
    Repo {
        owner: &'a str,
        repo: &'a str,
        path: Option<&'a str>,
        git_ref: Option<&'a str>,
    },
    /// Anything else (an expression, a malformed value).
    Other(&'a str),
}

impl<'a> Uses<'a> {
    pub fn parse(s: &'a str) -> Uses<'a> {
        let s = s.trim();
        if s.starts_with("./") || s.starts_with("../") {
            return Uses::Local(s);
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return match rest.split_once("@sha256:") {
                Some((image, digest)) => Uses::Docker {
                    image,
                    digest: Some(digest),
                },
                None => Uses::Docker {
                    image: rest,
                    digest: None,
                },
            };
        }
        if s.contains("${{") {
            return Uses::Other(s);
        }
        let (name, git_ref) = match s.split_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let mut parts = name.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(owner), Some(repo), path) if !owner.is_empty() && !repo.is_empty() => {
                Uses::Repo {
                    owner,
                    repo,
                    path: path.filter(|p| !p.is_empty()),
                    git_ref,
                }
            }
            _ => Uses::Other(s),
        }
    }
}

/// Whether a `uses:` value has a form GitHub accepts: `./local/path`, `docker://image`, or
/// `owner/repo[/path]@ref` with a non-empty ref and name characters GitHub allows.
pub fn is_valid_uses(s: &str) -> bool {
    let s = s.trim();
    if s.starts_with("./") {
        return s.len() > 2;
    }
    if let Some(image) = s.strip_prefix("docker://") {
        return !image.is_empty() && !image.contains(char::is_whitespace);
    }
    let Some((name, git_ref)) = s.split_once('@') else {
        return false;
    };
    let name_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let mut parts = name.splitn(3, '/');
    let (Some(owner), Some(repo)) = (parts.next(), parts.next()) else {
        return false;
    };
    let path_ok = parts
        .next()
        .is_none_or(|p| !p.is_empty() && !p.contains(char::is_whitespace) && !p.contains("${{"));
    name_ok(owner)
        && name_ok(repo)
        && path_ok
        && !git_ref.is_empty()
        && !git_ref.contains(char::is_whitespace)
        && !git_ref.contains("${{")
        && !git_ref.contains('@')
}

/// `true` for a full 40-hex-digit commit SHA.
pub fn is_commit_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One `${{ … }}` expression in a string: its full text and the inside, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr<'a> {
    pub text: &'a str,
    pub inner: &'a str,
}

/// Every `${{ … }}` in `s`, in order.
pub fn expressions(s: &str) -> Vec<Expr<'_>> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(i) = s.get(rest..).and_then(|t| t.find("${{")) {
        let start = rest + i;
        let Some(j) = s.get(start + 3..).and_then(|t| t.find("}}")) else {
            break;
        };
        let end = start + 3 + j + 2;
        out.push(Expr {
            text: &s[start..end],
            inner: s[start + 3..end - 2].trim(),
        });
        rest = end;
    }
    out
}

/// Context references (`github.event.issue.title`, `secrets.X`) inside an expression, as written,
/// with `['x']` / `["x"]` indexing folded into dotted form.
pub fn context_refs(inner: &str) -> Vec<String> {
    let folded = fold_indexing(inner);
    let mut out = Vec::new();
    let bytes = folded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let prev_ok = i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'.'
                    || bytes[i - 1] == b'-');
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || matches!(bytes[i], b'_' | b'-' | b'.' | b'*'))
            {
                i += 1;
            }
            // a function call is not a context reference
            let is_call = bytes.get(i) == Some(&b'(');
            if prev_ok && !is_call {
                let r = folded[start..i].trim_end_matches('.').to_string();
                if r.contains('.') {
                    out.push(r);
                }
            }
        } else if c == b'\'' {
            // skip string literals
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

fn fold_indexing(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let quoted = after
            .strip_prefix('\'')
            .and_then(|a| a.split_once("']"))
            .or_else(|| after.strip_prefix('"').and_then(|a| a.split_once("\"]")));
        match quoted {
            Some((key, tail)) if !key.contains(['\'', '"', ' ']) => {
                out.push('.');
                out.push_str(key);
                rest = tail;
            }
            _ => match after.split_once(']') {
                // `x[0]`, `x[matrix.i]`: any element
                Some((_, tail)) => {
                    out.push_str(".*");
                    rest = tail;
                }
                None => {
                    out.push('[');
                    rest = after;
                }
            },
        }
    }
    out.push_str(rest);
    out
}

/// Actions whose use makes a job a deployment (cloud credentials, pages, registries).
const DEPLOY_ACTIONS: &[&str] = &[
    "aws-actions/configure-aws-credentials",
    "aws-actions/amazon-ecs-deploy-task-definition",
    "aws-actions/aws-cloudformation-github-deploy",
    "azure/login",
    "azure/webapps-deploy",
    "azure/functions-action",
    "azure/k8s-deploy",
    "azure/aks-set-context",
    "google-github-actions/auth",
    "google-github-actions/deploy-cloudrun",
    "google-github-actions/deploy-appengine",
    "google-github-actions/get-gke-credentials",
    "actions/deploy-pages",
    "peaceiris/actions-gh-pages",
    "jamesives/github-pages-deploy-action",
    "pypa/gh-action-pypi-publish",
    "cloudflare/wrangler-action",
    "cloudflare/pages-action",
    "amondnet/vercel-action",
    "superfly/flyctl-actions",
    "digitalocean/action-doctl",
    "appleboy/ssh-action",
    "easingthemes/ssh-deploy",
    "helm/chart-releaser-action",
    "rubygems/release-gem",
];

/// Commands in `run:` scripts that deploy or publish.
const DEPLOY_COMMANDS: &[&str] = &[
    "kubectl apply",
    "kubectl set image",
    "kubectl rollout",
    "helm upgrade",
    "helm install",
    "terraform apply",
    "tofu apply",
    "pulumi up",
    "cdk deploy",
    "sam deploy",
    "serverless deploy",
    "sls deploy",
    "aws s3 sync",
    "aws s3 cp",
    "aws ecs update-service",
    "aws lambda update-function-code",
    "aws cloudformation deploy",
    "gcloud run deploy",
    "gcloud app deploy",
    "gcloud functions deploy",
    "az webapp deploy",
    "az deployment",
    "flyctl deploy",
    "fly deploy",
    "vercel --prod",
    "vercel deploy",
    "netlify deploy",
    "firebase deploy",
    "wrangler deploy",
    "wrangler publish",
    "npm publish",
    "pnpm publish",
    "yarn npm publish",
    "cargo publish",
    "twine upload",
    "gem push",
    "poetry publish",
    "uv publish",
    "dotnet nuget push",
    "mvn deploy",
    "gradle publish",
    "./gradlew publish",
];

/// Whether a line of `script` (lower-case) runs `command` ("program verb…"): the program as a
/// word, then the verb later on the same line, so options in between
/// (`kubectl --context prod apply`) do not hide it.
pub fn runs_command(script: &str, command: &str) -> bool {
    let (program, verb) = command.split_once(' ').unwrap_or((command, ""));
    script.lines().any(|line| {
        let mut from = 0;
        while let Some(i) = line.get(from..).and_then(|l| l.find(program)) {
            let start = from + i;
            let end = start + program.len();
            let before_ok = !line[..start]
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            let after_ok = line[end..].is_empty() || line[end..].starts_with(char::is_whitespace);
            if before_ok && after_ok && line[end..].contains(verb) {
                return true;
            }
            from = end;
        }
        false
    })
}

/// Why a job counts as a deployment, or `None`.
pub fn deploy_reason(job: &Job<'_>, extra: &[String]) -> Option<String> {
    for step in job.steps() {
        if let Some(name) = step.action_name() {
            if let Some(a) = DEPLOY_ACTIONS
                .iter()
                .find(|a| name == **a || name.starts_with(&format!("{a}/")))
            {
                return Some(format!("uses {a}"));
            }
            if let Some(p) = extra
                .iter()
                .find(|p| name.contains(&p.to_ascii_lowercase()))
            {
                return Some(format!("uses {p}"));
            }
        }
        if let Some(run) = step.run().and_then(Node::as_str) {
            let lower = run.to_ascii_lowercase();
            if let Some(c) = DEPLOY_COMMANDS.iter().find(|c| runs_command(&lower, c)) {
                return Some(format!("runs `{c}`"));
            }
            if let Some(p) = extra
                .iter()
                .find(|p| lower.contains(&p.to_ascii_lowercase()))
            {
                return Some(format!("runs `{p}`"));
            }
        }
    }
    let names = job.names();
    if names
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "deploy" || w == "deployment")
    {
        return Some("is named as a deployment".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_forms() {
        assert_eq!(
            Uses::parse("./.github/actions/x"),
            Uses::Local("./.github/actions/x")
        );
        assert_eq!(
            Uses::parse("docker://alpine@sha256:abc"),
            Uses::Docker {
                image: "alpine",
                digest: Some("abc")
            }
        );
        assert_eq!(
            Uses::parse("github/codeql-action/init@v3"),
            Uses::Repo {
                owner: "github",
                repo: "codeql-action",
                path: Some("init"),
                git_ref: Some("v3")
            }
        );
        assert!(matches!(Uses::parse("foo"), Uses::Other(_)));
        assert!(is_commit_sha("b4ffde65f46336ab88eb53be808477a3936bae11"));
        assert!(!is_commit_sha("v4"));
        for ok in [
            "actions/checkout@v4",
            "github/codeql-action/init@v3",
            "org/r/.github/workflows/x.yml@main",
            "./.github/actions/x",
            "docker://alpine:3",
        ] {
            assert!(is_valid_uses(ok), "{ok}");
        }
        for bad in [
            "actions/checkout",
            "actions/checkout@",
            "checkout@v4",
            "/checkout@v4",
            "actions/check out@v4",
            "actions/checkout@${{ env.V }}",
            "${{ matrix.action }}",
            "docker://",
            "./",
            "a/b@v1@v2",
        ] {
            assert!(!is_valid_uses(bad), "{bad}");
        }
    }

    #[test]
    fn commands_with_options_in_between() {
        assert!(runs_command(
            "kubectl --kubeconfig k set image deploy/app",
            "kubectl set image"
        ));
        assert!(runs_command(
            "x && npm --workspace a publish",
            "npm publish"
        ));
        assert!(!runs_command("pnpm install", "npm publish"));
        assert!(!runs_command("echo kubectl\napply", "kubectl apply"));
        assert!(runs_command("./gradlew publish", "./gradlew publish"));
    }

    #[test]
    fn expressions_and_contexts() {
        let e = expressions("echo \"${{ github.event.issue.title }}\" ${{ x }} ${{");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].inner, "github.event.issue.title");
        assert_eq!(
            context_refs(
                "github.event['pull_request'].title || toJSON(github.event.commits[0].message) && 'a.b'"
            ),
            vec![
                "github.event.pull_request.title",
                "github.event.commits.*.message"
            ]
        );
    }
}
