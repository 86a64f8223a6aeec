//! Every environment variable a process reads, read and checked once at start-up
//! into typed settings, so a misconfigured function fails its init with every
//! problem named at once, not its first request with one.
//!
//! A process says which parts it cannot run without ([`Part`]); the optional
//! variables (CORS, hooks, a model, chat limits) are read and checked by everyone.
//! The SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials,
//! `TRUST_STORE`) are the AWS adapters' business, and `LOG_LEVEL` the logger's.

use backend_aws::{AwsResources, QueueUrls};
use backend_core::app::auth::{AdminAccount, AuthConfig, Secret, MAX_TTL};
use backend_core::app::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use backend_core::app::chat::ChatConfig;
use backend_core::app::limits::WindowLimit;
use backend_core::app::notify::NotifyConfig;
use backend_core::domain::hook::{parse_hooks, Hook};
use backend_core::domain::{Email, ServiceType};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The parts of the settings a process cannot start without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `TABLE_NAME`, `REPORTS_QUEUE_URL`, `EVENTS_QUEUE_URL` (and `REPORTS_BUCKET`
    /// when set).
    Aws,
    /// `REPORTS_BUCKET`, for a process that writes reports.
    Bucket,
    /// `JWT_SECRET` and `ADMIN_USERS`.
    Auth,
    /// `MAIL_FROM` and `CONSULTANT_EMAILS`.
    Notify,
    /// The dev server's own settings, with local defaults for the notification
    /// settings the functions require; `JWT_SECRET`/`ADMIN_USERS` become optional.
    DevServer,
}

/// Everything a process is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Present when `Part::Aws` was asked for (or, for the dev server, when
    /// `BACKEND=aws`).
    pub aws: Option<AwsResources>,
    /// Present when `Part::Auth` was asked for, or when configured.
    pub auth: Option<AuthConfig>,
    /// Present when `Part::Notify` or `Part::DevServer` was asked for.
    pub notify: Option<NotifyConfig>,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_origins: Vec<String>,
    /// `HOOKS` (a JSON list), or the file `HOOKS_FILE` names on the dev server.
    pub hooks: Vec<Hook>,
    /// `BEDROCK_MODEL_ID`: the model reports and chat answers come from, if any.
    pub model_id: Option<String>,
    /// `CHAT_ANSWER_TIMEOUT_SECONDS` over the chat defaults.
    pub chat: ChatConfig,
    /// `CHAT_CALLBACK_URL`: where chat pushes go, instead of the event's own API.
    pub chat_callback_url: Option<String>,
    /// `SUBMISSIONS_PER_CLIENT_PER_HOUR` (default 20): inquiries one address may
    /// submit through the web form in an hour.
    pub submissions_per_client: WindowLimit,
    /// `RETENTION_DAYS` (default 0, off): days after which a closed inquiry is
    /// erased, with everything derived from it.
    pub retention_days: Option<u32>,
    /// Present when `Part::DevServer` was asked for.
    pub dev: Option<DevServer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and folders under the data directory: nothing to install or start.
    Embedded,
    /// The AWS adapters, configured as the Lambda functions are (`TABLE_NAME`, …).
    Aws,
}

/// The dev server's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevServer {
    /// `BIND_ADDR`, default 127.0.0.1:8080.
    pub bind: SocketAddr,
    /// `DATA_DIR`, default `./.data`.
    pub data_dir: PathBuf,
    /// `BACKEND`: `embedded` (default) or `aws`.
    pub backend: Backend,
    /// `WORKERS`: `on` (default) or `off`.
    pub workers: bool,
}

/// Every missing and every invalid variable, named.
#[derive(Default, PartialEq, Eq)]
pub struct ConfigError {
    pub missing: Vec<String>,
    /// `(variable, reason)`.
    pub invalid: Vec<(String, String)>,
}

impl ConfigError {
    /// The error for variables a process needs and does not have.
    pub fn missing(vars: &[&str]) -> Self {
        Self {
            missing: vars.iter().map(|v| v.to_string()).collect(),
            invalid: vec![],
        }
    }

    /// Whether the variable is named, missing or invalid.
    pub fn names(&self, var: &str) -> bool {
        self.missing.iter().any(|m| m == var) || self.invalid.iter().any(|(v, _)| v == var)
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing environment variables: {}",
                self.missing.join(", ")
            ));
        }
        parts.extend(
            self.invalid
                .iter()
                .map(|(var, reason)| format!("{var} is invalid: {reason}")),
        );
        f.write_str(&parts.join("; "))
    }
}

/// A binary's `main` returning this error prints it with `Debug`; make that the
/// readable message, since it is what an operator sees in the init log.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    pub fn from_env(required: &[Part]) -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok(), required)
    }

    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        required: &[Part],
    ) -> Result<Self, ConfigError> {
        let mut r = Reader {
            get: &get,
            problems: ConfigError::default(),
        };
        let needs = |p: Part| required.contains(&p);
        let dev = needs(Part::DevServer).then(|| dev_server(&mut r));
        let dev_on_aws = dev.as_ref().is_some_and(|d| d.backend == Backend::Aws);
        let aws = (needs(Part::Aws) || needs(Part::Bucket) || dev_on_aws)
            .then(|| aws(&mut r, needs(Part::Bucket)))
            .flatten();
        let hooks = hooks(&mut r, dev.is_some());
        let auth_configured =
            r.optional("JWT_SECRET").is_some() || r.optional("ADMIN_USERS").is_some();
        let auth = (needs(Part::Auth) || auth_configured)
            .then(|| auth(&mut r))
            .flatten();
        let notify = (needs(Part::Notify) || dev.is_some())
            .then(|| notify(&mut r, dev.is_some(), hooks.clone()))
            .flatten();
        let settings = Settings {
            aws,
            auth,
            notify,
            cors_origins: cors_origins(&mut r),
            hooks,
            model_id: r.optional("BEDROCK_MODEL_ID"),
            chat: chat(&mut r),
            chat_callback_url: r.optional("CHAT_CALLBACK_URL"),
            submissions_per_client: WindowLimit {
                max: r.number(
                    "SUBMISSIONS_PER_CLIENT_PER_HOUR",
                    1..=100_000,
                    20,
                    "inquiries",
                ),
                per: Duration::from_secs(3600),
            },
            retention_days: match r.number("RETENTION_DAYS", 0..=36_500, 0, "days") {
                0 => None,
                days => Some(days as u32),
            },
            dev,
        };
        if r.problems == ConfigError::default() {
            Ok(settings)
        } else {
            Err(r.problems)
        }
    }
}

/// Reads variables, collecting every problem instead of stopping at the first.
struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    problems: ConfigError,
}

impl Reader<'_> {
    /// The value, trimmed; blank counts as unset.
    fn optional(&self, var: &str) -> Option<String> {
        (self.get)(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, var: &str) -> Option<String> {
        let v = self.optional(var);
        if v.is_none() {
            self.problems.missing.push(var.to_string());
        }
        v
    }

    fn invalid<T>(&mut self, var: &str, reason: impl Into<String>) -> Option<T> {
        self.problems.invalid.push((var.to_string(), reason.into()));
        None
    }

    /// A whole number within `range`, or the default when unset.
    fn number(
        &mut self,
        var: &str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
        what: &str,
    ) -> u64 {
        match self.optional(var) {
            None => default,
            Some(v) => match v.parse::<u64>().ok().filter(|n| range.contains(n)) {
                Some(n) => n,
                None => {
                    let reason = format!(
                        "must be a number of {what} from {} to {}",
                        range.start(),
                        range.end()
                    );
                    self.invalid::<()>(var, reason);
                    default
                }
            },
        }
    }

    fn choice<T: Copy>(&mut self, var: &str, default: &str, options: &[(&str, T)]) -> T {
        let raw = self.optional(var).unwrap_or_else(|| default.to_string());
        match options.iter().find(|(name, _)| *name == raw) {
            Some((_, v)) => *v,
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.invalid::<()>(var, format!("must be {}, not {raw:?}", names.join(" or ")));
                options[0].1
            }
        }
    }
}

fn aws(r: &mut Reader, bucket_required: bool) -> Option<AwsResources> {
    let table_name = r.required("TABLE_NAME");
    let queue = |r: &mut Reader, var: &str| {
        let url = r.required(var)?;
        if url.starts_with("https://") || url.starts_with("http://") {
            Some(url)
        } else {
            r.invalid(var, "must be a queue URL")
        }
    };
    let reports = queue(r, "REPORTS_QUEUE_URL");
    let events = queue(r, "EVENTS_QUEUE_URL");
    let bucket = if bucket_required {
        r.required("REPORTS_BUCKET")
    } else {
        r.optional("REPORTS_BUCKET")
    };
    Some(AwsResources {
        table_name: table_name?,
        queues: QueueUrls {
            reports: reports?,
            events: events?,
        },
        bucket,
    })
}

/// `JWT_SECRET` (at least 32 bytes), `ADMIN_USERS` (JSON list of
/// `{username, password_hash}`), optional `JWT_ISSUER`, `JWT_AUDIENCE`,
/// `JWT_TTL_SECONDS` (60 to 86400, default 3600).
fn auth(r: &mut Reader) -> Option<AuthConfig> {
    let secret = r
        .required("JWT_SECRET")
        .and_then(|s| match Secret::new(s.into_bytes()) {
            Ok(s) => Some(s),
            Err(reason) => r.invalid("JWT_SECRET", reason),
        });
    let admins = r
        .required("ADMIN_USERS")
        .and_then(|users| match admin_accounts(&users) {
            Ok(a) => Some(a),
            Err(reason) => r.invalid("ADMIN_USERS", reason),
        });
    let ttl = r.number("JWT_TTL_SECONDS", 60..=MAX_TTL, 3600, "seconds");
    Some(AuthConfig {
        secret: secret?,
        issuer: r
            .optional("JWT_ISSUER")
            .unwrap_or_else(|| DEFAULT_ISSUER.into()),
        audience: r
            .optional("JWT_AUDIENCE")
            .unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        ttl: Duration::from_secs(ttl),
        admins: admins?,
    })
}

fn admin_accounts(json: &str) -> Result<Vec<AdminAccount>, String> {
    let admins: Vec<AdminAccount> = serde_json::from_str(json)
        .map_err(|e| format!("must be a JSON list of {{username, password_hash}}: {e}"))?;
    if admins.is_empty() {
        return Err("names no admin".into());
    }
    match admins.iter().find(|a| !a.is_usable()) {
        Some(a) => Err(format!(
            "account {:?} needs a username and an argon2id password hash",
            a.username
        )),
        None => Ok(admins),
    }
}

/// `MAIL_FROM`, `CONSULTANT_EMAILS` (JSON: service id or `default` to a list of
/// addresses), `SLACK_WEBHOOK_URL`, `ADMIN_BASE_URL`. The dev server has local
/// defaults for the first two.
fn notify(r: &mut Reader, local_defaults: bool, hooks: Vec<Hook>) -> Option<NotifyConfig> {
    let (from, consultants) = if local_defaults {
        (
            r.optional("MAIL_FROM")
                .unwrap_or_else(|| "no-reply@example.com".into()),
            r.optional("CONSULTANT_EMAILS")
                .unwrap_or_else(|| r#"{"default": ["consultants@example.com"]}"#.into()),
        )
    } else {
        let from = r.required("MAIL_FROM");
        let consultants = r.required("CONSULTANT_EMAILS");
        (from?, consultants?)
    };
    let from = match Email::parse(&from) {
        Ok(e) => Some(e),
        Err(e) => r.invalid("MAIL_FROM", e),
    };
    let consultants = match consultant_map(&consultants) {
        Ok(m) => Some(m),
        Err(e) => r.invalid("CONSULTANT_EMAILS", e),
    };
    let slack_webhook = r.optional("SLACK_WEBHOOK_URL");
    if let Some(u) = &slack_webhook {
        if !u.starts_with("https://")
            && !u.starts_with("http://127.0.0.1")
            && !u.starts_with("http://localhost")
        {
            r.invalid::<()>("SLACK_WEBHOOK_URL", "must be an https URL");
        }
    }
    Some(NotifyConfig {
        from: from?,
        consultants: consultants?,
        slack_webhook,
        admin_base_url: r
            .optional("ADMIN_BASE_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        hooks,
    })
}

fn consultant_map(raw: &str) -> Result<BTreeMap<Option<ServiceType>, Vec<Email>>, String> {
    let raw: BTreeMap<String, Vec<String>> = serde_json::from_str(raw)
        .map_err(|e| format!("must map service ids or \"default\" to address lists: {e}"))?;
    let mut map = BTreeMap::new();
    for (k, addrs) in raw {
        let key = if k == "default" {
            None
        } else {
            Some(ServiceType::parse(&k).ok_or_else(|| format!("unknown service {k:?}"))?)
        };
        let list = addrs
            .iter()
            .map(|a| Email::parse(a).map_err(|e| format!("{a:?} {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        map.insert(key, list);
    }
    if !map.contains_key(&None) {
        return Err("needs a \"default\" list".into());
    }
    Ok(map)
}

/// `HOOKS`, a JSON list; on the dev server also `HOOKS_FILE`, a file holding one.
fn hooks(r: &mut Reader, from_file: bool) -> Vec<Hook> {
    let (var, json) = match (from_file, r.optional("HOOKS_FILE")) {
        (true, Some(path)) if r.optional("HOOKS").is_none() => match std::fs::read_to_string(&path)
        {
            Ok(text) => ("HOOKS_FILE", text),
            Err(e) => {
                r.invalid::<()>("HOOKS_FILE", format!("{path:?}: {e}"));
                return vec![];
            }
        },
        _ => match r.optional("HOOKS") {
            Some(json) => ("HOOKS", json),
            None => return vec![],
        },
    };
    parse_hooks(&json).unwrap_or_else(|e| {
        r.invalid::<()>(var, e);
        vec![]
    })
}

/// `CORS_ALLOWED_ORIGINS`: a comma-separated list of exact origins
/// (`https://app.example.com`); empty or unset allows none.
fn cors_origins(r: &mut Reader) -> Vec<String> {
    let raw = r.optional("CORS_ALLOWED_ORIGINS").unwrap_or_default();
    let mut out = Vec::new();
    for o in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let scheme_ok = o.starts_with("https://") || o.starts_with("http://");
        let host = o.split_once("://").map(|x| x.1).unwrap_or_default();
        if !scheme_ok || host.is_empty() || host.contains('/') || o.contains('*') || o.contains(' ')
        {
            r.invalid::<()>(
                "CORS_ALLOWED_ORIGINS",
                format!("{o:?} is not an exact origin like https://app.example.com"),
            );
            continue;
        }
        out.push(o.to_string());
    }
    out
}

/// The chat defaults, with `CHAT_ANSWER_TIMEOUT_SECONDS` (1 to 600) when set: a
/// function behind the HTTP API must answer within its 30 s.
fn chat(r: &mut Reader) -> ChatConfig {
    let defaults = ChatConfig::default();
    let secs = r.number(
        "CHAT_ANSWER_TIMEOUT_SECONDS",
        1..=600,
        defaults.timeout.as_secs(),
        "seconds",
    );
    ChatConfig {
        timeout: Duration::from_secs(secs),
        ..defaults
    }
}

fn dev_server(r: &mut Reader) -> DevServer {
    let bind_raw = r
        .optional("BIND_ADDR")
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind = bind_raw.parse().unwrap_or_else(|e| {
        r.invalid::<()>("BIND_ADDR", format!("{bind_raw:?}: {e}"));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    DevServer {
        bind,
        data_dir: PathBuf::from(r.optional("DATA_DIR").unwrap_or_else(|| "./.data".into())),
        backend: r.choice(
            "BACKEND",
            "embedded",
            &[("embedded", Backend::Embedded), ("aws", Backend::Aws)],
        ),
        workers: r.choice("WORKERS", "on", &[("on", true), ("off", false)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend_core::app::auth::hash_password;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn read(pairs: &[(&str, &str)], parts: &[Part]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(env(pairs), parts)
    }

    #[test]
    fn cors_origins_are_exact() {
        assert_eq!(
            read(
                &[(
                    "CORS_ALLOWED_ORIGINS",
                    "https://a.example.com, http://localhost:5173"
                )],
                &[]
            )
            .unwrap()
            .cors_origins,
            ["https://a.example.com", "http://localhost:5173"]
        );
        assert!(read(&[], &[]).unwrap().cors_origins.is_empty());
        for bad in [
            "*",
            "https://*.example.com",
            "example.com",
            "https://a.example.com/",
            "ftp://x.io",
        ] {
            let err = read(&[("CORS_ALLOWED_ORIGINS", bad)], &[]).unwrap_err();
            assert!(err.names("CORS_ALLOWED_ORIGINS"), "{bad}");
        }
    }

    #[test]
    fn names_every_missing_variable() {
        let err = read(
            &[("TABLE_NAME", "t"), ("EVENTS_QUEUE_URL", " ")],
            &[Part::Aws],
        )
        .unwrap_err();
        assert_eq!(err.missing, ["REPORTS_QUEUE_URL", "EVENTS_QUEUE_URL"]);
    }

    #[test]
    fn names_every_problem_of_every_part_at_once() {
        let err = read(
            &[
                ("REPORTS_QUEUE_URL", "reports"),
                ("JWT_SECRET", "short"),
                ("CHAT_ANSWER_TIMEOUT_SECONDS", "soon"),
            ],
            &[Part::Aws, Part::Auth, Part::Notify],
        )
        .unwrap_err();
        for var in [
            "TABLE_NAME",
            "REPORTS_QUEUE_URL",
            "EVENTS_QUEUE_URL",
            "ADMIN_USERS",
            "MAIL_FROM",
            "CONSULTANT_EMAILS",
            "CHAT_ANSWER_TIMEOUT_SECONDS",
        ] {
            assert!(err.names(var), "{var} not named in {err}");
        }
    }

    #[test]
    fn refuses_a_queue_name_where_a_url_belongs() {
        let err = read(
            &[
                ("TABLE_NAME", "t"),
                ("REPORTS_QUEUE_URL", "reports"),
                (
                    "EVENTS_QUEUE_URL",
                    "https://sqs.eu-west-1.amazonaws.com/1/events",
                ),
            ],
            &[Part::Aws],
        )
        .unwrap_err();
        assert_eq!(err.invalid.len(), 1);
        assert!(err.names("REPORTS_QUEUE_URL"));
    }

    #[test]
    fn a_reports_process_needs_its_bucket() {
        let base = [
            ("TABLE_NAME", "t"),
            ("REPORTS_QUEUE_URL", "https://q/1/reports"),
            ("EVENTS_QUEUE_URL", "https://q/1/events"),
        ];
        assert_eq!(read(&base, &[Part::Aws]).unwrap().aws.unwrap().bucket, None);
        assert_eq!(
            read(&base, &[Part::Bucket]).unwrap_err().missing,
            ["REPORTS_BUCKET"]
        );
    }

    #[test]
    fn auth_configuration_is_checked() {
        let hash = hash_password("pw");
        let users = format!(r#"[{{"username":"admin","password_hash":"{hash}"}}]"#);
        let secret = "s".repeat(32);
        let auth = |pairs: &[(&str, &str)]| read(pairs, &[Part::Auth]);
        assert!(auth(&[("JWT_SECRET", &secret), ("ADMIN_USERS", &users)]).is_ok());
        let short = auth(&[("JWT_SECRET", "short"), ("ADMIN_USERS", &users)]).unwrap_err();
        assert!(short.names("JWT_SECRET"));
        let plain = auth(&[
            ("JWT_SECRET", &secret),
            (
                "ADMIN_USERS",
                r#"[{"username":"a","password_hash":"hunter2"}]"#,
            ),
        ])
        .unwrap_err();
        assert!(plain.names("ADMIN_USERS"));
        assert!(auth(&[("JWT_SECRET", &secret), ("ADMIN_USERS", "[]")]).is_err());
        let ttl = auth(&[
            ("JWT_SECRET", &secret),
            ("ADMIN_USERS", &users),
            ("JWT_TTL_SECONDS", "90000"),
        ])
        .unwrap_err();
        assert!(ttl.names("JWT_TTL_SECONDS"));
        assert_eq!(
            auth(&[]).unwrap_err().missing,
            ["JWT_SECRET", "ADMIN_USERS"]
        );
        // Half a configuration is refused even where sign-in is optional.
        assert!(read(&[("JWT_SECRET", &secret)], &[])
            .unwrap_err()
            .names("ADMIN_USERS"));
    }

    #[test]
    fn the_answer_timeout_is_configurable_within_bounds() {
        let timeout =
            |v: &str| read(&[("CHAT_ANSWER_TIMEOUT_SECONDS", v)], &[]).map(|s| s.chat.timeout);
        assert_eq!(timeout("25").unwrap(), Duration::from_secs(25));
        assert!(timeout("0").is_err());
        assert!(timeout("soon").is_err());
        assert_eq!(
            read(&[], &[]).unwrap().chat.timeout,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn the_dev_server_has_local_defaults_and_checks_its_switches() {
        let s = read(&[], &[Part::DevServer]).unwrap();
        let dev = s.dev.unwrap();
        assert_eq!(dev.bind, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(dev.backend, Backend::Embedded);
        assert!(dev.workers);
        assert!(s.auth.is_none() && s.aws.is_none());
        assert_eq!(s.notify.unwrap().from.as_str(), "no-reply@example.com");
        let err = read(
            &[
                ("WORKERS", "sometimes"),
                ("BACKEND", "cloud"),
                ("BIND_ADDR", "here"),
            ],
            &[Part::DevServer],
        )
        .unwrap_err();
        for var in ["WORKERS", "BACKEND", "BIND_ADDR"] {
            assert!(err.names(var), "{var}");
        }
        // On the AWS adapters it needs what the functions need.
        let aws = read(&[("BACKEND", "aws")], &[Part::DevServer]).unwrap_err();
        assert!(aws.names("TABLE_NAME"));
    }
}
