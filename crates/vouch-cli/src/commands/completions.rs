//! `vouch completions SHELL`.

use anyhow::Result;
use clap::Args;
use clap_complete::Shell;

use crate::cli::GlobalArgs;
use crate::output;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    pub shell: Shell,
}

pub fn run(global: &GlobalArgs, args: CompletionsArgs) -> Result<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut crate::compat::command(), "vouch", &mut buf);
    output::emit(global, &buf)?;
    Ok(0)
}
