//! Glue between Lambda event sources and the use cases: an SQS batch becomes one
//! call per message (with its receive count), and the messages that failed are reported back so that only
//! they are retried (`ReportBatchItemFailures`), eventually to the dead-letter queue.

use crate::app::AppError;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::future::Future;

pub async fn sqs_batch<F, Fut, T>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(String, u32) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result = match record.body {
            Some(body) => {
                let count = record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                handle(body, count).await.map(|_| ())
            }
            None => Err(AppError::Validation(
                [("body".to_string(), "missing".to_string())].into(),
            )),
        };
        if let Err(e) = result {
            tracing::warn!(message_id = %id, error = %e, "message failed; returned to the queue");
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            failures.push(f);
        }
    }
    let mut resp = SqsBatchResponse::default();
    resp.batch_item_failures = failures;
    resp
}
