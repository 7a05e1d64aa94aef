//! Witnessing and monitoring: follow a log's checkpoints, prove each new one consistent
//! with the last one trusted (consistency proof recomputed from the log's tiles and verified
//! against the remembered root), refuse forks and rollbacks, and (for a witness) cosign.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use crate::merkle::{self, ProofError};
use crate::note::{Signer, Verifier};
use crate::store::TileStore;
use crate::tiles::TileReader;

/// The last checkpoint a witness or monitor accepted (persisted as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowState {
    pub origin: String,
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The checkpoint note accepted last.
    pub checkpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("log rolled back: size {new} is smaller than the size {old} seen before")]
    Rollback { old: u64, new: u64 },
    #[error(
        "split view: checkpoint of size {size} has root {new}, but {old} was seen before for that size"
    )]
    SplitView { size: u64, old: String, new: String },
    #[error("not consistent with the last checkpoint (size {old}): {why}")]
    Inconsistent { old: u64, why: String },
    #[error("the log's tiles do not match its checkpoint: {0}")]
    TilesMismatch(String),
    #[error("origin changed from `{old}` to `{new}`")]
    Origin { old: String, new: String },
}

/// Verifies `note` as the next checkpoint after `prev`, reading the log's tiles from
/// `store`. Returns the verified checkpoint and the state to persist.
pub fn follow(
    store: &dyn TileStore,
    note: &[u8],
    origin: &str,
    log_key: &Verifier,
    prev: Option<&FollowState>,
) -> Result<(VerifiedCheckpoint, FollowState), FollowError> {
    let v = checkpoint::open(note, origin, log_key, &[], 0)?;
    let cp = &v.checkpoint;
    let root = cp
        .root32()
        .ok_or_else(|| FollowError::TilesMismatch("root is not 32 bytes".into()))?;
    let reader = TileReader::new(store, cp.size);
    let tiles_root =
        merkle::root(&reader, cp.size).map_err(|e| FollowError::TilesMismatch(e.to_string()))?;
    if tiles_root != root {
        return Err(FollowError::TilesMismatch(format!(
            "tiles give root {}, checkpoint says {}",
            B64.encode(tiles_root),
            B64.encode(root)
        )));
    }
    if let Some(p) = prev {
        if p.origin != cp.origin {
            return Err(FollowError::Origin {
                old: p.origin.clone(),
                new: cp.origin.clone(),
            });
        }
        let old_root: [u8; 32] = B64
            .decode(&p.root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| FollowError::Inconsistent {
                old: p.size,
                why: "stored root is not a hash".into(),
            })?;
        if cp.size < p.size {
            return Err(FollowError::Rollback {
                old: p.size,
                new: cp.size,
            });
        }
        if cp.size == p.size && old_root != root {
            return Err(FollowError::SplitView {
                size: cp.size,
                old: p.root.clone(),
                new: B64.encode(root),
            });
        }
        let proof =
            merkle::consistency_proof(&reader, p.size, cp.size).map_err(|e: ProofError| {
                FollowError::Inconsistent {
                    old: p.size,
                    why: e.to_string(),
                }
            })?;
        merkle::verify_consistency(p.size, cp.size, &old_root, &root, &proof).map_err(|e| {
            FollowError::Inconsistent {
                old: p.size,
                why: e.to_string(),
            }
        })?;
    }
    let state = FollowState {
        origin: cp.origin.clone(),
        size: cp.size,
        root: B64.encode(root),
        checkpoint: String::from_utf8_lossy(note).into_owned(),
    };
    Ok((v, state))
}

/// Adds a `cosignature/v1` line by `witness` (timestamp `now`, seconds) to a verified
/// checkpoint note.
pub fn cosign(v: &VerifiedCheckpoint, witness: &Signer, now: u64) -> String {
    let mut note = v.note.clone();
    note.sigs.retain(|s| s.name != witness.name());
    let mut out = note.to_text();
    out.push_str(&witness.sign_line(&note.text, now));
    out.push('\n');
    out
}
