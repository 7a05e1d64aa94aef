//! Freeze windows: fixed RFC 3339 intervals, or weekly recurrences in a time zone
//! ("every Friday from 16:00 for 64h, Europe/Berlin"), optionally per environment.

use std::path::Path;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;
use vouch_core::InputError;

use crate::breakglass::parse_ttl;

/// One freeze window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeWindow {
    pub name: String,
    /// RFC 3339 start (fixed window).
    pub start: Option<String>,
    /// RFC 3339 end, exclusive (fixed window).
    pub end: Option<String>,
    /// A weekly recurrence instead of `start`/`end`.
    pub weekly: Option<Weekly>,
    /// Environments the window applies to; empty = all.
    #[serde(default)]
    pub environments: Vec<String>,
}

/// `weekly: { days: [fri], at: "16:00", duration: 64h, timezone: Europe/Berlin }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    /// Days the window starts on: mon … sun.
    pub days: Vec<String>,
    /// Local start time `HH:MM` (default 00:00).
    pub at: Option<String>,
    /// How long each occurrence lasts, e.g. `24h`, `64h`, `90m` (default 24h).
    pub duration: Option<String>,
    /// IANA time zone (default UTC).
    pub timezone: Option<String>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

impl FreezeWindow {
    pub(crate) fn validate(&self, path: &Path) -> Result<(), InputError> {
        let err = |m: String| {
            InputError::in_file(path, format!("freeze window `{}`: {m}", self.name))
                .with_hint("see docs/deploy-gate.md#freeze-windows")
        };
        match (&self.start, &self.end, &self.weekly) {
            (Some(s), Some(e), None) => {
                let s: Timestamp = s
                    .parse()
                    .map_err(|_| err(format!("start `{s}` is not RFC 3339")))?;
                let e: Timestamp = e
                    .parse()
                    .map_err(|_| err(format!("end `{e}` is not RFC 3339")))?;
                if e <= s {
                    return Err(err("end is not after start".into()));
                }
            }
            (None, None, Some(w)) => {
                if w.days.is_empty() {
                    return Err(err("weekly.days is empty".into()));
                }
                for d in &w.days {
                    weekday(d).ok_or_else(|| err(format!("`{d}` is not a weekday (mon … sun)")))?;
                }
                if let Some(at) = &w.at {
                    at.parse::<Time>()
                        .map_err(|_| err(format!("weekly.at `{at}` is not HH:MM")))?;
                }
                if let Some(d) = &w.duration {
                    parse_ttl(d).map_err(|e| err(format!("weekly.duration: {e}")))?;
                }
                if let Some(tz) = &w.timezone {
                    TimeZone::get(tz).map_err(|_| err(format!("unknown time zone `{tz}`")))?;
                }
            }
            _ => return Err(err("give either `start` and `end`, or `weekly`".into())),
        }
        Ok(())
    }

    /// Whether this window applies to `environment`.
    pub fn applies_to(&self, environment: Option<&str>) -> bool {
        self.environments.is_empty()
            || environment.is_some_and(|e| self.environments.iter().any(|x| x == e))
    }

    /// If `now` falls inside this window, the instant it ends.
    pub fn active_until(&self, now: Timestamp) -> Option<Timestamp> {
        if let (Some(s), Some(e)) = (&self.start, &self.end) {
            let (s, e): (Timestamp, Timestamp) = (s.parse().ok()?, e.parse().ok()?);
            return (s <= now && now < e).then_some(e);
        }
        let w = self.weekly.as_ref()?;
        let tz = match &w.timezone {
            Some(name) => TimeZone::get(name).ok()?,
            None => TimeZone::UTC,
        };
        let at: Time =
            w.at.as_deref()
                .map(str::parse)
                .transpose()
                .ok()?
                .unwrap_or(Time::midnight());
        let secs = w
            .duration
            .as_deref()
            .map(parse_ttl)
            .transpose()
            .ok()?
            .unwrap_or(86_400);
        let days: Vec<Weekday> = w.days.iter().filter_map(|d| weekday(d)).collect();
        let today: Date = tz.to_datetime(now).date();
        // An occurrence that covers `now` started at most `duration` ago; look back far enough.
        let back = i64::try_from(secs / 86_400 + 8).ok()?;
        let mut until: Option<Timestamp> = None;
        for offset in 0..=back {
            let day = today.checked_sub(offset.days()).ok()?;
            if !days.contains(&day.weekday()) {
                continue;
            }
            let start = tz
                .to_ambiguous_timestamp(day.to_datetime(at))
                .compatible()
                .ok()?;
            let end = start
                .checked_add(i64::try_from(secs).ok()?.seconds())
                .ok()?;
            if start <= now && now < end {
                until = Some(until.map_or(end, |u: Timestamp| u.max(end)));
            }
        }
        until
    }
}

/// The first window active at `now` for `environment`, with its end (the latest end if several).
pub fn active<'a>(
    windows: &'a [FreezeWindow],
    now: Timestamp,
    environment: Option<&str>,
) -> Option<(&'a FreezeWindow, Timestamp)> {
    windows
        .iter()
        .filter(|w| w.applies_to(environment))
        .filter_map(|w| w.active_until(now).map(|u| (w, u)))
        .max_by_key(|(_, u)| *u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> FreezeWindow {
        FreezeWindow {
            name: "year-end".into(),
            start: Some("2026-12-20T00:00:00Z".into()),
            end: Some("2027-01-04T00:00:00Z".into()),
            weekly: None,
            environments: vec!["prod".into()],
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn fixed_windows_and_environments() {
        let w = fixed();
        assert_eq!(
            w.active_until(ts("2026-12-24T12:00:00Z")),
            Some(ts("2027-01-04T00:00:00Z"))
        );
        assert_eq!(
            w.active_until(ts("2027-01-04T00:00:00Z")),
            None,
            "end is exclusive"
        );
        assert!(w.applies_to(Some("prod")) && !w.applies_to(Some("stage")) && !w.applies_to(None));
    }

    #[test]
    fn weekly_window_across_midnight_in_a_time_zone() {
        // Friday 16:00 Berlin for 64 hours: until Monday 08:00 Berlin.
        let w = FreezeWindow {
            name: "weekend".into(),
            start: None,
            end: None,
            weekly: Some(Weekly {
                days: vec!["fri".into()],
                at: Some("16:00".into()),
                duration: Some("64h".into()),
                timezone: Some("Europe/Berlin".into()),
            }),
            environments: vec![],
        };
        // 2026-11-27 is a Friday; Berlin is UTC+1 in November.
        assert_eq!(w.active_until(ts("2026-11-27T14:59:59Z")), None);
        assert_eq!(
            w.active_until(ts("2026-11-27T15:00:00Z")),
            Some(ts("2026-11-30T07:00:00Z"))
        );
        assert_eq!(
            w.active_until(ts("2026-11-29T23:00:00Z")),
            Some(ts("2026-11-30T07:00:00Z"))
        );
        assert_eq!(w.active_until(ts("2026-11-30T07:00:00Z")), None);
        assert_eq!(w.active_until(ts("2026-11-25T12:00:00Z")), None);
    }

    #[test]
    fn validation() {
        let p = Path::new("gate.yaml");
        let mut w = fixed();
        w.end = Some("2026-12-01T00:00:00Z".into());
        assert!(w.validate(p).is_err());
        let w = FreezeWindow {
            name: "x".into(),
            start: None,
            end: None,
            weekly: Some(Weekly {
                days: vec!["funday".into()],
                at: None,
                duration: None,
                timezone: None,
            }),
            environments: vec![],
        };
        assert!(w.validate(p).unwrap_err().message.contains("funday"));
    }
}
