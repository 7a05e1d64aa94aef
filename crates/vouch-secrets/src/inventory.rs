//! The secrets inventory: `.vouch/secrets.yaml` lists every credential the team runs with, where
//! it is stored, who owns it and how often it is rotated. `vouch secrets inventory` renders it
//! as the D5 register `security/secrets.csv`; `vouch check` reports entries whose rotation is
//! overdue and entries without an owner or a rotation policy.
//!
//! ```yaml
//! secrets:
//!   - name: STRIPE_API_KEY
//!     scope: prod
//!     storage: AWS Secrets Manager
//!     rotation: 90 days            # or "6 months", "1y", "on-demand" (a trigger, not a cadence)
//!     access: [payments-deployer, sre-oncall]
//!     owner: payments@example.com
//!     last_rotated: 2026-09-01
//!     audit_log: https://console.aws.amazon.com/cloudtrail
//! ```

use std::path::Path;

use jiff::civil::Date;
use marked_yaml::Spanned;
use serde::Deserialize;
use vouch_core::{Finding, InputError, Location, Region, Rule, Severity};

/// Where the inventory lives, relative to the repository root.
pub const INVENTORY_FILE: &str = ".vouch/secrets.yaml";
/// Where `vouch secrets inventory` writes the register by default.
pub const REGISTER_FILE: &str = "security/secrets.csv";
/// The register's columns (D5 "Secrets & Access Control"), then the owner.
pub const COLUMNS: [&str; 8] = [
    "Secret",
    "Scope",
    "StorageMethod",
    "RotationPolicy",
    "AccessRoles",
    "LastRotated",
    "AuditLog",
    "Owner",
];

pub const ROTATION_OVERDUE: Rule = Rule {
    id: "secrets/rotation-overdue",
    severity: Severity::High,
    summary: "A secret's rotation is overdue under its own rotation policy",
    help: "Rotate the secret (issue a new one, deploy it, revoke the old one), then update \
           `last_rotated` in .vouch/secrets.yaml and regenerate the register with \
           `vouch secrets inventory`.",
    references: &[],
};

pub const NO_OWNER: Rule = Rule {
    id: "secrets/inventory-no-owner",
    severity: Severity::Medium,
    summary: "A secret in the inventory has no owner",
    help: "Add `owner:` (a team or person who answers for rotating and revoking it).",
    references: &[],
};

pub const NO_ROTATION_POLICY: Rule = Rule {
    id: "secrets/inventory-no-rotation-policy",
    severity: Severity::Medium,
    summary: "A secret in the inventory has no rotation policy",
    help: "Add `rotation:` with a cadence (`90 days`, `6 months`) or a trigger (`on-demand`, \
           `short-lived`), and `last_rotated:` with the date of the last rotation.",
    references: &[],
};

/// The rules the inventory reports.
pub const RULES: &[&Rule] = &[&ROTATION_OVERDUE, &NO_OWNER, &NO_ROTATION_POLICY];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    secrets: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<Spanned<String>>,
    scope: Option<Spanned<String>>,
    storage: Option<Spanned<String>>,
    rotation: Option<Spanned<String>>,
    #[serde(default)]
    access: Vec<Spanned<String>>,
    owner: Option<Spanned<String>>,
    last_rotated: Option<Spanned<String>>,
    audit_log: Option<Spanned<String>>,
}

/// One inventoried secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub scope: String,
    pub storage: String,
    pub rotation: String,
    pub access: Vec<String>,
    pub owner: String,
    pub last_rotated: Option<Date>,
    pub audit_log: String,
    pub line: u32,
}

/// A parsed inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Root-relative path, for findings.
    pub file: String,
    pub entries: Vec<Entry>,
}

fn line_of<T>(s: &Spanned<T>) -> u32 {
    s.span()
        .start()
        .map(|m| u32::try_from(m.line()).unwrap_or(0))
        .unwrap_or(0)
}

fn text(s: &Option<Spanned<String>>) -> String {
    s.as_ref().map(|v| v.trim().to_string()).unwrap_or_default()
}

/// A rotation cadence in days (`90 days`, `90d`, `6 months`, `1 year`, `2w`), or `None` for
/// triggers (`on-demand`, `short-lived`) that have no due date.
pub fn cadence_days(policy: &str) -> Option<i64> {
    let p = policy.trim().to_ascii_lowercase();
    let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: i64 = digits.parse().ok()?;
    let unit = p[digits.len()..].trim();
    let per = match unit {
        "d" | "day" | "days" => 1,
        "w" | "wk" | "week" | "weeks" => 7,
        "m" | "mo" | "month" | "months" => 30,
        "y" | "yr" | "year" | "years" => 365,
        _ => return None,
    };
    Some(n * per)
}

impl Inventory {
    pub fn parse(shown: &Path, rel: &str, src: &str) -> Result<Inventory, InputError> {
        let mut inv = Inventory {
            file: rel.to_string(),
            entries: Vec::new(),
        };
        if src.trim().is_empty() {
            return Ok(inv);
        }
        vouch_core::yaml::check(src).map_err(|e| e.or_file(shown))?;
        let raw: RawFile = marked_yaml::from_yaml(0, src).map_err(|e| {
            InputError::in_file(shown, format!("not a secrets inventory: {e}"))
                .with_hint("see docs/secrets.md#inventory for the format")
        })?;
        for e in raw.secrets {
            let line = line_of(&e);
            let name = text(&e.name);
            if name.is_empty() {
                return Err(
                    InputError::at(shown, line, None, "inventory entry without `name`")
                        .with_hint("name the secret as the code refers to it, e.g. STRIPE_API_KEY"),
                );
            }
            let last_rotated = match &e.last_rotated {
                Some(d) => Some(d.trim().parse::<Date>().map_err(|_| {
                    InputError::at(
                        shown,
                        line_of(d),
                        None,
                        format!("`last_rotated: {}` is not a date", d.as_str()),
                    )
                    .with_hint("use YYYY-MM-DD")
                })?),
                None => None,
            };
            inv.entries.push(Entry {
                name,
                scope: text(&e.scope),
                storage: text(&e.storage),
                rotation: text(&e.rotation),
                access: e.access.iter().map(|a| a.trim().to_string()).collect(),
                owner: text(&e.owner),
                last_rotated,
                audit_log: text(&e.audit_log),
                line,
            });
        }
        Ok(inv)
    }

    pub fn load(path: &Path, rel: &str) -> Result<Inventory, InputError> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        Inventory::parse(path, rel, &src)
    }

    /// The register as CSV (RFC 4180 quoting), entries in file order.
    pub fn to_csv(&self) -> String {
        let mut out = COLUMNS.join(",");
        out.push('\n');
        for e in &self.entries {
            let cells = [
                e.name.clone(),
                e.scope.clone(),
                e.storage.clone(),
                e.rotation.clone(),
                e.access.join("; "),
                e.last_rotated.map(|d| d.to_string()).unwrap_or_default(),
                e.audit_log.clone(),
                e.owner.clone(),
            ];
            let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }

    /// Findings: overdue rotation, missing owner, missing rotation policy.
    pub fn check(&self, today: Date) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in &self.entries {
            let loc = Location::at(self.file.clone(), Region::line(e.line));
            if e.owner.is_empty() {
                out.push(
                    Finding::new(
                        &NO_OWNER,
                        loc.clone(),
                        format!("secret {} has no owner", e.name),
                        &e.name,
                    )
                    .with_annotation("no `owner:`"),
                );
            }
            if e.rotation.is_empty() {
                out.push(
                    Finding::new(
                        &NO_ROTATION_POLICY,
                        loc.clone(),
                        format!("secret {} has no rotation policy", e.name),
                        &e.name,
                    )
                    .with_annotation("no `rotation:`"),
                );
                continue;
            }
            let Some(days) = cadence_days(&e.rotation) else {
                continue;
            };
            match e.last_rotated {
                Some(last) => {
                    let age = (today - last).get_days() as i64;
                    if age > days {
                        out.push(
                            Finding::new(
                                &ROTATION_OVERDUE,
                                loc,
                                format!(
                                    "secret {} was last rotated on {last} ({age} days ago); its policy is every {} ({days} days), so it is {} days overdue",
                                    e.name, e.rotation, age - days
                                ),
                                &e.name,
                            )
                            .with_annotation("rotation overdue"),
                        );
                    }
                }
                None => out.push(
                    Finding::new(
                        &ROTATION_OVERDUE,
                        loc,
                        format!(
                            "secret {} must be rotated every {} but has no `last_rotated` date",
                            e.name, e.rotation
                        ),
                        &e.name,
                    )
                    .with_annotation("never rotated"),
                ),
            }
        }
        out
    }
}

/// The D5 Storage Method of a secret the scanner found in the repository. An encrypted key is
/// never described as plaintext: it is stored under a passphrase (an offline guessing target
/// whose passphrase must be kept elsewhere), not readable as it is.
pub fn storage_method(rule: &str) -> &'static str {
    match rule {
        "secrets/encrypted-private-key" => {
            "encrypted key in repository (passphrase-protected, not plaintext)"
        }
        _ => "plaintext in repository",
    }
}

/// One secret value the scanner found, with every place it was found (a value in two files is
/// one secret, one register row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSecret {
    /// The rule of its first finding.
    pub rule: String,
    /// `sha256:` + 8 hex digits of the value's hash (never the value).
    pub secret_id: String,
    /// `path:line`, sorted.
    pub places: Vec<String>,
}

impl FoundSecret {
    /// The register's Secret cell: `secrets/private-key sha256:3f1c2a9b at a.pem:1; b.yaml:9`.
    pub fn label(&self) -> String {
        format!(
            "{} {} at {}",
            self.rule,
            self.secret_id,
            self.places.join("; ")
        )
    }
    pub fn storage_method(&self) -> &'static str {
        storage_method(&self.rule)
    }
}

/// Groups active secret findings by value.
pub fn found_secrets(findings: &[Finding]) -> Vec<FoundSecret> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<String, FoundSecret> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.is_active()) {
        let Some(h) = f
            .properties
            .get("secret_sha256_prefix")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let e = by.entry(h.to_string()).or_insert_with(|| FoundSecret {
            rule: f.rule.clone(),
            secret_id: format!("sha256:{}", h.get(..8).unwrap_or(h)),
            places: Vec::new(),
        });
        let at = format!("{}:{}", f.location.path, f.location.line().unwrap_or(0));
        if !e.places.contains(&at) {
            e.places.push(at);
        }
    }
    let mut out: Vec<FoundSecret> = by.into_values().collect();
    for s in &mut out {
        s.places.sort();
    }
    out.sort_by(|a, b| a.places.cmp(&b.places));
    out
}

impl Inventory {
    /// The register with a row per secret found in the repository appended (Secret: rule, hash
    /// id and places; Storage Method from [`storage_method`]; the other cells left for the
    /// owner to fill).
    pub fn to_csv_with_found(&self, found: &[FoundSecret]) -> String {
        let mut out = self.to_csv();
        for s in found {
            let cells = [
                s.label(),
                String::new(),
                s.storage_method().to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ];
            let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

fn csv_cell(s: &str) -> String {
    // Formula-looking cells are prefixed so spreadsheets do not evaluate them.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INV: &str = "secrets:\n  - name: STRIPE_API_KEY\n    scope: prod\n    storage: AWS Secrets Manager\n    rotation: 90 days\n    access: [payments-deployer, sre]\n    owner: payments@example.com\n    last_rotated: 2026-01-01\n    audit_log: cloudtrail\n  - name: OTA_SIGN_KEY\n    scope: prod\n    storage: HSM\n    rotation: on-demand\n  - name: LEGACY_TOKEN\n    owner: ops\n";

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn csv_and_checks() {
        let inv = Inventory::parse(Path::new("s.yaml"), INVENTORY_FILE, INV).unwrap();
        insta::assert_snapshot!(inv.to_csv());
        let fs = inv.check(day("2026-06-01"));
        let rules: Vec<(&str, Option<u32>)> = fs
            .iter()
            .map(|f| (f.rule.as_str(), f.location.line()))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("secrets/rotation-overdue", Some(2)),
                ("secrets/inventory-no-owner", Some(10)),
                ("secrets/inventory-no-rotation-policy", Some(14)),
            ]
        );
        assert!(
            inv.check(day("2026-02-01"))
                .iter()
                .all(|f| f.rule != "secrets/rotation-overdue")
        );
    }

    #[test]
    fn found_secrets_are_grouped_and_encrypted_keys_are_not_plaintext() {
        let scanner = crate::scan::Scanner::new(crate::scan::ScanOptions::default()).unwrap();
        let mut findings = Vec::new();
        let pw = "DB_PASSWORD=Zq8vK2mPp4rT7wXy\n";
        for (path, text) in [("a.env", pw.to_string()), ("b.env", format!("# b\n{pw}"))] {
            let out = scanner.scan_bytes(path, text.as_bytes());
            findings.extend(out.hits.iter().map(crate::report::finding));
        }
        let enc = crate::rules::all()
            .into_iter()
            .find(|r| r.id() == "secrets/encrypted-private-key")
            .unwrap()
            .examples[0];
        let out = scanner.scan_bytes("keys/cosign.key", enc.as_bytes());
        findings.extend(out.hits.iter().map(crate::report::finding));
        let found = found_secrets(&findings);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].places, vec!["a.env:1", "b.env:2"]);
        assert_eq!(found[0].storage_method(), "plaintext in repository");
        assert_eq!(found[1].rule, "secrets/encrypted-private-key");
        assert!(!found[1].storage_method().starts_with("plaintext"));
        let inv = Inventory::parse(Path::new("s.yaml"), INVENTORY_FILE, INV).unwrap();
        let csv = inv.to_csv_with_found(&found);
        assert!(
            csv.contains("a.env:1; b.env:2,,plaintext in repository"),
            "{csv}"
        );
        assert!(csv.contains("encrypted key in repository (passphrase-protected, not plaintext)"));
        assert!(!csv.contains("Zq8vK2mPp4rT7wXy"));
    }

    #[test]
    fn cadences() {
        assert_eq!(cadence_days("90 days"), Some(90));
        assert_eq!(cadence_days("6 months"), Some(180));
        assert_eq!(cadence_days("1y"), Some(365));
        assert_eq!(cadence_days("on-demand"), None);
    }

    #[test]
    fn bad_inventories() {
        let e = Inventory::parse(Path::new("s"), "s", "secrets:\n  - scope: prod\n").unwrap_err();
        assert!(e.message.contains("name"), "{e}");
        let e = Inventory::parse(
            Path::new("s"),
            "s",
            "secrets:\n  - name: A\n    last_rotated: soon\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            Inventory::parse(
                Path::new("s"),
                "s",
                "secrets:\n  - name: A\n    colour: red\n"
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "(secrets:\n  - |name: |[a-z_:\\-\\[\\] \n]|last_rotated: ){0,40}") {
            let _ = Inventory::parse(Path::new("s"), "s", &s);
        }
    }
}
