//! The transactional outbox. A change and the queue messages it causes are written
//! in one store batch; the messages are then sent at once and, whatever happens to
//! that send, the relay sends what is still in the outbox later. So no inquiry is
//! ever stored without its event reaching the queue, at the price of a possible
//! duplicate that consumers already drop by event id.

use super::records::{self, Walk, OUTBOX_PK};
use super::{AppError, Deps};
use crate::domain::DomainEvent;
use crate::ports::{Condition, Item, Message, Query, QueueName, SkRange, WriteOp};
use serde_json::json;
use std::time::Duration;

/// Entries one relay pass sends at most; the next pass goes on from there.
const MAX_PER_PASS: usize = 1000;

/// One pending send: which queue, which message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub queue: QueueName,
    pub message: Message,
    sk: String,
}

impl Entry {
    pub fn for_event(queue: QueueName, event: &DomainEvent, created_ms: i128) -> Self {
        Self {
            queue,
            message: Message {
                id: event.id.clone(),
                body: serde_json::to_string(event).unwrap_or_default(),
            },
            // Time first so the relay reads the oldest first and can skip young ones.
            sk: format!("{created_ms:015}#{}#{}", event.id, queue.as_str()),
        }
    }

    pub fn put(&self) -> WriteOp {
        let item = Item::new(
            OUTBOX_PK,
            &self.sk,
            json!({"queue": self.queue.as_str(), "id": self.message.id, "body": self.message.body}),
        );
        WriteOp::Put {
            item,
            condition: Condition::NotExists,
        }
    }

    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            queue: QueueName::parse(item.data["queue"].as_str()?)?,
            message: Message {
                id: item.data["id"].as_str()?.to_string(),
                body: item.data["body"].as_str()?.to_string(),
            },
            sk: item.sk.clone(),
        })
    }

    fn created_ms(&self) -> i128 {
        self.sk
            .split('#')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }
}

/// Events that go out with a change: their entries join the change's write batch
/// (`writes`), and once the batch is written `send` sends them at once, leaving
/// to the relay whatever could not be sent. This is the one way an event leaves.
pub struct Outgoing {
    entries: Vec<Entry>,
}

impl Outgoing {
    /// `event` for each of `queues`.
    pub fn new(deps: &Deps, event: &DomainEvent, queues: &[QueueName]) -> Self {
        let now_ms = deps.clock.now().unix_timestamp_nanos() / 1_000_000;
        Self {
            entries: queues
                .iter()
                .map(|q| Entry::for_event(*q, event, now_ms))
                .collect(),
        }
    }

    /// The outbox entries, for the change's batch.
    pub fn writes(&self) -> impl Iterator<Item = WriteOp> + '_ {
        self.entries.iter().map(Entry::put)
    }

    /// Sends what the written batch put in the outbox; returns how many were sent.
    pub async fn send(self, deps: &Deps) -> usize {
        flush(deps, &self.entries).await
    }
}

/// An event that goes with no other change: its entries written on their own,
/// then sent.
pub async fn emit(deps: &Deps, event: &DomainEvent, queues: &[QueueName]) -> Result<(), AppError> {
    let out = Outgoing::new(deps, event, queues);
    deps.store.write(out.writes().collect()).await?;
    out.send(deps).await;
    Ok(())
}

/// Sends entries and removes each one that was sent. A failed send leaves the
/// entry for the relay; returns how many were sent.
async fn flush(deps: &Deps, entries: &[Entry]) -> usize {
    let mut sent = 0;
    for e in entries {
        match deps.queue.send(e.queue, &e.message).await {
            Ok(()) => {
                sent += 1;
                let del = WriteOp::Delete {
                    pk: OUTBOX_PK.into(),
                    sk: e.sk.clone(),
                    condition: Condition::None,
                };
                if let Err(err) = deps.store.write(vec![del]).await {
                    // Harmless: the relay sends it again and consumers drop the duplicate.
                    tracing::warn!(error = %err, message_id = %e.message.id, "outbox entry sent but not cleared");
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, message_id = %e.message.id, queue = e.queue.as_str(), "queue send failed; left in the outbox");
            }
        }
    }
    sent
}

/// Re-sends outbox entries older than a grace period (younger ones are still being
/// sent by the request that wrote them).
#[derive(Clone)]
pub struct OutboxRelay {
    deps: Deps,
    grace: Duration,
}

impl OutboxRelay {
    pub fn new(deps: Deps, grace: Duration) -> Self {
        Self { deps, grace }
    }

    /// One pass over the outbox; returns how many messages were sent.
    pub async fn run_once(&self) -> Result<usize, AppError> {
        let cutoff = (self.deps.clock.now() - self.grace).unix_timestamp_nanos() / 1_000_000;
        let mut due = Vec::new();
        let q = Query::table(OUTBOX_PK).range(SkRange::All).limit(100);
        // Oldest first: the first young entry means every later one is young too.
        records::walk(self.deps.store.as_ref(), &q, |item| {
            let Some(entry) = Entry::from_item(&item) else {
                return Ok(Walk::Continue);
            };
            if entry.created_ms() > cutoff {
                return Ok(Walk::Stop);
            }
            due.push(entry);
            Ok(if due.len() >= MAX_PER_PASS {
                Walk::Stop
            } else {
                Walk::Continue
            })
        })
        .await?;
        Ok(flush(&self.deps, &due).await)
    }

    /// Entries still waiting, oldest first (for health and tests).
    pub async fn pending(&self) -> Result<Vec<Entry>, AppError> {
        let page = self
            .deps
            .store
            .query(&Query::table(OUTBOX_PK).limit(1000))
            .await?;
        Ok(page.items.iter().filter_map(Entry::from_item).collect())
    }
}
