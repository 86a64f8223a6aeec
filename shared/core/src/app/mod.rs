//! Use cases over the ports. Nothing here knows HTTP, Lambda or AWS: the routers
//! and workers translate their inputs into these calls and the results back.

pub mod auth;
pub mod chat;
pub mod chat_socket;
pub mod dispatch;
pub mod drafting;
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

use crate::domain::FieldErrors;
use crate::ports::{Clock, ItemStore, Queue, QueueError, StoreError};
use std::sync::Arc;

pub use inquiries::{InquiryFilter, InquiryService, Listing, Submitted};
pub use outbox::OutboxRelay;
pub use scheduled::{PassOutcome, ScheduledPass};

/// What a use case can fail with, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("cannot move an inquiry from {from} to {to}")]
    InvalidTransition {
        from: crate::domain::InquiryStatus,
        to: crate::domain::InquiryStatus,
    },
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
}

impl AppError {
    /// The code a client sees for this refusal, in the HTTP envelope and in a chat
    /// socket's error frame alike.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "VALIDATION_ERROR",
            AppError::NotFound => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InvalidTransition { .. } => "INVALID_TRANSITION",
            AppError::Unavailable(_) => "UNAVAILABLE",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed => {
                AppError::Conflict("the item changed concurrently".into())
            }
            other => AppError::Unavailable(other.to_string()),
        }
    }
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

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
