//! Credentials that users put into references, removed before any text reaches a terminal or
//! a log: a PKCS#11 URI's `pin-value` (RFC 7512) and the `user:password@` of a URL.
//!
//! [`crate::InputError`]'s `Display` applies [`credentials`] to the file, message and hint, so
//! every bad-input error is covered in one place; the CLI applies it to other errors too.

use std::borrow::Cow;

/// What a removed credential is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Characters that end a value inside a longer message.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '&' | ';' | '`' | '\'' | '"' | ')' | '>' | ',')
}

/// `text` with every `pin-value=…` value and every URL user-info replaced by [`REDACTED`].
pub fn credentials(text: &str) -> Cow<'_, str> {
    if !text.contains("pin-value=") && !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let pin = rest.find("pin-value=").map(|i| (i, true));
        let url = rest.find("://").map(|i| (i, false));
        let next = match (pin, url) {
            (Some(p), Some(u)) => Some(if p.0 <= u.0 { p } else { u }),
            (p, u) => p.or(u),
        };
        let Some((at, is_pin)) = next else {
            out.push_str(rest);
            break;
        };
        if is_pin {
            let start = at + "pin-value=".len();
            out.push_str(&rest[..start]);
            let value_len = rest[start..].find(ends_value).unwrap_or(rest.len() - start);
            if value_len > 0 {
                out.push_str(REDACTED);
            }
            rest = &rest[start + value_len..];
        } else {
            let start = at + "://".len();
            out.push_str(&rest[..start]);
            let authority_len = rest[start..]
                .find(|c: char| ends_value(c) || matches!(c, '/' | '?' | '#'))
                .unwrap_or(rest.len() - start);
            let authority = &rest[start..start + authority_len];
            match authority.rfind('@') {
                Some(userinfo_len) if userinfo_len > 0 => {
                    out.push_str(REDACTED);
                    out.push_str(&authority[userinfo_len..]);
                }
                _ => out.push_str(authority),
            }
            rest = &rest[start + authority_len..];
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_values_are_removed() {
        assert_eq!(
            credentials("pkcs11:object=x?pin-value=1234&module-path=/m.so: cannot load"),
            "pkcs11:object=x?pin-value=REDACTED&module-path=/m.so: cannot load"
        );
        assert_eq!(
            credentials("bad `pkcs11:object=x;pin-value=s3cr%20t` here"),
            "bad `pkcs11:object=x;pin-value=REDACTED` here"
        );
        assert_eq!(credentials("pin-value="), "pin-value=");
    }

    #[test]
    fn url_userinfo_is_removed() {
        assert_eq!(
            credentials("cannot fetch https://alice:hunter2@registry.example/v2/x: 401"),
            "cannot fetch https://REDACTED@registry.example/v2/x: 401"
        );
        assert_eq!(
            credentials("postgres://u:p@db:5432/vouch and redis://:pw@cache"),
            "postgres://REDACTED@db:5432/vouch and redis://REDACTED@cache"
        );
        assert_eq!(
            credentials("https://ghp_token@github.example/o/r.git"),
            "https://REDACTED@github.example/o/r.git"
        );
    }

    #[test]
    fn other_text_is_untouched() {
        for t in [
            "a.yaml:3: bad",
            "see https://example.org/docs?a=b@c",
            "mail a@example.com",
            "://",
        ] {
            assert_eq!(credentials(t), t);
        }
    }

    proptest::proptest! {
        #[test]
        fn secrets_never_survive(pw in "[A-Za-z0-9%!$*+.~_-]{1,20}", host in "[a-z]{1,10}") {
            proptest::prop_assume!(pw != REDACTED);
            let s = format!("x https://user:{pw}@{host}/p and pkcs11:object=k?pin-value={pw}&a=b");
            let r = credentials(&s);
            proptest::prop_assert!(!r.contains(&format!(":{pw}@")), "{}", r);
            // Delimited: a one-letter secret like `R` is a prefix of the `REDACTED` marker.
            proptest::prop_assert!(!r.contains(&format!("pin-value={pw}&")), "{}", r);
        }

        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = credentials(&s);
        }
    }
}
