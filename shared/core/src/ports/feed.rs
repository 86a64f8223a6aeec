//! The item store's change feed: each write, oldest first, as DynamoDB Streams
//! delivers a table's (the new image of every item written, the key of every item
//! deleted). SQLite keeps it as a log written in the write's own transaction.
//! A consumer remembers the position of the last change it handled and reads on
//! from there; changes are kept a day, as a stream's are.

use super::store::{Item, StoreError};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Where the feed stands after this change: a read after it goes on from here.
    pub position: String,
    pub pk: String,
    pub sk: String,
    /// The item as written; `None` when it was deleted.
    pub item: Option<Item>,
}

/// Which changes a feed's consumer needs: those whose sort key starts with one of
/// the prefixes, or every change when it names none. A feed carries at least these.
/// SQLite's log writes only these, which saves a write most of its cost, as every
/// counter and record would otherwise be written twice; a DynamoDB stream carries
/// every write, and the relay's event source mapping filters it (`FilterCriteria`
/// in template.yaml).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    sk_prefixes: Vec<String>,
}

impl FeedFilter {
    /// Every change.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The changes to items whose sort key starts with one of `prefixes`.
    pub fn sk_prefixes(prefixes: &[&str]) -> Self {
        Self {
            sk_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    pub fn carries(&self, sk: &str) -> bool {
        self.sk_prefixes.is_empty() || self.sk_prefixes.iter().any(|p| sk.starts_with(p))
    }
}

#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `max` changes after `after` (the oldest kept when `None`), oldest
    /// first. Changes to one item always come in the order they were made.
    async fn read(&self, after: Option<&str>, max: usize) -> Result<Vec<Change>, StoreError>;
}
