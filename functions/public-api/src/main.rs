//! Lambda entry point for the web form's public routes: configuration, AWS
//! adapters, then the shared router.

use shared::adapters::aws;
use shared::app::Deps;
use shared::config::{self, AwsResources};
use shared::http::{lambda, public_router, AppState};
use shared::ports::SystemClock;
use std::sync::Arc;

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let cors = config::cors_origins(|k| std::env::var(k).ok())?;
    let deps = Deps::new(
        aws::connect_core(&aws::sdk_config().await, &resources),
        Arc::new(SystemClock),
    );
    lambda::serve(public_router(AppState::new(
        deps,
        None,
        cors,
        None,
        vec![],
        None,
    )))
    .await
}
