//! The RFC 3161 timestamp endpoint (`POST /api/v1/timestamp`, the URL a Sigstore signing
//! config lists under `tsaUrls`): sigstore-python posts a DER `TimeStampReq` with
//! `Content-Type: application/timestamp-query` and reads a DER `TimeStampResp`.
//!
//! The formats are `vouch_ca::tsa`'s; this layer only checks the HTTP envelope (content type,
//! size), picks a random serial and turns our own failures into `ApiError`s. A request that
//! reaches the TSA but is refused (malformed, unsupported hash, another policy, extensions)
//! is answered with a rejection `TimeStampResp`, which RFC 3161 §3.4 still sends as HTTP 200
//! with `application/timestamp-reply`: [`TsaService::timestamp`] returns those bytes as `Ok`.

use vouch_ca::tsa::{self, TsaKeys};

use crate::error::{ApiError, Code};

/// The request media type (RFC 3161 §3.4).
pub const QUERY_CONTENT_TYPE: &str = "application/timestamp-query";
/// The response media type, for granted and rejected answers alike.
pub const REPLY_CONTENT_TYPE: &str = "application/timestamp-reply";
/// The largest request body accepted: a `TimeStampReq` with a SHA-512 imprint and a long
/// nonce is about 100 bytes, so this only bounds the work a client can cause.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The timestamp authority behind the endpoint.
#[derive(Debug, Clone)]
pub struct TsaService {
    keys: TsaKeys,
}

impl TsaService {
    /// A service signing with `keys` (checked by `TsaKeys::new` when they were loaded).
    pub fn new(keys: TsaKeys) -> Self {
        TsaService { keys }
    }

    /// Answers one request: the DER `TimeStampResp` (granted, or a rejection with its
    /// `failInfo`) to send with status 200 and [`REPLY_CONTENT_TYPE`].
    ///
    /// Errors: a content type other than [`QUERY_CONTENT_TYPE`] (parameters ignored) is
    /// `invalid_request`, a body over [`MAX_REQUEST_BYTES`] is `payload_too_large`, and a
    /// failure of the TSA itself (key, certificates, randomness) is `internal`: nothing was
    /// signed.
    pub fn timestamp(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        now: jiff::Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let media_type = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if !media_type.eq_ignore_ascii_case(QUERY_CONTENT_TYPE) {
            return Err(ApiError::new(
                Code::InvalidRequest,
                format!("the request must be a DER TimeStampReq sent as {QUERY_CONTENT_TYPE}"),
            ));
        }
        if body.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!("a timestamp request is at most {MAX_REQUEST_BYTES} bytes"),
            ));
        }
        let serial = tsa::random_serial().map_err(|e| ApiError::internal(e.to_string()))?;
        tsa::timestamp(&self.keys, body, now, serial).map_err(|e| ApiError::internal(e.to_string()))
    }

    /// The TSA's certificate chain as PEM, TSA certificate first (for a trusted root's
    /// `timestampAuthorities` and a `GET …/timestamp/certchain` endpoint).
    pub fn chain_pem(&self) -> Vec<String> {
        self.keys.chain_pem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn service() -> TsaService {
        let (keys, _root) = tsa::generate_dev_tsa(jiff::Timestamp::now()).unwrap();
        TsaService::new(keys)
    }

    /// A DER `TimeStampReq` v1 over SHA-256("sig") with certReq (what sigstore-python sends,
    /// less the nonce).
    fn query() -> Vec<u8> {
        let mut imprint = vec![
            0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x04, 0x20,
        ];
        imprint.extend_from_slice(&sha2::Sha256::digest(b"sig"));
        let mut body = vec![0x02, 0x01, 0x01];
        body.extend_from_slice(&imprint);
        body.extend_from_slice(&[0x01, 0x01, 0xff]);
        let mut req = vec![0x30, body.len() as u8];
        req.extend_from_slice(&body);
        req
    }

    /// The PKIStatus of a DER `TimeStampResp`: SEQUENCE { SEQUENCE { INTEGER status …
    fn status(resp: &[u8]) -> u8 {
        // Skips a tag and a definite length (short or long form).
        let skip = |at: usize| {
            let l = resp[at + 1];
            at + 2
                + if l & 0x80 != 0 {
                    (l & 0x7f) as usize
                } else {
                    0
                }
        };
        let inner = skip(0);
        let int = skip(inner);
        assert_eq!(&resp[int..int + 2], &[0x02, 0x01]);
        resp[int + 2]
    }

    #[test]
    fn grants_a_well_formed_query() {
        let s = service();
        let resp = s
            .timestamp(
                Some("application/timestamp-query"),
                &query(),
                jiff::Timestamp::now(),
            )
            .unwrap();
        assert_eq!(status(&resp), 0, "granted");
        assert_eq!(s.chain_pem().len(), 2);
    }

    #[test]
    fn envelope_errors_and_rejections() {
        let s = service();
        let now = jiff::Timestamp::now();
        for ct in [
            None,
            Some("application/json"),
            Some("application/octet-stream"),
        ] {
            let e = s.timestamp(ct, &query(), now).unwrap_err();
            assert_eq!(e.code, Code::InvalidRequest);
        }
        // Parameters and case are ignored.
        assert!(
            s.timestamp(Some("Application/Timestamp-Query; x=y"), &query(), now)
                .is_ok()
        );
        let big = vec![0u8; MAX_REQUEST_BYTES + 1];
        let e = s
            .timestamp(Some(QUERY_CONTENT_TYPE), &big, now)
            .unwrap_err();
        assert_eq!(e.code, Code::PayloadTooLarge);
        // A malformed request is answered, with a rejection (status 2).
        let resp = s
            .timestamp(Some(QUERY_CONTENT_TYPE), b"garbage", now)
            .unwrap();
        assert_eq!(status(&resp), 2, "rejection");
    }
}
