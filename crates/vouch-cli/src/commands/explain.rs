//! `vouch explain [RULE]`: the metadata declared beside each rule.

use std::fmt::Write as _;

use anyhow::Result;
use clap::Args;
use vouch_core::engine::all_rules;

use crate::checks;
use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id, e.g. `repo/security-md`. Without it, every rule is listed.
    pub rule: Option<String>,
}

pub fn run(global: &GlobalArgs, args: ExplainArgs) -> Result<u8> {
    let rules = all_rules(&checks::all());
    let mut out = String::new();
    match args.rule {
        None => {
            for r in &rules {
                let _ = writeln!(out, "{:<40} {:<8} {}", r.id, r.severity, r.summary);
            }
        }
        Some(id) => {
            let Some(r) = rules.iter().find(|r| r.id == id) else {
                let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                let mut e = vouch_core::InputError::new(format!("unknown rule `{id}`"));
                e = match vouch_core::config::closest(&id, &ids) {
                    Some(c) => e.with_hint(format!("did you mean `{c}`?")),
                    None => e.with_hint("`vouch explain` lists every rule"),
                };
                return Err(e.into());
            };
            let _ = writeln!(out, "{}  (default severity: {})\n\n{}\n\n{}", r.id, r.severity, r.summary, r.help);
            if !r.references.is_empty() {
                let _ = writeln!(out, "\nReferences:");
                for link in &r.references {
                    let _ = writeln!(out, "  {link}");
                }
            }
        }
    }
    output::emit(global, out.as_bytes())?;
    Ok(0)
}
