//! pip `requirements*.txt`: pinned requirements (`name==version`, extras, markers, `--hash`
//! options, `\` continuations). Unpinned lines are skipped (no version to report), as are
//! editable installs, URLs and options other than `-r`/`-c`, whose targets are returned as
//! includes for the scanner to read.

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem};
use crate::readers::poetry::{normalise_name, pypi_purl, requirement_name};

/// Whether a file name is a requirements file.
pub fn is_requirements(name: &str) -> bool {
    name.ends_with(".txt")
        && (name.starts_with("requirements")
            || name.ends_with("-requirements.txt")
            || name.ends_with("_requirements.txt"))
}

/// Reads a requirements file.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut out = Parsed::default();
    let mut logical = String::new();
    let mut start_line = 1u32;
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        if logical.is_empty() {
            start_line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        let line = raw.split(" #").next().unwrap_or(raw);
        if let Some(cont) = line.trim_end().strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            if i + 1 < lines.len() {
                continue;
            }
        } else {
            logical.push_str(line);
        }
        let stmt = std::mem::take(&mut logical);
        read_statement(path, stmt.trim(), start_line, &mut out)?;
    }
    Ok(out)
}

fn read_statement(path: &str, stmt: &str, line: u32, out: &mut Parsed) -> Result<(), InputError> {
    if stmt.is_empty() || stmt.starts_with('#') {
        return Ok(());
    }
    if stmt.starts_with('-') {
        for flag in ["-r", "--requirement", "-c", "--constraint"] {
            if let Some(rest) = stmt.strip_prefix(flag) {
                let target = rest.trim_start_matches('=').trim();
                if target.is_empty() {
                    return Err(InputError::at(
                        path,
                        line,
                        None,
                        format!("`{flag}` without a file"),
                    )
                    .with_hint("name the included requirements file"));
                }
                out.includes.push(target.to_string());
                return Ok(());
            }
        }
        return Ok(()); // -e, --index-url, --hash on its own line, …
    }
    if stmt.contains("://") || stmt.starts_with('.') || stmt.starts_with('/') {
        return Ok(());
    }
    let spec = stmt.split(';').next().unwrap_or(stmt);
    let spec = spec.split(" --").next().unwrap_or(spec).trim();
    let name = requirement_name(spec);
    if name.is_empty() {
        return Err(InputError::at(
            path,
            line,
            Some(1),
            format!("cannot read requirement `{stmt}`"),
        )
        .with_hint("expected `name==version`"));
    }
    let rest = spec[name.len()..].trim_start();
    let rest = match rest.strip_prefix('[') {
        Some(r) => match r.find(']') {
            Some(end) => r[end + 1..].trim_start(),
            None => {
                return Err(InputError::at(path, line, None, "unclosed `[` in extras")
                    .with_hint("write extras as name[extra1,extra2]==version"));
            }
        },
        None => rest,
    };
    let Some(version) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) else {
        return Ok(()); // not pinned
    };
    let version = version.trim();
    if version.is_empty() || version.contains(',') || version.contains('*') {
        return Ok(());
    }
    let mut c = Component::new(
        Ecosystem::PyPI,
        &normalise_name(name),
        version,
        pypi_purl(name, version),
    );
    c.sources.push(path.to_string());
    out.direct.push(c.purl.clone());
    out.components.push(c);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads() {
        let t = "# pinned\nrequests[socks]==2.31.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:aa\nflask>=2\n-r base.txt\nDjango_Rest==1.0  # comment\n";
        let p = read("requirements.txt", t).unwrap();
        let purls: Vec<_> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            ["pkg:pypi/requests@2.31.0", "pkg:pypi/django-rest@1.0"]
        );
        assert_eq!(p.includes, vec!["base.txt".to_string()]);
        assert_eq!(read("r.txt", "a\nx[y==1\n").unwrap_err().line, Some(2));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
    }
}
