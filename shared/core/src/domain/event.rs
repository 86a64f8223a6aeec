//! Business events. Each is created once, stored with the change that caused it,
//! and carries its own id so every consumer can do its side effects exactly once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    InquiryCreated,
    ReportGenerated,
    /// A report job gave up for good (its message goes to the dead-letter queue).
    ReportFailed,
    StatusChanged,
    NotificationSent,
    ConsultantAssigned,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InquiryCreated => "inquiry_created",
            Self::ReportGenerated => "report_generated",
            Self::ReportFailed => "report_failed",
            Self::StatusChanged => "status_changed",
            Self::NotificationSent => "notification_sent",
            Self::ConsultantAssigned => "consultant_assigned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// `evt_` and a lowercase ULID; the idempotency key of every side effect.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub inquiry_id: String,
    pub occurred_at: String,
    pub correlation_id: String,
    #[serde(default)]
    pub payload: Value,
}

impl DomainEvent {
    pub fn new_id(ulid: ulid::Ulid) -> String {
        format!("evt_{}", ulid.to_string().to_lowercase())
    }
}
