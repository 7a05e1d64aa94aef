//! From verified OIDC token claims to the identity a Fulcio-profile certificate states: its
//! one subject alternative name, the OIDC issuer, and the CI claims Fulcio records in
//! `1.3.6.1.4.1.57264.1.*` extensions.
//!
//! The rules are Fulcio's, per issuer type:
//! - `email`: SAN email = `email`, and `email_verified` must be `true`;
//! - `github-workflow`: SAN URI = `https://github.com/` + `job_workflow_ref`; the deprecated
//!   raw extensions `.1.2`–`.1.6` and the DER UTF8String extensions `.1.9`–`.1.22` (and
//!   `.1.23` when the job names an environment);
//! - `gitlab-pipeline`: SAN URI = `https://` + `ci_config_ref_uri`; `.1.9`–`.1.22` (`.1.23`);
//! - `spiffe`: SAN URI = `sub`, a `spiffe://` ID in the issuer's trust domain;
//! - `kubernetes`: SAN URI = `https://kubernetes.io/namespaces/NS/serviceaccounts/SA` from
//!   the `kubernetes.io` claim;
//! - `uri`: SAN URI = `sub`, which must be under the issuer's subject domain.
//!
//! A missing or malformed required claim is an error that names the claim.

use std::str::FromStr;

use serde_json::{Map, Value};
use x509_cert::der::Encode;
use x509_cert::der::asn1::{ObjectIdentifier, Utf8StringRef};

use crate::chain::CaError;

/// The Fulcio OID arc for certificate extensions.
const FULCIO: &str = "1.3.6.1.4.1.57264.1";

/// `1.3.6.1.4.1.57264.1.N`.
pub fn fulcio_oid(n: u32) -> Result<ObjectIdentifier, CaError> {
    ObjectIdentifier::new(&format!("{FULCIO}.{n}"))
        .map_err(|e| CaError::Encoding(format!("bad OID: {e}")))
}

/// How an issuer's tokens name their subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerType {
    Email,
    GithubWorkflow,
    GitlabPipeline,
    Spiffe,
    Kubernetes,
    Uri,
}

impl IssuerType {
    /// The configuration name (`email`, `github-workflow`, …).
    pub fn name(self) -> &'static str {
        match self {
            IssuerType::Email => "email",
            IssuerType::GithubWorkflow => "github-workflow",
            IssuerType::GitlabPipeline => "gitlab-pipeline",
            IssuerType::Spiffe => "spiffe",
            IssuerType::Kubernetes => "kubernetes",
            IssuerType::Uri => "uri",
        }
    }

    /// The claim a proof of possession signs (Fulcio's `challengeClaim`).
    pub fn challenge_claim(self) -> &'static str {
        match self {
            IssuerType::Email => "email",
            _ => "sub",
        }
    }
}

impl FromStr for IssuerType {
    type Err = CaError;
    fn from_str(s: &str) -> Result<Self, CaError> {
        Ok(match s {
            "email" => IssuerType::Email,
            "github-workflow" => IssuerType::GithubWorkflow,
            "gitlab-pipeline" => IssuerType::GitlabPipeline,
            "spiffe" => IssuerType::Spiffe,
            "kubernetes" => IssuerType::Kubernetes,
            "uri" => IssuerType::Uri,
            other => {
                return Err(CaError::Identity(format!(
                    "unknown issuer type `{other}` (email, github-workflow, gitlab-pipeline, spiffe, kubernetes, uri)"
                )));
            }
        })
    }
}

/// The certificate's one subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Email(String),
    Uri(String),
}

impl San {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        match self {
            San::Email(s) | San::Uri(s) => s,
        }
    }
}

/// What a certificate will say about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub san: San,
    /// The OIDC issuer (`iss`).
    pub issuer: String,
    /// Further extensions: OID and the extension value (already encoded: raw bytes for
    /// `.1.2`–`.1.6`, a DER UTF8String from `.1.9` on).
    pub extensions: Vec<(ObjectIdentifier, Vec<u8>)>,
}

/// Derives the identity for a verified token of an issuer of type `kind` at `issuer_url`
/// (the token's `iss`). `domain` is the SPIFFE trust domain (`spiffe`) or the subject
/// domain (`uri`); without it, the issuer URL's host is used.
pub fn from_claims(
    kind: IssuerType,
    issuer_url: &str,
    domain: Option<&str>,
    claims: &Map<String, Value>,
) -> Result<Identity, CaError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == issuer_url => {}
        _ => return Err(missing("iss", "must be the issuer's URL")),
    }
    let identity = |san| Identity {
        san,
        issuer: issuer_url.to_string(),
        extensions: Vec::new(),
    };
    match kind {
        IssuerType::Email => {
            let email = string(claims, "email")?;
            match claims.get("email_verified") {
                Some(Value::Bool(true)) => {}
                _ => return Err(missing("email_verified", "must be true")),
            }
            if !email.contains('@') || !email.is_ascii() {
                return Err(missing("email", "is not an ASCII email address"));
            }
            Ok(identity(San::Email(email)))
        }
        IssuerType::GithubWorkflow => github(issuer_url, claims),
        IssuerType::GitlabPipeline => gitlab(issuer_url, claims),
        IssuerType::Spiffe => {
            let sub = string(claims, "sub")?;
            let td = match domain {
                Some(d) => d.to_string(),
                None => host_of(issuer_url)?,
            };
            let rest = sub
                .strip_prefix("spiffe://")
                .ok_or_else(|| missing("sub", "is not a spiffe:// ID"))?;
            let sub_td = rest.split('/').next().unwrap_or_default();
            if !sub_td.eq_ignore_ascii_case(&td) {
                return Err(missing(
                    "sub",
                    &format!("is not in the issuer's SPIFFE trust domain `{td}`"),
                ));
            }
            check_uri(&sub, "sub")?;
            Ok(identity(San::Uri(sub)))
        }
        IssuerType::Kubernetes => {
            let k8s = claims
                .get("kubernetes.io")
                .and_then(Value::as_object)
                .ok_or_else(|| missing("kubernetes.io", "is missing or not an object"))?;
            let ns = string(k8s, "namespace")
                .map_err(|_| missing("kubernetes.io.namespace", "is missing or not a string"))?;
            let sa = k8s
                .get("serviceaccount")
                .and_then(Value::as_object)
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    missing(
                        "kubernetes.io.serviceaccount.name",
                        "is missing or not a string",
                    )
                })?;
            if [ns.as_str(), sa].iter().any(|s| s.contains('/')) {
                return Err(missing("kubernetes.io", "names contain `/`"));
            }
            let uri = format!("https://kubernetes.io/namespaces/{ns}/serviceaccounts/{sa}");
            check_uri(&uri, "kubernetes.io")?;
            Ok(identity(San::Uri(uri)))
        }
        IssuerType::Uri => {
            let sub = string(claims, "sub")?;
            let want = match domain {
                Some(d) => d.trim_end_matches('/').to_string(),
                None => origin_of(issuer_url)?,
            };
            let origin = origin_of(&sub).map_err(|_| missing("sub", "is not a URI"))?;
            if !origin.eq_ignore_ascii_case(&want) {
                return Err(missing(
                    "sub",
                    &format!("is not under the issuer's subject domain `{want}`"),
                ));
            }
            check_uri(&sub, "sub")?;
            Ok(identity(San::Uri(sub)))
        }
    }
}

fn missing(claim: &str, what: &str) -> CaError {
    CaError::Identity(format!("claim `{claim}` {what}"))
}

/// A non-empty string claim (numbers, which some issuers use for IDs, as decimal text).
fn string(claims: &Map<String, Value>, name: &str) -> Result<String, CaError> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(missing(name, "is empty or not a string")),
        None => Err(missing(name, "is missing")),
    }
}

fn optional(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, CaError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(_) => string(claims, name).map(Some),
    }
}

/// A SAN URI must be an IA5String without spaces or controls.
fn check_uri(uri: &str, claim: &str) -> Result<(), CaError> {
    if uri.bytes().all(|b| b.is_ascii_graphic()) && uri.contains(':') {
        Ok(())
    } else {
        Err(missing(claim, "does not make a valid URI"))
    }
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> Result<String, CaError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| CaError::Identity(format!("`{url}` is not an absolute URL")))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if scheme.is_empty() || host.is_empty() {
        return Err(CaError::Identity(format!("`{url}` is not an absolute URL")));
    }
    Ok(format!("{scheme}://{host}"))
}

fn host_of(url: &str) -> Result<String, CaError> {
    let origin = origin_of(url)?;
    let host = origin.split_once("://").map(|(_, h)| h).unwrap_or_default();
    Ok(host.split(':').next().unwrap_or_default().to_string())
}

fn utf8_ext(n: u32, value: &str) -> Result<(ObjectIdentifier, Vec<u8>), CaError> {
    Ok((fulcio_oid(n)?, Utf8StringRef::new(value)?.to_der()?))
}

fn raw_ext(n: u32, value: &str) -> Result<(ObjectIdentifier, Vec<u8>), CaError> {
    Ok((fulcio_oid(n)?, value.as_bytes().to_vec()))
}

/// The generic CI extensions `.1.9`–`.1.23`, in order.
struct Ci {
    build_signer_uri: String,
    build_signer_digest: String,
    runner_environment: String,
    source_repository_uri: String,
    source_repository_digest: String,
    source_repository_ref: String,
    source_repository_identifier: String,
    source_repository_owner_uri: String,
    source_repository_owner_identifier: String,
    build_config_uri: String,
    build_config_digest: String,
    build_trigger: String,
    run_invocation_uri: String,
    source_repository_visibility: String,
    deployment_environment: Option<String>,
}

impl Ci {
    fn extensions(&self) -> Result<Vec<(ObjectIdentifier, Vec<u8>)>, CaError> {
        let values = [
            (9, &self.build_signer_uri),
            (10, &self.build_signer_digest),
            (11, &self.runner_environment),
            (12, &self.source_repository_uri),
            (13, &self.source_repository_digest),
            (14, &self.source_repository_ref),
            (15, &self.source_repository_identifier),
            (16, &self.source_repository_owner_uri),
            (17, &self.source_repository_owner_identifier),
            (18, &self.build_config_uri),
            (19, &self.build_config_digest),
            (20, &self.build_trigger),
            (21, &self.run_invocation_uri),
            (22, &self.source_repository_visibility),
        ];
        let mut out = Vec::new();
        for (n, v) in values {
            out.push(utf8_ext(n, v)?);
        }
        if let Some(env) = &self.deployment_environment {
            out.push(utf8_ext(23, env)?);
        }
        Ok(out)
    }
}

const GITHUB: &str = "https://github.com";

fn github(issuer_url: &str, c: &Map<String, Value>) -> Result<Identity, CaError> {
    let s = |n| string(c, n);
    let repository = s("repository")?;
    let sha = s("sha")?;
    let event_name = s("event_name")?;
    let workflow = s("workflow")?;
    let git_ref = s("ref")?;
    let job_workflow_ref = s("job_workflow_ref")?;
    let san = format!("{GITHUB}/{job_workflow_ref}");
    check_uri(&san, "job_workflow_ref")?;
    let ci = Ci {
        build_signer_uri: san.clone(),
        build_signer_digest: s("job_workflow_sha")?,
        runner_environment: s("runner_environment")?,
        source_repository_uri: format!("{GITHUB}/{repository}"),
        source_repository_digest: sha.clone(),
        source_repository_ref: git_ref.clone(),
        source_repository_identifier: s("repository_id")?,
        source_repository_owner_uri: format!("{GITHUB}/{}", s("repository_owner")?),
        source_repository_owner_identifier: s("repository_owner_id")?,
        build_config_uri: format!("{GITHUB}/{}", s("workflow_ref")?),
        build_config_digest: s("workflow_sha")?,
        build_trigger: event_name.clone(),
        run_invocation_uri: format!(
            "{GITHUB}/{repository}/actions/runs/{}/attempts/{}",
            s("run_id")?,
            s("run_attempt")?
        ),
        source_repository_visibility: s("repository_visibility")?,
        deployment_environment: optional(c, "environment")?,
    };
    let mut extensions = vec![
        raw_ext(2, &event_name)?,
        raw_ext(3, &sha)?,
        raw_ext(4, &workflow)?,
        raw_ext(5, &repository)?,
        raw_ext(6, &git_ref)?,
    ];
    extensions.extend(ci.extensions()?);
    Ok(Identity {
        san: San::Uri(san),
        issuer: issuer_url.to_string(),
        extensions,
    })
}

fn gitlab(issuer_url: &str, c: &Map<String, Value>) -> Result<Identity, CaError> {
    let s = |n| string(c, n);
    let base = issuer_url.trim_end_matches('/');
    let config_ref_uri = s("ci_config_ref_uri")?;
    let san = format!("https://{config_ref_uri}");
    check_uri(&san, "ci_config_ref_uri")?;
    let project_path = s("project_path")?;
    let git_ref = s("ref")?;
    let full_ref = match s("ref_type")?.as_str() {
        "branch" => format!("refs/heads/{git_ref}"),
        "tag" => format!("refs/tags/{git_ref}"),
        _ => return Err(missing("ref_type", "is neither `branch` nor `tag`")),
    };
    let config_sha = s("ci_config_sha")?;
    let ci = Ci {
        build_signer_uri: san.clone(),
        build_signer_digest: config_sha.clone(),
        runner_environment: s("runner_environment")?,
        source_repository_uri: format!("{base}/{project_path}"),
        source_repository_digest: s("sha")?,
        source_repository_ref: full_ref,
        source_repository_identifier: s("project_id")?,
        source_repository_owner_uri: format!("{base}/{}", s("namespace_path")?),
        source_repository_owner_identifier: s("namespace_id")?,
        build_config_uri: san.clone(),
        build_config_digest: config_sha,
        build_trigger: s("pipeline_source")?,
        run_invocation_uri: format!("{base}/{project_path}/-/jobs/{}", s("job_id")?),
        source_repository_visibility: s("project_visibility")?,
        deployment_environment: optional(c, "environment")?,
    };
    Ok(Identity {
        san: San::Uri(san),
        issuer: issuer_url.to_string(),
        extensions: ci.extensions()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn email_needs_verified_email() {
        let iss = "https://accounts.example.com";
        let c = claims(
            json!({"iss": iss, "sub": "1", "email": "a@example.com", "email_verified": true}),
        );
        let id = from_claims(IssuerType::Email, iss, None, &c).unwrap();
        assert_eq!(id.san, San::Email("a@example.com".into()));
        assert_eq!(id.issuer, iss);
        let c = claims(json!({"iss": iss, "email": "a@example.com", "email_verified": false}));
        let e = from_claims(IssuerType::Email, iss, None, &c).unwrap_err();
        assert!(e.to_string().contains("email_verified"), "{e}");
        let c = claims(json!({"iss": iss, "email_verified": true}));
        let e = from_claims(IssuerType::Email, iss, None, &c).unwrap_err();
        assert!(e.to_string().contains("`email`"), "{e}");
        let c = claims(
            json!({"iss": "https://other", "email": "a@example.com", "email_verified": true}),
        );
        assert!(from_claims(IssuerType::Email, iss, None, &c).is_err());
    }

    #[test]
    fn spiffe_kubernetes_uri() {
        let iss = "https://oidc.example.org";
        let c = claims(json!({"iss": iss, "sub": "spiffe://example.org/ns/a/sa/b"}));
        let id = from_claims(IssuerType::Spiffe, iss, Some("example.org"), &c).unwrap();
        assert_eq!(id.san, San::Uri("spiffe://example.org/ns/a/sa/b".into()));
        let e = from_claims(IssuerType::Spiffe, iss, Some("other.org"), &c).unwrap_err();
        assert!(e.to_string().contains("sub"));

        let c = claims(
            json!({"iss": iss, "sub": "x", "kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "builder"}}}),
        );
        let id = from_claims(IssuerType::Kubernetes, iss, None, &c).unwrap();
        assert_eq!(
            id.san.as_str(),
            "https://kubernetes.io/namespaces/prod/serviceaccounts/builder"
        );
        let c = claims(json!({"iss": iss, "sub": "x", "kubernetes.io": {"namespace": "prod"}}));
        let e = from_claims(IssuerType::Kubernetes, iss, None, &c).unwrap_err();
        assert!(e.to_string().contains("serviceaccount.name"), "{e}");

        let c = claims(json!({"iss": iss, "sub": "https://oidc.example.org/users/7"}));
        assert!(from_claims(IssuerType::Uri, iss, None, &c).is_ok());
        let c = claims(json!({"iss": iss, "sub": "https://evil.example.net/users/7"}));
        assert!(from_claims(IssuerType::Uri, iss, None, &c).is_err());
    }

    #[test]
    fn gitlab_pipeline() {
        let iss = "https://gitlab.com";
        let c = claims(json!({
            "iss": iss, "sub": "project_path:g/p:ref_type:branch:ref:main",
            "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
            "ci_config_sha": "abc", "project_path": "g/p", "ref": "main", "ref_type": "branch",
            "runner_environment": "gitlab-hosted", "sha": "def", "project_id": "42",
            "namespace_path": "g", "namespace_id": "7", "pipeline_source": "push",
            "job_id": "99", "project_visibility": "public"
        }));
        let id = from_claims(IssuerType::GitlabPipeline, iss, None, &c).unwrap();
        assert_eq!(
            id.san.as_str(),
            "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"
        );
        let ext = |n| {
            id.extensions
                .iter()
                .find(|(o, _)| *o == fulcio_oid(n).unwrap())
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(ext(14)[2..], *b"refs/heads/main");
        assert_eq!(ext(21)[2..], *b"https://gitlab.com/g/p/-/jobs/99");
        let mut c2 = c.clone();
        c2.remove("job_id");
        let e = from_claims(IssuerType::GitlabPipeline, iss, None, &c2).unwrap_err();
        assert!(e.to_string().contains("job_id"), "{e}");
    }

    #[test]
    fn issuer_types_parse() {
        for t in [
            "email",
            "github-workflow",
            "gitlab-pipeline",
            "spiffe",
            "kubernetes",
            "uri",
        ] {
            assert_eq!(IssuerType::from_str(t).unwrap().name(), t);
        }
        assert!(IssuerType::from_str("buildkite").is_err());
    }
}
