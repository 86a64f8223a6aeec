//! Lambda entry point for the reports queue (`backend_lambda::report_worker`).

use backend_lambda::{report_worker, run, service_fn, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(report_worker::NEEDS).await?;
    let worker = report_worker::service(&sdk, settings).await?;
    run(service_fn(|event| report_worker::handler(&worker, event))).await
}
