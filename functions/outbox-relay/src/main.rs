//! Lambda entry point, run on a schedule: sends outbox messages whose immediate
//! send after the write did not happen (a queue outage, a timed-out function), and
//! moves a batch of inquiries stored before the index was keyed by status.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use shared::adapters::aws;
use shared::app::{Deps, InquiryService, OutboxRelay};
use shared::config::AwsResources;
use shared::ports::SystemClock;
use std::sync::Arc;
use std::time::Duration;

/// Entries younger than this are still being sent by the request that wrote them.
const GRACE: Duration = Duration::from_secs(30);
/// Inquiries moved out of the legacy index partition per run.
const REINDEX_BATCH: usize = 100;

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
    let relay = OutboxRelay::new(deps.clone(), GRACE);
    let inquiries = InquiryService::new(deps);
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (relay, inquiries) = (relay.clone(), inquiries.clone());
        async move {
            let sent = relay.run_once().await?;
            let reindexed = inquiries.reindex_legacy(REINDEX_BATCH).await?;
            Ok::<_, lambda_runtime::Error>(json!({ "sent": sent, "reindexed": reindexed }))
        }
    }))
    .await
}
