//! The signed manifest: a JWS in compact serialization (RFC 7515), `alg: "EdDSA"` with an Ed25519
//! key (RFC 8037), checked over the exact bytes received before anything in the payload is read.

use crate::error::{Error, Result};
use crate::rules::Value;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;

/// A JSON Web Key Set, as handed to Workers and pages. Members other than `keys` are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self")]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

/// One public key. Members other than these (`key_ops`, `x5c`, ...) are allowed and ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(remote = "Self")]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// A private key member: refused, so a signing key is never deployed by mistake.
    #[serde(default)]
    pub d: Option<String>,
}

crate::de::objects!(KeySet, Jwk);

impl KeySet {
    /// Parses a JWKS from JSON text; a refusal is `KEYSET_INVALID`, naming the member.
    /// Text that is not JSON at all says where it breaks, as `(at byte N)`.
    pub fn from_json(json: &str) -> Result<KeySet> {
        crate::input::from_json(json).map_err(|e| {
            match serde_json::from_str::<serde::de::IgnoredAny>(json) {
                Err(syntax) => Box::new(Error::KeySetInvalid {
                    message: format!(
                        "not valid JSON: {} (at byte {})",
                        crate::de::message_of(&syntax),
                        // Of the byte it stopped at, which serde_json has read.
                        crate::de::offset_of(json.as_bytes(), &syntax).saturating_sub(1)
                    ),
                }),
                Ok(_) => keyset_error(e),
            }
        })
    }

    fn find(&self, kid: &str) -> Result<VerifyingKey> {
        let jwk = self
            .keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid))
            .ok_or_else(|| Error::ManifestKeyUnknown {
                kid: Some(kid.chars().take(128).collect()),
            })?;
        let invalid = |message: &str| Error::KeySetInvalid {
            message: format!("key `{kid}`: {message}"),
        };
        if jwk.d.is_some() {
            return Err(Box::new(invalid(
                "holds a private key (`d`); hand out only public keys",
            )));
        }
        if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
            return Err(Box::new(invalid(
                "is not an Ed25519 key (kty OKP, crv Ed25519)",
            )));
        }
        if jwk.alg.as_deref().is_some_and(|a| a != "EdDSA") {
            return Err(Box::new(invalid("is for another algorithm than EdDSA")));
        }
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(Box::new(invalid(
                "is not for signatures (`use` is not \"sig\")",
            )));
        }
        let x = jwk.x.as_deref().ok_or_else(|| invalid("has no `x`"))?;
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid("`x` is not 32 bytes of base64url"))?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| invalid("`x` is not a valid Ed25519 point"))
            .map_err(Box::new)
    }
}

/// A request-shaped error about the key set becomes `KEYSET_INVALID`.
fn keyset_error(mut e: Box<Error>) -> Box<Error> {
    if let Error::InvalidRequest { path, message } = e.as_mut() {
        let message = if path.is_empty() {
            std::mem::take(message)
        } else {
            format!("{path}: {message}")
        };
        *e = Error::KeySetInvalid { message };
    }
    e
}

/// Verifies a compact JWS (text or its bytes) and returns its payload bytes, untouched. Nothing
/// in the payload is read before the signature holds.
pub fn verify(jws: &(impl AsRef<[u8]> + ?Sized), keys: &KeySet) -> Result<Vec<u8>> {
    let jws = jws.as_ref();
    let three_parts = || {
        Box::new(Error::ManifestMalformed {
            message: "expected three base64url parts separated by dots".into(),
        })
    };
    // The header is found from the front and the signature from the back, so the payload (nearly
    // all of the text) is not searched for dots: one there fails its own base64url decoding, or
    // whatever came before, and is then told as it always was, as a JWS not in three parts.
    let mut front = jws.splitn(2, |&b| b == b'.');
    let (header_b64, rest) = front.next().zip(front.next()).ok_or_else(three_parts)?;
    let mut back = rest.rsplitn(2, |&b| b == b'.');
    let (sig_b64, payload_b64) = back.next().zip(back.next()).ok_or_else(three_parts)?;
    verify_parts(jws, keys, header_b64, payload_b64, sig_b64).map_err(|e| {
        match payload_b64.contains(&b'.') {
            true => three_parts(),
            false => e,
        }
    })
}

/// [`verify`] of the three parts of `jws`.
fn verify_parts(
    jws: &[u8],
    keys: &KeySet,
    header_b64: &[u8],
    payload_b64: &[u8],
    sig_b64: &[u8],
) -> Result<Vec<u8>> {
    let malformed = |message: &str| Error::ManifestMalformed {
        message: message.to_string(),
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .ok_or_else(|| malformed("the header is not base64url"))?;
    // Read as a plain tree: every member counts (`crit`, `b64`), and a key given twice is refused.
    let header = std::str::from_utf8(&header_bytes)
        .map_err(|_| malformed("the header is not JSON: not UTF-8"))?;
    let header: Value = serde_json::from_str(header)
        .map_err(|e| malformed(&format!("the header is not JSON: {e}")))?;
    let Value::Map(header) = header else {
        return Err(Box::new(malformed("the header is not a JSON object")));
    };
    let field = |k: &str| header.get(k).filter(|v| **v != Value::Null).cloned();
    let alg = match field("alg") {
        Some(Value::Str(a)) => a,
        _ => return Err(Box::new(malformed("the header has no `alg`"))),
    };
    if alg != "EdDSA" {
        return Err(Box::new(Error::ManifestAlgorithmUnsupported {
            alg: alg.chars().take(32).collect(),
        }));
    }
    // RFC 7515 4.1.11: a `crit` extension we do not implement makes the JWS invalid; so does
    // RFC 7797's unencoded payload.
    if field("crit").is_some() || field("b64").is_some() {
        return Err(Box::new(Error::ManifestAlgorithmUnsupported {
            alg: "EdDSA with critical extensions".into(),
        }));
    }
    let kid = match field("kid") {
        Some(Value::Str(k)) => k,
        _ => return Err(Box::new(Error::ManifestKeyUnknown { kid: None })),
    };
    let key = keys.find(&kid)?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::ManifestSignatureInvalid)?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = jws
        .get(..signing_input_len)
        .ok_or(Error::ManifestSignatureInvalid)?;
    key.verify_strict(signing_input, &Signature::from_bytes(&sig))
        .map_err(|_| Error::ManifestSignatureInvalid)?;
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .ok_or_else(|| malformed("the payload is not base64url"))
        .map_err(Box::new)
}

/// Signs a payload into a compact JWS with a raw Ed25519 secret key. For tests and tools: the
/// engine itself only verifies.
#[cfg(any(test, feature = "sign"))]
pub fn sign(payload: &[u8], kid: &str, secret: &[u8; 32]) -> String {
    use ed25519_dalek::{Signer, SigningKey};
    // Written by serde_json, so any kid is escaped as JSON needs: `{"alg":"EdDSA","kid":"..."}`.
    let header = serde_json::json!({ "alg": "EdDSA", "kid": kid }).to_string();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.as_bytes()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = SigningKey::from_bytes(secret).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    const SECRET: [u8; 32] = [7; 32];

    fn keyset() -> KeySet {
        let x = URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(&SECRET).verifying_key().to_bytes());
        KeySet::from_json(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"{x}"}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn verifies_and_returns_the_exact_payload() {
        let jws = sign(b"{\"a\": 1}", "k1", &SECRET);
        assert_eq!(verify(&jws, &keyset()).unwrap(), b"{\"a\": 1}");
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let jws = sign(b"{\"a\":1}", "k1", &SECRET);
        for i in 0..jws.len() {
            let mut bytes = jws.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered == jws {
                continue;
            }
            assert!(verify(&tampered, &keyset()).is_err(), "byte {i}");
        }
    }

    #[test]
    fn wrong_alg_unknown_kid_and_shape() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert_eq!(
            verify(&none, &keyset()).unwrap_err().code(),
            "MANIFEST_ALGORITHM_UNSUPPORTED"
        );
        assert_eq!(
            verify(&sign(b"{}", "k2", &SECRET), &keyset())
                .unwrap_err()
                .code(),
            "MANIFEST_KEY_UNKNOWN"
        );
        assert_eq!(
            verify("a.b", &keyset()).unwrap_err().code(),
            "MANIFEST_MALFORMED"
        );
        for parts in ["a.b.c.d", "...", "a..b.c", "e30.e30.e30.e30"] {
            assert_eq!(
                verify(parts, &keyset()).unwrap_err().to_string(),
                verify("a.b", &keyset()).unwrap_err().to_string(),
                "{parts}"
            );
        }
        let jws = sign(b"{}", "k1", &SECRET);
        let (head, sig) = jws.split_once('.').unwrap();
        assert_eq!(
            verify(&format!("{head}.e30.{sig}"), &keyset())
                .unwrap_err()
                .code(),
            "MANIFEST_MALFORMED"
        );
        let other = sign(b"{}", "k1", &[8; 32]);
        assert_eq!(
            verify(&other, &keyset()).unwrap_err().code(),
            "MANIFEST_SIGNATURE_INVALID"
        );
    }
}
