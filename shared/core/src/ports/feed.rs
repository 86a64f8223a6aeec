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

#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Up to `max` changes after `after` (the oldest kept when `None`), oldest
    /// first. Changes to one item always come in the order they were made.
    async fn read(&self, after: Option<&str>, max: usize) -> Result<Vec<Change>, StoreError>;
}
