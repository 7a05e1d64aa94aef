//! Content digests of subjects (artifacts, images, files), as `algorithm:hex`.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm vouch speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha512 => 128,
        }
    }
}

/// A digest of some bytes: algorithm plus raw value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    pub algorithm: DigestAlgorithm,
    pub value: Vec<u8>,
}

impl Digest {
    /// SHA-256 of a byte slice.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: DigestAlgorithm::Sha256,
            value: Sha256::digest(bytes).to_vec(),
        }
    }

    /// Hashes a reader in 64 KiB chunks: constant memory for files of any size.
    pub fn of_reader(algorithm: DigestAlgorithm, mut reader: impl Read) -> io::Result<Digest> {
        let mut buf = vec![0u8; 64 * 1024];
        let value = match algorithm {
            DigestAlgorithm::Sha256 => {
                let mut h = Sha256::new();
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                h.finalize().to_vec()
            }
            DigestAlgorithm::Sha512 => {
                let mut h = Sha512::new();
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                h.finalize().to_vec()
            }
        };
        Ok(Digest { algorithm, value })
    }

    /// Lowercase hex of the value.
    pub fn hex(&self) -> String {
        hex::encode(&self.value)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex())
    }
}

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestParseError {
    #[error("`{0}` is not of the form sha256:<64 hex digits> or sha512:<128 hex digits>")]
    Form(String),
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DigestParseError::Form(s.to_string());
        let (alg, hex_value) = s.split_once(':').ok_or_else(err)?;
        let algorithm = match alg {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            _ => return Err(err()),
        };
        if hex_value.len() != algorithm.hex_len()
            || !hex_value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        let value = hex::decode(hex_value).map_err(|_| err())?;
        Ok(Digest { algorithm, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_streaming() {
        let d = Digest::sha256(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d.clone()));
        let streamed = Digest::of_reader(DigestAlgorithm::Sha256, &b"abc"[..]).unwrap();
        assert_eq!(streamed, d);
        assert!("sha256:ABC".parse::<Digest>().is_err());
        assert!("md5:00".parse::<Digest>().is_err());
    }
}
