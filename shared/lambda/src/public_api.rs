//! `public-api`: the web form's routes (health, the service list, the inquiry POST)
//! over the table and the queues alone.

use crate::root;
use backend_config::{ConfigError, Part, Settings};
use backend_http::{public_router, AppState};

pub const NEEDS: &[Part] = &[Part::Aws];

pub async fn router(settings: Settings) -> Result<axum::Router, ConfigError> {
    let adapters =
        backend_aws::connect_core(&root::sdk_config().await, root::resources(&settings)?);
    let state = AppState::new(
        root::deps(adapters),
        None,
        settings.cors_origins,
        None,
        vec![],
        None,
    );
    Ok(public_router(state))
}
