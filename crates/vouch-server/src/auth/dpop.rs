//! DPoP proofs (RFC 9449 §4.3): the checks that bind a request to the key the client holds.
//! The proof is a JWS we parse ourselves (header and key checks), whose signature is
//! verified by `jsonwebtoken` with the public key carried in its own header.
//!
//! What this file checks: one JWS of three parts, `typ` = `dpop+jwt`, an allowed asymmetric
//! `alg`, a public-only `jwk` of the type the `alg` needs, the signature, `jti`, `htm`, `htu`
//! (both sides normalised per RFC 3986 §6.2.2/§6.2.3), `iat` within the window and `ath`.
//! Nonce, replay and the token's `cnf.jkt` are the authenticator's (they need state).
//!
//! It must never: accept `none` or an HMAC algorithm, a `jwk` carrying private members,
//! a proof for another method or URL, or panic on hostile input; nor echo the proof or the
//! access token in an error.

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Code};

/// The largest proof looked at, in bytes (an RSA-4096 proof is about 1.5 KiB).
const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;
/// JWK members that only a private (or symmetric) key has (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof that passed the stateless checks tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// RFC 7638 SHA-256 thumbprint of the proof's public key.
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
    pub nonce: Option<String>,
}

/// The request the proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    pub method: &'a Method,
    /// The external URL of the request (`scheme://host[:port]/path[?query]`).
    pub url: &'a str,
    /// The access token sent with the request, for `ath`.
    pub access_token: Option<&'a str>,
    pub algorithms: &'a [Algorithm],
    pub iat_window_seconds: u64,
    pub now: u64,
}

fn bad(message: &str) -> ApiError {
    ApiError::new(Code::InvalidDpopProof, message)
}

/// `true` for the algorithms a proof or token may never use (symmetric).
pub(crate) fn is_symmetric(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Parses a JOSE `alg` value; `none`, unknown and symmetric algorithms give `None`.
pub(crate) fn asymmetric_alg(value: Option<&Value>) -> Option<Algorithm> {
    let s = value?.as_str()?;
    let alg: Algorithm = serde_json::from_value(Value::String(s.to_owned())).ok()?;
    (!is_symmetric(alg)).then_some(alg)
}

/// Decodes the protected header of a compact JWS as a JSON object, checking the shape.
pub(crate) fn jws_header(jws: &str) -> Option<Map<String, Value>> {
    let mut parts = jws.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || p.is_empty() || s.is_empty() {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(h).ok()?;
    match serde_json::from_slice::<Value>(&raw).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Verifies the signature of a compact JWS with `key` and `alg` and returns its claims as
/// a JSON object. No claim is validated here: time and audience checks are the caller's,
/// done against the request's own clock.
pub(crate) fn verify_jws(
    jws: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Option<Map<String, Value>> {
    let mut v = Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.leeway = 0;
    match jsonwebtoken::decode::<Value>(jws, key, &v).ok()?.claims {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn str_member<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    m.get(name).and_then(Value::as_str)
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK given as JSON. Only the
/// required members of its `kty` take part, in lexicographic order.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, &'static str> {
    let q = |name: &str| -> Result<String, &'static str> {
        let s = str_member(jwk, name).ok_or("the jwk misses a required member")?;
        serde_json::to_string(s).map_err(|_| "the jwk cannot be serialised")
    };
    let kty = str_member(jwk, "kty").ok_or("the jwk has no kty")?;
    let canonical = match kty {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            q("crv")?,
            q("x")?,
            q("y")?
        ),
        "RSA" => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, q("e")?, q("n")?),
        "OKP" => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, q("crv")?, q("x")?),
        _ => return Err("the jwk's kty is not a public key type"),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// The public key a proof header's `jwk` describes, after checking it is public only and
/// of the type `alg` needs.
fn proof_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<DecodingKey, ApiError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(bad("the proof's jwk carries private key material"));
    }
    let kty = str_member(jwk, "kty").unwrap_or("");
    let crv = str_member(jwk, "crv").unwrap_or("");
    let member = |n: &str| str_member(jwk, n).ok_or_else(|| bad("the proof's jwk is incomplete"));
    let wrong = || bad("the proof's jwk does not fit its alg");
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            let want = if alg == Algorithm::ES256 {
                "P-256"
            } else {
                "P-384"
            };
            if kty != "EC" || crv != want {
                return Err(wrong());
            }
            DecodingKey::from_ec_components(member("x")?, member("y")?)
        }
        Algorithm::EdDSA => {
            if kty != "OKP" || crv != "Ed25519" {
                return Err(wrong());
            }
            DecodingKey::from_ed_components(member("x")?)
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            if kty != "RSA" {
                return Err(wrong());
            }
            DecodingKey::from_rsa_components(member("n")?, member("e")?)
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return Err(wrong()),
    };
    key.map_err(|_| bad("the proof's jwk is not a usable key"))
}

/// `base64url(SHA-256(token))`, the `ath` claim.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// All stateless checks of RFC 9449 §4.3 on one proof.
pub fn verify_proof(proof: &str, req: &ProofRequest<'_>) -> Result<VerifiedProof, ApiError> {
    if proof.is_empty() || proof.len() > MAX_PROOF_LEN {
        return Err(bad("the DPoP proof is empty or too large"));
    }
    let header = jws_header(proof).ok_or_else(|| bad("the DPoP proof is not a compact JWS"))?;
    match str_member(&header, "typ") {
        Some(t) if t.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(bad("the DPoP proof's typ is not dpop+jwt")),
    }
    let alg = asymmetric_alg(header.get("alg"))
        .ok_or_else(|| bad("the DPoP proof's alg is none, symmetric or unknown"))?;
    if !req.algorithms.contains(&alg) {
        return Err(bad("the DPoP proof's alg is not allowed"));
    }
    if header.contains_key("crit") {
        return Err(bad("the DPoP proof has critical header parameters"));
    }
    let jwk = match header.get("jwk") {
        Some(Value::Object(j)) => j,
        _ => return Err(bad("the DPoP proof has no jwk header")),
    };
    let key = proof_key(jwk, alg)?;
    let jkt = jwk_thumbprint(jwk).map_err(bad)?;
    let claims = verify_jws(proof, &key, alg)
        .ok_or_else(|| bad("the DPoP proof's signature does not verify"))?;

    let jti = str_member(&claims, "jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| bad("the DPoP proof has no usable jti"))?;
    if str_member(&claims, "htm") != Some(req.method.as_str()) {
        return Err(bad(
            "the DPoP proof's htm does not match the request method",
        ));
    }
    let htu = str_member(&claims, "htu").ok_or_else(|| bad("the DPoP proof has no htu"))?;
    let want = normalize_htu(req.url).map_err(|_| {
        ApiError::internal("the request URL cannot be normalised for the DPoP check")
    })?;
    match normalize_htu(htu) {
        Ok(got) if got == want => {}
        _ => return Err(bad("the DPoP proof's htu does not match the request URL")),
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("the DPoP proof has no usable iat"))?;
    if iat.abs_diff(req.now) > req.iat_window_seconds {
        return Err(bad("the DPoP proof's iat is outside the accepted window"));
    }
    if let Some(token) = req.access_token {
        let ath = str_member(&claims, "ath").ok_or_else(|| bad("the DPoP proof has no ath"))?;
        let want = access_token_hash(token);
        if aws_lc_rs::constant_time::verify_slices_are_equal(ath.as_bytes(), want.as_bytes())
            .is_err()
        {
            return Err(bad("the DPoP proof's ath does not match the access token"));
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(bad("the DPoP proof's nonce is not a string")),
    };
    Ok(VerifiedProof {
        jkt,
        jti: jti.to_owned(),
        iat,
        nonce,
    })
}

/// A URL that cannot take part in the `htu` comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUrl;

impl std::fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not an absolute http(s) URL without userinfo")
    }
}

impl std::error::Error for InvalidUrl {}

/// Normalises an `http`/`https` URL for the `htu` comparison (RFC 9449 §4.3 item 9, RFC 3986
/// §6.2.2 and §6.2.3): scheme and host lowercased, default port and empty port removed,
/// empty path made `/`, percent-encodings uppercased and unreserved ones decoded, dot
/// segments removed, query and fragment dropped. Userinfo is refused.
pub fn normalize_htu(url: &str) -> Result<String, InvalidUrl> {
    if url.len() > 8 * 1024 || url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(InvalidUrl);
    }
    let (scheme, rest) = url.split_once("://").ok_or(InvalidUrl)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(InvalidUrl),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') || authority.is_empty() {
        return Err(InvalidUrl);
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let close = stripped.find(']').ok_or(InvalidUrl)?;
        let (h, after) = stripped.split_at(close);
        let after = &after[1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(InvalidUrl),
        };
        (format!("[{}]", h.to_ascii_lowercase()), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        }
    };
    let bad_host = if host.starts_with('[') {
        host == "[]"
    } else {
        host.is_empty() || host.contains(['%', '[', ']'])
    };
    if bad_host {
        return Err(InvalidUrl);
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvalidUrl);
            }
            let n: u32 = p.parse().map_err(|_| InvalidUrl)?;
            if n == 0 || n > 65_535 {
                return Err(InvalidUrl);
            }
            (n != default_port).then_some(n)
        }
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = normalize_percent(&tail[..path_end])?;
    let path = remove_dot_segments(if path.is_empty() { "/" } else { &path });
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}{path}"),
        None => format!("{scheme}://{host}{path}"),
    })
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2: uppercase hex digits, decode unreserved characters.
fn normalize_percent(path: &str) -> Result<String, InvalidUrl> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(InvalidUrl)?;
            let s = std::str::from_utf8(hex).map_err(|_| InvalidUrl)?;
            let v = u8::from_str_radix(s, 16).map_err(|_| InvalidUrl)?;
            if is_unreserved(v) {
                out.push(char::from(v));
            } else {
                out.push('%');
                out.push_str(&s.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let ch = path[i..].chars().next().ok_or(InvalidUrl)?;
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    while !input.is_empty() {
        if let Some(r) = input.strip_prefix("../") {
            input = r;
        } else if let Some(r) = input.strip_prefix("./") {
            input = r;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            output.pop();
        } else if input == "/.." {
            input = "/";
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..]
                .find('/')
                .map(|i| i + start)
                .unwrap_or(input.len());
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation() {
        let n = |s: &str| normalize_htu(s).unwrap();
        assert_eq!(
            n("HTTPS://Signer.Example.COM/v1/sign"),
            "https://signer.example.com/v1/sign"
        );
        assert_eq!(n("https://h:443/a"), "https://h/a");
        assert_eq!(n("http://h:80/a"), "http://h/a");
        assert_eq!(n("https://h:8443/a"), "https://h:8443/a");
        assert_eq!(n("https://h:/a"), "https://h/a");
        assert_eq!(n("https://h:00443/a"), "https://h/a");
        assert_eq!(n("https://h/a?x=1#frag"), "https://h/a");
        assert_eq!(n("https://h/a#frag"), "https://h/a");
        assert_eq!(n("https://h"), "https://h/");
        assert_eq!(n("https://h?q"), "https://h/");
        assert_eq!(n("https://h/%7euser/%2f"), "https://h/~user/%2F");
        assert_eq!(n("https://h/a/./b/../c"), "https://h/a/c");
        assert_eq!(n("https://[::1]:443/x"), "https://[::1]/x");
        assert_eq!(n("https://[::1]:9/x"), "https://[::1]:9/x");
        // The path keeps its case.
        assert_ne!(n("https://h/A"), n("https://h/a"));
        for bad in [
            "ftp://h/",
            "https://user@h/",
            "https:///x",
            "https://h:99999/",
            "https://h:0/",
            "https://h:x/",
            "h/x",
            "https://h/a b",
            "https://h/%zz",
            "https://h/%4",
            "https://[::1/",
        ] {
            assert!(normalize_htu(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thumbprint_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk: Value = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let oct = serde_json::json!({"kty": "oct", "k": "AAAA"});
        assert!(jwk_thumbprint(oct.as_object().unwrap()).is_err());
    }
}
