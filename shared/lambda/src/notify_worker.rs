//! `notify-worker`: the e-mails (SES v2), the Slack message and the hooks of each
//! business event on the events queue, with partial batch failures.

use crate::{events, root};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::notify::Notifier;
use backend_net::ReqwestOutbound;
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;

pub const NEEDS: &[Part] = &[Part::Aws, Part::Notify];

/// Builds the function's services on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<Notifier, ConfigError> {
    let deps = root::deps(backend_aws::connect_core(sdk, root::resources(&settings)?));
    let notify = settings
        .notify
        .ok_or_else(|| ConfigError::missing(&["MAIL_FROM"]))?;
    let mailer = Arc::new(backend_aws::SesMailer::new(aws_sdk_sesv2::Client::new(sdk)));
    Ok(Notifier::new(
        deps,
        mailer,
        Arc::new(ReqwestOutbound::new()),
        notify,
    ))
}

pub async fn handler(
    notifier: &Notifier,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(events::sqs_batch(notifier, event.payload).await)
}
