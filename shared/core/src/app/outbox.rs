//! The transactional outbox. A change and the events it causes are written in one
//! store batch, each event as an outbox entry in its inquiry's partition; that
//! write is the only call the change makes. The store's change feed (a DynamoDB
//! stream, or SQLite's change log) then carries each entry to the relay, which
//! sends it to its queue. So an event leaves exactly when its change is stored.
//! A feed batch delivered again may send an event twice; consumers drop the
//! duplicate by event id. Entries expire after a day, so nothing deletes them.

use super::records;
use super::{AppError, Deps};
use crate::domain::DomainEvent;
use crate::ports::queue::Partial;
use crate::ports::{
    Change, ChangeFeed, Condition, FeedFilter, Item, Message, Queue, QueueName, WriteOp,
};
use serde_json::json;
use std::sync::Arc;

/// How long an entry is kept after it is written: longer than any feed keeps it.
const ENTRY_TTL_SECS: i64 = 2 * 24 * 3600;

/// One pending send: which queue, which message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub queue: QueueName,
    pub message: Message,
    inquiry_id: String,
}

impl Entry {
    pub fn for_event(queue: QueueName, event: &DomainEvent) -> Self {
        Self {
            queue,
            message: Message {
                id: event.id.clone(),
                body: serde_json::to_string(event).unwrap_or_default(),
            },
            inquiry_id: event.inquiry_id.clone(),
        }
    }

    fn put(&self, now_unix: i64) -> WriteOp {
        let item = Item::new(
            records::outbox_pk(&self.inquiry_id),
            records::outbox_sk(&self.message.id, self.queue.as_str()),
            json!({"queue": self.queue.as_str(), "id": self.message.id, "body": self.message.body}),
        )
        .expiring_at(now_unix + ENTRY_TTL_SECS);
        WriteOp::Put {
            item,
            condition: Condition::NotExists,
        }
    }

    /// The entry a change wrote, if it wrote one.
    pub fn of_change(change: &Change) -> Option<Self> {
        if !change.sk.starts_with(records::OUTBOX_PREFIX) {
            return None;
        }
        let item = change.item.as_ref()?;
        Some(Self {
            queue: QueueName::parse(item.data["queue"].as_str()?)?,
            message: Message {
                id: item.data["id"].as_str()?.to_string(),
                body: item.data["body"].as_str()?.to_string(),
            },
            inquiry_id: String::new(),
        })
    }
}

/// Events that go out with a change: their entries join the change's write batch.
/// This is the one way an event leaves.
pub struct Outgoing {
    entries: Vec<Entry>,
    now_unix: i64,
}

impl Outgoing {
    /// `event` for each of `queues`.
    pub fn new(deps: &Deps, event: &DomainEvent, queues: &[QueueName]) -> Self {
        Self {
            entries: queues.iter().map(|q| Entry::for_event(*q, event)).collect(),
            now_unix: deps.clock.now().unix_timestamp(),
        }
    }

    /// The outbox entries, for the change's batch.
    pub fn writes(&self) -> impl Iterator<Item = WriteOp> + '_ {
        self.entries.iter().map(|e| e.put(self.now_unix))
    }
}

/// An event that goes with no other change: its entries written on their own.
pub async fn emit(deps: &Deps, event: &DomainEvent, queues: &[QueueName]) -> Result<(), AppError> {
    let out = Outgoing::new(deps, event, queues);
    deps.store.write(out.writes().collect()).await?;
    Ok(())
}

/// What relaying a batch of changes came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relayed {
    pub sent: usize,
    /// The first change whose entry could not be sent: it and every later one are
    /// to be delivered again (their order kept); `None` when all went out.
    pub failed_at: Option<usize>,
}

/// Sends the outbox entries among changes to their queues, in order.
#[derive(Clone)]
pub struct Relay {
    queue: Arc<dyn Queue>,
}

impl Relay {
    pub fn new(queue: Arc<dyn Queue>) -> Self {
        Self { queue }
    }

    /// Each queue's entries go out in batches of ten, in the changes' order, one
    /// queue after the other. After a failure, the next queue sends only what comes
    /// before it, and the changes from the first entry not sent on are delivered
    /// again. An entry of an earlier queue that went out after that point is then
    /// sent twice (which consumers drop); a failure in the first queue, or one after
    /// every earlier entry went out, sends nothing twice.
    pub async fn relay(&self, changes: &[Change]) -> Relayed {
        let mut out = Relayed::default();
        for queue in QueueName::ALL {
            let entries: Vec<(usize, Message)> = changes
                .iter()
                .enumerate()
                .take(out.failed_at.unwrap_or(changes.len()))
                .filter_map(|(i, c)| Entry::of_change(c).map(|e| (i, e)))
                .filter(|(_, e)| e.queue == queue)
                .map(|(i, e)| (i, e.message))
                .collect();
            for chunk in entries.chunks(SEND_BATCH) {
                let msgs: Vec<Message> = chunk.iter().map(|(_, m)| m.clone()).collect();
                match self.queue.send_many(queue, &msgs).await {
                    Ok(()) => out.sent += msgs.len(),
                    Err(Partial { sent, error }) => {
                        let sent = sent.min(chunk.len() - 1);
                        tracing::warn!(%error, message_id = %chunk[sent].1.id, queue = queue.as_str(), "queue send failed; the change is delivered again");
                        out.sent += sent;
                        out.failed_at = Some(chunk[sent].0);
                        break;
                    }
                }
            }
        }
        out
    }
}

/// The changes the relay reads: outbox entries, as its event source mapping's filter
/// on the stream lets through.
pub fn feed_filter() -> FeedFilter {
    FeedFilter::sk_prefixes(&[records::OUTBOX_PREFIX])
}

/// Messages sent in one call: SQS's batch.
const SEND_BATCH: usize = 10;

/// The relay over a feed it polls (the dev server), remembering in the store the
/// position of the last change it handled.
#[derive(Clone)]
pub struct FeedRelay {
    deps: Deps,
    feed: Arc<dyn ChangeFeed>,
    relay: Relay,
}

/// Changes read per pass.
const FEED_BATCH: usize = 100;

impl FeedRelay {
    pub fn new(deps: Deps, feed: Arc<dyn ChangeFeed>) -> Self {
        let relay = Relay::new(deps.queue.clone());
        Self { deps, feed, relay }
    }

    /// One pass: relays a batch of what the feed holds after the stored position.
    pub async fn run_once(&self) -> Result<FeedPass, AppError> {
        let store = self.deps.store.as_ref();
        let stored = store
            .get(records::FEED_POSITION_PK, records::FEED_POSITION_SK)
            .await?;
        let after = stored
            .as_ref()
            .and_then(|i| i.data["position"].as_str().map(str::to_string));
        let changes = self.feed.read(after.as_deref(), FEED_BATCH).await?;
        let relayed = self.relay.relay(&changes).await;
        let handled = &changes[..relayed.failed_at.unwrap_or(changes.len())];
        // Storing the position is itself a change: one that only moved past that
        // change is not stored again, or the relay would chase its own tail. A whole
        // batch of them (a long backlog leaves one per pass behind it) is moved past
        // all the same, or the next pass would read the same batch for ever.
        let moved = handled.iter().any(|c| c.pk != records::FEED_POSITION_PK)
            || handled.len() == FEED_BATCH;
        if let (true, Some(last)) = (moved, handled.last()) {
            let item = Item::new(
                records::FEED_POSITION_PK,
                records::FEED_POSITION_SK,
                json!({"position": last.position}),
            );
            store
                .write(vec![WriteOp::Put {
                    item,
                    condition: Condition::None,
                }])
                .await?;
        }
        Ok(FeedPass {
            sent: relayed.sent,
            more: relayed.failed_at.is_none() && changes.len() == FEED_BATCH,
        })
    }
}

/// What one pass of the polling relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPass {
    pub sent: usize,
    /// A whole batch went out and more may wait: go on at once.
    pub more: bool,
}
