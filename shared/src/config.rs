//! Configuration from environment variables, read and checked once at start-up so a
//! misconfigured function fails its init with every problem named, not its first
//! request with one.

use crate::adapters::aws::QueueUrls;
use std::env;

#[derive(thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variables: {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: String, reason: String },
}

/// A binary's `main` returning this error prints it with `Debug`; make that the
/// readable message, since it is what an operator sees in the init log.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The AWS resources a function uses, as `template.yaml` passes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table_name: String,
    pub queues: QueueUrls,
}

/// Reads the named variables, collecting every missing or blank one.
pub fn require<const N: usize>(
    get: impl Fn(&str) -> Option<String>,
    names: [&str; N],
) -> Result<[String; N], ConfigError> {
    let values = names.map(|n| get(n).filter(|v| !v.trim().is_empty()));
    let missing: Vec<String> = names
        .iter()
        .zip(values.iter())
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::Missing(missing));
    }
    Ok(values.map(Option::unwrap_or_default))
}

impl AwsResources {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let [table_name, reports, events] =
            require(get, ["TABLE_NAME", "REPORTS_QUEUE_URL", "EVENTS_QUEUE_URL"])?;
        for (var, url) in [
            ("REPORTS_QUEUE_URL", &reports),
            ("EVENTS_QUEUE_URL", &events),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    var: var.into(),
                    reason: "must be a queue URL".into(),
                });
            }
        }
        Ok(Self {
            table_name,
            queues: QueueUrls { reports, events },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn names_every_missing_variable() {
        let env: HashMap<&str, &str> =
            HashMap::from([("TABLE_NAME", "t"), ("EVENTS_QUEUE_URL", " ")]);
        let err = AwsResources::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing(vec!["REPORTS_QUEUE_URL".into(), "EVENTS_QUEUE_URL".into()])
        );
    }

    #[test]
    fn refuses_a_queue_name_where_a_url_belongs() {
        let env = HashMap::from([
            ("TABLE_NAME", "t"),
            ("REPORTS_QUEUE_URL", "reports"),
            (
                "EVENTS_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/events",
            ),
        ]);
        let err = AwsResources::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { var, .. } if var == "REPORTS_QUEUE_URL"));
    }
}
