//! `report-worker`: one report per `inquiry_created` event on the reports queue,
//! drafted by the Bedrock model when one is named (else from the template), stored
//! in S3, with partial batch failures.

use crate::{events, root};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::drafting::Drafter;
use backend_core::app::reports::ReportService;
use backend_core::ports::llm::Llm;
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;

pub const NEEDS: &[Part] = &[Part::Aws, Part::Bucket];

/// Builds the function's services on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<ReportService, ConfigError> {
    let adapters = backend_aws::connect_with(sdk, root::resources(&settings)?);
    let blobs = adapters
        .blobs
        .clone()
        .ok_or_else(|| ConfigError::missing(&["REPORTS_BUCKET"]))?;
    let llm = root::model(sdk, &settings).map(|m| Arc::new(m) as Arc<dyn Llm>);
    let drafter = Arc::new(Drafter::standard(llm));
    Ok(ReportService::new(root::deps(adapters), blobs, drafter))
}

pub async fn handler(
    reports: &ReportService,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(events::sqs_batch(reports, event.payload).await)
}
