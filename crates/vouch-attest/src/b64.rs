//! proto3-JSON scalar encodings: `bytes` as base64, `int64` as decimal strings.
//!
//! Writing uses standard padded base64 and strings for int64, as protobuf's JSON mapping
//! prescribes. Reading is as lenient as proto3 JSON parsers are: standard or URL-safe
//! base64, with or without padding; int64 as a string or a number.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        if let Ok(v) = engine.decode(s) {
            return Some(v);
        }
    }
    None
}

/// Encodes standard padded base64.
pub fn encode(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// A proto3 `bytes` field.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({})", encode(&self.0))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s)
            .map(Bytes)
            .ok_or_else(|| de::Error::custom("invalid base64"))
    }
}

/// A proto3 `int64`/`uint64` field (written as a decimal string).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Int64(pub i64);

impl Serialize for Int64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Int64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(i64),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(Int64(n)),
            Either::S(s) => s
                .parse()
                .map(Int64)
                .map_err(|_| de::Error::custom(format!("`{s}` is not an int64"))),
        }
    }
}
