//! `public-api`: the web form's routes (health, the service list, the inquiry POST)
//! over the table and the queues alone.

use crate::root;
use backend_config::{ConfigError, Part, Settings};
use backend_http::{public_router, AppState};

pub const NEEDS: &[Part] = &[Part::Aws];

pub async fn router(settings: Settings) -> Result<axum::Router, ConfigError> {
    router_with(&root::sdk_config().await, settings).await
}

/// As `router`, on the given SDK configuration instead of the process environment's
/// (the in-process handler tests aim it at the emulator).
pub async fn router_with(
    sdk: &aws_config::SdkConfig,
    settings: Settings,
) -> Result<axum::Router, ConfigError> {
    let adapters = backend_aws::connect_core(sdk, root::resources(&settings)?);
    let state = AppState::builder(root::deps(adapters))
        .cors_origins(settings.cors_origins)
        .build();
    Ok(public_router(state))
}
