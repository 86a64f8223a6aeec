//! Plain types and rules, no I/O. Every type here can only hold a valid value:
//! parsing a request produces them, and nothing downstream checks again.

pub mod categorise;
pub mod chat;
pub mod email;
pub mod event;
pub mod hook;
pub mod inquiry;
pub mod report;
pub mod service;
pub mod status;

pub use categorise::{categorise, Categorisation, Priority};
pub use email::Email;
pub use event::{DomainEvent, EventType};
pub use inquiry::{FieldErrors, Inquiry, InquiryId, NewInquiry};
pub use service::ServiceType;
pub use status::InquiryStatus;

/// The current time as RFC 3339 in UTC with second precision, as API.md shows it.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
