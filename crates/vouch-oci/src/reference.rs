//! Image references: `registry/repo:tag`, `registry/repo@sha256:…`, with Docker's defaults
//! (`alpine` is `docker.io/library/alpine:latest`).
//!
//! The grammar is distribution's (`distribution/reference`): lowercase path components
//! joined by `.`, `_`, `__` or dashes; a registry host (with a port) is the first component
//! only when it has a `.` or `:` or is `localhost`; tags are `[\w][\w.-]{0,127}`. Parsing
//! never guesses: anything outside the grammar is an error naming the part that is wrong.
//! Printing ([`fmt::Display`]) writes the normalised form, which parses back to the same
//! reference.

use std::fmt;

use crate::digest::Digest;

/// Docker Hub as references name it.
pub const DOCKER_HUB: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host, with its port (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path inside the registry (`library/alpine`).
    pub repository: String,
    /// The tag, when the reference has one (`latest` when it has neither tag nor digest).
    pub tag: Option<String>,
    /// The digest, when the reference pins one.
    pub digest: Option<Digest>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an image reference: {reason}")]
pub struct ReferenceError {
    /// What was given.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl Reference {
    /// Parses a reference.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        parse(s).map(|(r, _)| r)
    }

    /// The same repository at `digest`, without a tag.
    pub fn at_digest(&self, digest: &Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }
    }

    /// `registry/repository`, as cosign names a statement's subject.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag or digest the registry is asked for (the digest wins when both are given).
    pub fn target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Whether `s` is meant as an image rather than a file name: it parses, and it names a
/// registry or a tag or a digest explicitly (`alpine:3.20`, `ghcr.io/o/r`,
/// `127.0.0.1:5000/app@sha256:…`). A bare `name` or `dir/file` is not taken for an image,
/// so a mistyped file path stays a "no such file" error instead of a network request.
pub fn looks_like_image(s: &str) -> bool {
    // `sha256:<hex>` (or sha384/sha512) is a digest subject, not the image `sha256` tagged
    // with hex.
    if ["sha256:", "sha384:", "sha512:"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        return false;
    }
    match parse(s) {
        Ok((r, explicit_registry)) => {
            explicit_registry || s.contains('@') || r.tag.is_some() && has_explicit_tag(s)
        }
        Err(_) => false,
    }
}

fn has_explicit_tag(s: &str) -> bool {
    let name = s.split('@').next().unwrap_or(s);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':')
}

fn err(input: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// The reference, and whether the registry was written out.
fn parse(s: &str) -> Result<(Reference, bool), ReferenceError> {
    if s.is_empty() {
        return Err(err(s, "it is empty"));
    }
    if s.len() > 4096 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(s, "it contains whitespace or is too long"));
    }
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => {
            let digest = Digest::parse(d).ok_or_else(|| {
                err(
                    s,
                    format!("`{d}` is not a digest (sha256:<64 lowercase hex>)"),
                )
            })?;
            (n, Some(digest))
        }
        None => (s, None),
    };
    // A tag is after the last `:` that follows the last `/` (a `:` before it is a port).
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (&name_tag[..at], Some(&name_tag[at + 1..]))
        }
        None => (name_tag, None),
    };
    if let Some(t) = tag
        && !valid_tag(t)
    {
        return Err(err(
            s,
            format!("`{t}` is not a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"),
        ));
    }
    let (registry, path, explicit) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            if !valid_host(first) {
                return Err(err(s, format!("`{first}` is not a registry host[:port]")));
            }
            let host = if first == "index.docker.io" || first == "registry-1.docker.io" {
                DOCKER_HUB
            } else {
                first
            };
            (host.to_string(), rest.to_string(), true)
        }
        _ => (DOCKER_HUB.to_string(), name.to_string(), false),
    };
    if path.is_empty() {
        return Err(err(s, "the repository name is empty"));
    }
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(err(
                s,
                format!(
                    "`{component}` is not a repository path component (lowercase letters, digits, and . _ __ - between them)"
                ),
            ));
        }
    }
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
        return Err(err(
            s,
            format!("the name is longer than {MAX_NAME_LEN} characters"),
        ));
    }
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => None,
        (None, None) => Some("latest".to_string()),
    };
    Ok((
        Reference {
            registry,
            repository,
            tag,
            digest,
        },
        explicit,
    ))
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    // Separators: one `.`, one `_`, `__`, or any run of `-`.
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_host(h: &str) -> bool {
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        // [IPv6]:port
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        if inner.is_empty() || !inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => {
                    return !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit());
                }
                None => return false,
            },
        }
    } else {
        match h.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn docker_defaults() {
        let a = r("alpine");
        assert_eq!(a.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(r("user/app:1.0").to_string(), "docker.io/user/app:1.0");
        assert_eq!(r("index.docker.io/library/alpine").registry, "docker.io");
    }

    #[test]
    fn registries_ports_tags_digests() {
        let d = Digest::of(b"x");
        let x = r(&format!("127.0.0.1:5000/team/app:v1@{d}"));
        assert_eq!(x.registry, "127.0.0.1:5000");
        assert_eq!(x.repository, "team/app");
        assert_eq!(x.tag.as_deref(), Some("v1"));
        assert_eq!(x.digest, Some(d.clone()));
        assert_eq!(x.target(), d.to_string());
        let y = r(&format!("localhost/app@{d}"));
        assert_eq!(y.tag, None);
        assert_eq!(r("[::1]:5000/app").registry, "[::1]:5000");
    }

    #[test]
    fn rejects_with_reason() {
        for bad in [
            "",
            "UPPER/case",
            "app:",
            "app:-x",
            "app@sha256:12",
            "reg.io/",
            "reg.io/a//b",
            "a b",
            "reg.io:x/app",
            "app..x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_or_file() {
        assert!(looks_like_image("alpine:3.20"));
        assert!(looks_like_image("ghcr.io/o/r"));
        assert!(looks_like_image("localhost:5000/app"));
        assert!(!looks_like_image("alpine"));
        assert!(!looks_like_image("dist/app.tar"));
        assert!(!looks_like_image("./app.tar"));
        assert!(!looks_like_image(&Digest::of(b"x").to_string()));
    }
}
