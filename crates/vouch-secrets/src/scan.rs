//! The scanner: keyword prefilter, regexes, filters, validators, and the decoding layers
//! (base64 blobs, notebooks, Kubernetes Secret data, zip/jar/tar.gz archives).
//!
//! Prefilter: one Aho-Corasick automaton over every rule's keywords (ASCII case-insensitive)
//! runs over the bytes once; a rule's regex runs only where one of its keywords occurs, and for
//! single-line rules only on the lines that contain the keyword. On ordinary source most lines
//! contain no keyword, so most bytes never reach a regex (see docs/secrets.md for the
//! measurement that chose this over running a multi-pattern regex set on everything).

use std::io::Read;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use regex::bytes::Regex;

use crate::error::SecretsError;
use crate::filter;
use crate::rule::SecretRule;
use crate::rules::{self, GENERIC_ID, kubernetes};

/// Limits and switches for one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Look inside base64 blobs.
    pub base64: bool,
    /// Look inside zip/jar/whl/tar/tar.gz/gz archives.
    pub archives: bool,
    /// How many decoding layers (archive in archive, base64 in archive, …) to open.
    pub max_depth: u8,
    /// Most bytes decompressed out of one top-level archive (zip-bomb bound).
    pub max_archive_bytes: u64,
    /// Largest archive member that is scanned.
    pub max_entry_bytes: u64,
    /// Run regexes only where a rule's keyword occurs (default). `false` runs every regex over
    /// every text; it exists to measure what the prefilter saves (`examples/prefilter.rs`).
    pub prefilter: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            base64: true,
            archives: true,
            max_depth: 3,
            max_archive_bytes: 256 * 1024 * 1024,
            max_entry_bytes: 16 * 1024 * 1024,
            prefilter: true,
        }
    }
}

/// The secret text of a hit. Its `Debug` shows only the redacted form, so a hit printed in a
/// test failure or a log never reveals the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(s: impl Into<String>) -> Self {
        SecretText(s.into())
    }
    /// The secret itself; only for hashing and validation.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// `ghp_… (40 chars, sha256:3f1c2a9b)`.
    pub fn redacted(&self) -> String {
        crate::redact::redact(&self.0)
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// One detected secret, located in the scanned file (or archive member).
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: &'static vouch_core::Rule,
    /// The display path: the file, or `outer.zip!inner/file` for archive members.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub secret: SecretText,
    /// How the secret was encoded where it was found (`base64`, `kubernetes-data`).
    pub encoding: Option<&'static str>,
    /// Whether the rule has a structural validator and the secret passed it.
    pub validated: bool,
    /// `vouch:allow` on the line (or `vouch:allow-next-line` on the line before).
    pub allowed: bool,
}

/// What a scan of one input produced.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub hits: Vec<Hit>,
    pub warnings: Vec<String>,
    /// Bytes looked at (after decompression), for throughput numbers.
    pub bytes: u64,
}

struct Compiled {
    rule: &'static SecretRule,
    regex: Regex,
    /// Run over the whole text rather than the lines holding a keyword.
    whole_text: bool,
    /// A custom rule's allowlist and secret group (vouch.toml `[[secrets.rules]]`).
    custom: Option<crate::custom::CompiledAllow>,
}

/// A compiled rule set. Build once, share between threads.
pub struct Scanner {
    rules: Vec<Compiled>,
    prefilter: AhoCorasick,
    /// Keyword pattern index → rule indexes.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords (custom rules only): run over every text.
    always: Vec<usize>,
    options: ScanOptions,
}

/// Rules whose keyword is context near the token rather than part of it (`twilio` … `SK…`):
/// their regex runs over the whole file once a keyword is present.
const CONTEXT_KEYWORD_RULES: &[&str] = &["secrets/twilio-api-key", "secrets/mailgun-api-key"];

impl Scanner {
    /// Compiles every built-in rule.
    pub fn new(options: ScanOptions) -> Result<Scanner, SecretsError> {
        Scanner::with_rules(rules::all(), options)
    }

    /// Compiles the given rules.
    pub fn with_rules(
        list: Vec<&'static SecretRule>,
        options: ScanOptions,
    ) -> Result<Scanner, SecretsError> {
        Scanner::with_rules_and_custom(list, Vec::new(), options)
    }

    /// Compiles the given rules; `custom` gives the allowlists of the custom rules among them.
    pub fn with_rules_and_custom(
        list: Vec<&'static SecretRule>,
        mut custom: Vec<(&'static SecretRule, crate::custom::CompiledAllow)>,
        options: ScanOptions,
    ) -> Result<Scanner, SecretsError> {
        let mut always = Vec::new();
        let mut compiled = Vec::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in list.into_iter().enumerate() {
            let regex = regex::bytes::RegexBuilder::new(&format!("(?-u){}", rule.regex))
                .size_limit(32 * 1024 * 1024)
                .build()
                .map_err(|e| SecretsError::Rule {
                    id: rule.id().to_string(),
                    message: e.to_string(),
                })?;
            let whole_text =
                rule.regex.starts_with("(?s)") || CONTEXT_KEYWORD_RULES.contains(&rule.id());
            let allow = custom
                .iter()
                .position(|(r, _)| std::ptr::eq(*r, rule))
                .map(|i| custom.swap_remove(i).1);
            if rule.keywords.is_empty() {
                always.push(i);
            }
            compiled.push(Compiled {
                rule,
                regex,
                whole_text: whole_text || rule.keywords.is_empty(),
                custom: allow,
            });
            for k in rule.keywords {
                match patterns.iter().position(|p| p == k) {
                    Some(p) => keyword_rules[p].push(i),
                    None => {
                        patterns.push(k);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        // A full DFA: with more than a hundred case-insensitive keywords the default choice
        // (a contiguous NFA, no SIMD prefilter) spent over half the scan's CPU in this one pass.
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| SecretsError::Rule {
                id: "prefilter".into(),
                message: e.to_string(),
            })?;
        Ok(Scanner {
            rules: compiled,
            prefilter,
            keyword_rules,
            always,
            options,
        })
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// The metadata of the custom rules (vouch.toml `[[secrets.rules]]`) this scanner runs.
    pub fn custom_metadata(&self) -> Vec<&'static vouch_core::Rule> {
        self.rules
            .iter()
            .filter(|c| c.custom.is_some())
            .map(|c| &c.rule.meta)
            .collect()
    }

    /// Scans one file's bytes; `path` is the display path (also used to recognise archives,
    /// notebooks and lockfiles).
    pub fn scan_bytes(&self, path: &str, bytes: &[u8]) -> ScanOutput {
        let mut out = ScanOutput::default();
        self.scan_layer(
            path,
            bytes,
            0,
            &mut out,
            &mut Budget {
                left: self.options.max_archive_bytes,
            },
        );
        out
    }

    fn scan_layer(
        &self,
        path: &str,
        bytes: &[u8],
        depth: u8,
        out: &mut ScanOutput,
        budget: &mut Budget,
    ) {
        if self.options.archives
            && let Some(kind) = archive_kind(path)
        {
            if depth >= self.options.max_depth {
                out.warnings.push(format!(
                    "{path}: archive nested deeper than {} levels; not opened",
                    self.options.max_depth
                ));
                return;
            }
            self.scan_archive(path, bytes, kind, depth, out, budget);
            return;
        }
        if looks_binary(bytes) {
            return;
        }
        out.bytes += bytes.len() as u64;
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".ipynb") {
            let view = notebook_view(bytes);
            self.scan_text(path, &view, depth, out);
        } else {
            self.scan_text(path, bytes, depth, out);
        }
    }

    /// Runs the rules over text (possibly invalid UTF-8) and the decoding layers inside it.
    fn scan_text(&self, path: &str, text: &[u8], depth: u8, out: &mut ScanOutput) {
        let mut raw: Vec<RawHit> = Vec::new();
        self.match_rules(path, text, &mut raw);

        // Kubernetes Secret data.
        if memchr_find(text, b"kind: Secret") {
            for v in kubernetes::values(text) {
                let mut inner = Vec::new();
                if depth < self.options.max_depth {
                    self.match_rules(path, &v.decoded, &mut inner);
                }
                let inner_found = !inner.is_empty();
                for mut h in inner {
                    h.start = v.start;
                    h.end = v.end;
                    h.encoding = Some("kubernetes-data");
                    raw.push(h);
                }
                if !inner_found && kubernetes::looks_secret(&v.decoded) {
                    raw.push(RawHit {
                        rule: &kubernetes::KUBERNETES_SECRET,
                        start: v.start,
                        end: v.end,
                        secret: String::from_utf8_lossy(&v.decoded).trim().to_string(),
                        encoding: Some("kubernetes-data"),
                        validated: false,
                    });
                }
            }
        }

        // Base64 blobs.
        if self.options.base64 && depth < self.options.max_depth {
            for (start, end) in base64_runs(text) {
                let Some(decoded) = decode_base64(&text[start..end]) else {
                    continue;
                };
                if !mostly_printable(&decoded) {
                    continue;
                }
                let mut inner = ScanOutput::default();
                self.scan_text(path, &decoded, depth + 1, &mut inner);
                for h in inner.hits {
                    raw.push(RawHit {
                        rule: h.rule,
                        start,
                        end,
                        secret: h.secret.0,
                        encoding: Some("base64"),
                        validated: h.validated,
                    });
                }
            }
        }

        drop_weaker_overlaps(&mut raw);
        if raw.is_empty() {
            return;
        }
        let lines = LineIndex::new(text);
        for h in raw {
            let (line, column) = lines.position(text, h.start);
            let (end_line, end_column) = lines.position(text, h.end.saturating_sub(1).max(h.start));
            let allowed = lines.allowed(text, line, h.rule.id);
            out.hits.push(Hit {
                rule: h.rule,
                path: path.to_string(),
                line,
                column,
                end_line,
                end_column,
                secret: SecretText(h.secret),
                encoding: h.encoding,
                validated: h.validated,
                allowed,
            });
        }
    }

    /// Prefilter, then regexes, filters and validators.
    fn match_rules(&self, path: &str, text: &[u8], out: &mut Vec<RawHit>) {
        let lockfile = filter::is_lockfile(path);
        let code = filter::is_code(path);
        // (rule index) → line starts already scanned, or whole text done.
        let mut done_whole = vec![false; self.rules.len()];
        if !self.options.prefilter {
            for c in &self.rules {
                if !(lockfile && c.rule.id() == GENERIC_ID) {
                    self.run_rule(c, path, text, 0, code, out);
                }
            }
            out.sort_by(|a, b| (a.start, a.end, a.rule.id).cmp(&(b.start, b.end, b.rule.id)));
            out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.rule.id == b.rule.id);
            return;
        }
        // Two levels: a leftmost search (accelerated by the automaton's SIMD prefilter) finds
        // the next line holding any keyword; an overlapping search over that line alone then
        // collects every keyword on it, so no rule is missed because a match of another
        // keyword overlapped its own. Most lines hold no keyword and are never looked at again.
        for &ri in &self.always {
            done_whole[ri] = true;
            self.run_rule(&self.rules[ri], path, text, 0, code, out);
        }
        let mut pos = 0;
        let mut rules_here: Vec<usize> = Vec::new();
        while pos < text.len() {
            let Some(m) = self
                .prefilter
                .find(aho_corasick::Input::new(text).span(pos..text.len()))
            else {
                break;
            };
            let (ls, le) = line_bounds(text, m.start());
            rules_here.clear();
            for k in self.prefilter.find_overlapping_iter(&text[ls..le]) {
                rules_here.extend_from_slice(&self.keyword_rules[k.pattern().as_usize()]);
            }
            rules_here.sort_unstable();
            rules_here.dedup();
            for &ri in &rules_here {
                let c = &self.rules[ri];
                if lockfile && c.rule.id() == GENERIC_ID {
                    continue;
                }
                if c.whole_text {
                    if !done_whole[ri] {
                        done_whole[ri] = true;
                        self.run_rule(c, path, text, 0, code, out);
                    }
                } else {
                    self.run_rule(c, path, &text[ls..le], ls, code, out);
                }
            }
            pos = le + 1;
        }
        out.sort_by(|a, b| (a.start, a.end, a.rule.id).cmp(&(b.start, b.end, b.rule.id)));
        out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.rule.id == b.rule.id);
    }

    /// `code`: the text is program source, where only quoted literals count as assigned values
    /// for the generic rule (`TOKEN: TokenKind = …` is a type, not a secret).
    fn run_rule(
        &self,
        c: &Compiled,
        path: &str,
        hay: &[u8],
        base: usize,
        code: bool,
        out: &mut Vec<RawHit>,
    ) {
        for caps in c.regex.captures_iter(hay) {
            if code && caps.name("bare").is_some() {
                continue;
            }
            let group = c
                .custom
                .as_ref()
                .and_then(|a| a.group)
                .and_then(|g| caps.get(g));
            let Some(m) = group
                .or_else(|| {
                    ["secret", "q1", "q2", "bare"]
                        .iter()
                        .find_map(|n| caps.name(n))
                })
                .or_else(|| caps.get(1))
                .or_else(|| caps.get(0))
            else {
                continue;
            };
            let Ok(secret) = std::str::from_utf8(m.as_bytes()) else {
                continue;
            };
            if !self.accept(c.rule, secret) {
                continue;
            }
            if let Some(allow) = &c.custom
                && allow.allows(path, secret)
            {
                continue;
            }
            // A PEM block under a passphrase (legacy `Proc-Type: 4,ENCRYPTED`, an OpenSSH key
            // whose cipher is not `none`) is an encrypted key, never reported as plaintext.
            let meta = if c.rule.id() == rules::keys::PRIVATE_KEY_ID
                && crate::validate::pem_is_encrypted(secret)
            {
                rules::keys::encrypted_meta()
            } else {
                &c.rule.meta
            };
            // A key block is the same secret however it is indented or escaped (a PEM file and
            // the same key in a YAML block scalar or a JSON string): hash its canonical form.
            let secret = if c.rule.validator == crate::validate::Validator::PemBody {
                canonical_block(secret)
            } else {
                secret.to_string()
            };
            out.push(RawHit {
                rule: meta,
                start: base + m.start(),
                end: base + m.end(),
                secret,
                encoding: None,
                validated: c.rule.validator != crate::validate::Validator::None,
            });
        }
    }

    fn accept(&self, rule: &SecretRule, secret: &str) -> bool {
        // Key blocks and signed-note keys are judged by their validator (their armour and
        // key names hold words such as `example` that are not placeholders there).
        let structural = matches!(
            rule.validator,
            crate::validate::Validator::PemBody | crate::validate::Validator::SignedNoteKey
        );
        if filter::KNOWN_EXAMPLES.contains(&secret) {
            return false;
        }
        if !structural && filter::is_placeholder(secret) {
            return false;
        }
        if rule.min_entropy > 0.0 && filter::entropy(secret.as_bytes()) < rule.min_entropy {
            return false;
        }
        if rule.id() == GENERIC_ID && !filter::generic_value_ok(secret) {
            return false;
        }
        rule.validator.check(secret)
    }

    fn scan_archive(
        &self,
        path: &str,
        bytes: &[u8],
        kind: ArchiveKind,
        depth: u8,
        out: &mut ScanOutput,
        budget: &mut Budget,
    ) {
        let max_entry = self.options.max_entry_bytes;
        match kind {
            ArchiveKind::Zip => {
                let mut zip = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
                    Ok(z) => z,
                    Err(e) => {
                        out.warnings
                            .push(format!("{path}: not a readable zip archive: {e}"));
                        return;
                    }
                };
                for i in 0..zip.len() {
                    let mut entry = match zip.by_index(i) {
                        Ok(e) => e,
                        Err(e) => {
                            out.warnings.push(format!("{path}: entry {i}: {e}"));
                            continue;
                        }
                    };
                    if entry.is_dir() {
                        continue;
                    }
                    let name = format!("{path}!{}", entry.name());
                    if entry.size() > max_entry {
                        out.warnings.push(format!(
                            "{name}: {} bytes is over the archive member limit; skipped",
                            entry.size()
                        ));
                        continue;
                    }
                    match read_bounded(&mut entry, max_entry, budget) {
                        Ok(data) => self.scan_layer(&name, &data, depth + 1, out, budget),
                        Err(msg) => {
                            out.warnings.push(format!("{name}: {msg}"));
                            if budget.left == 0 {
                                return;
                            }
                        }
                    }
                }
            }
            ArchiveKind::TarGz | ArchiveKind::Tar => {
                let reader: Box<dyn Read> = if kind == ArchiveKind::TarGz {
                    Box::new(flate2::read::GzDecoder::new(bytes))
                } else {
                    Box::new(bytes)
                };
                let mut archive = tar::Archive::new(reader);
                let entries = match archive.entries() {
                    Ok(e) => e,
                    Err(e) => {
                        out.warnings
                            .push(format!("{path}: not a readable tar archive: {e}"));
                        return;
                    }
                };
                for entry in entries {
                    let mut entry = match entry {
                        Ok(e) => e,
                        Err(e) => {
                            out.warnings.push(format!("{path}: {e}"));
                            return;
                        }
                    };
                    if !entry.header().entry_type().is_file() {
                        continue;
                    }
                    let name = match entry.path() {
                        Ok(p) => format!("{path}!{}", p.to_string_lossy()),
                        Err(_) => format!("{path}!?"),
                    };
                    let size = entry.header().size().unwrap_or(u64::MAX);
                    if size > max_entry {
                        out.warnings.push(format!(
                            "{name}: {size} bytes is over the archive member limit; skipped"
                        ));
                        continue;
                    }
                    match read_bounded(&mut entry, max_entry, budget) {
                        Ok(data) => self.scan_layer(&name, &data, depth + 1, out, budget),
                        Err(msg) => {
                            out.warnings.push(format!("{name}: {msg}"));
                            if budget.left == 0 {
                                return;
                            }
                        }
                    }
                }
            }
            ArchiveKind::Gz => {
                let inner = path
                    .strip_suffix(".gz")
                    .or_else(|| path.strip_suffix(".GZ"))
                    .unwrap_or(path);
                let name = format!("{path}!{}", inner.rsplit('/').next().unwrap_or(inner));
                let mut dec = flate2::read::GzDecoder::new(bytes);
                match read_bounded(&mut dec, max_entry, budget) {
                    Ok(data) => self.scan_layer(&name, &data, depth + 1, out, budget),
                    Err(msg) => out.warnings.push(format!("{path}: {msg}")),
                }
            }
        }
    }
}

struct Budget {
    left: u64,
}

fn read_bounded(r: &mut dyn Read, max: u64, budget: &mut Budget) -> Result<Vec<u8>, String> {
    let limit = max.min(budget.left);
    let mut data = Vec::new();
    let n = r
        .take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot decompress: {e}"))? as u64;
    if n > limit {
        budget.left = budget.left.saturating_sub(limit);
        return Err(if limit < max {
            "decompressed size budget of the archive exhausted (possible zip bomb); rest not scanned".to_string()
        } else {
            "decompresses to more than the archive member limit; skipped".to_string()
        });
    }
    budget.left -= n;
    Ok(data)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    Zip,
    TarGz,
    Tar,
    Gz,
}

/// Whether the scanner opens `path` as an archive (by its name).
pub fn is_archive(path: &str) -> bool {
    archive_kind(path).is_some()
}

fn archive_kind(path: &str) -> Option<ArchiveKind> {
    let name = path
        .rsplit(['/', '!'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    let ext = |e: &str| name.ends_with(e);
    if [
        ".zip", ".jar", ".war", ".ear", ".whl", ".nupkg", ".aar", ".egg", ".apk",
    ]
    .iter()
    .any(|e| ext(e))
    {
        Some(ArchiveKind::Zip)
    } else if ext(".tar.gz") || ext(".tgz") || ext(".crate") {
        Some(ArchiveKind::TarGz)
    } else if ext(".tar") {
        Some(ArchiveKind::Tar)
    } else if ext(".gz") {
        Some(ArchiveKind::Gz)
    } else {
        None
    }
}

struct RawHit {
    rule: &'static vouch_core::Rule,
    start: usize,
    end: usize,
    secret: String,
    encoding: Option<&'static str>,
    validated: bool,
}

/// Drops generic and Kubernetes hits where a provider rule matched overlapping text, and
/// identical secrets reported twice at one place.
fn drop_weaker_overlaps(raw: &mut Vec<RawHit>) {
    // Strength: provider rules 2, the Kubernetes rule 1, the generic rule 0. A hit is dropped
    // when a stronger one overlaps it.
    let strength = |id: &str| match id {
        GENERIC_ID => 0u8,
        id if id == kubernetes::KUBERNETES_SECRET.id => 1,
        _ => 2,
    };
    let spans: Vec<(usize, usize, u8)> = raw
        .iter()
        .map(|h| (h.start, h.end, strength(h.rule.id)))
        .collect();
    raw.retain(|h| {
        let me = strength(h.rule.id);
        !spans
            .iter()
            .any(|(s, e, st)| *st > me && h.start < *e && *s < h.end)
    });
    raw.sort_by(|a, b| (a.start, a.end, a.rule.id).cmp(&(b.start, b.end, b.rule.id)));
    raw.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.rule.id == b.rule.id);
}

/// A key block's lines, trimmed (indentation, quotes, `\r`), `\n` escapes undone, joined by `\n`.
fn canonical_block(block: &str) -> String {
    block
        .split(['\n', '\r'])
        .flat_map(|l| l.split("\\n"))
        .map(|l| l.trim().trim_matches('"').trim_end_matches("\\r"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A NUL byte in the first 8 KiB: a binary (git's and ripgrep's rule, as vouch-core's walker),
/// found with SIMD `memchr`.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

fn line_bounds(text: &[u8], at: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
    (start, end)
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Line starts, computed once per text that has hits.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based (line, column); columns count UTF-8 characters (bytes for invalid UTF-8).
    fn position(&self, text: &[u8], offset: usize) -> (u32, u32) {
        let idx = self
            .starts
            .partition_point(|s| *s <= offset)
            .saturating_sub(1);
        let start = self.starts[idx];
        let col = String::from_utf8_lossy(&text[start..offset.min(text.len())])
            .chars()
            .count()
            + 1;
        (
            u32::try_from(idx + 1).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }

    fn line<'t>(&self, text: &'t [u8], line: u32) -> &'t [u8] {
        let i = (line as usize).saturating_sub(1);
        let Some(start) = self.starts.get(i) else {
            return &[];
        };
        let end = self
            .starts
            .get(i + 1)
            .map_or(text.len(), |e| e.saturating_sub(1));
        &text[*start..end.max(*start)]
    }

    /// `vouch:allow` (optionally followed by rule ids) on the line, or `vouch:allow-next-line`
    /// on the line before.
    fn allowed(&self, text: &[u8], line: u32, rule: &str) -> bool {
        let check = |l: &[u8], marker: &str| {
            let s = String::from_utf8_lossy(l);
            let Some(pos) = s.find(marker) else {
                return false;
            };
            let rest = s[pos + marker.len()..].trim_start();
            // `vouch:allow` alone allows every rule; `vouch:allow secrets/x,secrets/y` only those.
            let ids: Vec<&str> = rest
                .split(|c: char| c.is_whitespace() || c == ',')
                .take_while(|w| w.contains('/'))
                .collect();
            ids.is_empty()
                || ids.iter().any(|i| {
                    *i == rule || (i.ends_with("/*") && rule.starts_with(&i[..i.len() - 1]))
                })
        };
        let this = self.line(text, line);
        // gitleaks' inline allow, so repositories moving from gitleaks need no new comments.
        if memchr::memmem::find(this, b"gitleaks:allow").is_some() {
            return true;
        }
        if check(this, "vouch:allow")
            && !String::from_utf8_lossy(this).contains("vouch:allow-next-line")
        {
            return true;
        }
        line > 1 && check(self.line(text, line - 1), "vouch:allow-next-line")
    }
}

/// Spans of base64 (standard or URL-safe) runs of at least 32 characters that mix upper case,
/// lower case and digits (identifiers and hex do not). Probes every 32nd byte: a run that long
/// must cover a probe, so text without long runs costs one table lookup per 32 bytes.
fn base64_runs(text: &[u8]) -> Vec<(usize, usize)> {
    const MIN: usize = 32;
    static TABLE: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
            b += 1;
        }
        t
    };
    let is_b64 = |b: u8| TABLE[b as usize];
    let n = text.len();
    let mut out = Vec::new();
    let mut i = 0; // everything before `i` is done
    while i + MIN <= n {
        let probe = i + MIN - 1;
        if !is_b64(text[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_b64(text[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < n && is_b64(text[end]) {
            end += 1;
        }
        if end - start >= MIN {
            let run = &text[start..end];
            let upper = run.iter().any(u8::is_ascii_uppercase);
            let lower = run.iter().any(u8::is_ascii_lowercase);
            let digit = run.iter().any(u8::is_ascii_digit);
            let mut stop = end;
            while stop < n && text[stop] == b'=' && stop - end < 2 {
                stop += 1;
            }
            if upper && lower && digit {
                out.push((start, stop));
            }
            i = stop;
        } else {
            i = end;
        }
    }
    out
}

fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let trimmed: Vec<u8> = run.iter().copied().filter(|b| *b != b'=').collect();
    if run.iter().any(|b| matches!(b, b'-' | b'_')) {
        URL_SAFE_NO_PAD
            .decode(&trimmed)
            .or_else(|_| URL_SAFE.decode(run))
            .ok()
    } else {
        STANDARD_NO_PAD
            .decode(&trimmed)
            .or_else(|_| STANDARD.decode(run))
            .ok()
    }
}

fn mostly_printable(data: &[u8]) -> bool {
    if data.len() < 16 {
        return false;
    }
    let printable = data
        .iter()
        .filter(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        .count();
    printable * 100 >= data.len() * 95
}

/// A notebook's lines with JSON string escapes undone, line for line, so that source cells are
/// scanned as the code they hold and locations keep the file's line numbers.
fn notebook_view(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let t = line.trim_ascii();
        let t = t.strip_suffix(b",").unwrap_or(t);
        let indent = line.len() - line.trim_ascii_start().len();
        if t.len() >= 2
            && t.starts_with(b"\"")
            && t.ends_with(b"\"")
            && let Ok(s) = serde_json::from_slice::<String>(t)
        {
            out.extend(std::iter::repeat_n(b' ', indent + 1));
            out.extend(s.trim_end_matches('\n').replace('\n', " ").bytes());
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scanner() -> &'static Scanner {
        static S: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
        S.get_or_init(|| Scanner::new(ScanOptions::default()).unwrap())
    }

    #[test]
    fn debug_of_a_hit_is_redacted() {
        let token = crate::validate::make_crc32_token(
            "ghp_",
            concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"),
        );
        let out = scanner().scan_bytes("a.txt", format!("t = {token}\n").as_bytes());
        assert_eq!(out.hits.len(), 1);
        let dbg = format!("{:?}", out.hits[0]);
        assert!(!dbg.contains(&token[4..]), "{dbg}");
        assert_eq!((out.hits[0].line, out.hits[0].column), (1, 5));
    }

    #[test]
    fn binaries_are_skipped_and_archives_bounded() {
        let token = crate::validate::make_crc32_token(
            "ghp_",
            concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"),
        );
        let mut bin = vec![0u8; 16];
        bin.extend_from_slice(token.as_bytes());
        assert!(scanner().scan_bytes("a.bin", &bin).hits.is_empty());
        // A zip of zeros that decompresses past the budget: warning, no panic, no hit.
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("big.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, &vec![b'a'; 4 * 1024 * 1024]).unwrap();
        let zip = w.finish().unwrap().into_inner();
        let s = Scanner::new(ScanOptions {
            max_archive_bytes: 1024 * 1024,
            ..ScanOptions::default()
        })
        .unwrap();
        let out = s.scan_bytes("x.zip", &zip);
        assert!(out.hits.is_empty());
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("budget") || w.contains("limit")),
            "{:?}",
            out.warnings
        );
        // Nesting beyond the depth limit is reported, not followed.
        let mut nested = zip;
        for _ in 0..4 {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            w.start_file("inner.zip", zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, &nested).unwrap();
            nested = w.finish().unwrap().into_inner();
        }
        let out = scanner().scan_bytes("x.zip", &nested);
        assert!(
            out.warnings.iter().any(|w| w.contains("nested deeper")),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn inline_allow_forms() {
        let token = crate::validate::make_crc32_token(
            "ghp_",
            concat!("Qw3rTy7UiOp", "AsDfGhJkLzXcVbNm123"),
        );
        let text = format!(
            "a = {token} # vouch:allow\nb = {token} # vouch:allow secrets/aws-access-key-id\n# vouch:allow-next-line\nc = {token}\n"
        );
        let hits = scanner().scan_bytes("a.py", text.as_bytes()).hits;
        let allowed: Vec<bool> = hits.iter().map(|h| h.allowed).collect();
        assert_eq!(allowed, vec![true, false, true]);
    }

    #[test]
    fn huge_line_and_invalid_utf8() {
        let mut big = vec![b'a'; 2 * 1024 * 1024];
        big.extend_from_slice(b"\xff\xfe password = \"Zq8vK2mPp4rT7wXy\" \xc3\x28");
        let out = scanner().scan_bytes("min.js", &big);
        assert_eq!(out.hits.len(), 1);
    }

    #[test]
    fn generic_rule_trusts_only_quoted_literals_in_code() {
        let s = scanner();
        let code = b"pub const ACCESS_TOKEN: TokenKind9 = TokenKind9::Access;\nlet shared_secret_len = params.secret_len2;\n";
        assert!(s.scan_bytes("src/lib.rs", code).hits.is_empty());
        assert_eq!(
            s.scan_bytes("src/lib.rs", b"let password = \"Zq8vK2mPp4rT7wXy\";\n")
                .hits
                .len(),
            1
        );
        assert_eq!(
            s.scan_bytes("app/.env", b"DB_PASSWORD=Zq8vK2mPp4rT7wXy\n")
                .hits
                .len(),
            1
        );
    }

    #[test]
    fn generic_keywords_cover_every_name_of_its_regex() {
        // The generic rule's keywords are narrower than `key`: each name its regex accepts
        // must still contain one of them, or the prefilter would hide it.
        for name in [
            "DB_PASSWORD",
            "passwd",
            "PWD",
            "client_secret",
            "AUTH_TOKEN",
            "apiKey",
            "API_KEY",
            "api-key",
            "api.key",
            "accessKey",
            "ACCESS_KEY",
            "access-key",
            "authKey",
            "auth_key",
            "privateKey",
            "PRIVATE_KEY",
            "credentials",
            "Credential",
        ] {
            let line = format!("{name} = \"Zq8vK2mPp4rT7wXy\"\n");
            let hits = scanner().scan_bytes("app.cfg", line.as_bytes()).hits;
            assert_eq!(hits.len(), 1, "{name}");
            assert_eq!(hits[0].rule.id, GENERIC_ID, "{name}");
        }
        assert!(
            scanner()
                .scan_bytes("app.cfg", b"monkey = \"Zq8vK2mPp4rT7wXy\"\n")
                .hits
                .is_empty()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), name in "[a-z]{1,8}\\.(zip|jar|tar|tgz|gz|ipynb|yaml|txt)") {
            let _ = scanner().scan_bytes(&name, &bytes);
        }

        #[test]
        fn keyword_soup_never_panics(s in "(ghp_|kind: Secret\n|data:\n  k: |password=|eyJ|-----BEGIN PRIVATE KEY-----|[A-Za-z0-9+/=]{0,40}|\n| ){0,30}") {
            let _ = scanner().scan_bytes("a.yaml", s.as_bytes());
        }
    }
}
