//! The narrow traits the use cases need from the world. Each has one contract
//! suite (`tests/` of this crate) that every adapter must pass unchanged.

pub mod blob;
pub mod clock;
pub mod llm;
pub mod mail;
pub mod outbound;
pub mod push;
pub mod queue;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use queue::{Delivery, Message, Queue, QueueError, QueueName};
pub use store::{Condition, Cursor, Item, ItemStore, Page, Query, SkRange, StoreError, WriteOp};
