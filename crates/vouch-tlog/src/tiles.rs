//! C2SP `tlog-tiles`: tile paths (with partial tiles `.p/W`), entry bundles, and reading
//! Merkle nodes out of tiles.
//!
//! A tile at level L holds up to 256 hashes of the tree nodes at height 8·L. Tile index N
//! is written as 3-digit groups, all but the last prefixed by `x` (`x001/x234/067`). Entry
//! bundles hold the entries themselves, each as a big-endian uint16 length and the bytes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::merkle::{Hash, NodeSource, ProofError, node_hash};
use crate::store::TileStore;

/// Entries (or hashes) per full tile.
pub const WIDTH: u64 = 256;
/// Heights of the tree covered by one tile level.
pub const HEIGHT: u8 = 8;

/// The `N` part of a tile path.
pub fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn suffix(width: u64) -> String {
    if width == WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// `tile/<L>/<N>[.p/<W>]`
pub fn tile_path(level: u8, index: u64, width: u64) -> String {
    format!("tile/{level}/{}{}", encode_index(index), suffix(width))
}

/// `tile/entries/<N>[.p/<W>]`
pub fn entries_path(index: u64, width: u64) -> String {
    format!("tile/entries/{}{}", encode_index(index), suffix(width))
}

/// Number of hashes stored at tile level `level` for a tree of `size` entries.
pub fn level_count(level: u8, size: u64) -> u64 {
    size.checked_shr(HEIGHT as u32 * level as u32).unwrap_or(0)
}

/// Width of tile `index` at `level` for a tree of `size`, or 0 if it does not exist yet.
pub fn tile_width(level: u8, index: u64, size: u64) -> u64 {
    let n = level_count(level, size);
    n.saturating_sub(index * WIDTH).min(WIDTH)
}

/// Encodes entries as an entry bundle.
pub fn encode_bundle(entries: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Splits an entry bundle; `None` if it is truncated or has trailing bytes.
pub fn decode_bundle(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return None;
        }
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        if rest.len() < 2 + n {
            return None;
        }
        out.push(&rest[2..2 + n]);
        rest = &rest[2 + n..];
    }
    Some(out)
}

/// Splits tile bytes into hashes; `None` unless it is exactly `width` hashes.
pub fn decode_tile(bytes: &[u8], width: u64) -> Option<Vec<Hash>> {
    if bytes.len() as u64 != width * 32 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect(),
    )
}

/// All levels of the small tree inside a tile: `levels[r][i]` is the node of height r
/// (relative to the tile's level) at index i within the tile.
fn tile_levels(hashes: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut levels = vec![hashes];
    while levels.last().map(|l| l.len() >= 2).unwrap_or(false) {
        let prev = &levels[levels.len() - 1];
        let next: Vec<Hash> = prev
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
        levels.push(next);
    }
    levels
}

/// A decoded tile with every level of the small tree inside it.
type TileTree = Rc<Vec<Vec<Hash>>>;

/// Inside a level-0 tile, nodes below this height are computed from the tile's hashes when
/// asked for (at most 7 hashes each); from this height up they are kept per tile (31 hashes,
/// about 1 KiB). A large log's level-0 tiles do not fit the whole-tile cache, and rebuilding a
/// whole tile (255 hashes) for every proof was most of a proof's cost on a 10M-entry log.
const KEEP_FROM: u8 = 4;

/// Reads Merkle nodes for a tree of `size` from tiles in a store, with pending writes
/// (`overlay`) taking precedence, and bounded caches of decoded tiles.
pub struct TileReader<'a> {
    store: &'a dyn TileStore,
    size: u64,
    overlay: Option<&'a HashMap<String, Vec<u8>>>,
    /// Whole trees of tiles above level 0 (few, and on every proof's path).
    cache: RefCell<HashMap<(u8, u64), TileTree>>,
    cache_limit: usize,
    /// Level-0 tiles: their levels from `KEEP_FROM` up.
    upper: RefCell<HashMap<u64, TileTree>>,
    upper_limit: usize,
    /// The last level-0 tile's hashes: a proof asks for several nodes of one tile in a row.
    last_leaves: RefCell<Option<(u64, Rc<Vec<Hash>>)>>,
}

impl<'a> TileReader<'a> {
    pub fn new(store: &'a dyn TileStore, size: u64) -> Self {
        TileReader {
            store,
            size,
            overlay: None,
            cache: RefCell::default(),
            cache_limit: 8192,
            upper: RefCell::default(),
            // 128Ki tiles cover 32M entries in about 128 MiB at most.
            upper_limit: 1 << 17,
            last_leaves: RefCell::default(),
        }
    }

    pub fn with_overlay(mut self, overlay: &'a HashMap<String, Vec<u8>>) -> Self {
        self.overlay = Some(overlay);
        self
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads the raw bytes at `path` (overlay first).
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, std::io::Error> {
        if let Some(v) = self.overlay.and_then(|o| o.get(path)) {
            return Ok(Some(v.clone()));
        }
        self.store.get(path)
    }

    /// The hashes stored in tile (`level`, `index`).
    fn hashes(&self, level: u8, index: u64) -> Result<Vec<Hash>, ProofError> {
        let width = tile_width(level, index, self.size);
        let missing = |why: String| ProofError::MissingNode {
            height: level * HEIGHT,
            index: index * WIDTH,
            why,
        };
        if width == 0 {
            return Err(missing("beyond the tree".into()));
        }
        let path = tile_path(level, index, width);
        let bytes = self
            .read(&path)
            .map_err(|e| missing(format!("{path}: {e}")))?
            .ok_or_else(|| missing(format!("{path} is missing")))?;
        decode_tile(&bytes, width).ok_or_else(|| {
            missing(format!(
                "{path} has {} bytes, wanted {}",
                bytes.len(),
                width * 32
            ))
        })
    }

    fn tile(&self, level: u8, index: u64) -> Result<TileTree, ProofError> {
        if let Some(t) = self.cache.borrow().get(&(level, index)) {
            return Ok(t.clone());
        }
        let levels = Rc::new(tile_levels(self.hashes(level, index)?));
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= self.cache_limit {
            cache.clear();
        }
        cache.insert((level, index), levels.clone());
        Ok(levels)
    }

    fn leaves(&self, index: u64) -> Result<Rc<Vec<Hash>>, ProofError> {
        if let Some((i, l)) = self.last_leaves.borrow().as_ref()
            && *i == index
        {
            return Ok(l.clone());
        }
        let l = Rc::new(self.hashes(0, index)?);
        *self.last_leaves.borrow_mut() = Some((index, l.clone()));
        Ok(l)
    }

    fn upper(&self, index: u64) -> Result<TileTree, ProofError> {
        if let Some(t) = self.upper.borrow().get(&index) {
            return Ok(t.clone());
        }
        let mut levels = tile_levels(self.leaves(index)?.as_ref().clone());
        let kept = Rc::new(levels.split_off((KEEP_FROM as usize).min(levels.len())));
        let mut upper = self.upper.borrow_mut();
        if upper.len() >= self.upper_limit {
            upper.clear();
        }
        upper.insert(index, kept.clone());
        Ok(kept)
    }
}

/// The root of a complete subtree over `leaves` (a power of two of them).
fn subtree_root(leaves: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

impl NodeSource for TileReader<'_> {
    fn node(&self, height: u8, index: u64) -> Result<Hash, ProofError> {
        let level = height / HEIGHT;
        let r = height % HEIGHT;
        let first = index << r;
        let tile_index = first / WIDTH;
        let within = (first % WIDTH) >> r;
        let short = || ProofError::MissingNode {
            height,
            index,
            why: "tile too short".into(),
        };
        if level == 0 && r < KEEP_FROM {
            let leaves = self.leaves(tile_index)?;
            let start = (within << r) as usize;
            let node = leaves.get(start..start + (1usize << r)).ok_or_else(short)?;
            return Ok(subtree_root(node));
        }
        let (t, r) = if level == 0 {
            (self.upper(tile_index)?, r - KEEP_FROM)
        } else {
            (self.tile(level, tile_index)?, r)
        };
        t.get(r as usize)
            .and_then(|l| l.get(within as usize))
            .copied()
            .ok_or_else(short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_c2sp() {
        assert_eq!(tile_path(0, 0, 256), "tile/0/000");
        assert_eq!(tile_path(0, 1, 44), "tile/0/001.p/44");
        assert_eq!(tile_path(1, 1234067, 256), "tile/1/x001/x234/067");
        assert_eq!(entries_path(1000, 3), "tile/entries/x001/000.p/3");
        assert_eq!(tile_width(0, 1, 300), 44);
        assert_eq!(tile_width(1, 0, 300), 1);
        assert_eq!(tile_width(0, 2, 300), 0);
    }

    /// Every node and proof read from tiles equals the in-memory tree's, across full and
    /// partial tiles, for batches that end anywhere.
    #[cfg(feature = "sqlite")]
    #[test]
    fn tile_nodes_match_the_memory_tree() {
        use crate::merkle::{MemoryTree, inclusion_proof, leaf_hash};
        use crate::store::MemoryStore;
        let store = MemoryStore::default();
        let mut tree = MemoryTree::new();
        let mut n = 0u64;
        for batch in [1usize, 254, 1, 300, 17, 65_000] {
            let entries: Vec<Vec<u8>> = (0..batch)
                .map(|i| format!("e{}", n + i as u64).into_bytes())
                .collect();
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let hashes: Vec<Hash> = refs.iter().map(|e| leaf_hash(e)).collect();
            let writes = crate::log::build_tiles(&store, n, &refs, &hashes).unwrap();
            for (path, data) in &writes {
                store.put(path, data).unwrap();
            }
            for h in &hashes {
                tree.push(*h);
            }
            n += batch as u64;
            let reader = TileReader::new(&store, n);
            for i in [0, 1, n / 3, n / 2, n - 1].into_iter().filter(|i| *i < n) {
                assert_eq!(
                    inclusion_proof(&reader, i, n).unwrap(),
                    inclusion_proof(&tree, i, n).unwrap(),
                    "index {i} of {n}"
                );
            }
            for height in 0..12u8 {
                for index in [0u64, 1, 5, (n >> height).saturating_sub(1)] {
                    if let Ok(want) = tree.node(height, index) {
                        assert_eq!(
                            reader.node(height, index).unwrap(),
                            want,
                            "node {height}/{index} of {n}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn bundles_roundtrip_and_garbage_never_panics(entries in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..40), 0..20), junk in proptest::collection::vec(0u8..255, 0..64)) {
            let refs: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
            let b = encode_bundle(&refs);
            proptest::prop_assert_eq!(decode_bundle(&b).unwrap(), refs);
            let _ = decode_bundle(&junk);
            let _ = decode_tile(&junk, 2);
        }
    }
}
