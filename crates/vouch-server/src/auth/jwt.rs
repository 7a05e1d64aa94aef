//! OpTok verification: the access token's signature (by the JWKS key its `kid` names, with
//! that key's own algorithm), then its claims against the request's clock: `iss` exact, `aud`
//! containing ours, `exp`/`nbf`/`iat` with leeway, the needed `scope`, the tenant claim, and
//! the confirmation (`cnf`) the sender constraint is checked against.
//!
//! It must never: accept `alg: none`, an HMAC algorithm, a token without `kid`, `exp` or
//! tenant, a DPoP proof passed off as a token (`typ: dpop+jwt`), or put the token in an error.
//!
//! A CI job sends the same token with every request, so a token whose signature and fixed
//! claims verified is remembered ([`VerifiedTokens`], by its SHA-256): a later request skips
//! the signature check but not the clock (`exp`/`nbf`/`iat` are checked every time) nor the key
//! (the `kid` must still be published by the key source, so a key rotated out of the JWKS stops
//! its tokens at once).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::dpop::{asymmetric_alg, jws_header, verify_jws};
use super::jwks::KeySource;
use crate::error::{ApiError, Code};

/// The largest token looked at, in bytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What the token must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct TokenRules<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub scope: &'a str,
    pub tenant_claim: &'a str,
    pub leeway_seconds: u64,
}

/// The verified claims of an OpTok.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub subject: String,
    pub tenant: String,
    pub scopes: Vec<String>,
    pub jti: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// `cnf.jkt`: the token is bound to a DPoP key.
    pub cnf_jkt: Option<String>,
    /// `cnf["x5t#S256"]`: the token is bound to a client certificate.
    pub cnf_x5t_s256: Option<String>,
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(Code::InvalidToken, message)
}

/// A NumericDate (RFC 7519 §2): a non-negative number, fractions dropped.
fn numeric_date(v: Option<&Value>) -> Result<Option<u64>, ApiError> {
    match v {
        None => Ok(None),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(Some(n));
            }
            match v.as_f64() {
                Some(f) if (0.0..1.0e15).contains(&f) => Ok(Some(f as u64)),
                _ => Err(invalid("the token has a malformed time claim")),
            }
        }
    }
}

/// A claim that is a string or an array of strings (`aud`, `scope`, `amr`).
fn string_list(v: Option<&Value>, split_spaces: bool) -> Result<Vec<String>, ()> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if split_spaces => {
            Ok(s.split_ascii_whitespace().map(str::to_owned).collect())
        }
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).ok_or(()))
            .collect(),
        Some(_) => Err(()),
    }
}

fn opt_string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid("the token has a malformed claim")),
    }
}

/// Verifies an OpTok at time `now` (unix seconds).
pub async fn verify_optok(
    token: &str,
    keys: &KeySource,
    rules: &TokenRules<'_>,
    now: u64,
    verified: &VerifiedTokens,
) -> Result<TokenClaims, ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the access token is empty or too large"));
    }
    let id: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(hit) = verified.get(&id) {
        let key = keys.key(&hit.kid).await?;
        if !key.allows(hit.alg) {
            return Err(invalid("the access token's alg is not its key's"));
        }
        hit.times.check(now, rules.leeway_seconds)?;
        return Ok(hit.claims);
    }
    let (claims, kid, alg, times) = verify_uncached(token, keys, rules, now).await?;
    verified.put(
        id,
        Verified {
            kid,
            alg,
            times,
            claims: claims.clone(),
        },
    );
    Ok(claims)
}

/// The token's time claims, checked against the request's clock on every use.
#[derive(Debug, Clone, Copy)]
struct Times {
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
}

impl Times {
    fn check(&self, now: u64, leeway: u64) -> Result<(), ApiError> {
        if self.exp.saturating_add(leeway) <= now {
            return Err(invalid("the access token has expired"));
        }
        if let Some(nbf) = self.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(invalid("the access token is not yet valid"));
        }
        if let Some(iat) = self.iat
            && iat > now.saturating_add(leeway)
        {
            return Err(invalid("the access token was issued in the future"));
        }
        Ok(())
    }
}

/// What a verified token left behind: everything but its clock checks.
#[derive(Debug, Clone)]
struct Verified {
    kid: String,
    alg: jsonwebtoken::Algorithm,
    times: Times,
    claims: TokenClaims,
}

/// Tokens already verified, by SHA-256 of the token (never the token itself). Bounded: when
/// full, entries past their `exp` go first, then everything (a refill costs one signature
/// check per token).
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<[u8; 32], Verified>>,
}

/// Most tokens remembered at once.
const MAX_VERIFIED: usize = 4096;

impl VerifiedTokens {
    fn get(&self, id: &[u8; 32]) -> Option<Verified> {
        self.map.lock().ok()?.get(id).cloned()
    }

    fn put(&self, id: [u8; 32], v: Verified) {
        let Ok(mut map) = self.map.lock() else { return };
        if map.len() >= MAX_VERIFIED {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            map.retain(|_, v| v.times.exp > now);
            if map.len() >= MAX_VERIFIED {
                map.clear();
            }
        }
        map.insert(id, v);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The full check: header, key, signature, then every claim.
async fn verify_uncached(
    token: &str,
    keys: &KeySource,
    rules: &TokenRules<'_>,
    now: u64,
) -> Result<(TokenClaims, String, jsonwebtoken::Algorithm, Times), ApiError> {
    let header = jws_header(token).ok_or_else(|| invalid("the access token is not a JWS"))?;
    if let Some(typ) = header.get("typ") {
        match typ.as_str() {
            Some(t) if t.eq_ignore_ascii_case("dpop+jwt") => {
                return Err(invalid("a DPoP proof is not an access token"));
            }
            Some(_) => {}
            None => return Err(invalid("the access token has a malformed typ")),
        }
    }
    let alg = asymmetric_alg(header.get("alg"))
        .ok_or_else(|| invalid("the access token's alg is none, symmetric or unknown"))?;
    if header.contains_key("crit") {
        return Err(invalid("the access token has critical header parameters"));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the access token names no key (kid)"))?;
    let key = keys.key(kid).await?;
    if !key.allows(alg) {
        return Err(invalid("the access token's alg is not its key's"));
    }
    let claims = verify_jws(token, key.decoding_key(), alg)
        .ok_or_else(|| invalid("the access token's signature does not verify"))?;

    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(invalid("the access token is from another issuer"));
    }
    let aud = string_list(claims.get("aud"), false)
        .map_err(|_| invalid("the access token has a malformed aud"))?;
    if !aud.iter().any(|a| a == rules.audience) {
        return Err(invalid("the access token is not for this audience"));
    }
    let times = Times {
        exp: numeric_date(claims.get("exp"))?
            .ok_or_else(|| invalid("the access token has no exp"))?,
        nbf: numeric_date(claims.get("nbf"))?,
        iat: numeric_date(claims.get("iat"))?,
    };
    times.check(now, rules.leeway_seconds)?;
    let subject = opt_string(&claims, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("the access token has no subject"))?;
    let scopes = string_list(claims.get("scope"), true)
        .map_err(|_| invalid("the access token has a malformed scope"))?;
    if !scopes.iter().any(|s| s == rules.scope) {
        return Err(ApiError::new(
            Code::InsufficientScope,
            format!("the access token lacks the scope {}", rules.scope),
        ));
    }
    let tenant = opt_string(&claims, rules.tenant_claim)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("the access token names no tenant"))?;
    let amr = string_list(claims.get("amr"), false)
        .map_err(|_| invalid("the access token has a malformed amr"))?;
    let (cnf_jkt, cnf_x5t_s256) = match claims.get("cnf") {
        None => (None, None),
        Some(Value::Object(cnf)) => (opt_string(cnf, "jkt")?, opt_string(cnf, "x5t#S256")?),
        Some(_) => return Err(invalid("the access token has a malformed cnf")),
    };
    let claims = TokenClaims {
        subject,
        tenant,
        scopes,
        jti: opt_string(&claims, "jti")?,
        acr: opt_string(&claims, "acr")?,
        amr,
        cnf_jkt,
        cnf_x5t_s256,
    };
    Ok((claims, kid.to_owned(), alg, times))
}
