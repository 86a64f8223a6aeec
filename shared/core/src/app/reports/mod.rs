//! Report use cases: reading reports back (records, shelves, pages, files). The
//! worker that drafts the report of each `inquiry_created` event exactly once and
//! stores it (Markdown and HTML blobs, the record, the `report_generated` event, in
//! that order) is in `worker`.

use super::drafting::{title_for, Drafter};
use super::outbox::{self, Outgoing};
use super::records::{
    self, REPORTS_INDEX, REPORTS_SHELF_SIZE, REPORTS_SHELF_SK, REPORT_POINTER_SK, REPORT_PREFIX,
};
use super::{counters, erasure, figures};
use super::{AppError, Deps, InquiryService, Missing};
use crate::domain::report::{Report, ReportId, ReportStatus};
use crate::domain::{rfc3339, DomainEvent, EventType, Inquiry, InquiryId};
use crate::ports::blob::{Blob, BlobStore};
use crate::ports::store::MAX_GET_MANY;
use crate::ports::{Condition, Item, Query, QueueName, SkRange, StoreError, WriteOp};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

mod worker;

/// What handling one event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Generated(ReportId),
    /// A redelivery: the report of this event exists already.
    AlreadyDone(ReportId),
    /// Not an event this worker acts on.
    Ignored,
}

/// Report records, read from the store alone: what the e-mails name and the chat
/// grounds in. A function that needs nothing more builds no file store (no S3
/// client at its cold start).
#[derive(Clone)]
pub struct ReportRecords {
    deps: Deps,
}

impl ReportRecords {
    pub fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// The reports shelf of an inquiry holding `reports` (newest first, trimmed).
    pub fn shelf_item(inquiry: &InquiryId, reports: &[Report], version: u64) -> Item {
        let shelf: Vec<&Report> = reports.iter().take(REPORTS_SHELF_SIZE).collect();
        let mut item = Item::new(
            records::inquiry_pk(inquiry),
            REPORTS_SHELF_SK,
            json!({ "reports": shelf }),
        );
        item.version = version;
        item
    }

    /// The shelved reports of each inquiry (newest first), in one read for the lot.
    /// An inquiry stored before shelves existed has none, and its reports are
    /// queried instead, once per such inquiry.
    pub async fn shelved(&self, inquiries: &[InquiryId]) -> Result<Vec<Vec<Report>>, AppError> {
        let mut out = Vec::with_capacity(inquiries.len());
        for chunk in inquiries.chunks(MAX_GET_MANY) {
            let keys: Vec<(String, String)> = chunk
                .iter()
                .map(|id| (records::inquiry_pk(id), REPORTS_SHELF_SK.to_string()))
                .collect();
            let shelves = self.deps.store.get_many(&keys).await?;
            for (id, shelf) in chunk.iter().zip(shelves) {
                out.push(match shelf {
                    Some(item) => Self::shelf_of(&item)?,
                    None => self.for_inquiry(id).await?,
                });
            }
        }
        Ok(out)
    }

    /// The reports on a shelf as read, newest first.
    pub fn shelf_of(shelf: &Item) -> Result<Vec<Report>, AppError> {
        serde_json::from_value(shelf.data["reports"].clone())
            .map_err(|e| AppError::Unavailable(format!("stored shelf unreadable: {e}")))
    }

    /// The write that puts `report` on its inquiry's shelf: conditional on the shelf
    /// as read, so two reports written at once cannot drop each other.
    async fn shelve(&self, report: &Report) -> Result<WriteOp, AppError> {
        let pk = records::inquiry_pk(&report.inquiry_id);
        let (mut reports, condition, version) =
            match self.deps.store.get(&pk, REPORTS_SHELF_SK).await? {
                Some(item) => (
                    Self::shelf_of(&item)?,
                    Condition::Version(item.version),
                    item.version + 1,
                ),
                // Stored before shelves existed: start it from the reports there are.
                None => (
                    self.for_inquiry(&report.inquiry_id).await?,
                    Condition::NotExists,
                    1,
                ),
            };
        reports.retain(|r| r.id != report.id);
        reports.insert(0, report.clone());
        Ok(WriteOp::Put {
            item: Self::shelf_item(&report.inquiry_id, &reports, version),
            condition,
        })
    }

    /// An inquiry's reports, newest first.
    pub async fn for_inquiry(&self, inquiry: &InquiryId) -> Result<Vec<Report>, AppError> {
        let q = Query::table(records::inquiry_pk(inquiry))
            .range(SkRange::Prefix(REPORT_PREFIX.into()))
            .descending()
            .limit(50);
        let page = self.deps.store.query(&q).await?;
        page.items.iter().map(decode).collect()
    }
}

#[derive(Clone)]
pub struct ReportService {
    deps: Deps,
    inquiries: InquiryService,
    records: ReportRecords,
    blobs: Arc<dyn BlobStore>,
    drafter: Arc<Drafter>,
}

impl ReportService {
    pub fn new(deps: Deps, blobs: Arc<dyn BlobStore>, drafter: Arc<Drafter>) -> Self {
        Self {
            inquiries: InquiryService::new(deps.clone()),
            records: ReportRecords::new(deps.clone()),
            deps,
            blobs,
            drafter,
        }
    }

    /// For a process that serves reports and their files (the admin API): its
    /// drafter never runs.
    pub fn reader(deps: Deps, blobs: Arc<dyn BlobStore>) -> Self {
        Self::new(deps, blobs, Arc::new(Drafter::template_only()))
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// An inquiry's reports, newest first.
    pub async fn for_inquiry(&self, inquiry: &InquiryId) -> Result<Vec<Report>, AppError> {
        self.records.for_inquiry(inquiry).await
    }

    pub async fn by_id(&self, id: &ReportId) -> Result<Report, AppError> {
        let pointer = self
            .deps
            .store
            .get(&records::report_pointer_pk(id), REPORT_POINTER_SK)
            .await?
            .ok_or(AppError::NotFound(Missing::Report))?;
        let (Some(inq), Some(sk)) = (
            pointer.data["inquiry_id"].as_str(),
            pointer.data["sk"].as_str(),
        ) else {
            return Err(AppError::NotFound(Missing::Report));
        };
        let inq = InquiryId::parse(inq).ok_or(AppError::NotFound(Missing::Report))?;
        let item = self
            .deps
            .store
            .get(&records::inquiry_pk(&inq), sk)
            .await?
            .ok_or(AppError::NotFound(Missing::Report))?;
        decode(&item)
    }

    /// The `limit` reports of this status and type (`None`: any) after the first
    /// `offset`, newest first: reads until `offset + limit` match.
    pub async fn page(
        &self,
        status: Option<ReportStatus>,
        report_type: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Report>, AppError> {
        let want = offset.saturating_add(limit);
        let q = Query::index(REPORTS_INDEX)
            .descending()
            .limit(want.clamp(1, 100));
        let out = records::first(self.deps.store.as_ref(), &q, want, |item| {
            let r = decode(&item)?;
            let fits = status.is_none_or(|s| r.status == s)
                && report_type.is_none_or(|t| r.report_type == t);
            Ok(fits.then_some(r))
        })
        .await?;
        Ok(out.into_iter().skip(offset).collect())
    }

    /// How many reports of this status and type there are, from the counts.
    pub async fn count(
        &self,
        status: Option<ReportStatus>,
        report_type: Option<&str>,
    ) -> Result<usize, AppError> {
        let name = figures::report_name(status.map(ReportStatus::as_str), report_type);
        Ok(figures::totals(&self.deps).await?.get(&name).max(0) as usize)
    }

    /// The rendered HTML page of a report.
    pub async fn html(&self, report: &Report) -> Result<String, AppError> {
        let key = report.s3_key.trim_end_matches(".md").to_string() + ".html";
        match self
            .blobs
            .get(&key)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?
        {
            Some(b) => Ok(String::from_utf8_lossy(&b.bytes).into_owned()),
            None => Err(AppError::NotFound(Missing::Report)),
        }
    }

    pub async fn inquiry(&self, id: &InquiryId) -> Result<Inquiry, AppError> {
        self.inquiries.get(id).await
    }
}

fn decode(item: &Item) -> Result<Report, AppError> {
    records::decode(item, "report")
}
