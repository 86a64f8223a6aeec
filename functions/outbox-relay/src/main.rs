//! Lambda entry point, run on a schedule: sends outbox messages whose immediate
//! send after the write did not happen (a queue outage, a timed-out function), and
//! moves a batch of inquiries stored before the index was keyed by status.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use shared::adapters::aws;
use shared::app::{Deps, ScheduledPass};
use shared::config::AwsResources;
use shared::ports::SystemClock;
use std::sync::Arc;
use std::time::Duration;

/// Entries younger than this are still being sent by the request that wrote them.
const GRACE: Duration = Duration::from_secs(30);

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let deps = Deps::new(
        aws::connect_core(&aws::sdk_config().await, &resources),
        Arc::new(SystemClock),
    );
    let pass = ScheduledPass::new(deps, GRACE);
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let pass = pass.clone();
        async move { pass.run().await.map_err(lambda_runtime::Error::from) }
    }))
    .await
}
