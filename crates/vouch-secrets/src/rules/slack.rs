//! Slack tokens and incoming webhooks.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/slack-bot-token",
        severity: High,
        summary: "Slack bot token",
        refs: &["https://api.slack.com/authentication/token-types"],
        regex: r##"\b(?P<secret>xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24})\b"##,
        keywords: &["xoxb-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("xoxb-397", "23130464", "3-294187", "4937308-", "of5NX3dB", "0BrOUqIo", "UGngND0C")],
        counter: &["xoxb-1234-abc", "xoxb-xxxxxxxxxx-xxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/slack-user-token",
        severity: High,
        summary: "Slack user or workspace token",
        refs: &["https://api.slack.com/authentication/token-types"],
        regex: r##"\b(?P<secret>xox[pe]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32})\b"##,
        keywords: &["xoxp-", "xoxe-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("xoxp-378", "78098653", "4-372444", "988279-9", "34057552", "3478-322", "2cbf2591", "70d10e9a", "18c05780", "0e65e")],
        counter: &["xoxp-123-456"],
    },
    secret_rule! {
        id: "secrets/slack-app-token",
        severity: High,
        summary: "Slack app-level token",
        refs: &["https://api.slack.com/authentication/token-types"],
        regex: r##"\b(?P<secret>xapp-\d-[A-Z0-9]{9,11}-\d{10,13}-[a-f0-9]{64})\b"##,
        keywords: &["xapp-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("xapp-1-A", "IQKA45JB", "OO-91621", "09362982", "-f318269", "784b39f7", "639a0cf5", "cd7d0d0e", "1b14fefa", "e532eeab", "7dfd684a", "cf3614f6", "4")],
        counter: &["xapp-1-A0-1-ff"],
    },
    secret_rule! {
        id: "secrets/slack-config-token",
        severity: High,
        summary: "Slack configuration (refresh) token",
        refs: &["https://api.slack.com/authentication/token-types"],
        regex: r##"\b(?P<secret>xoxe\.xox[bp]-\d-[A-Za-z0-9]{160,170})\b"##,
        keywords: &["xoxe."],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("xoxe.xox", "p-1-yaQt", "rO05XvaK", "yXNjtw9w", "1TeKtn7F", "fjTn8U0A", "VnmRdRTb", "bC2ImtDq", "a5wekeIC", "DdnkNybG", "15zo4nfK", "YBkgtfvR", "CRnPllhH", "ym45U30g", "WkC4ahHd", "n7Ae0DuZ", "jxNwk03D", "Gixev0Rt", "uQsW2fMB", "gFYxCNoy", "pXYhmKPB", "lkyQ")],
        counter: &["xoxe.xoxp-1-short"],
    },
    secret_rule! {
        id: "secrets/slack-webhook-url",
        severity: High,
        summary: "Slack incoming webhook URL",
        regex: r##"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56})"##,
        keywords: &["hooks.slack.com"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("https://", "hooks.sl", "ack.com/", "services", "/TNB1CFD", "2UEH/BIC", "6GTAA7MV", "/kLfaRM2", "UkFvU7Vd", "rpoP2aDz", "4")],
        counter: &["https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"],
    },
];
