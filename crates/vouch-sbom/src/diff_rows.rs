//! The few facts `sbom diff` compares, per component: package key (ecosystem and name),
//! version, licences and purl — read from an [`Inventory`], or streamed straight from a
//! CycloneDX JSON file without building a document tree or a full component model.
//!
//! A million-component SBOM is read in one pass over a buffered file: only those four facts
//! are kept (licence sets and ecosystem names shared, not copied per component), so a diff of
//! two such documents needs memory for two compact row lists, not for two documents.
//!
//! It must never disagree with [`crate::read_sbom`] followed by [`Inventory::finish`]: rows
//! are merged by purl exactly as the inventory merges components (the first occurrence keeps
//! its version, licences are united, sorted and deduplicated). Anything that is not a
//! CycloneDX document is handed back to the full reader.

use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vouch_core::InputError;

use crate::licence::canonical;
use crate::model::Inventory;
use crate::purl::Purl;
use crate::readers::json_err;

/// One component as the diff sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// purl type (`npm`), shared between rows.
    pub ty: Arc<str>,
    /// Name with namespace as people write it (`@babel/core`, `org.slf4j:slf4j-api`).
    pub name: Box<str>,
    pub version: Box<str>,
    pub purl: Box<str>,
    /// Sorted and deduplicated; one allocation per distinct set.
    pub licenses: Arc<[String]>,
}

/// Every component of one side of a diff, sorted by (ecosystem, name, version, purl).
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<Row>,
    /// Number of distinct components (by purl).
    pub components: usize,
}

/// Shares equal strings and licence sets between rows.
#[derive(Default)]
struct Interner {
    types: HashSet<Arc<str>>,
    licences: HashSet<Arc<[String]>>,
}

impl Interner {
    fn ty(&mut self, t: &str) -> Arc<str> {
        if let Some(a) = self.types.get(t) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(t);
        self.types.insert(a.clone());
        a
    }

    fn licences(&mut self, mut l: Vec<String>) -> Arc<[String]> {
        l.sort();
        l.dedup();
        if let Some(a) = self.licences.get(l.as_slice()) {
            return a.clone();
        }
        let a: Arc<[String]> = Arc::from(l);
        self.licences.insert(a.clone());
        a
    }
}

/// Ecosystem + name key, version-less: the purl's, or (for a purl that does not parse) the
/// component's name under `generic`.
pub(crate) fn key_of(purl: &str, fallback_name: &str) -> (String, String) {
    match Purl::parse(purl) {
        Some(p) => {
            let name = match &p.namespace {
                Some(ns) if p.ty == "maven" => format!("{ns}:{}", p.name),
                Some(_) if matches!(p.ty.as_str(), "deb" | "apk" | "rpm") => p.name.clone(),
                Some(ns) => format!("{ns}/{}", p.name),
                None => p.name.clone(),
            };
            (p.ty, name)
        }
        None => ("generic".into(), fallback_name.to_string()),
    }
}

impl Rows {
    /// The rows of an inventory.
    pub fn from_inventory(inv: &Inventory) -> Rows {
        let mut interner = Interner::default();
        let components = inv.components.len();
        let rows = inv
            .components
            .iter()
            .map(|c| {
                let (ty, name) = key_of(&c.purl, &c.name);
                Row {
                    ty: interner.ty(&ty),
                    name: name.into(),
                    version: c.version.as_str().into(),
                    purl: c.purl.as_str().into(),
                    licenses: interner.licences(c.licenses.clone()),
                }
            })
            .collect();
        Rows::sorted(rows, components)
    }

    fn sorted(mut rows: Vec<Row>, components: usize) -> Rows {
        rows.sort_unstable_by(|a, b| {
            (&a.ty, &a.name, &a.version, &a.purl).cmp(&(&b.ty, &b.name, &b.version, &b.purl))
        });
        rows.shrink_to_fit();
        Rows { rows, components }
    }

    /// The rows of `path`: streamed when it is a CycloneDX JSON file, otherwise whatever
    /// [`crate::scan`] reads there (directory, lockfile, SPDX document, image).
    pub fn read(path: &Path) -> Result<Rows, InputError> {
        if let Some(rows) = stream_cyclonedx(path)? {
            return Ok(rows);
        }
        Ok(Rows::from_inventory(&crate::scan(path)?))
    }
}

/// `Some` for a regular file that is a CycloneDX JSON document; `None` when it is something
/// else (the caller then reads it in full, with that reader's errors).
fn stream_cyclonedx(path: &Path) -> Result<Option<Rows>, InputError> {
    let name = path.to_string_lossy();
    if !path.is_file()
        || crate::readers::reader_for(&name).is_some()
        || path
            .file_name()
            .is_some_and(|n| crate::readers::reader_for(&n.to_string_lossy()).is_some())
        || crate::image::is_image(path)
    {
        return Ok(None);
    }
    let (file, _) = vouch_core::fs::open_regular(path)?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    {
        let head = r
            .fill_buf()
            .map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let bom = head.starts_with(b"\xef\xbb\xbf");
        let body = if bom { &head[3..] } else { head };
        // Not a JSON object (an executable, a tar, text, a JSON array): not ours.
        if !body.trim_ascii_start().starts_with(b"{") {
            return Ok(None);
        }
        if bom {
            r.consume(3);
        }
    }
    let mut de = serde_json::Deserializer::from_reader(r);
    let mut state = State::default();
    let parsed = (&mut de)
        .deserialize_map(DocVisitor(&mut state))
        .and_then(|()| de.end());
    match parsed {
        Ok(()) if state.cyclonedx => {}
        // Not CycloneDX, or JSON the full reader reports on (the same error as `read_sbom`).
        Ok(()) => return Ok(None),
        Err(e) if e.is_syntax() || e.is_eof() => {
            return Err(json_err(&name, &e).with_hint("expected a CycloneDX or SPDX JSON document"));
        }
        Err(e) if e.is_io() => {
            return Err(InputError::in_file(path, format!("cannot read: {e}")));
        }
        // A top level that is not an object: the full reader says what is wrong.
        Err(_) => return Ok(None),
    }
    Ok(Some(state.finish()))
}

/// A component while the document is read, in document order.
struct Pending {
    purl: Box<str>,
    ty: Arc<str>,
    name: Box<str>,
    version: Box<str>,
    licenses: Vec<String>,
}

#[derive(Default)]
struct State {
    cyclonedx: bool,
    pending: Vec<Pending>,
    interner: Interner,
}

impl State {
    fn finish(mut self) -> Rows {
        // As `Inventory::finish`: stable sort by purl, the first occurrence kept and the
        // others' licences added to it.
        self.pending.sort_by(|a, b| a.purl.cmp(&b.purl));
        let mut rows: Vec<Row> = Vec::with_capacity(self.pending.len());
        let mut pending = std::mem::take(&mut self.pending).into_iter().peekable();
        while let Some(mut first) = pending.next() {
            while let Some(dup) = pending.next_if(|p| p.purl == first.purl) {
                first.licenses.extend(dup.licenses);
            }
            rows.push(Row {
                ty: first.ty,
                name: first.name,
                version: first.version,
                purl: first.purl,
                licenses: self.interner.licences(first.licenses),
            });
        }
        let components = rows.len();
        Rows::sorted(rows, components)
    }

    fn push(&mut self, c: RawComponent) {
        let s = |v: &Option<String>| v.as_deref().unwrap_or("").to_string();
        let (name, version) = (s(&c.name), s(&c.version));
        let display = match c.group.as_deref() {
            Some(g) if !g.is_empty() => format!("{g}/{name}"),
            _ => name,
        };
        // As `sbom_read::identity`: the purl when it parses, else a generic one.
        let purl = match c.purl {
            Some(p) if Purl::parse(&p).is_some() => p,
            _ => Purl::new("generic", None, &display, Some(&version)).to_string(),
        };
        let (ty, key_name) = key_of(&purl, &display);
        self.pending.push(Pending {
            purl: purl.into(),
            ty: self.interner.ty(&ty),
            name: key_name.into(),
            version: version.into(),
            licenses: c.licenses,
        });
    }
}

/// The fields of a component the diff reads; `None` when absent or not a string.
#[derive(Default)]
struct RawComponent {
    name: Option<String>,
    group: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    licenses: Vec<String>,
}

/// A string value, or `None` for any other JSON value (skipped).
struct LenientStr;

impl<'de> DeserializeSeed<'de> for LenientStr {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientStrVisitor)
    }
}

struct LenientStrVisitor;

macro_rules! ignore_scalars {
    ($out:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}

macro_rules! ignore_strings {
    ($out:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}

macro_rules! ignore_containers {
    ($out:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok($out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($out)
        }
    };
}

impl<'de> Visitor<'de> for LenientStrVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    ignore_scalars!(None);
    ignore_containers!(None);
}

/// The top-level object: `bomFormat` and `components`; everything else skipped.
struct DocVisitor<'s>(&'s mut State);

impl<'de> Visitor<'de> for DocVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        // A later duplicate key wins, as in a `serde_json::Value` (what `read_sbom` reads).
        let mut components: Option<Vec<RawComponent>> = None;
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "bomFormat" => {
                    self.0.cyclonedx =
                        m.next_value_seed(LenientStr)?.as_deref() == Some("CycloneDX");
                }
                "components" => {
                    let mut flat = Vec::new();
                    m.next_value_seed(ComponentList(&mut flat))?;
                    components = Some(flat);
                }
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        for c in components.into_iter().flatten() {
            self.0.push(c);
        }
        Ok(())
    }
}

/// A `components` array, flattened depth-first (a component, then its nested ones) into
/// the list; any other value is no components.
struct ComponentList<'a>(&'a mut Vec<RawComponent>);

impl<'de> DeserializeSeed<'de> for ComponentList<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ComponentList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of components")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while a.next_element_seed(OneComponent(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    ignore_scalars!(());
    ignore_strings!(());
}

/// One element of a `components` array: pushed (before its nested components) when it is an
/// object; other values are skipped.
struct OneComponent<'a>(&'a mut Vec<RawComponent>);

impl<'de> DeserializeSeed<'de> for OneComponent<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneComponent<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a component")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let mut c = RawComponent::default();
        let mut nested: Option<Vec<RawComponent>> = None;
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "name" => c.name = m.next_value_seed(LenientStr)?,
                "group" => c.group = m.next_value_seed(LenientStr)?,
                "version" => c.version = m.next_value_seed(LenientStr)?,
                "purl" => c.purl = m.next_value_seed(LenientStr)?,
                "licenses" => c.licenses = m.next_value_seed(Licences)?,
                "components" => {
                    let mut inner = Vec::new();
                    m.next_value_seed(ComponentList(&mut inner))?;
                    nested = Some(inner);
                }
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.0.push(c);
        self.0.extend(nested.into_iter().flatten());
        Ok(())
    }
    ignore_scalars!(());
    ignore_strings!(());
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// A CycloneDX `licenses` array, as `sbom_read` reads it: an `expression` (canonicalised),
/// else `license.id` (as written), else `license.name` (canonicalised).
struct Licences;

impl<'de> DeserializeSeed<'de> for Licences {
    type Value = Vec<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Licences {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of licences")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(l) = a.next_element_seed(LicenceChoice)? {
            out.extend(l);
        }
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }
    ignore_scalars!(Vec::new());
    ignore_strings!(Vec::new());
}

/// One element of `licenses`.
struct LicenceChoice;

/// `license`: present at all (any value), and its string `id` / `name`.
#[derive(Default)]
struct LicenceObject {
    present: bool,
    id: Option<String>,
    name: Option<String>,
}

impl<'de> DeserializeSeed<'de> for LicenceChoice {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LicenceChoice {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a licence choice")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut expression: Option<String> = None;
        let mut licence = LicenceObject::default();
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "expression" => expression = m.next_value_seed(LenientStr)?,
                "license" => licence = m.next_value_seed(LicenceObjectSeed)?,
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match expression {
            Some(e) => Some(canonical(&e)),
            None if licence.present => match (licence.id, licence.name) {
                (Some(id), _) => Some(id),
                (None, Some(n)) => Some(canonical(&n)),
                (None, None) => None,
            },
            None => None,
        })
    }
    ignore_scalars!(None);
    ignore_strings!(None);
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct LicenceObjectSeed;

impl<'de> DeserializeSeed<'de> for LicenceObjectSeed {
    type Value = LicenceObject;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LicenceObjectSeed {
    type Value = LicenceObject;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a licence")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out = LicenceObject {
            present: true,
            ..LicenceObject::default()
        };
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "id" => out.id = m.next_value_seed(LenientStr)?,
                "name" => out.name = m.next_value_seed(LenientStr)?,
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
    ignore_scalars!(LicenceObject {
        present: true,
        ..LicenceObject::default()
    });
    ignore_strings!(LicenceObject {
        present: true,
        ..LicenceObject::default()
    });
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LicenceObject {
            present: true,
            ..LicenceObject::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The streamed rows of a CycloneDX text, and the rows of the full reader's inventory.
    fn both(text: &str) -> (Rows, Rows) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.cdx.json");
        std::fs::write(&p, text).unwrap();
        let streamed = stream_cyclonedx(&p).unwrap().expect("read as CycloneDX");
        let full = Rows::from_inventory(&crate::read_sbom(&p).unwrap());
        (streamed, full)
    }

    fn assert_same(text: &str) {
        let (s, f) = both(text);
        assert_eq!(s.components, f.components, "{text}");
        assert_eq!(s.rows, f.rows, "{text}");
    }

    #[test]
    fn fixtures_stream_as_the_full_reader_reads() {
        let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut n = 0;
        for e in std::fs::read_dir(&fx).unwrap() {
            let dir = e.unwrap().path();
            let Ok(inv) = crate::scan(&dir) else { continue };
            let doc = crate::write(&inv, crate::SbomFormat::CycloneDxJson, &Default::default());
            assert_same(std::str::from_utf8(&doc).unwrap());
            n += 1;
        }
        assert!(n >= 5, "{n} fixtures");
    }

    #[test]
    fn duplicates_nesting_and_odd_values_as_the_full_reader() {
        assert_same(
            r#"{"bomFormat":"CycloneDX","components":[
              {"name":"a","version":"1","purl":"pkg:npm/a@1","licenses":[{"license":{"id":"MIT"}}],
               "components":[{"name":"b","group":"g","version":"2","licenses":[{"expression":"mit OR apache-2.0"}]}]},
              {"name":"a2","version":"9","purl":"pkg:npm/a@1","licenses":[{"license":{"name":"Apache 2.0"}},{"license":null},7]},
              {"name":5,"version":null,"purl":"not a purl"},
              3, "x", [1],
              {"name":"m","version":"1.0","purl":"pkg:maven/org.x/m@1.0","licenses":{"x":1}},
              {"name":"m","version":"1.0","purl":"pkg:maven/org.x/m@1.0?type=jar"},
              {"name":"d","version":"1","purl":"pkg:deb/debian/d@1?arch=amd64"}
            ],"components2":{}, "bomFormat":"CycloneDX"}"#,
        );
    }

    #[test]
    fn other_documents_are_left_to_the_full_reader() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("a.spdx.json", r#"{"spdxVersion":"SPDX-2.3","packages":[]}"#),
            ("b.json", r#"[1, 2]"#),
            ("c.json", "not json"),
            ("d.json", r#"{"bomFormat":"SPDX"}"#),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            assert!(stream_cyclonedx(&p).unwrap().is_none(), "{name}");
        }
        let p = dir.path().join("e.json");
        std::fs::write(&p, "{\"bomFormat\": \"CycloneDX\",\n \"components\": [").unwrap();
        let e = stream_cyclonedx(&p).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(crate::read_sbom(&p).is_err());
    }

    fn component() -> impl Strategy<Value = serde_json::Value> {
        let name = prop::sample::select(vec!["a", "b", "@s/c", "d"]);
        let version = prop::sample::select(vec!["1.0.0", "1.2.0", "0.9", ""]);
        let lic = prop::sample::select(vec![
            serde_json::json!([]),
            serde_json::json!([{"license": {"id": "MIT"}}]),
            serde_json::json!([{"expression": "MIT OR Apache-2.0"}]),
            serde_json::json!([{"license": {"name": "BSD"}}, {"license": {"id": "MIT"}}]),
        ]);
        (name, version, lic, any::<bool>(), any::<bool>()).prop_map(|(n, v, l, with_purl, grp)| {
            let mut c =
                serde_json::json!({"type": "library", "name": n, "version": v, "licenses": l});
            if with_purl {
                c["purl"] = format!("pkg:npm/{}@{v}", n.replace('@', "%40")).into();
            }
            if grp {
                c["group"] = "g".into();
            }
            c
        })
    }

    proptest! {
        #[test]
        fn streamed_rows_equal_full_reader_rows(
            top in prop::collection::vec(component(), 0..12),
            nested in prop::collection::vec(component(), 0..4),
        ) {
            let mut comps = top;
            if let Some(first) = comps.first_mut() {
                first["components"] = serde_json::Value::Array(nested);
            }
            let doc = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": comps});
            assert_same(&doc.to_string());
        }
    }
}
