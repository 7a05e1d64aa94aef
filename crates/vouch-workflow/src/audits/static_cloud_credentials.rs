//! `workflow/static-cloud-credentials`: long-lived cloud keys passed from `secrets.*`.

use serde::Deserialize;
use vouch_core::{Finding, Rule, Severity};

use super::Ctx;
use crate::model::{Job, context_refs, deploy_reason, expressions};
use crate::yaml::Node;

pub const RULE: Rule = Rule {
    id: "workflow/static-cloud-credentials",
    severity: Severity::High,
    summary: "A long-lived cloud key is passed from secrets instead of using OIDC",
    help: "Replace stored cloud keys with short-lived credentials from GitHub's OIDC provider: \
           grant `permissions: id-token: write` on the job and let the cloud trust the \
           workflow's identity.\n\n\
           - AWS: `aws-actions/configure-aws-credentials` with `role-to-assume:` (an IAM role \
           whose trust policy names `token.actions.githubusercontent.com` and your \
           repository/environment in `sub`).\n\
           - GCP: `google-github-actions/auth` with `workload_identity_provider:` and \
           `service_account:` instead of `credentials_json:`.\n\
           - Azure: `azure/login` with `client-id`, `tenant-id`, `subscription-id` and a \
           federated credential instead of `creds:`/a client secret.\n\n\
           Then delete the key from the cloud and from the repository's secrets. A stored key \
           works from anywhere until someone rotates it; an OIDC token lives minutes and is \
           bound to this repository. Severity is high in deploy jobs and medium elsewhere.",
    references: &[
        "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect",
        "https://github.com/aws-actions/configure-aws-credentials#oidc",
        "https://github.com/google-github-actions/auth#workload-identity-federation-through-a-service-account",
    ],
};

/// `[rules."workflow/static-cloud-credentials"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Extra secret names (case-insensitive substrings) that hold long-lived cloud keys.
    #[serde(default)]
    pub secret_names: Vec<String>,
}

/// (input or variable name, provider) — names that carry the secret half of a cloud key.
const KEY_NAMES: &[(&str, &str)] = &[
    ("aws-secret-access-key", "AWS secret access key"),
    ("aws_secret_access_key", "AWS secret access key"),
    ("credentials_json", "GCP service-account JSON key"),
    ("service_account_key", "GCP service-account JSON key"),
    ("gcp_sa_key", "GCP service-account JSON key"),
    ("google_credentials", "GCP service-account JSON key"),
    (
        "google_application_credentials_json",
        "GCP service-account JSON key",
    ),
    ("gcloud_service_key", "GCP service-account JSON key"),
    ("azure_client_secret", "Azure client secret"),
    ("arm_client_secret", "Azure client secret"),
    ("client-secret", "Azure client secret"),
    ("azure_credentials", "Azure service-principal credentials"),
];

/// Secret names (substrings, lower-case) that hold the secret half of a cloud key.
const SECRET_NAMES: &[(&str, &str)] = &[
    ("aws_secret_access_key", "AWS secret access key"),
    ("aws_secret_key", "AWS secret access key"),
    ("gcp_sa_key", "GCP service-account JSON key"),
    ("gcp_credentials", "GCP service-account JSON key"),
    ("gcloud_service_key", "GCP service-account JSON key"),
    ("google_credentials", "GCP service-account JSON key"),
    (
        "google_application_credentials",
        "GCP service-account JSON key",
    ),
    ("service_account_key", "GCP service-account JSON key"),
    ("azure_credentials", "Azure service-principal credentials"),
    ("azure_client_secret", "Azure client secret"),
    ("arm_client_secret", "Azure client secret"),
];

pub fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let doc = ctx.doc;
    let extra_deploy = &ctx.settings.section.deploy_patterns;
    let jobs = doc.jobs();
    let any_deploy = jobs.iter().find_map(|j| deploy_reason(j, extra_deploy));
    if let Some(env) = doc.root.get("env") {
        scan(ctx, env, "the workflow", any_deploy.as_deref(), out);
    }
    for job in &jobs {
        let why = deploy_reason(job, extra_deploy);
        let holder = format!("job `{}`", job.id());
        if let Some(env) = job.node.get("env") {
            scan(ctx, env, &holder, why.as_deref(), out);
        }
        if let Some(secrets) = job.node.get("secrets") {
            scan(ctx, secrets, &holder, why.as_deref(), out);
        }
        for step in job.steps() {
            for part in ["with", "env"] {
                if let Some(m) = step.node.get(part) {
                    scan(ctx, m, &holder, why.as_deref(), out);
                }
            }
        }
        azure_creds(ctx, job, &holder, why.as_deref(), out);
    }
}

/// The provider when `key` or a `secrets.*` reference in `value` names a cloud key.
fn classify<'a>(ctx: &'a Ctx<'_>, key: &str, value: &str) -> Option<(String, &'a str)> {
    let refs: Vec<String> = expressions(value)
        .iter()
        .flat_map(|e| context_refs(e.inner))
        .filter(|r| r.starts_with("secrets."))
        .collect();
    let secret = refs.first()?.clone();
    let name = secret.trim_start_matches("secrets.").to_ascii_lowercase();
    let key_l = key.to_ascii_lowercase();
    if let Some((_, p)) = KEY_NAMES.iter().find(|(k, _)| key_l == *k) {
        return Some((secret, p));
    }
    if let Some((_, p)) = SECRET_NAMES.iter().find(|(s, _)| name.contains(s)) {
        return Some((secret, p));
    }
    let extra = &ctx.settings.static_cloud_credentials.secret_names;
    if extra.iter().any(|s| name.contains(&s.to_ascii_lowercase())) {
        return Some((secret, "cloud key"));
    }
    None
}

fn scan(ctx: &Ctx<'_>, map: &Node, holder: &str, deploy: Option<&str>, out: &mut Vec<Finding>) {
    let Some(entries) = map.as_map() else { return };
    for (k, v) in entries {
        let (Some(key), Some(value)) = (k.as_str(), v.as_str()) else {
            continue;
        };
        if let Some((secret, provider)) = classify(ctx, key, value) {
            push(ctx, k, &secret, provider, holder, deploy, out);
        }
    }
}

/// `azure/login` with `creds:` holds a client secret whatever the secret is called.
fn azure_creds(
    ctx: &Ctx<'_>,
    job: &Job<'_>,
    holder: &str,
    deploy: Option<&str>,
    out: &mut Vec<Finding>,
) {
    for step in job.steps() {
        if !step.uses_action("azure/login") {
            continue;
        }
        let Some((k, v)) = step.node.get("with").and_then(|w| w.entry("creds")) else {
            continue;
        };
        let Some(value) = v.as_str() else { continue };
        if classify(ctx, "creds", value).is_some() {
            continue; // already reported by name
        }
        if let Some(r) = expressions(value)
            .iter()
            .flat_map(|e| context_refs(e.inner))
            .find(|r| r.starts_with("secrets."))
        {
            push(
                ctx,
                k,
                &r,
                "Azure service-principal credentials",
                holder,
                deploy,
                out,
            );
        }
    }
}

fn push(
    ctx: &Ctx<'_>,
    key: &Node,
    secret: &str,
    provider: &str,
    holder: &str,
    deploy: Option<&str>,
    out: &mut Vec<Finding>,
) {
    let mut f = Finding::new(
        &RULE,
        ctx.doc.at(key),
        match deploy {
            Some(why) => format!(
                "long-lived {provider} `{secret}` is passed to {holder}, which deploys ({why}); use OIDC"
            ),
            None => format!("long-lived {provider} `{secret}` is passed to {holder}; use OIDC"),
        },
        &format!("{holder}:{}:{secret}", key.as_str().unwrap_or("")),
    )
    .with_annotation(format!("static {provider}"));
    if deploy.is_none() {
        f = f.with_severity(Severity::Medium);
    }
    out.push(f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use crate::audits::testing::{positions, run as audit, run_with};

    const WF: &str = "on: push
env:
  GOOGLE_CREDENTIALS: ${{ secrets.GCP_SA_KEY }}
jobs:
  deploy:
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
      - uses: azure/login@v2
        with:
          creds: ${{ secrets.AZ }}
  test:
    env:
      AWS_SECRET_ACCESS_KEY: ${{ secrets.TEST_KEY }}
      CUSTOM: ${{ secrets.MY_CLOUD_THING }}
    steps:
      - run: make test
";

    #[test]
    fn fires_on_secret_halves_of_cloud_keys() {
        let f = audit(run, WF);
        assert_eq!(
            positions(&f),
            vec![(3, 3), (10, 11), (14, 11), (17, 7)],
            "{f:#?}"
        );
        assert_eq!(f[1].severity, Severity::High);
        assert!(
            f[1].message.contains("`secrets.AWS_SECRET_ACCESS_KEY`"),
            "{}",
            f[1].message
        );
        assert_eq!(f[3].severity, Severity::Medium);
        // OIDC is fine
        let ok = audit(
            run,
            "on: push\njobs:\n  d:\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::1:role/x\n",
        );
        assert!(ok.is_empty());
    }

    #[test]
    fn extra_secret_names_option() {
        let mut s = Settings::default();
        s.static_cloud_credentials.secret_names = vec!["my_cloud".into()];
        assert_eq!(run_with(run, WF, &s).len(), 5);
    }
}
