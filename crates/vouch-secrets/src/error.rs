//! Errors of the secrets capability; bad input converts into [`vouch_core::InputError`].

use std::path::PathBuf;

use vouch_core::InputError;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A built-in rule failed to compile (a bug, caught by the rule tests).
    #[error("rule {id} does not compile: {message}")]
    Rule { id: String, message: String },
    /// Bad input a user must fix.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A git repository could not be read.
    #[error("{path}: {message}")]
    Git { path: PathBuf, message: String },
}

impl From<SecretsError> for InputError {
    fn from(e: SecretsError) -> InputError {
        match e {
            SecretsError::Input(i) => i,
            SecretsError::Git { path, message } => InputError::in_file(path, message)
                .with_hint("run inside a git repository, or drop --git/--staged"),
            other => InputError::new(other.to_string()),
        }
    }
}
