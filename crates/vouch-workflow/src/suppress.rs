//! Comments in a workflow that suppress findings: vouch's own `vouch:allow` (the grammar is
//! [`vouch_core::inline`]'s, shared by every rule family) and zizmor's
//! `# zizmor: ignore[audit, …]`, so a repository that already silenced zizmor needs no new
//! comments.
//!
//! zizmor honours an ignore comment anywhere inside the span of a finding, and several of its
//! audits give a finding a hidden location spanning the whole step. vouch findings sit on one
//! line, so a zizmor comment counts when it is on the finding's line or on any line of the step
//! (or job header) that contains it. Suppressed findings stay in the report with
//! `suppressed_by = "zizmor:ignore"`.

use vouch_core::Finding;

use crate::model::Document;

/// The `suppressed_by` value of findings silenced by a `# zizmor: ignore[…]` comment.
pub const ZIZMOR_IGNORE: &str = "zizmor:ignore";

/// zizmor audit names that a vouch rule answers to in `# zizmor: ignore[…]`.
pub fn zizmor_names(rule: &str) -> &'static [&'static str] {
    match rule.strip_prefix("workflow/").unwrap_or("") {
        "unpinned-action" => &["unpinned-uses"],
        "permissions" => &["excessive-permissions"],
        "reusable-workflow-permissions" => &["excessive-permissions"],
        "dangerous-trigger" => &["dangerous-triggers"],
        "cache-poisoning" => &["cache-poisoning"],
        "template-injection" => &["template-injection"],
        "artipacked" => &["artipacked"],
        "github-env" => &["github-env"],
        "insecure-commands" => &["insecure-commands"],
        "bot-conditions" => &["bot-conditions"],
        "secrets-inherit" => &["secrets-inherit"],
        "overprovisioned-secrets" => &["overprovisioned-secrets"],
        "unredacted-secrets" => &["unredacted-secrets"],
        "self-hosted-runner" => &["self-hosted-runner"],
        "unpinned-images" => &["unpinned-images"],
        "use-trusted-publishing" => &["use-trusted-publishing"],
        "hardcoded-container-credentials" => &["hardcoded-container-credentials"],
        "archived-uses" => &["archived-uses"],
        _ => &[],
    }
}

/// The audit names of a `zizmor: ignore[a, b]` comment on `line`, if it has one.
fn ignored_on(line: &str) -> Vec<&str> {
    let Some(hash) = line.find('#') else {
        return Vec::new();
    };
    let comment = &line[hash..];
    let Some(at) = comment.find("zizmor: ignore[") else {
        return Vec::new();
    };
    let inner = &comment[at + "zizmor: ignore[".len()..];
    let Some(end) = inner.find(']') else {
        return Vec::new();
    };
    inner[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Line ranges (inclusive) of every step and job header, for span-wide zizmor comments.
fn spans(doc: &Document) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for job in doc.jobs() {
        // The job's own keys before `steps:` (runs-on, permissions, if, …).
        let header_end = job
            .node
            .entry("steps")
            .map_or(job.key.start.line, |(k, _)| k.start.line.saturating_sub(1));
        out.push((job.key.start.line, header_end.max(job.key.start.line)));
        for step in job.steps() {
            let last = step
                .node
                .scalars()
                .iter()
                .map(|n| n.end.line)
                .max()
                .unwrap_or(step.node.start.line);
            out.push((step.node.start.line, last));
        }
    }
    out
}

/// Marks findings allowed by `vouch:allow` or by a zizmor ignore comment for their audit.
pub fn apply(doc: &Document, findings: &mut [Finding]) {
    vouch_core::inline::apply_to_text(findings, &doc.text);
    if !doc.text.contains("zizmor: ignore[") {
        return;
    }
    let spans = spans(doc);
    for f in findings.iter_mut().filter(|f| f.suppressed_by.is_none()) {
        let names = zizmor_names(&f.rule);
        let Some(line) = f.location.line() else {
            continue;
        };
        if names.is_empty() {
            continue;
        }
        let (from, to) = spans
            .iter()
            .filter(|(a, b)| *a <= line && line <= *b)
            .min_by_key(|(a, b)| b - a)
            .copied()
            .unwrap_or((line, line));
        let hit = (from..=to).any(|l| {
            ignored_on(doc.line_text(l))
                .iter()
                .any(|n| names.contains(n))
        });
        if hit {
            f.suppressed_by = Some(ZIZMOR_IGNORE.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::FileKind;
    use crate::{Settings, audit};

    fn suppressed(text: &str) -> Vec<(String, u32, Option<String>)> {
        audit(
            ".github/workflows/t.yml",
            text,
            FileKind::Workflow,
            &Settings::default(),
        )
        .unwrap()
        .into_iter()
        .filter(|f| f.rule == "workflow/unpinned-action" || f.rule == "workflow/template-injection")
        .map(|f| (f.rule, f.location.line().unwrap_or(0), f.suppressed_by))
        .collect()
    }

    #[test]
    fn zizmor_and_vouch_comments() {
        let text = "on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: foo/bar@v1 # zizmor: ignore[unpinned-uses]
      - uses: foo/baz@v1 # zizmor: ignore[template-injection]
      - uses: foo/qux@v1 # vouch:allow workflow/unpinned-action vendor has no SHAs
      # vouch:allow-next-line
      - uses: foo/quux@v1
      - name: step-wide # zizmor: ignore[template-injection]
        run: |
          echo ${{ github.event.issue.title }}
      - run: echo ${{ github.event.issue.body }}
";
        let got = suppressed(text);
        let want: Vec<(String, u32, Option<String>)> = vec![
            (
                "workflow/unpinned-action".into(),
                7,
                Some("zizmor:ignore".into()),
            ),
            ("workflow/unpinned-action".into(), 8, None),
            (
                "workflow/unpinned-action".into(),
                9,
                Some("vouch:allow".into()),
            ),
            (
                "workflow/unpinned-action".into(),
                11,
                Some("vouch:allow".into()),
            ),
            (
                "workflow/template-injection".into(),
                14,
                Some("zizmor:ignore".into()),
            ),
            ("workflow/template-injection".into(), 15, None),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn comment_parsing() {
        assert_eq!(
            super::ignored_on("x # zizmor: ignore[a, b-c ] why"),
            ["a", "b-c"]
        );
        assert!(super::ignored_on("x: 'zizmor: ignore[a]'").is_empty());
        assert!(super::ignored_on("# zizmor: ignore[a").is_empty());
    }
}
