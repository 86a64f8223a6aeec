//! Erasure of a prospect's personal data: an inquiry and everything derived from it
//! that the system holds, found by reading the inquiry's own partition: its
//! reports (records, pointers and files, every kept version), the links written
//! beside it to records elsewhere (the idempotency record of its submission, the
//! chat sessions that name it, whole), the events not yet relayed, and the copies
//! of its e-mails a mailer keeps. The counts of what was removed are taken back in
//! the batches that remove it.
//!
//! It begins with a fence, its audit record written as pending: from then on the
//! workers write nothing of the inquiry (each batch that would checks there is no
//! such record, `records::not_erased`) and drop its events (`unless_erased`), so what
//! the erasure reads after the fence is all there is to remove. Each removal holds
//! only at the version it read, so two erasures of one inquiry never take a count
//! back twice; the one that read stale reads again. Last, in one batch, the inquiry
//! goes and the record is completed: an audit record without personal data (who
//! erased which id, when, why, how many of each kind were removed). An erasure that
//! died halfway is finished by the next; one that finished answers the same record
//! for ever after.

use super::counters::{self, Tally};
use super::figures;
use super::records::{self, LinkKind, ERASURE_SK, INQUIRY_SK, LINK_PREFIX, OUTBOX_PREFIX};
use super::{addresses, AppError, Deps, Missing};
use crate::domain::report::Report;
use crate::domain::{rfc3339, Email, Inquiry, InquiryId};
use crate::ports::blob::BlobStore;
use crate::ports::mail::Mailer;
use crate::ports::{Condition, Item, ItemStore, Query, StoreError, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Why an inquiry was erased, as the audit record keeps it: 1 to 500 characters of
/// clean text, which an admin writes and no prospect's data need be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureReason(String);

impl ErasureReason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() || raw.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be 1 to {} characters", Self::MAX_CHARS));
        }
        if !crate::domain::inquiry::is_clean(raw, true) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(raw.trim().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many of each kind an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// Every record deleted from the table, the inquiry's own included.
    pub records: usize,
    pub reports: usize,
    pub report_files: usize,
    pub chat_sessions: usize,
    pub chat_messages: usize,
    pub idempotency_records: usize,
    /// Events written for the inquiry that had not yet left for a queue.
    pub undelivered_events: usize,
    /// Copies of e-mails about it that a mailer kept (the dev server's outbox).
    pub mail_copies: usize,
}

/// The audit record of an erasure: ids, times and counts, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub inquiry_id: InquiryId,
    pub erased_by: String,
    pub erased_at: String,
    pub reason: String,
    pub removed: Removed,
}

/// The field of an audit record that is still a fence: its erasure has not finished.
const PENDING: &str = "pending";

/// Inquiries of one address erased by one request take at most this long; the rest
/// wait for the request again (the admin API answers within 29 s).
const ADDRESS_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether `id` was erased or is being erased: its events are then dropped, not
/// delivered.
pub async fn is_erased(store: &dyn ItemStore, id: &InquiryId) -> Result<bool, AppError> {
    Ok(store
        .get(&records::erasure_pk(id), ERASURE_SK)
        .await?
        .is_some())
}

/// The inquiry, read with its erasure's record in one round trip: `None` once an
/// erasure of it has begun (a worker then drops its event), not found when there is
/// neither.
pub async fn unless_erased(
    store: &dyn ItemStore,
    id: &InquiryId,
) -> Result<Option<Inquiry>, AppError> {
    match store.get_many(&live_keys(id)).await?.as_slice() {
        [inquiry, fence] => live(inquiry.as_ref(), fence.as_ref()),
        _ => Err(AppError::NotFound(Missing::Inquiry)),
    }
}

/// The keys `unless_erased` reads: the inquiry's record and its erasure's, for a
/// batch that reads many inquiries at once.
pub fn live_keys(id: &InquiryId) -> [(String, String); 2] {
    [
        (records::inquiry_pk(id), INQUIRY_SK.to_string()),
        (records::erasure_pk(id), ERASURE_SK.to_string()),
    ]
}

/// What `unless_erased` answers, from the two items at `live_keys` as read.
pub fn live(inquiry: Option<&Item>, fence: Option<&Item>) -> Result<Option<Inquiry>, AppError> {
    match (inquiry, fence) {
        (_, Some(_)) => Ok(None),
        (Some(item), None) => Ok(Some(records::decode(item, "inquiry")?)),
        (None, None) => Err(AppError::NotFound(Missing::Inquiry)),
    }
}

#[derive(Clone)]
pub struct Erasure {
    deps: Deps,
    blobs: Option<Arc<dyn BlobStore>>,
    mailer: Option<Arc<dyn Mailer>>,
}

/// A folder's files of one inquiry's reports.
pub fn reports_folder(id: &InquiryId) -> String {
    format!("reports/{id}")
}

impl Erasure {
    /// On `blobs` (the report files) and `mailer` (a mailer that keeps copies), where
    /// the process has them.
    pub fn new(
        deps: Deps,
        blobs: Option<Arc<dyn BlobStore>>,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        Self {
            deps,
            blobs,
            mailer,
        }
    }

    /// The audit record of `id`'s erasure, once it finished.
    pub async fn record(&self, id: &InquiryId) -> Result<Option<Erased>, AppError> {
        let item = self
            .deps
            .store
            .get(&records::erasure_pk(id), ERASURE_SK)
            .await?;
        match item {
            Some(item) if item.data[PENDING] != true => {
                Ok(Some(records::decode(&item, "erasure record")?))
            }
            _ => Ok(None),
        }
    }

    /// Erases every inquiry filed under `address`, `addresses::PER_REQUEST` at a
    /// time and for at most `ADDRESS_BUDGET`; the flag says more remain, which the
    /// same request again erases. Each inquiry goes as `erase` takes it, and its
    /// entry under the address with it.
    pub async fn erase_address(
        &self,
        address: &Email,
        by: &str,
        reason: &ErasureReason,
    ) -> Result<(Vec<Erased>, bool), AppError> {
        let started = std::time::Instant::now();
        let store = self.deps.store.as_ref();
        let (ids, mut more) =
            addresses::inquiries_of(store, address, None, addresses::PER_REQUEST).await?;
        let mut erased = Vec::with_capacity(ids.len());
        for id in &ids {
            if started.elapsed() > ADDRESS_BUDGET {
                more = true;
                break;
            }
            match self.erase(id, by, reason).await {
                Ok(record) => erased.push(record),
                // Gone before the address was read: nothing is left of it.
                Err(AppError::NotFound(Missing::Inquiry)) => {}
                Err(e) => return Err(e),
            }
            // An entry the backfill filed again while the inquiry was erased.
            let entry = records::email_entry(address, id);
            store
                .write(vec![WriteOp::Delete {
                    pk: entry.pk,
                    sk: entry.sk,
                    condition: Condition::None,
                }])
                .await?;
        }
        Ok((erased, more))
    }

    /// Erases `id` and everything derived from it, on behalf of admin `by`. Erasing
    /// an erased inquiry answers its audit record again; one never stored is not
    /// found.
    ///
    /// First a fence: the audit record, pending. From then on no worker writes
    /// anything of the inquiry (their batches check that there is none), so what the
    /// erasure reads after it is all there is. Each deletion holds only at the
    /// version read, so two erasures of one inquiry never take a count back twice:
    /// the one that finds its reads stale reads again.
    pub async fn erase(
        &self,
        id: &InquiryId,
        by: &str,
        reason: &ErasureReason,
    ) -> Result<Erased, AppError> {
        let store = self.deps.store.as_ref();
        let fence_key = (records::erasure_pk(id), ERASURE_SK.to_string());
        for _ in 0..5 {
            let fence = match store.get(&fence_key.0, &fence_key.1).await? {
                Some(item) if item.data[PENDING] != true => {
                    return records::decode(&item, "erasure record");
                }
                Some(item) => item,
                None => {
                    let fence = Item::new(&fence_key.0, &fence_key.1, json!({"pending": true}));
                    let batch = vec![
                        WriteOp::Put {
                            item: fence,
                            condition: Condition::NotExists,
                        },
                        records::inquiry_exists(id),
                    ];
                    match store.write(batch).await {
                        Ok(()) => continue,
                        Err(StoreError::ConditionFailed) => {
                            if store.get(&fence_key.0, &fence_key.1).await?.is_none() {
                                return Err(AppError::NotFound(Missing::Inquiry));
                            }
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            match self.erase_fenced(id, by, reason, &fence).await {
                Err(AppError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(AppError::Conflict(
            "the inquiry kept changing while it was being erased".into(),
        ))
    }

    async fn erase_fenced(
        &self,
        id: &InquiryId,
        by: &str,
        reason: &ErasureReason,
        fence: &Item,
    ) -> Result<Erased, AppError> {
        let store = self.deps.store.as_ref();
        let now = self.deps.clock.now();
        let items = records::collect(store, &Query::table(records::inquiry_pk(id))).await?;
        let own = items.iter().find(|i| i.sk == INQUIRY_SK);
        let inquiry: Option<Inquiry> = own
            .map(|item| records::decode(item, "inquiry"))
            .transpose()?;
        let mut removed = Removed::default();
        let mut gone = Gone::default();
        for item in items.iter().filter(|i| i.sk != INQUIRY_SK) {
            let mut unit = gone.delete(item);
            if unit.is_empty() {
                continue;
            }
            if item.sk.starts_with(records::REPORT_PREFIX) {
                let report: Report = records::decode(item, "report")?;
                let pointer = store
                    .get(
                        &records::report_pointer_pk(&report.id),
                        records::REPORT_POINTER_SK,
                    )
                    .await?;
                if let Some(pointer) = pointer {
                    unit.extend(gone.delete(&pointer));
                }
                if counters::is_counted(item) {
                    let mut t = Tally::at_text(&report.created_at, &item.pk, now);
                    figures::count_report(&mut t, &report, -1);
                    unit.extend(t.writes());
                }
                removed.reports += 1;
            } else if item.sk.starts_with(OUTBOX_PREFIX) {
                removed.undelivered_events += 1;
            } else if item.sk.starts_with(LINK_PREFIX) {
                self.follow(item, &mut gone, &mut removed).await?;
            }
            gone.units.push(unit);
        }
        for batch in gone.batches() {
            store.write(batch).await.map_err(stale)?;
        }
        if let Some(blobs) = &self.blobs {
            removed.report_files = blobs
                .delete_folder(&reports_folder(id))
                .await
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
        }
        if let Some(mailer) = &self.mailer {
            removed.mail_copies = mailer
                .erase(id)
                .await
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
        }
        removed.records = gone.keys.len() + usize::from(own.is_some());
        let erased = Erased {
            inquiry_id: id.clone(),
            erased_by: by.to_string(),
            erased_at: rfc3339(now),
            reason: reason.as_str().to_string(),
            removed,
        };
        let mut done = Item::new(
            &fence.pk,
            &fence.sk,
            serde_json::to_value(&erased).unwrap_or_default(),
        );
        done.version = fence.version + 1;
        let mut last = vec![WriteOp::Put {
            item: done,
            condition: Condition::Version(fence.version),
        }];
        let mut keys: Vec<(String, String)> = gone.keys.into_iter().collect();
        if let (Some(own), Some(inquiry)) = (own, &inquiry) {
            let entry = records::email_entry(&inquiry.email, id);
            last.push(WriteOp::Delete {
                pk: own.pk.clone(),
                sk: own.sk.clone(),
                condition: Condition::Version(own.version),
            });
            last.push(WriteOp::Delete {
                pk: entry.pk.clone(),
                sk: entry.sk.clone(),
                condition: Condition::None,
            });
            if counters::is_counted(own) {
                let mut t = Tally::at_text(&inquiry.created_at, &own.pk, now);
                figures::count_inquiry(&mut t, inquiry, -1);
                last.extend(t.writes());
            }
            keys.push((own.pk.clone(), own.sk.clone()));
            keys.push((entry.pk, entry.sk));
        }
        store.write(last).await.map_err(stale)?;
        store.forget(&keys).await?;
        tracing::info!(inquiry_id = %id, erased_by = by, records = erased.removed.records, "inquiry erased");
        Ok(erased)
    }

    /// Adds what a link points at to the deletions: one record, or a chat session's
    /// whole partition with its counts taken back.
    async fn follow(
        &self,
        link: &Item,
        gone: &mut Gone,
        removed: &mut Removed,
    ) -> Result<(), AppError> {
        let now = self.deps.clock.now();
        let records::Link { kind, pk, sk } = records::decode(link, "link")?;
        let pk = pk.as_str();
        match (kind, sk.as_deref()) {
            (LinkKind::Idempotency, Some(sk)) => {
                if let Some(record) = self.deps.store.get(pk, sk).await? {
                    let unit = gone.delete(&record);
                    gone.units.push(unit);
                    removed.idempotency_records += 1;
                }
            }
            (LinkKind::ChatSession, _) => {
                let q = Query::table(pk);
                for item in records::collect(self.deps.store.as_ref(), &q).await? {
                    if gone.delete(&item).is_empty() {
                        continue;
                    }
                    if item.sk == records::CHAT_SESSION_SK {
                        removed.chat_sessions += 1;
                    } else if item.sk.starts_with(records::CHAT_MESSAGE_PREFIX) {
                        removed.chat_messages += 1;
                    }
                    gone.units.push(crate::app::chat::removal(&item, now)?);
                }
            }
            (LinkKind::Idempotency, None) => {}
        }
        Ok(())
    }
}

/// A removal that found its record changed since it was read: the erasure reads
/// again (`Conflict`).
fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::ConditionFailed => {
            AppError::Conflict("a record changed while the inquiry was being erased".into())
        }
        e => e.into(),
    }
}

/// The deletions an erasure makes, each with the counts it takes back, and every
/// key deleted (each once).
#[derive(Default)]
struct Gone {
    units: Vec<Vec<WriteOp>>,
    keys: BTreeSet<(String, String)>,
}

impl Gone {
    /// The deletion of one record as read (at its version), unless it is already
    /// among them.
    fn delete(&mut self, item: &Item) -> Vec<WriteOp> {
        if !self.keys.insert((item.pk.clone(), item.sk.clone())) {
            return vec![];
        }
        vec![WriteOp::Delete {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            condition: Condition::Version(item.version),
        }]
    }

    /// The units packed into as few batches as hold them: a record's deletion and
    /// the counts it takes back always share a batch, so a run that dies between
    /// two batches takes nothing back twice when it runs again.
    fn batches(&mut self) -> Vec<Vec<WriteOp>> {
        counters::packed(&std::mem::take(&mut self.units))
            .into_iter()
            .map(|(batch, _)| batch)
            .collect()
    }
}
