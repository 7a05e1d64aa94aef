//! Bad input the user must fix: the file at fault, the position when known, what is wrong and
//! how to fix it. Shared by the library halves of the CLI's commands (`vouch_tlog::ops`,
//! `vouch_attest::request`), which do not depend on `vouch-core`; the CLI converts it field
//! by field into `vouch_core::InputError`, so messages are the same wherever they start.

use std::path::{Path, PathBuf};

/// Bad input the user must fix (exit 2 in the CLI): the file at fault, the position when
/// known, what is wrong and how to fix it. Converts field by field into
/// `vouch_core::InputError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    /// The file at fault, if the input came from a file.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong, without the file name.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl BadInput {
    /// A problem with no file in particular (a flag).
    pub fn new(message: impl Into<String>) -> Self {
        BadInput {
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with a file.
    pub fn in_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        BadInput {
            file: Some(file.as_ref().to_path_buf()),
            ..BadInput::new(message)
        }
    }

    /// A problem at a line and column of a file.
    pub fn at(file: impl AsRef<Path>, line: u32, column: u32, message: impl Into<String>) -> Self {
        BadInput {
            line: Some(line),
            column: Some(column),
            ..BadInput::in_file(file, message)
        }
    }

    /// Adds how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for BadInput {}
