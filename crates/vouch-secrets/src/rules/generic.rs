//! The generic assignment rule (`password = …`, `secret: …`), gated by entropy, character classes and the placeholder filters.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[secret_rule! {
    id: "secrets/generic-secret-assignment",
    severity: Medium,
    summary: "Hard-coded password, secret or token assigned in code or configuration",
    regex: r##"(?i)(?:^|[^A-Za-z0-9])(?:[A-Za-z0-9]+[_.\-])*(?:password|passwd|pwd|secret|token|api[_.\-]?key|apikey|access[_.\-]?key|auth[_.\-]?key|client[_.\-]?secret|credentials?|private[_.\-]?key)(?:[_.\-][A-Za-z0-9]+)*[\"']?[ \t]*(?:=|:=|:|=>|\?=)[ \t]*(?:\"(?P<q1>[^\"\r\n\s]{8,128})\"|'(?P<q2>[^'\r\n\s]{8,128})'|(?P<bare>[^\s\"'`,;)(\]\[{}<>]{8,128})(?:\s|$|[,;]))"##,
    keywords: &["passw", "pwd", "secret", "token", "credential", "apikey", "api_key", "api-key", "api.key", "accesskey", "access_key", "access-key", "access.key", "authkey", "auth_key", "auth-key", "auth.key", "privatekey", "private_key", "private-key", "private.key"],
    entropy: 3.0,
    validator: None,
    examples: &[concat!("db_passw", "ord = \"X", "j601nkdy", "Y4nsnQYI", "c\"")],
    counter: &["password = os.environ[\"DB_PASSWORD\"]", "token: ${{ secrets.GITHUB_TOKEN }}", "secret = \"changeme\"", "password = get_password_from_vault()", "api_key = \"123e4567-e89b-12d3-a456-426614174000\"", "password_hash = \"sha512-abcdefABCDEF0123456789\"", "token_url = https://example.com/oauth/token", "secret_name = \"database-credentials\"", "config.filter_parameters += [:password] # \"[FILTERED]\"", "token.type = \"PrivateIdentifier\"", "\"credentials\": \"./creds.json\"", "FULL_HASH_TOKEN_PREFIX = \"@@webpackFullHash\"", "password: \"{{ .Values.db.password }}\"", "DB_PASSWORD: <password>", "TOKEN_ROUTE = \"/api/v1/oauth/token\""],
}];
