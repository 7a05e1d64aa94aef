//! Private keys (PEM, OpenSSH, PGP) and JSON Web Tokens.
//!
//! Examples are assembled with `concat!` from fragments so that this source file holds no
//! string that a secret scanner (ours included) would report.

use crate::rule::SecretRule;
use crate::secret_rule;

pub const RULES: &[SecretRule] = &[
    secret_rule! {
        id: "secrets/private-key",
        severity: Critical,
        summary: "Private key (PEM: RSA, EC, DSA, PKCS#8, OpenSSH; encrypted or not)",
        regex: r##"(?s)(?P<secret>-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |)PRIVATE KEY-----(?:\\r|\\n|\s)+(?:[A-Za-z0-9+/=:\-,\s]|\\n|\\r|\")+?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |)PRIVATE KEY-----)"##,
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
        regex: r##"(?s)(?P<secret>-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\\r|\\n|\s)+(?:[A-Za-z0-9+/=:\-,\s]|\\n|\\r)+?-----END PGP PRIVATE KEY BLOCK-----)"##,
        keywords: &["pgp private key block"],
        entropy: 0.0,
        validator: PemBody,
        examples: &[concat!("-----BEG", "IN PGP P", "RIVATE K", "EY BLOCK", "-----\nSe", "OfjgbmtZ", "N9iVU10g", "2/o6IQ3D", "FgQXCmX6", "JbIzp6Fd", "GSBdK7+S", "+3999or9", "+7JiYx\nW", "va3a2xEi", "d7qxozWJ", "5tPoOh2I", "pNruDjgC", "vy1XggC8", "fnAcUMl6", "e5hQ95xi", "0GtJL2w\n", "dxz8d/7V", "4H51KPMY", "690JJc1e", "R8HBo1ro", "WcKQUAP9", "muZ9qcEY", "KR++grtR", "9gYoNEhk", "\n9+pfdUe", "7kAYvMfs", "5gXQxeJ0", "85SjQNcE", "aPgfWLkz", "ZuL/bj8h", "obNb/g7m", "r7xtdvuR", "W\nFnWAOA", "CV/6M4+t", "NFfsNf/N", "e0c0Xu5J", "NYsIl1ve", "rxSYX+B1", "WxbCnMES", "BKWJpGBQ", "Mf\nwTESe", "ryF6nihw", "b37T/NQG", "9cH5DD1V", "9jSuTmyA", "P31tspPA", "KYK0KlrE", "tVXL4vqz", "MtT\n+5LG", "O7Y62399", "TuY6\n---", "--END PG", "P PRIVAT", "E KEY BL", "OCK-----")],
        counter: &["-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----"],
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
