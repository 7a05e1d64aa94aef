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
    // The signed-note key in the documentation of golang.org/x/mod/sumdb/note.
    concat!(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+",
        "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    ),
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
    "[filtered]",
    "filtered]",
    "[masked]",
    "[hidden]",
    "enc[",
    "%env(",
    "env(",
    "ref:",
    "secretref",
    ".values.",
    "lookup(",
    "!vault",
    "@format",
    "<%",
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
    // `$VAR`, `%VAR%`, `@VAR@`, `__VAR__` (token replacement), `[VAR]`
    if value.starts_with('$')
        || (value.starts_with('%') && value.ends_with('%'))
        || (value.starts_with('@') && value.ends_with('@'))
        || (value.len() > 4 && value.starts_with("__") && value.ends_with("__"))
        || (value.starts_with('[') && value.ends_with(']'))
    {
        return true;
    }
    // Masked values: mostly `*`, `x`, `X`, `#`, `•`, `.`.
    let masked = value
        .bytes()
        .filter(|b| matches!(b, b'*' | b'x' | b'X' | b'#' | b'.'))
        .count();
    if value.len() >= 6 && masked * 2 >= value.len() {
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
    // Code, paths and references: calls, member access chains, file paths, routes.
    if value.contains('(') || value.contains("::") || value.contains("->") || is_path(value) {
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
    // A base64 value that decodes to text is judged by that text (`dmFsdWUtMg0KDQo=` is
    // `value-2`, a documentation stand-in).
    if let Some(decoded) = decoded_text(value) {
        let d = decoded.trim();
        return !is_placeholder(d) && credential_like(d);
    }
    credential_like(value)
}

/// The text a standard-base64 value (with padding or a length that is a multiple of 4)
/// decodes to, when it is printable ASCII.
fn decoded_text(value: &str) -> Option<String> {
    use base64::Engine as _;
    if !value.len().is_multiple_of(4) || value.len() < 12 {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.bytes()
        .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
        .then_some(text)
}

/// File paths and URL routes: `./creds.json`, `../x`, `~/.ssh/id`, `/api/v1/token`,
/// `config/secrets.yml`, `tokens/{id}`, `creds.json`. A base64 value (`+`, `=`, or `/` between
/// random characters) is not a path.
pub fn is_path(value: &str) -> bool {
    if value.starts_with("./")
        || value.starts_with("../")
        || value.starts_with("~/")
        || value.starts_with('/') && !value.contains('+')
        || value.contains(":/")
        || value.contains('\\')
    {
        return true;
    }
    if value.contains('/') && !value.contains('+') && !value.ends_with('=') {
        // `segment/segment`: a path when every segment is a word-like name (or `{param}`).
        let worded = value
            .split('/')
            .filter(|s| !s.is_empty())
            .all(|s| identifier_like(s.trim_matches(['{', '}', ':', '*'])));
        if worded || value.matches('/').count() > 1 {
            return true;
        }
    }
    // A file name with a known extension.
    if let Some((stem, ext)) = value.rsplit_once('.') {
        let ext = ext.to_ascii_lowercase();
        if !stem.is_empty()
            && matches!(
                ext.as_str(),
                "json"
                    | "yaml"
                    | "yml"
                    | "toml"
                    | "txt"
                    | "pem"
                    | "key"
                    | "crt"
                    | "cer"
                    | "p12"
                    | "pfx"
                    | "jks"
                    | "env"
                    | "ini"
                    | "cfg"
                    | "conf"
                    | "xml"
                    | "properties"
                    | "js"
                    | "ts"
                    | "py"
                    | "rb"
                    | "go"
                    | "rs"
                    | "sh"
                    | "html"
                    | "md"
                    | "csv"
                    | "db"
                    | "sqlite"
                    | "log"
                    | "gpg"
                    | "asc"
                    | "pub"
                    | "der"
                    | "enc"
            )
        {
            return true;
        }
    }
    false
}

/// Whether `word` reads as an identifier or a word rather than random characters: letters in
/// lower, UPPER, Capitalised or camelCase words (each word of three or more letters holding a
/// vowel), optionally ending in a short number (`v2`, `sha256`, `base64`), words joined by
/// `_`, `-`, `.` or `:`. Random credentials fail: their case changes every character or two,
/// their "words" have no vowels, digits sit in the middle.
pub fn identifier_like(word: &str) -> bool {
    let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if core.is_empty() {
        return false;
    }
    core.split(['_', '-', '.', ':'])
        .filter(|s| !s.is_empty())
        .all(segment_wordy)
}

fn segment_wordy(seg: &str) -> bool {
    let b = seg.as_bytes();
    if !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    // Tokens: digit runs, upper-case runs (acronyms), Capitalised or lower-case words.
    let mut letter_words: Vec<&[u8]> = Vec::new();
    let mut digit_runs = 0usize;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start > 4 {
                return false; // long numbers inside a name: not an identifier
            }
            digit_runs += 1;
            continue;
        }
        if b[i].is_ascii_uppercase() {
            while i < b.len() && b[i].is_ascii_uppercase() {
                i += 1;
            }
            // `HTTPServer`: the last capital starts the next word.
            if i < b.len() && b[i].is_ascii_lowercase() && i - start > 1 {
                i -= 1;
            }
        }
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        if i == start {
            i += 1;
        }
        letter_words.push(&b[start..i]);
    }
    let vowel = |c: &u8| {
        matches!(
            c.to_ascii_lowercase(),
            b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
        )
    };
    let all_words = letter_words.iter().all(|w| {
        let upper = w.iter().all(u8::is_ascii_uppercase);
        // Acronyms (`HTTP`, `JWT`) need no vowel; words of 3+ letters do.
        (upper && w.len() <= 5) || w.len() < 3 || w.iter().any(vowel)
    });
    let short = letter_words.iter().filter(|w| w.len() <= 2).count();
    let short_ok = letter_words.len() < 2 || short * 2 <= letter_words.len();
    all_words && short_ok && digit_runs <= 2
}

/// Whether an assigned value looks like a credential rather than an identifier, a word, a
/// sentence fragment or a masked value: at least 8 characters, entropy of at least 3 bits per
/// character, and either a digit or symbol mixed with letters that do not read as words, or a
/// long run of mixed-case letters whose case changes like random text.
pub fn credential_like(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() < 8 || entropy(b) < 3.0 {
        return false;
    }
    let lower_c = b.iter().any(u8::is_ascii_lowercase);
    let upper_c = b.iter().any(u8::is_ascii_uppercase);
    let digit_c = b.iter().any(u8::is_ascii_digit);
    let symbol_c = b
        .iter()
        .any(|c| !c.is_ascii_alphanumeric() && !matches!(c, b'_' | b'-' | b'.'));
    let classes = [lower_c, upper_c, digit_c, symbol_c]
        .iter()
        .filter(|c| **c)
        .count();
    if classes < 2 {
        return false;
    }
    // `webpackFullHash`, `PrivateIdentifier`, `DB_PASSWORD_2`, `my-secret-pw`, `@@hash`.
    if identifier_like(value) {
        return false;
    }
    if !digit_c && !symbol_c {
        // Letters only (with `_-.`): random mixed case changes case often.
        let letters: Vec<u8> = b.iter().copied().filter(u8::is_ascii_alphabetic).collect();
        let changes = letters
            .windows(2)
            .filter(|w| w[0].is_ascii_uppercase() != w[1].is_ascii_uppercase())
            .count();
        if letters.len() < 12 || changes * 4 < letters.len() {
            return false;
        }
    }
    true
}

/// Test code and fixtures: findings there keep being reported, one severity lower (a test
/// value is usually fake, but a real credential pasted into a fixture is still a leak).
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let lower = lower.replace('!', "/");
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.split('/').any(|seg| {
        matches!(
            seg,
            "test"
                | "tests"
                | "testing"
                | "__tests__"
                | "__mocks__"
                | "spec"
                | "specs"
                | "fixture"
                | "fixtures"
                | "testdata"
                | "test-data"
                | "test_data"
                | "testfixtures"
                | "mocks"
                | "e2e"
        )
    }) || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains("_spec.")
        || name.ends_with("test.java")
        || name.ends_with("tests.cs")
        || name.ends_with("test.kt")
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
        // From real code (issue: 74 generic findings on seven public repositories).
        for v in [
            "[FILTERED]",
            "PrivateIdentifier",
            "./creds.json",
            "@@webpackFullHash",
            "/api/v1/auth/token",
            "oauth/token",
            "users/{id}/tokens",
            "DB_PASSWORD_2",
            "my-secret-pw",
            "HTTPBasicAuth",
            "base64EncodedKey",
            "secrets.yml",
            "**********",
            "__DB_PASSWORD__",
            "xxxxxxxxXXXX1",
            "dmFsdWUtMg0KDQo=",
        ] {
            assert!(!generic_value_ok(v), "{v}");
        }
        for v in [
            "Tr0ub4dor&3x",
            "hunter2!Qx9",
            "Xj601nkdyY4nsnQYIc",
            "qZvKmPprTwXyBnLs",
            "UXo4dksybVBwNHJUN3dYeQ==",
        ] {
            assert!(generic_value_ok(v), "{v}");
        }
    }

    #[test]
    fn test_paths() {
        for p in [
            "tests/fixtures/a.env",
            "src/__tests__/x.js",
            "pkg/auth/auth_test.go",
            "spec/models/user_spec.rb",
            "a.jar!src/test/resources/app.properties",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        for p in [
            "src/config.rs",
            "deploy/prod.env",
            "contest/a.py",
            "latest/x",
        ] {
            assert!(!is_test_path(p), "{p}");
        }
    }
}
