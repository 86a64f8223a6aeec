//! `public-api`: the web form's routes (health, the service list, the inquiry POST)
//! over the table and the queues alone.

use crate::root;
use backend_config::{ConfigError, Part, Settings};
use backend_http::{public_router, AppState, Served};

pub const NEEDS: &[Part] = &[Part::Aws];

/// Builds the function's router on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn router(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<axum::Router, ConfigError> {
    let adapters = backend_aws::connect_core(sdk, root::resources(&settings)?);
    let served = Served {
        cors_origins: settings.cors_origins,
        submissions_per_client: Some(settings.submissions_per_client),
        ..Default::default()
    };
    let state = AppState::new(root::deps(adapters), served);
    Ok(public_router(state))
}
