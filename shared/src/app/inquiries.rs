//! Inquiry use cases: submit (validate, categorise, store with its event) and read.

use super::idempotency::{self, IdempotencyKey, Recorded};
use super::outbox::{self, Entry};
use super::{AppError, Deps};
use crate::domain::{
    categorise, rfc3339, DomainEvent, EventType, Inquiry, InquiryId, InquiryStatus, NewInquiry,
};
use crate::ports::{Condition, Item, QueueName, StoreError, WriteOp};
use serde_json::{json, Value};

const IDEM_SCOPE: &str = "POST /api/v1/inquiries";

/// The answer to a submission, and whether it is a replay of an earlier one.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub status: u16,
    pub body: Value,
    pub replayed: bool,
}

fn inquiry_pk(id: &InquiryId) -> String {
    format!("INQ#{id}")
}

const INQUIRY_SK: &str = "INQUIRY";
/// The index partition that lists every inquiry by creation time.
const ALL_INQUIRIES: &str = "INQUIRIES";

fn inquiry_item(inq: &Inquiry, version: u64) -> Item {
    let mut item = Item::new(
        inquiry_pk(&inq.id),
        INQUIRY_SK,
        serde_json::to_value(inq).unwrap_or_default(),
    )
    .indexed(ALL_INQUIRIES, format!("{}#{}", inq.created_at, inq.id));
    item.version = version;
    item
}

#[derive(Clone)]
pub struct InquiryService {
    deps: Deps,
}

impl InquiryService {
    pub fn new(deps: Deps) -> Self {
        Self { deps }
    }

    pub async fn submit(
        &self,
        body: &Value,
        key: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<Submitted, AppError> {
        let store = self.deps.store.as_ref();
        let fingerprint = idempotency::fingerprint(body);
        if let Some(key) = key {
            if let Some(r) = idempotency::find(store, IDEM_SCOPE, key, &fingerprint).await? {
                return Ok(Submitted {
                    status: r.status,
                    body: r.body,
                    replayed: true,
                });
            }
        }
        let new = NewInquiry::parse(body).map_err(AppError::Validation)?;
        let now = self.deps.clock.now();
        let at = rfc3339(now);
        let c = categorise(&new.message, &new.services, now);
        let inquiry = Inquiry {
            id: InquiryId::new(self.deps.ulid()),
            name: new.name,
            email: new.email,
            company: new.company,
            phone: new.phone,
            services: new.services,
            message: new.message,
            source: new.source,
            status: InquiryStatus::Pending,
            priority: c.priority,
            tags: c.tags,
            created_at: at.clone(),
            updated_at: at.clone(),
        };
        let event = DomainEvent {
            id: DomainEvent::new_id(self.deps.ulid()),
            event_type: EventType::InquiryCreated,
            inquiry_id: inquiry.id.to_string(),
            occurred_at: at,
            correlation_id: correlation_id.to_string(),
            payload: json!({"priority": inquiry.priority, "services": inquiry.services}),
        };
        let now_ms = now.unix_timestamp_nanos() / 1_000_000;
        // Reports are drafted from it, and notifications sent for it.
        let entries =
            [QueueName::Reports, QueueName::Events].map(|q| Entry::for_event(q, &event, now_ms));
        let answer = Recorded {
            status: 201,
            body: json!({"success": true, "data": inquiry, "message": "Inquiry created successfully"}),
        };

        let mut ops = vec![WriteOp::Put {
            item: inquiry_item(&inquiry, 1),
            condition: Condition::NotExists,
        }];
        ops.extend(entries.iter().map(Entry::put));
        if let Some(key) = key {
            ops.push(idempotency::record(
                IDEM_SCOPE,
                key,
                &fingerprint,
                &answer,
                now.unix_timestamp(),
            ));
        }
        match store.write(ops).await {
            Ok(()) => {}
            // A concurrent request with the same key got there first: answer as it did.
            Err(StoreError::ConditionFailed) if key.is_some() => {
                let key = key.expect("checked above");
                return match idempotency::find(store, IDEM_SCOPE, key, &fingerprint).await? {
                    Some(r) => Ok(Submitted {
                        status: r.status,
                        body: r.body,
                        replayed: true,
                    }),
                    None => Err(AppError::Conflict(
                        "a concurrent request changed the same data".into(),
                    )),
                };
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(inquiry_id = %inquiry.id, event_id = %event.id, priority = %inquiry.priority, "inquiry stored");
        outbox::flush(&self.deps, &entries).await;
        Ok(Submitted {
            status: answer.status,
            body: answer.body,
            replayed: false,
        })
    }

    pub async fn get(&self, id: &InquiryId) -> Result<Inquiry, AppError> {
        let item = self
            .deps
            .store
            .get(&inquiry_pk(id), INQUIRY_SK)
            .await?
            .ok_or(AppError::NotFound)?;
        serde_json::from_value(item.data)
            .map_err(|e| AppError::Unavailable(format!("stored inquiry unreadable: {e}")))
    }
}
