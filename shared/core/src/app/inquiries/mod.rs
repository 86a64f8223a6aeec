//! Inquiry use cases: submit (validate, categorise, store with its event), read one,
//! change its status; the listings and the count are in `listing`.

mod listing;

pub use listing::{Created, InquiryFilter, Listing};

use super::counters;
use super::figures;
use super::idempotency::{self, IdempotencyKey};
use super::limits::WindowLimit;
use super::outbox::Outgoing;
use super::records;
use super::reports::ReportRecords;
use super::{AppError, Deps, Missing};
use crate::domain::{
    categorise, rfc3339, DomainEvent, EventType, Inquiry, InquiryId, InquiryStatus, NewInquiry,
};
use crate::ports::{Condition, Item, ItemStore, Query, QueueName, StoreError, WriteOp};
use serde_json::{json, Value};

const IDEM_SCOPE: &str = "POST /api/v1/inquiries";

/// The inquiry a submission stored, and whether this is a replay of an earlier
/// submission under the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub inquiry: Inquiry,
    pub replayed: bool,
}

/// An inquiry's record, marked as counted: every write of one adds its counts.
fn inquiry_item(inq: &Inquiry, version: u64) -> Item {
    let mut item = Item::new(
        records::inquiry_pk(&inq.id),
        records::INQUIRY_SK,
        serde_json::to_value(inq).unwrap_or_default(),
    )
    .indexed(
        records::inquiries_in(inq.status),
        records::inquiry_position(&inq.created_at, &inq.id),
    );
    item.version = version;
    counters::mark(item)
}

#[derive(Clone)]
pub struct InquiryService {
    deps: Deps,
    /// Submissions one client may make (`submit_from`).
    per_client: Option<WindowLimit>,
}

impl InquiryService {
    pub fn new(deps: Deps) -> Self {
        Self {
            deps,
            per_client: None,
        }
    }

    /// The same, with at most `limit` submissions per client.
    pub fn limiting_clients(self, limit: WindowLimit) -> Self {
        Self {
            per_client: Some(limit),
            ..self
        }
    }

    /// A submission from the web form's `client` (its address), within the
    /// per-client limit. The limit's counter goes in the submission's own batch, so
    /// it costs no call of its own; a replay under an idempotency key does not count.
    pub async fn submit_from(
        &self,
        client: &str,
        body: &Value,
        key: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<Submitted, AppError> {
        self.submit_as(Some(client), body, key, correlation_id)
            .await
    }

    /// A submission with no client to limit (the use case called directly).
    pub async fn submit(
        &self,
        body: &Value,
        key: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<Submitted, AppError> {
        self.submit_as(None, body, key, correlation_id).await
    }

    async fn submit_as(
        &self,
        client: Option<&str>,
        body: &Value,
        key: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<Submitted, AppError> {
        let store = self.deps.store.as_ref();
        let fingerprint = idempotency::fingerprint(body);
        if let Some(key) = key {
            if let Some(r) = idempotency::find(store, IDEM_SCOPE, key, &fingerprint).await? {
                return replayed(r);
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
        // Reports are drafted from it, and notifications sent for it.
        let outgoing = Outgoing::new(&self.deps, &event, &[QueueName::Reports, QueueName::Events]);

        let mut ops = vec![
            WriteOp::Put {
                item: inquiry_item(&inquiry, 1),
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: ReportRecords::shelf_item(&inquiry.id, &[], 1),
                condition: Condition::NotExists,
            },
            // An address's inquiries are exported and erased together.
            WriteOp::Put {
                item: records::email_entry(&inquiry.email, &inquiry.id),
                condition: Condition::None,
            },
        ];
        ops.extend(outgoing.writes());
        ops.extend(figures::inquiry_tally(&inquiry, now).writes());
        let counted = match (client, self.per_client) {
            (Some(client), Some(limit)) => {
                let counter = ClientCounter::new(client, limit, now.unix_timestamp());
                ops.push(counter.count());
                Some(counter)
            }
            _ => None,
        };
        if let Some(key) = key {
            ops.push(idempotency::record(
                IDEM_SCOPE,
                key,
                &fingerprint,
                &serde_json::to_value(&inquiry).unwrap_or_default(),
                now.unix_timestamp(),
            ));
            // The record holds the inquiry as answered: its erasure must find it.
            let link = records::link(
                &inquiry.id,
                records::LinkKind::Idempotency,
                &key.item_pk(IDEM_SCOPE),
                Some(records::IDEMPOTENCY_SK),
            );
            ops.push(WriteOp::Put {
                item: link,
                condition: Condition::None,
            });
        }
        let written = store.write(ops).await;
        if let (Err(StoreError::ConditionFailed), Some(counter)) = (&written, &counted) {
            counter.refuse_if_spent(store, now.unix_timestamp()).await?;
        }
        match written {
            Ok(()) => {}
            // A concurrent request with the same key got there first: answer as it did.
            Err(StoreError::ConditionFailed) if key.is_some() => {
                let key = key.expect("checked above");
                return match idempotency::find(store, IDEM_SCOPE, key, &fingerprint).await? {
                    Some(r) => replayed(r),
                    None => Err(AppError::Conflict(
                        "a concurrent request changed the same data".into(),
                    )),
                };
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(inquiry_id = %inquiry.id, event_id = %event.id, priority = %inquiry.priority, "inquiry stored");
        Ok(Submitted {
            inquiry,
            replayed: false,
        })
    }

    pub async fn get(&self, id: &InquiryId) -> Result<Inquiry, AppError> {
        Ok(self.get_versioned(id).await?.0)
    }

    /// The inquiry, its version, and whether its counts were added.
    async fn get_versioned(&self, id: &InquiryId) -> Result<(Inquiry, u64, bool), AppError> {
        let item = self
            .deps
            .store
            .get(&records::inquiry_pk(id), records::INQUIRY_SK)
            .await?
            .ok_or(AppError::NotFound(Missing::Inquiry))?;
        Ok((decode(&item)?, item.version, counters::is_counted(&item)))
    }

    /// Moves up to `max` inquiries from the legacy index partition into their status
    /// partitions; returns how many moved. Run on a schedule until it returns 0.
    /// The data and `version` stay as they are, so a status change racing with it
    /// either wins (and this write is skipped) or finds its version unchanged.
    pub async fn reindex_legacy(&self, max: usize) -> Result<usize, AppError> {
        let page = self
            .deps
            .store
            .query(&Query::index(records::LEGACY_INQUIRIES).limit(max.clamp(1, 100)))
            .await?;
        let mut moved = 0;
        for item in page.items {
            let inq = decode(&item)?;
            let mut moved_item = inquiry_item(&inq, item.version);
            if !counters::is_counted(&item) {
                // Left for the counts' backfill, which finds it in its new partition.
                moved_item.data = item.data.clone();
            }
            let put = WriteOp::Put {
                item: moved_item,
                condition: Condition::Version(item.version),
            };
            // Filed under its address as it moves (the address backfill reads the
            // status partitions before the legacy one).
            let filed = WriteOp::Put {
                item: records::email_entry(&inq.email, &inq.id),
                condition: Condition::None,
            };
            match self.deps.store.write(vec![put, filed]).await {
                Ok(()) => moved += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }

    /// Moves an inquiry along the transition table and emits `status_changed`.
    pub async fn change_status(
        &self,
        id: &InquiryId,
        to: InquiryStatus,
        note: Option<String>,
        actor: &str,
        correlation_id: &str,
    ) -> Result<Inquiry, AppError> {
        let (mut inquiry, version, counted) = self.get_versioned(id).await?;
        let from = inquiry.status;
        if !from.can_move_to(to) {
            return Err(AppError::InvalidTransition { from, to });
        }
        let now = self.deps.clock.now();
        inquiry.status = to;
        inquiry.updated_at = rfc3339(now);
        let event = DomainEvent {
            id: DomainEvent::new_id(self.deps.ulid()),
            event_type: EventType::StatusChanged,
            inquiry_id: id.to_string(),
            occurred_at: inquiry.updated_at.clone(),
            correlation_id: correlation_id.to_string(),
            payload: json!({"from": from, "to": to, "note": note, "actor": actor}),
        };
        let outgoing = Outgoing::new(&self.deps, &event, &[QueueName::Events]);
        let mut ops = vec![
            WriteOp::Put {
                item: inquiry_item(&inquiry, version + 1),
                condition: Condition::Version(version),
            },
            // Filed again under its address: the address index's backfill may have
            // read its new status partition before it moved there.
            WriteOp::Put {
                item: records::email_entry(&inquiry.email, &inquiry.id),
                condition: Condition::None,
            },
        ];
        ops.extend(outgoing.writes());
        // It moves from one status's counts to the other's; one stored before the
        // counts is counted whole now (and marked, so the backfill skips it).
        let mut tally = figures::inquiry_tally(&inquiry, now);
        if counted {
            let mut before = inquiry.clone();
            before.status = from;
            figures::count_inquiry(&mut tally, &before, -1);
        }
        ops.extend(tally.writes());
        match self.deps.store.write(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return Err(AppError::Conflict(
                    "The inquiry was changed by someone else; reload and retry".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(inquiry_id = %id, %from, %to, "status changed");
        Ok(inquiry)
    }
}

/// One client's submissions in the current window of its limit.
struct ClientCounter {
    pk: String,
    sk: String,
    limit: WindowLimit,
    /// When the window ends, the counter expires and the client may go on.
    ends: i64,
}

impl ClientCounter {
    fn new(client: &str, limit: WindowLimit, now: i64) -> Self {
        let per = limit.per.as_secs().max(1) as i64;
        let start = now - now.rem_euclid(per);
        Self {
            pk: records::submissions_pk(client),
            sk: format!("W#{start}"),
            limit,
            ends: start + per,
        }
    }

    fn count(&self) -> WriteOp {
        WriteOp::Count {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
            max: self.limit.max,
            expires_at: self.ends,
        }
    }

    /// After a refused batch: whether it was this counter that refused it.
    async fn refuse_if_spent(&self, store: &dyn ItemStore, now: i64) -> Result<(), AppError> {
        let used = store
            .get(&self.pk, &self.sk)
            .await?
            .map_or(0, |i| i.version);
        if used >= self.limit.max {
            return Err(AppError::RateLimited {
                retry_after: (self.ends - now).max(1) as u64,
                reason: format!(
                    "at most {} inquiries per {} seconds from one address",
                    self.limit.max,
                    self.limit.per.as_secs()
                ),
            });
        }
        Ok(())
    }
}

/// The inquiry an earlier submission under the same key recorded.
fn replayed(recorded: Value) -> Result<Submitted, AppError> {
    let inquiry = serde_json::from_value(recorded)
        .map_err(|e| AppError::Unavailable(format!("recorded submission unreadable: {e}")))?;
    Ok(Submitted {
        inquiry,
        replayed: true,
    })
}

fn decode(item: &Item) -> Result<Inquiry, AppError> {
    records::decode(item, "inquiry")
}
