//! Inquiry use cases: submit (validate, categorise, store with its event) and read.

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
    Priority, ServiceType,
};
use crate::ports::{
    Condition, Cursor, Item, ItemStore, Query, QueueName, SkRange, StoreError, WriteOp,
};
use serde_json::{json, Value};
use std::collections::VecDeque;
use time::OffsetDateTime;

fn hour_of(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

/// The first instant a `Created` lower bound admits: its time, or a date's midnight.
/// `None` for text no bound parser makes.
fn bound_start(bound: &str) -> Option<OffsetDateTime> {
    counters::parse_time(bound).or_else(|| Some(bound_date(bound)?.midnight().assume_utc()))
}

/// The last second a `Created` upper bound admits: its time, or a date's last second.
fn bound_end(bound: &str) -> Option<OffsetDateTime> {
    counters::parse_time(bound).or_else(|| {
        Some(bound_date(bound)?.next_day()?.midnight().assume_utc() - time::Duration::SECOND)
    })
}

fn bound_date(bound: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(bound, &fmt).ok()
}

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

    /// Newest first, `limit` at a time, continuing after `cursor`.
    pub async fn list(
        &self,
        f: &InquiryFilter,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> Result<Listing, AppError> {
        // The cursor is a position in creation order, the same in every partition, so
        // an inquiry whose status changes during a walk is neither lost nor repeated.
        let below = cursor.and_then(|c| c.gsi1sk);
        let mut out = self
            .read(f, below.as_deref(), Some(limit.saturating_add(1)))
            .await?;
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|(_, item)| Cursor::of(item, true).encode())
        } else {
            None
        };
        Ok(Listing {
            inquiries: out.into_iter().map(|(i, _)| i).collect(),
            next_cursor: next,
        })
    }

    /// The `limit` matching inquiries after the first `offset`, newest first: reads
    /// the first `offset + limit` of each index partition the filter needs.
    pub async fn page(
        &self,
        f: &InquiryFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Inquiry>, AppError> {
        let want = offset.saturating_add(limit);
        let out = self.read(f, None, Some(want)).await?;
        Ok(out.into_iter().skip(offset).map(|(i, _)| i).collect())
    }

    /// How many inquiries match: from the counts, reading records only for the
    /// part of an hour that a date bound cuts (so at most two hours of them).
    pub async fn count(&self, f: &InquiryFilter) -> Result<usize, AppError> {
        let store = self.deps.store.as_ref();
        let name = figures::inquiry_name(f.status, f.priority, f.service);
        let hour = time::Duration::HOUR;
        let second = time::Duration::SECOND;
        // Clocks of other instances may run a little ahead: count the next hour too.
        let horizon = self.deps.clock.now() + hour;
        let from = f.created.from.as_deref().map(bound_start);
        let to = f.created.to.as_deref().map(bound_end);
        let n = match (from, to) {
            (None, None) => counters::totals(store).await?.get(&name),
            // Not a bound this service wrote: count by reading (never from the API).
            (Some(None), _) | (_, Some(None)) => self.read(f, None, None).await?.len() as i64,
            (Some(Some(a)), None) => {
                let next = hour_of(a) + hour;
                self.edge(f, a, next - second).await?
                    + counters::between(store, next, horizon).await?.get(&name)
            }
            (None, Some(Some(b))) => {
                let next = hour_of(b) + hour;
                let after = self.edge(f, b + second, next - second).await?
                    + counters::between(store, next, horizon).await?.get(&name);
                counters::totals(store).await?.get(&name) - after
            }
            (Some(Some(a)), Some(Some(b))) if a > b => 0,
            (Some(Some(a)), Some(Some(b))) if hour_of(a) == hour_of(b) => {
                self.edge(f, a, b).await?
            }
            (Some(Some(a)), Some(Some(b))) => {
                let (first, last) = (hour_of(a) + hour, hour_of(b));
                let mut n = self.edge(f, a, first - second).await? + self.edge(f, last, b).await?;
                if first < last {
                    n += counters::between(store, first, last - hour)
                        .await?
                        .get(&name);
                }
                n
            }
        };
        Ok(n.max(0) as usize)
    }

    /// The matching inquiries created within `[a, b]` (to the second), counted by
    /// reading them: a part of an hour.
    async fn edge(
        &self,
        f: &InquiryFilter,
        a: OffsetDateTime,
        b: OffsetDateTime,
    ) -> Result<i64, AppError> {
        if a > b {
            return Ok(0);
        }
        let within = InquiryFilter {
            created: Created {
                from: Some(rfc3339(a)),
                to: Some(rfc3339(b)),
            },
            ..f.clone()
        };
        Ok(self.read(&within, None, None).await?.len() as i64)
    }

    /// Up to `want` inquiries matching `f` (all when `None`), newest first, created
    /// before the index position `below`. The partitions the filter needs are
    /// merged page by page, so what is read is what is returned and at most one
    /// page more of each partition, not `want` of every partition.
    async fn read(
        &self,
        f: &InquiryFilter,
        below: Option<&str>,
        want: Option<usize>,
    ) -> Result<Vec<(Inquiry, Item)>, AppError> {
        let page = want.map_or(500, |w| w.clamp(1, 100));
        let want = want.unwrap_or(usize::MAX);
        let mut lanes: Vec<Lane> = f
            .partitions()
            .iter()
            .filter_map(|p| f.query(p, below))
            .map(|q| Lane {
                query: q.limit(page),
                ready: VecDeque::new(),
                spent: false,
            })
            .collect();
        let mut out = Vec::new();
        while out.len() < want {
            // Each partition shows its next match, or is spent, before the newest of
            // them is taken; the partitions are read side by side.
            futures::future::try_join_all(lanes.iter_mut().map(|l| self.fill(l, f, below))).await?;
            let newest = lanes
                .iter_mut()
                .filter(|l| !l.ready.is_empty())
                .max_by(|a, b| a.head().cmp(&b.head()));
            match newest.and_then(|l| l.ready.pop_front()) {
                Some(next) => out.push(next),
                None => break,
            }
        }
        Ok(out)
    }

    /// Reads a partition's next pages until it has a match ready or is spent.
    async fn fill(
        &self,
        lane: &mut Lane,
        f: &InquiryFilter,
        below: Option<&str>,
    ) -> Result<(), AppError> {
        while lane.ready.is_empty() && !lane.spent {
            let page = self.deps.store.query(&lane.query).await?;
            for item in page.items {
                // The range is inclusive; the cursor's own inquiry was listed already.
                if below.is_some() && item.gsi1sk.as_deref() == below {
                    continue;
                }
                // Filters other than status and date run on each item.
                let inq = decode(&item)?;
                if f.matches(&inq) {
                    lane.ready.push_back((inq, item));
                }
            }
            match page.next {
                Some(next) => lane.query.after = Some(next),
                None => lane.spent = true,
            }
        }
        Ok(())
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
            match self.deps.store.write(vec![put]).await {
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
        let mut ops = vec![WriteOp::Put {
            item: inquiry_item(&inquiry, version + 1),
            condition: Condition::Version(version),
        }];
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
    serde_json::from_value(item.data.clone())
        .map_err(|e| AppError::Unavailable(format!("stored inquiry unreadable: {e}")))
}

/// A page of inquiries and where the next one starts.
#[derive(Debug, Clone)]
pub struct Listing {
    pub inquiries: Vec<Inquiry>,
    pub next_cursor: Option<String>,
}

/// Listing filters; the bounds apply to `created_at` (inclusive, UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InquiryFilter {
    pub status: Option<InquiryStatus>,
    pub service: Option<ServiceType>,
    pub priority: Option<Priority>,
    pub created: Created,
}

/// Bounds on `created_at`, inclusive: RFC 3339 text, compared as text, since every
/// stored timestamp is UTC and `Z`-suffixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One index partition in the merge: its query (after the last page read) and the
/// matches read but not yet taken.
struct Lane {
    query: Query,
    ready: VecDeque<(Inquiry, Item)>,
    spent: bool,
}

impl Lane {
    /// The index position of the next match.
    fn head(&self) -> Option<&str> {
        self.ready
            .front()
            .and_then(|(_, item)| item.gsi1sk.as_deref())
    }
}

impl InquiryFilter {
    /// The index partitions that can hold a match: the filter's status, or every
    /// status, and the legacy partition.
    fn partitions(&self) -> Vec<String> {
        let statuses = match self.status {
            Some(s) => vec![s],
            None => InquiryStatus::ALL.to_vec(),
        };
        statuses
            .into_iter()
            .map(records::inquiries_in)
            .chain([records::LEGACY_INQUIRIES.to_string()])
            .collect()
    }

    /// One partition's date range, newest first, up to the index position `below`;
    /// `None` when the range is empty (DynamoDB refuses a reversed BETWEEN).
    fn query(&self, partition: &str, below: Option<&str>) -> Option<Query> {
        // Timestamps start with a digit, so "0" is below all of them (a key
        // condition may not hold an empty string in DynamoDB).
        let from = self.created.from.clone().unwrap_or_else(|| "0".to_string());
        // '~' sorts after every character of an id, so the bound includes its whole second.
        let to = self
            .created
            .to
            .as_ref()
            .map_or_else(|| "~".to_string(), |t| format!("{t}~"));
        let to = match below {
            Some(b) if b < to.as_str() => b.to_string(),
            _ => to,
        };
        (from <= to).then(|| {
            Query::index(partition)
                .range(SkRange::Between(from, to))
                .descending()
        })
    }

    fn matches(&self, i: &Inquiry) -> bool {
        self.status.is_none_or(|s| i.status == s)
            && self.priority.is_none_or(|p| i.priority == p)
            && self.service.is_none_or(|s| i.services.contains(&s))
    }
}
