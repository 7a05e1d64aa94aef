//! Licence strings from manifests, normalised to SPDX expressions with the `spdx` crate.
//!
//! Manifests hold anything from `MIT` to `MIT/Apache-2.0` (old Cargo) to `BSD` or a URL. A
//! string that canonicalises to a valid SPDX expression is written as an expression; anything
//! else is kept verbatim as a licence *name* (CycloneDX `license.name`, SPDX `LicenseRef-`),
//! never guessed.

/// A licence as a writer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Licence {
    /// A valid SPDX licence expression, canonical form.
    Expression(String),
    /// Free text that is not an SPDX expression.
    Name(String),
}

/// Normalises one licence string. Lockfiles repeat a handful of licence strings thousands
/// of times, and canonicalisation looks names up in the SPDX list, so results are memoised
/// per thread.
pub fn normalise(raw: &str) -> Licence {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, Licence>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    let raw = raw.trim();
    if let Some(hit) = CACHE.with(|c| c.borrow().get(raw).cloned()) {
        return hit;
    }
    let result = normalise_uncached(raw);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() < 10_000 {
            c.insert(raw.to_string(), result.clone());
        }
    });
    result
}

fn normalise_uncached(raw: &str) -> Licence {
    let candidate = match spdx::Expression::canonicalize(raw) {
        Ok(Some(c)) => c,
        Ok(None) => raw.to_string(),
        Err(_) => return Licence::Name(raw.to_string()),
    };
    match spdx::Expression::parse(&candidate) {
        Ok(_) => Licence::Expression(candidate),
        Err(_) => Licence::Name(raw.to_string()),
    }
}

/// The licence string stored in the model: the canonical expression, or the raw text.
pub fn canonical(raw: &str) -> String {
    match normalise(raw) {
        Licence::Expression(e) | Licence::Name(e) => e,
    }
}

/// The SPDX licence ids an expression mentions (for allow-lists); `None` for free text.
pub fn ids(expr: &str) -> Option<Vec<String>> {
    let e = spdx::Expression::parse(expr).ok()?;
    Some(
        e.requirements()
            .map(|r| r.req.license.to_string())
            .collect(),
    )
}

/// Whether the expression is satisfied by the allowed licence ids (an `OR` needs one side, an
/// `AND` needs both). Free text is never satisfied.
pub fn allowed_by(expr: &str, allow: &[String]) -> bool {
    let Ok(e) = spdx::Expression::parse(expr) else {
        return allow.iter().any(|a| a == expr);
    };
    e.evaluate(|req| {
        let id = req.license.to_string();
        allow.iter().any(|a| a.eq_ignore_ascii_case(&id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(normalise("MIT"), Licence::Expression("MIT".into()));
        assert_eq!(
            normalise("MIT/Apache-2.0"),
            Licence::Expression("MIT OR Apache-2.0".into())
        );
        assert_eq!(
            normalise("SEE LICENSE IN x"),
            Licence::Name("SEE LICENSE IN x".into())
        );
        assert!(allowed_by("MIT OR GPL-3.0-only", &["MIT".into()]));
        assert!(!allowed_by("MIT AND GPL-3.0-only", &["MIT".into()]));
    }
}
