//! Offline validators: checks of a candidate's own structure that need no network. A
//! candidate that fails its validator is not a finding (a typo'd or synthetic string that only
//! looks like a token).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Which structural check a rule's secret must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// No structural check.
    None,
    /// GitHub `gh[pousr]_` tokens: the last 6 characters are the base62 CRC32 of the 30 before.
    GithubCrc32,
    /// npm `npm_` tokens use the same scheme as GitHub.
    NpmCrc32,
    /// A JWT: three base64url parts, the first decoding to a JSON object with `alg`.
    Jwt,
    /// A docker `config.json` `auth`: base64 of `user:password`.
    DockerAuth,
    /// The body of a PEM private key decodes as base64 (or is an encrypted/OpenSSH key).
    PemBody,
    /// A URL's password is not a placeholder or an environment reference.
    UrlPassword,
    /// A signed-note private key: base64 of 33 bytes, an algorithm byte (Ed25519 `0x01`,
    /// cosignature `0x04`) and a 32-byte seed that is not all one byte.
    SignedNoteKey,
}

impl Validator {
    /// Whether `secret` (the captured secret) passes.
    pub fn check(self, secret: &str) -> bool {
        match self {
            Validator::None => true,
            Validator::GithubCrc32 | Validator::NpmCrc32 => base62_crc32_ok(secret),
            Validator::Jwt => jwt_ok(secret),
            Validator::DockerAuth => docker_auth_ok(secret),
            Validator::PemBody => pem_ok(secret),
            Validator::SignedNoteKey => signed_note_key_ok(secret),
            Validator::UrlPassword => {
                !crate::filter::is_placeholder(secret)
                    && !DEFAULT_PASSWORDS.contains(&secret.to_ascii_lowercase().as_str())
            }
        }
    }
}

/// Development defaults that appear in every docker-compose file; not secrets.
const DEFAULT_PASSWORDS: &[&str] = &[
    "postgres",
    "password",
    "passwd",
    "root",
    "admin",
    "secret",
    "guest",
    "test",
    "testing",
    "pass",
    "mysql",
    "redis",
    "rabbitmq",
    "user",
    "dev",
    "development",
    "local",
    "sa",
    "qwerty",
];

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 of `n`, left-padded with `0` to `width`.
pub fn base62(mut n: u32, width: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `prefix_` + payload + 6-character base62 CRC32 of the payload.
fn base62_crc32_ok(token: &str) -> bool {
    let Some((_, body)) = token.rsplit_once('_') else {
        return false;
    };
    if body.len() <= 6 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (payload, check) = body.split_at(body.len() - 6);
    base62(crc32fast::hash(payload.as_bytes()), 6) == check
}

/// Makes a checksummed token from `prefix` and `payload` (for tests and the corpus).
pub fn make_crc32_token(prefix: &str, payload: &str) -> String {
    format!(
        "{prefix}{payload}{}",
        base62(crc32fast::hash(payload.as_bytes()), 6)
    )
}

fn jwt_ok(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let Ok(header) = decode(h) else { return false };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&header) else {
        return false;
    };
    if header.get("alg").is_none() {
        return false;
    }
    match decode(p) {
        Ok(payload) => serde_json::from_slice::<serde_json::Value>(&payload).is_ok(),
        Err(_) => false,
    }
}

fn docker_auth_ok(auth: &str) -> bool {
    let Ok(raw) = STANDARD.decode(auth) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&raw) else {
        return false;
    };
    match text.split_once(':') {
        Some((user, pass)) => {
            !user.is_empty() && pass.len() >= 4 && !crate::filter::is_placeholder(pass)
        }
        None => false,
    }
}

fn signed_note_key_ok(key: &str) -> bool {
    // `PRIVATE+KEY+name+hexid+base64`: the name holds no `+`, the base64 may.
    let mut parts = key.splitn(5, '+');
    let (Some(_), Some(_), Some(_), Some(_), Some(b64)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(raw) = STANDARD
        .decode(b64)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
    else {
        return false;
    };
    raw.len() == 33 && matches!(raw[0], 1 | 4) && raw[1..].iter().any(|b| *b != raw[1])
}

fn pem_ok(block: &str) -> bool {
    // Drop the armour lines and headers (and a PGP armour's `=XXXX` CRC-24 line); what remains
    // must be base64 of a plausible size.
    let mut body = String::new();
    for line in block.split(['\n', '\r']).flat_map(|l| l.split("\\n")) {
        let line = line.trim().trim_matches('"');
        if line.is_empty()
            || line.starts_with("-----")
            || line.contains(':')
            || (line.len() == 5 && line.starts_with('='))
        {
            continue;
        }
        body.push_str(line);
    }
    if body.len() < 64 || crate::filter::is_placeholder(&body) {
        return false;
    }
    STANDARD.decode(body.trim_end_matches('=')).is_ok()
        || base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body.trim_end_matches('='))
            .is_ok()
}

/// Whether a PEM private key block (already matched by `secrets/private-key`) is encrypted under
/// a passphrase: a legacy OpenSSL `Proc-Type: 4,ENCRYPTED` header, or an OpenSSH key whose
/// cipher is not `none`.
pub fn pem_is_encrypted(block: &str) -> bool {
    if block.contains("Proc-Type: 4,ENCRYPTED") {
        return true;
    }
    if !block.contains("OPENSSH PRIVATE KEY") {
        return false;
    }
    let mut body = String::new();
    for line in block.split(['\n', '\r']).flat_map(|l| l.split("\\n")) {
        let line = line.trim().trim_matches('"');
        if line.is_empty() || line.starts_with("-----") {
            continue;
        }
        body.push_str(line);
        if body.len() > 96 {
            break; // the cipher name is in the first 40 bytes
        }
    }
    // Whole base64 quanta only, so a prefix decodes.
    let Some(whole) = body.get(..body.len() - body.len() % 4) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(whole.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(whole))
    else {
        return false;
    };
    // "openssh-key-v1\0", then a u32 length and the cipher name.
    let Some(rest) = raw.strip_prefix(b"openssh-key-v1\0") else {
        return false;
    };
    if rest.len() < 4 {
        return false;
    }
    let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    match rest.get(4..4 + n) {
        Some(cipher) => cipher != b"none",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum_round_trip() {
        let t = make_crc32_token("ghp_", "abcdefghijABCDEFGHIJ0123456789");
        assert_eq!(t.len(), 40);
        assert!(Validator::GithubCrc32.check(&t));
        let mut bad = t.clone();
        bad.replace_range(5..6, "Z");
        assert!(!Validator::GithubCrc32.check(&bad));
        assert!(!Validator::GithubCrc32.check("ghp_"));
        assert!(!Validator::GithubCrc32.check("nounderscore"));
    }

    #[test]
    fn encrypted_pem_blocks_are_recognised() {
        use crate::scan::{ScanOptions, Scanner};
        let openssh = |cipher: &str| {
            let mut raw = b"openssh-key-v1\0".to_vec();
            raw.extend_from_slice(&(cipher.len() as u32).to_be_bytes());
            raw.extend_from_slice(cipher.as_bytes());
            raw.extend((0u8..=255).cycle().skip(7).step_by(3).take(300));
            let b64 = STANDARD.encode(raw);
            let body: Vec<String> = b64
                .as_bytes()
                .chunks(70)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                body.join("\n")
            )
        };
        let scanner = Scanner::new(ScanOptions::default()).unwrap();
        let rule_of = |text: &str| {
            let hits = scanner.scan_bytes("id_ed25519", text.as_bytes()).hits;
            assert_eq!(hits.len(), 1, "{text}");
            hits[0].rule.id
        };
        assert_eq!(
            rule_of(&openssh("aes256-ctr")),
            "secrets/encrypted-private-key"
        );
        assert_eq!(rule_of(&openssh("none")), "secrets/private-key");
        let legacy = openssh("none")
            .replace("OPENSSH ", "RSA ")
            .replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n", 1);
        assert_eq!(rule_of(&legacy), "secrets/encrypted-private-key");
        assert!(pem_is_encrypted(&openssh("aes256-ctr")));
        assert!(!pem_is_encrypted(&openssh("none")));
    }

    #[test]
    fn base62_pads() {
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 2), "0z");
    }

    #[test]
    fn docker_auth() {
        let enc = STANDARD.encode("deploy:Zq8vK2mPp4");
        assert!(Validator::DockerAuth.check(&enc));
        assert!(!Validator::DockerAuth.check(&STANDARD.encode("nocolon")));
        assert!(!Validator::DockerAuth.check("!!!"));
    }
}
