//! `workflow/github-env`: writes to `GITHUB_ENV`/`GITHUB_PATH` in privileged workflows.

use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::FileKind;

pub const RULE: Rule = Rule {
    id: "workflow/github-env",
    severity: Severity::High,
    summary: "A privileged workflow writes computed values to GITHUB_ENV or GITHUB_PATH",
    help: "Lines written to `$GITHUB_ENV` become environment variables of every later step, and \
           lines written to `$GITHUB_PATH` decide which programs they run. A value that an \
           attacker influences (a pull request's branch name or files, an artifact of the \
           triggering run) can set `LD_PRELOAD`, `NODE_OPTIONS`, `BASH_ENV` or a new PATH entry \
           and so run code in a `pull_request_target` or `workflow_run` job, which holds \
           secrets and a writable token.\n\n\
           Pass values between steps as step outputs (`>> $GITHUB_OUTPUT`) and read them through \
           `env:`; if a variable must be exported, write a fixed name with a validated value. \
           vouch reports writes whose command is not `echo` of literal text (a variable, a \
           command substitution, `tee`, `cat`), in `pull_request_target`/`workflow_run` \
           workflows and in composite actions (which can be called from one).",
    references: &[
        "https://securitylab.github.com/advisories/GHSL-2024-177_Litestar/",
        "https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#setting-an-environment-variable",
        "https://docs.zizmor.sh/audits/#github-env",
    ],
};

/// The environment file a command line writes to, if any: a redirect (`>> $GITHUB_ENV`,
/// `> "${GITHUB_PATH}"`, PowerShell `>> $env:GITHUB_ENV`) or `tee`/`Out-File`/`Add-Content`.
fn destination(line: &str) -> Option<&'static str> {
    let lower = line.to_ascii_lowercase();
    for dest in ["github_env", "github_path"] {
        let Some(at) = lower.find(dest) else { continue };
        let before = lower[..at].trim_end_matches(['{', '$', '"', '\'', ':']);
        let before = before.strip_suffix("$env").unwrap_or(before);
        let before = before.trim_end_matches(['$', '"', '\'']).trim_end();
        let redirect = before.ends_with('>');
        let tee = [
            "tee",
            "tee -a",
            "out-file",
            "add-content",
            "set-content",
            "tee-object",
        ]
        .iter()
        .any(|c| before.contains(c));
        if redirect || tee {
            return Some(if dest == "github_env" {
                "GITHUB_ENV"
            } else {
                "GITHUB_PATH"
            });
        }
    }
    None
}

/// `echo` of literal text only: no variable, command substitution or expression.
fn literal_echo(line: &str) -> bool {
    let cmd = line.split('>').next().unwrap_or("").trim();
    let Some(args) = cmd.strip_prefix("echo ") else {
        return false;
    };
    !args.contains('$') && !args.contains('`') && !line.contains('|')
}

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    let privileged = doc.kind == FileKind::Action
        || doc.has_trigger("pull_request_target")
        || doc.has_trigger("workflow_run");
    if !privileged {
        return;
    }
    for job in doc.jobs() {
        for step in job.steps() {
            let Some((run, script)) = step
                .node
                .entry("run")
                .and_then(|(k, v)| v.as_str().map(|s| (k, s)))
            else {
                continue;
            };
            // Join `\` continuations so a redirect on the next line is seen with its command.
            let joined = script.replace("\\\n", " ");
            let mut dests: Vec<&str> = joined
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| destination(l).filter(|_| !literal_echo(l.trim())))
                .collect();
            dests.dedup();
            for dest in dests {
                out.push(
                    Finding::new(
                        &RULE,
                        doc.at(run),
                        format!(
                            "job `{}` writes a computed value to {dest}: later steps of this {} run it as configuration",
                            job.id(),
                            if doc.kind == FileKind::Action {
                                "composite action"
                            } else {
                                "privileged workflow"
                            }
                        ),
                        &format!("{}:{dest}:{}", job.id(), script.len()),
                    )
                    .with_annotation(format!("write to {dest}")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audits::testing::{positions, run as audit, snapshot_text};

    const WF: &str = "on: pull_request_target
jobs:
  a:
    steps:
      - run: echo \"X=${{ github.event.pull_request.title }}\" >> $GITHUB_ENV
      - run: echo \"Y=1\" >> \"$GITHUB_ENV\"
      - run: echo \"/opt/bin\" >> $GITHUB_PATH
      - run: |
          name=$(cat pr/name.txt)
          echo \"NAME=$name\" >> \"${GITHUB_ENV}\"
      - run: cat vars.env | tee -a $GITHUB_ENV
      - run: echo \"o=$x\" >> $GITHUB_OUTPUT
      - run: |
          # echo $X >> $GITHUB_ENV
          Add-Content -Path $env:GITHUB_PATH -Value $dir
";

    #[test]
    fn computed_writes_in_privileged_workflows() {
        let f = audit(run, WF);
        assert_eq!(
            positions(&f),
            vec![(5, 9), (8, 9), (11, 9), (13, 9)],
            "{f:#?}"
        );
        assert!(f[3].message.contains("GITHUB_PATH"));
        let push = WF.replace("pull_request_target", "push");
        assert!(audit(run, &push).is_empty());
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(snapshot_text(&audit(run, WF)));
    }
}
