//! An in-process queue consumer, as the dev server runs its workers: receive a
//! batch, handle each message, acknowledge the ones that succeeded. A failed
//! message is left alone, becomes visible again after the visibility timeout, and
//! after the queue's receive limit lands in its dead-letter queue, as with SQS and
//! a Lambda event source mapping. A batch's messages are worked on concurrently,
//! a bounded number at a time, on both event sources.

use super::AppError;
use crate::ports::{Queue, QueueName};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The work a queue's messages are for (a report to draft, an event's
/// notifications), run the same way by both event sources: an SQS batch in Lambda
/// and the dev server's consumer.
#[async_trait]
pub trait QueueWork: Send + Sync {
    /// Handles a message the queue has delivered `receive_count` times; an error
    /// leaves it to be delivered again.
    async fn work(&self, body: &str, receive_count: u32) -> Result<(), AppError>;
}

/// Messages of one batch worked on at once: a batch (at most 10 on SQS) mostly waits
/// on the store, the model and the mail relay, not on this process, so working them
/// one after another would leave a worker idle for most of its batch.
pub const BATCH_CONCURRENCY: usize = 10;

/// Works each message (its body and receive count) of a batch, at most `limit` at a
/// time; the outcomes come back in the batch's order.
pub async fn work_batch<'a>(
    work: &dyn QueueWork,
    batch: impl IntoIterator<Item = (&'a str, u32)>,
    limit: usize,
) -> Vec<Result<(), AppError>> {
    // The futures are made first: a stream holding a closure over borrowed bodies
    // would not be `Send` for every lifetime, which a spawned consumer needs.
    let started: Vec<_> = batch
        .into_iter()
        .map(|(body, count)| work.work(body, count))
        .collect();
    futures::stream::iter(started)
        .buffered(limit.max(1))
        .collect()
        .await
}

pub struct Consumer {
    pub queue: Arc<dyn Queue>,
    pub name: QueueName,
    pub visibility: Duration,
    /// Pause after an empty receive.
    pub idle: Duration,
}

impl Consumer {
    /// Handles one received batch; returns how many messages succeeded.
    pub async fn once(&self, work: &dyn QueueWork) -> Result<usize, AppError> {
        let batch = self.queue.receive(self.name, 10, self.visibility).await?;
        let outcomes = work_batch(
            work,
            batch.iter().map(|d| (d.body.as_str(), d.receive_count)),
            BATCH_CONCURRENCY,
        )
        .await;
        let mut done = 0;
        for (d, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Ok(_) => {
                    self.queue.ack(self.name, &d.receipt).await?;
                    done += 1;
                }
                Err(e) => tracing::warn!(
                    queue = self.name.as_str(),
                    message_id = %d.id,
                    receive_count = d.receive_count,
                    error = %super::notify::redacted(&e.to_string()),
                    "message failed; it will be retried"
                ),
            }
        }
        Ok(done)
    }

    /// Runs until `stop` turns true.
    pub async fn run(&self, mut stop: watch::Receiver<bool>, work: Arc<dyn QueueWork>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let busy = match self.once(work.as_ref()).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(queue = self.name.as_str(), error = %e, "receive failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.idle) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }
}
