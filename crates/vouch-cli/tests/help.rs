//! Each command's help lists only the options it accepts: global options a command ignores
//! (`--fail-on`, `--format`, `-o`, `--config`, `--color`, `--quiet`, `--offline`) are hidden
//! there. The options of a few commands are pinned as snapshots, so a global option that
//! reappears where it means nothing is reviewed.

use std::path::Path;

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let out = Command::cargo_bin("vouch")
        .unwrap()
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The `Options:` section of a help page: the flags, without the command's prose above them.
fn options(args: &[&str]) -> String {
    let page = help(args);
    let at = page
        .find("\nOptions:\n")
        .unwrap_or_else(|| panic!("{args:?} help has no Options section:\n{page}"));
    page[at + 1..].trim_end().to_string()
}

/// The long flags a help page lists.
fn flags(args: &[&str]) -> Vec<String> {
    options(args)
        .lines()
        .filter_map(|l| {
            let at = l.find("--")?;
            let flag: String = l[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (flag.len() > 2).then_some(flag)
        })
        .collect()
}

#[test]
fn color_and_quiet_show_only_where_they_mean_something() {
    // Finding reports are coloured and can warn: both options are theirs.
    for cmd in [&["check"][..], &["secrets", "scan"], &["register", "lint"]] {
        let f = flags(cmd);
        for shown in ["--color", "--quiet", "--fail-on", "--format"] {
            assert!(f.iter().any(|x| x == shown), "{cmd:?} lacks {shown}: {f:?}");
        }
    }
    // Commands with no text report take no --color; commands that print nothing but their
    // output and errors take no --quiet.
    for (cmd, hidden) in [
        (&["explain"][..], &["--color", "--quiet", "--offline"][..]),
        (&["completions"], &["--color", "--quiet", "--fail-on"]),
        (&["key", "generate"], &["--color", "--fail-on", "--offline"]),
        (&["log", "prove"], &["--color", "--quiet", "--fail-on"]),
        (
            &["sbom", "generate"],
            &["--color", "--fail-on", "--offline"],
        ),
        (&["register", "report"], &["--color", "--quiet"]),
    ] {
        let f = flags(cmd);
        for h in hidden {
            assert!(!f.iter().any(|x| x == h), "{cmd:?} shows {h}: {f:?}");
        }
    }
    // Where it means something, --offline stays.
    assert!(flags(&["trust", "update"]).iter().any(|f| f == "--offline"));
    assert!(flags(&["key", "generate"]).iter().any(|f| f == "--quiet"));
}

#[test]
fn hidden_global_options_are_still_accepted_where_they_change_nothing() {
    // Scripts pass --quiet and --color everywhere; hiding them must not break those runs.
    Command::cargo_bin("vouch")
        .unwrap()
        .args([
            "explain",
            "secrets/private-key",
            "--quiet",
            "--color",
            "never",
        ])
        .assert()
        .success();
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("explain_options", options(&["explain"]));
    insta::assert_snapshot!("key_generate_options", options(&["key", "generate"]));
    insta::assert_snapshot!("ci_audit_options", options(&["ci", "audit"]));
    insta::assert_snapshot!("log_prove_options", options(&["log", "prove"]));
}
