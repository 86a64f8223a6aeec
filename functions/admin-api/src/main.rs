//! Lambda entry point for the admin API: configuration (refusing to start without a
//! signing secret and an admin), AWS adapters, then the shared admin router.

use shared::adapters::aws;
use shared::app::auth::{AuthConfig, Authenticator};
use shared::app::Deps;
use shared::config::{self, AwsResources};
use shared::http::{admin_router, lambda, AppState};
use shared::ports::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let auth = AuthConfig::from_env()?;
    let cors = config::cors_origins(|k| std::env::var(k).ok())?;
    let deps = Deps::new(aws::connect(&resources).await, Arc::new(SystemClock));
    let state = AppState::new(deps.clone(), Some(Authenticator::new(auth, deps)), cors);
    lambda::serve(admin_router(state)).await
}
