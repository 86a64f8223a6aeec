//! The AWS adapters: real SDK clients. Endpoints come from the SDK's standard
//! configuration (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials chain), which is how
//! the tests aim them at a local emulator.

mod apigw;
mod bedrock;
mod dynamodb;
pub mod provision;
mod s3;
mod ses;
mod sqs;

pub use apigw::ApiGatewayPush;
pub use bedrock::BedrockLlm;
pub use dynamodb::DynamoStore;
pub use s3::S3Blobs;
pub use ses::SesMailer;
pub use sqs::{QueueUrls, SqsQueue};

use super::Adapters;
use crate::config::AwsResources;
use std::sync::Arc;

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

pub async fn connect(res: &AwsResources) -> Adapters {
    connect_with(&sdk_config().await, res)
}

pub fn connect_with(sdk: &aws_config::SdkConfig, res: &AwsResources) -> Adapters {
    Adapters {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &res.table_name,
        )),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            res.queues.clone(),
        )),
        blobs: res.bucket.as_ref().map(|b| {
            // Path-style addressing works with every S3-compatible endpoint,
            // including the emulator; virtual-host style needs DNS per bucket.
            let s3 = aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(true)
                .build();
            Arc::new(S3Blobs::new(aws_sdk_s3::Client::from_conf(s3), b))
                as Arc<dyn crate::ports::blob::BlobStore>
        }),
    }
}
