//! `outbox-relay`, triggered by the table's DynamoDB stream (filtered to inserted
//! outbox entries): sends each entry to its queue, in order. A send that fails
//! reports that record and every later one back, so Lambda delivers them again
//! (and bisects the batch, then parks what keeps failing on the failure queue).
//! After relaying it runs a batch of the backfills, which cost two reads once done.

use crate::root;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::{Relay, ScheduledPass};
use backend_core::ports::Change;
use lambda_runtime::{Error, LambdaEvent};
use std::collections::HashMap;

pub const NEEDS: &[Part] = &[Part::Aws];

pub struct OutboxRelay {
    relay: Relay,
    pass: ScheduledPass,
}

/// Builds the function's services on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<OutboxRelay, ConfigError> {
    let adapters = backend_aws::connect_core(sdk, root::resources(&settings)?);
    let relay = Relay::new(adapters.queue.clone());
    Ok(OutboxRelay {
        relay,
        pass: ScheduledPass::new(root::deps(adapters)),
    })
}

/// A stream record's attributes as the table's, for the store's one decoder.
fn attrs(image: &serde_dynamo::Item) -> HashMap<String, AttributeValue> {
    image
        .inner()
        .iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_dynamo::AttributeValue::S(s) => AttributeValue::S(s.clone()),
                serde_dynamo::AttributeValue::N(n) => AttributeValue::N(n.clone()),
                _ => return None,
            };
            Some((k.clone(), v))
        })
        .collect()
}

/// The change a stream record tells of (`None` for one that is not an item's).
pub fn change_of_record(r: &EventRecord) -> Option<Change> {
    let keys = attrs(&r.change.keys);
    let key = |n: &str| keys.get(n).and_then(|v| v.as_s().ok()).cloned();
    let item = match r.event_name.as_str() {
        "REMOVE" => None,
        _ => backend_aws::item_of_attrs(&attrs(&r.change.new_image)).ok(),
    };
    Some(Change {
        position: r.change.sequence_number.clone()?,
        pk: key("pk")?,
        sk: key("sk")?,
        item,
    })
}

pub async fn handler(
    svc: &OutboxRelay,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let records = event.payload.records;
    let changes: Vec<Change> = records.iter().filter_map(change_of_record).collect();
    let relayed = svc.relay.relay(&changes).await;
    let mut resp = DynamoDbEventResponse::default();
    if let Some(i) = relayed.failed_at {
        // The first that failed: Lambda delivers it and everything after it again.
        let mut f = DynamoDbBatchItemFailure::default();
        f.item_identifier = Some(changes[i].position.clone());
        resp.batch_item_failures.push(f);
    }
    tracing::info!(
        records = records.len(),
        sent = relayed.sent,
        failed = relayed.failed_at.is_some(),
        "stream batch relayed"
    );
    match svc.pass.run().await {
        Ok(done) => tracing::info!(
            reindexed = done.reindexed,
            counted = done.counted,
            "backfill batch"
        ),
        // The relay's outcome stands; the backfill goes on next time.
        Err(e) => tracing::warn!(error = %e, "backfill batch failed"),
    }
    Ok(resp)
}
