//! The job and event queues: at-least-once delivery with a visibility timeout, a
//! receive count, and a dead-letter queue after a bounded number of receives.
//!
//! Consumers must tolerate duplicates; every message carries an `id` (the domain
//! event id) that they use as the idempotency key of their side effects.

use async_trait::async_trait;
use std::time::Duration;

/// Receives after which a queue dead-letters a message: the embedded queues use it,
/// and `template.yaml`'s redrive policies say the same (`maxReceiveCount: 5`).
pub const MAX_RECEIVES: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Work for the report worker.
    Reports,
    /// Business events for the notify worker.
    Events,
}

impl QueueName {
    pub const ALL: [QueueName; 2] = [QueueName::Reports, QueueName::Events];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reports => "reports",
            Self::Events => "events",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Proof of this receive, needed to acknowledge it.
    pub receipt: String,
    pub id: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
}

/// A `send_many` that failed: its first `sent` messages went out, the rest did not.
#[derive(Debug)]
pub struct Partial {
    pub sent: usize,
    pub error: QueueError,
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages, in one round trip per ten (SQS's batch), in order; a failure
    /// says how many went out before it.
    async fn send_many(&self, queue: QueueName, msgs: &[Message]) -> Result<(), Partial>;
    async fn send(&self, queue: QueueName, msg: &Message) -> Result<(), QueueError> {
        self.send_many(queue, std::slice::from_ref(msg))
            .await
            .map_err(|p| p.error)
    }
    /// Up to `max` visible messages (at most 10), each hidden for `visibility`.
    /// A message received more often than the queue allows goes to the dead-letter
    /// queue instead of being delivered again.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;
    /// Removes received messages for good, in one round trip: at most 10 receipts
    /// (a receive's batch). A receipt that names no message removes nothing.
    async fn ack_many(&self, queue: QueueName, receipts: &[String]) -> Result<(), QueueError>;
    /// Removes one received message for good.
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.ack_many(queue, &[receipt.to_string()]).await
    }
    /// The messages in the queue's dead-letter queue, without consuming them.
    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<Message>, QueueError>;
    /// How many messages wait in the queue's dead-letter queue (approximate on SQS).
    async fn dead_letter_count(&self, queue: QueueName) -> Result<usize, QueueError>;
    async fn ping(&self) -> Result<(), QueueError>;
}
