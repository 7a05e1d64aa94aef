//! C2SP `tlog-proof`: an offline-verifiable proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <N>
//! <base64 hash>...
//!
//! <signed checkpoint>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use crate::merkle::{self, Hash, ProofError};
use crate::note::Verifier;

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(Debug, thiserror::Error)]
pub enum TlogProofError {
    #[error("malformed tlog-proof: {0}")]
    Malformed(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("inclusion proof does not verify: {0}")]
    Proof(#[from] ProofError),
}

impl TlogProofError {
    pub fn is_malformed(&self) -> bool {
        match self {
            TlogProofError::Malformed(_) => true,
            TlogProofError::Checkpoint(c) => c.is_malformed(),
            TlogProofError::Proof(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl TlogProof {
    pub fn encode(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let bad = |w: &str| TlogProofError::Malformed(w.to_string());
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(e).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("no index line"))?;
        if idx.is_empty()
            || !idx.bytes().all(|b| b.is_ascii_digit())
            || (idx.len() > 1 && idx.starts_with('0'))
        {
            return Err(bad("index is not a decimal number"));
        }
        let index = idx
            .parse()
            .map_err(|_| bad("index does not fit in 64 bits"))?;
        let proof = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|b| <Hash>::try_from(b).ok())
                    .ok_or_else(|| bad("proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > 64 {
            return Err(bad("more than 64 proof hashes"));
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Verifies that `entry` is included, under a checkpoint signed by `log_key` for
    /// `origin` and cosigned by at least `quorum` of `witnesses`.
    pub fn verify(
        &self,
        entry: &[u8],
        origin: &str,
        log_key: &Verifier,
        witnesses: &[Verifier],
        quorum: usize,
    ) -> Result<VerifiedCheckpoint, TlogProofError> {
        verify_inclusion(
            &merkle::leaf_hash(entry),
            self.index,
            &self.proof,
            self.checkpoint.as_bytes(),
            origin,
            log_key,
            witnesses,
            quorum,
        )
    }
}

/// Verifies an inclusion proof of a leaf hash against a signed checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    proof: &[Hash],
    checkpoint_note: &[u8],
    origin: &str,
    log_key: &Verifier,
    witnesses: &[Verifier],
    quorum: usize,
) -> Result<VerifiedCheckpoint, TlogProofError> {
    let cp = checkpoint::open(checkpoint_note, origin, log_key, witnesses, quorum)?;
    let root = cp
        .checkpoint
        .root32()
        .ok_or_else(|| TlogProofError::Malformed("checkpoint root is not a SHA-256 hash".into()))?;
    merkle::verify_inclusion(index, cp.checkpoint.size, leaf, proof, &root)?;
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(s in "(c2sp.org/tlog-proof@v1\n)?(index [0-9]{0,3}\n)?\\PC{0,40}\n\n\\PC{0,40}") {
            let _ = TlogProof::parse(&s);
        }
    }
}
