//! Lambda entry point for sign-in and the admin routes (`backend_lambda::admin_api`).

use backend_lambda::{admin_api, Error, Settings};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    backend_lambda::init_logs();
    let settings = Settings::from_env(admin_api::NEEDS)?;
    backend_lambda::http::serve(admin_api::router(settings).await?).await
}
