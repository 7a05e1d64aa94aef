//! Canonical JSON (RFC 8785 JCS) for bytes that are signed or hashed.
//!
//! Object keys are sorted by UTF-16 code units, no insignificant whitespace, strings escaped
//! as JCS prescribes (serde_json's escaping already matches: `\b \f \n \r \t \" \\`, other
//! controls as lowercase `\u00xx`, everything else literal UTF-8). Limit: non-integer numbers
//! are written by serde_json's shortest round-trip form, which differs from ECMAScript for
//! exponents (`1e21` vs `1e+21`); the documents we sign carry integers and strings only.

use serde_json::{Map, Value};

/// Returns the canonical form of a JSON value.
pub fn canonicalize(v: &Value) -> Vec<u8> {
    let sorted = sort(v);
    serde_json::to_vec(&sorted).unwrap_or_default()
}

fn sort(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sort(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_compacts() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, {"z":1,"a":"\u0001é"}], "a": null }"#).unwrap();
        assert_eq!(
            String::from_utf8(canonicalize(&v)).unwrap(),
            "{\"a\":null,\"b\":[1,{\"a\":\"\\u0001é\",\"z\":1}]}"
        );
    }
}
