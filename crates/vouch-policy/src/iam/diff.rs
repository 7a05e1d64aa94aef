//! `vouch iam diff`: granted (a policy) versus used (CloudTrail), and a least-privilege
//! proposal.
//!
//! CloudTrail files (`{"Records": [...]}`, optionally gzip-compressed) are streamed: serde
//! visits `Records` one event at a time, keeping only `eventSource`, `eventName`,
//! `errorCode` and the resource ARNs, so a 1 GB trail needs memory for the distinct actions
//! and resources only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vouch_core::InputError;

use crate::catalogue::{Catalogue, wildcard_match};
use crate::iam::PolicyDoc;

/// What a trail says was used: action → resource ARNs (`None` in the set: a call without a
/// resource, so the proposal must use `*`).
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub actions: BTreeMap<String, BTreeSet<Option<String>>>,
    /// Events read (including failed calls, which are not counted as usage).
    pub events: u64,
    /// Calls denied by IAM: attempted, but neither used nor granted.
    pub denied: BTreeSet<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "eventSource", default)]
    event_source: String,
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
    #[serde(default)]
    resources: Vec<EventResource>,
}

#[derive(Deserialize)]
struct EventResource {
    #[serde(rename = "ARN", default)]
    arn: Option<String>,
}

/// eventSource prefixes whose IAM service prefix differs.
const SOURCE_ALIASES: &[(&str, &str)] = &[
    ("monitoring", "cloudwatch"),
    ("email", "ses"),
    ("signin", "signin"),
    ("elasticfilesystem", "elasticfilesystem"),
    ("metering-marketplace", "aws-marketplace"),
    ("elasticmapreduce", "elasticmapreduce"),
    ("iam", "iam"),
];

/// Maps a CloudTrail event to its IAM action (`s3.amazonaws.com` + `GetObject` →
/// `s3:GetObject`), stripping API version suffixes (`CreateFunction20150331`,
/// `UpdateFunctionCode20150331v2`).
pub fn event_action(source: &str, name: &str) -> Option<String> {
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
    if service.is_empty() || name.is_empty() {
        return None;
    }
    let service = SOURCE_ALIASES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, p)| *p)
        .unwrap_or(service);
    let mut name = name;
    let bytes = name.as_bytes();
    // Strip `YYYYMMDD` or `YYYYMMDDvN`.
    let mut end = bytes.len();
    if end >= 2 && bytes[end - 2] == b'v' && bytes[end - 1].is_ascii_digit() {
        end -= 2;
    }
    if end >= 8 && bytes[end - 8..end].iter().all(u8::is_ascii_digit) && end > 8 {
        name = &name[..end - 8];
    }
    let action = format!("{service}:{name}");
    // Prefer the catalogue's spelling.
    Some(
        Catalogue::get()
            .expand(&action)
            .into_iter()
            .next()
            .map(|(a, _)| a)
            .unwrap_or(action),
    )
}

struct TrailSeed<'a>(&'a mut Usage);

impl<'de> DeserializeSeed<'de> for TrailSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TrailSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log object with `Records`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(RecordsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct RecordsSeed<'a>(&'a mut Usage);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of CloudTrail events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(ev) = seq.next_element::<Event>()? {
            self.0.events += 1;
            let Some(action) = event_action(&ev.event_source, &ev.event_name) else {
                continue;
            };
            match ev.error_code.as_deref() {
                Some(code) if code.contains("AccessDenied") || code.contains("Unauthorized") => {
                    self.0.denied.insert(action);
                    continue;
                }
                Some(_) => {}
                None => {}
            }
            let arns = self.0.actions.entry(action).or_default();
            let mut any = false;
            for r in ev.resources {
                if let Some(arn) = r.arn {
                    arns.insert(Some(arn));
                    any = true;
                }
            }
            if !any {
                arns.insert(None);
            }
        }
        Ok(())
    }
}

/// Reads one CloudTrail file (`.json` or `.json.gz`, detected by the gzip magic) into `usage`.
pub fn read_trail(path: &Path, usage: &mut Usage) -> Result<(), InputError> {
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 2];
    let gz = {
        use std::io::BufRead;
        let buf = reader
            .fill_buf()
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        if buf.len() >= 2 {
            magic.copy_from_slice(&buf[..2]);
        }
        magic == [0x1f, 0x8b]
    };
    let input: Box<dyn Read> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    read_trail_from(input, usage).map_err(|e| e.or_file(path))
}

/// Streams a CloudTrail document from any reader.
pub fn read_trail_from(input: impl Read, usage: &mut Usage) -> Result<(), InputError> {
    let mut de = serde_json::Deserializer::from_reader(input);
    TrailSeed(usage).deserialize(&mut de).map_err(|e| {
        let mut err = InputError::new(format!("invalid CloudTrail JSON: {e}"))
            .with_hint("expected a CloudTrail log file: {\"Records\": [...]}");
        if e.line() > 0 {
            err.line = u32::try_from(e.line()).ok();
            err.column = u32::try_from(e.column()).ok();
        }
        err
    })?;
    de.end()
        .map_err(|e| InputError::new(format!("invalid CloudTrail JSON: {e}")))?;
    Ok(())
}

/// The result of comparing a policy with its usage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiffReport {
    /// Every action the policy allows (wildcards expanded through the catalogue).
    pub granted: usize,
    /// Granted actions seen in the trail.
    pub used: Vec<String>,
    /// Granted actions never seen.
    pub unused: Vec<String>,
    /// Actions seen in the trail that the policy does not grant (another policy allowed them).
    pub used_not_granted: Vec<String>,
    /// Calls IAM denied.
    pub denied: Vec<String>,
    pub events: u64,
    /// The least-privilege proposal: the used, granted actions, scoped to the ARNs seen.
    pub proposed_policy: serde_json::Value,
}

/// Compares the Allow statements of `policy` with `usage`.
pub fn diff(policy: &PolicyDoc, usage: &Usage) -> DiffReport {
    let cat = Catalogue::get();
    let mut patterns: Vec<String> = Vec::new();
    let mut granted: BTreeSet<String> = BTreeSet::new();
    for st in policy.statements() {
        if !st.allow {
            continue;
        }
        for a in st.actions.iter().filter_map(|a| a.as_str()) {
            patterns.push(a.to_string());
            granted.extend(cat.expand(a).into_iter().map(|(x, _)| x));
        }
    }
    let is_granted = |action: &str| patterns.iter().any(|p| wildcard_match(p, action));
    let mut used = Vec::new();
    let mut used_not_granted = Vec::new();
    for action in usage.actions.keys() {
        if is_granted(action) {
            used.push(action.clone());
        } else {
            used_not_granted.push(action.clone());
        }
    }
    let used_lower: BTreeSet<String> = used.iter().map(|a| a.to_ascii_lowercase()).collect();
    let unused: Vec<String> = granted
        .iter()
        .filter(|a| !used_lower.contains(&a.to_ascii_lowercase()))
        .cloned()
        .collect();

    // Group used actions by their resource set: one statement per distinct set.
    let mut by_resources: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for action in &used {
        let arns = &usage.actions[action];
        let resources: Vec<String> = if arns.contains(&None) {
            vec!["*".to_string()]
        } else {
            generalise(arns.iter().flatten())
        };
        by_resources
            .entry(resources)
            .or_default()
            .push(action.clone());
    }
    let statements: Vec<serde_json::Value> = by_resources
        .into_iter()
        .map(|(resources, actions)| {
            serde_json::json!({
                "Effect": "Allow",
                "Action": actions,
                "Resource": if resources.len() == 1 { serde_json::json!(resources[0]) } else { serde_json::json!(resources) },
            })
        })
        .collect();
    DiffReport {
        granted: granted.len(),
        used,
        unused,
        used_not_granted,
        denied: usage.denied.iter().cloned().collect(),
        events: usage.events,
        proposed_policy: serde_json::json!({
            "Version": "2012-10-17",
            "Statement": statements,
        }),
    }
}

/// ARNs seen for one action, with siblings (two or more ARNs under the same `/` parent)
/// folded into `parent/*`, so a proposal does not list every object a job touched.
fn generalise<'a>(arns: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut by_parent: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for arn in arns {
        match arn.rfind('/') {
            Some(i) if arn[..i].split(':').count() >= 6 => {
                by_parent.entry(&arn[..i]).or_default().push(arn)
            }
            _ => {
                out.insert(arn.clone());
            }
        }
    }
    for (parent, children) in by_parent {
        if children.len() >= 2 {
            out.insert(format!("{parent}/*"));
        } else {
            out.extend(children.into_iter().cloned());
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn event_mapping() {
        assert_eq!(
            event_action("s3.amazonaws.com", "GetObject").unwrap(),
            "s3:GetObject"
        );
        assert_eq!(
            event_action("lambda.amazonaws.com", "CreateFunction20150331").unwrap(),
            "lambda:CreateFunction"
        );
        assert_eq!(
            event_action("lambda.amazonaws.com", "UpdateFunctionCode20150331v2").unwrap(),
            "lambda:UpdateFunctionCode"
        );
        assert_eq!(
            event_action("monitoring.amazonaws.com", "PutMetricData").unwrap(),
            "cloudwatch:PutMetricData"
        );
    }

    #[test]
    fn diff_proposes_used_actions() {
        let trail = r#"{"Records":[
          {"eventSource":"s3.amazonaws.com","eventName":"GetObject","resources":[{"ARN":"arn:aws:s3:::b/k"}]},
          {"eventSource":"s3.amazonaws.com","eventName":"PutObject","errorCode":"AccessDenied"},
          {"eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}
        ]}"#;
        let mut usage = Usage::default();
        read_trail_from(trail.as_bytes(), &mut usage).unwrap();
        assert_eq!(usage.events, 3);
        let f = crate::iam::parse(
            "p.json",
            r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:ListBucket"],"Resource":"*"}]}"#,
        )
        .unwrap();
        let d = diff(&f.policies[0], &usage);
        assert_eq!(d.used, vec!["s3:GetObject"]);
        assert!(d.unused.contains(&"s3:ListBucket".to_string()));
        assert_eq!(d.used_not_granted, vec!["sts:GetCallerIdentity"]);
        assert_eq!(d.denied, vec!["s3:PutObject"]);
        assert_eq!(
            d.proposed_policy["Statement"][0],
            serde_json::json!({"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/k"})
        );
    }

    #[test]
    fn gzip_and_errors() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(
            br#"{"Records":[{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances"}]}"#,
        )
        .unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let mut usage = Usage::default();
        read_trail(&p, &mut usage).unwrap();
        assert!(usage.actions.contains_key("ec2:DescribeInstances"));
        let e = read_trail_from(&b"{\"Records\": [ {"[..], &mut Usage::default()).unwrap_err();
        assert!(e.message.contains("invalid CloudTrail JSON"));
    }

    proptest! {
        #[test]
        fn trail_reader_never_panics(s in r#"[\[\]{}",:a-zA-Z0-9 ]{0,80}"#) {
            let _ = read_trail_from(s.as_bytes(), &mut Usage::default());
        }
    }
}
