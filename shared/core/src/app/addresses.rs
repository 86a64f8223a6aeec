//! The inquiries of one prospect's address, for a request to see or erase all of
//! them: each inquiry is filed under a digest of its address when it is stored
//! (`records::email_entry`, in the submission's batch) and unfiled when it is
//! erased. Inquiries stored before the index are filed by a one-off backfill that
//! the background pass runs, a page at a time, remembering where it stopped.

use super::records::{self, EMAIL_BACKFILL_PK, EMAIL_BACKFILL_SK, LEGACY_INQUIRIES};
use super::{AppError, Deps};
use crate::domain::{Email, Inquiry, InquiryId, InquiryStatus};
use crate::ports::store::MAX_BATCH;
use crate::ports::{Condition, Cursor, Item, ItemStore, Query, StoreError, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Inquiries of one address handled by one request at most; the answer says when
/// more remain.
pub const PER_REQUEST: usize = 50;

/// Up to `max` of the inquiries filed under `address`, in id order after `after`,
/// and whether more are.
pub async fn inquiries_of(
    store: &dyn ItemStore,
    address: &Email,
    after: Option<&InquiryId>,
    max: usize,
) -> Result<(Vec<InquiryId>, bool), AppError> {
    let pk = records::email_pk(address);
    let cursor = after.map(|id| Cursor {
        pk: pk.clone(),
        sk: records::inquiry_pk(id),
        gsi1sk: None,
    });
    let q = Query::table(pk).limit(max + 1).after(cursor);
    let page = store.query(&q).await?;
    let mut ids: Vec<InquiryId> = page
        .items
        .iter()
        .filter_map(|i| i.data["inquiry_id"].as_str().and_then(InquiryId::parse))
        .collect();
    let more = ids.len() > max || page.next.is_some();
    ids.truncate(max);
    Ok((ids, more))
}

/// Where the backfill stands: the partition it reads (an index into `partitions`)
/// and the position after which it goes on.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    partition: usize,
    after: Option<Cursor>,
}

/// Every index partition an inquiry can sit in.
fn partitions() -> Vec<String> {
    InquiryStatus::ALL
        .iter()
        .map(|s| records::inquiries_in(*s))
        .chain([LEGACY_INQUIRIES.to_string()])
        .collect()
}

/// Files up to `max` inquiries stored before the address index; returns how many
/// it read (0 once every partition has been read, which then costs one read).
pub async fn backfill(deps: &Deps, max: usize) -> Result<usize, AppError> {
    let store = deps.store.as_ref();
    let state = store.get(EMAIL_BACKFILL_PK, EMAIL_BACKFILL_SK).await?;
    let (mut progress, version) = match &state {
        Some(item) => (
            records::decode::<Progress>(item, "address backfill")?,
            item.version,
        ),
        None => (Progress::default(), 0),
    };
    let all = partitions();
    let Some(partition) = all.get(progress.partition) else {
        return Ok(0);
    };
    let q = Query::index(partition)
        .limit(max.clamp(1, 100))
        .after(progress.after.clone());
    let page = store.query(&q).await?;
    let mut entries = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let inquiry: Inquiry = records::decode(item, "inquiry")?;
        entries.push(WriteOp::Put {
            item: records::email_entry(&inquiry.email, &inquiry.id),
            condition: Condition::None,
        });
    }
    while !entries.is_empty() {
        let rest = entries.split_off(entries.len().min(MAX_BATCH));
        store.write(std::mem::replace(&mut entries, rest)).await?;
    }
    match page.next {
        Some(next) => progress.after = Some(next),
        None => {
            progress.partition += 1;
            progress.after = None;
        }
    }
    let mut saved = Item::new(EMAIL_BACKFILL_PK, EMAIL_BACKFILL_SK, json!(progress));
    saved.version = version + 1;
    let condition = match state {
        Some(_) => Condition::Version(version),
        None => Condition::NotExists,
    };
    match store
        .write(vec![WriteOp::Put {
            item: saved,
            condition,
        }])
        .await
    {
        // Another pass moved it on meanwhile: its progress stands, the entries are
        // the same either way.
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    // A pass that moved to the next partition read something even when empty.
    Ok(page.items.len().max(1))
}
