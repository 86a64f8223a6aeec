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

/// A function's settings from its environment, `env`, and from the secrets the
/// environment names (`backend_config::secrets`), all fetched in one call. A
/// setting a secret gives wins over the same variable in the environment.
pub async fn settings<F>(
    sdk: &backend_aws::SdkConfig,
    env: F,
    needs: &[backend_config::Part],
) -> Result<Settings, lambda_runtime::Error>
where
    F: Fn(&str) -> Option<String>,
{
    let named = backend_config::secrets::named(&env);
    let mut from_secrets = std::collections::HashMap::new();
    if !named.is_empty() {
        from_secrets = from_secrets_manager(sdk, &named).await?;
    }
    let lookup = |name: &str| from_secrets.get(name).cloned().or_else(|| env(name));
    Ok(Settings::from_lookup(lookup, needs)?)
}

#[cfg(feature = "secrets")]
async fn from_secrets_manager(
    sdk: &backend_aws::SdkConfig,
    named: &[(&'static str, String)],
) -> Result<std::collections::HashMap<&'static str, String>, lambda_runtime::Error> {
    let ids: Vec<String> = named.iter().map(|(_, id)| id.clone()).collect();
    let values = backend_aws::read_secrets(sdk, &ids).await?;
    let mut settings = std::collections::HashMap::new();
    for (variable, id) in named {
        let value = values.get(id).map(String::as_str).unwrap_or_default();
        settings.extend(backend_config::secrets::settings_of(variable, value)?);
    }
    Ok(settings)
}

#[cfg(not(feature = "secrets"))]
async fn from_secrets_manager(
    _: &backend_aws::SdkConfig,
    named: &[(&'static str, String)],
) -> Result<std::collections::HashMap<&'static str, String>, lambda_runtime::Error> {
    let (variable, _) = &named[0];
    Err(format!("{variable} is set, but this function reads no secrets").into())
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
