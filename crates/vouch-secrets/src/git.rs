//! Git history and the index, read with `gix` (no `git` binary needed).
//!
//! History: every commit reachable from HEAD and the repository's branches and tags (minus
//! those reachable from `--since REV`) is compared with its first parent, tree by tree, so
//! unchanged subtrees are skipped; each blob a commit introduces is recorded with the commit and
//! path. Each distinct blob is then scanned once (in parallel), and its hits are reported with
//! every commit and path where the blob appears and whether it is still in HEAD.
//!
//! Staged: the blobs in the index that differ from HEAD, i.e. what `git commit` would record —
//! the pre-commit hook.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use gix::ObjectId;
use rayon::prelude::*;

use crate::error::SecretsError;
use crate::scan::{Hit, Scanner};

/// One place a blob appears in history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    pub commit: String,
    pub path: String,
}

/// A hit in a blob, with where the blob appears.
#[derive(Debug, Clone)]
pub struct HistoryHit {
    pub hit: Hit,
    /// Every (commit, path) that introduced the blob, oldest commit first.
    pub sites: Vec<Site>,
    /// Whether HEAD still holds the blob at one of those paths.
    pub in_head: bool,
}

/// What a history scan found.
#[derive(Debug, Default)]
pub struct HistoryScan {
    pub hits: Vec<HistoryHit>,
    pub commits: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub warnings: Vec<String>,
}

fn err(path: &Path, what: &str, e: impl std::fmt::Display) -> SecretsError {
    SecretsError::Git {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

fn open(path: &Path) -> Result<gix::Repository, SecretsError> {
    let mut repo = gix::discover(path).map_err(|e| err(path, "not a git repository", e))?;
    repo.object_cache_size_if_unset(16 * 1024 * 1024);
    Ok(repo)
}

/// Blobs (by id) under a tree, as path → id, recursively.
fn tree_blobs(
    repo: &gix::Repository,
    tree: ObjectId,
    prefix: &str,
    out: &mut HashMap<String, ObjectId>,
) -> Result<(), String> {
    let tree = repo.find_tree(tree).map_err(|e| e.to_string())?;
    let decoded = tree.decode().map_err(|e| e.to_string())?;
    for entry in &decoded.entries {
        let name = format!("{prefix}{}", entry.filename);
        if entry.mode.is_tree() {
            tree_blobs(repo, entry.oid.to_owned(), &format!("{name}/"), out)?;
        } else if entry.mode.is_blob() {
            out.insert(name, entry.oid.to_owned());
        }
    }
    Ok(())
}

/// Blobs in `new` that are not in `old` at the same path; unchanged subtrees are skipped.
fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: ObjectId,
    prefix: &str,
    out: &mut Vec<(ObjectId, String)>,
) -> Result<(), String> {
    if old == Some(new) {
        return Ok(());
    }
    let old_entries: HashMap<Vec<u8>, (ObjectId, bool)> = match old {
        Some(id) => {
            let t = repo.find_tree(id).map_err(|e| e.to_string())?;
            let d = t.decode().map_err(|e| e.to_string())?;
            d.entries
                .iter()
                .map(|e| (e.filename.to_vec(), (e.oid.to_owned(), e.mode.is_tree())))
                .collect()
        }
        None => HashMap::new(),
    };
    let t = repo.find_tree(new).map_err(|e| e.to_string())?;
    let entries: Vec<(Vec<u8>, ObjectId, bool, bool)> = {
        let d = t.decode().map_err(|e| e.to_string())?;
        d.entries
            .iter()
            .map(|e| {
                (
                    e.filename.to_vec(),
                    e.oid.to_owned(),
                    e.mode.is_tree(),
                    e.mode.is_blob(),
                )
            })
            .collect()
    };
    for (name, oid, is_tree, is_blob) in entries {
        let before = old_entries.get(&name);
        if before.map(|b| b.0) == Some(oid) {
            continue;
        }
        let path = format!("{prefix}{}", String::from_utf8_lossy(&name));
        if is_tree {
            let old_sub = before.filter(|b| b.1).map(|b| b.0);
            diff_trees(repo, old_sub, oid, &format!("{path}/"), out)?;
        } else if is_blob {
            out.push((oid, path));
        }
    }
    Ok(())
}

/// Scans history. `since`: a revision whose ancestors are not scanned (`origin/main`).
pub fn scan_history(
    scanner: &Scanner,
    path: &Path,
    since: Option<&str>,
    max_blob: u64,
) -> Result<HistoryScan, SecretsError> {
    let repo = open(path)?;
    let mut out = HistoryScan::default();
    let mut tips: Vec<ObjectId> = Vec::new();
    // A tip that names an object which cannot be read is a corrupt repository, not an empty
    // one: "0 files scanned — passed" would hide every secret in it.
    let corrupt = |what: &str, id: ObjectId, e: &dyn std::fmt::Display| {
        err(
            path,
            "corrupt repository",
            format!("{what} names {id}, which cannot be read: {e}"),
        )
    };
    // Check the object each tip names directly (peeling would read it and hide the error).
    if let Ok(head) = repo.head()
        && let Some(id) = head.id()
        && let Err(e) = repo.find_object(id.detach())
    {
        return Err(corrupt("HEAD", id.detach(), &e));
    }
    if let Ok(c) = repo.head_commit() {
        tips.push(c.id);
    }
    if let Ok(refs) = repo.references()
        && let Ok(all) = refs.all()
    {
        for r in all.flatten() {
            let mut r = r;
            if let Some(id) = r.target().try_id().map(ToOwned::to_owned)
                && let Err(e) = repo.find_object(id)
            {
                return Err(corrupt(&r.name().as_bstr().to_string(), id, &e));
            }
            if let Ok(id) = r.peel_to_id()
                && repo.find_commit(id.detach()).is_ok()
            {
                tips.push(id.detach());
            }
        }
    }
    tips.sort();
    tips.dedup();
    if tips.is_empty() {
        return Ok(out); // an empty repository
    }
    let hidden: Vec<ObjectId> = match since {
        Some(rev) => vec![
            repo.rev_parse_single(rev)
                .map_err(|e| err(path, &format!("cannot resolve --since `{rev}`"), e))?
                .detach(),
        ],
        None => Vec::new(),
    };
    let walk = repo
        .rev_walk(tips)
        .with_hidden(hidden)
        .all()
        .map_err(|e| err(path, "cannot walk history", e))?;

    // blob → sites, in walk order (newest first).
    let mut sites: BTreeMap<ObjectId, Vec<Site>> = BTreeMap::new();
    let mut order: Vec<ObjectId> = Vec::new();
    for info in walk {
        let info = info.map_err(|e| err(path, "cannot walk history", e))?;
        out.commits += 1;
        let commit = repo
            .find_commit(info.id)
            .map_err(|e| err(path, "cannot read commit", e))?;
        let tree = commit
            .tree_id()
            .map_err(|e| err(path, "cannot read commit", e))?
            .detach();
        let parent_tree = match info.parent_ids.first() {
            Some(p) => repo
                .find_commit(*p)
                .ok()
                .and_then(|c| c.tree_id().ok().map(|t| t.detach())),
            None => None,
        };
        let mut added = Vec::new();
        if let Err(e) = diff_trees(&repo, parent_tree, tree, "", &mut added) {
            out.warnings.push(format!("commit {}: {e}", info.id));
            continue;
        }
        for (blob, p) in added {
            let entry = sites.entry(blob).or_default();
            if entry.is_empty() {
                order.push(blob);
            }
            entry.push(Site {
                commit: info.id.to_string(),
                path: p,
            });
        }
    }
    let mut head_blobs = HashMap::new();
    if let Ok(t) = repo.head_tree_id()
        && let Err(e) = tree_blobs(&repo, t.detach(), "", &mut head_blobs)
    {
        out.warnings.push(format!("HEAD: {e}"));
    }
    let head_set: BTreeSet<(ObjectId, &str)> =
        head_blobs.iter().map(|(p, id)| (*id, p.as_str())).collect();
    out.blobs = order.len();

    let sync = repo.clone().into_sync();
    let results: Vec<(ObjectId, crate::scan::ScanOutput)> = order
        .par_iter()
        .map_init(
            || sync.to_thread_local(),
            |repo, id| {
                let mut o = crate::scan::ScanOutput::default();
                let Some(first) = sites.get(id).and_then(|s| s.last()) else {
                    return (*id, o);
                };
                match repo.find_header(*id) {
                    Ok(h) if h.size() > max_blob => {
                        o.warnings.push(format!(
                            "{} (blob {id}): {} bytes is over the size limit; skipped",
                            first.path,
                            h.size()
                        ));
                        return (*id, o);
                    }
                    Err(e) => {
                        o.warnings.push(format!("blob {id}: {e}"));
                        return (*id, o);
                    }
                    _ => {}
                }
                match repo.find_blob(*id) {
                    Ok(blob) => o = scanner.scan_bytes(&first.path, &blob.data),
                    Err(e) => o.warnings.push(format!("blob {id}: {e}")),
                }
                (*id, o)
            },
        )
        .collect();
    // Every blob unreadable: the scan saw nothing, which must not pass as "no secrets".
    let unreadable = results
        .iter()
        .filter(|(id, o)| {
            o.warnings
                .iter()
                .any(|w| w.starts_with(&format!("blob {id}:")))
        })
        .count();
    if unreadable > 0 && unreadable == results.len() {
        return Err(err(
            path,
            "corrupt repository",
            format!("none of its {unreadable} blobs can be read"),
        ));
    }
    for (id, o) in results {
        out.bytes += o.bytes;
        out.warnings.extend(o.warnings);
        let mut s = sites.get(&id).cloned().unwrap_or_default();
        s.reverse(); // oldest first
        let in_head = s
            .iter()
            .any(|site| head_set.contains(&(id, site.path.as_str())));
        for hit in o.hits {
            out.hits.push(HistoryHit {
                hit,
                sites: s.clone(),
                in_head,
            });
        }
    }
    Ok(out)
}

/// Scans what is staged for the next commit: index entries whose blob differs from HEAD's.
pub fn scan_staged(
    scanner: &Scanner,
    path: &Path,
    max_blob: u64,
) -> Result<crate::scan::ScanOutput, SecretsError> {
    let repo = open(path)?;
    let index = repo
        .index_or_empty()
        .map_err(|e| err(path, "cannot read the index", e))?;
    let mut head = HashMap::new();
    if let Ok(t) = repo.head_tree_id() {
        tree_blobs(&repo, t.detach(), "", &mut head)
            .map_err(|e| err(path, "cannot read HEAD", e))?;
    }
    let mut out = crate::scan::ScanOutput::default();
    let staged: Vec<(String, ObjectId)> = index
        .entries()
        .iter()
        .filter(|e| !e.mode.is_submodule())
        .map(|e| (e.path(&index).to_string(), e.id))
        .filter(|(p, id)| head.get(p) != Some(id))
        .collect();
    for (p, id) in staged {
        match repo.find_header(id) {
            Ok(h) if h.size() > max_blob => {
                out.warnings.push(format!(
                    "{p}: {} bytes is over the size limit; skipped",
                    h.size()
                ));
                continue;
            }
            Err(e) => {
                out.warnings.push(format!("{p}: {e}"));
                continue;
            }
            _ => {}
        }
        match repo.find_blob(id) {
            Ok(blob) => {
                let o = scanner.scan_bytes(&p, &blob.data);
                out.bytes += o.bytes;
                out.hits.extend(o.hits);
                out.warnings.extend(o.warnings);
            }
            Err(e) => out.warnings.push(format!("{p}: {e}")),
        }
    }
    Ok(out)
}
