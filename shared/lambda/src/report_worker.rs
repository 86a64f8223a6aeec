//! `report-worker`: one report per `inquiry_created` event on the reports queue,
//! drafted by the Bedrock model when one is named (else from the template), stored
//! in S3, with partial batch failures. When `RETENTION_DAYS` is set, the schedule
//! `template.yaml` then turns on invokes it with `{"sweep": "retention"}` too: it
//! holds the rights to the report files, so it erases closed inquiries that are due.

use crate::{events, root};
use aws_lambda_events::event::sqs::SqsEvent;
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::drafting::Drafter;
use backend_core::app::erasure::Erasure;
use backend_core::app::reports::ReportService;
use backend_core::app::retention::Retention;
use backend_core::ports::llm::Llm;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub const NEEDS: &[Part] = &[Part::Aws, Part::Bucket];

pub struct ReportWorker {
    reports: ReportService,
    /// Present when `RETENTION_DAYS` is set.
    retention: Option<Retention>,
}

/// What the function is invoked with.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// The schedule's input.
    Sweep { sweep: Sweep },
    /// A batch of the reports queue.
    Queue(SqsEvent),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    Retention,
}

/// Builds the function's services on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<ReportWorker, ConfigError> {
    let adapters = backend_aws::connect_with(sdk, root::resources(&settings)?);
    let blobs = adapters
        .blobs
        .clone()
        .ok_or_else(|| ConfigError::missing(&["REPORTS_BUCKET"]))?;
    let llm = root::model(sdk, &settings).map(|m| Arc::new(m) as Arc<dyn Llm>);
    let drafter = Arc::new(Drafter::standard(llm));
    let deps = root::deps(adapters);
    // Lambda keeps no copy of what SES sent: there is no mail to erase here.
    let retention = settings.retention_days.map(|days| {
        let erasure = Erasure::new(deps.clone(), Some(blobs.clone()), None);
        Retention::new(deps.clone(), erasure, days)
    });
    Ok(ReportWorker {
        reports: ReportService::new(deps, blobs, drafter),
        retention,
    })
}

pub async fn handler(
    worker: &ReportWorker,
    event: LambdaEvent<Invocation>,
) -> Result<Value, Error> {
    match event.payload {
        Invocation::Queue(batch) => {
            let response = events::sqs_batch(&worker.reports, batch).await;
            Ok(serde_json::to_value(response)?)
        }
        Invocation::Sweep {
            sweep: Sweep::Retention,
        } => match &worker.retention {
            Some(retention) => {
                let erased = retention.sweep().await?;
                tracing::info!(erased, "retention sweep");
                Ok(json!({"erased": erased}))
            }
            None => Ok(json!({"erased": 0, "retention": "off"})),
        },
    }
}
