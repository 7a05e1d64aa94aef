//! Errors: bad input (exit 2 in the CLI). Verification *results* are not errors: they are
//! [`crate::Outcome`]s.

use vouch_crypto::keys::KeyError;

/// Where in a JSON document a problem is (1-based), when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Bad input to signing or verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    /// The document is not a Sigstore bundle we can read.
    #[error("not a bundle: {message}")]
    NotABundle {
        /// What is wrong.
        message: String,
        /// Where, if known.
        position: Option<Position>,
    },
    /// The document is not a DSSE envelope.
    #[error("not a DSSE envelope: {message}")]
    NotAnEnvelope {
        /// What is wrong.
        message: String,
        /// Where, if known.
        position: Option<Position>,
    },
    /// The document is not a Sigstore trusted root we can read.
    #[error("not a trusted root: {message}")]
    NotATrustedRoot {
        /// What is wrong.
        message: String,
        /// Where, if known.
        position: Option<Position>,
    },
    /// A statement or predicate given for signing is invalid.
    #[error("not an in-toto statement: {0}")]
    BadStatement(String),
    /// An unknown `--type` name.
    #[error("unknown predicate type `{0}`")]
    UnknownPredicateType(String),
    /// A key problem (wrong passphrase, wrong key type, PKCS#11 …).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Reading the artifact failed.
    #[error("cannot read the artifact: {0}")]
    Io(String),
    /// A request the input cannot satisfy (e.g. a threshold above the number of keys).
    #[error("{0}")]
    Usage(String),
}

impl AttestError {
    pub(crate) fn bundle(message: impl Into<String>) -> Self {
        AttestError::NotABundle {
            message: message.into(),
            position: None,
        }
    }

    pub(crate) fn from_json(e: &serde_json::Error, envelope: bool) -> Self {
        let position = (e.line() > 0).then(|| Position {
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
        });
        // serde_json appends " at line L column C"; we carry the position separately.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        if envelope {
            AttestError::NotAnEnvelope { message, position }
        } else {
            AttestError::NotABundle { message, position }
        }
    }

    /// The position in the input document, if the error has one.
    pub fn position(&self) -> Option<Position> {
        match self {
            AttestError::NotABundle { position, .. }
            | AttestError::NotAnEnvelope { position, .. }
            | AttestError::NotATrustedRoot { position, .. } => *position,
            _ => None,
        }
    }
}
