//! The error for bad input: a file, a line, what is wrong and how to fix it.
//!
//! The CLI prints it as `error: <file>:<line>: <what> (<hint>)` and exits 2. Capability
//! crates have their own error enums; those that describe bad input convert into this.

use std::fmt;
use std::path::{Path, PathBuf};

/// Bad input that a user must fix: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// The file at fault, if the input came from a file.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong, in one sentence, without the file name.
    pub message: String,
    /// How to fix it, if there is something useful to say.
    pub hint: Option<String>,
}

impl InputError {
    /// An error about no file in particular (a flag, an environment variable).
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// An error about a file, with no position.
    pub fn in_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        InputError {
            file: Some(file.as_ref().to_path_buf()),
            ..InputError::new(message)
        }
    }

    /// An error at a line (and optionally a column) of a file.
    pub fn at(
        file: impl AsRef<Path>,
        line: u32,
        column: Option<u32>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            file: Some(file.as_ref().to_path_buf()),
            line: Some(line),
            column,
            ..InputError::new(message)
        }
    }

    /// Adds a hint, shown in parentheses after the message.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint unless the error already has a more specific one.
    pub fn or_hint(self, hint: impl Into<String>) -> Self {
        if self.hint.is_some() {
            self
        } else {
            self.with_hint(hint)
        }
    }

    /// Sets the file when the producer did not know it (a parser given only text).
    pub fn or_file(mut self, file: impl AsRef<Path>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.as_ref().to_path_buf());
        }
        self
    }
}

impl fmt::Display for InputError {
    /// Credentials (a PKCS#11 `pin-value`, a URL's `user:password@`) never reach the output,
    /// whichever part of the error carries them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::redact::credentials;
        if let Some(file) = &self.file {
            write!(f, "{}", credentials(&file.display().to_string()))?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&credentials(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " ({})", credentials(hint))?;
        }
        Ok(())
    }
}

/// Converts a byte offset in `text` into a 1-based (line, column) pair, counting columns in
/// characters. Offsets past the end map to the last position.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Converts a `marked_yaml` deserialization error into an [`InputError`] with the best position
/// available. marked-yaml attaches no position to "unknown field" errors, so for those the
/// first line of `text` that uses the unknown key as a mapping key is reported: a misspelled
/// key is then shown exactly where it is.
pub fn yaml_error(file: &Path, text: &str, e: &marked_yaml::FromYamlError) -> InputError {
    use marked_yaml::{FromYamlError, LoadError as L};
    let mark = match e {
        FromYamlError::FromNode(n) => n.start_mark(),
        FromYamlError::ParseYaml(le) => match le {
            L::TopLevelMustBeMapping(m)
            | L::TopLevelMustBeSequence(m)
            | L::UnexpectedAnchor(m)
            | L::MappingKeyMustBeScalar(m)
            | L::UnexpectedTag(m)
            | L::ScanError(m, _) => Some(*m),
            _ => None,
        },
    };
    let message = e.to_string();
    let position = mark
        .map(|m| {
            (
                u32::try_from(m.line()).unwrap_or(u32::MAX),
                u32::try_from(m.column()).ok(),
            )
        })
        .filter(|(l, _)| *l > 0)
        .or_else(|| {
            unknown_field(&message)
                .and_then(|k| locate_key(text, k))
                .map(|(l, c)| (l, Some(c)))
        });
    match position {
        Some((line, column)) => InputError::at(file, line, column, message),
        None => InputError::in_file(file, message),
    }
}

/// The key named by a serde "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<&str> {
    // serde says "unknown field", marked-yaml "Unknown field".
    let rest = &message[message.find("nknown field `")? + "nknown field `".len()..];
    rest.split('`').next()
}

/// The first (line, column) where `key` is used as a YAML mapping key.
pub fn locate_key(text: &str, key: &str) -> Option<(u32, u32)> {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let (body, extra) = match trimmed.strip_prefix("- ") {
            Some(b) => (b.trim_start(), trimmed.len() - b.trim_start().len()),
            None => (trimmed, 0),
        };
        let quoted = [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ];
        if quoted.iter().any(|q| body.starts_with(q.as_str())) {
            let col = line.len() - trimmed.len() + extra + 1;
            return Some((u32::try_from(i + 1).ok()?, u32::try_from(col).ok()?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        assert_eq!(InputError::new("bad").to_string(), "bad");
        assert_eq!(
            InputError::at("a.yaml", 3, Some(7), "missing `owner`")
                .with_hint("every exception needs an owner")
                .to_string(),
            "a.yaml:3:7: missing `owner` (every exception needs an owner)"
        );
        assert_eq!(InputError::in_file("x", "empty").to_string(), "x: empty");
    }

    #[test]
    fn credentials_never_displayed() {
        let e = InputError::in_file(
            "pkcs11:object=k?pin-value=1234",
            "cannot fetch https://u:hunter2@example.org/x",
        )
        .with_hint("pin-value=1234");
        let shown = e.to_string();
        assert!(
            !shown.contains("1234") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("pin-value=REDACTED"), "{shown}");
    }

    #[test]
    fn unknown_yaml_keys_are_located() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            keys: Option<Vec<String>>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Top {
            signatures: S,
        }
        let text = "signatures:\n  keyz: [a]\n";
        let e = marked_yaml::from_yaml::<Top>(0, text).unwrap_err();
        let ie = yaml_error(Path::new("gate.yaml"), text, &e);
        assert_eq!((ie.line, ie.column), (Some(2), Some(3)), "{ie}");
        assert_eq!(locate_key("a:\n  - b: 1\n", "b"), Some((2, 5)));
    }

    #[test]
    fn offsets_to_positions() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4));
        assert_eq!(line_col(t, 999), (3, 2));
    }
}
