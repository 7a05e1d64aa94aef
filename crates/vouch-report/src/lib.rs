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

use std::path::Path;

use vouch_core::Report;

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
