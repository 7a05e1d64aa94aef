//! URLs with embedded passwords: database connection strings and basic-auth URLs.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/database-url",
        severity: Critical,
        summary: "Database connection URL with a password",
        regex: r##"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|clickhouse|cockroachdb)://[^\s:@/\"'<>]{1,64}:(?P<secret>[^\s:@/\"'<>]{4,128})@[A-Za-z0-9.\-_\[\]]+"##,
        keywords: &["://"],
        entropy: 2.5,
        validator: UrlPassword,
        examples: &[concat!("postgres", "://app:E", "V5nU7MsV", "niv1o8KF", "p@db.int", "ernal:54", "32/app")],
        counter: &["postgres://user:${DB_PASSWORD}@localhost/app", "postgres://postgres:postgres@localhost/test", "mysql://root:<password>@db/x", "redis://localhost:6379"],
    },
    secret_rule! {
        id: "secrets/basic-auth-url",
        severity: High,
        summary: "URL with embedded credentials (basic auth)",
        regex: r##"(?i)\bhttps?://[^\s:@/\"'<>]{1,64}:(?P<secret>[^\s:@/\"'<>]{6,128})@[A-Za-z0-9.\-]+"##,
        keywords: &["://"],
        entropy: 3.0,
        validator: UrlPassword,
        examples: &[concat!("https://", "ci-bot:t", "kwiS4YtL", "JFrDzlUg", "off@git.", "internal", ".test/re", "po.git")],
        counter: &["https://user:password@example.com", "https://${USER}:${TOKEN}@github.com/x", "http://localhost:8080@x"],
    },
];
