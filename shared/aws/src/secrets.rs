//! Secrets read once, when a function starts: every secret it names in one
//! `BatchGetSecretValue`, kept for the function's life in its settings. So no
//! secret sits in a function's environment, where the console and
//! `GetFunctionConfiguration` show it.

use aws_sdk_secretsmanager::Client;
use std::collections::HashMap;

/// Why the secrets could not be read. Names secrets, never shows a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error("secret {id}: {code}")]
    Refused { id: String, code: String },
    #[error("secret {id} holds no string (a binary secret?)")]
    NotAString { id: String },
    #[error("Secrets Manager: {0}")]
    Call(String),
}

/// The string of each secret in `ids` (names or ARNs), keyed by the id as given.
pub async fn read_secrets(
    sdk: &aws_types::SdkConfig,
    ids: &[String],
) -> Result<HashMap<String, String>, SecretsError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let out = Client::new(sdk)
        .batch_get_secret_value()
        .set_secret_id_list(Some(ids.to_vec()))
        .send()
        .await
        .map_err(|e| {
            SecretsError::Call(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    if let Some(e) = out.errors().first() {
        return Err(SecretsError::Refused {
            id: e.secret_id().unwrap_or_default().to_string(),
            code: e.error_code().unwrap_or("error").to_string(),
        });
    }
    let mut found = HashMap::new();
    for id in ids {
        let value = out
            .secret_values()
            .iter()
            .find(|v| v.name() == Some(id.as_str()) || v.arn() == Some(id.as_str()))
            .ok_or_else(|| SecretsError::Refused {
                id: id.clone(),
                code: "not returned".into(),
            })?;
        let text = value
            .secret_string()
            .ok_or_else(|| SecretsError::NotAString { id: id.clone() })?;
        found.insert(id.clone(), text.to_string());
    }
    Ok(found)
}
