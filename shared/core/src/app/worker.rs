//! An in-process queue consumer, as the dev server runs its workers: receive a
//! batch, handle each message, acknowledge the ones that succeeded. A failed
//! message is left alone, becomes visible again after the visibility timeout, and
//! after the queue's receive limit lands in its dead-letter queue, as with SQS and
//! a Lambda event source mapping. A batch is handed to its work whole, on both
//! event sources, so that the work can read and write for the batch at once.

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

    /// Handles a received batch (each message's body and receive count); the
    /// outcomes come back in the batch's order. By default each message on its own,
    /// `BATCH_CONCURRENCY` at a time; work that reads and writes the same kinds of
    /// records for every message does it once for the batch instead.
    async fn work_all(&self, batch: &[(&str, u32)]) -> Vec<Result<(), AppError>> {
        each(batch, BATCH_CONCURRENCY, |(body, count)| {
            self.work(body, *count)
        })
        .await
    }
}

/// Messages of one batch worked on at once: a batch (at most 10 on SQS) mostly waits
/// on the store, the model and the mail relay, not on this process, so working them
/// one after another would leave a worker idle for most of its batch.
pub const BATCH_CONCURRENCY: usize = 10;

/// `f` over each of `items`, at most `limit` at a time; the outcomes come back in
/// the items' order.
pub async fn each<'a, T, F, Fut, R>(items: &'a [T], limit: usize, f: F) -> Vec<R>
where
    F: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = R> + 'a,
{
    // The futures are made first: a stream holding a closure over borrowed items
    // would not be `Send` for every lifetime, which a spawned consumer needs.
    let started: Vec<Fut> = items.iter().map(f).collect();
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
    /// Handles one received batch and acknowledges, in one call, the messages that
    /// succeeded; returns how many did.
    pub async fn once(&self, work: &dyn QueueWork) -> Result<usize, AppError> {
        let batch = self.queue.receive(self.name, 10, self.visibility).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let items: Vec<(&str, u32)> = batch
            .iter()
            .map(|d| (d.body.as_str(), d.receive_count))
            .collect();
        let outcomes = work.work_all(&items).await;
        let mut done = Vec::new();
        for (d, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Ok(_) => done.push(d.receipt.clone()),
                Err(e) => tracing::warn!(
                    queue = self.name.as_str(),
                    message_id = %d.id,
                    receive_count = d.receive_count,
                    error = %super::notify::redacted(&e.to_string()),
                    "message failed; it will be retried"
                ),
            }
        }
        self.queue.ack_many(self.name, &done).await?;
        Ok(done.len())
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
