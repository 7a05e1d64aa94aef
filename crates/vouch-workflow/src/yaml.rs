//! A small span-carrying YAML tree for workflow files.
//!
//! Built on `yaml-rust2`'s event parser rather than `marked-yaml` (the workspace's YAML crate):
//! `marked-yaml` 0.8 rejects anchors and reaches an `unreachable!()` on aliases, and GitHub
//! Actions accepts anchors and aliases in workflows since 2025; its scalars also carry only a
//! start mark. Loading the events ourselves lets us resolve aliases, refuse what GitHub
//! refuses (several documents, duplicate keys, non-scalar keys) with a position, bound the
//! nesting depth, and compute where each scalar ends in the source so that findings can
//! underline the exact value.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper nesting than this is refused (no workflow needs it, and it bounds recursion).
pub const MAX_DEPTH: usize = 128;

/// More nodes than this, counting every alias expansion, is refused: it bounds the memory an
/// "alias bomb" (anchors that repeat anchors) can take.
pub const MAX_NODES: usize = 1_000_000;

/// A position in the source: 1-based line and column (in characters) and the character index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    pub index: usize,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>` block scalar; `start` is the indicator.
    Block,
    /// A mapping or sequence.
    Collection,
}

/// One YAML node with where it starts and ends (inclusive) in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub value: Value,
    pub start: Pos,
    pub end: Pos,
    pub style: Style,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys are scalars; order is the source order.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax or structure error at a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and the value under `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The scalar under `key`, if it is a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// `true` for an empty plain scalar (`key:` with nothing after it) or `~`/`null`.
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && matches!(self.as_str(), Some("" | "~" | "null" | "Null" | "NULL"))
    }

    /// The node's span as a finding region. Collections and block scalars are reduced to
    /// their first line, so the caret sits on the key or indicator rather than a whole block.
    pub fn region(&self) -> vouch_core::Region {
        if self.end.line == self.start.line && self.end.column >= self.start.column {
            vouch_core::Region::span(self.start.line, self.start.column, self.end.column)
        } else {
            vouch_core::Region::span(self.start.line, self.start.column, self.start.column)
        }
    }

    /// Where to point at this node: the first key of a mapping (a block mapping's own start
    /// marker can sit after that key), else the node itself.
    pub fn head(&self) -> &Node {
        self.as_map()
            .and_then(|m| m.first())
            .map_or(self, |(k, _)| k)
    }

    /// The number of nodes in this subtree (keys included).
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            n += 1;
            match &node.value {
                Value::Scalar(_) => {}
                Value::Seq(items) => stack.extend(items.iter()),
                Value::Map(entries) => {
                    for (k, v) in entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
            }
        }
        n
    }

    /// Every scalar in this subtree, depth first.
    pub fn scalars(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            match &n.value {
                Value::Scalar(_) => out.push(n),
                Value::Seq(items) => stack.extend(items.iter().rev()),
                Value::Map(entries) => {
                    for (k, v) in entries.iter().rev() {
                        stack.push(v);
                        stack.push(k);
                    }
                }
            }
        }
        out
    }
}

/// The source, indexed for mapping character indices to byte offsets and positions.
pub struct Source<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    /// Character index where each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut line_starts = vec![0];
        line_starts.extend(
            chars
                .iter()
                .enumerate()
                .filter(|(_, (_, c))| *c == '\n')
                .map(|(i, _)| i + 1),
        );
        Source {
            text,
            chars,
            line_starts,
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Byte offset of character `index` (the end of the text when past it).
    pub fn byte(&self, index: usize) -> usize {
        self.chars.get(index).map_or(self.text.len(), |(b, _)| *b)
    }

    /// The position of byte offset `byte`.
    pub fn pos_of_byte(&self, byte: usize) -> Pos {
        self.pos_of_index(self.chars.partition_point(|(b, _)| *b < byte))
    }

    /// The position of character `index`.
    pub fn pos_of_index(&self, index: usize) -> Pos {
        let line = self.line_starts.partition_point(|s| *s <= index).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(index - start + 1).unwrap_or(u32::MAX),
            index,
        }
    }

    fn char_at(&self, index: usize) -> Option<char> {
        self.chars.get(index).map(|(_, c)| *c)
    }
}

/// The first character YAML forbids in a stream (YAML 1.2 `c-printable`: C0 controls other
/// than tab/LF/CR, DEL, C1 controls other than NEL, U+FFFE/U+FFFF), with its byte offset.
///
/// yaml-rust2 treats a NUL as the end of the input, so without this check everything after a
/// NUL would silently vanish from the document (an injection hidden behind a NUL in a comment
/// would pass). A file we cannot read completely is an error, never a shorter document.
pub fn forbidden_char(text: &str) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    // Fast path: one pass over bytes; only the rare suspicious lead bytes decode a char.
    let pos = bytes.iter().position(|&b| {
        (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') || b == 0x7f || b == 0xc2 || b == 0xef
    })?;
    text.get(pos..)?
        .char_indices()
        .map(|(i, c)| (pos + i, c))
        .find(|&(_, c)| {
            let u = u32::from(c);
            (u < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || (0x7f..=0x9f).contains(&u) && u != 0x85
                || u == 0xfffe
                || u == 0xffff
        })
}

/// Parses one YAML document whose top level is a mapping.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let source = Source::new(text);
    if let Some((byte, c)) = forbidden_char(text) {
        let p = source.pos_of_byte(byte);
        return Err(YamlError {
            line: p.line,
            column: p.column,
            message: format!(
                "character U+{:04X} is not allowed in YAML; the file cannot be read completely",
                u32::from(c)
            ),
        });
    }
    let mut loader = Loader {
        source: &source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        error: None,
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, true) {
        let m = e.marker();
        let (line, column) = marker_pos(&source, m);
        return Err(YamlError {
            line,
            column,
            message: e.info().to_string(),
        });
    }
    if let Some(e) = loader.error {
        return Err(e);
    }
    let mut docs = loader.docs.into_iter();
    let Some(root) = docs.next() else {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: "the file is empty".to_string(),
        });
    };
    if let Some(second) = docs.next() {
        return Err(YamlError {
            line: second.start.line,
            column: second.start.column,
            message: "more than one YAML document in the file".to_string(),
        });
    }
    if root.as_map().is_none() {
        return Err(YamlError {
            line: root.start.line,
            column: root.start.column,
            message: "the top level must be a mapping".to_string(),
        });
    }
    Ok(root)
}

fn marker_pos(source: &Source<'_>, m: &Marker) -> (u32, u32) {
    let p = source.pos_of_index(m.index());
    (p.line, p.column)
}

enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Loader<'s, 'a> {
    source: &'s Source<'a>,
    stack: Vec<Frame>,
    /// Anchored nodes and their sizes.
    anchors: HashMap<usize, (Node, usize)>,
    docs: Vec<Node>,
    error: Option<YamlError>,
    /// Nodes created so far, alias expansions included.
    nodes: usize,
}

impl Loader<'_, '_> {
    fn pos(&self, m: &Marker) -> Pos {
        self.source.pos_of_index(m.index())
    }

    fn fail(&mut self, at: Pos, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: at.line,
                column: at.column,
                message: message.into(),
            });
        }
    }

    /// Where a scalar that starts at `start` ends (inclusive), from the source text.
    fn scalar_end(&self, start: Pos, style: TScalarStyle, value: &str) -> Pos {
        let s = self.source;
        let mut i = start.index;
        match style {
            TScalarStyle::SingleQuoted => {
                i += 1;
                while let Some(c) = s.char_at(i) {
                    if c == '\'' {
                        if s.char_at(i + 1) == Some('\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            TScalarStyle::DoubleQuoted => {
                i += 1;
                while let Some(c) = s.char_at(i) {
                    if c == '\\' {
                        i += 2;
                        continue;
                    }
                    if c == '"' {
                        break;
                    }
                    i += 1;
                }
            }
            TScalarStyle::Plain => {
                let n = value.chars().count();
                if n == 0 {
                    return start;
                }
                // Plain scalars have no escapes; a multi-line one ends somewhere below, and
                // its first line is what we underline.
                let mut j = i;
                while j < i + n - 1 {
                    match s.char_at(j + 1) {
                        Some('\n' | '\r') | None => break,
                        _ => j += 1,
                    }
                }
                i = j;
            }
            TScalarStyle::Literal | TScalarStyle::Folded => return start,
        }
        s.pos_of_index(i.min(s.chars.len().saturating_sub(1)))
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    if node.as_str().is_none() {
                        let at = node.start;
                        self.fail(at, "mapping keys must be plain strings");
                        return;
                    }
                    if let Some((prev, _)) = entries.iter().find(|(k, _)| k.value == node.value) {
                        let (at, first) = (node.start, prev.start.line);
                        let name = node.as_str().unwrap_or_default().to_string();
                        self.fail(
                            at,
                            format!("duplicate key `{name}` (first defined on line {first})"),
                        );
                        return;
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn open(&mut self, frame: Frame, at: Pos) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(at, format!("nesting deeper than {MAX_DEPTH} levels"));
            return;
        }
        self.stack.push(frame);
    }
}

impl MarkedEventReceiver for Loader<'_, '_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.pos(&mark);
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail(
                at,
                format!("more than {MAX_NODES} YAML nodes (aliases included)"),
            );
            return;
        }
        match ev {
            Event::Scalar(value, style, anchor, _tag) => {
                let end = self.scalar_end(at, style, &value);
                let style = match style {
                    TScalarStyle::Plain => Style::Plain,
                    TScalarStyle::SingleQuoted => Style::SingleQuoted,
                    TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    TScalarStyle::Literal | TScalarStyle::Folded => Style::Block,
                };
                let node = Node {
                    value: Value::Scalar(value),
                    start: at,
                    end,
                    style,
                };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.open(
                Frame::Seq {
                    start: at,
                    anchor,
                    items: Vec::new(),
                },
                at,
            ),
            Event::MappingStart(anchor, _) => self.open(
                Frame::Map {
                    start: at,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                },
                at,
            ),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) => {
                    let node = Node {
                        value: Value::Seq(items),
                        start,
                        end: at,
                        style: Style::Collection,
                    };
                    self.push_node(node, anchor);
                }
                Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) => {
                    let node = Node {
                        value: Value::Map(entries),
                        start,
                        end: at,
                        style: Style::Collection,
                    };
                    self.push_node(node, anchor);
                }
                None => self.fail(at, "unbalanced YAML structure"),
            },
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, size)) if self.nodes + size > MAX_NODES => self.fail(
                    at,
                    format!("more than {MAX_NODES} YAML nodes once aliases are expanded"),
                ),
                Some((node, size)) => {
                    self.nodes += size;
                    let node = node.clone();
                    self.push_node(node, 0);
                }
                None => self.fail(at, "alias to an unknown anchor"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_keys_and_values() {
        let text = "on: push\njobs:\n  build:\n    steps:\n      - uses: 'actions/checkout@v4'\n        run: echo hi\n";
        let root = parse(text).unwrap();
        let (k, v) = root.entry("on").unwrap();
        assert_eq!((k.start.line, k.start.column), (1, 1));
        assert_eq!((v.start.line, v.start.column, v.end.column), (1, 5, 8));
        let step = &root
            .get("jobs")
            .unwrap()
            .get("build")
            .unwrap()
            .get("steps")
            .unwrap()
            .as_seq()
            .unwrap()[0];
        let uses = step.get("uses").unwrap();
        assert_eq!(uses.as_str(), Some("actions/checkout@v4"));
        assert_eq!(
            (uses.start.line, uses.start.column, uses.end.column),
            (5, 15, 35)
        );
        let run = step.get("run").unwrap();
        assert_eq!(
            (run.start.line, run.start.column, run.end.column),
            (6, 14, 20)
        );
    }

    #[test]
    fn anchors_and_aliases_resolve() {
        let text = "x: &a\n  k: v\ny: *a\n";
        let root = parse(text).unwrap();
        assert_eq!(root.get("y").unwrap().get_str("k"), Some("v"));
    }

    #[test]
    fn structural_errors_have_positions() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.message.contains("duplicate key `a`"), "{e}");
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("- a\n").unwrap_err();
        assert!(e.message.contains("mapping"), "{e}");
        assert!(parse("").is_err());
        let e = parse("on: [push\njobs: {}\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
        let deep = format!("a: {}{}", "[".repeat(500), "]".repeat(500));
        let e = parse(&deep).unwrap_err();
        assert!(
            e.message.contains("nesting") || e.message.contains("recursion"),
            "{e}"
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("aliases"), "{e}");
    }

    #[test]
    fn forbidden_characters_are_errors_not_truncation() {
        // A NUL in a comment used to end the document there, hiding the injection below it.
        let text = "on: issues\n# x\0y\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n";
        let e = parse(text).unwrap_err();
        assert_eq!((e.line, e.column), (2, 4), "{e}");
        assert!(e.message.contains("U+0000"), "{e}");
        let e = parse("a: 'x\0'\nb: 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6));
        for bad in [
            "a: \u{1}\n",
            "a: \u{7f}\n",
            "a: \u{9f}\n",
            "a: \u{fffe}\n",
            "a: b\u{1b}[2J\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        // Allowed: tab, CRLF, NEL, BOM, other non-ASCII.
        for good in [
            "a: \"\t\"\r\nb: 1\n",
            "a: x\u{85}y\n",
            "\u{feff}a: 1\n",
            "a: é€😀\n",
        ] {
            assert!(parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn multibyte_columns_count_characters() {
        let root = parse("név: 'é'\n").unwrap();
        let v = root.get("név").unwrap();
        assert_eq!((v.start.column, v.end.column), (6, 8));
    }
}
