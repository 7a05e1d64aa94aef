//! Atlassian: Bitbucket app passwords and Atlassian API tokens.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/bitbucket-app-password",
        severity: High,
        summary: "Bitbucket app password",
        regex: r##"\b(?P<secret>ATBB[A-Za-z0-9_=.\-]{32})\b"##,
        keywords: &["atbb"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("ATBBxjxS", "W4OUr1mV", "05JdGmmz", "6H76cRBO", "9b66")],
        counter: &["ATBB-short"],
    },
    secret_rule! {
        id: "secrets/atlassian-api-token",
        severity: High,
        summary: "Atlassian (Jira/Confluence) API token",
        regex: r##"\b(?P<secret>ATATT3[A-Za-z0-9_\-=]{186})\b"##,
        keywords: &["atatt3"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("ATATT3xF", "fGF0jkpy", "m9Qx4AbC", "PBLtadLn", "ZBA0-l3v", "rzK1MZe4", "BzMD3UgO", "UTZ3T0Kt", "Gz7watiC", "G7bBNhf_", "XpSPrLaI", "qIPlSpaF", "NAAi3dTO", "z0WghxEF", "LvGwTTKC", "ujq5hokf", "TV5ZJE12", "P5WFgl2Y", "n5Qwmjmy", "A-FaTxfe", "YaK4pz9u", "ab8TFs4W", "1EPBoZ7=", "1698387A")],
        counter: &["ATATT3xxxx"],
    },
];
