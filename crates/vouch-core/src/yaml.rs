//! The gate every YAML text passes before any parser sees it.
//!
//! Both YAML stacks in the workspace (`marked-yaml` and the event parser of `yaml-rust2`
//! underneath it) treat a NUL byte as the end of the input: everything after it silently
//! vanishes, so a gate policy could lose its `attestations:` requirement and a lockfile most of
//! its packages while the run still passes. Aliases are expanded by the span-carrying
//! document model (CloudFormation, Rego inputs, `--data`), so ten nested anchors of ten
//! aliases each ("billion laughs") would expand to 10^10 nodes.
//!
//! [`check`] refuses both before parsing:
//! - any character outside YAML 1.2's printable set (`c-printable`: tab, line feed, carriage
//!   return, U+0020–U+007E, U+0085, U+00A0–U+D7FF, U+E000–U+FFFD, U+10000 and above) is bad
//!   input at its line and column;
//! - alias expansion is counted without expanding anything: a document whose aliases would
//!   add more than [`MAX_ALIAS_NODES`] nodes or [`MAX_ALIAS_BYTES`] bytes of scalars is
//!   refused at the alias that crosses the limit.
//!
//! Call sites keep their own parser and error wording and put one line in front of it:
//! `vouch_core::yaml::check(text).map_err(|e| e.or_file(path))?;`. [`from_yaml`] and
//! [`parse_yaml`] do both steps for new code.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::InputError;
use crate::error::line_col;

/// Most nodes that alias expansion may add to a document. Real documents that use anchors
/// (CloudFormation, CI templates) add a few hundred.
pub const MAX_ALIAS_NODES: u64 = 100_000;

/// Most scalar bytes that alias expansion may add to a document.
pub const MAX_ALIAS_BYTES: u64 = 16 * 1024 * 1024;

/// Whether YAML 1.2 allows `c` in a stream (`c-printable`).
pub fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{7E}'
        | '\u{85}'
        | '\u{A0}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..)
}

/// Refuses YAML text that a parser could not read completely or whose aliases expand beyond
/// the limits. The error carries line and column but no file: add it with
/// [`InputError::or_file`].
pub fn check(text: &str) -> Result<(), InputError> {
    if let Some((offset, c)) = text.char_indices().find(|&(_, c)| !is_printable(c)) {
        let (line, column) = line_col(text, offset);
        let what = match c {
            '\0' => "a NUL byte".to_string(),
            _ => format!("the control character U+{:04X}", u32::from(c)),
        };
        return Err(InputError {
            file: None,
            line: Some(line),
            column: Some(column),
            message: format!("invalid YAML: {what}, which YAML does not allow"),
            hint: Some(
                "YAML parsers stop reading at such a character; remove it or quote it as an escape (\"\\0\")"
                    .into(),
            ),
        });
    }
    // An alias needs an anchor (`&`) and a reference (`*`); most files have neither and skip
    // the counting pass.
    if !text.contains('&') || !text.contains('*') {
        return Ok(());
    }
    let mut counter = AliasCounter::default();
    // Syntax errors are left to the real parser, which reports them in its caller's words.
    let _ = Parser::new_from_str(text).load(&mut counter, true);
    match counter.refused {
        Some(at) => Err(InputError {
            file: None,
            line: Some(u32::try_from(at.line()).unwrap_or(u32::MAX).max(1)),
            column: Some(u32::try_from(at.col() + 1).unwrap_or(u32::MAX)),
            message: format!(
                "invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} nodes or {} MiB",
                MAX_ALIAS_BYTES / (1024 * 1024)
            ),
            hint: Some("an anchor referenced over and over (\"billion laughs\") is refused; write the values out".into()),
        }),
        None => Ok(()),
    }
}

/// [`check`], then `marked_yaml::from_yaml`, with errors located in `file`.
pub fn from_yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, InputError> {
    check(text).map_err(|e| e.or_file(file))?;
    marked_yaml::from_yaml(0, text).map_err(|e| crate::error::yaml_error(file, text, &e))
}

/// [`check`], then `marked_yaml::parse_yaml`, with errors located in `file`.
pub fn parse_yaml(file: &Path, text: &str) -> Result<marked_yaml::Node, InputError> {
    check(text).map_err(|e| e.or_file(file))?;
    marked_yaml::parse_yaml(0, text).map_err(|e| {
        crate::error::yaml_error(file, text, &marked_yaml::FromYamlError::ParseYaml(e))
    })
}

/// The size of a subtree: nodes and scalar bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: u64,
    bytes: u64,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Counts what alias expansion would add, without expanding.
#[derive(Default)]
struct AliasCounter {
    /// Open collections: their anchor id and size so far.
    stack: Vec<(usize, Size)>,
    anchors: HashMap<usize, Size>,
    added: Size,
    refused: Option<Marker>,
}

impl AliasCounter {
    fn close(&mut self, size: Size, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, size);
        }
        if let Some((_, parent)) = self.stack.last_mut() {
            parent.add(size);
        }
    }
}

impl MarkedEventReceiver for AliasCounter {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.refused.is_some() {
            return;
        }
        match ev {
            Event::Scalar(s, _, anchor, _) => {
                let size = Size {
                    nodes: 1,
                    bytes: s.len() as u64,
                };
                self.close(size, anchor);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.stack.push((anchor, Size { nodes: 1, bytes: 0 }));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, size)) = self.stack.pop() {
                    self.close(size, anchor);
                }
            }
            Event::Alias(id) => {
                let size = self.anchors.get(&id).copied().unwrap_or_default();
                self.added.add(size);
                if self.added.nodes > MAX_ALIAS_NODES || self.added.bytes > MAX_ALIAS_BYTES {
                    self.refused = Some(mark);
                    return;
                }
                self.close(size, 0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_control_characters_are_refused_with_position() {
        let e = check("a: 1\n# note \0\nattestations:\n  - x\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(8)), "{e}");
        assert!(e.message.contains("NUL"), "{e}");
        let e = check("a: \u{7}b\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(4)), "{e}");
        assert!(e.message.contains("U+0007"), "{e}");
        for bad in [
            "\u{7F}",
            "\u{80}",
            "\u{9F}",
            "\u{FFFE}",
            "\u{FFFF}",
            "\u{1B}[31m",
        ] {
            assert!(check(&format!("k: {bad}\n")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ordinary_yaml_passes() {
        for ok in [
            "",
            "a: 1\n",
            "\u{FEFF}a: 1\r\n\tb: é ✓ \u{85} \u{1F600}\n",
            "base: &b {x: 1}\nother: *b\n",
            "list: ['*', '&']\n",
        ] {
            check(ok).unwrap();
        }
    }

    /// Nine levels of ten aliases: 10^9 nodes if expanded. Refused by counting alone, so
    /// the test finishes in milliseconds and allocates nothing in proportion to the expansion.
    fn billion_laughs() -> String {
        let mut s = String::from("a0: &a0 [lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        s
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let e = check(&billion_laughs()).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{e}");
        // Refused at the first alias that crosses the limit (level 6: 10^5 nodes), not at
        // the end of the document.
        assert_eq!(e.line, Some(6), "{e:?}");
    }

    #[test]
    fn moderate_aliasing_is_allowed() {
        let mut s = String::from("a0: &a0 [x, y]\n");
        for i in 1..4 {
            let refs = vec![format!("*a{}", i - 1); 3].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        check(&s).unwrap();
    }

    #[test]
    fn byte_limit_counts_scalar_sizes() {
        let big = "x".repeat(1024 * 1024);
        let mut s = format!("a: &a \"{big}\"\nb: [");
        s.push_str(&vec!["*a"; 20].join(", "));
        s.push_str("]\n");
        assert!(check(&s).is_err());
    }

    #[test]
    fn wrappers_add_the_file() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let e = from_yaml::<T>(Path::new("p.yaml"), "a: 1\n\0b: 2\n").unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("p.yaml"));
        assert_eq!(from_yaml::<T>(Path::new("p.yaml"), "a: 1\n").unwrap().a, 1);
        let e = parse_yaml(Path::new("q.yaml"), "a: [1\n").unwrap_err();
        assert!(e.to_string().starts_with("q.yaml"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[a-z:\\-\\[\\]{}&*' \n\"#|>0-9\u{0}\u{7}]{0,160}") {
            let _ = check(&s);
        }
    }
}
