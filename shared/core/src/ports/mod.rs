//! The narrow traits the use cases need from the world. Each has one contract
//! suite (`tests/` of this crate) that every adapter must pass unchanged.

pub mod blob;
pub mod clock;
pub mod feed;
pub mod ids;
pub mod llm;
pub mod mail;
pub mod outbound;
pub mod push;
pub mod queue;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use feed::{Change, ChangeFeed, FeedFilter};
pub use ids::{IdSource, RandomIds, SequentialIds};
pub use queue::{Delivery, Message, Queue, QueueError, QueueName};
pub use store::{Condition, Cursor, Item, ItemStore, Page, Query, SkRange, StoreError, WriteOp};

use std::sync::Arc;

/// The adapters one process runs on, as a composition root hands them over.
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    /// Report files; absent for a process that handles none (no bucket configured).
    pub blobs: Option<Arc<dyn blob::BlobStore>>,
    /// The store's changes, for a process that relays them by polling (the dev
    /// server); a Lambda gets them in its event instead.
    pub feed: Option<Arc<dyn feed::ChangeFeed>>,
}
