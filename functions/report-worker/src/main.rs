//! Lambda entry point for the reports queue (`backend_lambda::report_worker`).

use backend_lambda::{report_worker, run, service_fn, Error, Settings};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    backend_lambda::init_logs();
    let reports = report_worker::service(Settings::from_env(report_worker::NEEDS)?).await?;
    run(service_fn(|event| report_worker::handler(&reports, event))).await
}
