//! Inline suppressions for every rule family: `vouch:allow` comments in the scanned file.
//!
//! ```text
//! - uses: vendor/tool@v2  # vouch:allow workflow/unpinned-action vendor publishes no SHAs (SEC-41)
//! # vouch:allow-next-line iam/wildcard-action read-only audit role
//! "Action": "s3:Get*",
//! ```
//!
//! The grammar is the one the secret scanner has always used: the marker, then the rule ids it
//! allows (words containing `/`, separated by spaces or commas; `family/*` globs), then a free
//! reason. A marker with no rule id allows every rule on that line. `vouch:allow` covers the
//! line it is on, `vouch:allow-next-line` the line below. A suppressed finding stays in the
//! report with `suppressed_by = "vouch:allow"`, so reviewers still see it.
//!
//! The engine applies this once for every check ([`apply_under`], from [`crate::engine::run`]);
//! single-family commands call [`apply_to_text`] with the file they already hold.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Finding;

/// The comment marker.
pub const MARKER: &str = "vouch:allow";
/// The marker for the line below.
pub const NEXT_LINE_MARKER: &str = "vouch:allow-next-line";
/// The `suppressed_by` value of findings allowed inline.
pub const SUPPRESSED_BY: &str = "vouch:allow";

/// Whether `rule` is allowed on `line` (1-based) of `text` by a `vouch:allow` on that line or a
/// `vouch:allow-next-line` on the line above.
pub fn allows(text: &str, line: u32, rule: &str) -> bool {
    if line == 0 {
        return false;
    }
    let idx = line as usize - 1;
    let mut lines = text.lines();
    let (above, this) = if idx == 0 {
        (None, lines.next())
    } else {
        let above = lines.nth(idx - 1);
        (above, lines.next())
    };
    if let Some(this) = this
        && !this.contains(NEXT_LINE_MARKER)
        && marker_allows(this, MARKER, rule)
    {
        return true;
    }
    above.is_some_and(|a| marker_allows(a, NEXT_LINE_MARKER, rule))
}

/// `marker` in `line`, followed by no rule id (every rule) or by ids that name `rule`.
fn marker_allows(line: &str, marker: &str, rule: &str) -> bool {
    let Some(pos) = line.find(marker) else {
        return false;
    };
    let rest = &line[pos + marker.len()..];
    // `vouch:allowed` or `vouch:allow-foo` is not the marker.
    if rest
        .chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && c != ',')
    {
        return false;
    }
    let ids: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take_while(|w| w.contains('/'))
        .collect();
    ids.is_empty()
        || ids
            .iter()
            .any(|i| *i == rule || (i.ends_with("/*") && rule.starts_with(&i[..i.len() - 1])))
}

/// Marks the active findings of one file whose first line carries an allow comment. Every
/// finding passed must be about `text`.
pub fn apply_to_text(findings: &mut [Finding], text: &str) {
    if !text.contains(MARKER) {
        return;
    }
    for f in findings.iter_mut().filter(|f| f.suppressed_by.is_none()) {
        if let Some(line) = f.location.line()
            && allows(text, line, &f.rule)
        {
            f.suppressed_by = Some(SUPPRESSED_BY.to_string());
        }
    }
}

/// Applies inline allows to findings whose paths are relative to `root` (a directory, or the
/// single file that was checked). Each file with an active, positioned finding is read once;
/// a file that cannot be read (gone, not UTF-8, an archive member) is left alone.
pub fn apply_under(root: &Path, findings: &mut [Finding]) {
    let mut by_path: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.suppressed_by.is_none() && f.location.region.is_some() {
            by_path.entry(f.location.path.clone()).or_default().push(i);
        }
    }
    for (path, idx) in by_path {
        let file = if root.is_dir() {
            root.join(&path)
        } else if root
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == path)
        {
            root.to_path_buf()
        } else {
            root.parent().unwrap_or(root).join(&path)
        };
        if !file.is_file() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if !text.contains(MARKER) {
            continue;
        }
        for i in idx {
            if let Some(f) = findings.get_mut(i)
                && let Some(line) = f.location.line()
                && allows(&text, line, &f.rule)
            {
                f.suppressed_by = Some(SUPPRESSED_BY.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Region, Severity};

    fn finding(rule: &str, line: u32) -> Finding {
        Finding::dynamic(
            rule,
            Severity::High,
            Location::at("a.yml", Region::line(line)),
            "m",
            &format!("{rule}{line}"),
        )
    }

    const TEXT: &str = "a # vouch:allow workflow/unpinned-action vendor has no SHAs\n\
b # vouch:allow reviewed, nothing to fix\n\
# vouch:allow-next-line iam/* read-only audit role\n\
c\n\
d # vouch:allow workflow/x,workflow/y\n\
e # vouch:allowed is not the marker\n\
f\n";

    #[test]
    fn forms_of_the_comment() {
        assert!(allows(TEXT, 1, "workflow/unpinned-action"));
        assert!(!allows(TEXT, 1, "workflow/permissions"));
        assert!(allows(TEXT, 2, "iam/anything"), "no rule id: every rule");
        assert!(!allows(TEXT, 3, "iam/wildcard-action"), "next-line marker");
        assert!(allows(TEXT, 4, "iam/wildcard-action"));
        assert!(!allows(TEXT, 4, "workflow/permissions"));
        assert!(allows(TEXT, 5, "workflow/y"));
        assert!(!allows(TEXT, 5, "workflow/z"));
        assert!(!allows(TEXT, 6, "workflow/z"));
        assert!(!allows(TEXT, 7, "workflow/z"));
        assert!(!allows(TEXT, 0, "workflow/z"));
        assert!(!allows(TEXT, 99, "workflow/z"));
    }

    #[test]
    fn findings_are_marked_not_removed() {
        let mut fs = vec![
            finding("workflow/unpinned-action", 1),
            finding("workflow/permissions", 1),
            finding("iam/wildcard-action", 4),
        ];
        apply_to_text(&mut fs, TEXT);
        let by: Vec<Option<&str>> = fs.iter().map(|f| f.suppressed_by.as_deref()).collect();
        assert_eq!(by, [Some(SUPPRESSED_BY), None, Some(SUPPRESSED_BY)]);
    }

    #[test]
    fn files_under_a_root_are_read_once_and_others_left_alone() {
        let dir = std::env::temp_dir().join(format!("vouch-inline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yml"), TEXT).unwrap();
        let mut fs = vec![
            finding("workflow/unpinned-action", 1),
            Finding::dynamic(
                "workflow/unpinned-action",
                Severity::High,
                Location::at("missing.yml", Region::line(1)),
                "m",
                "k",
            ),
        ];
        apply_under(&dir, &mut fs);
        assert_eq!(fs[0].suppressed_by.as_deref(), Some(SUPPRESSED_BY));
        assert!(fs[1].suppressed_by.is_none());
        // A single checked file as the root.
        let mut one = vec![finding("workflow/unpinned-action", 1)];
        apply_under(&dir.join("a.yml"), &mut one);
        assert_eq!(one[0].suppressed_by.as_deref(), Some(SUPPRESSED_BY));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
