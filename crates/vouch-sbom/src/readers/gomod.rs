//! Go `go.mod` (with Go 1.17+ module graph pruning, `require` lists every module the build
//! needs, `// indirect` marking the transitive ones) and its `replace` directives. go.sum's
//! `h1:` values are directory hashes of Go's own design, not digests of an artifact, so they
//! are not reported as component hashes.

use std::collections::HashMap;

use vouch_core::InputError;

use super::Parsed;
use crate::model::{Component, Ecosystem, Subject};
use crate::purl::{Purl, split_last};

pub(crate) fn go_purl(module: &str, version: &str) -> String {
    let (ns, n) = split_last(module);
    Purl::new("golang", ns, n, Some(version)).to_string()
}

fn strip_comment(l: &str) -> (&str, bool) {
    match l.find("//") {
        Some(i) => (l[..i].trim(), l[i..].contains("indirect")),
        None => (l.trim(), false),
    }
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"').trim_matches('`')
}

/// (module, optional version) → replacement (module, version), or `None` for a local path.
type Replaces = HashMap<(String, Option<String>), Option<(String, String)>>;

/// Reads a go.mod.
pub fn read(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut requires: Vec<(String, String, bool)> = Vec::new();
    let mut replaces: Replaces = HashMap::new();
    let mut out = Parsed::default();
    let mut block: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let (line, indirect) = strip_comment(raw);
        if line.is_empty() {
            continue;
        }
        let (verb, args) = if let Some(b) = &block {
            if line == ")" {
                block = None;
                continue;
            }
            (b.clone(), line.to_string())
        } else {
            let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            if rest == "(" {
                block = Some(verb.to_string());
                continue;
            }
            (verb.to_string(), rest.to_string())
        };
        let fields: Vec<&str> = args.split_whitespace().map(unquote).collect();
        let bad = || {
            InputError::at(
                path,
                line_no,
                None,
                format!("malformed `{verb}` directive: `{}`", line),
            )
            .with_hint("run `go mod tidy`")
        };
        match verb.as_str() {
            "module" => {
                out.subject = fields.first().map(|m| Subject {
                    name: m.to_string(),
                    version: None,
                })
            }
            "require" => match fields.as_slice() {
                [m, v] => requires.push((m.to_string(), v.to_string(), indirect)),
                _ => return Err(bad()),
            },
            "replace" => {
                let Some(arrow) = fields.iter().position(|f| *f == "=>") else {
                    return Err(bad());
                };
                let (from, to) = (&fields[..arrow], &fields[arrow + 1..]);
                let key = match from {
                    [m] => (m.to_string(), None),
                    [m, v] => (m.to_string(), Some(v.to_string())),
                    _ => return Err(bad()),
                };
                let target = match to {
                    [p] => {
                        let _ = p; // a local directory: project code, not a component
                        None
                    }
                    [m, v] => Some((m.to_string(), v.to_string())),
                    _ => return Err(bad()),
                };
                replaces.insert(key, target);
            }
            "go" | "toolchain" | "exclude" | "retract" | "godebug" | "tool" | "ignore" => {}
            _ if block.is_none() && !line.contains(' ') && line != ")" => return Err(bad()),
            _ => {}
        }
    }
    if block.is_some() {
        return Err(InputError::at(
            path,
            u32::try_from(text.lines().count())
                .unwrap_or(u32::MAX)
                .max(1),
            None,
            "unclosed `(` block",
        )
        .with_hint("the file looks truncated; run `go mod tidy`"));
    }
    for (m, v, indirect) in requires {
        let rep = replaces
            .get(&(m.clone(), Some(v.clone())))
            .or_else(|| replaces.get(&(m.clone(), None)));
        let (name, version) = match rep {
            Some(None) => continue,
            Some(Some((rm, rv))) => (rm.clone(), rv.clone()),
            None => (m, v),
        };
        let mut c = Component::new(Ecosystem::Go, &name, &version, go_purl(&name, &version));
        c.sources.push(path.to_string());
        if !indirect {
            out.direct.push(c.purl.clone());
        }
        out.components.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOMOD: &str = "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/sys v0.20.0 // indirect\n\texample.com/old v1.0.0\n\texample.com/local v0.0.0\n)\n\nrequire github.com/google/uuid v1.6.0\n\nreplace example.com/old => example.com/new v1.2.0\n\nreplace example.com/local => ../local\n";

    #[test]
    fn reads() {
        let p = read("go.mod", GOMOD).unwrap();
        let purls: Vec<_> = p.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/pkg/errors@v0.9.1",
                "pkg:golang/golang.org/x/sys@v0.20.0",
                "pkg:golang/example.com/new@v1.2.0",
                "pkg:golang/github.com/google/uuid@v1.6.0",
            ]
        );
        assert_eq!(p.direct.len(), 3);
        assert_eq!(p.subject.unwrap().name, "example.com/app");
    }

    #[test]
    fn truncated() {
        assert!(read("go.mod", &GOMOD[..70]).unwrap_err().line.is_some());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") { super::super::testutil::no_panic(read, &s); }
        #[test]
        fn truncation_never_panics(n in 0usize..400) {
            let cut = n.min(GOMOD.len());
            let _ = read("go.mod", &GOMOD[..cut]);
        }
    }
}
