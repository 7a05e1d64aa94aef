//! Gradle `gradle.lockfile` (dependency locking): `group:artifact:version=conf1,conf2` lines.
//! Dependencies locked only for test configurations are `dev`. The lockfile has no graph.

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Scope};
use crate::purl::Purl;

pub(crate) fn maven_purl(group: &str, artifact: &str, version: &str) -> String {
    Purl::new("maven", Some(group), artifact, Some(version)).to_string()
}

/// Reads a gradle.lockfile.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut out = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let (coord, confs) = line.split_once('=').unwrap_or((line, ""));
        let parts: Vec<&str> = coord.split(':').collect();
        let [group, artifact, version] = parts.as_slice() else {
            return Err(InputError::at(
                path,
                line_no,
                Some(1),
                format!("expected `group:artifact:version=configurations`, found `{line}`"),
            )
            .with_hint("regenerate with `gradle dependencies --write-locks`"));
        };
        if group.is_empty() || artifact.is_empty() || version.is_empty() {
            return Err(InputError::at(
                path,
                line_no,
                Some(1),
                "empty coordinate part",
            ));
        }
        let mut c = Component::new(
            Ecosystem::Maven,
            artifact,
            version,
            maven_purl(group, artifact, version),
        );
        c.group = Some(group.to_string());
        let confs: Vec<&str> = confs.split(',').filter(|c| !c.is_empty()).collect();
        if !confs.is_empty()
            && confs
                .iter()
                .all(|c| c.to_ascii_lowercase().contains("test"))
        {
            c.scope = Scope::Dev;
        }
        c.sources.push(path.to_string());
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = "# This is a Gradle generated file for dependency locking.\n# Manual edits can break the build and are not advised.\n# This file is expected to be part of source control.\ncom.google.guava:guava:32.1.2-jre=compileClasspath,runtimeClasspath\njunit:junit:4.13.2=testCompileClasspath,testRuntimeClasspath\nempty=annotationProcessor\n";
        let p = read("gradle.lockfile", t).unwrap();
        assert_eq!(p.components.len(), 2);
        assert_eq!(
            p.components[0].purl,
            "pkg:maven/com.google.guava/guava@32.1.2-jre"
        );
        assert_eq!(p.components[1].scope, Scope::Dev);
        assert_eq!(read("g", "a:b\n").unwrap_err().line, Some(1));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
