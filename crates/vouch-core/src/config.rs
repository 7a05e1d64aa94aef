//! `vouch.toml`: enabled checks, severity overrides, ignores, thresholds, and one section per
//! capability.
//!
//! Unknown keys are errors (with the line) so a typo never silently disables a guard. The
//! capability sections are kept as raw TOML here and validated by their owners through
//! [`Config::section`], which re-reads the original text so errors keep their line numbers.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::line_col;
use crate::{InputError, Severity};

/// Rule families whose ids are made at run time: a vulnerability id (`vuln/GHSA-…`), a Rego
/// query (`rego/main.deny`), a gate requirement (`gate/…`).
pub const DYNAMIC_RULE_FAMILIES: &[&str] = &["vuln", "rego", "gate"];

/// The file name looked for at the root of the scanned directory.
pub const CONFIG_FILE: &str = "vouch.toml";

/// The parsed configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Lowest severity that makes `vouch check` exit 1 (default `high`).
    pub fail_on: Option<Severity>,
    /// Extra gitignore-style globs of paths to skip.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Files larger than this many bytes are skipped by the walker (default 10 MiB).
    pub max_file_size: Option<u64>,
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Per-rule settings: `[rules."workflow/unpinned-action"]`.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleConfig>,
    #[serde(default)]
    pub exceptions: ExceptionsConfig,

    // Capability sections, validated by their crates through `Config::section`.
    pub secrets: Option<toml::Table>,
    pub sbom: Option<toml::Table>,
    pub vuln: Option<toml::Table>,
    pub workflow: Option<toml::Table>,
    pub iam: Option<toml::Table>,
    pub policy: Option<toml::Table>,
    pub registers: Option<toml::Table>,
    pub gate: Option<toml::Table>,
    pub log: Option<toml::Table>,
    pub seal: Option<toml::Table>,
    pub serve: Option<toml::Table>,

    /// Where the configuration came from (`None`: built-in defaults).
    #[serde(skip)]
    pub source: Option<ConfigSource>,
}

/// The file a configuration was read from, kept for error messages.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub text: String,
}

/// `[checks]`: which checks run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// If set, only these checks run.
    pub enable: Option<Vec<String>>,
    /// These checks never run.
    #[serde(default)]
    pub disable: Vec<String>,
}

/// `[rules.<id>]`: severity override, switch, and rule-specific options.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleConfig {
    pub severity: Option<Severity>,
    pub enabled: Option<bool>,
    /// Options the rule itself reads with [`Config::rule_options`].
    #[serde(flatten)]
    pub options: toml::Table,
}

/// `[exceptions]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionsConfig {
    /// Longest allowed time between today and an exception's `expires` (default 90 days).
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_days: u32,
}

fn default_max_lifetime() -> u32 {
    90
}

impl Default for ExceptionsConfig {
    fn default() -> Self {
        ExceptionsConfig {
            max_lifetime_days: default_max_lifetime(),
        }
    }
}

/// The top-level keys, for "did you mean" hints.
const TOP_LEVEL_KEYS: &[&str] = &[
    "fail_on",
    "ignore",
    "max_file_size",
    "checks",
    "rules",
    "exceptions",
    "secrets",
    "sbom",
    "vuln",
    "workflow",
    "iam",
    "policy",
    "registers",
    "gate",
    "log",
    "seal",
    "serve",
];

impl Config {
    /// Parses `text` as the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, InputError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| toml_error(path, text, &e, TOP_LEVEL_KEYS))?;
        config.source = Some(ConfigSource {
            path: path.to_path_buf(),
            text: text.to_string(),
        });
        Ok(config)
    }

    /// Reads a configuration file; a missing file is an error.
    pub fn load(path: &Path) -> Result<Config, InputError> {
        let text = crate::fs::read_regular_to_string(path, crate::fs::MAX_INPUT_LEN)
            .map_err(|e| e.or_hint("check the --config path"))?;
        Config::parse(path, &text)
    }

    /// Reads `<dir>/vouch.toml` if it exists, else returns the defaults. A directory, FIFO or
    /// device in its place is an error, never "no configuration".
    pub fn discover(dir: &Path) -> Result<Config, InputError> {
        let path = dir.join(CONFIG_FILE);
        if std::fs::symlink_metadata(&path).is_ok() {
            Config::load(&path)
        } else {
            Ok(Config::default())
        }
    }

    /// An error about `key` (in `[section]`), at the line and column where the key is set
    /// in the configuration file, for values that parse but are out of range.
    pub fn error_at_key(&self, section: &str, key: &str, message: impl Into<String>) -> InputError {
        let file = self
            .path()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
        let mut e = InputError::in_file(file, message);
        if let Some(text) = self.source.as_ref().map(|s| s.text.as_str()) {
            let header = format!("[{section}]");
            let after = text.find(&header).map_or(0, |i| i + header.len());
            let mut offset = after;
            for line in text[after..].split_inclusive('\n') {
                let trimmed = line.trim_start();
                if trimmed.starts_with(key) && trimmed[key.len()..].trim_start().starts_with('=') {
                    let (l, c) = line_col(text, offset + (line.len() - trimmed.len()));
                    e.line = Some(l);
                    e.column = Some(c);
                    break;
                }
                offset += line.len();
            }
        }
        e
    }

    /// Refuses a `[rules."<id>"]` table whose id no check reports, so a misspelt id never
    /// silently leaves a rule at its default severity. Ids in [`DYNAMIC_RULE_FAMILIES`] are
    /// made at run time and cannot be listed, so any id in those families is accepted.
    pub fn check_rule_ids<'a>(
        &self,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), InputError> {
        let known: std::collections::BTreeSet<&str> = known.into_iter().collect();
        for id in self.rules.keys() {
            let family = id.split('/').next().unwrap_or("");
            if known.contains(id.as_str())
                || (id.contains('/') && DYNAMIC_RULE_FAMILIES.contains(&family))
            {
                continue;
            }
            let file = self
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
            let text = self.source.as_ref().map(|s| s.text.as_str()).unwrap_or("");
            let at = text.find(&format!("\"{id}\"")).or_else(|| {
                text.find(&format!("rules.{id}"))
                    .map(|i| i + "rules.".len())
            });
            let mut e = InputError::in_file(&file, format!("unknown rule id `{id}` in [rules]"))
                .with_hint("`vouch explain` lists the rule ids");
            if let Some(offset) = at {
                let (line, column) = line_col(text, offset);
                e.line = Some(line);
                e.column = Some(column);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Deserializes the capability section `name` (`vuln`, `secrets`, …) into `T`, or
    /// `T::default()` when absent. Errors carry the line in `vouch.toml`.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, InputError> {
        let Some(src) = &self.source else {
            return Ok(T::default());
        };
        let seed = SectionSeed::<T> {
            name,
            _t: PhantomData,
        };
        let de = toml::Deserializer::parse(&src.text)
            .map_err(|e| toml_error(&src.path, &src.text, &e, &[]))?;
        let value = seed
            .deserialize(de)
            .map_err(|e| toml_error(&src.path, &src.text, &e, &[]))?;
        Ok(value.unwrap_or_default())
    }

    /// Deserializes the options of rule `id` (everything in `[rules."<id>"]` but `severity`
    /// and `enabled`), or `T::default()` when the table is absent.
    pub fn rule_options<T: DeserializeOwned + Default>(&self, id: &str) -> Result<T, InputError> {
        let Some(rule) = self.rules.get(id) else {
            return Ok(T::default());
        };
        T::deserialize(toml::Value::Table(rule.options.clone())).map_err(|e| {
            let file = self
                .source
                .as_ref()
                .map(|s| s.path.clone())
                .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
            let line = self
                .source
                .as_ref()
                .and_then(|s| find_line(&s.text, &format!("\"{id}\"")));
            InputError {
                file: Some(file),
                line,
                column: None,
                message: format!("[rules.\"{id}\"]: {}", e.message()),
                hint: Some(format!("see `vouch explain {id}` for the options")),
            }
        })
    }

    /// The severity of `rule` after `[rules.<id>] severity = …`.
    pub fn severity_for(&self, rule: &str, default: Severity) -> Severity {
        self.rules
            .get(rule)
            .and_then(|r| r.severity)
            .unwrap_or(default)
    }

    /// `false` when `[rules.<id>] enabled = false`.
    pub fn rule_enabled(&self, rule: &str) -> bool {
        self.rules.get(rule).and_then(|r| r.enabled).unwrap_or(true)
    }

    /// Whether the check `name` runs under `[checks]`.
    pub fn check_enabled(&self, name: &str) -> bool {
        if self.checks.disable.iter().any(|c| c == name) {
            return false;
        }
        match &self.checks.enable {
            Some(list) => list.iter().any(|c| c == name),
            None => true,
        }
    }

    /// The file name to show in errors about this configuration.
    pub fn path(&self) -> Option<&Path> {
        self.source.as_ref().map(|s| s.path.as_path())
    }
}

fn find_line(text: &str, needle: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.contains(needle))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error, keys: &[&str]) -> InputError {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let message = e.message().trim().to_string();
    let hint = unknown_key_hint(&message, keys)
        .unwrap_or_else(|| "see docs/configuration.md for every key".to_string());
    InputError {
        file: Some(path.to_path_buf()),
        line,
        column,
        message,
        hint: Some(hint),
    }
}

/// "unknown field `fail_onn`" → "did you mean `fail_on`?"
fn unknown_key_hint(message: &str, keys: &[&str]) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let field = rest.split('`').next()?;
    let best = keys
        .iter()
        .map(|k| (edit_distance(field, k), *k))
        .min()
        .filter(|(d, _)| *d <= 3)?;
    Some(format!("did you mean `{}`?", best.1))
}

/// Levenshtein distance, for "did you mean" hints across the workspace.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), *c))
        .min()
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .map(|(_, c)| c)
}

/// Deserializes only the top-level key `name` of a TOML document into `T`, so that errors
/// inside the section keep their spans in the original text.
struct SectionSeed<'n, T> {
    name: &'n str,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for SectionSeed<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for SectionSeed<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.name {
                out = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_with_line_and_hint() {
        let e = Config::parse(Path::new("vouch.toml"), "\nfail_onn = \"low\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("fail_onn"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("did you mean `fail_on`?"));
    }

    #[test]
    fn sections_keep_line_numbers() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Vuln {
            #[allow(dead_code)]
            db: Option<String>,
        }
        let text = "fail_on = \"low\"\n[vuln]\ndb = \"x\"\nbogus = 1\n";
        let c = Config::parse(Path::new("vouch.toml"), text).unwrap();
        let e = c.section::<Vuln>("vuln").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let ok = Config::parse(Path::new("vouch.toml"), "[vuln]\ndb = \"x\"\n").unwrap();
        assert_eq!(ok.section::<Vuln>("vuln").unwrap().db.as_deref(), Some("x"));
        assert!(ok.section::<Vuln>("secrets").unwrap().db.is_none());
    }

    #[test]
    fn checks_and_rules() {
        let text = "[checks]\ndisable = [\"secrets\"]\n[rules.\"repo/security-md\"]\nseverity = \"high\"\nenabled = false\n";
        let c = Config::parse(Path::new("vouch.toml"), text).unwrap();
        assert!(!c.check_enabled("secrets"));
        assert!(c.check_enabled("repo"));
        assert_eq!(
            c.severity_for("repo/security-md", Severity::Info),
            Severity::High
        );
        assert!(!c.rule_enabled("repo/security-md"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_config_text_never_panics(text in "\\PC{0,200}") {
            if let Ok(c) = Config::parse(Path::new("vouch.toml"), &text) {
                let _ = c.section::<toml::Table>("vuln");
            }
        }
    }

    #[test]
    fn errors_point_at_the_key() {
        let c = Config::parse(
            Path::new("vouch.toml"),
            "fail_on = \"high\"\n[seal]\nkeyring = \"k\"\n  max_encryptions = 9\n",
        )
        .unwrap();
        let e = c.error_at_key("seal", "max_encryptions", "too many");
        assert_eq!((e.line, e.column), (Some(4), Some(3)), "{e}");
    }

    #[test]
    fn unknown_rule_ids_are_refused_with_position() {
        let c = Config::parse(
            Path::new("vouch.toml"),
            "[rules.\"secrets/aws\"]\nseverity = \"low\"\n[rules.\"secrets/awz\"]\nenabled = false\n[rules.\"vuln/GHSA-1\"]\nenabled = false\n",
        )
        .unwrap();
        let e = c.check_rule_ids(["secrets/aws"]).unwrap_err();
        assert!(e.message.contains("secrets/awz"), "{e}");
        assert_eq!((e.line, e.column), (Some(3), Some(8)), "{e}");
        c.check_rule_ids(["secrets/aws", "secrets/awz"]).unwrap();
    }

    #[test]
    fn closest_words() {
        assert_eq!(
            closest("Mitigatd", &["Open", "Mitigated", "Accepted"]),
            Some("Mitigated")
        );
        assert_eq!(closest("zzz", &["Open", "Mitigated"]), None);
    }
}
