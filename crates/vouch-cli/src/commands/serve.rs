//! `vouch serve`: the signing service and its operator commands. Each parses arguments, makes
//! one `vouch_server::run` call and renders the result.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::InputError;
use vouch_server::run::{DevToken, Instance, KeyOp};

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    /// A self-contained instance: keys generated into --dir, SQLite audit, in-process
    /// quotas, a local token issuer. Loopback only.
    #[arg(long)]
    pub dev: bool,
    /// Where a dev instance listens.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8443",
        requires = "dev"
    )]
    pub listen: SocketAddr,
    /// A dev instance's state directory (keys, log, audit.db, trust-config.json).
    #[arg(long, value_name = "DIR", default_value = ".vouch/serve-dev")]
    pub dir: PathBuf,
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Print an access token from a dev instance's local issuer (bind it to your DPoP key
    /// with --dpop-jkt, or to a client certificate with --x5t).
    DevToken(DevTokenArgs),
    /// List, rotate or revoke signing keys (on the instance's data directory).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI 3.1 document of the service's API.
    Openapi,
}

/// Which instance: `--config serve.toml` (the global flag) or a dev instance's directory.
#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// A dev instance's directory [default: .vouch/serve-dev]; a production instance is named
    /// by --config serve.toml.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl InstanceArgs {
    fn instance(&self, global: &GlobalArgs) -> Instance {
        match &global.config {
            Some(c) => Instance::Config(c.clone()),
            None => Instance::Dev {
                dir: self
                    .dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(".vouch/serve-dev")),
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct DevTokenArgs {
    /// The dev instance's directory.
    #[arg(long, value_name = "DIR", default_value = ".vouch/serve-dev")]
    pub dir: PathBuf,
    /// Space-separated scopes.
    #[arg(long, default_value = "signer.sign")]
    pub scope: String,
    #[arg(long, default_value = "dev")]
    pub tenant: String,
    /// `signer` for the signing API; `sigstore` for a keyless identity token.
    #[arg(long, default_value = "signer")]
    pub audience: String,
    #[arg(long, default_value = "dev-user")]
    pub subject: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 900)]
    pub ttl: u64,
    /// RFC 7638 thumbprint of the DPoP key the token is bound to (cnf.jkt).
    #[arg(long, value_name = "THUMBPRINT")]
    pub dpop_jkt: Option<String>,
    /// Base64url SHA-256 of the client certificate the token is bound to (cnf.x5t#S256).
    #[arg(long, value_name = "THUMBPRINT")]
    pub x5t: Option<String>,
    /// Authentication methods to claim (amr), e.g. mfa for key administration.
    #[arg(long, value_name = "METHOD")]
    pub amr: Vec<String>,
    /// The identity a keyless certificate names (an `email` claim, verified) [default with
    /// --audience sigstore: SUBJECT@dev.vouch.invalid].
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key with its status (active, retired, revoked).
    List(InstanceArgs),
    /// Generate a new key for a tenant; the previous one of its kind is retired.
    Rotate {
        #[command(flatten)]
        instance: InstanceArgs,
        #[arg(long)]
        tenant: String,
        /// ecdsa-p256 (bundles; default), ecdsa-p384, ed25519 (export manifests).
        #[arg(long)]
        algorithm: Option<String>,
    },
    /// Revoke a key: it never signs again.
    Revoke {
        #[command(flatten)]
        instance: InstanceArgs,
        /// The key id (`keys list`).
        #[arg(long)]
        key_id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 1 when a record was edited, removed or reordered.
    Verify(InstanceArgs),
}

pub fn run(global: &GlobalArgs, a: ServeArgs) -> Result<u8> {
    match a.command {
        Some(ServeCommand::DevToken(t)) => dev_token(global, t),
        Some(ServeCommand::Keys(k)) => keys(global, k),
        Some(ServeCommand::Audit(AuditCommand::Verify(i))) => audit_verify(global, &i),
        Some(ServeCommand::Openapi) => {
            let mut doc = vouch_server::api::openapi_json();
            doc.push('\n');
            output::emit(global, doc.as_bytes())?;
            Ok(0)
        }
        None => serve(global, a),
    }
}

fn start_error(e: vouch_server::StartError) -> anyhow::Error {
    InputError::new(e.0).into()
}

fn serve(global: &GlobalArgs, a: ServeArgs) -> Result<u8> {
    let instance = match (&global.config, a.dev) {
        (Some(c), false) => Instance::Config(c.clone()),
        (None, true) => Instance::Dev {
            dir: a.dir.clone(),
            listen: a.listen,
        },
        (Some(_), true) => {
            return Err(InputError::new("--config and --dev exclude each other")
                .with_hint("a dev instance configures itself")
                .into());
        }
        (None, false) => {
            return Err(InputError::new("vouch serve needs --config FILE or --dev")
                .with_hint("`vouch serve --dev` starts a self-contained loopback instance")
                .into());
        }
    };
    let quiet = global.quiet;
    vouch_server::run::serve(&instance, |started| {
        if quiet {
            return;
        }
        // The base URL goes to stdout (scripts read it); the rest is for people.
        println!("{}", started.base_url);
        if let Some(tc) = &started.trust_config {
            eprintln!(
                "dev instance ready: trust config {}; a token: vouch serve dev-token --dir {}",
                tc.display(),
                a.dir.display()
            );
        }
    })
    .map_err(start_error)?;
    Ok(0)
}

fn dev_token(global: &GlobalArgs, t: DevTokenArgs) -> Result<u8> {
    let token = vouch_server::run::dev_token(
        &t.dir,
        &DevToken {
            subject: t.subject,
            tenant: t.tenant,
            scope: t.scope,
            audience: t.audience,
            ttl_seconds: t.ttl,
            dpop_jkt: t.dpop_jkt,
            x5t_s256: t.x5t,
            amr: t.amr,
            email: t.email,
        },
    )
    .map_err(start_error)?;
    output::emit(global, format!("{token}\n").as_bytes())?;
    Ok(0)
}

fn keys(global: &GlobalArgs, k: KeysCommand) -> Result<u8> {
    let (instance, op) = match &k {
        KeysCommand::List(i) => (i.instance(global), KeyOp::List),
        KeysCommand::Rotate {
            instance,
            tenant,
            algorithm,
        } => (
            instance.instance(global),
            KeyOp::Rotate {
                tenant,
                algorithm: algorithm.as_deref(),
            },
        ),
        KeysCommand::Revoke {
            instance,
            key_id,
            reason,
        } => (instance.instance(global), KeyOp::Revoke { key_id, reason }),
    };
    let keys = vouch_server::run::keys(&instance, op).map_err(start_error)?;
    let text = if global.format.as_deref() == Some("json") {
        serde_json::to_string_pretty(&keys)? + "\n"
    } else {
        keys.iter()
            .map(|k| {
                format!(
                    "{}  {}  {:<13} {:?}{}\n",
                    k.tenant,
                    k.key_id,
                    k.algorithm,
                    k.status,
                    k.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    output::emit(global, text.as_bytes())?;
    Ok(0)
}

fn audit_verify(global: &GlobalArgs, i: &InstanceArgs) -> Result<u8> {
    let report = vouch_server::run::audit_verify(&i.instance(global)).map_err(start_error)?;
    let text = if report.problems.is_empty() {
        format!(
            "verified: {} records, head #{} {}\n",
            report.records, report.head.seq, report.head.hash
        )
    } else {
        let mut t = format!("FAILED: {} problem(s)\n", report.problems.len());
        for p in &report.problems {
            t.push_str(&format!("  {p}\n"));
        }
        t
    };
    output::emit(global, text.as_bytes())?;
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}
