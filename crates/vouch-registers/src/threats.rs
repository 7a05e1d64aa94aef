//! `vouch register threats --from flows.yaml`: proposes STRIDE rows for data flows that cross a
//! trust boundary, from a small documented rule set.
//!
//! Unlike pytm or Threagile, only flows that cross a boundary get threats, a threat is proposed
//! only when the flow's declared properties do not already address it, and (asset, threat)
//! pairs are deduplicated, so the output is short enough to review. The rules:
//!
//! | condition (flow crosses a boundary) | threat | impact / likelihood |
//! |---|---|---|
//! | not `authenticated` | Spoofing of the source | High / Medium |
//! | not `encrypted` | Tampering in transit | High / Medium |
//! | not `encrypted` and carries `data` | Information disclosure in transit | High / Medium |
//! | source is `external`, target a `process` | Denial of service of the target | Medium / Medium |
//! | source is `external`, target a `process`, not `validated` | Elevation of privilege via the input | High / Low |
//! | target is a `process`, not `logged` | Repudiation of the request | Low / Medium |
//! | target is a `store`, source `external` | Tampering with stored data | High / Low |

use std::collections::BTreeSet;
use std::path::Path;

use marked_yaml::Spanned;
use serde::Deserialize;
use vouch_core::InputError;

use crate::csv::write_row;
use crate::schema::RegisterKind;

/// The data-flow model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flows {
    #[serde(default)]
    pub boundaries: Vec<Boundary>,
    pub elements: Vec<Element>,
    #[serde(default)]
    pub flows: Vec<Flow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boundary {
    pub id: Spanned<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementKind {
    External,
    Process,
    Store,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub kind: ElementKind,
    pub boundary: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub data: Option<String>,
    pub protocol: Option<String>,
    #[serde(default)]
    pub encrypted: bool,
    #[serde(default)]
    pub authenticated: bool,
    #[serde(default)]
    pub validated: bool,
    #[serde(default)]
    pub logged: bool,
}

fn line<T>(s: &Spanned<T>) -> u32 {
    s.span()
        .start()
        .map(|m| u32::try_from(m.line()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

impl Flows {
    /// Parses and checks references (unknown element or boundary ids are errors).
    pub fn parse(shown: &Path, text: &str) -> Result<Flows, InputError> {
        vouch_core::yaml::check(text).map_err(|e| e.or_file(shown))?;
        let flows: Flows = marked_yaml::from_yaml(0, text).map_err(|e| {
            vouch_core::error::yaml_error(shown, text, &e)
                .with_hint("see docs/registers.md for the flows.yaml format")
        })?;
        let mut ids = BTreeSet::new();
        for el in &flows.elements {
            if !ids.insert(el.id.as_str().to_string()) {
                return Err(InputError::at(
                    shown,
                    line(&el.id),
                    None,
                    format!("duplicate element id `{}`", el.id.as_str()),
                ));
            }
            if let Some(b) = &el.boundary
                && !flows.boundaries.iter().any(|x| x.id.as_str() == b.as_str())
            {
                return Err(InputError::at(
                    shown,
                    line(b),
                    None,
                    format!("unknown boundary `{}`", b.as_str()),
                )
                .with_hint("declare it under `boundaries:`"));
            }
        }
        for f in &flows.flows {
            for end in [&f.from, &f.to] {
                if !ids.contains(end.as_str()) {
                    return Err(InputError::at(
                        shown,
                        line(end),
                        None,
                        format!("unknown element `{}`", end.as_str()),
                    )
                    .with_hint("declare it under `elements:`"));
                }
            }
        }
        Ok(flows)
    }

    pub fn element(&self, id: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.id.as_str() == id)
    }
}

impl Element {
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(self.id.as_str())
    }
}

/// One proposed D1 row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Proposal {
    pub asset: String,
    pub threat: &'static str,
    pub vector: String,
    pub impact: &'static str,
    pub likelihood: &'static str,
}

/// Applies the rule set to every boundary-crossing flow; sorted and deduplicated.
pub fn propose(model: &Flows) -> Vec<Proposal> {
    let mut out = BTreeSet::new();
    for f in &model.flows {
        let (Some(src), Some(dst)) = (model.element(f.from.as_str()), model.element(f.to.as_str()))
        else {
            continue;
        };
        let crosses =
            src.boundary.as_ref().map(|b| b.as_str()) != dst.boundary.as_ref().map(|b| b.as_str());
        if !crosses {
            continue;
        }
        let what = f.data.as_deref().unwrap_or("data");
        let asset = format!("{} → {} ({what})", src.label(), dst.label());
        let via = f
            .protocol
            .as_deref()
            .map(|p| format!(" over {p}"))
            .unwrap_or_default();
        let mut add = |threat, vector: String, impact, likelihood| {
            out.insert(Proposal {
                asset: asset.clone(),
                threat,
                vector,
                impact,
                likelihood,
            });
        };
        if !f.authenticated {
            add(
                "Spoofing",
                format!(
                    "an attacker poses as {} towards {}",
                    src.label(),
                    dst.label()
                ),
                "High",
                "Medium",
            );
        }
        if !f.encrypted {
            add(
                "Tampering",
                format!("{what} modified in transit{via}"),
                "High",
                "Medium",
            );
            if f.data.is_some() {
                add(
                    "Information disclosure",
                    format!("{what} read in transit{via}"),
                    "High",
                    "Medium",
                );
            }
        }
        if src.kind == ElementKind::External && dst.kind == ElementKind::Process {
            add(
                "Denial of service",
                format!("{} floods {}", src.label(), dst.label()),
                "Medium",
                "Medium",
            );
            if !f.validated {
                add(
                    "Elevation of privilege",
                    format!(
                        "crafted {what} from {} exploits {}",
                        src.label(),
                        dst.label()
                    ),
                    "High",
                    "Low",
                );
            }
        }
        if dst.kind == ElementKind::Process && !f.logged {
            add(
                "Repudiation",
                format!(
                    "{} denies sending {what}; {} keeps no record",
                    src.label(),
                    dst.label()
                ),
                "Low",
                "Medium",
            );
        }
        if dst.kind == ElementKind::Store && src.kind == ElementKind::External {
            add(
                "Tampering",
                format!("{} writes to {} directly", src.label(), dst.label()),
                "High",
                "Low",
            );
        }
    }
    out.into_iter().collect()
}

/// The proposals as D1 CSV (header plus one `Open` row each, control and owner to fill in).
pub fn to_csv(proposals: &[Proposal]) -> String {
    let mut out = format!("{}\n", RegisterKind::D1.starter_header());
    for p in proposals {
        write_row(
            &mut out,
            &[
                &p.asset,
                p.threat,
                &p.vector,
                p.impact,
                p.likelihood,
                "",
                "",
                "",
                "Open",
                "",
            ],
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = "boundaries:\n  - id: internet\n  - id: cloud\n    name: Cloud VPC\nelements:\n  - id: user\n    name: User\n    kind: external\n    boundary: internet\n  - id: api\n    name: API\n    kind: process\n    boundary: cloud\n  - id: db\n    name: Database\n    kind: store\n    boundary: cloud\nflows:\n  - from: user\n    to: api\n    data: credentials\n    protocol: HTTPS\n    encrypted: true\n    authenticated: false\n  - from: api\n    to: db\n    data: orders\n";

    #[test]
    fn only_boundary_crossing_flows_get_threats() {
        let m = Flows::parse(Path::new("flows.yaml"), SAMPLE).unwrap();
        let p = propose(&m);
        assert!(
            p.iter().all(|x| x.asset.starts_with("User → API")),
            "{p:#?}"
        );
        let threats: Vec<&str> = p.iter().map(|x| x.threat).collect();
        assert_eq!(
            threats,
            vec![
                "Denial of service",
                "Elevation of privilege",
                "Repudiation",
                "Spoofing"
            ]
        );
        let csv = to_csv(&p);
        let reg =
            crate::Register::parse(RegisterKind::D1, Path::new("x.csv"), "x.csv", &csv).unwrap();
        assert_eq!(reg.rows.len(), 4);
    }

    #[test]
    fn unknown_references_are_errors_with_lines() {
        let bad = SAMPLE.replace("    to: db\n", "    to: dbx\n");
        let e = Flows::parse(Path::new("flows.yaml"), &bad).unwrap_err();
        assert!(e.message.contains("unknown element `dbx`"), "{e}");
        assert_eq!(e.line, Some(26));
    }
}
