//! The `vouch` binary: argument parsing and wiring only. Every capability lives in its crate;
//! this crate turns their results into bytes on stdout or a file, messages on stderr, and the
//! exit code: 0 pass, 1 findings / verification failed / denied, 2 bad input or internal error.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checks;
mod cli;
mod commands;
mod compat;
mod gitignore;
mod output;
mod registry;
mod tuf;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::Cli;

fn main() -> ExitCode {
    let mut command = compat::command();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = command
        .try_get_matches_from_mut(&args)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (m, cli)));
    let (matches, cli) = match parsed {
        Ok(p) => p,
        Err(e) => {
            // clap prints help/version with exit 0 and usage errors with exit 2.
            let e = compat::improve(e.format(&mut command), &mut command, &args);
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let usage =
        compat::check(&matches).and_then(|()| compat::check_output(cli.global.output.as_deref()));
    if let Err(e) = usage {
        output::print_error(&anyhow::Error::new(e));
        return ExitCode::from(2);
    }
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`vouch … | head`): nothing more to say, and nobody to say it to.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(2)
        }
    }
}
