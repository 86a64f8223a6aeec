//! Configuration from environment variables, read and checked once at start-up so a
//! misconfigured function fails its init with every problem named, not its first
//! request with one.

use crate::adapters::aws::QueueUrls;
use std::env;

/// Receives after which a queue dead-letters a message: the embedded queues use it,
/// and `template.yaml`'s redrive policies say the same (`maxReceiveCount: 5`).
pub const MAX_RECEIVES: u32 = 5;

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

/// `CORS_ALLOWED_ORIGINS`: a comma-separated list of exact origins
/// (`https://app.example.com`); empty or unset allows none.
pub fn cors_origins(get: impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let raw = get("CORS_ALLOWED_ORIGINS").unwrap_or_default();
    let mut out = Vec::new();
    for o in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let scheme_ok = o.starts_with("https://") || o.starts_with("http://");
        let host = o.split_once("://").map(|x| x.1).unwrap_or_default();
        if !scheme_ok || host.is_empty() || host.contains('/') || o.contains('*') || o.contains(' ')
        {
            return Err(ConfigError::Invalid {
                var: "CORS_ALLOWED_ORIGINS".into(),
                reason: format!("{o:?} is not an exact origin like https://app.example.com"),
            });
        }
        out.push(o.to_string());
    }
    Ok(out)
}

/// The AWS resources a function uses, as `template.yaml` passes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table_name: String,
    pub queues: QueueUrls,
    /// `REPORTS_BUCKET`, for the functions that read or write report files.
    pub bucket: Option<String>,
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
        let [table_name, reports, events] = require(
            &get,
            ["TABLE_NAME", "REPORTS_QUEUE_URL", "EVENTS_QUEUE_URL"],
        )?;
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
            bucket: get("REPORTS_BUCKET").filter(|b| !b.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn cors_origins_are_exact() {
        let get = |v: &'static str| move |_: &str| Some(v.to_string());
        assert_eq!(
            cors_origins(get("https://a.example.com, http://localhost:5173")).unwrap(),
            ["https://a.example.com", "http://localhost:5173"]
        );
        assert!(cors_origins(|_| None).unwrap().is_empty());
        for bad in [
            "*",
            "https://*.example.com",
            "example.com",
            "https://a.example.com/",
            "ftp://x.io",
        ] {
            assert!(cors_origins(get(bad)).is_err(), "{bad}");
        }
    }

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
