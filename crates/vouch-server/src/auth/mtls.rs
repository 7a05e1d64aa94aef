//! RFC 8705 §3: certificate-bound access tokens. A token whose `cnf` carries `x5t#S256` is
//! accepted only over a TLS connection whose client certificate has that SHA-256 thumbprint.
//!
//! It must never: accept a bound token without a client certificate, or compare anything but
//! the thumbprint of the DER certificate the TLS layer presented on this very connection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Code};

/// `base64url(SHA-256(cert DER))`, the value of `cnf["x5t#S256"]`.
pub fn cert_thumbprint(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(cert_der))
}

/// Checks that the connection's client certificate matches the token's `x5t#S256`.
pub fn check_binding(x5t_s256: &str, client_cert: Option<&[u8]>) -> Result<(), ApiError> {
    let Some(cert) = client_cert else {
        return Err(ApiError::new(
            Code::InvalidToken,
            "the token is bound to a client certificate and the connection presented none",
        ));
    };
    let actual = cert_thumbprint(cert);
    if aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_bytes(), x5t_s256.as_bytes())
        .is_err()
    {
        return Err(ApiError::new(
            Code::InvalidToken,
            "the client certificate does not match the token's x5t#S256 binding",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding() {
        let cert = b"not really DER but bytes all the same";
        let t = cert_thumbprint(cert);
        assert!(check_binding(&t, Some(cert)).is_ok());
        assert_eq!(
            check_binding(&t, Some(b"other")).unwrap_err().code,
            Code::InvalidToken
        );
        assert_eq!(
            check_binding(&t, None).unwrap_err().code,
            Code::InvalidToken
        );
        assert_eq!(
            check_binding("", Some(cert)).unwrap_err().code,
            Code::InvalidToken
        );
    }
}
