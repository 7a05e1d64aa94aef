//! C2SP `tlog-checkpoint`: origin line, decimal tree size, base64 root hash, optional
//! extension lines, as the text of a signed note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::note::{Note, NoteError, Opened, Verifier};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("checkpoint origin is `{got}`, wanted `{want}`")]
    WrongOrigin { got: String, want: String },
    #[error("checkpoint is not signed by the log key {0}")]
    NotSignedByLog(String),
    #[error(
        "checkpoint has {got} witness cosignatures from the trusted witnesses, {want} required"
    )]
    TooFewCosignatures { got: usize, want: usize },
}

impl CheckpointError {
    /// Whether the input could not be parsed (exit 2) rather than failed verification (exit 1).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            CheckpointError::Malformed(_)
                | CheckpointError::Note(NoteError::Malformed(_) | NoteError::BadKey(_))
        )
    }
}

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Vec<u8>,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint body (the note text).
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let bad = |w: &str| CheckpointError::Malformed(w.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("empty origin line"))?;
        let size_s = lines.next().ok_or_else(|| bad("no size line"))?;
        if size_s.is_empty()
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(bad("size line is not a decimal number"));
        }
        let size = size_s
            .parse::<u64>()
            .map_err(|_| bad("size does not fit in 64 bits"))?;
        let root_s = lines.next().ok_or_else(|| bad("no root hash line"))?;
        let root = B64
            .decode(root_s)
            .map_err(|_| bad("root hash is not base64"))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(|l| l.is_empty()) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The note text of this checkpoint.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The root as a tree hash, if it is 32 bytes.
    pub fn root32(&self) -> Option<[u8; 32]> {
        self.root.clone().try_into().ok()
    }
}

/// A checkpoint whose log signature (and any trusted cosignatures) verified.
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
    pub opened: Opened,
    /// Names of the trusted witnesses whose cosignature verified.
    pub witnesses: Vec<String>,
}

/// Opens a signed checkpoint: the log key must have signed it, its origin must be `origin`,
/// and at least `quorum` of `witnesses` must have cosigned it.
pub fn open(
    bytes: &[u8],
    origin: &str,
    log_key: &Verifier,
    witnesses: &[Verifier],
    quorum: usize,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = Note::parse(bytes)?;
    let mut known = vec![log_key.clone()];
    known.extend(witnesses.iter().cloned());
    let opened = note.open(&known)?;
    if !opened.verified.iter().any(|v| &v.verifier == log_key) {
        return Err(CheckpointError::NotSignedByLog(log_key.vkey().to_string()));
    }
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::WrongOrigin {
            got: checkpoint.origin,
            want: origin.to_string(),
        });
    }
    let names: Vec<String> = opened
        .verified
        .iter()
        .filter(|v| &v.verifier != log_key && witnesses.contains(&v.verifier))
        .map(|v| v.verifier.name().to_string())
        .collect();
    if names.len() < quorum {
        return Err(CheckpointError::TooFewCosignatures {
            got: names.len(),
            want: quorum,
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note,
        opened,
        witnesses: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;

    #[test]
    fn c2sp_checkpoint_vectors() {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/vectors/notes/checkpoint.json");
        let d: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let mut n = 0;
        for c in d["checkpoints"].as_array().unwrap() {
            let log = Verifier::parse(c["logKey"].as_str().unwrap()).unwrap();
            let others: Vec<Verifier> = c["otherKeys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| Verifier::parse(k.as_str().unwrap()).unwrap())
                .collect();
            let r = open(
                c["note"].as_str().unwrap().as_bytes(),
                c["origin"].as_str().unwrap(),
                &log,
                &others,
                0,
            );
            let want = c["expected"] == "pass";
            assert_eq!(r.is_ok(), want, "{}: {:?}", c["id"], r.err());
            if let Ok(v) = r {
                assert_eq!(v.checkpoint.size, c["size"].as_u64().unwrap());
                assert_eq!(
                    B64.encode(&v.checkpoint.root),
                    c["rootHash"].as_str().unwrap()
                );
                assert_eq!(v.checkpoint.body(), v.note.text);
            }
            n += 1;
        }
        assert_eq!(n, 14);
    }

    proptest::proptest! {
        #[test]
        fn malformed_checkpoints_never_panic(s in "\\PC{0,80}(\n\\PC{0,40}){0,5}") {
            let _ = Checkpoint::parse_body(&s);
            let _ = Note::parse(s.as_bytes());
        }
    }
}
