//! The `vouch` binary: argument parsing and wiring only. Every capability lives in its crate;
//! this crate turns their results into bytes on stdout or a file, messages on stderr, and the
//! exit code: 0 pass, 1 findings / verification failed / denied, 2 bad input or internal error.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checks;
mod cli;
mod commands;
mod output;
mod tuf;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version with exit 0 and usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(2)
        }
    }
}
