//! Lambda entry point for sign-in and the admin routes (`backend_lambda::admin_api`).

use backend_lambda::{admin_api, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(admin_api::NEEDS).await?;
    let router = admin_api::router(&sdk, settings).await?;
    backend_lambda::http::serve(router).await
}
