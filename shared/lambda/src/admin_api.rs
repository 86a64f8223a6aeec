//! `admin-api`: sign-in and every route behind the admin JWT. Report files are read
//! from S3 (its client built on first use: most requests read none), and the chat
//! routes answer with the Bedrock model when one is named.

use crate::root;
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::auth::Authenticator;
use backend_core::app::erasure::Erasure;
use backend_core::app::reports::ReportService;
use backend_http::{admin_router, AppState, Served};
use std::sync::Arc;

pub const NEEDS: &[Part] = &[Part::Aws, Part::Auth];

/// Builds the function's router on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn router(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<axum::Router, ConfigError> {
    let adapters = backend_aws::connect_files_on_use(sdk, root::resources(&settings)?);
    let blobs = adapters.blobs.clone();
    let deps = root::deps(adapters);
    let reports = blobs
        .clone()
        .map(|b| ReportService::reader(deps.clone(), b));
    // Without the bucket the report files could not be erased: no erasure then (503).
    // Lambda keeps no copy of what SES sent: there is no mail to erase here.
    let erasure = blobs.map(|b| Erasure::new(deps.clone(), Some(b), None));
    let chat = root::chat_service(sdk, deps.clone(), &settings);
    let auth = settings
        .auth
        .map(|a| Arc::new(Authenticator::new(a, deps.clone())));
    let served = Served {
        auth,
        cors_origins: settings.cors_origins,
        reports,
        hooks: settings.hooks,
        chat: Some(chat),
        erasure,
        // The web form's route is public-api's.
        submissions_per_client: None,
    };
    let state = AppState::new(deps, served);
    Ok(admin_router(state))
}
