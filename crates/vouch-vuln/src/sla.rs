//! SLAs for fixing vulnerabilities (seed register D6): `[vuln.sla]` days per severity and the
//! first-seen state in `.vouch/vuln-state.json` (committed by the user, so the clock starts
//! when a vulnerability first appeared, not at each run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use vouch_core::{Finding, InputError, Rule, Severity};

/// Where the state lives, relative to the repository root.
pub const STATE_FILE: &str = ".vouch/vuln-state.json";

pub const SLA_OVERDUE: Rule = Rule {
    id: "vuln/sla-overdue",
    severity: Severity::High,
    summary: "A vulnerability has been open longer than its SLA allows",
    help: "Fix it now (upgrade to the fixed version), or record a time-boxed decision in \
           .vouch/exceptions.yaml (`vuln: <ID>`) or a VEX statement. SLA days per severity \
           are set in vouch.toml `[vuln.sla]` (defaults: critical 7, high 30, medium 90, low 180).",
    references: &[],
};

/// `[vuln]` in vouch.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VulnConfig {
    /// The OSV database (relative to the repository root).
    pub db: Option<PathBuf>,
    #[serde(default)]
    pub sla: SlaConfig,
    /// Where `vouch db update` downloads ecosystem exports from (`{ecosystem}` is replaced).
    pub update_url: Option<String>,
    /// Ecosystems `vouch db update` fetches.
    pub ecosystems: Option<Vec<String>>,
    /// How old the newest record may be before the database is a failing finding
    /// (`vuln/stale-database`); days, or `"36h"`, `"7d"`, `"2w"`. Default 7 days.
    #[serde(default)]
    pub max_db_age: crate::freshness::MaxAge,
}

/// `[vuln.sla]`: days allowed per severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    #[serde(default = "d7")]
    pub critical: u32,
    #[serde(default = "d30")]
    pub high: u32,
    #[serde(default = "d90")]
    pub medium: u32,
    #[serde(default = "d180")]
    pub low: u32,
}

fn d7() -> u32 {
    7
}
fn d30() -> u32 {
    30
}
fn d90() -> u32 {
    90
}
fn d180() -> u32 {
    180
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            critical: 7,
            high: 30,
            medium: 90,
            low: 180,
        }
    }
}

impl SlaConfig {
    /// Days for a severity; `None` for info (no SLA).
    pub fn days(&self, s: Severity) -> Option<u32> {
        match s {
            Severity::Critical => Some(self.critical),
            Severity::High => Some(self.high),
            Severity::Medium => Some(self.medium),
            Severity::Low => Some(self.low),
            Severity::Info => None,
        }
    }
}

/// `.vouch/vuln-state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// "ecosystem/name" → vulnerability id → first-seen date.
    pub first_seen: BTreeMap<String, BTreeMap<String, Date>>,
}

impl State {
    /// Reads the state; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, InputError> {
        if !path.is_file() {
            return Ok(State {
                version: 1,
                ..Default::default()
            });
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        serde_json::from_str(&text).map_err(|e| {
            InputError::at(
                path,
                e.line().max(1) as u32,
                Some(e.column().max(1) as u32),
                format!("bad vulnerability state: {e}"),
            )
            .with_hint("delete it to start the SLA clocks again, or restore it from git")
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn key(f: &Finding) -> Option<String> {
        let eco = f.properties.get("ecosystem")?.as_str()?;
        let pkg = f.properties.get("package")?.as_str()?;
        Some(format!("{eco}/{pkg}"))
    }

    fn ids(f: &Finding) -> Vec<String> {
        let mut ids: Vec<String> = f
            .rule
            .strip_prefix("vuln/")
            .map(|s| vec![s.to_string()])
            .unwrap_or_default();
        if let Some(serde_json::Value::Array(a)) = f.properties.get("aliases") {
            ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
        ids
    }

    /// When the vulnerability of `f` was first seen (the earliest date of any of its ids).
    pub fn first_seen(&self, f: &Finding) -> Option<Date> {
        let map = self.first_seen.get(&State::key(f)?)?;
        State::ids(f)
            .iter()
            .filter_map(|id| map.get(id))
            .min()
            .copied()
    }

    /// Records today for findings not seen before; forgets packages/ids no longer found.
    pub fn update(&mut self, findings: &[Finding], today: Date) {
        let mut next: BTreeMap<String, BTreeMap<String, Date>> = BTreeMap::new();
        for f in findings
            .iter()
            .filter(|f| f.rule.starts_with("vuln/") && f.rule != SLA_OVERDUE.id)
        {
            let Some(key) = State::key(f) else { continue };
            let seen = self.first_seen(f).unwrap_or(today);
            let entry = next.entry(key).or_default();
            for id in State::ids(f) {
                entry.insert(id, seen);
            }
        }
        self.version = 1;
        self.first_seen = next;
    }
}

/// `vuln/sla-overdue` findings for active vulnerability findings past their deadline.
pub fn overdue(findings: &[Finding], state: &State, sla: &SlaConfig, today: Date) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in findings {
        if !f.is_active() || !f.rule.starts_with("vuln/") || f.rule == SLA_OVERDUE.id {
            continue;
        }
        let (Some(seen), Some(days)) = (state.first_seen(f), sla.days(f.severity)) else {
            continue;
        };
        let age = (today - seen).get_days() as i64;
        if age <= i64::from(days) {
            continue;
        }
        let id = f.rule.trim_start_matches("vuln/").to_string();
        let pkg = f
            .properties
            .get("package")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let mut ids = vec![id.clone()];
        if let Some(serde_json::Value::Array(a)) = f.properties.get("aliases") {
            ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
        let deadline = seen
            .checked_add(jiff::Span::new().days(i64::from(days)))
            .unwrap_or(seen);
        let mut o = Finding::new(
            &SLA_OVERDUE,
            f.location.clone(),
            format!(
                "{id} in {pkg} was first seen on {seen}; the {} SLA is {days} days, so it was due on {deadline} ({} days overdue)",
                f.severity.as_str(),
                age - i64::from(days)
            ),
            &format!("{}#sla", f.fingerprint),
        )
        .with_annotation(format!("{id} overdue"))
        .with_property("aliases", ids)
        .with_property("first_seen", seen.to_string())
        .with_property("due", deadline.to_string());
        for k in ["package", "version", "ecosystem", "purl"] {
            if let Some(v) = f.properties.get(k) {
                o = o.with_property(k, v.clone());
            }
        }
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vouch_core::Location;

    #[test]
    fn overdue_after_sla() {
        let f = Finding::dynamic(
            "vuln/CVE-1",
            Severity::High,
            Location::file("bom.json"),
            "m",
            "k",
        )
        .with_property("ecosystem", "PyPI")
        .with_property("package", "jinja2")
        .with_property("aliases", vec!["GHSA-1".to_string()]);
        let mut state = State::default();
        let d: Date = "2026-01-01".parse().unwrap();
        state.update(std::slice::from_ref(&f), d);
        assert_eq!(state.first_seen(&f), Some(d));
        let sla = SlaConfig::default();
        assert!(
            overdue(
                std::slice::from_ref(&f),
                &state,
                &sla,
                "2026-01-31".parse().unwrap()
            )
            .is_empty()
        );
        let o = overdue(
            std::slice::from_ref(&f),
            &state,
            &sla,
            "2026-02-01".parse().unwrap(),
        );
        assert_eq!(o.len(), 1);
        assert!(o[0].message.contains("1 days overdue"), "{}", o[0].message);
        // a later run keeps the first date
        state.update(std::slice::from_ref(&f), "2026-03-01".parse().unwrap());
        assert_eq!(state.first_seen(&f), Some(d));
    }
}
