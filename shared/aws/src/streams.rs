//! The item store's change feed read from the table's DynamoDB stream by polling,
//! for a process that relays changes itself (the dev server on AWS, the tests on
//! the emulator). In Lambda the stream's records come in the function's event and
//! are read by `change_of_record` in the Lambda glue instead.
//!
//! A position is the last sequence number read in each shard, as JSON, so a read
//! goes on in every shard from where the last one stopped.

use crate::dynamodb::item_of_attrs;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use backend_core::ports::{Change, ChangeFeed, StoreError};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::OnceCell;

pub struct DynamoFeed {
    streams: Client,
    tables: aws_sdk_dynamodb::Client,
    table: String,
    arn: OnceCell<String>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl DynamoFeed {
    pub fn new(sdk: &aws_types::SdkConfig, table: &str) -> Self {
        Self {
            streams: Client::new(sdk),
            tables: aws_sdk_dynamodb::Client::new(sdk),
            table: table.to_string(),
            arn: OnceCell::new(),
        }
    }

    async fn stream_arn(&self) -> Result<&str, StoreError> {
        self.arn
            .get_or_try_init(|| async {
                let out = self
                    .tables
                    .describe_table()
                    .table_name(&self.table)
                    .send()
                    .await
                    .map_err(|e| unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                out.table()
                    .and_then(|t| t.latest_stream_arn())
                    .map(str::to_string)
                    .ok_or_else(|| StoreError::Invalid("the table has no stream".into()))
            })
            .await
            .map(String::as_str)
    }
}

/// The stream's attribute values as the table's, for the store's one decoder.
fn table_value(v: &AttributeValue) -> Option<Av> {
    match v {
        AttributeValue::S(s) => Some(Av::S(s.clone())),
        AttributeValue::N(n) => Some(Av::N(n.clone())),
        _ => None,
    }
}

fn key_text(keys: &HashMap<String, AttributeValue>, name: &str) -> String {
    keys.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[async_trait]
impl ChangeFeed for DynamoFeed {
    async fn read(&self, after: Option<&str>, max: usize) -> Result<Vec<Change>, StoreError> {
        let mut position: BTreeMap<String, String> = match after {
            None => BTreeMap::new(),
            Some(p) => serde_json::from_str(p)
                .map_err(|_| StoreError::Invalid(format!("not a feed position: {p:?}")))?,
        };
        let arn = self.stream_arn().await?.to_string();
        let described = self
            .streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
        // Parents before children: a child shard holds the later changes of its items.
        let mut shards: Vec<_> = described
            .stream_description()
            .map(|d| d.shards().to_vec())
            .unwrap_or_default();
        shards.sort_by_key(|s| s.parent_shard_id().is_some());
        let mut out = Vec::new();
        for shard in shards {
            let Some(id) = shard.shard_id() else { continue };
            if out.len() >= max {
                break;
            }
            let mut it = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(id);
            it = match position.get(id) {
                Some(seq) => it
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => it.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let iterator = it
                .send()
                .await
                .map_err(|e| unavailable(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
                .shard_iterator
                .ok_or_else(|| unavailable("no shard iterator"))?;
            let got = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit((max - out.len()).clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(|e| unavailable(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            for r in got.records() {
                let Some(d) = r.dynamodb() else { continue };
                let Some(seq) = d.sequence_number() else {
                    continue;
                };
                let keys = d.keys().cloned().unwrap_or_default();
                position.insert(id.to_string(), seq.to_string());
                let item = match (r.event_name(), d.new_image()) {
                    (Some(OperationType::Remove), _) | (_, None) => None,
                    (_, Some(image)) => {
                        let attrs: HashMap<String, Av> = image
                            .iter()
                            .filter_map(|(k, v)| Some((k.clone(), table_value(v)?)))
                            .collect();
                        match item_of_attrs(&attrs) {
                            Ok(item) => Some(item),
                            // No item of ours (the emulator shows an update's new
                            // item once bare, keys only, before its whole image).
                            Err(_) => continue,
                        }
                    }
                };
                out.push(Change {
                    position: serde_json::to_string(&position).unwrap_or_default(),
                    pk: key_text(&keys, "pk"),
                    sk: key_text(&keys, "sk"),
                    item,
                });
            }
        }
        Ok(out)
    }
}
