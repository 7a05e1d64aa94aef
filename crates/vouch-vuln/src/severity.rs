//! How bad a vulnerability is: CVSS vectors (v4, v3.x, v2 via the `cvss` crate, which
//! implements the FIRST scoring specifications) turned into base scores, else the
//! database-specific severity words (GitHub's `database_specific.severity`, Ubuntu's
//! priorities), else unknown.

use std::str::FromStr;

use serde::Serialize;
use vouch_core::Severity;

use crate::osv::{Affected, Record, SeverityEntry};

/// The severity we report and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub severity: Severity,
    /// CVSS base score, when a vector was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The vector the score came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// `CVSS_V4`, `CVSS_V3`, `CVSS_V2`, `database_specific`, `unknown`.
    pub source: String,
}

/// Maps a CVSS base score to its qualitative rating (CVSS v3.1 §5, v4.0 §2). A score of 0.0
/// ("None") is reported as info.
pub fn from_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// Scores one CVSS vector; `None` when it does not parse.
pub fn score_vector(vector: &str) -> Option<f64> {
    let v = cvss::Cvss::from_str(vector.trim()).ok()?;
    let s = v.score();
    s.is_finite().then_some(s)
}

fn word(s: &str) -> Option<Severity> {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" | "important" => Some(Severity::High),
        "moderate" | "medium" => Some(Severity::Medium),
        "low" | "negligible" => Some(Severity::Low),
        _ => None,
    }
}

fn rank(kind: &str) -> u8 {
    match kind {
        "CVSS_V4" => 3,
        "CVSS_V3" => 2,
        "CVSS_V2" => 1,
        _ => 0,
    }
}

/// The rating of `record` for one affected entry (entry-level severities win over
/// record-level ones, the newest CVSS version over older ones).
pub fn rate(record: &Record, affected: Option<&Affected>) -> Rating {
    let entries: Vec<&SeverityEntry> = match affected {
        Some(a) if !a.severity.is_empty() => a.severity.iter().collect(),
        _ => record.severity.iter().collect(),
    };
    let mut best: Option<(u8, f64, &SeverityEntry)> = None;
    for e in &entries {
        let r = rank(&e.kind);
        if r == 0 {
            continue;
        }
        if let Some(score) = score_vector(&e.score)
            && best.is_none_or(|(br, bs, _)| (r, score) > (br, bs))
        {
            best = Some((r, score, e));
        }
    }
    if let Some((_, score, e)) = best {
        return Rating {
            severity: from_score(score),
            score: Some(score),
            vector: Some(e.score.clone()),
            source: e.kind.clone(),
        };
    }
    // Database-specific words: affected-level first, then record-level, then Ubuntu-style
    // severity entries whose score is a word.
    let specific = [
        affected.and_then(|a| a.ecosystem_specific.as_ref()),
        affected.and_then(|a| a.database_specific.as_ref()),
        record.database_specific.as_ref(),
    ];
    for v in specific.into_iter().flatten() {
        if let Some(s) = v.get("severity").and_then(|s| s.as_str()).and_then(word) {
            return Rating {
                severity: s,
                score: None,
                vector: None,
                source: "database_specific".into(),
            };
        }
    }
    for e in &entries {
        if let Some(s) = word(&e.score) {
            return Rating {
                severity: s,
                score: None,
                vector: None,
                source: e.kind.clone(),
            };
        }
    }
    Rating {
        severity: Severity::Medium,
        score: None,
        vector: None,
        source: "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores() {
        // NVD's published base scores for these vectors.
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            Some(5.9)
        );
        assert_eq!(
            score_vector("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        // FIRST's CVSS v4.0 calculator.
        assert_eq!(
            score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(score_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Some(7.5));
        assert_eq!(score_vector("nonsense"), None);
        assert_eq!(from_score(9.8), Severity::Critical);
        assert_eq!(from_score(7.0), Severity::High);
        assert_eq!(from_score(6.9), Severity::Medium);
        assert_eq!(from_score(0.1), Severity::Low);
    }

    #[test]
    fn prefers_v4_then_database_words() {
        let r: Record = serde_json::from_str(
            r#"{"id":"X","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}]}"#,
        )
        .unwrap();
        let rating = rate(&r, None);
        assert_eq!(rating.source, "CVSS_V4");
        assert_eq!(rating.severity, Severity::Medium);
        let r: Record =
            serde_json::from_str(r#"{"id":"X","database_specific":{"severity":"MODERATE"}}"#)
                .unwrap();
        assert_eq!(rate(&r, None).severity, Severity::Medium);
        assert_eq!(rate(&r, None).source, "database_specific");
    }
}
