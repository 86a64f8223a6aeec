//! Manual hook runs (`POST /api/v1/hooks/trigger`): an event is queued, through the
//! outbox, that tells the notify worker to run one hook (or every hook of an event)
//! for an inquiry, and nothing else.

use super::outbox;
use super::{AppError, Deps, InquiryService};
use crate::domain::hook::Hook;
use crate::domain::{rfc3339, DomainEvent, EventType, InquiryId};
use crate::ports::QueueName;
use serde_json::json;

pub enum Target<'a> {
    Hook(&'a Hook),
    Event(EventType),
}

/// Queues the run and returns its dispatch id (the id of the queued event).
pub async fn trigger(
    deps: &Deps,
    target: Target<'_>,
    inquiry: &InquiryId,
    correlation_id: &str,
) -> Result<String, AppError> {
    InquiryService::new(deps.clone()).get(inquiry).await?;
    let (event_type, payload) = match target {
        Target::Hook(h) => (h.event, json!({"only_hook": h.id, "manual": true})),
        Target::Event(e) => (e, json!({"hooks_only": true, "manual": true})),
    };
    let now = deps.clock.now();
    let event = DomainEvent {
        id: DomainEvent::new_id(deps.ulid()),
        event_type,
        inquiry_id: inquiry.to_string(),
        occurred_at: rfc3339(now),
        correlation_id: correlation_id.to_string(),
        payload,
    };
    outbox::emit(deps, &event, &[QueueName::Events]).await?;
    Ok(event.id)
}
