//! Lambda entry point for the events queue (`backend_lambda::notify_worker`).

use backend_lambda::{notify_worker, run, service_fn, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(notify_worker::NEEDS).await?;
    let notifier = notify_worker::service(&sdk, settings).await?;
    run(service_fn(|event| notify_worker::handler(&notifier, event))).await
}
