//! `.vouch/exceptions.yaml`: time-boxed, owned decisions to accept a finding.
//!
//! Every entry needs an id, a matcher (`rule` glob with an optional `path` glob, a
//! `fingerprint`, or a `vuln` id), an `owner`, an `expires` date and a `reason`. A missing or
//! malformed field is bad input (exit 2). An expired entry stops suppressing and becomes an
//! `exception/expired` finding; an entry that matches nothing is `exception/stale`; one whose
//! expiry lies further out than the allowed lifetime is `exception/too-long`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use jiff::civil::Date;
use marked_yaml::Spanned;
use serde::Deserialize;

use crate::{Finding, InputError, Location, Region, Rule, Severity};

/// Where exceptions live, relative to the scanned root.
pub const EXCEPTIONS_FILE: &str = ".vouch/exceptions.yaml";

pub const EXPIRED: Rule = Rule {
    id: "exception/expired",
    severity: Severity::High,
    summary: "An exception has expired and no longer suppresses its findings",
    help: "Fix the findings the exception covered, or renew it with a new `expires` date and \
           a reason that says why the risk is still accepted. Expired exceptions fail the run \
           so that accepted risk is reviewed, not forgotten.",
    references: &[],
};

pub const STALE: Rule = Rule {
    id: "exception/stale",
    severity: Severity::Low,
    summary: "An exception matches no finding",
    help: "The problem it covered is gone (or the matcher has a typo). Remove the entry from \
           .vouch/exceptions.yaml so that it cannot silently suppress a future finding.",
    references: &[],
};

pub const TOO_LONG: Rule = Rule {
    id: "exception/too-long",
    severity: Severity::Medium,
    summary: "An exception expires further out than the allowed lifetime",
    help: "Choose an `expires` date within `[exceptions] max_lifetime_days` (default 90) of \
           today, and renew it when it comes due.",
    references: &[],
};

/// The rules this module reports.
pub const RULES: &[&Rule] = &[&EXPIRED, &STALE, &TOO_LONG];

/// One validated exception.
#[derive(Debug, Clone)]
pub struct Exception {
    pub id: String,
    pub rule: Option<String>,
    rule_glob: Option<Pattern>,
    pub path: Option<String>,
    path_glob: Option<Pattern>,
    pub fingerprint: Option<String>,
    pub vuln: Option<String>,
    pub owner: String,
    pub expires: Date,
    pub reason: String,
    /// Line of the entry in the file.
    pub line: u32,
}

impl Exception {
    /// Whether the entry names a rule and that rule (glob) matches `rule_id`.
    pub fn names_rule(&self, rule_id: &str) -> bool {
        self.rule_glob.as_ref().is_some_and(|g| g.is_match(rule_id))
    }

    /// Whether this entry covers `finding` (ignoring expiry).
    pub fn matches(&self, finding: &Finding) -> bool {
        let rule_ok = self
            .rule_glob
            .as_ref()
            .is_none_or(|g| g.is_match(&finding.rule));
        let path_ok = self
            .path_glob
            .as_ref()
            .is_none_or(|g| g.is_match(&finding.location.path));
        let fingerprint_ok = self.fingerprint.as_ref().is_none_or(|fp| {
            let base = finding.fingerprint.split(':').next().unwrap_or("");
            fp == &finding.fingerprint || fp == base
        });
        let vuln_ok = self.vuln.as_ref().is_none_or(|v| {
            vuln_ids(finding)
                .iter()
                .any(|id| id.eq_ignore_ascii_case(v))
        });
        rule_ok && path_ok && fingerprint_ok && vuln_ok
    }

    /// Days from `today` until expiry (negative once expired).
    pub fn days_left(&self, today: Date) -> i64 {
        (self.expires - today).get_days() as i64
    }
}

/// A rule or path matcher. Most entries name one file or one rule exactly: those compare
/// strings instead of holding a compiled regular expression each (tens of kilobytes apiece,
/// a gigabyte for 40,000 entries).
#[derive(Debug, Clone)]
enum Pattern {
    Literal(String),
    Glob(GlobMatcher),
}

impl Pattern {
    fn new(text: &str, glob: Glob) -> Pattern {
        if text.contains(['*', '?', '[', ']', '{', '}', '\\']) {
            Pattern::Glob(glob.compile_matcher())
        } else {
            Pattern::Literal(text.to_string())
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Literal(l) => l == s,
            Pattern::Glob(g) => g.is_match(s),
        }
    }
}

/// The vulnerability ids a finding carries: the rule suffix of `vuln/<ID>` plus the `aliases`
/// property, so that an exception for a CVE covers the GHSA that aliases it.
fn vuln_ids(finding: &Finding) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(id) = finding.rule.strip_prefix("vuln/") {
        ids.push(id.to_string());
    }
    if let Some(serde_json::Value::Array(a)) = finding.properties.get("aliases") {
        ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
    }
    ids
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct ExceptionSet {
    /// The file's path relative to the scanned root (for findings).
    pub file: String,
    pub entries: Vec<Exception>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    exceptions: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    fingerprint: Option<Spanned<String>>,
    vuln: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
}

fn line_of<T>(s: &Spanned<T>) -> u32 {
    s.span()
        .start()
        .map(|m| u32::try_from(m.line()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

impl ExceptionSet {
    /// Reads `root/.vouch/exceptions.yaml`; a missing file is an empty set.
    pub fn discover(root: &Path) -> Result<ExceptionSet, InputError> {
        let full = root.join(EXCEPTIONS_FILE);
        // Only a path that does not exist at all means "no exceptions": a directory or FIFO
        // in its place is bad input, not an empty file.
        if std::fs::symlink_metadata(&full).is_err() {
            return Ok(ExceptionSet {
                file: EXCEPTIONS_FILE.to_string(),
                entries: Vec::new(),
            });
        }
        let text = crate::fs::read_regular_to_string(&full, crate::fs::MAX_INPUT_LEN)?;
        ExceptionSet::parse(&full, EXCEPTIONS_FILE, &text)
    }

    /// Parses and validates the text of an exceptions file. `shown` is the path used in error
    /// messages, `rel` the root-relative path used in findings.
    pub fn parse(shown: &Path, rel: &str, text: &str) -> Result<ExceptionSet, InputError> {
        let mut set = ExceptionSet {
            file: rel.to_string(),
            entries: Vec::new(),
        };
        if text.trim().is_empty() {
            return Ok(set);
        }
        let raw: RawFile = crate::yaml::from_yaml(shown, text)
            .map_err(|e| e.or_hint("see docs/exceptions.md for the format"))?;
        let mut ids = BTreeSet::new();
        for entry in raw.exceptions {
            let line = line_of(&entry);
            let e = entry;
            let need = |field: Option<&Spanned<String>>, name: &str, why: &str| match field {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                _ => {
                    Err(
                        InputError::at(shown, line, None, format!("exception is missing `{name}`"))
                            .with_hint(why.to_string()),
                    )
                }
            };
            let id = need(
                e.id.as_ref(),
                "id",
                "give every exception a unique id such as EXC-12",
            )?;
            if !ids.insert(id.clone()) {
                return Err(InputError::at(
                    shown,
                    line,
                    None,
                    format!("duplicate exception id `{id}`"),
                )
                .with_hint("ids must be unique"));
            }
            let owner = need(
                e.owner.as_ref(),
                "owner",
                "name who answers for this risk, e.g. a team address",
            )?;
            let reason = need(
                e.reason.as_ref(),
                "reason",
                "say why the finding is accepted and where it is tracked",
            )?;
            let expires_raw = need(
                e.expires.as_ref(),
                "expires",
                "every exception must expire; use a date such as 2026-12-31",
            )?;
            let expires_line = e.expires.as_ref().map(line_of).unwrap_or(line);
            let expires: Date = expires_raw.parse().map_err(|_| {
                InputError::at(
                    shown,
                    expires_line,
                    None,
                    format!("`expires: {expires_raw}` is not a date"),
                )
                .with_hint("use YYYY-MM-DD")
            })?;
            let rule = e.rule.as_ref().map(|r| r.trim().to_string());
            let fingerprint = e.fingerprint.as_ref().map(|r| r.trim().to_string());
            let vuln = e.vuln.as_ref().map(|r| r.trim().to_string());
            if rule.is_none() && fingerprint.is_none() && vuln.is_none() {
                return Err(InputError::at(
                    shown,
                    line,
                    None,
                    format!("exception `{id}` has no matcher"),
                )
                .with_hint("add `rule:` (optionally with `path:`), `fingerprint:` or `vuln:`"));
            }
            let glob = |pattern: &Spanned<String>, what: &str| {
                Glob::new(pattern.trim())
                    .map(|g| Pattern::new(pattern.trim(), g))
                    .map_err(|err| {
                        InputError::at(
                            shown,
                            line_of(pattern),
                            None,
                            format!("bad {what} glob `{}`: {err}", pattern.as_str()),
                        )
                    })
            };
            let rule_glob = e.rule.as_ref().map(|r| glob(r, "rule")).transpose()?;
            let path_glob = e.path.as_ref().map(|p| glob(p, "path")).transpose()?;
            set.entries.push(Exception {
                id,
                rule,
                rule_glob,
                path: e.path.as_ref().map(|p| p.trim().to_string()),
                path_glob,
                fingerprint,
                vuln,
                owner,
                expires,
                reason,
                line,
            });
        }
        Ok(set)
    }

    /// Marks the findings each live exception covers and returns the findings about the
    /// exceptions themselves (expired, stale, too long).
    ///
    /// A finding is suppressed by the first live entry (in file order) that matches it; an
    /// entry that is the first match of no finding is stale. Entries are indexed by the one
    /// key each must match (fingerprint, vulnerability id, path glob or rule glob), so each
    /// finding is compared with its few candidates, not with every entry: 40,000 entries
    /// against as many findings take well under a second instead of minutes.
    pub fn apply(
        &self,
        findings: &mut [Finding],
        today: Date,
        max_lifetime_days: u32,
    ) -> Vec<Finding> {
        let live: Vec<bool> = self
            .entries
            .iter()
            .map(|ex| ex.days_left(today) >= 0)
            .collect();
        let index = Index::build(&self.entries, &live);
        let mut used = vec![false; self.entries.len()];
        let mut candidates = Vec::new();
        for f in findings.iter_mut() {
            if f.suppressed_by.is_some() {
                continue;
            }
            candidates.clear();
            index.candidates(f, &mut candidates);
            let first = candidates
                .iter()
                .copied()
                .filter(|&i| self.entries[i].matches(f))
                .min();
            if let Some(i) = first {
                f.suppressed_by = Some(self.entries[i].id.clone());
                used[i] = true;
            }
        }
        let mut meta = Vec::new();
        for (i, ex) in self.entries.iter().enumerate() {
            let location = Location::at(self.file.clone(), Region::line(ex.line));
            let days_left = ex.days_left(today);
            if !live[i] {
                meta.push(
                    Finding::new(
                        &EXPIRED,
                        location,
                        format!(
                            "exception {} expired on {} ({} days ago); it no longer suppresses findings (owner: {})",
                            ex.id, ex.expires, -days_left, ex.owner
                        ),
                        &ex.id,
                    )
                    .with_annotation("expired"),
                );
                continue;
            }
            if days_left > i64::from(max_lifetime_days) {
                meta.push(
                    Finding::new(
                        &TOO_LONG,
                        location.clone(),
                        format!(
                            "exception {} expires on {}, {} days from now; the limit is {} days",
                            ex.id, ex.expires, days_left, max_lifetime_days
                        ),
                        &ex.id,
                    )
                    .with_annotation("expires too far out"),
                );
            }
            if !used[i] {
                meta.push(
                    Finding::new(
                        &STALE,
                        location,
                        format!("exception {} matches no finding; remove it", ex.id),
                        &ex.id,
                    )
                    .with_annotation("matches nothing"),
                );
            }
        }
        meta
    }
}

/// Live entries by the one key each of them must match. Every entry is in exactly one place,
/// chosen from its most selective matcher, and a candidate is always re-checked with
/// [`Exception::matches`], so the index can only narrow the search, never change a result.
struct Index {
    by_fingerprint: HashMap<String, Vec<usize>>,
    by_vuln: HashMap<String, Vec<usize>>,
    /// Entries with a `path` (and no fingerprint or vuln), by path glob.
    paths: GlobSet,
    path_ids: Vec<usize>,
    /// Entries with only a `rule`, by rule glob.
    rules: GlobSet,
    rule_ids: Vec<usize>,
}

impl Index {
    fn build(entries: &[Exception], live: &[bool]) -> Index {
        let mut by_fingerprint: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_vuln: HashMap<String, Vec<usize>> = HashMap::new();
        let (mut paths, mut path_ids) = (GlobSetBuilder::new(), Vec::new());
        let (mut rules, mut rule_ids) = (GlobSetBuilder::new(), Vec::new());
        for (i, ex) in entries.iter().enumerate() {
            if !live[i] {
                continue;
            }
            if let Some(fp) = &ex.fingerprint {
                by_fingerprint.entry(fp.clone()).or_default().push(i);
            } else if let Some(v) = &ex.vuln {
                by_vuln.entry(v.to_ascii_lowercase()).or_default().push(i);
            } else if let Some(glob) = ex.path.as_deref().and_then(|p| Glob::new(p).ok()) {
                paths.add(glob);
                path_ids.push(i);
            } else if let Some(glob) = ex.rule.as_deref().and_then(|r| Glob::new(r).ok()) {
                rules.add(glob);
                rule_ids.push(i);
            }
        }
        // The globs were compiled once already when the file was parsed, so building the sets
        // cannot fail; an empty set (matching nothing) is the safe fallback regardless.
        Index {
            by_fingerprint,
            by_vuln,
            paths: paths.build().unwrap_or_else(|_| GlobSet::empty()),
            path_ids,
            rules: rules.build().unwrap_or_else(|_| GlobSet::empty()),
            rule_ids,
        }
    }

    /// The entries that may match `f` (a superset of those that do).
    fn candidates(&self, f: &Finding, out: &mut Vec<usize>) {
        let base = f.fingerprint.split(':').next().unwrap_or("");
        for fp in [f.fingerprint.as_str(), base] {
            if let Some(ids) = self.by_fingerprint.get(fp) {
                out.extend(ids);
            }
        }
        for v in vuln_ids(f) {
            if let Some(ids) = self.by_vuln.get(&v.to_ascii_lowercase()) {
                out.extend(ids);
            }
        }
        if !self.path_ids.is_empty() {
            out.extend(
                self.paths
                    .matches(&f.location.path)
                    .into_iter()
                    .map(|k| self.path_ids[k]),
            );
        }
        if !self.rule_ids.is_empty() {
            out.extend(
                self.rules
                    .matches(&f.rule)
                    .into_iter()
                    .map(|k| self.rule_ids[k]),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExceptionSet, InputError> {
        ExceptionSet::parse(Path::new(".vouch/exceptions.yaml"), EXCEPTIONS_FILE, text)
    }

    fn finding(rule: &str, path: &str) -> Finding {
        Finding::dynamic(rule, Severity::High, Location::file(path), "m", "k")
    }

    const VALID: &str = "exceptions:\n  - id: EXC-1\n    rule: secrets/*\n    path: tests/**\n    owner: sec@example.com\n    expires: 2026-12-31\n    reason: fixtures\n";

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn valid_entry_suppresses() {
        let set = parse(VALID).unwrap();
        let mut fs = vec![
            finding("secrets/aws", "tests/a.txt"),
            finding("secrets/aws", "src/a.rs"),
        ];
        let meta = set.apply(&mut fs, day("2026-11-01"), 90);
        assert!(meta.is_empty(), "{meta:?}");
        assert_eq!(fs[0].suppressed_by.as_deref(), Some("EXC-1"));
        assert!(fs[1].suppressed_by.is_none());
    }

    #[test]
    fn missing_owner_and_expiry_and_bad_date() {
        let e =
            parse("exceptions:\n  - id: A\n    rule: x\n    expires: 2026-01-01\n    reason: r\n")
                .unwrap_err();
        assert!(e.message.contains("owner"), "{e}");
        assert_eq!(e.line, Some(2));
        let e = parse("exceptions:\n  - id: A\n    rule: x\n    owner: o\n    reason: r\n")
            .unwrap_err();
        assert!(e.message.contains("expires"), "{e}");
        let e = parse("exceptions:\n  - id: A\n    rule: x\n    owner: o\n    expires: 2026-13-01\n    reason: r\n").unwrap_err();
        assert!(e.message.contains("not a date"), "{e}");
        assert_eq!(e.line, Some(5));
        let e =
            parse("exceptions:\n  - id: A\n    owner: o\n    expires: 2026-01-01\n    reason: r\n")
                .unwrap_err();
        assert!(e.message.contains("no matcher"), "{e}");
        let e = parse("exceptions:\n  - id: A\n    rule: x\n    owner: o\n    expires: 2026-01-01\n    reason: r\n    colour: red\n").unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn expired_stale_and_too_long() {
        let set = parse(VALID).unwrap();
        let mut fs = vec![finding("secrets/aws", "tests/a.txt")];
        let meta = set.apply(&mut fs, day("2027-01-01"), 90);
        assert_eq!(meta.len(), 1);
        assert_eq!(meta[0].rule, "exception/expired");
        assert!(fs[0].suppressed_by.is_none());

        let mut none: Vec<Finding> = vec![];
        let meta = set.apply(&mut none, day("2026-11-01"), 90);
        assert_eq!(meta[0].rule, "exception/stale");

        let meta = set.apply(&mut fs, day("2026-01-01"), 90);
        assert_eq!(meta[0].rule, "exception/too-long");
        assert_eq!(fs[0].suppressed_by.as_deref(), Some("EXC-1"));
    }

    #[test]
    fn vuln_matcher_uses_aliases() {
        let set = parse("exceptions:\n  - id: V\n    vuln: CVE-2024-1\n    owner: o\n    expires: 2026-12-01\n    reason: r\n").unwrap();
        let mut fs = vec![
            finding("vuln/GHSA-aaaa-bbbb-cccc", "Cargo.lock")
                .with_property("aliases", serde_json::json!(["CVE-2024-1"])),
        ];
        set.apply(&mut fs, day("2026-11-01"), 90);
        assert_eq!(fs[0].suppressed_by.as_deref(), Some("V"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn mutated_valid_files_never_panic(cut in 0usize..400, insert in "[\\-:\\[\\]{}' #a-z0-9\n]{0,8}") {
            let mut t = VALID.to_string();
            let at = cut.min(t.len());
            t.insert_str(at, &insert);
            let _ = parse(&t);
        }
    }

    /// The matching `apply` did before it was indexed: every entry against every finding.
    fn naive(set: &ExceptionSet, findings: &mut [Finding], today: Date) -> Vec<(String, bool)> {
        let mut used = Vec::new();
        for ex in &set.entries {
            if ex.days_left(today) < 0 {
                continue;
            }
            let mut u = false;
            for f in findings.iter_mut() {
                if f.suppressed_by.is_none() && ex.matches(f) {
                    f.suppressed_by = Some(ex.id.clone());
                    u = true;
                }
            }
            used.push((ex.id.clone(), u));
        }
        used
    }

    fn entry(i: usize, matcher: &str) -> String {
        format!(
            "  - id: E{i}\n    {matcher}\n    owner: o\n    expires: 2026-12-01\n    reason: r\n"
        )
    }

    #[test]
    fn first_entry_in_file_order_wins_across_index_kinds() {
        let text = format!(
            "exceptions:\n{}{}{}",
            entry(0, "rule: secrets/*"),
            entry(1, "path: src/**\n    rule: secrets/aws"),
            entry(2, "fingerprint: abc"),
        );
        let set = parse(&text).unwrap();
        let mut fs = vec![
            Finding::dynamic(
                "secrets/aws",
                Severity::High,
                Location::file("src/a"),
                "m",
                "k",
            ),
            Finding::dynamic(
                "workflow/x",
                Severity::High,
                Location::file("src/a"),
                "m",
                "k",
            ),
        ];
        fs[1].fingerprint = "abc:1".into();
        let meta = set.apply(&mut fs, day("2026-11-01"), 90);
        assert_eq!(fs[0].suppressed_by.as_deref(), Some("E0"));
        assert_eq!(fs[1].suppressed_by.as_deref(), Some("E2"));
        let stale: Vec<&str> = meta.iter().map(|m| m.message.as_str()).collect();
        assert_eq!(stale.len(), 1, "{stale:?}");
        assert!(stale[0].contains("E1"), "{stale:?}");
    }

    proptest::proptest! {
        /// The index narrows the search without changing any result.
        #[test]
        fn indexed_apply_equals_naive(
            entries in proptest::collection::vec((0u8..6, 0u8..4, 0u8..4, proptest::bool::ANY), 0..12),
            findings in proptest::collection::vec((0u8..4, 0u8..4, 0u8..3), 0..12),
        ) {
            let rules = ["secrets/aws", "secrets/*", "workflow/x", "vuln/GHSA-1"];
            let paths = ["a.rs", "src/*", "src/b.rs", "**"];
            let mut text = String::from("exceptions:\n");
            for (i, (kind, r, p, expired)) in entries.iter().enumerate() {
                let matcher = match kind {
                    0 => format!("rule: {}", rules[*r as usize]),
                    1 => format!("rule: {}\n    path: '{}'", rules[*r as usize], paths[*p as usize]),
                    2 => format!("fingerprint: fp{r}"),
                    3 => format!("vuln: cve-{r}"),
                    4 => format!("path: '{}'\n    fingerprint: fp{r}", paths[*p as usize]),
                    _ => format!("rule: {}\n    vuln: CVE-{p}", rules[*r as usize]),
                };
                let e = entry(i, &matcher);
                text.push_str(&if *expired { e.replace("2026-12-01", "2026-01-01") } else { e });
            }
            let set = parse(&text).unwrap();
            let make = || -> Vec<Finding> {
                findings.iter().map(|(r, p, fp)| {
                    let path = ["a.rs", "src/b.rs", "src/c/d.rs", "x"][*p as usize];
                    let mut f = Finding::dynamic(rules[*r as usize], Severity::High, Location::file(path), "m", "k")
                        .with_property("aliases", serde_json::json!([format!("CVE-{fp}")]));
                    f.fingerprint = format!("fp{fp}:{p}");
                    f
                }).collect()
            };
            let today = day("2026-11-01");
            let mut a = make();
            let meta = set.apply(&mut a, today, 90);
            let mut b = make();
            let used = naive(&set, &mut b, today);
            let sa: Vec<_> = a.iter().map(|f| f.suppressed_by.clone()).collect();
            let sb: Vec<_> = b.iter().map(|f| f.suppressed_by.clone()).collect();
            proptest::prop_assert_eq!(sa, sb);
            let stale: Vec<bool> = used.iter().map(|(id, _)| meta.iter().any(|m| m.rule == "exception/stale" && m.message.contains(&format!("exception {id} ")))).collect();
            let expect: Vec<bool> = used.iter().map(|(_, u)| !u).collect();
            proptest::prop_assert_eq!(stale, expect);
        }
    }

    /// 10,000 entries against 10,000 findings: 10 s when every entry met every finding.
    /// Counted, not timed: each finding is compared with at most a handful of entries.
    #[test]
    fn large_files_match_in_near_linear_time() {
        let n = 10_000;
        let mut text = String::from("exceptions:\n");
        for i in 0..n {
            text.push_str(&entry(
                i,
                &format!("rule: secrets/aws\n    path: src/f{i}.rs"),
            ));
        }
        let set = parse(&text).unwrap();
        let index = Index::build(&set.entries, &vec![true; n]);
        let mut out = Vec::new();
        let mut fs: Vec<Finding> = (0..n)
            .map(|i| finding("secrets/aws", &format!("src/f{i}.rs")))
            .collect();
        let mut total = 0;
        for f in &fs {
            out.clear();
            index.candidates(f, &mut out);
            total += out.len();
        }
        assert_eq!(total, n);
        let meta = set.apply(&mut fs, day("2026-11-01"), 90);
        assert!(meta.is_empty());
        assert!(
            fs.iter()
                .enumerate()
                .all(|(i, f)| f.suppressed_by.as_deref() == Some(&*format!("E{i}")))
        );
    }

    #[test]
    fn nul_byte_is_refused_not_truncated() {
        let text = format!("{VALID}\0  - id: EXC-2\n");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
        assert_eq!(e.line, Some(8));
    }

    #[cfg(unix)]
    #[test]
    fn directory_in_place_of_the_file_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(EXCEPTIONS_FILE)).unwrap();
        let e = ExceptionSet::discover(dir.path()).unwrap_err();
        assert!(e.message.contains("directory"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(
            ExceptionSet::discover(empty.path())
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "exceptions: 3",
            ":\n-",
            "exceptions:\n  - [1,2]",
            "\u{0}\u{1}",
            "exceptions:\n  - id: [x]\n",
        ] {
            let _ = parse(t);
        }
    }
}
