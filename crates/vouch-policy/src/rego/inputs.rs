//! Input parsers, chosen like conftest's: by extension or file name, each giving the JSON
//! value Rego sees as `input`.
//!
//! YAML is split on `---` lines as conftest does (one value per document); HCL2 goes through
//! `hcl-rs`; Dockerfile, INI and `.env` are small line-based parsers here, producing
//! conftest's shapes (`[{Cmd, Flags, Value, Stage, …}]`, `{section: {key: value}}`,
//! `{KEY: "value"}`).

use std::path::Path;

use serde_json::{Map, Value, json};
use vouch_core::InputError;
use vouch_core::error::line_col;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Toml,
    Hcl,
    Dockerfile,
    Ini,
    Dotenv,
    /// Unknown extension: JSON if it parses, else YAML (conftest's fallback).
    Guess,
}

/// The parser conftest would pick for `path`.
pub fn format_for(path: &Path) -> Format {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == "dockerfile"
        || name.starts_with("dockerfile.")
        || ext == "dockerfile"
        || ext == "containerfile"
        || name == "containerfile"
    {
        return Format::Dockerfile;
    }
    if name == ".env" || ext == "env" || name.starts_with(".env.") {
        return Format::Dotenv;
    }
    match ext.as_str() {
        "json" => Format::Json,
        "yaml" | "yml" => Format::Yaml,
        "toml" => Format::Toml,
        "tf" | "hcl" | "tfvars" => Format::Hcl,
        "ini" | "cfg" | "conf" => Format::Ini,
        _ => Format::Guess,
    }
}

/// Reads and parses an input file.
pub fn read(path: &Path) -> Result<Value, InputError> {
    let bytes = vouch_core::fs::read_regular(path, vouch_core::fs::MAX_INPUT_LEN)?;
    let text = String::from_utf8(bytes).map_err(|_| InputError::in_file(path, "not UTF-8 text"))?;
    parse(format_for(path), &text).map_err(|e| e.or_file(path))
}

/// Parses `text` as `format`.
pub fn parse(format: Format, text: &str) -> Result<Value, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => parse_json(text),
        Format::Yaml => parse_yaml(text),
        Format::Toml => parse_toml(text),
        Format::Hcl => parse_hcl(text),
        Format::Dockerfile => Ok(parse_dockerfile(text)),
        Format::Ini => parse_ini(text),
        Format::Dotenv => parse_dotenv(text),
        Format::Guess => parse_json(text).or_else(|_| parse_yaml(text)),
    }
}

fn at(line: usize, column: usize, message: String) -> InputError {
    InputError {
        file: None,
        line: u32::try_from(line).ok().filter(|l| *l > 0),
        column: u32::try_from(column).ok().filter(|c| *c > 0),
        message,
        hint: None,
    }
}

fn parse_json(text: &str) -> Result<Value, InputError> {
    serde_json::from_str(text).map_err(|e| at(e.line(), e.column(), format!("invalid JSON: {e}")))
}

/// Multi-document YAML, split on `---` lines as conftest does.
fn parse_yaml(text: &str) -> Result<Value, InputError> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let sep = format!("{nl}---{nl}");
    let mut parts: Vec<&str> = text.split(sep.as_str()).collect();
    // A leading `%YAML` directive belongs to the first document.
    let joined;
    if text.starts_with('%') && parts.len() > 1 {
        joined = format!("{}{sep}{}", parts[0], parts[1]);
        parts.splice(0..2, [joined.as_str()]);
    }
    let mut docs = Vec::new();
    let mut line_offset = 0u32;
    for part in &parts {
        let parsed = crate::doc::parse_yaml(part).map_err(|mut e| {
            e.line = e.line.map(|l| l + line_offset);
            e
        })?;
        docs.push(
            parsed
                .first()
                .map(crate::doc::Node::to_json)
                .unwrap_or(Value::Null),
        );
        line_offset += u32::try_from(part.matches('\n').count()).unwrap_or(0) + 2;
    }
    Ok(if docs.len() == 1 {
        docs.swap_remove(0)
    } else {
        Value::Array(docs)
    })
}

fn parse_toml(text: &str) -> Result<Value, InputError> {
    let v: toml::Value = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        at(
            line as usize,
            col as usize,
            format!("invalid TOML: {}", e.message()),
        )
    })?;
    Ok(toml_to_json(v))
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn parse_hcl(text: &str) -> Result<Value, InputError> {
    hcl::from_str::<Value>(text).map_err(|e| {
        let (line, col) = match &e {
            hcl::Error::Parse(p) => (p.location().line(), p.location().column()),
            _ => (0, 0),
        };
        let msg = e.to_string();
        let first = msg
            .lines()
            .last()
            .unwrap_or(&msg)
            .trim()
            .trim_start_matches("= ")
            .to_string();
        at(line, col, format!("invalid HCL: {first}"))
    })
}

/// Instructions whose value is not split on whitespace in shell form.
const WHOLE_VALUE: &[&str] = &[
    "run",
    "cmd",
    "entrypoint",
    "shell",
    "healthcheck",
    "maintainer",
];

/// conftest's Dockerfile shape: `[[{Cmd, SubCmd, JSON, Flags, Value, Original, Stage}]]`.
fn parse_dockerfile(text: &str) -> Value {
    let mut commands = Vec::new();
    let mut stage = -1i64;
    let mut logical = String::new();
    let mut escape = '\\';
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if i == 0
            && let Some(rest) = trimmed.strip_prefix('#')
            && let Some(e) = rest.trim().strip_prefix("escape=")
            && let Some(c) = e.trim().chars().next()
        {
            escape = c;
        }
        if logical.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !logical.is_empty() && trimmed.starts_with('#') {
            continue;
        }
        if let Some(body) = line.trim_end().strip_suffix(escape) {
            logical.push_str(body);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let full = std::mem::take(&mut logical);
        let full = full.trim();
        let (word, rest) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
        let cmd = word.to_ascii_lowercase();
        let mut rest = rest.trim();
        let mut sub_cmd = String::new();
        if cmd == "onbuild" {
            let (w, r) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            sub_cmd = w.to_ascii_lowercase();
            rest = r.trim();
        }
        if cmd == "from" {
            stage += 1;
        }
        let mut flags = Vec::new();
        while rest.starts_with("--") {
            let (flag, r) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            flags.push(Value::String(flag.to_string()));
            rest = r.trim_start();
        }
        let (is_json, value): (bool, Vec<Value>) = match serde_json::from_str::<Vec<String>>(rest) {
            Ok(items) if rest.starts_with('[') => {
                (true, items.into_iter().map(Value::String).collect())
            }
            _ if WHOLE_VALUE.contains(&cmd.as_str()) || WHOLE_VALUE.contains(&sub_cmd.as_str()) => {
                (false, vec![Value::String(rest.to_string())])
            }
            _ if cmd == "env" || cmd == "label" => (false, key_values(rest)),
            _ => (
                false,
                rest.split_whitespace()
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
        };
        commands.push(json!({
            "Cmd": cmd,
            "SubCmd": sub_cmd,
            "JSON": is_json,
            "Flags": flags,
            "Value": value,
            "Original": full,
            "Stage": stage.max(0),
        }));
    }
    json!([commands])
}

/// `ENV a=1 b="x y"` → `["a","1","b","x y"]`; legacy `ENV a 1` → `["a","1"]`.
fn key_values(rest: &str) -> Vec<Value> {
    let first = rest.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let (k, v) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return vec![
            Value::String(k.to_string()),
            Value::String(v.trim().to_string()),
        ];
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut token = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => token.push(c),
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c.is_whitespace() => break,
                None => token.push(c),
            }
            chars.next();
        }
        let (k, v) = token.split_once('=').unwrap_or((&token, ""));
        out.push(Value::String(k.to_string()));
        out.push(Value::String(v.to_string()));
    }
    out
}

/// conftest's INI shape: `{section: {key: value}}`, values as numbers or booleans when they
/// read as such; keys before any section go to `DEFAULT`.
fn parse_ini(text: &str) -> Result<Value, InputError> {
    let mut root = Map::new();
    let mut section = "DEFAULT".to_string();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(at(
                    i + 1,
                    1,
                    "invalid INI: unterminated section header".into(),
                ));
            };
            section = name.trim().to_string();
            root.entry(section.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            return Err(at(
                i + 1,
                1,
                format!("invalid INI: expected `key = value`, found `{line}`"),
            ));
        };
        let v = v.trim().trim_matches('"');
        let value = if let Ok(n) = v.parse::<i64>() {
            json!(n)
        } else if let Some(n) = v.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Value::Number(n)
        } else if let Ok(b) = v.parse::<bool>() {
            Value::Bool(b)
        } else {
            Value::String(v.to_string())
        };
        if let Value::Object(map) = root
            .entry(section.clone())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            map.insert(k.trim().to_string(), value);
        }
    }
    Ok(Value::Object(root))
}

/// `.env`: `KEY=value` lines (optional `export`, quotes, comments), all values strings.
fn parse_dotenv(text: &str) -> Result<Value, InputError> {
    let mut map = Map::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((k, v)) = line.split_once('=') else {
            return Err(at(
                i + 1,
                1,
                format!("invalid .env: expected `KEY=value`, found `{line}`"),
            ));
        };
        let k = k.trim();
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(at(
                i + 1,
                1,
                format!("invalid .env: bad variable name `{k}`"),
            ));
        }
        let v = v.trim();
        let value = if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            inner.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            inner.to_string()
        } else {
            v.split(" #").next().unwrap_or(v).trim().to_string()
        };
        map.insert(k.to_string(), Value::String(value));
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_by_name() {
        assert_eq!(format_for(Path::new("a/Dockerfile")), Format::Dockerfile);
        assert_eq!(format_for(Path::new("main.tf")), Format::Hcl);
        assert_eq!(format_for(Path::new(".env")), Format::Dotenv);
        assert_eq!(format_for(Path::new("x.yml")), Format::Yaml);
        assert_eq!(format_for(Path::new("x.cfg")), Format::Ini);
        assert_eq!(format_for(Path::new("x.txt")), Format::Guess);
    }

    #[test]
    fn yaml_multi_document() {
        let v = parse(Format::Yaml, "a: 1\n---\nb: [x, 2]\n---\n").unwrap();
        assert_eq!(v, json!([{"a": 1}, {"b": ["x", 2]}, null]));
        let e = parse(Format::Yaml, "a: 1\n---\nb: [x\n").unwrap_err();
        assert!(e.line.unwrap() >= 3, "{e}");
    }

    #[test]
    fn dockerfile_shape() {
        let v = parse(
            Format::Dockerfile,
            "FROM golang:1.22 AS build\nRUN go build \\\n  ./...\nFROM scratch\nCOPY --from=build /app /app\nENV A=1 B=\"x y\"\nUSER root\nCMD [\"/app\"]\n",
        )
        .unwrap();
        let cmds = v[0].as_array().unwrap();
        assert_eq!(cmds[0]["Cmd"], "from");
        assert_eq!(cmds[0]["Value"], json!(["golang:1.22", "AS", "build"]));
        assert_eq!(cmds[1]["Value"], json!(["go build    ./..."]));
        assert_eq!(cmds[3]["Flags"], json!(["--from=build"]));
        assert_eq!(cmds[3]["Stage"], 1);
        assert_eq!(cmds[4]["Value"], json!(["A", "1", "B", "x y"]));
        assert_eq!(cmds[6]["JSON"], true);
    }

    #[test]
    fn ini_env_toml_hcl() {
        assert_eq!(
            parse(
                Format::Ini,
                "top = 1\n[server]\nport = 8080\ndebug = true\nname = web\n"
            )
            .unwrap(),
            json!({"DEFAULT": {"top": 1}, "server": {"port": 8080, "debug": true, "name": "web"}})
        );
        assert_eq!(
            parse(Format::Dotenv, "# c\nexport A=1\nB=\"two words\"\nC='x'\n").unwrap(),
            json!({"A": "1", "B": "two words", "C": "x"})
        );
        assert_eq!(
            parse(Format::Toml, "[a]\nb = 1\n").unwrap(),
            json!({"a": {"b": 1}})
        );
        let hcl = parse(
            Format::Hcl,
            "resource \"aws_s3_bucket\" \"b\" {\n  acl = \"public-read\"\n}\n",
        )
        .unwrap();
        assert_eq!(hcl["resource"]["aws_s3_bucket"]["b"]["acl"], "public-read");
        let e = parse(Format::Hcl, "resource \"x\" {\n  a = \n").unwrap_err();
        assert!(e.message.starts_with("invalid HCL"), "{e}");
        let e = parse(Format::Toml, "a = \n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "[a-zA-Z0-9 =:\\[\\]{}\"'#\\-\\\\\n.,]{0,120}") {
            for f in [Format::Json, Format::Yaml, Format::Toml, Format::Hcl, Format::Dockerfile, Format::Ini, Format::Dotenv, Format::Guess] {
                let _ = parse(f, &s);
            }
        }
    }
}
