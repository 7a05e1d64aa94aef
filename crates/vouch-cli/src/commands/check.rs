//! `vouch check [PATH]`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use vouch_core::Config;
use vouch_core::engine::{self, RunOptions};
use vouch_report::RenderOptions;

use crate::cli::GlobalArgs;
use crate::{checks, output};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Repository (or single file) to check.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

/// Loads `--config FILE`, else `PATH/vouch.toml` when present.
pub fn load_config(global: &GlobalArgs, root: &Path) -> Result<Config> {
    Ok(match &global.config {
        Some(file) => Config::load(file)?,
        None if root.is_dir() => Config::discover(root)?,
        None => Config::default(),
    })
}

pub fn run(global: &GlobalArgs, args: CheckArgs) -> Result<u8> {
    let format = output::report_format(global)?;
    if !args.path.exists() {
        return Err(vouch_core::InputError::in_file(&args.path, "no such file or directory").into());
    }
    let config = load_config(global, &args.path)?;
    let bar = output::progress_bar(global, "checking");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = engine::run(
        &args.path,
        &config,
        checks::all(),
        &RunOptions {
            today: output::today()?,
            fail_on: global.fail_on.map(Into::into),
            progress: Some(&progress),
        },
    )?;
    bar.finish_and_clear();
    if format != vouch_report::Format::Text {
        for w in &report.warnings {
            output::warn(global, w);
        }
    }
    let bytes = vouch_report::render(
        &report,
        format,
        &RenderOptions {
            root: Some(&args.path),
            color: output::use_color(global),
            title: "vouch check",
        },
    );
    output::emit(global, &bytes)?;
    Ok(report.exit_code())
}
