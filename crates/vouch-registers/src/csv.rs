//! A small RFC 4180 CSV reader that keeps the line and column of every field, and a writer.
//!
//! Written here rather than taken from the `csv` crate because every register finding must name
//! the row *and column* of the offending cell, including after quoted fields that span lines;
//! `csv` reports record positions only. Accepts a UTF-8 BOM, CRLF or LF line ends, quoted
//! fields with `""` escapes and embedded newlines.

use std::fmt::Write as _;

/// One field with its position (1-based line and character column of its first character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub value: String,
    pub line: u32,
    pub column: u32,
}

/// One record: its first line and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u32,
    pub fields: Vec<Field>,
}

/// Why a CSV text is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct CsvError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Parses `text` into records. Blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut column) = (1u32, 1u32);
    let mut fields: Vec<Field> = Vec::new();
    let mut record_line = 1u32;
    let mut at_record_start = true;

    loop {
        // Start of a field.
        let (f_line, f_col) = (line, column);
        if at_record_start {
            record_line = line;
        }
        let mut value = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            column += 1;
            loop {
                match chars.next() {
                    None => {
                        return Err(CsvError {
                            line: f_line,
                            column: f_col,
                            message: "quoted field is never closed".into(),
                        });
                    }
                    Some('"') => {
                        column += 1;
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            column += 1;
                            value.push('"');
                        } else {
                            break;
                        }
                    }
                    Some('\n') => {
                        value.push('\n');
                        line += 1;
                        column = 1;
                    }
                    Some(c) => {
                        value.push(c);
                        column += 1;
                    }
                }
            }
        }
        // Unquoted part (or what follows a closing quote).
        let mut end = false;
        loop {
            match chars.peek().copied() {
                None => {
                    end = true;
                    break;
                }
                Some(',') => {
                    chars.next();
                    column += 1;
                    break;
                }
                Some('\r') => {
                    chars.next();
                    if chars.peek() == Some(&'\n') {
                        continue;
                    }
                    column += 1;
                }
                Some('\n') => {
                    chars.next();
                    line += 1;
                    column = 1;
                    end = true;
                    break;
                }
                Some(c) => {
                    chars.next();
                    if quoted {
                        return Err(CsvError {
                            line,
                            column,
                            message: format!("unexpected `{c}` after a closing quote"),
                        });
                    }
                    if c == '"' {
                        return Err(CsvError {
                            line,
                            column,
                            message: "a quote inside an unquoted field (quote the whole field and double the quote)".into(),
                        });
                    }
                    value.push(c);
                    column += 1;
                }
            }
        }
        fields.push(Field {
            value,
            line: f_line,
            column: f_col,
        });
        at_record_start = false;
        if end {
            let blank = fields.len() == 1 && fields[0].value.is_empty() && !quoted;
            if !blank {
                records.push(Record {
                    line: record_line,
                    fields: std::mem::take(&mut fields),
                });
            } else {
                fields.clear();
            }
            at_record_start = true;
            if chars.peek().is_none() {
                break;
            }
        }
    }
    Ok(records)
}

/// Writes one CSV row, quoting fields that need it; ends with `\n`.
pub fn write_row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
            let _ = write!(out, "\"{}\"", f.replace('"', "\"\""));
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Vec<String>> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|r| r.fields.into_iter().map(|f| f.value).collect())
            .collect()
    }

    #[test]
    fn quotes_crlf_bom_and_newlines() {
        assert_eq!(
            values("\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",z\n\n"),
            vec![
                vec!["a", "b"],
                vec!["x, y", "say \"hi\""],
                vec!["multi\nline", "z"]
            ]
        );
    }

    #[test]
    fn positions_follow_multiline_fields() {
        let r = parse("h1,h2\n\"a\nb\",c\nd,e").unwrap();
        assert_eq!(
            (r[1].line, r[1].fields[1].line, r[1].fields[1].column),
            (2, 3, 4)
        );
        assert_eq!((r[2].line, r[2].fields[1].column), (4, 3));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a,b\n\"open,c\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(parse("a,\"b\"x\n").is_err());
    }

    #[test]
    fn write_then_parse_round_trips() {
        let mut s = String::new();
        write_row(
            &mut s,
            &["plain", "with, comma", "with \"quote\"", "multi\nline", ""],
        );
        assert_eq!(
            values(&s),
            vec![vec![
                "plain",
                "with, comma",
                "with \"quote\"",
                "multi\nline",
                ""
            ]]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "[a-z,\"\r\n ]{0,60}") {
            let _ = parse(&text);
        }

        #[test]
        fn round_trip(rows in proptest::collection::vec(proptest::collection::vec("[a-z ,\"\n]{0,6}", 1..4), 1..4)) {
            let mut s = String::new();
            for r in &rows {
                let refs: Vec<&str> = r.iter().map(String::as_str).collect();
                write_row(&mut s, &refs);
            }
            let back: Vec<Vec<String>> = parse(&s).unwrap().into_iter().map(|r| r.fields.into_iter().map(|f| f.value).collect()).collect();
            let expected: Vec<Vec<String>> = rows.into_iter().filter(|r| !(r.len() == 1 && r[0].is_empty())).collect();
            proptest::prop_assert_eq!(back, expected);
        }
    }
}
