//! The component model every reader produces and every writer consumes.
//!
//! A component is identified by its purl, which is also its `bom-ref` in CycloneDX and the seed
//! of its `SPDXID` in SPDX. The same package found in two lockfiles of a monorepo is one
//! component with two sources.

use serde::Serialize;

/// The package ecosystem a component belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Cargo,
    Npm,
    PyPI,
    Go,
    RubyGems,
    Composer,
    Maven,
    NuGet,
    Hex,
    Pub,
    Swift,
    Deb,
    Apk,
    Rpm,
    /// A component whose ecosystem the input did not say (read back from a foreign SBOM).
    Unknown,
}

impl Ecosystem {
    /// The package-url type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Maven => "maven",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Hex => "hex",
            Ecosystem::Pub => "pub",
            Ecosystem::Swift => "swift",
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Unknown => "generic",
        }
    }

    /// The ecosystem name OSV uses (`affected[].package.ecosystem`), for vulnerability matching.
    pub fn osv_name(self) -> Option<&'static str> {
        Some(match self {
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Composer => "Packagist",
            Ecosystem::Maven => "Maven",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Hex => "Hex",
            Ecosystem::Pub => "Pub",
            Ecosystem::Swift => "SwiftURL",
            Ecosystem::Deb => "Debian",
            Ecosystem::Apk => "Alpine",
            Ecosystem::Rpm => "Red Hat",
            Ecosystem::Unknown => return None,
        })
    }

    /// The ecosystem for a purl type, `Unknown` for types vouch does not read.
    pub fn from_purl_type(t: &str) -> Ecosystem {
        match t {
            "cargo" => Ecosystem::Cargo,
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::PyPI,
            "golang" => Ecosystem::Go,
            "gem" => Ecosystem::RubyGems,
            "composer" => Ecosystem::Composer,
            "maven" => Ecosystem::Maven,
            "nuget" => Ecosystem::NuGet,
            "hex" => Ecosystem::Hex,
            "pub" => Ecosystem::Pub,
            "swift" => Ecosystem::Swift,
            "deb" => Ecosystem::Deb,
            "apk" => Ecosystem::Apk,
            "rpm" => Ecosystem::Rpm,
            _ => Ecosystem::Unknown,
        }
    }
}

/// Whether a component is needed at run time, as far as the lockfile says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Needed at run time (the default when the lockfile does not say).
    #[default]
    Required,
    /// Optional at run time (npm `optional`, Python extras).
    Optional,
    /// Only for development or tests (npm `dev`, poetry `dev` group, Composer `packages-dev`).
    Dev,
}

impl Scope {
    /// Merging the same component seen twice: the stronger need wins.
    pub fn merge(self, other: Scope) -> Scope {
        self.min(other)
    }
}

/// A hash algorithm, named as CycloneDX names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HashAlg {
    #[serde(rename = "SHA-1")]
    Sha1,
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "SHA-384")]
    Sha384,
    #[serde(rename = "SHA-512")]
    Sha512,
    #[serde(rename = "MD5")]
    Md5,
}

impl HashAlg {
    /// The CycloneDX name (`SHA-256`).
    pub fn cyclonedx(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
            HashAlg::Md5 => "MD5",
        }
    }

    /// The SPDX name (`SHA256`).
    pub fn spdx(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA1",
            HashAlg::Sha256 => "SHA256",
            HashAlg::Sha384 => "SHA384",
            HashAlg::Sha512 => "SHA512",
            HashAlg::Md5 => "MD5",
        }
    }

    /// Parses either naming (`SHA-256`, `SHA256`, `sha256`).
    pub fn parse(s: &str) -> Option<HashAlg> {
        match s.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Some(HashAlg::Sha1),
            "SHA256" => Some(HashAlg::Sha256),
            "SHA384" => Some(HashAlg::Sha384),
            "SHA512" => Some(HashAlg::Sha512),
            "MD5" => Some(HashAlg::Md5),
            _ => None,
        }
    }

    /// Length of the digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
}

/// A digest of the component's artifact, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Hash {
    pub alg: HashAlg,
    pub value: String,
}

impl Hash {
    /// A hash from lowercase or uppercase hex; `None` when the length does not fit the algorithm.
    pub fn hex(alg: HashAlg, value: &str) -> Option<Hash> {
        let v = value.trim().to_ascii_lowercase();
        (v.len() == alg.digest_len() * 2 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(Hash { alg, value: v })
    }

    /// An SRI string (`sha512-<base64>`), as npm, Yarn and pnpm write integrity.
    pub fn sri(sri: &str) -> Option<Hash> {
        use base64::Engine;
        let (alg, b64) = sri.trim().split_once('-')?;
        let alg = HashAlg::parse(alg)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        (bytes.len() == alg.digest_len()).then(|| Hash {
            alg,
            value: hex::encode(bytes),
        })
    }
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// The package name as its ecosystem spells it (`@babel/core`, `github.com/pkg/errors`,
    /// `org.slf4j:slf4j-api` is split: group `org.slf4j`, name `slf4j-api`).
    pub name: String,
    /// Maven group / Composer vendor / npm scope, when the ecosystem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub version: String,
    /// package-url; unique within an inventory; the CycloneDX `bom-ref`.
    pub purl: String,
    pub ecosystem: Ecosystem,
    pub scope: Scope,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Licences as stated by the lockfile or manifest (SPDX expressions where they parse).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// purls of the direct dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Files (relative to the scanned root) the component was found in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Where the package comes from when not the default registry (git URL, path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
}

impl Component {
    /// A component with the given identity and no other data.
    pub fn new(ecosystem: Ecosystem, name: &str, version: &str, purl: String) -> Component {
        Component {
            name: name.to_string(),
            group: None,
            version: version.to_string(),
            purl,
            ecosystem,
            scope: Scope::Required,
            hashes: Vec::new(),
            licenses: Vec::new(),
            dependencies: Vec::new(),
            sources: Vec::new(),
            download_location: None,
        }
    }

    /// The name with its group, as shown to people (`org.slf4j:slf4j-api`).
    pub fn display_name(&self) -> String {
        match &self.group {
            Some(g) if self.ecosystem == Ecosystem::Maven => format!("{g}:{}", self.name),
            Some(g) if !self.name.starts_with(g.as_str()) => format!("{g}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// Merges `other` (the same purl found again) into this component, draining it.
    fn absorb_from(&mut self, other: &mut Component) {
        self.scope = self.scope.merge(other.scope);
        for h in std::mem::take(&mut other.hashes) {
            if !self.hashes.contains(&h) {
                self.hashes.push(h);
            }
        }
        for l in std::mem::take(&mut other.licenses) {
            if !self.licenses.contains(&l) {
                self.licenses.push(l);
            }
        }
        self.dependencies.append(&mut other.dependencies);
        self.sources.append(&mut other.sources);
        if self.download_location.is_none() {
            self.download_location = other.download_location.take();
        }
    }

    fn normalise(&mut self) {
        self.hashes.sort();
        self.hashes.dedup();
        self.licenses.sort();
        self.licenses.dedup();
        self.dependencies.sort();
        self.dependencies.dedup();
        self.dependencies.retain(|d| d != &self.purl);
        self.sources.sort();
        self.sources.dedup();
    }
}

/// The subject an SBOM describes (the project or image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Subject {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Everything found: components sorted by purl, unique by purl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Inventory {
    pub subject: Subject,
    pub components: Vec<Component>,
    /// purls of the components the project itself depends on directly (roots of the graph),
    /// when the inputs say which those are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub direct: Vec<String>,
    /// Files that were read, relative to the scanned root.
    pub files: Vec<String>,
    /// Files that could not be read (only when the scan was asked to skip them).
    #[serde(skip)]
    pub warnings: Vec<vouch_core::InputError>,
}

impl Inventory {
    /// Builds an inventory from components in any order: merges duplicates (same purl), sorts,
    /// and drops dependency edges that point at nothing.
    pub fn from_components(subject: Subject, components: Vec<Component>) -> Inventory {
        let mut inv = Inventory {
            subject,
            ..Inventory::default()
        };
        inv.add(components);
        inv.finish();
        inv
    }

    /// Adds components (call [`Inventory::finish`] afterwards).
    pub fn add(&mut self, components: Vec<Component>) {
        self.components.extend(components);
    }

    /// Merges duplicates, sorts and prunes dangling edges; idempotent.
    pub fn finish(&mut self) {
        // Sorted in place and merged with their duplicates: no second map of every purl.
        let mut merged = std::mem::take(&mut self.components);
        merged.sort_by(|a, b| a.purl.cmp(&b.purl));
        merged.dedup_by(|later, kept| {
            let same = later.purl == kept.purl;
            if same {
                kept.absorb_from(later);
            }
            same
        });
        merged.shrink_to_fit();
        // Sorted by purl; edges are checked by binary search instead of a second set of
        // every purl (a million components would copy a million strings).
        self.components = merged;
        let mut edges: Vec<Vec<String>> = self
            .components
            .iter_mut()
            .map(|c| std::mem::take(&mut c.dependencies))
            .collect();
        let known = |components: &[Component], d: &str| {
            components
                .binary_search_by(|c| c.purl.as_str().cmp(d))
                .is_ok()
        };
        for deps in &mut edges {
            deps.retain(|d| known(&self.components, d));
        }
        for (c, deps) in self.components.iter_mut().zip(edges) {
            c.dependencies = deps;
            c.normalise();
        }
        let components = &self.components;
        self.direct.retain(|d| known(components, d));
        self.direct.sort();
        self.direct.dedup();
        self.files.sort();
        self.files.dedup();
    }

    /// The component with this purl.
    pub fn get(&self, purl: &str) -> Option<&Component> {
        self.components
            .binary_search_by(|c| c.purl.as_str().cmp(purl))
            .ok()
            .map(|i| &self.components[i])
    }
}
