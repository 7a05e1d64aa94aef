//! Messaging and e-mail: Twilio, SendGrid, Mailgun, Mailchimp, Telegram, Discord.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/twilio-api-key",
        severity: High,
        summary: "Twilio API key",
        regex: r##"\b(?P<secret>SK[0-9a-fA-F]{32})\b"##,
        keywords: &["twilio"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("TWILIO_A", "PI_KEY=S", "K946ec12", "0768d2a1", "a1a384b9", "7d9109bd", "e")],
        counter: &["TWILIO_SID=AC00000000000000000000000000000000"],
    },
    secret_rule! {
        id: "secrets/sendgrid-api-key",
        severity: High,
        summary: "SendGrid API key",
        regex: r##"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["sg."],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("SG.YW2Um", "9fpvDogC", "LPyoyeGb", "q.LRCDd0", "bqmehJ1x", "h_B4fonW", "VIMpOUFS", "jKmaPqqD", "2HgGO")],
        counter: &["SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/mailgun-api-key",
        severity: High,
        summary: "Mailgun private API key",
        regex: r##"\b(?P<secret>key-[a-f0-9]{32})\b"##,
        keywords: &["mailgun"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("MAILGUN_", "API_KEY=", "\"key-8e9", "dadc2c63", "629e8821", "463777a9", "0d74b\"")],
        counter: &["MAILGUN_API_KEY=key-<your key>"],
    },
    secret_rule! {
        id: "secrets/mailchimp-api-key",
        severity: High,
        summary: "Mailchimp API key",
        regex: r##"\b(?P<secret>[a-f0-9]{32}-us[0-9]{1,2})\b"##,
        keywords: &["-us"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("mailchim", "p_key = ", "\"fe01032", "59737d84", "c35dbdcc", "97409366", "b-us5\"")],
        counter: &["d41d8cd98f00b204e9800998ecf8427e-usage"],
    },
    secret_rule! {
        id: "secrets/telegram-bot-token",
        severity: High,
        summary: "Telegram bot token",
        regex: r##"\b(?P<secret>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &[":aa"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("TELEGRAM", "_BOT_TOK", "EN=44886", "1774:AA_", "7FTxYkYy", "vA_q36Ai", "7yQqHFc7", "WaWzfOOx")],
        counter: &["12345678:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/discord-webhook-url",
        severity: High,
        summary: "Discord webhook URL",
        regex: r##"(?P<secret>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,68})"##,
        keywords: &["discord"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("https://", "discord.", "com/api/", "webhooks", "/3120137", "85776019", "197/DHYZ", "JRNVkGmr", "d1rojh40", "oo1rNZA2", "ZZYfc7T9", "SU3hpaB0", "UAKkInK5", "obWzo4FF", "QC47lHc1")],
        counter: &["https://discord.com/api/webhooks/123/abc"],
    },
];
