//! The AWS adapters: real SDK clients behind the core's ports. Each SDK client sits
//! behind a cargo feature of its own (`dynamodb`, `sqs`, `s3`, `ses`, `bedrock`,
//! `apigw`, `secrets`), so a function links only the clients it builds. Endpoints come from the
//! SDK's standard configuration (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials
//! chain), which is how the tests aim them at a local emulator.

#[cfg(feature = "apigw")]
mod apigw;
#[cfg(feature = "bedrock")]
mod bedrock;
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
pub mod provision;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "secrets")]
mod secrets;
#[cfg(feature = "ses")]
mod ses;
#[cfg(feature = "sqs")]
mod sqs;
#[cfg(feature = "streams")]
mod streams;

#[cfg(feature = "apigw")]
pub use apigw::ApiGatewayPush;
#[cfg(feature = "bedrock")]
pub use bedrock::BedrockLlm;
#[cfg(feature = "dynamodb")]
pub use dynamodb::{item_of_attrs, DynamoStore};
#[cfg(feature = "s3")]
pub use s3::S3Blobs;
#[cfg(feature = "secrets")]
pub use secrets::{read_secrets, SecretsError};
#[cfg(feature = "ses")]
pub use ses::SesMailer;
#[cfg(feature = "sqs")]
pub use sqs::SqsQueue;
#[cfg(feature = "streams")]
pub use streams::DynamoFeed;

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::retry::RetryConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
pub use aws_types::SdkConfig;
#[cfg(all(feature = "dynamodb", feature = "sqs"))]
use backend_core::ports::Adapters;
use backend_core::ports::QueueName;
#[cfg(all(feature = "dynamodb", feature = "sqs"))]
use std::sync::Arc;

/// The AWS resources a process uses, as `template.yaml` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table_name: String,
    pub queues: QueueUrls,
    /// For the processes that read or write report files.
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub reports: String,
    pub events: String,
}

impl QueueUrls {
    pub fn url(&self, q: QueueName) -> &str {
        match q {
            QueueName::Reports => &self.reports,
            QueueName::Events => &self.events,
        }
    }
}

/// The roots of Amazon Trust Services, which sign the certificate of every AWS
/// service endpoint. Trusting only these (instead of parsing the ~140 roots of the
/// system bundle) is most of what a function's cold start spends on TLS.
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// A function's SDK configuration, from its environment as `env` reads it (the
/// process environment in Lambda, a test's table in the in-process handler tests):
/// the region, credentials and endpoints Lambda or the caller set, and one HTTPS
/// client shared by every service client, trusting the Amazon roots
/// (`TRUST_STORE=system`: the system's, for an endpoint behind a TLS-inspecting
/// proxy, say).
///
/// Built directly, not through `aws_config`'s standard chain: in Lambda every
/// setting is in the environment, and the chain (profile files, metadata endpoints,
/// SSO, STS) would be init time and a fifth of a zip spent on sources a function
/// never has. Retries, timeouts and stalled-stream protection keep the SDK's own
/// defaults, which the clients apply to any configuration.
pub fn sdk_config_from<F>(env: F) -> SdkConfig
where
    F: Fn(&str) -> Option<String> + Clone + Send + Sync + 'static,
{
    let roots = match env("TRUST_STORE").as_deref() {
        Some("system") => Roots::System,
        _ => Roots::Amazon,
    };
    let mut sdk = SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .http_client(BuiltOnUse::shared(https_client(roots)))
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio is linked"))
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .service_config(EnvServiceConfig(env.clone()));
    if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        sdk = sdk.region(aws_types::region::Region::new(region));
    }
    if let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let credentials = aws_credential_types::Credentials::new(
            key,
            secret,
            env("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );
        sdk = sdk.credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        );
    }
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(url);
    }
    if let Some(retry) = retry_config(&env) {
        sdk = sdk.retry_config(retry);
    }
    sdk.build()
}

/// `AWS_RETRY_MODE` (`standard`, `adaptive`) and `AWS_MAX_ATTEMPTS`, as the standard
/// chain reads them; unset, the SDK's own default (standard, 3 attempts). A value
/// that is neither is ignored, as the chain ignores it.
fn retry_config(env: &impl Fn(&str) -> Option<String>) -> Option<RetryConfig> {
    let mode = env("AWS_RETRY_MODE");
    let attempts = env("AWS_MAX_ATTEMPTS").and_then(|n| n.trim().parse::<u32>().ok());
    if mode.is_none() && attempts.is_none() {
        return None;
    }
    let retry = match mode.as_deref().map(str::trim) {
        Some("adaptive") => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    Some(match attempts.filter(|n| *n >= 1) {
        Some(n) => retry.with_max_attempts(n),
        None => retry,
    })
}

/// Per-service settings from the environment (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
/// ...), as the SDK's standard chain reads them.
struct EnvServiceConfig<F>(F);

impl<F> std::fmt::Debug for EnvServiceConfig<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvServiceConfig")
    }
}

impl<F> LoadServiceConfig for EnvServiceConfig<F>
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace([' ', '-'], "_");
        (self.0)(&format!("{}_{service}", key.env())).or_else(|| (self.0)(key.env()))
    }
}

/// The SDK configuration of a process outside Lambda (the dev server on AWS): the
/// standard chain (profiles, SSO, a credentials process, metadata endpoints), and
/// the system's roots.
#[cfg(feature = "chain")]
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(Roots::System))
        .load()
        .await
}

/// Which certificate authorities the HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services only: every AWS endpoint, and quick to load.
    Amazon,
    /// The system's bundle.
    System,
}

/// The one HTTPS client of every SDK configuration (rustls with ring). The SDK's
/// default client is not linked: it brings aws-lc, a second TLS crypto library
/// beside the ring that reqwest already links. It speaks plain HTTP as well, for
/// local emulators.
pub fn https_client(roots: Roots) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = match roots {
        Roots::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_ROOTS),
        Roots::System => TrustStore::default(),
    };
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(ctx) => builder.tls_context(ctx).build_https(),
        Err(_) => builder.build_https(),
    }
}

/// An HTTP client whose TLS connector is built when a request first needs it, once
/// per timeout setting, and then cached. The SDK's own client also builds and throws
/// away a whole connector (trust store parsed, TLS configuration made) for every
/// service client it is handed to, as a check at construction; in a function that is
/// init time spent twice over for a connector the first request builds anyway.
#[derive(Debug)]
struct BuiltOnUse(SharedHttpClient);

impl BuiltOnUse {
    fn shared(inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(Self(inner))
    }
}

impl HttpClient for BuiltOnUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The item store and the queues alone, for a function that handles no report files:
/// it then links and builds no S3 client at all (a smaller binary, a quicker start).
#[cfg(all(feature = "dynamodb", feature = "sqs"))]
pub fn connect_core(sdk: &SdkConfig, res: &AwsResources) -> Adapters {
    Adapters {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &res.table_name,
        )),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            res.queues.clone(),
        )),
        blobs: None,
        feed: None,
    }
}

/// The store, the queues, and the report files when a bucket is configured.
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
pub fn connect_with(sdk: &SdkConfig, res: &AwsResources) -> Adapters {
    with_files(sdk, res, S3Blobs::new)
}

/// As `connect_with`, for a process where only some requests read report files (the
/// admin API): its S3 client is built on first use.
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
pub fn connect_files_on_use(sdk: &SdkConfig, res: &AwsResources) -> Adapters {
    with_files(sdk, res, S3Blobs::on_first_use)
}

#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
fn with_files(
    sdk: &SdkConfig,
    res: &AwsResources,
    blobs: fn(aws_sdk_s3::Config, &str) -> S3Blobs,
) -> Adapters {
    Adapters {
        blobs: res.bucket.as_ref().map(|b| {
            // Path-style addressing works with every S3-compatible endpoint,
            // including the emulator; virtual-host style needs DNS per bucket.
            let conf = aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(true)
                .build();
            Arc::new(blobs(conf, b)) as Arc<dyn backend_core::ports::blob::BlobStore>
        }),
        ..connect_core(sdk, res)
    }
}

/// As `connect_with`, with the table's stream read by polling: for a process that
/// relays the changes itself (the dev server on AWS, tests on the emulator).
#[cfg(all(feature = "streams", feature = "sqs", feature = "s3"))]
pub fn connect_polling(sdk: &SdkConfig, res: &AwsResources) -> Adapters {
    Adapters {
        feed: Some(Arc::new(DynamoFeed::new(sdk, &res.table_name))),
        ..connect_with(sdk, res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::retry::RetryMode;

    fn env(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_functions_configuration_comes_from_its_environment() {
        let sdk = sdk_config_from(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ]));
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:9"));
        assert!(sdk.credentials_provider().is_some());
        let retry = sdk
            .retry_config()
            .expect("AWS_MAX_ATTEMPTS sets the retries");
        assert_eq!(
            (retry.mode(), retry.max_attempts()),
            (RetryMode::Standard, 1)
        );
    }

    #[test]
    fn retries_follow_the_standard_variables_and_default_to_the_sdks() {
        assert!(retry_config(&env(&[])).is_none());
        let adaptive = retry_config(&env(&[
            ("AWS_RETRY_MODE", "adaptive"),
            ("AWS_MAX_ATTEMPTS", "5"),
        ]))
        .unwrap();
        assert_eq!(
            (adaptive.mode(), adaptive.max_attempts()),
            (RetryMode::Adaptive, 5)
        );
        let bad = retry_config(&env(&[("AWS_MAX_ATTEMPTS", "zero")]))
            .unwrap_or_else(RetryConfig::standard);
        assert_eq!(bad.max_attempts(), RetryConfig::standard().max_attempts());
    }
}
