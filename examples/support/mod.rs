//! Shared by the profiling examples: a manifest payload signed with a fixed test key, and the
//! key set that verifies it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use edge_coupons::KeySet;

/// `payload` as a compact JWS (kid `k`) and the JWKS of its key.
pub fn signed(payload: &[u8]) -> (String, KeySet) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let jws = edge_coupons::signature::sign(payload, "k", &key.to_bytes());
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let keys = KeySet::from_json(&format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#
    ))
    .expect("the test key set");
    (jws, keys)
}
