//! Amazon Web Services: access key ids, secret access keys (paired with their key id in the same file), session tokens.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/aws-access-key-id",
        severity: High,
        summary: "AWS access key ID",
        refs: &["https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html"],
        regex: r##"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b"##,
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("AKIAF7QC", "AJ6XUBR7", "M2GM")],
        counter: &["AKIAIOSFODNN7EXAMPLE", "AKIA1234", "key = AKIAABCDEFGHIJKLMNOPQRS1"],
    },
    secret_rule! {
        id: "secrets/aws-secret-access-key",
        severity: Critical,
        summary: "AWS secret access key",
        regex: r##"(?i)aws.{0,25}?(?:secret|sk|private).{0,20}?(?:=|:|=>)\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"##,
        keywords: &["aws"],
        entropy: 4.0,
        validator: None,
        examples: &[concat!("aws_secr", "et_acces", "s_key = ", "\"Hl2QlU0", "G4mzLmfz", "U/ydUF3M", "TplzoINz", "W9CrAbyv", "c\"")],
        counter: &["aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}", "aws_secret_access_key = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""],
    },
    secret_rule! {
        id: "secrets/aws-session-token",
        severity: High,
        summary: "AWS temporary session token",
        regex: r##"(?i)(?:aws.?session.?token|x-amz-security-token)\W{0,5}(?P<secret>(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9/+=]{100,})"##,
        keywords: &["iqojb3jpz2lu", "fwogzxivyxdz"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("aws_sess", "ion_toke", "n=IQoJb3", "JpZ2luX2", "VjEQNVWX", "Lq+gx2Ym", "4Fl55Wj2", "8M0kyI5+", "wccpGUyG", "5QG01+I8", "9+sW/N7P", "UuWIOY+u", "La5hxdoV", "U/hytIb2", "+j8DmVUs", "FOsemnf9", "7idqkuH5", "/cry4945", "J9iLUKUe", "kJJJ834V", "ekFEewRV", "egA3Rjuo", "Zr7/jqjS", "dxtxKtXC", "Cq1uOEaX", "yPW4bYrD", "VIxtvrX")],
        counter: &["aws_session_token=${AWS_SESSION_TOKEN}"],
    },
];
