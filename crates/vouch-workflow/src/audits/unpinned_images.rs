//! `workflow/unpinned-images`: job containers and service images without a digest.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::FileKind;
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/unpinned-images",
    severity: Severity::High,
    summary: "A job container or service image is not pinned to a digest",
    help: "`container:` and `services:` images run with the job's token and secrets in reach. A \
           tag is a pointer the image's publisher (or whoever compromises their registry \
           account) can move; `latest` or no tag at all moves with every push. Pin the digest \
           and keep the tag for readers and update bots:\n\n\
           `image: postgres:16.4@sha256:<digest>`\n\n\
           (`docker buildx imagetools inspect postgres:16.4` prints the digest). No tag or \
           `:latest` is high; a version tag without a digest is medium.",
    references: &[
        "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idcontainerimage",
        "https://docs.zizmor.sh/audits/#unpinned-images",
    ],
};

/// How an image reference is pinned: `None` when it has a digest or is an expression.
fn weakness(image: &str) -> Option<(&'static str, Severity)> {
    let image = image.trim();
    if image.is_empty() || image.contains("${{") || image.contains("@sha256:") {
        return None;
    }
    let image = image.strip_prefix("docker://").unwrap_or(image);
    // The tag is after the last `:` that follows the last `/` (a registry port is not a tag).
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        None => Some(("has no tag, so it is `latest`", Severity::High)),
        Some((_, "latest")) => Some(("uses the floating `latest` tag", Severity::High)),
        Some(_) => Some(("is pinned to a tag, not a digest", Severity::Medium)),
    }
}

fn check(ctx: &Ctx<'_>, what: String, at: &Node, image: &str, out: &mut Vec<Finding>) {
    let Some((why, severity)) = weakness(image) else {
        return;
    };
    out.push(
        Finding::new(
            &RULE,
            ctx.doc.at(at),
            format!("image `{image}` of {what} {why}"),
            &format!("{what}:{image}"),
        )
        .with_annotation(why)
        .with_severity(severity),
    );
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.doc.kind != FileKind::Workflow {
        return;
    }
    for job in ctx.doc.jobs() {
        if let Some((key, c)) = job.node.entry("container") {
            if let Some(image) = c.as_str() {
                check(
                    ctx,
                    format!("the container of job `{}`", job.id()),
                    key,
                    image,
                    out,
                );
            } else if let Some((k, v)) = c.entry("image")
                && let Some(image) = v.as_str()
            {
                check(
                    ctx,
                    format!("the container of job `{}`", job.id()),
                    k,
                    image,
                    out,
                );
            }
        }
        if let Some(services) = job.node.get("services").and_then(Node::as_map) {
            for (name, svc) in services {
                if let Some((k, v)) = svc.entry("image")
                    && let Some(image) = v.as_str()
                {
                    check(
                        ctx,
                        format!(
                            "service `{}` of job `{}`",
                            name.as_str().unwrap_or(""),
                            job.id()
                        ),
                        k,
                        image,
                        out,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: push
jobs:
  a:
    container: node:18
    services:
      redis:
        image: redis
      pg:
        image: postgres:16@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      mysql:
        image: registry.local:5000/mysql:latest
      dyn:
        image: ${{ matrix.image }}
  b:
    container:
      image: ghcr.io/org/builder
";

    #[test]
    fn tags_latest_and_digests() {
        let f = audit(run, WF);
        assert_eq!(positions(&f), vec![(4, 5), (7, 9), (11, 9), (16, 7)]);
        let sev: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            [
                Severity::Medium,
                Severity::High,
                Severity::High,
                Severity::High
            ]
        );
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
