//! JSON: the [`Report`] serialized as documented in `docs/json-schema.md` (schema version 1).

use vouch_core::Report;

/// Pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> Vec<u8> {
    // Serializing plain data structures with string keys cannot fail.
    let mut out = serde_json::to_vec_pretty(report).unwrap_or_default();
    out.push(b'\n');
    out
}
