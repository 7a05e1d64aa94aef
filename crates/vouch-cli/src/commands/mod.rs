//! One module per command family; `run` dispatches.

pub mod check;
pub mod completions;
pub mod exceptions;
pub mod explain;
pub mod secrets;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let g = &cli.global;
    match cli.command {
        Command::Check(args) => check::run(g, args),
        Command::Exceptions(cmd) => exceptions::run(g, cmd),
        Command::Explain(args) => explain::run(g, args),
        Command::Completions(args) => completions::run(g, args),
        Command::Secrets(cmd) => secrets::run(g, cmd),
    }
}
