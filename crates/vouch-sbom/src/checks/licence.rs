//! `sbom/licence`: a dependency's declared licence is not on the allow-list.

use serde::Deserialize;
use vouch_core::{Finding, Location, Region, Rule, Severity, Sink, SourceFile};

pub const LICENCE: Rule = Rule {
    id: "sbom/licence",
    severity: Severity::High,
    summary: "A dependency's declared licence is not on the project's allow-list",
    help: "Replace the dependency, get legal approval and add its licence to `allow` under \
           `[rules.\"sbom/licence\"]` in vouch.toml, or record an exception. The rule reads \
           licences the lockfile states (npm, Composer, Alpine); it is off until `allow` is set.\n\n\
           ```toml\n[rules.\"sbom/licence\"]\nallow = [\"MIT\", \"Apache-2.0\", \"BSD-3-Clause\", \"ISC\"]\n```",
    references: &[
        "https://spdx.org/licenses/",
        "https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/",
    ],
};

/// `[rules."sbom/licence"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceOptions {
    /// SPDX licence ids that are acceptable; an expression passes when it can be satisfied
    /// with these (`MIT OR GPL-3.0-only` passes with `MIT`).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// The first line mentioning `needle`, for a location (lockfiles are not span-carrying).
fn line_of(text: &str, needle: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.contains(needle))
        .and_then(|i| u32::try_from(i + 1).ok())
}

pub(super) fn check(opts: &LicenceOptions, file: &SourceFile<'_>, sink: &mut Sink) {
    let Some(reader) = crate::readers::reader_for(file.path) else {
        return;
    };
    let Some(text) = file.text() else { return };
    let parsed = match reader(file.path, text) {
        Ok(p) => p,
        Err(e) => {
            sink.warn(format!("{e}"));
            return;
        }
    };
    for c in parsed.components {
        for l in &c.licenses {
            if crate::licence::allowed_by(l, &opts.allow) {
                continue;
            }
            let needles = [
                format!("node_modules/{}\"", c.name),
                format!("\"{}\"", c.name),
                format!("P:{}", c.name),
                c.name.clone(),
            ];
            let loc = match needles.iter().find_map(|n| line_of(text, n)) {
                Some(line) => Location::at(file.path, Region::line(line)),
                None => Location::file(file.path),
            };
            sink.push(
                Finding::new(
                    &LICENCE,
                    loc,
                    format!(
                        "{} {} is licensed `{l}`, which is not on the allow-list",
                        c.display_name(),
                        c.version
                    ),
                    &format!("{}|{l}", c.purl),
                )
                .with_annotation(format!("licence `{l}` not allowed"))
                .with_property("purl", c.purl.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_and_not() {
        let text = "{\"lockfileVersion\":3,\"packages\":{\"\":{},\n\"node_modules/b\":{\"version\":\"1.0.0\",\"license\":\"MIT OR GPL-3.0-only\"},\n\"node_modules/a\":{\"version\":\"1.0.0\",\"license\":\"GPL-3.0-only\"}}}";
        let file = SourceFile {
            path: "package-lock.json",
            full_path: std::path::Path::new("package-lock.json"),
            bytes: text.as_bytes(),
        };
        let mut sink = Sink::default();
        check(
            &LicenceOptions {
                allow: vec!["MIT".into()],
            },
            &file,
            &mut sink,
        );
        assert_eq!(sink.findings.len(), 1);
        insta::assert_json_snapshot!(sink.findings);
    }
}
