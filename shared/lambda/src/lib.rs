//! The AWS side of the backend: the composition root that builds the use cases on
//! the AWS adapters from the settings (`root`), the glue from Lambda event sources
//! to the use cases (`events`, `http`), and one module per function with its
//! settings, its services and its named handler. Each function's `main.rs` is then
//! a few lines: read the settings, build the services, run the handler.
//!
//! A function turns on the feature named after it, which turns on the SDK clients
//! it builds and nothing else.

pub mod events;
#[cfg(feature = "http")]
pub mod http;
mod root;

use root::sdk_config;
pub use root::settings;

#[cfg(feature = "admin-api")]
pub mod admin_api;
#[cfg(feature = "chat-ws")]
pub mod chat_ws;
#[cfg(feature = "notify-worker")]
pub mod notify_worker;
#[cfg(feature = "outbox-relay")]
pub mod outbox_relay;
#[cfg(feature = "public-api")]
pub mod public_api;
#[cfg(feature = "report-worker")]
pub mod report_worker;

pub use backend_config::{Part, Settings};
pub use lambda_runtime::{run, service_fn, Error, LambdaEvent};

/// A function's start: JSON logs (one object per line), then its configuration: the
/// SDK's, from the environment Lambda gives it, and the function's settings, read and
/// checked once, every problem named.
pub async fn start(needs: &[Part]) -> Result<(backend_aws::SdkConfig, Settings), Error> {
    backend_config::telemetry::init();
    let sdk = sdk_config();
    let settings = root::settings(&sdk, |name| std::env::var(name).ok(), needs).await?;
    Ok((sdk, settings))
}
