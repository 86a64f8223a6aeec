//! Lambda entry point for the outbox relay's schedule (`backend_lambda::outbox_relay`).

use backend_lambda::{outbox_relay, run, service_fn, Error, Settings};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    backend_lambda::init_logs();
    let pass = outbox_relay::service(Settings::from_env(outbox_relay::NEEDS)?).await?;
    run(service_fn(|event| outbox_relay::handler(&pass, event))).await
}
