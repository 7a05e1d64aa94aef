//! Kubernetes `Secret` manifests: values under `data:` are base64-decoded (and under
//! `stringData:` taken as they are) and reported when they look like credentials; the decoded
//! text is also scanned with every other rule.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use vouch_core::{Rule, Severity};

pub const KUBERNETES_SECRET: Rule = Rule {
    id: "secrets/kubernetes-secret",
    severity: Severity::High,
    summary: "Credential committed in a Kubernetes Secret manifest",
    help: "A Secret's `data` is only base64-encoded, not encrypted. Keep the manifest out of the \
           repository (generate it at deploy time), or commit it encrypted (Sealed Secrets, SOPS) \
           or as an ExternalSecret that references a secret store; rotate the committed value.",
    references: &["https://kubernetes.io/docs/concepts/configuration/secret/"],
};

/// One value of a Secret manifest: its byte span in the file and the decoded value.
pub struct ManifestValue {
    pub start: usize,
    pub end: usize,
    pub decoded: Vec<u8>,
}

/// Finds the values of `data:`/`stringData:` blocks in YAML documents with `kind: Secret`.
/// Line-oriented on purpose: manifests are often templated (Helm) and not valid YAML.
pub fn values(text: &[u8]) -> Vec<ManifestValue> {
    let mut out = Vec::new();
    for doc in split_documents(text) {
        let (doc_start, doc) = doc;
        if !doc
            .split(|b| *b == b'\n')
            .any(|l| trim(l) == b"kind: Secret")
        {
            continue;
        }
        let mut block: Option<(usize, bool)> = None; // (indent, base64?)
        let mut offset = doc_start;
        for line in doc.split(|b| *b == b'\n') {
            let line_start = offset;
            offset += line.len() + 1;
            let indent = line.iter().take_while(|b| **b == b' ').count();
            let body = trim(line);
            if body.is_empty() || body.starts_with(b"#") {
                continue;
            }
            if let Some((bi, _)) = block
                && indent <= bi
            {
                block = None;
            }
            if body == b"data:" {
                block = Some((indent, true));
                continue;
            }
            if body == b"stringData:" {
                block = Some((indent, false));
                continue;
            }
            let Some((_, is_b64)) = block else { continue };
            let Some(colon) = body.iter().position(|b| *b == b':') else {
                continue;
            };
            let raw = trim(&body[colon + 1..]);
            let raw = raw
                .strip_prefix(b"\"")
                .and_then(|r| r.strip_suffix(b"\""))
                .or_else(|| raw.strip_prefix(b"'").and_then(|r| r.strip_suffix(b"'")))
                .unwrap_or(raw);
            if raw.is_empty() || raw == b"|" || raw == b">" {
                continue;
            }
            let decoded = if is_b64 {
                match STANDARD.decode(raw) {
                    Ok(d) => d,
                    Err(_) => continue,
                }
            } else {
                raw.to_vec()
            };
            let Some(pos) = find(line, raw) else { continue };
            out.push(ManifestValue {
                start: line_start + pos,
                end: line_start + pos + raw.len(),
                decoded,
            });
        }
    }
    out
}

/// Whether a decoded value is worth reporting on its own.
pub fn looks_secret(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let text = text.trim();
    text.len() >= 8
        && !text.contains('\n')
        && !crate::filter::is_placeholder(text)
        && crate::filter::entropy(text.as_bytes()) >= 3.0
        && !crate::filter::is_uuid(text)
}

fn split_documents(text: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split(|b| *b == b'\n') {
        if trim(line) == b"---" {
            out.push((start, &text[start..pos]));
            start = pos + line.len() + 1;
        }
        pos += line.len() + 1;
    }
    if start <= text.len() {
        out.push((start, &text[start..]));
    }
    out
}

fn trim(s: &[u8]) -> &[u8] {
    let s = match s.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => &s[i..],
        None => return &[],
    };
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &s[..end]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len().max(1)).position(|w| w == needle)
}
