//! GitLab tokens (prefixed formats since GitLab 14.5).
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/gitlab-pat",
        severity: Critical,
        summary: "GitLab personal/project access token",
        regex: r##"\b(?P<secret>glpat\-[A-Za-z0-9_\-]{20})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["glpat-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("glpat-6y", "woCrYCT7", "JyCd0FYp", "eO")],
        counter: &["glpat-xxxxxxxxxxxxxxxxxxxx", "glpat-<token>"],
    },
    secret_rule! {
        id: "secrets/gitlab-pipeline-trigger-token",
        severity: Critical,
        summary: "GitLab pipeline trigger token",
        regex: r##"\b(?P<secret>glptt\-[a-f0-9]{40})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["glptt-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("glptt-bf", "8dc9bb1d", "599f73e5", "bdea2edf", "032fd10b", "b55f2c")],
        counter: &["glptt-xxxxxxxxxxxxxxxxxxxx", "glptt-<token>"],
    },
    secret_rule! {
        id: "secrets/gitlab-runner-token",
        severity: Critical,
        summary: "GitLab runner authentication token",
        regex: r##"\b(?P<secret>glrt\-[A-Za-z0-9_\-]{20})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["glrt-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("glrt-odS", "DGHXUaS1", "Mw-TecAa", "f")],
        counter: &["glrt-xxxxxxxxxxxxxxxxxxxx", "glrt-<token>"],
    },
    secret_rule! {
        id: "secrets/gitlab-deploy-token",
        severity: Critical,
        summary: "GitLab deploy token",
        regex: r##"\b(?P<secret>gldt\-[A-Za-z0-9_\-]{20})(?:[^A-Za-z0-9_\-]|$)"##,
        keywords: &["gldt-"],
        entropy: 3.0,
        validator: None,
        examples: &[concat!("gldt-d8n", "19P8zAVs", "oBgCI1CT", "8")],
        counter: &["gldt-xxxxxxxxxxxxxxxxxxxx", "gldt-<token>"],
    },
];
