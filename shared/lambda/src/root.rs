//! The composition root of the AWS side: the SDK configuration and the adapters a
//! function's settings name, built once per cold start.

use backend_aws::AwsResources;
use backend_config::{ConfigError, Settings};
use backend_core::app::Deps;
use backend_core::ports::{Adapters, SystemClock};
use std::sync::Arc;

/// The function's SDK configuration, from the environment Lambda gives it.
pub fn sdk_config() -> backend_aws::SdkConfig {
    backend_aws::sdk_config_from(|name| std::env::var(name).ok())
}

/// The table, queues and bucket; present whenever a function asked for
/// `Part::Aws` or `Part::Bucket`, which every function does.
pub(crate) fn resources(settings: &Settings) -> Result<&AwsResources, ConfigError> {
    settings
        .aws
        .as_ref()
        .ok_or_else(|| ConfigError::missing(&["TABLE_NAME"]))
}

/// The use cases' dependencies on these adapters, on the system clock.
pub(crate) fn deps(adapters: Adapters) -> Deps {
    Deps::new(adapters, Arc::new(SystemClock))
}

/// The model `BEDROCK_MODEL_ID` names, if it names one.
#[cfg(feature = "bedrock")]
pub(crate) fn model(
    sdk: &backend_aws::SdkConfig,
    settings: &Settings,
) -> Option<backend_aws::BedrockLlm> {
    settings
        .model_id
        .as_deref()
        .map(|id| backend_aws::BedrockLlm::new(sdk, id))
}

/// The chat service as a function runs it: the Bedrock model when one is named
/// (else the template answerer), with the configured answer timeout.
#[cfg(any(feature = "admin-api", feature = "chat-ws"))]
pub(crate) fn chat_service(
    sdk: &backend_aws::SdkConfig,
    deps: Deps,
    settings: &Settings,
) -> backend_core::app::chat::ChatService {
    use backend_core::ports::llm::ChatModel;
    let model = model(sdk, settings).map(|m| Arc::new(m) as Arc<dyn ChatModel>);
    backend_core::app::chat::ChatService::new(deps, model, settings.chat.clone())
}
