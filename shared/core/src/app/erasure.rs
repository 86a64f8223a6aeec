//! Erasure of a prospect's personal data: an inquiry and everything derived from it
//! that the system holds, found by reading the inquiry's own partition: its
//! reports (records, pointers and files, every kept version), the links written
//! beside it to records elsewhere (the idempotency record of its submission, the
//! chat sessions that name it, whole), the events not yet relayed, and the copies
//! of its e-mails a mailer keeps. The counts of what was removed are taken back in
//! the batches that remove it.
//!
//! What remains is an audit record without personal data: who erased which id,
//! when, why, and how many of each kind were removed. It is written in the batch
//! that deletes the inquiry itself, last, so an erasure that dies halfway is simply
//! run again, and one that finished answers the same record for ever after. The
//! workers drop an erased inquiry's events (`is_erased`), so an event already on a
//! queue is not delivered after the erasure.

use super::counters::{self, Tally};
use super::figures;
use super::records::{self, LinkKind, ERASURE_SK, INQUIRY_SK, LINK_PREFIX, OUTBOX_PREFIX};
use super::{addresses, AppError, Deps, Missing};
use crate::domain::chat::{ChatMessage, ChatSession};
use crate::domain::report::Report;
use crate::domain::{rfc3339, Email, Inquiry, InquiryId};
use crate::ports::blob::BlobStore;
use crate::ports::mail::Mailer;
use crate::ports::store::MAX_BATCH;
use crate::ports::{Condition, Item, ItemStore, Query, StoreError, WriteOp};
use serde::{Deserialize, Serialize};
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

/// Whether `id` was erased: its events are then dropped, not delivered.
pub async fn is_erased(store: &dyn ItemStore, id: &InquiryId) -> Result<bool, AppError> {
    Ok(store
        .get(&records::erasure_pk(id), ERASURE_SK)
        .await?
        .is_some())
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

    /// The audit record of `id`'s erasure, if it was erased.
    pub async fn record(&self, id: &InquiryId) -> Result<Option<Erased>, AppError> {
        match self
            .deps
            .store
            .get(&records::erasure_pk(id), ERASURE_SK)
            .await?
        {
            Some(item) => Ok(Some(records::decode(&item, "erasure record")?)),
            None => Ok(None),
        }
    }

    /// Erases every inquiry filed under `address` (`addresses::PER_REQUEST` at a
    /// time; the flag says more remain), each as `erase` does.
    pub async fn erase_address(
        &self,
        address: &Email,
        by: &str,
        reason: &ErasureReason,
    ) -> Result<(Vec<Erased>, bool), AppError> {
        let (ids, more) = addresses::inquiries_of(self.deps.store.as_ref(), address).await?;
        let mut erased = Vec::with_capacity(ids.len());
        for id in &ids {
            match self.erase(id, by, reason).await {
                Ok(record) => erased.push(record),
                // Filed by the backfill as it was being erased: nothing is left.
                Err(AppError::NotFound(Missing::Inquiry)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((erased, more))
    }

    /// Erases `id` and everything derived from it, on behalf of admin `by`. Erasing
    /// an erased inquiry answers its audit record again; one never stored is not
    /// found.
    pub async fn erase(
        &self,
        id: &InquiryId,
        by: &str,
        reason: &ErasureReason,
    ) -> Result<Erased, AppError> {
        // A status change between the read and the last batch fails that batch; the
        // erasure then reads again what is left.
        for _ in 0..3 {
            if let Some(done) = self.record(id).await? {
                return Ok(done);
            }
            match self.erase_once(id, by, reason).await {
                Err(AppError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(AppError::Conflict(
            "the inquiry kept changing while it was being erased".into(),
        ))
    }

    async fn erase_once(
        &self,
        id: &InquiryId,
        by: &str,
        reason: &ErasureReason,
    ) -> Result<Erased, AppError> {
        let store = self.deps.store.as_ref();
        let now = self.deps.clock.now();
        let items = records::collect(store, &Query::table(records::inquiry_pk(id))).await?;
        let Some(own) = items.iter().find(|i| i.sk == INQUIRY_SK) else {
            return Err(AppError::NotFound(Missing::Inquiry));
        };
        let inquiry: Inquiry = records::decode(own, "inquiry")?;
        let mut removed = Removed::default();
        let mut gone = Gone::default();
        for item in items.iter().filter(|i| i.sk != INQUIRY_SK) {
            let mut unit = gone.delete(&item.pk, &item.sk);
            if unit.is_empty() {
                continue;
            }
            if item.sk.starts_with(records::REPORT_PREFIX) {
                let report: Report = records::decode(item, "report")?;
                unit.extend(gone.delete(
                    &records::report_pointer_pk(&report.id),
                    records::REPORT_POINTER_SK,
                ));
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
            store.write(batch).await?;
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
        removed.records = gone.keys.len() + 1;
        let erased = Erased {
            inquiry_id: id.clone(),
            erased_by: by.to_string(),
            erased_at: rfc3339(now),
            reason: reason.as_str().to_string(),
            removed,
        };
        let entry = records::email_entry(&inquiry.email, id);
        let mut last = vec![
            WriteOp::Delete {
                pk: own.pk.clone(),
                sk: own.sk.clone(),
                condition: Condition::Version(own.version),
            },
            WriteOp::Delete {
                pk: entry.pk.clone(),
                sk: entry.sk.clone(),
                condition: Condition::None,
            },
            WriteOp::Put {
                item: Item::new(
                    records::erasure_pk(id),
                    ERASURE_SK,
                    serde_json::to_value(&erased).unwrap_or_default(),
                ),
                condition: Condition::NotExists,
            },
        ];
        if counters::is_counted(own) {
            let mut t = Tally::at_text(&inquiry.created_at, &own.pk, now);
            figures::count_inquiry(&mut t, &inquiry, -1);
            last.extend(t.writes());
        }
        match store.write(last).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return Err(AppError::Conflict(
                    "the inquiry changed while it was being erased".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let mut keys: Vec<(String, String)> = gone.keys.into_iter().collect();
        keys.push((own.pk.clone(), own.sk.clone()));
        keys.push((entry.pk, entry.sk));
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
        let kind: LinkKind = serde_json::from_value(link.data["kind"].clone())
            .map_err(|e| AppError::Unavailable(format!("stored link unreadable: {e}")))?;
        let Some(pk) = link.data["pk"].as_str() else {
            return Ok(());
        };
        match (kind, link.data["sk"].as_str()) {
            (LinkKind::Idempotency, Some(sk)) => {
                let unit = gone.delete(pk, sk);
                gone.units.push(unit);
                removed.idempotency_records += 1;
            }
            (LinkKind::ChatSession, _) => {
                let q = Query::table(pk);
                for item in records::collect(self.deps.store.as_ref(), &q).await? {
                    let mut unit = gone.delete(&item.pk, &item.sk);
                    if unit.is_empty() {
                        continue;
                    }
                    if item.sk == records::CHAT_SESSION_SK {
                        let s: ChatSession = records::decode(&item, "chat session")?;
                        if counters::is_counted(&item) {
                            unit.extend(figures::session_tally(&s, -1, now).writes());
                        }
                        removed.chat_sessions += 1;
                    } else if item.sk.starts_with(records::CHAT_MESSAGE_PREFIX) {
                        let m: ChatMessage = records::decode(&item, "chat message")?;
                        if counters::is_counted(&item) {
                            let t = figures::message_tally(&m, &item.pk, now);
                            unit.extend(t.negated().writes());
                        }
                        removed.chat_messages += 1;
                    }
                    gone.units.push(unit);
                }
            }
            (LinkKind::Idempotency, None) => {}
        }
        Ok(())
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
    /// The deletion of one record, unless it is already among them.
    fn delete(&mut self, pk: &str, sk: &str) -> Vec<WriteOp> {
        if !self.keys.insert((pk.to_string(), sk.to_string())) {
            return vec![];
        }
        vec![WriteOp::Delete {
            pk: pk.to_string(),
            sk: sk.to_string(),
            condition: Condition::None,
        }]
    }

    /// The units packed into as few batches as hold them: a record's deletion and
    /// the counts it takes back always share a batch, so a run that dies between
    /// two batches takes nothing back twice when it runs again.
    fn batches(&mut self) -> Vec<Vec<WriteOp>> {
        let mut out = Vec::new();
        let mut batch: Vec<WriteOp> = Vec::new();
        for unit in self.units.drain(..).filter(|u| !u.is_empty()) {
            let mut joined = batch.clone();
            joined.extend(unit.iter().cloned());
            let joined = counters::merged(joined);
            if joined.len() <= MAX_BATCH {
                batch = joined;
            } else {
                out.push(std::mem::take(&mut batch));
                batch = counters::merged(unit);
            }
        }
        if !batch.is_empty() {
            out.push(batch);
        }
        out
    }
}
