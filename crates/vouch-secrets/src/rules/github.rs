//! GitHub tokens; classic-format tokens carry a CRC32 checksum that is verified offline.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/github-pat",
        severity: Critical,
        summary: "GitHub personal access token (classic) (checksum verified offline)",
        refs: &["https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"],
        regex: r##"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b"##,
        keywords: &["ghp_"],
        entropy: 3.0,
        validator: GithubCrc32,
        examples: &[concat!("ghp_YiuH", "SZujn2Wl", "Fgd0XuqV", "ZYGAs2K0", "sD4MWNox")],
        counter: &["ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ghp_0123456789abcdefghijABCDEFGHIJ0123456x"],
    },
    secret_rule! {
        id: "secrets/github-oauth-token",
        severity: Critical,
        summary: "GitHub OAuth access token (checksum verified offline)",
        refs: &["https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"],
        regex: r##"\b(?P<secret>gho_[A-Za-z0-9]{36})\b"##,
        keywords: &["gho_"],
        entropy: 3.0,
        validator: GithubCrc32,
        examples: &[concat!("gho_aJC9", "H3HkJiuN", "DjkAc05q", "uqMaBMBU", "xe0g7w4N")],
        counter: &["gho_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "gho_0123456789abcdefghijABCDEFGHIJ0123456x"],
    },
    secret_rule! {
        id: "secrets/github-app-token",
        severity: Critical,
        summary: "GitHub App user-to-server or installation token (checksum verified offline)",
        refs: &["https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"],
        regex: r##"\b(?P<secret>gh[us]_[A-Za-z0-9]{36})\b"##,
        keywords: &["ghu_", "ghs_"],
        entropy: 3.0,
        validator: GithubCrc32,
        examples: &[concat!("ghs_EUOu", "ZdM7fk5R", "3bvdDcSH", "Ee3UgfWr", "XG1C9701")],
        counter: &["ghs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ghu_0123456789abcdefghijABCDEFGHIJ0123456x"],
    },
    secret_rule! {
        id: "secrets/github-refresh-token",
        severity: Critical,
        summary: "GitHub refresh token (checksum verified offline)",
        refs: &["https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"],
        regex: r##"\b(?P<secret>ghr_[A-Za-z0-9]{36})\b"##,
        keywords: &["ghr_"],
        entropy: 3.0,
        validator: GithubCrc32,
        examples: &[concat!("ghr_XHeN", "JoRlN6mY", "QvfAyH3f", "WKqgW35g", "7326Scx8")],
        counter: &["ghr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ghr_0123456789abcdefghijABCDEFGHIJ0123456x"],
    },
    secret_rule! {
        id: "secrets/github-fine-grained-pat",
        severity: Critical,
        summary: "GitHub fine-grained personal access token",
        refs: &["https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"],
        regex: r##"\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"##,
        keywords: &["github_pat_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("github_p", "at_11SRY", "5BGM04HJ", "MOP47IVS", "G_vJFn0w", "3nWYtO9E", "oIfftlv0", "6Goz8Z71", "PGVD4kHm", "Bu896s1o", "DcKvQviU", "daVSK")],
        counter: &["github_pat_<your token>"],
    },
];
