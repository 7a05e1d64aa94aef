//! (owned by the signing-core work: issue 4)
//! Keys held in an HSM, through PKCS#11 (`cryptoki`), named by RFC 7512 URIs.
//!
//! Supported URI attributes: path part `token`, `object`, `id` (percent-encoded bytes),
//! `serial`, `slot-id`, `type` (must be `private` if given); query part `module-path` and
//! `pin-value`. Unknown path attributes are an error (a typo must not select another key);
//! unknown query attributes are ignored, as RFC 7512 §2.4 allows.
//!
//! Only ECDSA keys (P-256, P-384) are supported on tokens: the token signs the digest
//! (`CKM_ECDSA`), and the raw `r||s` it returns is re-encoded as ASN.1 DER so signatures look
//! the same as file-key signatures. The public key is read from the token's public-key object
//! with the same label/id (`CKA_EC_PARAMS`, `CKA_EC_POINT`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::keys::{KeyError, Prehash, PublicKey};
use crate::signer::{SecretInputs, Signer};

/// Where SoftHSM2 and other common modules are installed on Debian-like systems; tried in
/// order when neither the URI nor the caller names a module.
pub const DEFAULT_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A parsed `pkcs11:` URI (RFC 7512). `pin-value` is kept out of `Debug`/`Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token=` (token label).
    pub token: Option<String>,
    /// `object=` (object label, CKA_LABEL).
    pub object: Option<String>,
    /// `id=` (CKA_ID bytes).
    pub id: Option<Vec<u8>>,
    /// `serial=` (token serial number).
    pub serial: Option<String>,
    /// `slot-id=`.
    pub slot_id: Option<u64>,
    /// `?module-path=`.
    pub module_path: Option<PathBuf>,
    pin_value: Option<Zeroizing<String>>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11Uri({self})")
    }
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token={}", pct_encode(t.as_bytes())));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object={}", pct_encode(o.as_bytes())));
        }
        if let Some(i) = &self.id {
            parts.push(format!(
                "id={}",
                i.iter().map(|b| format!("%{b:02x}")).collect::<String>()
            ));
        }
        if let Some(s) = &self.serial {
            parts.push(format!("serial={}", pct_encode(s.as_bytes())));
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot-id={s}"));
        }
        write!(f, "pkcs11:{}", parts.join(";"))?;
        if let Some(m) = &self.module_path {
            write!(f, "?module-path={}", m.display())?;
        }
        Ok(())
    }
}

fn pct_encode(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

fn pct_decode(s: &str) -> Result<Vec<u8>, KeyError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| KeyError::BadReference(format!("bad percent-encoding in `{s}`")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

impl Pkcs11Uri {
    /// Parses `pkcs11:path-attrs[?query-attrs]`.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| KeyError::BadReference("a PKCS#11 URI starts with `pkcs11:`".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri {
            token: None,
            object: None,
            id: None,
            serial: None,
            slot_id: None,
            module_path: None,
            pin_value: None,
        };
        let text = |v: &str| {
            String::from_utf8(pct_decode(v)?)
                .map_err(|_| KeyError::BadReference("PKCS#11 URI value is not UTF-8".into()))
        };
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').ok_or_else(|| {
                KeyError::BadReference(format!("PKCS#11 URI attribute `{attr}` has no `=`"))
            })?;
            match k {
                "token" => uri.token = Some(text(v)?),
                "object" => uri.object = Some(text(v)?),
                "id" => uri.id = Some(pct_decode(v)?),
                "serial" => uri.serial = Some(text(v)?),
                "slot-id" => {
                    uri.slot_id = Some(v.parse().map_err(|_| {
                        KeyError::BadReference(format!("PKCS#11 slot-id `{v}` is not a number"))
                    })?)
                }
                "type" => {
                    if v != "private" {
                        return Err(KeyError::BadReference(format!(
                            "PKCS#11 URI type `{v}`: signing needs type=private"
                        )));
                    }
                }
                "manufacturer"
                | "model"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => {
                    return Err(KeyError::BadReference(format!(
                        "unknown PKCS#11 URI attribute `{other}`"
                    )));
                }
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            match k {
                "module-path" => uri.module_path = Some(PathBuf::from(text(v)?)),
                "pin-value" => uri.pin_value = Some(Zeroizing::new(text(v)?)),
                _ => {}
            }
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(KeyError::BadReference(
                "a PKCS#11 key URI needs `object=` (label) or `id=`".into(),
            ));
        }
        Ok(uri)
    }
}

/// An ECDSA key on a PKCS#11 token.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    public: PublicKey,
    _ctx: Pkcs11,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}

pub(crate) fn p11(what: &str) -> impl Fn(cryptoki::error::Error) -> KeyError + '_ {
    move |e| KeyError::Pkcs11(format!("{what}: {e}"))
}

/// Loads the module a URI (or the caller) names, finds the token, opens a session and logs in
/// as the user. Shared by the signer and the seal key-encryption key; `read_write` is needed
/// to create objects.
pub(crate) fn open_session(
    uri: &Pkcs11Uri,
    secrets: &SecretInputs,
    read_write: bool,
) -> Result<(Pkcs11, Session), KeyError> {
    let module = uri
        .module_path
        .clone()
        .or_else(|| secrets.pkcs11_module.clone())
        .or_else(|| {
            DEFAULT_MODULES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .ok_or_else(|| {
            KeyError::Pkcs11(
                "no PKCS#11 module: add ?module-path=… to the URI (SoftHSM2 was not found)".into(),
            )
        })?;
    let ctx = Pkcs11::new(&module)
        .map_err(|e| KeyError::Pkcs11(format!("cannot load {}: {e}", module.display())))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(p11("initialize"))?;
    let mut chosen = None;
    for slot in ctx.get_slots_with_token().map_err(p11("list slots"))? {
        if let Some(id) = uri.slot_id
            && slot.id() != id
        {
            continue;
        }
        let info = ctx.get_token_info(slot).map_err(p11("token info"))?;
        if let Some(t) = &uri.token
            && info.label().trim_end() != t
        {
            continue;
        }
        if let Some(s) = &uri.serial
            && info.serial_number().trim_end() != s
        {
            continue;
        }
        chosen = Some(slot);
        break;
    }
    let slot = chosen.ok_or_else(|| KeyError::Pkcs11(format!("no token matches {uri}")))?;
    let session = if read_write {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(p11("open session"))?;
    let pin = uri
        .pin_value
        .as_ref()
        .or(secrets.pkcs11_pin.as_ref())
        .ok_or_else(|| {
            KeyError::Pkcs11("no PIN: set VOUCH_PKCS11_PIN (or pin-value in the URI)".into())
        })?;
    session
        .login(UserType::User, Some(&AuthPin::new(pin.as_str().into())))
        .map_err(|e| match e {
            cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::PinIncorrect, _) => {
                KeyError::Pkcs11("wrong PIN".into())
            }
            other => KeyError::Pkcs11(format!("login: {other}")),
        })?;
    Ok((ctx, session))
}

/// The `object=` (label) and `id=` attributes of a URI, to find or create objects with.
pub(crate) fn object_template(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut template = Vec::new();
    if let Some(o) = &uri.object {
        template.push(Attribute::Label(o.as_bytes().to_vec()));
    }
    if let Some(i) = &uri.id {
        template.push(Attribute::Id(i.clone()));
    }
    template
}

impl Pkcs11Signer {
    /// Loads the module, finds the token and the key, logs in with the PIN.
    pub fn open(uri: &Pkcs11Uri, secrets: &SecretInputs) -> Result<Self, KeyError> {
        let (ctx, session) = open_session(uri, secrets, false)?;
        let template = object_template(uri);
        let find = |class: ObjectClass| -> Result<Vec<ObjectHandle>, KeyError> {
            let mut t = template.clone();
            t.push(Attribute::Class(class));
            session.find_objects(&t).map_err(p11("find objects"))
        };
        let keys = find(ObjectClass::PRIVATE_KEY)?;
        let key = match keys.as_slice() {
            [k] => *k,
            [] => return Err(KeyError::Pkcs11(format!("no private key matches {uri}"))),
            _ => {
                return Err(KeyError::Pkcs11(format!(
                    "{} private keys match {uri}; add id= to choose one",
                    keys.len()
                )));
            }
        };
        let pubs = find(ObjectClass::PUBLIC_KEY)?;
        let pub_obj = pubs.first().copied().ok_or_else(|| {
            KeyError::Pkcs11(format!("no public key object beside the private key {uri}"))
        })?;
        let attrs = session
            .get_attributes(pub_obj, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(p11("read public key"))?;
        let mut params = None;
        let mut point = None;
        for a in attrs {
            match a {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let (Some(params), Some(point)) = (params, point) else {
            return Err(KeyError::UnsupportedAlgorithm(
                "the token key is not an EC key (PKCS#11 signing supports ECDSA P-256/P-384)"
                    .into(),
            ));
        };
        let public = PublicKey::from_spki_der(&ec_spki(&params, &point)?)?;
        Ok(Pkcs11Signer {
            session: Mutex::new(session),
            key,
            public,
            _ctx: ctx,
        })
    }
}

/// Builds an EC SubjectPublicKeyInfo from CKA_EC_PARAMS (DER OID) and CKA_EC_POINT (DER
/// OCTET STRING holding the uncompressed point, or the bare point from some tokens).
fn ec_spki(params: &[u8], point: &[u8]) -> Result<Vec<u8>, KeyError> {
    use der::Decode;
    let raw = match der::asn1::OctetStringRef::from_der(point) {
        Ok(os) => os.as_bytes().to_vec(),
        Err(_) => point.to_vec(),
    };
    // id-ecPublicKey 1.2.840.10045.2.1
    let ec_oid: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let mut alg = ec_oid.to_vec();
    alg.extend_from_slice(params);
    let alg = der_tlv(0x30, &alg);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&raw);
    let bits = der_tlv(0x03, &bits);
    let mut body = alg;
    body.extend_from_slice(&bits);
    Ok(der_tlv(0x30, &body))
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
    out
}

/// Re-encodes a fixed-width `r||s` ECDSA signature as ASN.1 DER `SEQUENCE { r, s }`.
pub fn ecdsa_fixed_to_der(sig: &[u8]) -> Result<Vec<u8>, KeyError> {
    if sig.is_empty() || !sig.len().is_multiple_of(2) {
        return Err(KeyError::Pkcs11(format!(
            "token returned a {}-byte ECDSA signature",
            sig.len()
        )));
    }
    let (r, s) = sig.split_at(sig.len() / 2);
    let int = |x: &[u8]| {
        let mut v: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        if v.is_empty() || v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        der_tlv(0x02, &v)
    };
    let mut body = int(r);
    body.extend_from_slice(&int(s));
    Ok(der_tlv(0x30, &body))
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let pre = self.public.algorithm().hash().hash(message);
        self.sign_prehashed(&pre)
    }

    fn sign_prehashed(&self, prehash: &Prehash) -> Result<Vec<u8>, KeyError> {
        if prehash.algorithm != self.public.algorithm().hash() {
            return Err(KeyError::WrongKeyType(format!(
                "{} signs {} digests",
                self.public.algorithm(),
                self.public.algorithm().hash().proto_name()
            )));
        }
        let session = self
            .session
            .lock()
            .map_err(|_| KeyError::Internal("PKCS#11 session lock poisoned"))?;
        let raw = session
            .sign(&Mechanism::Ecdsa, self.key, &prehash.value)
            .map_err(p11("sign"))?;
        ecdsa_fixed_to_der(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rfc7512_examples() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=My%20token;object=sign%20key;id=%01%02?module-path=/x/lib.so&pin-value=1234",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("My token"));
        assert_eq!(u.object.as_deref(), Some("sign key"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(u.module_path, Some(PathBuf::from("/x/lib.so")));
        assert!(!format!("{u:?}").contains("1234"));
        assert!(Pkcs11Uri::parse("pkcs11:token=t").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:object=k;colour=red").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:object=k;id=%zz").is_err());
    }

    #[test]
    fn fixed_to_der() {
        let mut sig = vec![0u8; 64];
        sig[0] = 0x80;
        sig[63] = 1;
        let der = ecdsa_fixed_to_der(&sig).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x21, 0x00]);
    }

    proptest! {
        #[test]
        fn uri_parser_never_panics(s in "pkcs11:.{0,80}") {
            let _ = Pkcs11Uri::parse(&s);
        }
    }
}
