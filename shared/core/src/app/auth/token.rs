//! Compact JSON Web Tokens signed with HMAC-SHA256, the one algorithm the admin
//! tokens use. Written out rather than taken from a general JWT library: such a
//! library picks the verifier by the token's own `alg` and so links RSA, ECDSA and
//! EdDSA into every function (about a third of a megabyte of each zip) to refuse
//! them. Here anything but a header naming HS256 is refused before any other work.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

type HmacSha256 = Hmac<sha2::Sha256>;

/// Why a token was refused; the caller answers 401 alike for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts, or a part that is not the JSON it must be.
    Malformed,
    /// A header naming another algorithm (`none`, `HS512`, `RS256` ...).
    Algorithm,
    Signature,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// `header.payload.signature`, the header saying HS256.
pub fn sign<C: Serialize>(claims: &C, secret: &[u8]) -> String {
    let header = Header {
        alg: "HS256".into(),
        typ: Some("JWT".into()),
    };
    // Serializing plain structs of strings and numbers cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = mac(secret, signing_input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims of a token whose header says HS256 and whose signature is right.
/// What the claims say (issuer, times) is the caller's to check.
pub fn verify<C: DeserializeOwned>(token: &str, secret: &[u8]) -> Result<C, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = decode_json(header)?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm);
    }
    // What was signed: the token up to the dot before the signature.
    let signed = &token[..token.len() - signature.len() - 1];
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    // verify_slice compares in constant time.
    mac(secret, signed.as_bytes())
        .verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    decode_json(payload)
}

fn mac(secret: &[u8], input: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input);
    mac
}

fn decode_json<T: DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn other_library(alg: jsonwebtoken::Algorithm, claims: &Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn a_token_signed_here_verifies_here_and_in_a_general_library() {
        let claims = json!({"sub": "admin:ada", "exp": 4_000_000_000i64});
        let token = sign(&claims, SECRET);
        assert_eq!(verify::<Value>(&token, SECRET), Ok(claims.clone()));
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET),
            &v,
        )
        .unwrap();
        assert_eq!(data.claims, claims);
    }

    #[test]
    fn a_general_librarys_hs256_token_verifies() {
        let claims = json!({"sub": "admin:ada", "n": 1});
        let token = other_library(jsonwebtoken::Algorithm::HS256, &claims, SECRET);
        assert_eq!(verify::<Value>(&token, SECRET), Ok(claims));
    }

    #[test]
    fn other_algorithms_are_refused_even_with_the_right_key() {
        let claims = json!({"sub": "admin:ada"});
        for alg in [
            jsonwebtoken::Algorithm::HS384,
            jsonwebtoken::Algorithm::HS512,
        ] {
            let token = other_library(alg, &claims, SECRET);
            assert_eq!(verify::<Value>(&token, SECRET), Err(TokenError::Algorithm));
        }
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"admin:ada"}"#)
        );
        assert_eq!(verify::<Value>(&none, SECRET), Err(TokenError::Algorithm));
    }

    #[test]
    fn a_wrong_key_or_a_changed_payload_fails_the_signature() {
        let token = sign(&json!({"roles": ["viewer"]}), SECRET);
        assert_eq!(
            verify::<Value>(&token, b"another secret of thirty-two bytes"),
            Err(TokenError::Signature)
        );
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(br#"{"roles":["admin"]}"#),
            parts[2]
        );
        assert_eq!(verify::<Value>(&forged, SECRET), Err(TokenError::Signature));
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let good = sign(&json!({"a": 1}), SECRET);
        let cases = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b".into(),
            "a.b.c".into(),
            format!("{good}.extra"),
            format!("{good}!"),
            "é.é.é".into(),
            format!("{}.e30.", URL_SAFE_NO_PAD.encode(b"not json")),
        ];
        for case in cases {
            assert!(
                verify::<Value>(&case, SECRET).is_err(),
                "{case:?} was accepted"
            );
        }
    }
}
