//! The AWS adapters: real SDK clients behind the core's ports. Each SDK client sits
//! behind a cargo feature of its own (`dynamodb`, `sqs`, `s3`, `ses`, `bedrock`,
//! `apigw`), so a function links only the clients it builds. Endpoints come from the
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

/// The SDK configuration from the standard settings. In Lambda it is read the
/// quick way: region and credentials straight from the environment Lambda sets (no
/// profile files, no metadata endpoints), and one HTTPS client, trusting the Amazon
/// roots, shared by every service client. `TRUST_STORE=system` trusts the system's
/// roots instead (an endpoint behind a TLS-inspecting proxy, say).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        if let Ok(region) = std::env::var("AWS_REGION") {
            loader = loader.region(aws_config::Region::new(region));
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
            loader = loader.credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            );
        }
        loader = loader.http_client(BuiltOnUse::shared(https_client(
            std::env::var("TRUST_STORE").ok().as_deref() != Some("system"),
        )));
    }
    loader.load().await
}

/// One HTTPS client (rustls with aws-lc) for every service client of a process.
fn https_client(amazon_roots_only: bool) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = if amazon_roots_only {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    } else {
        TrustStore::default()
    };
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
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

#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
pub async fn connect(res: &AwsResources) -> Adapters {
    connect_with(&sdk_config().await, res)
}

/// The item store and the queues alone, for a function that handles no report files:
/// it then links and builds no S3 client at all (a smaller binary, a quicker start).
#[cfg(all(feature = "dynamodb", feature = "sqs"))]
pub fn connect_core(sdk: &aws_config::SdkConfig, res: &AwsResources) -> Adapters {
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
pub fn connect_with(sdk: &aws_config::SdkConfig, res: &AwsResources) -> Adapters {
    with_files(sdk, res, S3Blobs::new)
}

/// As `connect_with`, for a process where only some requests read report files (the
/// admin API): its S3 client is built on first use.
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
pub fn connect_files_on_use(sdk: &aws_config::SdkConfig, res: &AwsResources) -> Adapters {
    with_files(sdk, res, S3Blobs::on_first_use)
}

#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "s3"))]
fn with_files(
    sdk: &aws_config::SdkConfig,
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
pub fn connect_polling(sdk: &aws_config::SdkConfig, res: &AwsResources) -> Adapters {
    Adapters {
        feed: Some(Arc::new(DynamoFeed::new(sdk, &res.table_name))),
        ..connect_with(sdk, res)
    }
}
