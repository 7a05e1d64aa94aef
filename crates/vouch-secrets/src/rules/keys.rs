//! Private keys (PEM, OpenSSH, PGP, passphrase-encrypted keys, signed-note log keys) and JSON Web
//! Tokens. An encrypted key is its own rule at a lower severity: it is a finding (an offline
//! guessing target, and the passphrase is often nearby) but not a usable credential as it is.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

/// The plaintext PEM rule, whose hits are re-filed under [`encrypted_meta`] when the block is
/// passphrase-protected.
pub const PRIVATE_KEY_ID: &str = "secrets/private-key";

/// The metadata of `secrets/encrypted-private-key`.
pub fn encrypted_meta() -> &'static vouch_core::Rule {
    RULES
        .iter()
        .find(|r| r.id() == "secrets/encrypted-private-key")
        .map_or(&RULES[0].meta, |r| &r.meta)
}

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/private-key",
        severity: Critical,
        summary: "Unencrypted private key (PEM: RSA, EC, DSA, PKCS#8, OpenSSH)",
        regex: r##"(?s)(?P<secret>-----BEGIN (?:RSA |EC |DSA |OPENSSH |)PRIVATE KEY-----(?:\\r|\\n|\s)+(?:[A-Za-z0-9+/=:\-,\s]|\\n|\\r|\")+?-----END (?:RSA |EC |DSA |OPENSSH |)PRIVATE KEY-----)"##,
        keywords: &["private key-----"],
        entropy: 0.0,
        validator: PemBody,
        examples: &[concat!("-----BEG", "IN RSA P", "RIVATE K", "EY-----\n", "S9uyB8Zz", "lJfErv3X", "xIt7Rww9", "qtPpIEg/", "00imfVoK", "Hod5WqfL", "PmAOM4SX", "iqaV8FEt", "\nA4gqtVZ", "/abgkKKj", "9AJ8q5RK", "i1MVke9q", "lTn54AkA", "PQiMG8c/", "M/vPWjck", "ja6Gdnb8", "G\n9I+SFL", "ilJAz9Zq", "gWvSgBWY", "bbZ8IX3D", "9ZhstZty", "i7EXK+yu", "QIiIhbFN", "hRnPthRQ", "1V\nFlAUS", "TOvNh3ZT", "Q/1rA2I9", "uL7iamyR", "6NLFXUZY", "SSDMEFm7", "qwjZde09", "8By8mVzG", "kuG\nladQ", "MSl/ODpM", "gz/j1Ud5", "PxO7KNoA", "7rqhL6WC", "kw/7OP4L", "5Oy3H4P/", "cdlAt24G", "3vDu\ntcT", "U7MlhvjM", "3RZAvP89", "hzR66jAL", "o+Jy7iyO", "/0Pz+vkD", "iN/8w9yQ", "8CK1REXO", "R/YTk\nhr", "pEGtq/TP", "RQsItC\n-", "----END ", "RSA PRIV", "ATE KEY-", "----")],
        counter: &["-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"],
    },
    secret_rule! {
        id: "secrets/pgp-private-key",
        severity: Critical,
        summary: "PGP private key block",
        regex: r##"(?s)(?P<secret>-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\\r|\\n|\s)+(?:[\x20-\x7e\t\r\n]|\\n|\\r)+?-----END PGP PRIVATE KEY BLOCK-----)"##,
        keywords: &["pgp private key block"],
        entropy: 0.0,
        validator: PemBody,
        examples: &[concat!("-----BEG", "IN PGP P", "RIVATE K", "EY BLOCK", "-----\nVe", "rsion: G", "nuPG v2.", "0.22 (GN", "U/Linux)", "\nComment", ": vouch ", "syntheti", "c test k", "ey\n\ni+LL", "QUnYPB+T", "umg0iFqo", "/0iDSKiv", "xkXPRuRc", "CWFS+eJY", "Lu9x+t7u", "fqWMD/JR", "YM0i\nvN2", "VnuPgJ1v", "gTqyj5gn", "dWH+bfTl", "SIg2GSxp", "elkZf+QP", "7bYIMbul", "AOgwXMsP", "x8/uE\nxq", "mKmZBzSl", "Utg3YblU", "ZVOroDyc", "YrknHjM+", "z8gnyI0D", "Ln+OREjP", "haa55j5M", "jCTCGB\ng", "jzZg/BPU", "SysFG1AR", "ZwNQejia", "r67WoJqF", "VmRsEcbB", "rj6hak5s", "xDTJGBPY", "nydWHUG\n", "tTl3QLpB", "0rltFLwh", "ebuC3bCQ", "xNqrLfhw", "jsA/PSfZ", "ZRImr3QW", "R7h7tp1z", "gCRU6iTZ", "\nQ2B11av", "lDUSl2fR", "Ywzerb9j", "BMpiPR5+", "7LdG4xjw", "+kfrZALM", "qkVYIajH", "Ym5F46/q", "5\nMLoUxk", "28O8N6XJ", "3E\n=Xq3v", "\n-----EN", "D PGP PR", "IVATE KE", "Y BLOCK-", "----")],
        counter: &["-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----"],
    },
    secret_rule! {
        id: "secrets/encrypted-private-key",
        severity: Low,
        summary: "Passphrase-encrypted private key (PKCS#8 ENCRYPTED, legacy PEM Proc-Type ENCRYPTED, encrypted OpenSSH, cosign/Sigstore encrypted key)",
        regex: r##"(?s)(?P<secret>-----BEGIN ENCRYPTED (?:SIGSTORE |COSIGN |)PRIVATE KEY-----(?:\\r|\\n|\s)+(?:[A-Za-z0-9+/=:\-,\s]|\\n|\\r|\")+?-----END ENCRYPTED (?:SIGSTORE |COSIGN |)PRIVATE KEY-----)"##,
        keywords: &["private key-----"],
        entropy: 0.0,
        validator: PemBody,
        examples: &[concat!("-----BEG", "IN ENCRY", "PTED PRI", "VATE KEY", "-----\nsQ", "N4ta/mn9", "3ktKF1D2", "RJHZUum5", "q2myhlEu", "OrBZLW6h", "0Gh8neA4", "vqoL9j9M", "mfJF2H\n2", "ftKiu8cg", "g+IIkfv1", "h+A4Vrqo", "wQICkvOv", "Bv3AGZpR", "hBcEc4Pv", "iFoA66VL", "KbJukr6\n", "3Lu4mZuu", "A5IeQmY9", "HBWj8NtW", "uG4Ynm8S", "SJezVvYG", "JSraSZEM", "oSmoJOj1", "gagD2/f7", "\n3X6uHfN", "LXSzrMd2", "JRwhjcM7", "azAIhiJG", "3fsjcDOn", "ST6ulPA7", "QkdqXoVM", "90OsyBlS", "x\ngHhwJD", "wAK4Xyba", "SKnTQk/C", "fy3lkBq8", "Rc1r5F3w", "JEhAwryT", "GJAFx84p", "G8lIUix4", "dW\n0z6f2", "fx8xih+c", "g==\n----", "-END ENC", "RYPTED P", "RIVATE K", "EY-----")],
        counter: &["-----BEGIN ENCRYPTED PRIVATE KEY-----\n...\n-----END ENCRYPTED PRIVATE KEY-----", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"],
    },
    secret_rule! {
        id: "secrets/signed-note-key",
        severity: Critical,
        summary: "Transparency-log / signed-note signing key (C2SP signed-note `PRIVATE+KEY+name+id+key`, as `vouch log init` and Go's sumdb write it)",
        refs: &["https://c2sp.org/signed-note"],
        regex: r##"(?P<secret>PRIVATE\+KEY\+[^+\s"'`]{1,256}\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/]{44})(?:[^A-Za-z0-9+/=]|$)"##,
        keywords: &["private+key+"],
        entropy: 0.0,
        validator: SignedNoteKey,
        examples: &[concat!("LOG_KEY=", "PRIVATE+", "KEY+log.", "acme.tes", "t/prod+5", "2e6b438+", "AW4g3A9J", "q63zA0gS", "v1CBNBz9", "atECgbjl", "lLNICGKP", "InRo")],
        counter: &["PRIVATE+KEY+name+c74f20a3+short", "PUBLIC+KEY+log+c74f20a3+AW4g3A9Jq63zA0gSv1CBNBz9atECgbjllLNICGKPInRo", concat!("PRIVATE+", "KEY+log+", "52e6b438", "+AAAAAAA", "AAAAAAAA", "AAAAAAAA", "AAAAAAAA", "AAAAAAAA", "AAAA")],
    },
    secret_rule! {
        id: "secrets/jwt",
        severity: Medium,
        summary: "JSON Web Token (bearer credential)",
        regex: r##"\b(?P<secret>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,})"##,
        keywords: &["eyj"],
        entropy: 3.0,
        validator: Jwt,
        examples: &[concat!("eyJhbGci", "OiAiSFMy", "NTYiLCAi", "dHlwIjog", "IkpXVCJ9", ".eyJzdWI", "iOiAiOTZ", "hMzBjNWR", "iOGViIiw", "gIm5hbWU", "iOiAiVGV", "zdCBGaXh", "0dXJlIiw", "gImlhdCI", "6IDE3MDA", "wMDAwMDB", "9.5-slsd", "GPMPOQUI", "m2p_U8Gx", "_3U0F_mH", "ZapAoABz", "Em0Iw")],
        counter: &["eyJhbGciOi.eyJzdWIiOi.short", "eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"],
    },
];
