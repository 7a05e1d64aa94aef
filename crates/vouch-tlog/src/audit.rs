//! Full audit of a log: re-reads every entry bundle, recomputes every hash tile at every
//! level and compares it byte for byte with the stored tile, recomputes the root of every
//! published checkpoint (which proves the log consistent with each of them) and checks
//! every checkpoint signature.

use crate::checkpoint::{self, Checkpoint};
use crate::log::LogError;
use crate::merkle::{self, Hash, leaf_hash, node_hash};
use crate::note::Verifier;
use crate::store::TileStore;
use crate::tiles::{WIDTH, decode_bundle, entries_path, tile_path, tile_width};

/// What the audit found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    pub origin: String,
    pub size: u64,
    pub tiles_checked: u64,
    pub checkpoints_checked: usize,
    /// Everything that is wrong; empty means the log verified.
    pub problems: Vec<String>,
}

struct Level {
    level: u8,
    tile: u64,
    cur: Vec<Hash>,
}

/// With an index, the published checkpoint must be the last one the index records: an index
/// that lost its history (emptied, replaced, truncated) fails the audit instead of silently
/// checking fewer checkpoints.
pub fn require_history(
    mut rep: AuditReport,
    indexed: bool,
    history: &[(u64, String)],
) -> AuditReport {
    let last = history.last().map(|(s, _)| *s);
    if indexed && rep.size > 0 && last.is_none_or(|l| l < rep.size) {
        rep.problems.push(match last {
            None => format!(
                "checkpoint history: the index records no checkpoint, but the log published one of size {}; history was lost",
                rep.size
            ),
            Some(l) => format!(
                "checkpoint history: the index's last checkpoint has size {l}, but the log published one of size {}; history was lost",
                rep.size
            ),
        });
    }
    rep
}

/// Audits the log in `store` against the log key. `history` is every checkpoint the log
/// published (from its index), if available.
pub fn audit(
    store: &dyn TileStore,
    log_key: &Verifier,
    origin: Option<&str>,
    history: &[(u64, String)],
) -> Result<AuditReport, LogError> {
    let bytes = store
        .get("checkpoint")
        .map_err(|e| LogError::Io {
            path: "checkpoint".into(),
            source: e,
        })?
        .ok_or_else(|| LogError::Usage("no checkpoint: not a log directory".into()))?;
    let note = crate::note::Note::parse(&bytes).map_err(|e| LogError::Checkpoint(e.into()))?;
    let body = Checkpoint::parse_body(&note.text)?;
    let origin = origin.unwrap_or(&body.origin).to_string();
    let mut rep = AuditReport {
        origin: origin.clone(),
        size: body.size,
        ..Default::default()
    };
    if let Err(e) = checkpoint::open(&bytes, &origin, log_key, &[], 0) {
        rep.problems.push(format!("checkpoint: {e}"));
    }
    let Some(want_root) = body.root32() else {
        rep.problems
            .push("checkpoint: root hash is not 32 bytes".into());
        return Ok(rep);
    };
    let size = body.size;
    // Checkpoints to check on the way, by size.
    let mut hist: Vec<(u64, Hash, &str)> = Vec::new();
    let mut last = None;
    for (s, n) in history {
        if last.is_some_and(|l| *s <= l) {
            rep.problems
                .push(format!("checkpoint history: size {s} does not grow"));
        }
        last = Some(*s);
        match checkpoint::open(n.as_bytes(), &origin, log_key, &[], 0) {
            Err(e) => rep.problems.push(format!("checkpoint of size {s}: {e}")),
            Ok(v) if v.checkpoint.size != *s => rep.problems.push(format!(
                "checkpoint of size {s} says size {}",
                v.checkpoint.size
            )),
            Ok(v) => match v.checkpoint.root32() {
                Some(r) if *s <= size => hist.push((*s, r, n.as_str())),
                Some(_) => rep.problems.push(format!(
                    "checkpoint of size {s} is ahead of the published checkpoint of size {size}"
                )),
                None => rep
                    .problems
                    .push(format!("checkpoint of size {s}: root is not 32 bytes")),
            },
        }
    }
    rep.checkpoints_checked = history.len().max(1);
    let mut hist = hist.into_iter().peekable();
    let mut levels: Vec<Level> = Vec::new();
    let mut range: Vec<(u32, Hash)> = Vec::new();
    let check_hist = |count: u64,
                      range: &[(u32, Hash)],
                      hist: &mut std::iter::Peekable<std::vec::IntoIter<(u64, Hash, &str)>>,
                      problems: &mut Vec<String>| {
        while let Some((s, r, _)) = hist.peek() {
            if *s != count {
                break;
            }
            let root = range_root(range);
            if root != *r {
                problems.push(format!("checkpoint of size {s}: its root does not match the log's entries (inconsistent)"));
            }
            hist.next();
        }
    };
    check_hist(0, &range, &mut hist, &mut rep.problems);
    let tiles = size.div_ceil(WIDTH);
    for t in 0..tiles {
        let w = tile_width(0, t, size);
        let p = entries_path(t, w);
        let bundle = match store.get(&p) {
            Ok(Some(b)) => b,
            Ok(None) => {
                rep.problems.push(format!("{p} is missing"));
                return Ok(rep);
            }
            Err(e) => {
                rep.problems.push(format!("{p}: {e}"));
                return Ok(rep);
            }
        };
        let Some(entries) = decode_bundle(&bundle).filter(|e| e.len() as u64 == w) else {
            rep.problems.push(format!(
                "{p} is truncated or malformed (wanted {w} entries)"
            ));
            return Ok(rep);
        };
        for (i, e) in entries.iter().enumerate() {
            let h = leaf_hash(e);
            push_range(&mut range, h);
            push_level(store, &mut levels, 0, h, &mut rep);
            check_hist(
                t * WIDTH + i as u64 + 1,
                &range,
                &mut hist,
                &mut rep.problems,
            );
        }
    }
    // Partial tiles at the end of each level.
    for l in &levels {
        if !l.cur.is_empty() {
            compare(store, l.level, l.tile, &l.cur, &mut rep);
        }
    }
    let root = range_root(&range);
    if root != want_root {
        rep.problems.push(format!(
            "checkpoint root {} does not match the root {} of the entries",
            hex::encode(want_root),
            hex::encode(root)
        ));
    }
    for (s, _, _) in hist {
        rep.problems
            .push(format!("checkpoint of size {s} was never reached"));
    }
    Ok(rep)
}

fn push_range(range: &mut Vec<(u32, Hash)>, h: Hash) {
    range.push((0, h));
    while range.len() >= 2 && range[range.len() - 1].0 == range[range.len() - 2].0 {
        let (hr, r) = range.pop().unwrap_or((0, [0; 32]));
        let (_, l) = range.pop().unwrap_or((0, [0; 32]));
        range.push((hr + 1, node_hash(&l, &r)));
    }
}

fn range_root(range: &[(u32, Hash)]) -> Hash {
    let mut it = range.iter().rev();
    let Some((_, mut r)) = it.next().copied() else {
        return merkle::empty_root();
    };
    for (_, l) in it {
        r = node_hash(l, &r);
    }
    r
}

fn push_level(
    store: &dyn TileStore,
    levels: &mut Vec<Level>,
    level: u8,
    h: Hash,
    rep: &mut AuditReport,
) {
    if levels.len() <= level as usize {
        levels.push(Level {
            level,
            tile: 0,
            cur: Vec::with_capacity(WIDTH as usize),
        });
    }
    let l = &mut levels[level as usize];
    l.cur.push(h);
    if l.cur.len() as u64 == WIDTH {
        let cur = std::mem::take(&mut l.cur);
        let tile = l.tile;
        l.tile += 1;
        compare(store, level, tile, &cur, rep);
        let mut v = cur;
        while v.len() > 1 {
            v = v.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        push_level(store, levels, level + 1, v[0], rep);
    }
}

fn compare(store: &dyn TileStore, level: u8, tile: u64, hashes: &[Hash], rep: &mut AuditReport) {
    let p = tile_path(level, tile, hashes.len() as u64);
    rep.tiles_checked += 1;
    let want: Vec<u8> = hashes.iter().flat_map(|h| h.iter().copied()).collect();
    match store.get(&p) {
        Ok(Some(b)) if b == want => {}
        Ok(Some(b)) if b.len() != want.len() => rep.problems.push(format!(
            "{p} has {} bytes, wanted {} (truncated or torn tile)",
            b.len(),
            want.len()
        )),
        Ok(Some(_)) => rep
            .problems
            .push(format!("{p} does not match the hashes of the entries")),
        Ok(None) => rep.problems.push(format!("{p} is missing")),
        Err(e) => rep.problems.push(format!("{p}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(size: u64) -> AuditReport {
        AuditReport {
            size,
            ..Default::default()
        }
    }

    #[test]
    fn lost_history_fails_only_with_an_index() {
        let h = |sizes: &[u64]| -> Vec<(u64, String)> {
            sizes.iter().map(|s| (*s, String::new())).collect()
        };
        // Index present but empty, or missing the latest checkpoint: lost.
        assert_eq!(require_history(report(3), true, &[]).problems.len(), 1);
        assert_eq!(
            require_history(report(3), true, &h(&[1, 2])).problems.len(),
            1
        );
        // Complete history, a mirror without an index, an empty log: fine.
        assert!(
            require_history(report(3), true, &h(&[1, 3]))
                .problems
                .is_empty()
        );
        assert!(require_history(report(3), false, &[]).problems.is_empty());
        assert!(require_history(report(0), true, &[]).problems.is_empty());
    }
}
