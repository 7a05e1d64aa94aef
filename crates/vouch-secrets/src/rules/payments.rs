//! Payments and commerce: Stripe, Square, Braintree, Shopify.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/stripe-secret-key",
        severity: Critical,
        summary: "Stripe live secret key",
        regex: r##"\b(?P<secret>sk_live_[A-Za-z0-9]{24,247})\b"##,
        keywords: &["sk_live_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("sk_live_", "DIpewObU", "3NhrCUms", "GXwz1USw", "5vKPbNZl", "p1ZrRUpH", "9hSAFWrG", "mweXbqqV", "oX5FtYF0", "jeSJi8Kb", "Q1vGkGIO", "ESDUk9jA", "Dp7TGJmz", "GvT")],
        counter: &["sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/stripe-restricted-key",
        severity: High,
        summary: "Stripe live restricted key",
        regex: r##"\b(?P<secret>rk_live_[A-Za-z0-9]{24,247})\b"##,
        keywords: &["rk_live_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("rk_live_", "Z1a8WGaC", "LuZGtgNO", "pFAUeWws", "uSjWfvZK", "8Rhd2U1x", "cwyYTnDa", "SHApM7Ir", "c0gyk02Y", "XYxUi6n6", "vOa5Wo2g", "v0yI8Oza", "4mAXgk52", "071")],
        counter: &["rk_test_abc"],
    },
    secret_rule! {
        id: "secrets/square-access-token",
        severity: High,
        summary: "Square access token",
        regex: r##"\b(?P<secret>(?:EAAA|sq0atp-)[A-Za-z0-9_\-]{22,60})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["eaaa", "sq0atp-"],
        entropy: 3.5,
        validator: None,
        examples: &[concat!("EAAApf10", "0kWuAYlQ", "zRhIT0r4", "2Kz46jQI", "vy8NQ0j3", "7-_s8Gfn", "MJ6aMmLN", "gUnnlNEW")],
        counter: &["EAAAxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    secret_rule! {
        id: "secrets/square-oauth-secret",
        severity: High,
        summary: "Square OAuth application secret",
        regex: r##"\b(?P<secret>sq0csp-[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["sq0csp-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("sq0csp-4", "_lSRDVuQ", "bZUQPU43", "qgGvwpAl", "E2MrP4hI", "zuQiaxB-", "yl")],
        counter: &["sq0csp-<secret>"],
    },
    secret_rule! {
        id: "secrets/braintree-access-token",
        severity: Critical,
        summary: "Braintree/PayPal production access token",
        regex: r##"\b(?P<secret>access_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32})\b"##,
        keywords: &["access_token$production$"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("access_t", "oken$pro", "duction$", "t9pn4yqi", "rly5yg8o", "$5419a02", "eb9f9725", "578514b8", "d94107e1", "f")],
        counter: &["access_token$sandbox$abc$def"],
    },
    secret_rule! {
        id: "secrets/shopify-access-token",
        severity: High,
        summary: "Shopify access token (admin, custom or private app)",
        regex: r##"\b(?P<secret>shp(?:at|ca|pa)_[a-fA-F0-9]{32})\b"##,
        keywords: &["shpat_", "shpca_", "shppa_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("shpat_37", "07464185", "51f47ef4", "8b7d4c3a", "36279f")],
        counter: &["shpat_00000000000000000000000000000000"],
    },
    secret_rule! {
        id: "secrets/shopify-shared-secret",
        severity: High,
        summary: "Shopify app shared secret",
        regex: r##"\b(?P<secret>shpss_[a-fA-F0-9]{32})\b"##,
        keywords: &["shpss_"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("shpss_4a", "34aa845d", "e591f33f", "3a700688", "43d6bf")],
        counter: &["shpss_ffffffffffffffffffffffffffffffff"],
    },
];
