//! Round trips of the SBOM formats vouch both writes and reads (CycloneDX 1.6/1.7 JSON and
//! SPDX 2.3 JSON): a document read back from vouch's own output and written again gives the
//! same bytes (serialise(parse(serialise(x))) == serialise(x)), for generated inventories with
//! every field vouch writes. (CycloneDX XML is written, not read: there is no parse step.)
//! Components carry no `download_location`: CycloneDX and SPDX write it, but reading it back
//! is not done yet, so documents with git or path dependencies are stable from the second
//! round on, not the first.

use proptest::prelude::*;
use vouch_sbom::model::{Component, Ecosystem, Hash, HashAlg, Inventory, Scope, Subject};
use vouch_sbom::{SbomFormat, SpecVersion, WriteOptions, read_sbom_str, write};

fn component() -> impl Strategy<Value = Component> {
    (
        prop::sample::select(vec![
            Ecosystem::Npm,
            Ecosystem::Cargo,
            Ecosystem::PyPI,
            Ecosystem::Maven,
            Ecosystem::Go,
            Ecosystem::Deb,
        ]),
        "[a-z][a-z0-9-]{0,10}",
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}(-rc[0-9])?",
        prop::sample::select(vec![Scope::Required, Scope::Optional, Scope::Dev]),
        prop::option::of(prop::array::uniform32(any::<u8>())),
        prop::sample::subsequence(
            vec!["MIT", "Apache-2.0", "MIT OR Apache-2.0", "GPL-3.0-only"],
            0..3,
        ),
        prop::sample::subsequence(vec!["Cargo.lock", "web/package-lock.json", "go.mod"], 1..3),
    )
        .prop_map(|(eco, name, version, scope, digest, lics, sources)| {
            let (ns, group) = match eco {
                Ecosystem::Maven => (Some("org.example"), Some("org.example".to_string())),
                Ecosystem::Go => (Some("github.com/acme"), None),
                Ecosystem::Deb => (Some("debian"), None),
                _ => (None, None),
            };
            let purl =
                vouch_sbom::purl::Purl::new(eco.purl_type(), ns, &name, Some(&version)).to_string();
            let shown = match (eco, ns) {
                (Ecosystem::Go, Some(ns)) => format!("{ns}/{name}"),
                _ => name.clone(),
            };
            let mut c = Component::new(eco, &shown, &version, purl);
            c.group = group;
            c.scope = scope;
            c.hashes = digest
                .map(|d| Hash {
                    alg: HashAlg::Sha256,
                    value: hex::encode(d),
                })
                .into_iter()
                .collect();
            c.licenses = lics.into_iter().map(str::to_string).collect();
            c.sources = sources.into_iter().map(str::to_string).collect();
            c
        })
}

fn inventory() -> impl Strategy<Value = Inventory> {
    (
        prop::collection::vec(component(), 0..12),
        prop::collection::vec((0usize..12, 0usize..12), 0..20),
        prop::collection::vec(0usize..12, 0..4),
        "[a-z]{1,10}",
        prop::option::of("[0-9]\\.[0-9]"),
    )
        .prop_map(|(mut comps, edges, direct, name, version)| {
            let purls: Vec<String> = comps.iter().map(|c| c.purl.clone()).collect();
            if !purls.is_empty() {
                for (a, b) in edges {
                    let to = purls[b % purls.len()].clone();
                    comps[a % purls.len()].dependencies.push(to);
                }
            }
            let mut inv = Inventory::from_components(Subject { name, version }, comps);
            if !purls.is_empty() {
                inv.direct = direct
                    .into_iter()
                    .map(|i| purls[i % purls.len()].clone())
                    .collect();
            }
            // No `files`: the content-derived serial number also covers the list of lockfiles
            // read, which a document does not carry (an inventory read back has none).
            inv.finish();
            inv
        })
}

/// The document without its content-derived identifier (CycloneDX `serialNumber`, SPDX
/// `documentNamespace`): that is a digest of the in-memory inventory, which holds more than
/// the document says (several licences of one component are written as one `AND` expression
/// and read back as that one expression), so it is not expected to survive the first round.
fn without_identifier(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("\"serialNumber\": ") && !l.contains("\"documentNamespace\": "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn round_trip(
    format: SbomFormat,
    opts: &WriteOptions,
    inv: &Inventory,
) -> Result<(), TestCaseError> {
    let first = write(inv, format, opts);
    let text = String::from_utf8(first).expect("UTF-8");
    let back = read_sbom_str("x.json", &text).expect("vouch reads what it wrote");
    let second = String::from_utf8(write(&back, format, opts)).unwrap();
    prop_assert_eq!(
        without_identifier(&second),
        without_identifier(&text),
        "serialise(parse(serialise(x))) differs"
    );
    // From the second round on, the identifier is stable too.
    let third = write(&read_sbom_str("x.json", &second).unwrap(), format, opts);
    prop_assert_eq!(String::from_utf8(third).unwrap(), second);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn cyclonedx_json_round_trips(inv in inventory(), v17 in any::<bool>(), stamp in prop::option::of(0i64..4_000_000_000)) {
        let opts = WriteOptions {
            cyclonedx_version: if v17 { SpecVersion::V1_7 } else { SpecVersion::V1_6 },
            serial_number: None,
            timestamp: stamp.map(|s| jiff::Timestamp::from_second(s).unwrap()),
        };
        round_trip(SbomFormat::CycloneDxJson, &opts, &inv)?;
    }

    #[test]
    fn spdx_json_round_trips(inv in inventory(), stamp in prop::option::of(0i64..4_000_000_000)) {
        let opts = WriteOptions {
            timestamp: stamp.map(|s| jiff::Timestamp::from_second(s).unwrap()),
            ..WriteOptions::default()
        };
        round_trip(SbomFormat::SpdxJson, &opts, &inv)?;
    }
}
