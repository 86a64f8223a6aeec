//! Lambda entry point for the relay of the table's stream (`backend_lambda::outbox_relay`).

use backend_lambda::{outbox_relay, run, service_fn, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(outbox_relay::NEEDS).await?;
    let relay = outbox_relay::service(&sdk, settings).await?;
    run(service_fn(|event| outbox_relay::handler(&relay, event))).await
}
