//! The offline OSV database: one SQLite file (rusqlite, bundled).
//!
//! Tables: `meta` (schema version, build time), `sources` (what was imported, when, how many
//! records), `records` (one row per OSV id: digest of the source bytes for incremental
//! rebuilds, compact JSON), `affected` (ecosystem, normalised name → record id, indexed).
//! Imports run in one transaction, so a failed build leaves the previous database intact;
//! a new database is built in a temporary file and renamed into place.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sha2::{Digest, Sha256};
use vouch_core::InputError;

use crate::osv::Record;
use crate::version::Ecosystem;

/// Bumped whenever the layout changes; an older or newer file must be rebuilt.
pub const SCHEMA_VERSION: i64 = 1;

/// At most this many per-record warnings are kept (the rest are counted).
const MAX_WARNINGS: usize = 50;

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{path}: not a usable vouch vulnerability database: {detail}")]
    Unusable { path: PathBuf, detail: String },
    #[error("{path}: {message}")]
    Source { path: PathBuf, message: String },
    #[error("{path}: database error: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl From<DbError> for InputError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unusable { path, detail } => InputError::in_file(
                &path,
                format!("not a usable vulnerability database: {detail}"),
            )
            .with_hint("rebuild with vouch db build"),
            DbError::Source { path, message } => InputError::in_file(&path, message)
                .with_hint("give OSV JSON files, directories of them, or OSV .zip exports"),
            DbError::Sql { path, source } => {
                InputError::in_file(&path, format!("database error: {source}"))
                    .with_hint("rebuild with vouch db build")
            }
        }
    }
}

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportStats {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Malformed records, skipped.
    pub skipped: usize,
    /// Records whose ecosystem vouch cannot order (stored, reported).
    pub unknown_ecosystems: BTreeMap<String, usize>,
    /// The first few problems, `file: what`.
    pub warnings: Vec<String>,
}

impl ImportStats {
    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        }
    }
    fn absorb(&mut self, o: ImportStats) {
        self.added += o.added;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.skipped += o.skipped;
        for (k, v) in o.unknown_ecosystems {
            *self.unknown_ecosystems.entry(k).or_default() += v;
        }
        for w in o.warnings {
            self.warn(w);
        }
    }
}

/// One imported source, as `db info` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    pub path: String,
    pub imported_at: String,
    pub records: usize,
    pub skipped: usize,
}

/// What `vouch db info` shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbInfo {
    pub schema_version: i64,
    pub built_at: String,
    /// The newest `modified` date of any record: how fresh the data is.
    pub newest_record: Option<String>,
    pub records: usize,
    pub withdrawn: usize,
    /// Records per ecosystem (an advisory naming two ecosystems counts in both).
    pub ecosystems: BTreeMap<String, usize>,
    pub sources: Vec<SourceInfo>,
}

/// An open database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
    cache: HashMap<(String, String), Vec<std::sync::Arc<Record>>>,
    records: HashMap<String, std::sync::Arc<Record>>,
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (path TEXT PRIMARY KEY, imported_at TEXT NOT NULL, records INTEGER NOT NULL, skipped INTEGER NOT NULL);
CREATE TABLE records (id TEXT PRIMARY KEY, modified TEXT NOT NULL, digest TEXT NOT NULL, withdrawn INTEGER NOT NULL, source TEXT NOT NULL, json BLOB NOT NULL);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT NOT NULL);
CREATE INDEX affected_by_package ON affected (ecosystem, name);
CREATE INDEX affected_by_record ON affected (record_id);
";

/// The build time written into the database: `SOURCE_DATE_EPOCH` when set, else now.
pub fn build_time() -> String {
    let ts = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or_else(jiff::Timestamp::now);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Database {
    fn sql(&self) -> impl Fn(rusqlite::Error) -> DbError + '_ {
        move |source| DbError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Opens an existing database read-only and checks its schema version.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        let unusable = |detail: String| DbError::Unusable {
            path: path.to_path_buf(),
            detail,
        };
        if !path.is_file() {
            return Err(unusable("no such file".into()));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| unusable(e.to_string()))?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| unusable(e.to_string()))?;
        match version.as_deref().and_then(|v| v.parse::<i64>().ok()) {
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(unusable(format!(
                    "schema version {v}, this vouch reads {SCHEMA_VERSION}"
                )));
            }
            None => return Err(unusable("no schema version".into())),
        }
        Ok(Database {
            conn,
            path: path.to_path_buf(),
            cache: HashMap::new(),
            records: HashMap::new(),
        })
    }

    /// Imports `sources` into the database at `out`: incrementally into an existing valid
    /// database (one transaction), else into a new one built beside it and renamed into
    /// place. An unusable existing file is replaced.
    pub fn build(out: &Path, sources: &[PathBuf]) -> Result<ImportStats, DbError> {
        let reuse = Database::open(out).is_ok();
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = if reuse {
            None
        } else {
            let t = tempfile::Builder::new()
                .prefix(".vouch-db-")
                .tempfile_in(&dir)
                .map_err(|e| DbError::Source {
                    path: out.to_path_buf(),
                    message: format!("cannot create the database: {e}"),
                })?;
            Some(t.into_temp_path())
        };
        let work_path = tmp
            .as_ref()
            .map(|t| t.to_path_buf())
            .unwrap_or_else(|| out.to_path_buf());
        let mut conn = Connection::open(&work_path).map_err(|source| DbError::Sql {
            path: out.to_path_buf(),
            source,
        })?;
        let sql = |source| DbError::Sql {
            path: out.to_path_buf(),
            source,
        };
        conn.pragma_update(None, "journal_mode", "DELETE")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(sql)?;
        let txn = conn.transaction().map_err(sql)?;
        if !reuse {
            txn.execute_batch(SCHEMA).map_err(sql)?;
        }
        let mut total = ImportStats::default();
        for src in sources {
            let stats = import_source(&txn, src).map_err(|e| match e {
                DbError::Sql { source, .. } => DbError::Sql {
                    path: out.to_path_buf(),
                    source,
                },
                other => other,
            })?;
            txn.execute(
                "INSERT OR REPLACE INTO sources (path, imported_at, records, skipped) VALUES (?1, ?2, ?3, ?4)",
                params![
                    src.display().to_string(),
                    build_time(),
                    (stats.added + stats.updated + stats.unchanged) as i64,
                    stats.skipped as i64
                ],
            )
            .map_err(sql)?;
            total.absorb(stats);
        }
        txn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1), ('built_at', ?2), ('vouch_version', ?3)",
            params![SCHEMA_VERSION.to_string(), build_time(), vouch_core::TOOL_VERSION],
        )
        .map_err(sql)?;
        txn.commit().map_err(sql)?;
        drop(conn);
        if let Some(tmp) = tmp {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644));
            }
            tmp.persist(out).map_err(|e| DbError::Source {
                path: out.to_path_buf(),
                message: format!("cannot write the database: {e}"),
            })?;
        }
        Ok(total)
    }

    /// Every record that names (`ecosystem`, `name`); `name` is normalised here.
    pub fn records_for(
        &mut self,
        ecosystem: Ecosystem,
        name: &str,
    ) -> Result<Vec<std::sync::Arc<Record>>, DbError> {
        let key = (
            ecosystem.as_str().to_string(),
            ecosystem.normalize_name(name),
        );
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        let path = self.path.clone();
        let unusable = |detail: String| DbError::Unusable {
            path: path.clone(),
            detail,
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.json FROM affected a JOIN records r ON r.id = a.record_id \
                 WHERE a.ecosystem = ?1 AND a.name = ?2 ORDER BY r.id",
            )
            .map_err(|e| unusable(e.to_string()))?;
        let rows = stmt
            .query_map(params![key.0, key.1], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| unusable(e.to_string()))?;
        let mut out: Vec<std::sync::Arc<Record>> = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(|e| unusable(e.to_string()))?;
            if out.last().is_some_and(|r| r.id == id) {
                continue;
            }
            let rec = match self.records.get(&id) {
                Some(r) => r.clone(),
                None => {
                    let r = std::sync::Arc::new(
                        Record::parse(&json).map_err(|e| unusable(format!("record {id}: {e}")))?,
                    );
                    self.records.insert(id, r.clone());
                    r
                }
            };
            out.push(rec);
        }
        drop(stmt);
        self.cache.insert(key, out.clone());
        Ok(out)
    }

    /// How many records name `ecosystem`.
    pub fn ecosystem_records(&self, ecosystem: Ecosystem) -> Result<usize, DbError> {
        self.conn
            .query_row(
                "SELECT COUNT(DISTINCT record_id) FROM affected WHERE ecosystem = ?1",
                params![ecosystem.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(self.sql())
    }

    /// Counts, sources and age.
    pub fn info(&self) -> Result<DbInfo, DbError> {
        let sql = self.sql();
        let one = |q: &str| -> Result<i64, DbError> {
            self.conn.query_row(q, [], |r| r.get(0)).map_err(self.sql())
        };
        let built_at: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sql())?
            .unwrap_or_default();
        let newest_record: Option<String> = self
            .conn
            .query_row("SELECT MAX(modified) FROM records", [], |r| r.get(0))
            .map_err(self.sql())?;
        let mut ecosystems = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT ecosystem, COUNT(DISTINCT record_id) FROM affected GROUP BY ecosystem ORDER BY ecosystem")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.sql())?;
        for row in rows {
            let (e, n) = row.map_err(self.sql())?;
            ecosystems.insert(e, n as usize);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path, imported_at, records, skipped FROM sources ORDER BY path")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceInfo {
                    path: r.get(0)?,
                    imported_at: r.get(1)?,
                    records: r.get::<_, i64>(2)? as usize,
                    skipped: r.get::<_, i64>(3)? as usize,
                })
            })
            .map_err(self.sql())?;
        let sources = rows.collect::<Result<Vec<_>, _>>().map_err(sql)?;
        Ok(DbInfo {
            schema_version: SCHEMA_VERSION,
            built_at,
            newest_record: newest_record.filter(|s| !s.is_empty()),
            records: one("SELECT COUNT(*) FROM records")? as usize,
            withdrawn: one("SELECT COUNT(*) FROM records WHERE withdrawn = 1")? as usize,
            ecosystems,
            sources,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Imports one source (directory, `.zip`, `.tar.gz`/`.tgz`, or one JSON file).
fn import_source(txn: &rusqlite::Transaction<'_>, src: &Path) -> Result<ImportStats, DbError> {
    let bad = |message: String| DbError::Source {
        path: src.to_path_buf(),
        message,
    };
    let mut stats = ImportStats::default();
    let mut importer = Importer::new(txn, src)?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if src.is_dir() {
        let mut files = Vec::new();
        collect_json(src, &mut files).map_err(|e| bad(format!("cannot read directory: {e}")))?;
        files.sort();
        for f in files {
            let label = f.strip_prefix(src).unwrap_or(&f).display().to_string();
            match std::fs::read(&f) {
                Ok(bytes) => importer.record(&label, &bytes, &mut stats)?,
                Err(e) => {
                    stats.skipped += 1;
                    stats.warn(format!("{}: cannot read: {e}", f.display()));
                }
            }
        }
    } else if name.ends_with(".zip") {
        let file = std::fs::File::open(src).map_err(|e| bad(format!("cannot open: {e}")))?;
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|e| bad(format!("not a readable zip archive: {e}")))?;
        for i in 0..zip.len() {
            let mut entry = zip
                .by_index(i)
                .map_err(|e| bad(format!("corrupt zip archive: {e}")))?;
            if !entry.is_file() || !entry.name().ends_with(".json") {
                continue;
            }
            let label = entry.name().to_string();
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            if let Err(e) = entry.read_to_end(&mut bytes) {
                stats.skipped += 1;
                stats.warn(format!("{label}: cannot read: {e}"));
                continue;
            }
            importer.record(&label, &bytes, &mut stats)?;
        }
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let file = std::fs::File::open(src).map_err(|e| bad(format!("cannot open: {e}")))?;
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let entries = ar
            .entries()
            .map_err(|e| bad(format!("not a readable .tar.gz: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("corrupt .tar.gz: {e}")))?;
            let label = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if !entry.header().entry_type().is_file() || !label.ends_with(".json") {
                continue;
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| bad(format!("corrupt .tar.gz: {e}")))?;
            importer.record(&label, &bytes, &mut stats)?;
        }
    } else if src.is_file() {
        let bytes = std::fs::read(src).map_err(|e| bad(format!("cannot read: {e}")))?;
        importer.record(&src.display().to_string(), &bytes, &mut stats)?;
    } else {
        return Err(bad("no such file or directory".into()));
    }
    Ok(stats)
}

/// The first line of `details`, shortened to about 120 characters, for records without a
/// summary (PYSEC records have none).
fn first_sentence(details: &str) -> Option<String> {
    let line = details.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_start_matches('#').trim();
    if line.chars().count() <= 120 {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(117).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > 60 => cut[..i].to_string(),
        _ => cut,
    };
    Some(format!("{cut}..."))
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            collect_json(&p, out)?;
        } else if ft.is_file() && p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    Ok(())
}

struct Importer<'t> {
    txn: &'t rusqlite::Transaction<'t>,
    source: String,
}

impl<'t> Importer<'t> {
    fn new(txn: &'t rusqlite::Transaction<'t>, src: &Path) -> Result<Self, DbError> {
        Ok(Importer {
            txn,
            source: src.display().to_string(),
        })
    }

    fn record(
        &mut self,
        label: &str,
        bytes: &[u8],
        stats: &mut ImportStats,
    ) -> Result<(), DbError> {
        let sql = |source| DbError::Sql {
            path: PathBuf::from(&self.source),
            source,
        };
        let digest = hex::encode(Sha256::digest(bytes));
        let mut rec = match Record::parse(bytes) {
            Ok(r) => r,
            Err(e) => {
                stats.skipped += 1;
                let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
                stats.warn(format!(
                    "{}{at}: skipped malformed OSV record: {}",
                    label, e.message
                ));
                return Ok(());
            }
        };
        let existing: Option<String> = self
            .txn
            .prepare_cached("SELECT digest FROM records WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![rec.id], |r| r.get(0)).optional())
            .map_err(sql)?;
        if existing.as_deref() == Some(digest.as_str()) {
            stats.unchanged += 1;
            return Ok(());
        }
        if existing.is_some() {
            stats.updated += 1;
        } else {
            stats.added += 1;
        }
        // `details` can be long and is never shown; the id links to it.
        if rec.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
            rec.summary = rec.details.as_deref().and_then(first_sentence);
        }
        rec.details = None;
        let json = serde_json::to_vec(&rec).map_err(|e| DbError::Source {
            path: PathBuf::from(&self.source),
            message: e.to_string(),
        })?;
        self.txn
            .prepare_cached(
                "INSERT OR REPLACE INTO records (id, modified, digest, withdrawn, source, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    rec.id,
                    rec.modified,
                    digest,
                    i64::from(rec.withdrawn.is_some()),
                    self.source,
                    json
                ])
            })
            .map_err(sql)?;
        self.txn
            .prepare_cached("DELETE FROM affected WHERE record_id = ?1")
            .and_then(|mut s| s.execute(params![rec.id]))
            .map_err(sql)?;
        let mut seen = std::collections::BTreeSet::new();
        for a in &rec.affected {
            let Some(p) = &a.package else { continue };
            let (eco, name) = match Ecosystem::from_osv(&p.ecosystem) {
                Some(e) => (e.as_str().to_string(), e.normalize_name(&p.name)),
                None => {
                    let base = p.ecosystem.split(':').next().unwrap_or("").to_string();
                    *stats.unknown_ecosystems.entry(base.clone()).or_default() += 1;
                    (base, p.name.clone())
                }
            };
            if seen.insert((eco.clone(), name.clone())) {
                self.txn
                    .prepare_cached(
                        "INSERT INTO affected (ecosystem, name, record_id) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut s| s.execute(params![eco, name, rec.id]))
                    .map_err(sql)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_incremental_info_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("osv");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(
            src.join("A.json"),
            r#"{"id":"A","modified":"2024-05-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},"versions":["1.0"]}]}"#,
        )
        .unwrap();
        std::fs::write(src.join("bad.json"), "{not json").unwrap();
        std::fs::write(
            src.join("C.json"),
            r#"{"id":"C","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Bitnami","name":"x"}}]}"#,
        )
        .unwrap();
        let db = dir.path().join("osv.db");
        let s = Database::build(&db, std::slice::from_ref(&src)).unwrap();
        assert_eq!((s.added, s.skipped), (2, 1));
        assert_eq!(s.unknown_ecosystems.get("Bitnami"), Some(&1));
        let s = Database::build(&db, std::slice::from_ref(&src)).unwrap();
        assert_eq!((s.added, s.unchanged), (0, 2));
        let mut d = Database::open(&db).unwrap();
        assert_eq!(d.records_for(Ecosystem::PyPI, "foo.bar").unwrap().len(), 1);
        let info = d.info().unwrap();
        assert_eq!(info.records, 2);
        assert_eq!(info.newest_record.as_deref(), Some("2024-05-01T00:00:00Z"));

        // a database written by another schema version must be rebuilt
        {
            let c = Connection::open(&db).unwrap();
            c.execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        }
        let e: InputError = Database::open(&db).err().unwrap().into();
        assert!(e.message.contains("schema version 99"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("rebuild with vouch db build"));
        // ... and `db build` replaces it rather than mixing layouts
        let s = Database::build(&db, std::slice::from_ref(&src)).unwrap();
        assert_eq!(s.added, 2);
        assert!(Database::open(&db).is_ok());

        // a corrupt zip is bad input and leaves no file behind
        let zip = dir.path().join("PyPI.zip");
        std::fs::write(&zip, b"PK\x03\x04 definitely not a zip").unwrap();
        let fresh = dir.path().join("fresh.db");
        let e: InputError = Database::build(&fresh, &[zip]).unwrap_err().into();
        assert!(e.message.contains("zip"), "{e}");
        assert!(!fresh.exists());

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not sqlite at all, not even close....").unwrap();
        let e: InputError = Database::open(&junk).err().unwrap().into();
        assert_eq!(e.hint.as_deref(), Some("rebuild with vouch db build"));
    }
}
