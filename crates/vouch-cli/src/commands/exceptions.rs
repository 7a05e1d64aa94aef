//! `vouch exceptions list`: accepted risks with days left.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use vouch_core::exceptions::ExceptionSet;

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// List the exceptions in PATH/.vouch/exceptions.yaml with owner and days left
    /// (negative: expired). `--format json` for scripts.
    List {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

pub fn run(global: &GlobalArgs, cmd: ExceptionsCommand) -> Result<u8> {
    match cmd {
        ExceptionsCommand::List { path } => {
            let set = ExceptionSet::discover(&path)?;
            let today = output::today()?;
            let json = match global.format.as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(vouch_core::InputError::new(format!("unknown --format `{other}`"))
                        .with_hint("exceptions list writes text or json")
                        .into());
                }
            };
            let mut entries: Vec<_> = set.entries.iter().collect();
            entries.sort_by_key(|e| (e.expires, e.id.clone()));
            let bytes = if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id, "rule": e.rule, "path": e.path, "fingerprint": e.fingerprint,
                            "vuln": e.vuln, "owner": e.owner, "expires": e.expires.to_string(),
                            "days_left": e.days_left(today), "reason": e.reason,
                        })
                    })
                    .collect();
                let mut v = serde_json::to_vec_pretty(&rows)?;
                v.push(b'\n');
                v
            } else {
                let mut s = String::new();
                if entries.is_empty() {
                    s.push_str("no exceptions\n");
                }
                for e in entries {
                    let left = e.days_left(today);
                    let status = if left < 0 { format!("expired {} days ago", -left) } else { format!("{left} days left") };
                    let what = e.rule.clone().or(e.vuln.clone()).or(e.fingerprint.clone()).unwrap_or_default();
                    let _ = writeln!(s, "{:<12} {:<32} {:<24} {} ({status})\n             {}", e.id, what, e.owner, e.expires, e.reason);
                }
                s.into_bytes()
            };
            output::emit(global, &bytes)?;
            Ok(0)
        }
    }
}
