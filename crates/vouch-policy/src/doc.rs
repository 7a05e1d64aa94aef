//! A span-carrying document model for JSON and YAML, so IAM findings point at the exact
//! key or value at fault.
//!
//! `serde_json` keeps no positions, and `marked-yaml` rejects the tags CloudFormation uses
//! (`!Ref`, `!Sub`), so the JSON side is a small recursive-descent parser of our own (with a
//! depth limit, so hostile input cannot overflow the stack) and the YAML side is built from
//! `yaml-rust2`'s marked event stream, ignoring tags (a tagged value becomes its plain value).

use std::collections::HashMap;

use vouch_core::InputError;
use vouch_core::error::line_col;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting accepted; deeper input is bad input, not a stack overflow.
const MAX_DEPTH: usize = 256;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A value with where it starts and ends (end inclusive of the last character).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub start: Pos,
    pub end: Pos,
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

impl Node {
    /// The member `key` of an object (first match, case-sensitive).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value of member `key`.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Object(members) => members
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn members(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Object(m) => m,
            _ => &[],
        }
    }

    /// The node itself if it is not an array, else its items (IAM's "string or list" fields).
    pub fn one_or_many(&self) -> Vec<&Node> {
        match &self.value {
            Value::Array(items) => items.iter().collect(),
            _ => vec![self],
        }
    }

    /// The region of the value, for findings.
    pub fn region(&self) -> vouch_core::Region {
        region(self.start, self.end)
    }

    /// Converts to plain JSON (numbers that do not fit JSON become strings).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::from_str::<serde_json::Number>(n)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(n.clone())),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => items.iter().map(Node::to_json).collect(),
            Value::Object(members) => {
                let mut map = serde_json::Map::new();
                for (k, v) in members {
                    map.insert(k.name.clone(), v.to_json());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

impl Key {
    pub fn region(&self) -> vouch_core::Region {
        region(self.start, self.end)
    }
}

fn region(start: Pos, end: Pos) -> vouch_core::Region {
    let end = if end < start { start } else { end };
    vouch_core::Region {
        line: start.line,
        column: start.col,
        end_line: end.line,
        end_column: end.col.max(1),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Parses JSON text into a span-carrying tree. Errors carry line and column (no file; callers
/// add it with [`InputError::or_file`]).
pub fn parse_json(text: &str) -> Result<Node, InputError> {
    let mut p = JsonParser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        index: LineIndex::new(text),
    };
    // A UTF-8 byte-order mark is tolerated, as AWS tools write it.
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(node)
}

struct JsonParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    index: LineIndex<'a>,
}

/// Line and column of byte offsets in O(log n) each: line starts, and the number of
/// characters before every 256-byte block (columns count characters, as
/// [`vouch_core::error::line_col`] does). Computing each position from the start of the
/// text made parsing quadratic: a 1 MB single-line Terraform plan took about 50 s.
struct LineIndex<'a> {
    line_starts: Vec<usize>,
    /// Characters in `text[..k * BLOCK]`.
    block_chars: Vec<usize>,
    bytes: &'a [u8],
}

const BLOCK: usize = 256;

fn is_char_start(b: u8) -> bool {
    (b & 0xC0) != 0x80
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> LineIndex<'a> {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(memchr_newlines(bytes));
        let mut block_chars = Vec::with_capacity(bytes.len() / BLOCK + 1);
        let mut chars = 0usize;
        for chunk in bytes.chunks(BLOCK) {
            block_chars.push(chars);
            chars += chunk.iter().filter(|b| is_char_start(**b)).count();
        }
        block_chars.push(chars);
        LineIndex {
            line_starts,
            block_chars,
            bytes,
        }
    }

    /// Characters in `text[..offset]` (offset on a character boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let block = offset / BLOCK;
        let base = self.block_chars.get(block).copied().unwrap_or(0);
        base + self.bytes[block * BLOCK..offset]
            .iter()
            .filter(|b| is_char_start(**b))
            .count()
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.bytes.len());
        while offset > 0 && offset < self.bytes.len() && !is_char_start(self.bytes[offset]) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|s| *s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let col = self.chars_before(offset) - self.chars_before(start) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
}

impl JsonParser<'_> {
    fn at(&self, offset: usize) -> Pos {
        let (line, col) = self.index.line_col(offset);
        Pos { line, col }
    }

    fn error(&self, message: &str) -> InputError {
        let (line, col) = line_col(self.text, self.pos);
        InputError {
            file: None,
            line: Some(line),
            column: Some(col),
            message: format!("invalid JSON: {message}"),
            hint: None,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, InputError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let start = self.pos;
        let value = match self.bytes.get(self.pos) {
            None => return Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value")),
        };
        Ok(Node {
            value,
            start: self.at(start),
            end: self.at(self.pos.saturating_sub(1)),
        })
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, InputError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<Value, InputError> {
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while let Some(b'0'..=b'9') = p.bytes.get(p.pos) {
                p.pos += 1;
            }
            p.pos - s
        };
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 {
            return Err(self.error("expected digits"));
        }
        // RFC 8259: no leading zeros (`0`, `0.5` and `-0` are fine; `00` and `012` are not).
        if n > 1 && self.bytes.get(int_start) == Some(&b'0') {
            return Err(self.error("a number may not start with a leading zero"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("expected digits after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("expected exponent digits"));
            }
        }
        Ok(Value::Number(self.text[start..self.pos].to_string()))
    }

    fn string(&mut self) -> Result<String, InputError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.bytes[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error("invalid surrogate pair"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            continue;
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.error("control character in string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, InputError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn array(&mut self, depth: usize) -> Result<Value, InputError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, InputError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let start = self.pos;
            let name = self.string()?;
            let key = Key {
                name,
                start: self.at(start),
                end: self.at(self.pos - 1),
            };
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected `:` after the key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// YAML

/// Parses every document of a YAML stream into span-carrying trees. Tags are ignored (the
/// tagged value is kept); aliases are expanded.
pub fn parse_yaml(text: &str) -> Result<Vec<Node>, InputError> {
    vouch_core::yaml::check(text)?; // NUL truncation and alias bombs: refused before parsing
    let mut builder = YamlBuilder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| {
        let m = e.marker();
        InputError {
            file: None,
            line: Some(u32::try_from(m.line()).unwrap_or(u32::MAX).max(1)),
            column: Some(u32::try_from(m.col() + 1).unwrap_or(u32::MAX)),
            message: format!("invalid YAML: {}", e.info()),
            hint: None,
        }
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq(Pos, Vec<Node>, usize),
    Map(Pos, Vec<(Key, Node)>, Option<Key>, usize),
}

fn yaml_error(at: Pos, message: &str) -> InputError {
    InputError {
        file: None,
        line: Some(at.line),
        column: Some(at.col),
        message: format!("invalid YAML: {message}"),
        hint: None,
    }
}

#[derive(Default)]
struct YamlBuilder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    error: Option<InputError>,
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX).max(1),
        col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            let looks_numeric = s
                .trim_start_matches(['-', '+'])
                .starts_with(|c: char| c.is_ascii_digit() || c == '.');
            if looks_numeric && s.parse::<f64>().is_ok_and(f64::is_finite) {
                let n = s.trim_start_matches('+');
                if serde_json::from_str::<serde_json::Number>(n).is_ok() {
                    return Value::Number(n.to_string());
                }
                if let Ok(i) = n.parse::<i64>() {
                    return Value::Number(i.to_string());
                }
                if let Ok(f) = n.parse::<f64>()
                    && let Some(num) = serde_json::Number::from_f64(f)
                {
                    return Value::Number(num.to_string());
                }
            }
            Value::String(s.to_string())
        }
    }
}

impl YamlBuilder {
    fn insert(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, members, pending, _)) => match pending.take() {
                Some(key) => members.push((key, node)),
                None => {
                    let name = match &node.value {
                        Value::String(s) | Value::Number(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            if self.error.is_none() {
                                self.error = Some(InputError {
                                    file: None,
                                    line: Some(node.start.line),
                                    column: Some(node.start.col),
                                    message: "invalid YAML: mapping keys must be scalars".into(),
                                    hint: None,
                                });
                            }
                            String::new()
                        }
                    };
                    *pending = Some(Key {
                        name,
                        start: node.start,
                        end: node.end,
                    });
                }
            },
        }
    }
}

impl MarkedEventReceiver for YamlBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let here = pos(&mark);
        match ev {
            Event::Scalar(s, style, anchor, _tag) => {
                let quotes = match style {
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
                    _ => 0,
                };
                let len = u32::try_from(s.chars().count() + quotes).unwrap_or(u32::MAX);
                let value = if style == TScalarStyle::Plain {
                    resolve_plain(&s)
                } else {
                    Value::String(s)
                };
                let end = Pos {
                    line: here.line,
                    col: here.col.saturating_add(len.saturating_sub(1)),
                };
                self.insert(
                    Node {
                        value,
                        start: here,
                        end,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => {
                if self.stack.len() > MAX_DEPTH {
                    self.error
                        .get_or_insert_with(|| yaml_error(here, "nested too deeply"));
                }
                self.stack.push(Frame::Seq(here, Vec::new(), anchor));
            }
            Event::MappingStart(anchor, _) => {
                if self.stack.len() > MAX_DEPTH {
                    self.error
                        .get_or_insert_with(|| yaml_error(here, "nested too deeply"));
                }
                self.stack.push(Frame::Map(here, Vec::new(), None, anchor));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(start, items, anchor)) = self.stack.pop() {
                    self.insert(
                        Node {
                            value: Value::Array(items),
                            start,
                            end: here,
                        },
                        anchor,
                    );
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(start, members, _, anchor)) = self.stack.pop() {
                    self.insert(
                        Node {
                            value: Value::Object(members),
                            start,
                            end: here,
                        },
                        anchor,
                    );
                }
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    value: Value::Null,
                    start: here,
                    end: here,
                });
                self.insert(node, 0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn line_index_agrees_with_line_col() {
        let text = "{\"a\": \"é€😀x\",\n  \"b\": [1,\n2]}\n\nzz\u{e9}q";
        let idx = LineIndex::new(text);
        for off in 0..=text.len() + 2 {
            assert_eq!(idx.line_col(off), line_col(text, off), "offset {off}");
        }
        let long = "é".repeat(700) + "\n" + &"a".repeat(300);
        let idx = LineIndex::new(&long);
        for off in (0..=long.len()).step_by(37) {
            assert_eq!(idx.line_col(off), line_col(&long, off), "offset {off}");
        }
    }

    #[test]
    fn json_positions() {
        let n = parse_json("{\n  \"Action\": [\"s3:*\", \"ec2:Describe*\"]\n}").unwrap();
        let (k, v) = n.entry("Action").unwrap();
        assert_eq!((k.start.line, k.start.col), (2, 3));
        let first = &v.one_or_many()[0];
        assert_eq!(
            (first.start.line, first.start.col, first.end.col),
            (2, 14, 19)
        );
        assert_eq!(first.as_str(), Some("s3:*"));
    }

    #[test]
    fn json_errors_have_positions() {
        let e = parse_json("{\n  \"a\": [1,]\n}").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(11)));
        assert!(e.message.starts_with("invalid JSON"));
        assert!(parse_json("\"\\ud800\\u0041\"").is_err());
        assert!(parse_json(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn json_matches_serde() {
        let text = r#"{"a":[1,-2.5e3,true,null,"x\u00e9\n"],"b":{}}"#;
        assert_eq!(
            parse_json(text).unwrap().to_json(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn yaml_with_cfn_tags() {
        let docs = parse_yaml(
            "Resources:\n  R:\n    Arn: !Sub 'arn:${AWS::Partition}:s3:::b'\n    N: 3\n",
        )
        .unwrap();
        let r = docs[0].get("Resources").unwrap().get("R").unwrap();
        let arn = r.get("Arn").unwrap();
        assert_eq!(arn.as_str(), Some("arn:${AWS::Partition}:s3:::b"));
        assert_eq!(arn.start.line, 3);
        assert_eq!(r.get("N").unwrap().to_json(), serde_json::json!(3));
        let e = parse_yaml("a: [1, 2\n").unwrap_err();
        assert!(e.line.is_some());
    }

    proptest! {
        #[test]
        fn json_never_panics(s in ".{0,200}") {
            let _ = parse_json(&s);
        }

        #[test]
        fn leading_zeros_are_not_json(s in "-?0[0-9]{1,5}") {
            prop_assert!(parse_json(&s).is_err());
        }

        #[test]
        fn json_agrees_with_serde(s in r#"[\[\]{}",:0-9a-z\-\. \\]{0,40}"#) {
            let ours = parse_json(&s).ok().map(|n| n.to_json());
            let theirs = serde_json::from_str::<serde_json::Value>(&s).ok();
            prop_assert_eq!(ours.is_some(), theirs.is_some());
        }

        #[test]
        fn yaml_never_panics(s in "[a-z:\\-\\[\\]{}!&*' \n\"#|>0-9]{0,120}") {
            let _ = parse_yaml(&s);
        }
    }
}
