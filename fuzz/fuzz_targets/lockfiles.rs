#![no_main]
//! Every lockfile reader: the first byte picks the file name, the rest is its text.
use libfuzzer_sys::fuzz_target;
const NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "go.mod",
    "Gemfile.lock",
    "composer.lock",
    "gradle.lockfile",
    "pom.xml",
    "packages.lock.json",
    "pubspec.lock",
    "Package.resolved",
    "mix.lock",
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
    "requirements.txt",
    "uv.lock",
];
fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    if let (Some(read), Ok(text)) = (
        vouch_sbom::readers::reader_for(name),
        std::str::from_utf8(rest),
    ) {
        let _ = read(name, text);
    }
});
