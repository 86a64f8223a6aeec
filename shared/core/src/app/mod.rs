//! Use cases over the ports. Nothing here knows HTTP, Lambda or AWS: the routers
//! and workers translate their inputs into these calls and the results back.

pub mod auth;
pub mod chat;
pub mod chat_frames;
pub mod chat_socket;
pub mod dispatch;
pub mod drafting;
pub mod error;
pub mod figures;
pub mod hook_registry;
pub mod idempotency;
pub mod inquiries;
pub mod notify;
pub mod outbox;
pub mod render;
pub mod reports;
pub mod retry;
pub mod scheduled;
pub mod worker;

use crate::ports::{Clock, ItemStore, Queue};
use std::sync::Arc;

pub use error::{AppError, ErrorCode, Missing};
pub use inquiries::{InquiryFilter, InquiryService, Listing, Submitted};
pub use outbox::OutboxRelay;
pub use scheduled::{PassOutcome, ScheduledPass};

/// The ports every use case draws from, cheap to clone.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    pub fn new(adapters: crate::ports::Adapters, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: adapters.store,
            queue: adapters.queue,
            clock,
        }
    }

    /// A new ULID stamped with this clock's time, so ids sort by creation; within
    /// one millisecond they still sort in the order they were made (a chat
    /// question before its answer), as the process hands them out monotonically.
    pub fn ulid(&self) -> ulid::Ulid {
        static IDS: std::sync::LazyLock<std::sync::Mutex<ulid::Generator>> =
            std::sync::LazyLock::new(|| std::sync::Mutex::new(ulid::Generator::new()));
        let at: std::time::SystemTime = self.clock.now().into();
        let mut ids = IDS.lock().unwrap_or_else(|p| p.into_inner());
        ids.generate_from_datetime(at)
            .unwrap_or_else(|_| ulid::Ulid::from_datetime(at))
    }
}
