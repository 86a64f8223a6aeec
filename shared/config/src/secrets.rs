//! The settings a function reads from AWS Secrets Manager instead of its
//! environment: the variable naming each secret, and how a secret's string becomes
//! settings. Fetching is the AWS adapters' business (`backend_aws::read_secrets`);
//! this module only knows the shapes, so a bad secret is named, never shown.
//!
//! | variable | secret string | settings it gives |
//! | --- | --- | --- |
//! | `ADMIN_SECRET_ID` | JSON object: `jwt_secret`, `admin_users` | `JWT_SECRET`, `ADMIN_USERS` |
//! | `SLACK_SECRET_ID` | the incoming-webhook URL | `SLACK_WEBHOOK_URL` |
//! | `HOOKS_SECRET_ID` | the hooks, a JSON list | `HOOKS` |

use crate::ConfigError;
use serde_json::Value;

/// The variables that name a secret, in the order they are read.
pub const SECRET_VARIABLES: [&str; 3] = ["ADMIN_SECRET_ID", "SLACK_SECRET_ID", "HOOKS_SECRET_ID"];

/// `(variable, secret id)` for each secret the environment names.
pub fn named(env: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    SECRET_VARIABLES
        .iter()
        .filter_map(|var| Some((*var, env(var).filter(|id| !id.trim().is_empty())?)))
        .collect()
}

/// The settings one secret gives, from its string. The error names the variable
/// and what is wrong with the shape, never the value.
pub fn settings_of(
    variable: &str,
    secret: &str,
) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let invalid = |why: &str| ConfigError {
        missing: vec![],
        invalid: vec![(variable.to_string(), format!("the secret it names {why}"))],
    };
    match variable {
        "ADMIN_SECRET_ID" => {
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(secret) else {
                return Err(invalid("is not a JSON object"));
            };
            let jwt = match fields.get("jwt_secret") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(invalid("has no string `jwt_secret`")),
            };
            // A list given as JSON text (as the README's example stores it) or as
            // the list itself.
            let users = match fields.get("admin_users") {
                Some(Value::String(s)) => s.clone(),
                Some(list @ Value::Array(_)) => list.to_string(),
                _ => return Err(invalid("has no `admin_users` list")),
            };
            Ok(vec![("JWT_SECRET", jwt), ("ADMIN_USERS", users)])
        }
        "SLACK_SECRET_ID" => Ok(vec![("SLACK_WEBHOOK_URL", secret.trim().to_string())]),
        "HOOKS_SECRET_ID" => Ok(vec![("HOOKS", secret.to_string())]),
        _ => Err(invalid("is not one this process reads")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_variables_set_and_not_blank_name_secrets() {
        let env = |k: &str| match k {
            "ADMIN_SECRET_ID" => Some("prod/admin".to_string()),
            "SLACK_SECRET_ID" => Some("  ".to_string()),
            _ => None,
        };
        assert_eq!(
            named(env),
            vec![("ADMIN_SECRET_ID", "prod/admin".to_string())]
        );
    }

    #[test]
    fn the_admin_secret_gives_the_token_secret_and_the_accounts() {
        let as_text = r#"{"jwt_secret": "s3cr3t", "admin_users": "[{\"username\":\"a\"}]"}"#;
        let as_list = r#"{"jwt_secret": "s3cr3t", "admin_users": [{"username":"a"}]}"#;
        for secret in [as_text, as_list] {
            assert_eq!(
                settings_of("ADMIN_SECRET_ID", secret).unwrap(),
                vec![
                    ("JWT_SECRET", "s3cr3t".to_string()),
                    ("ADMIN_USERS", r#"[{"username":"a"}]"#.to_string())
                ]
            );
        }
    }

    #[test]
    fn a_misshapen_secret_is_named_and_not_shown() {
        for secret in [
            "hunter2-not-json",
            r#"{"admin_users": []}"#,
            r#"{"jwt_secret": "hunter2"}"#,
        ] {
            let e = settings_of("ADMIN_SECRET_ID", secret).unwrap_err();
            assert!(e.names("ADMIN_SECRET_ID"), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn slack_and_hooks_secrets_are_their_strings() {
        assert_eq!(
            settings_of("SLACK_SECRET_ID", "https://hooks.slack.com/x\n").unwrap(),
            vec![("SLACK_WEBHOOK_URL", "https://hooks.slack.com/x".to_string())]
        );
        assert_eq!(
            settings_of("HOOKS_SECRET_ID", "[]").unwrap(),
            vec![("HOOKS", "[]".to_string())]
        );
    }
}
