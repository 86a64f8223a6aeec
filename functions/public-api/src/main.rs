//! Lambda entry point for the web form's public routes (`backend_lambda::public_api`).

use backend_lambda::{public_api, Error, Settings};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    backend_lambda::init_logs();
    let settings = Settings::from_env(public_api::NEEDS)?;
    backend_lambda::http::serve(public_api::router(settings).await?).await
}
