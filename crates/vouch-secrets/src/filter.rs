//! False-positive control: what a secret-shaped string must not be.
//!
//! Documented example keys, placeholders (`<TOKEN>`, `xxxx`, `${VAR}`, `changeme`),
//! environment references, hashes in integrity/digest positions, UUIDs and low-entropy strings
//! are rejected here, after the regex and before the validator.

/// Values vendors publish in their documentation; never real.
pub const KNOWN_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "ASIAIOSFODNN7EXAMPLE",
];

/// Words that mark a value as a stand-in, compared case-insensitively as substrings.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "dummy",
    "redacted",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "insert",
    "replace",
    "sample",
    "notreal",
    "not_real",
    "not-a-real",
    "fake",
    "xxxx",
    "****",
    "....",
    "todo",
    "fixme",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "$(",
    "%(",
    "#{",
    "process.env",
    "os.environ",
    "getenv",
    "env[",
    "secretkeyref",
    "valuefrom",
];

/// Whether `value` is a placeholder, an environment/template reference or a documented
/// example rather than a credential.
pub fn is_placeholder(value: &str) -> bool {
    if KNOWN_EXAMPLES.contains(&value) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // `$VAR`, `%VAR%`, `@VAR@`
    if value.starts_with('$')
        || (value.starts_with('%') && value.ends_with('%'))
        || (value.starts_with('@') && value.ends_with('@'))
    {
        return true;
    }
    // One character repeated (`aaaaaaaa`, `00000000`), or a short cycle (`abcabcabc`).
    let bytes = value.as_bytes();
    if bytes.len() >= 4 {
        for period in 1..=3 {
            if bytes.len() > period * 2
                && bytes
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == bytes[i % period])
            {
                return true;
            }
        }
    }
    false
}

/// Shannon entropy in bits per character.
pub fn entropy(value: &[u8]) -> f32 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in value {
        counts[*b as usize] += 1;
    }
    let n = value.len() as f32;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// `8-4-4-4-12` hex.
pub fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Subresource-integrity / lockfile hash strings (`sha512-…`, `sha256:…`).
pub fn is_integrity(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "sha1-", "sha256-", "sha384-", "sha512-", "sha1:", "sha256:", "sha512:", "md5:", "h1:",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// Program source (by extension), where the generic rule only trusts quoted literals.
pub fn is_code(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "rs" | "c"
            | "h"
            | "cc"
            | "cpp"
            | "cxx"
            | "hpp"
            | "hh"
            | "go"
            | "java"
            | "kt"
            | "kts"
            | "scala"
            | "py"
            | "pyi"
            | "rb"
            | "js"
            | "jsx"
            | "mjs"
            | "cjs"
            | "ts"
            | "tsx"
            | "cs"
            | "php"
            | "swift"
            | "m"
            | "mm"
            | "dart"
            | "lua"
            | "pl"
            | "pm"
            | "r"
            | "jl"
            | "ex"
            | "exs"
            | "erl"
            | "hs"
            | "ml"
            | "fs"
            | "vb"
            | "groovy"
            | "clj"
            | "zig"
            | "nim"
            | "v"
            | "sol"
            | "vue"
            | "svelte"
    )
}

/// Lockfiles: hashes and integrity strings only, never credentials of the generic kind.
pub fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    matches!(
        name,
        "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "Cargo.lock"
            | "go.sum"
            | "poetry.lock"
            | "Pipfile.lock"
            | "composer.lock"
            | "Gemfile.lock"
            | "uv.lock"
            | "bun.lock"
            | "packages.lock.json"
            | "gradle.lockfile"
    )
}

/// Prefixes of structured tokens that have their own rule.
const PROVIDER_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "npm_",
    "glpat-",
    "glptt-",
    "glrt-",
    "gldt-",
    "xoxb-",
    "xoxp-",
    "xoxe",
    "xapp-",
    "sk_live_",
    "rk_live_",
    "sk_test_",
    "rk_test_",
    "AKIA",
    "ASIA",
    "AIza",
    "GOCSPX-",
    "SG.",
    "hf_",
    "sk-ant-",
    "dckr_pat_",
    "pypi-",
    "hvs.",
    "shpat_",
    "shpss_",
    "glsa_",
    "glc_",
    "dop_v1_",
    "pul-",
    "lin_api_",
    "PMAK-",
    "eyJ",
];

/// The checks the generic assignment rule adds: the value must look like a credential, not an
/// identifier, a path, a hash, a UUID, a URL without credentials, a number or code.
pub fn generic_value_ok(value: &str) -> bool {
    if is_uuid(value) || is_integrity(value) || is_placeholder(value) {
        return false;
    }
    // A provider's token format is judged by the provider's rule (and its checksum), not here.
    if PROVIDER_PREFIXES.iter().any(|p| value.starts_with(p)) {
        return false;
    }
    if value.starts_with(':') || value.starts_with('=') {
        return false; // `token::path`, `a == b`
    }
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("ssh-")
        || lower.starts_with("-----begin")
        || lower.starts_with("arn:")
        || lower.starts_with("projects/")
        || lower.starts_with("file:")
        || lower.starts_with("vault:")
        || lower.starts_with("ref+")
        || lower.starts_with("secretsmanager:")
        || lower == "true"
        || lower == "false"
        || lower == "null"
        || lower == "none"
    {
        return false;
    }
    // Code, paths and references: calls, member access chains, file paths.
    if value.contains('(')
        || value.contains("::")
        || value.contains('/') && !value.contains('+') && value.matches('/').count() > 1
    {
        return false;
    }
    // Pure hex of a digest length is a hash, not a password.
    if matches!(value.len(), 32 | 40 | 64 | 128)
        && value.bytes().all(|b| b.is_ascii_hexdigit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
        && value.bytes().all(|b| !b.is_ascii_uppercase())
    {
        return false;
    }
    // At least two of: lower, upper, digit, symbol; and not an identifier in snake/kebab/camel case.
    let lower_c = value.bytes().any(|b| b.is_ascii_lowercase());
    let upper_c = value.bytes().any(|b| b.is_ascii_uppercase());
    let digit_c = value.bytes().any(|b| b.is_ascii_digit());
    let symbol_c = value
        .bytes()
        .any(|b| !b.is_ascii_alphanumeric() && !matches!(b, b'_' | b'-' | b'.'));
    let classes = [lower_c, upper_c, digit_c, symbol_c]
        .iter()
        .filter(|c| **c)
        .count();
    if classes < 2 {
        return false;
    }
    if !digit_c && !symbol_c && value.contains(['_', '.', '-']) {
        return false; // some_identifier.name, CONSTANT_NAME
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "<TOKEN>",
            "xxxxxxxxxxxx",
            "${GITHUB_TOKEN}",
            "changeme",
            "$API_KEY",
            "{{ secret }}",
            "your_api_key_here",
            "AKIAIOSFODNN7EXAMPLE",
            "abcabcabcabc",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(!is_placeholder("Zq8vK2mPp4rT7wXy"));
    }

    #[test]
    fn entropy_orders() {
        assert!(entropy(b"aaaaaaaa") < 0.1);
        assert!(entropy(b"Zq8vK2mPp4rT7wXy") > 3.5);
    }

    #[test]
    fn generic_values() {
        assert!(generic_value_ok("Zq8vK2mPp4rT7wXy"));
        assert!(generic_value_ok("S3cr3t!Passw0rd"));
        assert!(!generic_value_ok("get_password_from_vault"));
        assert!(!generic_value_ok("self.config.password"));
        assert!(!generic_value_ok("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!generic_value_ok("sha512-abcdefABCDEF0123"));
        assert!(!generic_value_ok("os.getenv(\"X\")"));
        assert!(!generic_value_ok("d41d8cd98f00b204e9800998ecf8427e"));
    }
}
