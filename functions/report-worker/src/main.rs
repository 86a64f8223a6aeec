//! Lambda entry point for the reports queue: configuration (the bucket is required,
//! a Bedrock model optional), adapters, then one report per `inquiry_created` event
//! with partial batch failures.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use shared::adapters::aws::{self, BedrockLlm};
use shared::app::drafting::{CircuitBreaker, Drafter, RetryPolicy};
use shared::app::reports::ReportService;
use shared::app::Deps;
use shared::config::{AwsResources, ConfigError};
use shared::ports::llm::Llm;
use shared::ports::SystemClock;
use std::sync::Arc;
use std::time::Duration;

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let sdk = aws::sdk_config().await;
    let adapters = aws::connect_with(&sdk, &resources);
    let blobs = adapters
        .blobs
        .clone()
        .ok_or_else(|| ConfigError::Missing(vec!["REPORTS_BUCKET".into()]))?;
    let llm = BedrockLlm::from_env(&sdk).map(|m| Arc::new(m) as Arc<dyn Llm>);
    let drafter = Drafter::new(
        llm,
        RetryPolicy::default(),
        CircuitBreaker::new(5, Duration::from_secs(60)),
    );
    let reports = ReportService::new(
        Deps::new(adapters, Arc::new(SystemClock)),
        blobs,
        Arc::new(drafter),
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let reports = reports.clone();
        async move {
            let handle = |body: String, receives: u32| {
                let reports = reports.clone();
                async move { reports.handle_attempt(&body, receives).await }
            };
            Ok::<_, lambda_runtime::Error>(shared::lambda::sqs_batch(event.payload, handle).await)
        }
    }))
    .await
}
