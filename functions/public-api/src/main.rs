//! Lambda entry point for the web form's public routes (`backend_lambda::public_api`).

use backend_lambda::{public_api, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(public_api::NEEDS).await?;
    let router = public_api::router(&sdk, settings).await?;
    backend_lambda::http::serve(router).await
}
