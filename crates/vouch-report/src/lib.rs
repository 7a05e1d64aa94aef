//! Renderers for [`vouch_core::Report`], written once for every check.
//!
//! Every renderer is a pure function from a report to bytes: same report, same bytes (no
//! timestamps, sorted findings). Only the text renderer reads source files, to show the
//! offending line under its location; a file it cannot read is shown without source.
//! This crate never prints: the CLI decides where the bytes go.

// Panics on input are bugs: library and binary code returns errors instead (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod html;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::borrow::Cow;
use std::path::Path;

use vouch_core::{Finding, Report};

/// Output formats for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Markdown,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Markdown,
        Format::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Directory that finding paths are relative to, for reading source lines (text, html).
    pub root: Option<&'a Path>,
    /// ANSI colour in text output.
    pub color: bool,
    /// Title used by markdown/html (`vouch check`).
    pub title: &'a str,
}

impl Default for RenderOptions<'_> {
    fn default() -> Self {
        RenderOptions {
            root: None,
            color: false,
            title: "vouch check",
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format, options: &RenderOptions<'_>) -> Vec<u8> {
    match format {
        Format::Text => text::render(report, options).into_bytes(),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Markdown => markdown::render(report, options).into_bytes(),
        Format::Html => html::render(report, options).into_bytes(),
    }
}

/// Makes untrusted text (file names, source lines, messages, evidence) safe to show: control
/// characters — ANSI escape sequences, carriage returns, backspaces, C1 controls — and the
/// Unicode bidirectional overrides ("Trojan Source") become visible escapes (`\x1b`,
/// `\u{202e}`); a tab becomes a space. Every renderer that shows such text goes through here,
/// so a crafted file name or line cannot rewrite the terminal or the page around it.
pub fn clean(s: &str) -> Cow<'_, str> {
    let bad =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            c if (c as u32) < 0x100 && bad(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for text that may span lines (help texts): each line cleaned, newlines kept.
pub fn clean_block(s: &str) -> String {
    s.lines().map(|l| clean(l)).collect::<Vec<_>>().join("\n")
}

/// Characters of a source line shown at most.
pub(crate) const MAX_SHOWN: usize = 200;

/// The source line under a finding, as every renderer shows it: at most [`MAX_SHOWN`]
/// characters, a secret masked (see [`mask`]), control characters escaped. `None` without a
/// line or when the file cannot be read.
pub(crate) fn snippet(root: Option<&Path>, f: &Finding) -> Option<(u32, String)> {
    let r = f.location.region?;
    let line = source_line(root, &f.location.path, r.line)?;
    let shown: String = line.chars().take(MAX_SHOWN).collect();
    let shown = if f.properties.get("redact").and_then(|v| v.as_bool()) == Some(true) {
        mask(&shown, r)
    } else {
        shown
    };
    Some((r.line, clean(&shown).into_owned()))
}

/// Hides a secret in a shown source line: the region's characters after its first four
/// become `*` (to the end of the line when the region spans lines), so a caret still points
/// at the right place and the secret never reaches the terminal or the page.
pub(crate) fn mask(line: &str, r: vouch_core::Region) -> String {
    let start = r.column as usize + 4;
    let end = if r.end_line > r.line || r.end_column == 0 {
        usize::MAX
    } else {
        r.end_column as usize
    };
    line.chars()
        .enumerate()
        .map(|(i, c)| if i + 1 >= start && i < end { '*' } else { c })
        .collect()
}

/// `path:line:column` (or less) of a finding, cleaned.
pub(crate) fn position(f: &Finding) -> String {
    let p = clean(&f.location.path);
    match f.location.region {
        Some(r) if r.is_whole_line() => format!("{p}:{}", r.line),
        Some(r) => format!("{p}:{}:{}", r.line, r.column),
        None => p.into_owned(),
    }
}

/// The check a rule belongs to, as the summary counts them: its id's family (`secrets`,
/// `workflow`, `register`, …).
pub(crate) fn family(rule: &str) -> &str {
    rule.split('/').next().unwrap_or(rule)
}

/// Reads line `line` (1-based) of `root/path`, without its newline.
pub(crate) fn source_line(root: Option<&Path>, path: &str, line: u32) -> Option<String> {
    let root = root?;
    // When the scanned target is a single file, finding paths are its bare name.
    let full = if path.is_empty() || root.is_file() {
        root.to_path_buf()
    } else {
        root.join(path)
    };
    let bytes = std::fs::read(full).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let l = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    Some(l.trim_end_matches('\r').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_terminal_and_bidi_controls() {
        assert_eq!(clean("plain/ü.txt"), "plain/ü.txt");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(clean("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(clean("x\ry\u{8}"), "x\\x0dy\\x08");
        assert_eq!(clean("a\tb"), "a b");
        assert_eq!(clean("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(clean("\u{9b}31m"), "\\x9b31m");
        assert_eq!(clean("line\nnext"), "line\\x0anext");
    }
}
