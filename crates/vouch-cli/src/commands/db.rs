//! `vouch db build|info|update`: the offline OSV database.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use vouch_core::InputError;
use vouch_vuln::check::{default_db_paths, user_cache_db};
use vouch_vuln::db::{Database, ImportStats};
use vouch_vuln::sla::VulnConfig;

use crate::cli::GlobalArgs;
use crate::commands::check::load_config;
use crate::output;

/// Where `vouch db update` downloads from unless `--url` or `[vuln] update_url` says otherwise:
/// OSV's public per-ecosystem exports.
pub const DEFAULT_UPDATE_URL: &str =
    "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip";
/// Ecosystems `vouch db update` fetches by default.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &["crates.io", "PyPI", "Go", "npm"];

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV records into the database (-o FILE, default ~/.cache/vouch/osv.db).
    ///
    /// SOURCE is an OSV JSON file, a directory of them (searched recursively), an
    /// ecosystem export `.zip` as OSV publishes it (`<ecosystem>/all.zip`), or a `.tar.gz`
    /// snapshot. An existing database is updated incrementally: only records whose bytes
    /// changed are re-imported. Malformed records are skipped and counted.
    Build(BuildArgs),
    /// Show what the database holds: records per ecosystem, sources, build time and age.
    Info(DbArgs),
    /// Download the ecosystem exports (when the network is available) and import them.
    ///
    /// Never required: every other command works offline on an existing database. Downloads
    /// go to ~/.cache/vouch/osv/ and are reused when the network is down.
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// OSV sources: JSON files, directories, .zip exports, .tar.gz snapshots.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The database [default: [vuln] db in vouch.toml, .vouch/osv.db, $VOUCH_DB,
    /// ~/.cache/vouch/osv.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The database to update [default: as for `db info`, else ~/.cache/vouch/osv.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// URL template; `{ecosystem}` is replaced by each ecosystem name. file:// works too.
    /// [default: [vuln] update_url, else OSV's public exports]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Ecosystems to fetch (repeatable) [default: [vuln] ecosystems, else crates.io, PyPI, Go, npm].
    #[arg(long = "ecosystem", value_name = "NAME")]
    pub ecosystems: Vec<String>,
}

pub fn run(global: &GlobalArgs, cmd: DbCommand) -> Result<u8> {
    match cmd {
        DbCommand::Build(args) => build(global, args),
        DbCommand::Info(args) => info(global, args),
        DbCommand::Update(args) => update(global, args),
    }
}

/// The configured `[vuln]` section of `--config` or ./vouch.toml.
pub fn vuln_config(global: &GlobalArgs) -> Result<VulnConfig> {
    let config = load_config(global, Path::new("."))?;
    Ok(config.section::<VulnConfig>("vuln")?)
}

/// The database to read: `--db`, `[vuln] db`, or the first default location that exists.
pub fn find_db(global: &GlobalArgs, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = vuln_config(global)?.db {
        return Ok(p);
    }
    default_db_paths(Path::new("."))
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            InputError::new("no vulnerability database found")
                .with_hint(
                    "build one with vouch db build SOURCE... -o .vouch/osv.db, or pass --db FILE",
                )
                .into()
        })
}

fn summary(stats: &ImportStats, out: &Path) -> String {
    let mut s = format!(
        "{}: {} added, {} updated, {} unchanged",
        out.display(),
        stats.added,
        stats.updated,
        stats.unchanged
    );
    if stats.skipped > 0 {
        let _ = write!(s, ", {} malformed skipped", stats.skipped);
    }
    s.push('\n');
    s
}

fn report_stats(global: &GlobalArgs, stats: &ImportStats) {
    for w in &stats.warnings {
        output::warn(global, w);
    }
    if stats.skipped > stats.warnings.len() {
        output::warn(
            global,
            &format!(
                "{} more malformed records skipped",
                stats.skipped - stats.warnings.len()
            ),
        );
    }
    for (eco, n) in &stats.unknown_ecosystems {
        output::warn(
            global,
            &format!(
                "{n} record(s) name ecosystem `{eco}`, which vouch cannot order: stored but never matched"
            ),
        );
    }
}

fn build(global: &GlobalArgs, args: BuildArgs) -> Result<u8> {
    let out = global.output.clone().unwrap_or_else(user_cache_db);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| InputError::in_file(dir, format!("cannot create: {e}")))?;
    }
    for s in &args.sources {
        if !s.exists() {
            return Err(InputError::in_file(s, "no such file or directory")
                .with_hint("give OSV JSON files, directories of them, or OSV .zip exports")
                .into());
        }
    }
    let stats = Database::build(&out, &args.sources).map_err(InputError::from)?;
    report_stats(global, &stats);
    crate::gitignore::protect(global, &out, "the OSV database is rebuilt, not committed")?;
    if !global.quiet {
        output::stdout_text(&summary(&stats, &out));
    }
    Ok(0)
}

fn info(global: &GlobalArgs, args: DbArgs) -> Result<u8> {
    let path = find_db(global, args.db.as_deref())?;
    let db = Database::open(&path).map_err(InputError::from)?;
    let info = db.info().map_err(InputError::from)?;
    let bytes = match global.format.as_deref() {
        Some("json") => {
            let mut v = serde_json::to_vec_pretty(&serde_json::json!({
                "path": path.display().to_string(),
                "info": info,
            }))?;
            v.push(b'\n');
            v
        }
        None | Some("text") => {
            let mut s = String::new();
            let _ = writeln!(s, "database:   {}", path.display());
            let _ = writeln!(s, "schema:     {}", info.schema_version);
            let age = age_days(&info.built_at)
                .map(|d| format!(" ({d} days ago)"))
                .unwrap_or_default();
            let _ = writeln!(s, "built:      {}{age}", info.built_at);
            if let Some(n) = &info.newest_record {
                let age = age_days(n)
                    .map(|d| format!(" ({d} days ago)"))
                    .unwrap_or_default();
                let _ = writeln!(s, "newest:     {n}{age}");
            }
            let _ = writeln!(
                s,
                "records:    {} ({} withdrawn)",
                info.records, info.withdrawn
            );
            let _ = writeln!(s, "ecosystems:");
            for (e, n) in &info.ecosystems {
                let known = if vouch_vuln::Ecosystem::from_osv(e).is_some() {
                    ""
                } else {
                    "  (not matched: unknown ordering)"
                };
                let _ = writeln!(s, "  {e:<16} {n:>8}{known}");
            }
            let _ = writeln!(s, "sources:");
            for src in &info.sources {
                let _ = writeln!(
                    s,
                    "  {} ({} records, {} skipped, imported {})",
                    src.path, src.records, src.skipped, src.imported_at
                );
            }
            s.into_bytes()
        }
        Some(other) => {
            return Err(InputError::new(format!("unknown --format `{other}`"))
                .with_hint("db info writes text or json")
                .into());
        }
    };
    output::emit(global, &bytes)?;
    Ok(0)
}

fn age_days(ts: &str) -> Option<i64> {
    let t: jiff::Timestamp = ts.parse().ok()?;
    let today = output::today().ok()?;
    let then = jiff::tz::TimeZone::UTC.to_datetime(t).date();
    Some((today - then).get_days() as i64)
}

fn update(global: &GlobalArgs, args: UpdateArgs) -> Result<u8> {
    let config = vuln_config(global)?;
    let db = match args.db.clone().or(config.db.clone()) {
        Some(p) => p,
        None => default_db_paths(Path::new("."))
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(user_cache_db),
    };
    let template = args
        .url
        .or(config.update_url)
        .unwrap_or_else(|| DEFAULT_UPDATE_URL.to_string());
    if global.offline && !template.starts_with("file://") {
        return Err(
            InputError::new(format!("--offline: `{template}` needs the network"))
                .with_hint("pass --url file:///dir/{ecosystem}.zip, or drop --offline")
                .into(),
        );
    }
    let ecosystems: Vec<String> = if !args.ecosystems.is_empty() {
        args.ecosystems
    } else {
        config
            .ecosystems
            .unwrap_or_else(|| DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect())
    };
    let cache = user_cache_db().with_file_name("osv");
    std::fs::create_dir_all(&cache)
        .map_err(|e| InputError::in_file(&cache, format!("cannot create: {e}")))?;
    let mut sources = Vec::new();
    for eco in &ecosystems {
        let url = template.replace("{ecosystem}", eco);
        let dest = cache.join(format!("{}.zip", eco.replace(['/', ' ', ':'], "_")));
        match download(&url, &dest) {
            Ok(()) => sources.push(dest),
            Err(why) if dest.is_file() => {
                output::warn(
                    global,
                    &format!("{eco}: cannot download {url} ({why}); using the cached copy"),
                );
                sources.push(dest);
            }
            Err(why) => {
                return Err(InputError::new(format!("{eco}: cannot download {url}: {why}"))
                    .with_hint("no network? vouch works offline on an existing database; or pass --url file:///dir/{ecosystem}.zip")
                    .into());
            }
        }
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| InputError::in_file(dir, format!("cannot create: {e}")))?;
    }
    let stats = Database::build(&db, &sources).map_err(InputError::from)?;
    report_stats(global, &stats);
    if !global.quiet {
        output::stdout_text(&summary(&stats, &db));
    }
    Ok(0)
}

/// Fetches `url` into `dest` (atomically) with curl, which speaks https and file:// alike.
fn download(url: &str, dest: &Path) -> std::result::Result<(), String> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    let status = std::process::Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-time",
            "600",
            "-o",
        ])
        .arg(tmp.path())
        .arg(url)
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !status.status.success() {
        let msg = String::from_utf8_lossy(&status.stderr).trim().to_string();
        return Err(if msg.is_empty() {
            format!("curl exited with {}", status.status)
        } else {
            msg
        });
    }
    tmp.persist(dest).map_err(|e| e.error.to_string())?;
    Ok(())
}
