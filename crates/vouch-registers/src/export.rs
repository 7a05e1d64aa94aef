//! Exports a register as CSV, JSON or Markdown. CSV out equals CSV in up to the normalisation
//! documented in docs/registers.md (canonical headers and enum values, trimmed cells, LF).

use std::fmt::Write as _;

use crate::csv::write_row;
use crate::register::Register;

/// CSV with the file's columns, canonical header names.
pub fn to_csv(r: &Register) -> String {
    let header: Vec<&str> = r.present_fields().iter().map(|f| f.name).collect();
    csv_with_header(r, &header)
}

/// CSV with the file's columns and its own header spellings (canonical names for columns
/// the file did not have): what `register sync` writes back.
pub fn to_csv_as_written(r: &Register) -> String {
    let header: Vec<&str> = r
        .columns
        .iter()
        .map(|i| {
            r.headers
                .get(i)
                .map(String::as_str)
                .unwrap_or(r.kind.fields()[*i].name)
        })
        .collect();
    csv_with_header(r, &header)
}

fn csv_with_header(r: &Register, header: &[&str]) -> String {
    let mut out = String::new();
    write_row(&mut out, header);
    for row in &r.rows {
        let cells: Vec<&str> = r
            .columns
            .iter()
            .map(|i| {
                row.cells[*i]
                    .as_ref()
                    .map(|c| c.value.as_str())
                    .unwrap_or("")
            })
            .collect();
        write_row(&mut out, &cells);
    }
    out
}

/// YAML in the form the reader accepts: `rows:`, one mapping per row with the file's columns
/// (canonical names) that have a value, values as double-quoted strings. Deterministic.
pub fn to_yaml(r: &Register) -> String {
    let mut out = String::from("rows:\n");
    if r.rows.is_empty() {
        return "rows: []\n".to_string();
    }
    for row in &r.rows {
        let mut first = true;
        for i in &r.columns {
            let Some(v) = row.cells[*i]
                .as_ref()
                .map(|c| c.value.as_str())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let key = serde_json::to_string(r.kind.fields()[*i].name).unwrap_or_default();
            let value = serde_json::to_string(v).unwrap_or_default();
            let _ = writeln!(out, "{} {key}: {value}", if first { "  -" } else { "   " });
            first = false;
        }
        if first {
            out.push_str("  - {}\n");
        }
    }
    out
}

/// The comment block a YAML register starts with (comment and blank lines before the first
/// other line), so `register sync` can keep a file's heading; comments between rows are not
/// kept.
pub fn yaml_preamble(text: &str) -> &str {
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if !(t.is_empty() || t.starts_with('#')) {
            break;
        }
        end += line.len();
    }
    &text[..end]
}

/// A JSON array of objects keyed by canonical column names (file order).
pub fn to_json(r: &Register) -> String {
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|row| {
            let mut m = serde_json::Map::new();
            for i in &r.columns {
                let v = row.cells[*i]
                    .as_ref()
                    .map(|c| c.value.clone())
                    .unwrap_or_default();
                m.insert(
                    r.kind.fields()[*i].name.to_string(),
                    serde_json::Value::String(v),
                );
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(
        &serde_json::json!({"register": r.kind.code(), "title": r.kind.title(), "rows": rows}),
    )
    .unwrap_or_default();
    s.push('\n');
    s
}

/// A Markdown table.
pub fn to_markdown(r: &Register) -> String {
    let fields = r.present_fields();
    let mut out = format!("### {} — {}\n\n", r.kind.code(), r.kind.title());
    let _ = writeln!(
        out,
        "| {} |",
        fields
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(fields.len()));
    for row in &r.rows {
        let cells: Vec<String> = r
            .columns
            .iter()
            .map(|i| {
                md_cell(
                    row.cells[*i]
                        .as_ref()
                        .map(|c| c.value.as_str())
                        .unwrap_or(""),
                )
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A cell for a Markdown table: pipes escaped, lines joined with `<br>`, HTML escaped, and
/// control characters (a pasted terminal sequence) made visible.
pub(crate) fn md_cell(s: &str) -> String {
    vouch_report::clean_block(s)
        .replace('|', "\\|")
        .replace('\n', "<br>")
        .replace('<', "&lt;")
        .replace("&lt;br>", "<br>")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::schema::RegisterKind;

    #[test]
    fn the_yaml_preamble_is_the_leading_comments() {
        assert_eq!(
            yaml_preamble("# D3\n\n# owner: platform\nrows:\n  # not this\n"),
            "# D3\n\n# owner: platform\n"
        );
        assert_eq!(yaml_preamble("rows: []\n# trailing\n"), "");
        assert_eq!(yaml_preamble("# only\n"), "# only\n");
    }

    #[test]
    fn csv_round_trips_after_normalisation() {
        for k in RegisterKind::ALL {
            let text = format!("{}\n{}", k.starter_header(), k.example_rows());
            let r = Register::parse(k, Path::new("x.csv"), "x.csv", &text).unwrap();
            let once = to_csv(&r);
            let again = to_csv(&Register::parse(k, Path::new("x.csv"), "x.csv", &once).unwrap());
            assert_eq!(once, again, "{}", k.code());
        }
    }
}
