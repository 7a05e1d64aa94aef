//! Google Cloud: API keys, service-account key files, OAuth client secrets.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/gcp-api-key",
        severity: High,
        summary: "Google Cloud / Firebase API key",
        regex: r##"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)"##,
        keywords: &["aiza"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("AIzajhbf", "8homVehC", "0CLl8jhv", "4powgd2K", "G4DzBJb")],
        counter: &["AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "AIza_short"],
    },
    secret_rule! {
        id: "secrets/gcp-service-account",
        severity: Critical,
        summary: "Google Cloud service-account key file",
        regex: r##"(?s)\"type\"\s*:\s*\"service_account\".{0,1000}?\"private_key_id\"\s*:\s*\"(?P<secret>[a-f0-9]{40})\""##,
        keywords: &["service_account"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("\"type\": ", "\"service", "_account", "\", \"proj", "ect_id\":", " \"demo\",", " \"privat", "e_key_id", "\": \"8a21", "bb370bad", "1b400a2f", "0e828744", "d57cdf88", "4916\"")],
        counter: &["\"type\": \"service_account\", \"private_key_id\": \"<KEY_ID>\"", "\"type\": \"authorized_user\""],
    },
    secret_rule! {
        id: "secrets/gcp-oauth-client-secret",
        severity: High,
        summary: "Google OAuth client secret",
        regex: r##"\b(?P<secret>GOCSPX-[A-Za-z0-9_\-]{28})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["gocspx-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("GOCSPX-5", "nwnauptY", "8_8BXt6b", "R1GOrKVU", "CaN")],
        counter: &["GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
];
