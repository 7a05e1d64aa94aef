//! How old the vulnerability database is, and `[vuln] max_db_age`.
//!
//! A scan against an old database passes for the wrong reason: advisories published since it
//! was built are missing. The age is measured from the newest record's `modified` time (what
//! the data knows), not from the build time (a fresh build of an old export is still old).
//! An older database than `max_db_age` (default 7 days), or one with no records at all, is a
//! `vuln/stale-database` finding, High by default, so it fails at the default threshold.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use vouch_core::{Finding, Location, Rule, Severity};

use crate::db::{Database, DbError};

pub const STALE_DATABASE: Rule = Rule {
    id: "vuln/stale-database",
    severity: Severity::High,
    summary: "The vulnerability database is older than [vuln] max_db_age",
    help: "Rebuild it from a current OSV export (vouch db build, or vouch db update), or raise \
           `max_db_age` under [vuln] in vouch.toml (e.g. \"14d\") if a slower cadence is intended.",
    references: &["https://google.github.io/osv.dev/data/"],
};

/// `max_db_age`: a number of days, or a string `"36h"`, `"7d"`, `"2w"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge(pub SignedDuration);

impl Default for MaxAge {
    fn default() -> Self {
        MaxAge(SignedDuration::from_hours(7 * 24))
    }
}

impl MaxAge {
    /// Parses `"36h"`, `"7d"`, `"2w"` or a plain number of days.
    pub fn parse(s: &str) -> Option<MaxAge> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => (&s[..i], s[i..].trim()),
            None => (s, "d"),
        };
        let n: i64 = num.parse().ok()?;
        let hours = match unit {
            "h" | "hour" | "hours" => n,
            "d" | "day" | "days" => n.checked_mul(24)?,
            "w" | "week" | "weeks" => n.checked_mul(24 * 7)?,
            _ => return None,
        };
        // A century is more than any sensible setting and keeps the arithmetic in range.
        (n > 0 && hours <= 100 * 366 * 24).then(|| MaxAge(SignedDuration::from_hours(hours)))
    }
}

impl fmt::Display for MaxAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human(self.0))
    }
}

impl<'de> Deserialize<'de> for MaxAge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Days(i64),
            Text(String),
        }
        let bad = || {
            serde::de::Error::custom(
                "max_db_age must be a positive number of days or a duration such as \"36h\", \"7d\", \"2w\"",
            )
        };
        match Raw::deserialize(d)? {
            Raw::Days(n) => MaxAge::parse(&n.to_string()).ok_or_else(bad),
            Raw::Text(s) => MaxAge::parse(&s).ok_or_else(bad),
        }
    }
}

/// `3 days 4 hours`, `5 hours`.
pub fn human(d: SignedDuration) -> String {
    let hours = d.as_hours().max(0);
    let (days, rest) = (hours / 24, hours % 24);
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match (days, rest) {
        (0, h) => unit(h, "hour"),
        (d, 0) => unit(d, "day"),
        (d, h) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

/// The database's age at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Age {
    /// The newest record's `modified` time, as stored; `None` when there are no records.
    pub newest: Option<String>,
    /// `now - newest`; `None` when there are no records or the time does not parse.
    pub age: Option<SignedDuration>,
}

impl Age {
    /// One line for the report: how old the newest record is.
    pub fn describe(&self, db: &str) -> String {
        match (&self.newest, self.age) {
            (Some(t), Some(a)) => {
                format!(
                    "vulnerability database {db}: newest record modified {t} ({} old)",
                    human(a)
                )
            }
            (Some(t), None) => {
                format!("vulnerability database {db}: newest record modified `{t}` (not a time)")
            }
            (None, _) => format!("vulnerability database {db}: no records"),
        }
    }

    /// A finding when the database is older than `max` or has no usable record time.
    pub fn judge(&self, db: &str, max: MaxAge) -> Option<Finding> {
        let message = match (&self.newest, self.age) {
            (Some(_), Some(a)) if a <= max.0 => return None,
            (Some(t), Some(a)) => format!(
                "the vulnerability database is {} old (newest record modified {t}), older than max_db_age {max}: advisories published since are missing",
                human(a)
            ),
            (Some(t), None) => format!(
                "the vulnerability database's newest record time `{t}` is not a time: its age cannot be judged"
            ),
            (None, _) => {
                "the vulnerability database has no records: nothing can be matched".to_string()
            }
        };
        let mut f = Finding::new(&STALE_DATABASE, Location::file(db), message, "age");
        f.help = Some(STALE_DATABASE.help.to_string());
        Some(f)
    }
}

/// Measures the database's age at `now`.
pub fn age(db: &Database, now: Timestamp) -> Result<Age, DbError> {
    let newest = db.info()?.newest_record;
    let age = newest
        .as_deref()
        .and_then(parse_time)
        .map(|t| now.duration_since(t));
    Ok(Age { newest, age })
}

/// An OSV `modified` time: RFC 3339, or a bare date.
fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let d: jiff::civil::Date = s.parse().ok()?;
    format!("{d}T00:00:00Z").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_max_age() {
        assert_eq!(MaxAge::parse("7d").unwrap().0.as_hours(), 168);
        assert_eq!(MaxAge::parse("36h").unwrap().0.as_hours(), 36);
        assert_eq!(MaxAge::parse("2w").unwrap().0.as_hours(), 336);
        assert_eq!(MaxAge::parse("3").unwrap().0.as_hours(), 72);
        assert!(MaxAge::parse("0").is_none());
        assert!(MaxAge::parse("-1d").is_none());
        assert!(MaxAge::parse("7y").is_none());
        assert!(MaxAge::parse("99999999999999999999d").is_none());
        assert!(MaxAge::parse("9999999999d").is_none());
        assert_eq!(MaxAge::default().to_string(), "7 days");
    }

    #[test]
    fn judges_age() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let at = |t: &str| Age {
            newest: Some(t.to_string()),
            age: parse_time(t).map(|x| now.duration_since(x)),
        };
        let fresh = at("2026-12-01T12:00:00Z");
        assert!(fresh.judge("osv.db", MaxAge::default()).is_none());
        assert!(fresh.describe("osv.db").contains("(6 days old)"));
        let old = at("2026-11-29T11:00:00Z");
        let f = old.judge("osv.db", MaxAge::default()).unwrap();
        assert_eq!(f.rule, "vuln/stale-database");
        assert!(f.message.contains("8 days 1 hour old"), "{}", f.message);
        assert!(old.judge("osv.db", MaxAge::parse("9d").unwrap()).is_none());
        let empty = Age {
            newest: None,
            age: None,
        };
        assert!(empty.judge("osv.db", MaxAge::default()).is_some());
        assert!(
            at("2026-11-01")
                .judge("osv.db", MaxAge::default())
                .is_some()
        );
        assert!(at("garbage").judge("osv.db", MaxAge::default()).is_some());
    }
}
