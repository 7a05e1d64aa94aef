//! Loading a register file (CSV or YAML) into validated rows.
//!
//! Validation is strict because registers are the team's own records: an unknown column, a
//! misspelled enum value (with the closest suggestion), a bad date or a duplicate ID is bad
//! input naming the file, row and column. Normalisation on load, documented in
//! docs/registers.md: headers become the mini-spec's names, enum values their canonical
//! spelling (`Med` → `Medium`), surrounding whitespace is trimmed, a BOM and CRLF line ends
//! are accepted, and Notion's mangled links (`[x](http://x)`) are unwrapped to `x`.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use vouch_core::InputError;
use vouch_core::config::closest;

use crate::csv;
use crate::schema::{FieldSpec, Kind, RegisterKind, field_for};

/// One cell: its normalised value and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub value: String,
    pub line: u32,
    pub column: u32,
}

/// One row: cells indexed like `RegisterKind::fields()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u32,
    pub cells: Vec<Option<Cell>>,
}

impl Row {
    /// The trimmed value of field `name`, `None` when absent or empty.
    pub fn get(&self, kind: RegisterKind, name: &str) -> Option<&str> {
        self.cell(kind, name)
            .map(|c| c.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The cell of field `name`, if the column exists.
    pub fn cell(&self, kind: RegisterKind, name: &str) -> Option<&Cell> {
        let i = kind.fields().iter().position(|f| f.name == name)?;
        self.cells.get(i)?.as_ref()
    }

    /// Parses a date field already validated on load.
    pub fn date(&self, kind: RegisterKind, name: &str) -> Option<Date> {
        self.get(kind, name).and_then(|v| v.parse().ok())
    }
}

/// A validated register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub kind: RegisterKind,
    /// Path relative to the repository root, `/`-separated (for findings).
    pub path: String,
    /// Field indexes of the file's columns, in file order.
    pub columns: Vec<usize>,
    /// Each column's header as the file spells it (`ReviewDate`, `UseScope`), by field index,
    /// so a rewrite (`register sync`) keeps the team's headers.
    pub headers: BTreeMap<usize, String>,
    pub header_line: u32,
    pub rows: Vec<Row>,
}

impl Register {
    /// Loads `text` (CSV, or YAML when `path` ends in .yaml/.yml). `shown` names the file in
    /// errors; `rel` is the repository-relative path used in findings.
    pub fn parse(
        kind: RegisterKind,
        shown: &Path,
        rel: &str,
        text: &str,
    ) -> Result<Register, InputError> {
        let is_yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
        let raw = if is_yaml {
            yaml_rows(shown, text)?
        } else {
            csv_rows(shown, text)?
        };
        build(kind, shown, rel, raw)
    }

    /// Reads and parses a register file.
    pub fn load(kind: RegisterKind, full: &Path, rel: &str) -> Result<Register, InputError> {
        let text = vouch_core::fs::read_regular_to_string(full, vouch_core::fs::MAX_INPUT_LEN)?;
        Register::parse(kind, full, rel, &text)
    }

    /// The fields present in this file, in file order.
    pub fn present_fields(&self) -> Vec<&'static FieldSpec> {
        self.columns
            .iter()
            .map(|i| &self.kind.fields()[*i])
            .collect()
    }
}

/// Rows as read, before validation: header cells and data rows of (header index → cell).
struct RawTable {
    /// YAML rows name only the fields they have: absent columns are empty, not an error.
    sparse: bool,
    header: Vec<csv::Field>,
    header_line: u32,
    rows: Vec<(u32, Vec<Option<csv::Field>>)>,
}

fn csv_rows(shown: &Path, text: &str) -> Result<RawTable, InputError> {
    let text = unwrap_notion_links(text);
    let records =
        csv::parse(&text).map_err(|e| InputError::at(shown, e.line, Some(e.column), e.message))?;
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Err(InputError::in_file(shown, "empty register: no header row")
            .with_hint("`vouch register init` writes starter files with headers"));
    };
    let width = header.fields.len();
    let mut rows = Vec::new();
    for r in it {
        if r.fields.len() > width {
            let extra = &r.fields[width];
            return Err(InputError::at(
                shown,
                extra.line,
                Some(extra.column),
                format!(
                    "row has {} fields but the header has {width}",
                    r.fields.len()
                ),
            )
            .with_hint("quote fields that contain commas"));
        }
        let mut cells: Vec<Option<csv::Field>> = r.fields.into_iter().map(Some).collect();
        cells.resize(width, None);
        rows.push((r.line, cells));
    }
    Ok(RawTable {
        sparse: false,
        header_line: header.line,
        header: header.fields,
        rows,
    })
}

fn yaml_rows(shown: &Path, text: &str) -> Result<RawTable, InputError> {
    vouch_core::yaml::check(text).map_err(|e| e.or_file(shown))?;
    let node = marked_yaml::parse_yaml(0, text).map_err(|e| {
        InputError::in_file(shown, format!("invalid YAML: {e}"))
            .with_hint("a YAML register is a mapping with a `rows:` list")
    })?;
    let pos = |span: &marked_yaml::Span| {
        span.start()
            .map(|m| {
                (
                    u32::try_from(m.line()).unwrap_or(u32::MAX),
                    u32::try_from(m.column()).unwrap_or(u32::MAX),
                )
            })
            .unwrap_or((1, 1))
    };
    let map = node.as_mapping().ok_or_else(|| {
        InputError::at(
            shown,
            1,
            None,
            "a YAML register must be a mapping with a `rows:` list",
        )
    })?;
    let mut rows_node = None;
    for (k, v) in map.iter() {
        if k.as_str() == "rows" {
            rows_node = Some(v);
        } else {
            let (l, c) = pos(k.span());
            return Err(
                InputError::at(shown, l, Some(c), format!("unknown key `{}`", k.as_str()))
                    .with_hint("the only top-level key is `rows`"),
            );
        }
    }
    let seq = match rows_node {
        None => {
            return Ok(RawTable {
                sparse: true,
                header: Vec::new(),
                header_line: 1,
                rows: Vec::new(),
            });
        }
        Some(n) => n.as_sequence().ok_or_else(|| {
            let (l, c) = pos(n.span());
            InputError::at(shown, l, Some(c), "`rows` must be a list of mappings")
        })?,
    };
    let mut header: Vec<csv::Field> = Vec::new();
    let mut rows = Vec::new();
    for item in seq.iter() {
        let (l, c) = pos(item.span());
        let m = item.as_mapping().ok_or_else(|| {
            InputError::at(
                shown,
                l,
                Some(c),
                "each row must be a mapping of column → value",
            )
        })?;
        let mut cells: Vec<Option<csv::Field>> = vec![None; header.len()];
        for (k, v) in m.iter() {
            let idx = match header.iter().position(|h| h.value == k.as_str()) {
                Some(i) => i,
                None => {
                    let (hl, hc) = pos(k.span());
                    header.push(csv::Field {
                        value: k.as_str().to_string(),
                        line: hl,
                        column: hc,
                    });
                    cells.push(None);
                    header.len() - 1
                }
            };
            let (vl, vc) = pos(v.span());
            let value = match v.as_scalar() {
                Some(s) => s.as_str().to_string(),
                None => {
                    return Err(InputError::at(
                        shown,
                        vl,
                        Some(vc),
                        format!("`{}` must be a plain value", k.as_str()),
                    ));
                }
            };
            cells[idx] = Some(csv::Field {
                value,
                line: vl,
                column: vc,
            });
        }
        rows.push((l, cells));
    }
    for (_, cells) in rows.iter_mut() {
        cells.resize(header.len(), None);
    }
    Ok(RawTable {
        sparse: true,
        header,
        header_line: 1,
        rows,
    })
}

fn build(
    kind: RegisterKind,
    shown: &Path,
    rel: &str,
    raw: RawTable,
) -> Result<Register, InputError> {
    let fields = kind.fields();
    let mut columns = Vec::with_capacity(raw.header.len());
    let mut headers = BTreeMap::new();
    for h in &raw.header {
        let Some(i) = field_for(kind, &h.value) else {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            let hint = match closest(&h.value, &names) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("{} columns are: {}", kind.code(), names.join(", ")),
            };
            return Err(InputError::at(
                shown,
                h.line,
                Some(h.column),
                format!(
                    "unknown column `{}` in the {} register",
                    h.value.trim(),
                    kind.code()
                ),
            )
            .with_hint(hint));
        };
        if columns.contains(&i) {
            return Err(InputError::at(
                shown,
                h.line,
                Some(h.column),
                format!("column `{}` appears twice", fields[i].name),
            ));
        }
        columns.push(i);
        headers.insert(i, h.value.trim().to_string());
    }
    if !raw.sparse {
        for (i, f) in fields.iter().enumerate() {
            if !f.optional && !columns.contains(&i) {
                return Err(InputError::at(
                    shown,
                    raw.header_line,
                    None,
                    format!("the {} register has no `{}` column", kind.code(), f.name),
                )
                .with_hint("add the column (it may stay empty)"));
            }
        }
    }
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut rows = Vec::with_capacity(raw.rows.len());
    for (line, cells) in raw.rows {
        let mut out: Vec<Option<Cell>> = vec![None; fields.len()];
        for (pos, cell) in cells.into_iter().enumerate() {
            let field_idx = columns[pos];
            let spec = &fields[field_idx];
            let (value, cl, cc) = match cell {
                Some(c) => (c.value.trim().to_string(), c.line, c.column),
                None => (String::new(), line, 1),
            };
            let value = normalise(spec, &value).map_err(|msg| {
                let mut e = InputError::at(
                    shown,
                    cl,
                    Some(cc),
                    format!("{} `{}`: {msg}", spec.name, value),
                );
                if let Kind::Enum { values, .. } = spec.kind {
                    e = match closest(&value, values) {
                        Some(c) => e.with_hint(format!("did you mean `{c}`?")),
                        None => e.with_hint(format!("one of: {}", values.join(", "))),
                    };
                }
                e
            })?;
            out[field_idx] = Some(Cell {
                value,
                line: cl,
                column: cc,
            });
        }
        if let Some(Some(id)) = out
            .first()
            .map(|c| c.as_ref().filter(|c| !c.value.is_empty()))
            && let Some(first) = ids.insert(id.value.clone(), line)
        {
            return Err(InputError::at(
                shown,
                id.line,
                Some(id.column),
                format!("duplicate ID `{}` (first used on line {first})", id.value),
            ));
        }
        rows.push(Row { line, cells: out });
    }
    Ok(Register {
        kind,
        path: rel.to_string(),
        columns,
        headers,
        header_line: raw.header_line,
        rows,
    })
}

/// Checks and canonicalises one value; `Err` says what is wrong.
fn normalise(spec: &FieldSpec, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    match spec.kind {
        Kind::Text => Ok(value.to_string()),
        Kind::Enum { values, synonyms } => {
            if let Some(v) = values.iter().find(|v| v.eq_ignore_ascii_case(value)) {
                return Ok((*v).to_string());
            }
            if let Some((_, v)) = synonyms.iter().find(|(s, _)| s.eq_ignore_ascii_case(value)) {
                return Ok((*v).to_string());
            }
            Err("not an accepted value".to_string())
        }
        Kind::Date => value
            .parse::<Date>()
            .map(|d| d.to_string())
            .map_err(|_| "not a date (use YYYY-MM-DD)".to_string()),
        Kind::Days => {
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            let rest = value[digits.len()..].trim().to_ascii_lowercase();
            if digits.is_empty() || !matches!(rest.as_str(), "" | "d" | "day" | "days") {
                return Err("not a number of days".to_string());
            }
            digits
                .parse::<u32>()
                .map(|d| d.to_string())
                .map_err(|_| "not a number of days".to_string())
        }
    }
}

/// Notion exports wrap text that looks like a host in a link to itself, which breaks CSV
/// rows: `[ghcr.io/x,Yes](http://ghcr.io/x,Yes)` → `ghcr.io/x,Yes`.
pub fn unwrap_notion_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let inner_and_more = &after[1..];
        let unwrapped = inner_and_more.find("](").and_then(|close| {
            let inner = &inner_and_more[..close];
            let url_part = &inner_and_more[close + 2..];
            ["http://", "https://"].iter().find_map(|scheme| {
                let candidate = format!("{scheme}{inner})");
                url_part
                    .starts_with(&candidate)
                    .then(|| (inner, close + 2 + candidate.len()))
            })
        });
        match unwrapped {
            Some((inner, consumed)) => {
                out.push_str(inner);
                rest = &inner_and_more[consumed..];
            }
            None => {
                out.push('[');
                rest = inner_and_more;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: RegisterKind, text: &str) -> Result<Register, InputError> {
        Register::parse(kind, Path::new("security/x.csv"), "security/x.csv", text)
    }

    #[test]
    fn spec_starters_import_unchanged() {
        // The mini-spec's CSV starters, byte for byte (quoted commas, `Med`, a mangled link).
        let d4 = "BuildInput,Environment,Reproducible,ArtifactHash,Signature/Attestation,DependencyPolicy,SLSATarget,VerificationSteps\nrepo@a1b2c3,[ghcr.io/app@sha256:...,Yes,sha256:...,Sigstore](http://ghcr.io/app@sha256:...,Yes,sha256:...,Sigstore) attest,\"Pinned + checksum\",2,doclink\n";
        let r = parse(RegisterKind::D4, d4).unwrap();
        assert_eq!(
            r.rows[0].get(RegisterKind::D4, "Signature/Attestation"),
            Some("Sigstore attest")
        );
        assert_eq!(
            r.rows[0].get(RegisterKind::D4, "Environment"),
            Some("ghcr.io/app@sha256:...")
        );
        for k in RegisterKind::ALL {
            let text = format!("{}\n{}", k.starter_header(), k.example_rows());
            let r = parse(k, &text).unwrap_or_else(|e| panic!("{}: {e}", k.code()));
            assert!(!r.rows.is_empty());
        }
        let d1 = parse(
            RegisterKind::D1,
            &format!(
                "{}\n{}",
                RegisterKind::D1.starter_header(),
                RegisterKind::D1.example_rows()
            ),
        )
        .unwrap();
        assert_eq!(
            d1.rows[0].get(RegisterKind::D1, "Likelihood"),
            Some("Medium")
        );
        assert_eq!(
            d1.rows[0].get(RegisterKind::D1, "Control"),
            Some("Sign + verify updates (Ed25519)")
        );
    }

    #[test]
    fn bad_input_names_row_and_column() {
        let h = RegisterKind::D1.starter_header();
        let e = parse(
            RegisterKind::D1,
            &format!("{h}\nA,Spoofing,v,High,High,c,o,r,Mitigatd,2030-01-01\n"),
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(30)));
        assert_eq!(e.hint.as_deref(), Some("did you mean `Mitigated`?"));
        let e = parse(
            RegisterKind::D1,
            &format!("{h}\nA,Spoofing,v,High,High,c,o,r,Open,2030-02-30\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("not a date"), "{e}");
        let e = parse(RegisterKind::D1, &format!("{h},Colour\n")).unwrap_err();
        assert!(e.message.contains("unknown column `Colour`"), "{e}");
        let e = parse(RegisterKind::D1, "ID,Asset/Data Flow,Threat,Vector,Impact,Likelihood,Control,Owner,Residual Risk,Status,ReviewDate\nT1,a,Other,,Low,Low,,,,Open,\nT1,b,Other,,Low,Low,,,,Open,\n").unwrap_err();
        assert!(e.message.contains("duplicate ID `T1`"), "{e}");
        assert_eq!(e.line, Some(3));
        let e = parse(RegisterKind::D1, "Asset/Data Flow,Threat\n").unwrap_err();
        assert!(e.message.contains("no `Vector` column"), "{e}");
    }

    #[test]
    fn yaml_registers() {
        let y = "rows:\n  - Secret: DB_PASSWORD\n    Scope: prod\n    Storage Method: vault\n    Rotation Policy: 90 days\n    Access Roles: app\n    Last Rotated: 2026-10-01\n    Audit Log: link\n";
        let r = Register::parse(
            RegisterKind::D5,
            Path::new("s.yaml"),
            "security/secrets.yaml",
            y,
        )
        .unwrap();
        assert_eq!(
            r.rows[0].get(RegisterKind::D5, "Storage Method"),
            Some("vault")
        );
        assert_eq!(r.rows[0].line, 2);
        let e = Register::parse(
            RegisterKind::D5,
            Path::new("s.yaml"),
            "security/secrets.yaml",
            "rows:\n  - Secret: x\n    Last Rotated: yesterday\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_csv_never_panics(text in "[A-Za-z0-9 ,\"\n\\[\\]():/-]{0,120}") {
            for k in RegisterKind::ALL {
                let _ = parse(k, &text);
                let _ = parse(k, &format!("{}\n{text}", k.starter_header()));
            }
        }
    }
}
