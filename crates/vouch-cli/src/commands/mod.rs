//! One module per command family; `run` dispatches.

pub mod check;
pub mod ci;
pub mod completions;
pub mod db;
pub mod exceptions;
pub mod explain;
pub mod gate;
pub mod iam;
pub mod image;
pub mod log;
pub mod policy;
pub mod registers;
pub mod sbom;
pub mod seal;
pub mod secrets;
pub mod serve;
pub mod signing;
pub mod trust;
pub mod vuln;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let g = &cli.global;
    match cli.command {
        Command::Check(args) => check::run(g, args),
        Command::Ci(cmd) => ci::run(g, cmd),
        Command::Exceptions(cmd) => exceptions::run(g, cmd),
        Command::Register(cmd) => registers::run(g, cmd),
        Command::Explain(args) => explain::run(g, args),
        Command::Signing(cmd) => signing::run(g, cmd),
        Command::Gate(cmd) => gate::run(g, cmd),
        Command::Image(cmd) => image::run(g, cmd),
        Command::Seal(args) => seal::run(g, args),
        Command::Iam(cmd) => iam::run(g, cmd),
        Command::Policy(cmd) => policy::run(g, cmd),
        Command::Completions(args) => completions::run(g, args),
        Command::Db(cmd) => db::run(g, cmd),
        Command::Vuln(cmd) => vuln::run(g, cmd),
        Command::Sbom(cmd) => sbom::run(g, cmd),
        Command::Log(cmd) => log::run(g, cmd),
        Command::Secrets(cmd) => secrets::run(g, cmd),
        Command::Trust(cmd) => trust::run(g, cmd),
        Command::Serve(args) => serve::run(g, args),
    }
}
