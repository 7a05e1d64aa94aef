//! Observability: Datadog, Sentry, New Relic, Grafana.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/datadog-api-key",
        severity: High,
        summary: "Datadog API key",
        regex: r##"(?i)(?:datadog|dd)[_\-.]?api[_\-.]?key\W{0,5}(?P<secret>[a-f0-9]{32})\b"##,
        keywords: &["datadog", "dd_api", "dd-api", "ddapi"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("DD_API_K", "EY=\"6c26", "17b9979f", "e47440a2", "1a573655", "793d\"")],
        counter: &["DD_API_KEY=\"${DD_API_KEY}\""],
    },
    secret_rule! {
        id: "secrets/datadog-app-key",
        severity: High,
        summary: "Datadog application key",
        regex: r##"(?i)(?:datadog|dd)[_\-.]?(?:app|application)[_\-.]?key\W{0,5}(?P<secret>[a-f0-9]{40})\b"##,
        keywords: &["datadog", "dd_app", "dd-app", "ddapp"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("DD_APP_K", "EY=\"4a76", "8409f14d", "9aecb8e3", "0bddc606", "e063f16e", "be1f\"")],
        counter: &["DD_APP_KEY=\"\""],
    },
    secret_rule! {
        id: "secrets/sentry-auth-token",
        severity: High,
        summary: "Sentry organisation or user auth token",
        regex: r##"\b(?P<secret>sntry[su]_[A-Za-z0-9_=+/]{40,})"##,
        keywords: &["sntrys_", "sntryu_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("sntrys_e", "yJpYXQiO", "jE3MDAwM", "DAwMDB9_", "UOYK3oB0", "JpXhchoe", "QExCgVTY", "QGy29c4q", "lr0P8Br2", "Txq")],
        counter: &["sntrys_"],
    },
    secret_rule! {
        id: "secrets/newrelic-user-key",
        severity: High,
        summary: "New Relic user API key",
        regex: r##"\b(?P<secret>NRAK-[A-Z0-9]{27})\b"##,
        keywords: &["nrak-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("NRAK-G3H", "FAN9FZ24", "L78UYKF3", "F8SHY0H6")],
        counter: &["NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX"],
    },
    secret_rule! {
        id: "secrets/grafana-service-account-token",
        severity: High,
        summary: "Grafana service-account token",
        regex: r##"\b(?P<secret>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b"##,
        keywords: &["glsa_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("glsa_QcN", "83X3PIMv", "27hTjBvO", "xlGwwbjM", "PUXmj_02", "9ee4df")],
        counter: &["glsa_xxx"],
    },
    secret_rule! {
        id: "secrets/grafana-cloud-token",
        severity: High,
        summary: "Grafana Cloud access policy token",
        regex: r##"\b(?P<secret>glc_[A-Za-z0-9+/]{32,400}={0,2})"##,
        keywords: &["glc_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("glc_eyJv", "IjoiqKlI", "DzDrEyWl", "wxC3AJBp", "IJTr4pGO", "8LjVRIAM", "SBOXrEqu", "xJx6xHZh", "M8JhXpOI", "WHe9y8wA", "Q2BzZge8", "212t")],
        counter: &["glc_short"],
    },
];
