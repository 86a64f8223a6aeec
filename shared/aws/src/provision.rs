//! Creates the table and queues that `template.yaml` declares, with the same keys,
//! index, TTL and redrive policy. Used against an emulator (tests, the dev server's
//! AWS mode); in an account, CloudFormation owns these resources.

use super::dynamodb::INDEX_NAME;
use crate::QueueUrls;
use anyhow::Context;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> anyhow::Result<()> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(INDEX_NAME)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        // The change feed: what each write made, for the relay.
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("creating table {name}"))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()?,
        )
        .send()
        .await
        .context("enabling TTL")?;
    Ok(())
}

/// Creates `<prefix>-reports` and `<prefix>-events`, each with a dead-letter queue
/// that takes a message after `max_receives` receives.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    max_receives: u32,
) -> anyhow::Result<QueueUrls> {
    let mut urls = Vec::new();
    for name in ["reports", "events"] {
        let dlq = client
            .create_queue()
            .queue_name(format!("{prefix}-{name}-dlq"))
            .send()
            .await
            .context("creating dead-letter queue")?;
        let dlq_url = dlq.queue_url().context("no dead-letter queue URL")?;
        let attrs = client
            .get_queue_attributes()
            .queue_url(dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .context("no dead-letter queue ARN")?;
        let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives.to_string()});
        let q = client
            .create_queue()
            .queue_name(format!("{prefix}-{name}"))
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await
            .context("creating queue")?;
        urls.push(q.queue_url().context("no queue URL")?.to_string());
    }
    Ok(QueueUrls {
        reports: urls[0].clone(),
        events: urls[1].clone(),
    })
}

/// Creates a bucket (in the emulator's default region, which needs no location),
/// keeping versions as `template.yaml`'s bucket does.
pub async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) -> anyhow::Result<()> {
    client
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .with_context(|| format!("creating bucket {name}"))?;
    let versioned = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    client
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(versioned)
        .send()
        .await
        .with_context(|| format!("turning on versions in bucket {name}"))?;
    Ok(())
}
