//! The starter policy `vouch gate init` writes: every requirement a first release can meet
//! (signatures by the given keys, logged when a log is given, SLSA provenance and an SBOM
//! attestation as `vouch release` writes them), and the other knobs commented out with what
//! they do, so the file explains itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vouch_core::InputError;

/// A YAML scalar for a path or name: JSON string syntax is valid YAML and quotes anything.
fn scalar(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The starter policy. `keys` are public-key paths and `log_root` the transparency log's
/// trusted root path, both relative to the policy file.
pub fn policy(keys: &[String], log_root: Option<&str>) -> String {
    let mut out = String::from(
        "# vouch deploy-gate policy, written by `vouch gate init` (docs/deploy-gate.md).\n\
         # `vouch gate ARTIFACT --policy gate.yaml` allows a deploy (exit 0) only when every\n\
         # requirement below is met, and prints one line per requirement; otherwise it denies\n\
         # (exit 1). Paths are relative to this file. Unknown keys are errors.\n\n\
         signatures:\n\
         \x20 # Public keys (PEM) whose signatures count: `vouch key generate` writes NAME.pub.\n\
         \x20 keys:\n",
    );
    for k in keys {
        let _ = writeln!(out, "    - {}", scalar(k));
    }
    out.push_str(
        "  # How many distinct trusted signers must have signed.\n\
         \x20 threshold: 1\n\
         \x20 # Keyless signers (cosign's --certificate-identity / --certificate-oidc-issuer), with\n\
         \x20 # the Sigstore trusted root their certificates chain to:\n\
         \x20 # identities:\n\
         \x20 #   - issuer: https://token.actions.githubusercontent.com\n\
         \x20 #     subject_regexp: https://github.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*\n\
         \x20 # trusted_root: sigstore-trusted-root.json\n",
    );
    match log_root {
        Some(root) => {
            let _ = write!(
                out,
                "  # Every signature and attestation must be in this transparency log\n\
                 \x20 # (`vouch release --tlog DIR`); the trusted root is `vouch log trusted-root`.\n\
                 \x20 transparency_log:\n\
                 \x20   trusted_root: {}\n\
                 \x20   required: true\n",
                scalar(root)
            );
        }
        None => out.push_str(
            "  # Require every signature to be in a transparency log (`vouch release --tlog DIR`):\n\
             \x20 # transparency_log:\n\
             \x20 #   trusted_root: trusted_root.json   # from `vouch log trusted-root`\n\
             \x20 #   required: true\n",
        ),
    }
    out.push_str(
        "\n# Signed statements about the artifact that must exist: `vouch release` writes both.\n\
         attestations:\n\
         \x20 - type: slsaprovenance     # SLSA provenance (v1 or v0.2)\n\
         \x20   # Narrow who may have built it, from what and where (globs):\n\
         \x20   # builder_ids: [\"https://github.com/actions/runner/github-hosted\"]\n\
         \x20   # source_repos: [\"git+https://github.com/acme/*\"]\n\
         \x20   # refs: [\"refs/heads/main\", \"refs/tags/v*\"]\n\
         \x20 - type: cyclonedx          # the SBOM\n\
         \n\
         # Check the attested SBOM against the offline OSV database (`vouch db build`):\n\
         # vulnerabilities:\n\
         #   max_severity: medium\n\
         #   db: .vouch/osv.db\n\
         \n\
         # The default for --environment:\n\
         # environment: prod\n\
         \n\
         # No deploys in these windows (RFC 3339; end exclusive), unless break-glass approves:\n\
         # freeze:\n\
         #   - name: year-end\n\
         #     start: 2026-12-20T00:00:00Z\n\
         #     end: 2027-01-04T00:00:00Z\n\
         #     environments: [prod]\n\
         \n\
         # Who may approve an emergency deploy (`vouch gate … --break-glass REASON --approver ID`):\n\
         # break_glass:\n\
         #   approvers: [alice, bob]\n\
         #   max_ttl: 4h\n",
    );
    out
}

/// The starter policy for the file `out`, naming `keys` and `trusted_root` relative to it
/// (so a policy never names a machine path when avoidable), checked to parse as the gate will
/// read it. An existing `out` is refused unless `replace`; keys and root must exist.
pub fn for_file(
    out: &Path,
    keys: &[PathBuf],
    trusted_root: Option<&Path>,
    replace: bool,
) -> Result<String, InputError> {
    if out.exists() && !replace {
        return Err(InputError::in_file(out, "already exists")
            .with_hint("pass --force to replace it, or -o FILE to write elsewhere"));
    }
    let base = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let relative = |p: &Path| -> Result<String, InputError> {
        if !p.is_file() {
            return Err(InputError::in_file(p, "no such file")
                .with_hint("give the public key and trusted root the policy should name"));
        }
        Ok(relative_to(&base, p).to_string_lossy().into_owned())
    };
    let keys = keys
        .iter()
        .map(|k| relative(k))
        .collect::<Result<Vec<_>, _>>()?;
    let root = trusted_root.map(relative).transpose()?;
    let text = policy(&keys, root.as_deref());
    crate::GatePolicy::parse(out, &text)?;
    Ok(text)
}

/// `path` relative to the directory `base` (both resolved), or `path` as given when they share
/// no root.
fn relative_to(base: &Path, path: &Path) -> PathBuf {
    let (Ok(base), Ok(target)) = (base.canonicalize(), path.canonicalize()) else {
        return path.to_path_buf();
    };
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    rel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatePolicy;

    #[test]
    fn for_file_names_keys_relative_to_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::create_dir(dir.path().join("deploy")).unwrap();
        let key = dir.path().join("keys/release.pub");
        std::fs::write(&key, "x").unwrap();
        let out = dir.path().join("deploy/gate.yaml");
        let text = for_file(&out, std::slice::from_ref(&key), None, false).unwrap();
        let p = GatePolicy::parse(&out, &text).unwrap();
        assert_eq!(
            p.signatures.unwrap().keys[0].as_str(),
            "../keys/release.pub"
        );
        std::fs::write(&out, text).unwrap();
        let e = for_file(&out, &[key], None, false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        let missing = for_file(&out, &[dir.path().join("nope.pub")], None, true).unwrap_err();
        assert!(missing.to_string().contains("no such file"), "{missing}");
    }

    #[test]
    fn starter_policies_parse() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("release.pub"), "x").unwrap();
        std::fs::write(dir.path().join("trusted_root.json"), "{}").unwrap();
        let path = dir.path().join("gate.yaml");
        for root in [None, Some("trusted_root.json")] {
            let text = policy(&["release.pub".to_string()], root);
            let p = GatePolicy::parse(Path::new(&path), &text).unwrap();
            let sig = p.signatures.as_ref().unwrap();
            assert_eq!(sig.keys.len(), 1);
            assert_eq!(sig.keys[0].as_str(), "release.pub");
            assert_eq!(sig.transparency_log.is_some(), root.is_some());
            assert_eq!(p.attestations.len(), 2);
            assert!(p.freeze.is_empty() && p.break_glass.is_none());
        }
    }

    #[test]
    fn odd_paths_are_quoted() {
        let text = policy(&["keys/a: b #c.pub".to_string()], None);
        assert!(text.contains(r#"- "keys/a: b #c.pub""#));
    }
}
