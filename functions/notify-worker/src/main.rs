//! Lambda entry point for the events queue: configuration (sender, consultants,
//! Slack), the SES v2 mailer and AWS adapters, then the notifier with partial batch
//! failures.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use shared::adapters::aws::{self, SesMailer};
use shared::adapters::http_client::ReqwestOutbound;
use shared::app::notify::{Notifier, NotifyConfig};
use shared::app::Deps;
use shared::config::AwsResources;
use shared::ports::SystemClock;
use std::sync::Arc;

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let notify = NotifyConfig::from_lookup(|k| std::env::var(k).ok())?;
    let sdk = aws::sdk_config().await;
    let deps = Deps::new(aws::connect_core(&sdk, &resources), Arc::new(SystemClock));
    let mailer = Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk)));
    let notifier = Notifier::new(deps, mailer, Arc::new(ReqwestOutbound::new()), notify);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let notifier = notifier.clone();
        async move {
            let handle = |body: String, _receives: u32| {
                let notifier = notifier.clone();
                async move { notifier.handle(&body).await }
            };
            Ok::<_, lambda_runtime::Error>(shared::lambda::sqs_batch(event.payload, handle).await)
        }
    }))
    .await
}
