//! Lambda entry point for the admin API: configuration (refusing to start without a
//! signing secret and an admin), AWS adapters, the chat service (a Bedrock model
//! when `BEDROCK_MODEL_ID` names one), then the shared admin router.

use shared::adapters::aws;
use shared::app::auth::{AuthConfig, Authenticator};
use shared::app::reports::ReportService;
use shared::app::Deps;
use shared::config::{self, AwsResources, ConfigError};
use shared::domain::hook::parse_hooks;
use shared::http::{admin_router, lambda, AppState};
use shared::ports::SystemClock;
use std::sync::Arc;

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let auth = AuthConfig::from_env()?;
    let cors = config::cors_origins(|k| std::env::var(k).ok())?;
    let hooks = match std::env::var("HOOKS").ok().filter(|h| !h.trim().is_empty()) {
        Some(json) => parse_hooks(&json).map_err(|reason| ConfigError::Invalid {
            var: "HOOKS".into(),
            reason,
        })?,
        None => vec![],
    };
    let sdk = aws::sdk_config().await;
    let adapters = aws::connect_files_on_use(&sdk, &resources);
    let blobs = adapters.blobs.clone();
    let deps = Deps::new(adapters, Arc::new(SystemClock));
    let reports = blobs.map(|b| ReportService::reader(deps.clone(), b));
    let chat = shared::lambda::chat_service(&sdk, deps.clone())?;
    let state = AppState::new(
        deps.clone(),
        Some(Authenticator::new(auth, deps)),
        cors,
        reports,
        hooks,
        Some(chat),
    );
    lambda::serve(admin_router(state)).await
}
