//! Use cases over the ports. Nothing here knows HTTP, Lambda or AWS: the routers
//! and workers translate their inputs into these calls and the results back.

pub mod addresses;
pub mod auth;
pub mod chat;
pub mod chat_frames;
pub mod chat_socket;
pub mod counters;
pub mod dispatch;
pub mod drafting;
pub mod erasure;
pub mod error;
pub mod export;
pub mod figures;
pub mod hook_registry;
pub mod idempotency;
pub mod inquiries;
pub mod limits;
pub mod notify;
pub mod outbox;
pub mod records;
pub mod render;
pub mod reports;
pub mod retention;
pub mod retry;
pub mod scheduled;
pub mod worker;

use crate::ports::{Clock, IdSource, ItemStore, Queue, RandomIds};
use std::sync::Arc;

pub use error::{AppError, ErrorCode, Missing};
pub use inquiries::{InquiryFilter, InquiryService, Listing, Submitted};
pub use outbox::{FeedRelay, Relay, Relayed};
pub use scheduled::{PassOutcome, ScheduledPass};

/// The ports every use case draws from, cheap to clone.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

impl Deps {
    /// On these adapters and clock, with random ids shared by the whole process
    /// (so ids from every service sort in the order they were made).
    pub fn new(adapters: crate::ports::Adapters, clock: Arc<dyn Clock>) -> Self {
        static IDS: std::sync::LazyLock<Arc<RandomIds>> =
            std::sync::LazyLock::new(Default::default);
        Self {
            store: adapters.store,
            queue: adapters.queue,
            clock,
            ids: IDS.clone(),
        }
    }

    /// The same, with ids from `ids` (a test's `SequentialIds`).
    pub fn with_ids(self, ids: Arc<dyn IdSource>) -> Self {
        Self { ids, ..self }
    }

    /// A new id stamped with this clock's time.
    pub fn ulid(&self) -> ulid::Ulid {
        self.ids.ulid(self.clock.now().into())
    }
}
