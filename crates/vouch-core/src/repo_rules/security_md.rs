//! `repo/security-md`: the repository has no security policy.

use crate::check::{CheckContext, Sink};
use crate::{Finding, Location, Rule, Severity};

pub const SECURITY_MD: Rule = Rule {
    id: "repo/security-md",
    severity: Severity::Info,
    summary: "No SECURITY.md: reporters do not know how to disclose a vulnerability",
    help: "Add SECURITY.md (at the root, in .github/ or in docs/) saying which versions get \
           fixes and how to report a vulnerability privately (an address or GitHub's private \
           vulnerability reporting). GitHub links it from the repository's Security tab.",
    references: &[
        "https://docs.github.com/en/code-security/getting-started/adding-a-security-policy-to-your-repository",
        "https://securityscorecards.dev/checks/#security-policy",
    ],
};

/// The places GitHub looks for a security policy, compared case-insensitively.
const PLACES: &[&str] = &["security.md", ".github/security.md", "docs/security.md"];

pub(super) fn check(ctx: &CheckContext<'_>, sink: &mut Sink) {
    if !ctx.root.is_dir() {
        return;
    }
    let found = ctx
        .files
        .iter()
        .any(|f| PLACES.iter().any(|p| f.eq_ignore_ascii_case(p)));
    if !found {
        sink.push(
            Finding::new(
                &SECURITY_MD,
                Location::file("SECURITY.md"),
                "the repository has no SECURITY.md security policy",
                "",
            )
            .with_annotation("missing file"),
        );
    }
}
