//! Idempotent requests: an `Idempotency-Key` maps to the fingerprint of the first
//! request body and the result it got, for 24 hours. A retry with the same body
//! gets that result again; the same key with another body is a client error.

use super::records::{idempotency_pk, IDEMPOTENCY_SK};
use super::AppError;
use crate::ports::{Condition, Item, ItemStore, WriteOp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TTL_SECONDS: i64 = 24 * 3600;

/// A key as a client may send it: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// What `parse` accepts, as a regular expression (for the API's description).
    pub const PATTERN: &'static str = "^[!-~]{1,255}$";

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be 1 to 255 visible ASCII characters");
        }
        Ok(Self(raw.to_string()))
    }

    pub fn item_pk(&self, scope: &str) -> String {
        // Hashed so a client's key never becomes part of a store key as written.
        let digest = Sha256::digest(format!("{scope}\n{}", self.0));
        idempotency_pk(&hex::encode(digest))
    }
}

/// A stable digest of a JSON body (object keys are sorted by serde_json's map).
pub fn fingerprint(body: &Value) -> String {
    hex::encode(Sha256::digest(body.to_string()))
}

/// The result recorded under a key for the same body, if any; the same key with
/// another body is a conflict.
pub async fn find(
    store: &dyn ItemStore,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Option<Value>, AppError> {
    let Some(item) = store.get(&key.item_pk(scope), IDEMPOTENCY_SK).await? else {
        return Ok(None);
    };
    if item.data["fingerprint"].as_str() != Some(fingerprint) {
        return Err(AppError::Conflict(
            "Idempotency-Key was already used with a different request body".into(),
        ));
    }
    // Records written before results were kept as such held the whole HTTP answer,
    // the result under `data`; they expire within 24 hours of the change.
    let result = match item.data.get("result") {
        Some(r) => r.clone(),
        None => item.data["body"]["data"].clone(),
    };
    Ok(Some(result))
}

/// The write that records a use case's result; goes in the same batch as the change
/// itself.
pub fn record(
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
    result: &Value,
    now_unix: i64,
) -> WriteOp {
    let item = Item::new(
        key.item_pk(scope),
        IDEMPOTENCY_SK,
        json!({"fingerprint": fingerprint, "result": result}),
    )
    .expiring_at(now_unix + TTL_SECONDS);
    WriteOp::Put {
        item,
        condition: Condition::NotExists,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_states_what_parse_accepts() {
        assert_eq!(IdempotencyKey::PATTERN, "^[!-~]{1,255}$");
        for b in 0u8..=255 {
            let one = (b as char).to_string();
            assert_eq!(
                IdempotencyKey::parse(&one).is_ok(),
                (b'!'..=b'~').contains(&b),
                "{b}"
            );
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("a1b2-c3").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&serde_json::json!({"a": 2})));
    }
}
