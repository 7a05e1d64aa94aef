//! `sbom/unpinned`: a dependency manifest without a lockfile.

use vouch_core::{CheckContext, Finding, Location, Rule, Severity, Sink};

pub const UNPINNED: Rule = Rule {
    id: "sbom/unpinned",
    severity: Severity::Medium,
    summary: "A dependency manifest has no lockfile: builds resolve whatever versions are newest",
    help: "Commit the lockfile your package manager writes next to the manifest (or at the \
           workspace root): Cargo.lock, package-lock.json / yarn.lock / pnpm-lock.yaml, \
           poetry.lock / uv.lock / Pipfile.lock, Gemfile.lock, composer.lock, go.sum. \
           Without it every install may pull a different (possibly compromised) version, and \
           no SBOM can say what was shipped.",
    references: &[
        "https://slsa.dev/spec/v1.0/requirements",
        "https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json",
        "https://doc.rust-lang.org/cargo/faq.html#why-have-cargolock-in-version-control",
    ],
};

/// Manifest → lockfiles that pin it (in its directory or, for workspaces, an ancestor's).
const PAIRS: &[(&str, &[&str], bool)] = &[
    (
        "package.json",
        &[
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lock",
            "bun.lockb",
        ],
        true,
    ),
    ("Cargo.toml", &["Cargo.lock"], true),
    (
        "pyproject.toml",
        &["poetry.lock", "uv.lock", "pdm.lock", "pylock.toml"],
        true,
    ),
    ("Pipfile", &["Pipfile.lock"], false),
    ("Gemfile", &["Gemfile.lock"], false),
    ("gems.rb", &["gems.locked"], false),
    ("composer.json", &["composer.lock"], false),
    ("go.mod", &["go.sum"], false),
    ("mix.exs", &["mix.lock"], false),
    ("pubspec.yaml", &["pubspec.lock"], false),
    ("Package.swift", &["Package.resolved"], false),
];

/// Directories whose manifests belong to other projects.
fn vendored(path: &str) -> bool {
    path.split('/').any(|s| {
        matches!(
            s,
            "node_modules" | "vendor" | "third_party" | "testdata" | "fixtures"
        )
    })
}

pub(super) fn check(ctx: &CheckContext<'_>, sink: &mut Sink) {
    for f in ctx.files {
        if vendored(f) {
            continue;
        }
        let (dir, name) = match f.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", f.as_str()),
        };
        let Some((_, locks, ancestors)) = PAIRS.iter().find(|(m, _, _)| *m == name) else {
            continue;
        };
        if name == "pyproject.toml" && !declares_dependencies(ctx, f) {
            continue;
        }
        let mut d = Some(dir);
        let mut found = false;
        while let Some(cur) = d {
            if locks.iter().any(|l| {
                let p = if cur.is_empty() {
                    (*l).to_string()
                } else {
                    format!("{cur}/{l}")
                };
                ctx.files.binary_search(&p).is_ok()
            }) {
                found = true;
                break;
            }
            if !ancestors || cur.is_empty() {
                break;
            }
            d = Some(cur.rsplit_once('/').map(|(p, _)| p).unwrap_or(""));
        }
        if !found {
            sink.push(
                Finding::new(
                    &UNPINNED,
                    Location::file(f.clone()),
                    format!("`{f}` has no lockfile ({})", locks.join(", ")),
                    name,
                )
                .with_annotation("no lockfile pins these dependencies"),
            );
        }
    }
}

/// A pyproject.toml of a project that lists dependencies (not just tool configuration).
fn declares_dependencies(ctx: &CheckContext<'_>, rel: &str) -> bool {
    std::fs::read_to_string(ctx.root.join(rel))
        .map(|t| t.contains("dependencies") || t.contains("[tool.poetry"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[&str]) -> Vec<Finding> {
        let mut files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        files.sort();
        let config = vouch_core::Config::default();
        let ctx = CheckContext {
            root: std::path::Path::new("/nonexistent"),
            config: &config,
            files: &files,
            today: jiff::civil::date(2026, 1, 1),
        };
        let mut sink = Sink::default();
        check(&ctx, &mut sink);
        sink.findings
    }

    #[test]
    fn fires_and_not() {
        assert_eq!(run(&["package.json"]).len(), 1);
        assert!(run(&["package.json", "yarn.lock"]).is_empty());
        assert!(run(&["Cargo.lock", "crates/a/Cargo.toml"]).is_empty());
        assert_eq!(run(&["Gemfile", "sub/Gemfile.lock"]).len(), 1);
        assert!(run(&["node_modules/x/package.json"]).is_empty());
        let f = run(&["web/package.json"]);
        insta::assert_json_snapshot!(f);
    }
}
