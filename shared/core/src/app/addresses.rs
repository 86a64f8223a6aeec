//! The inquiries of one prospect's address, for a request to see or erase all of
//! them: each inquiry is filed under a digest of its address when it is stored
//! (`records::email_entry`, in the submission's batch) and unfiled when it is
//! erased. Inquiries stored before the index are filed by a one-off backfill that
//! the background pass runs, a page at a time, remembering where it stopped; the
//! same pass links the chat sessions stored before links existed to the inquiry they
//! name, so that an erasure finds them too.

use super::records::{self, EMAIL_BACKFILL_PK, EMAIL_BACKFILL_SK, LEGACY_INQUIRIES};
use super::records::{LinkKind, LINK_PREFIX};
use super::{AppError, Deps};
use crate::domain::chat::ChatSession;
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

fn same_check(a: &WriteOp, b: &WriteOp) -> bool {
    matches!((a, b), (WriteOp::Check { pk, sk, .. }, WriteOp::Check { pk: p, sk: s, .. }) if pk == p && sk == s)
}

/// Writes a batch of what `filed` made; when a link's inquiry is being erased the
/// batch is refused, and its writes go one record at a time, that link left out.
async fn write_filed(store: &dyn ItemStore, batch: Vec<WriteOp>) -> Result<(), AppError> {
    match store.write(batch.clone()).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed) => {
            for op in batch {
                let WriteOp::Put { item, .. } = &op else {
                    continue;
                };
                let inquiry = records::inquiry_of_pk(&item.pk);
                let mut one = vec![op.clone()];
                if let (Some(inquiry), true) = (inquiry, item.sk.starts_with(LINK_PREFIX)) {
                    one.push(records::not_erased(&inquiry));
                }
                match store.write(one).await {
                    Ok(()) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the backfill stands: the partition it reads (an index into `partitions`)
/// and the position after which it goes on.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    partition: usize,
    after: Option<Cursor>,
}

/// Every index partition an inquiry can sit in, then the chat sessions'.
fn partitions() -> Vec<String> {
    InquiryStatus::ALL
        .iter()
        .map(|s| records::inquiries_in(*s))
        .chain([
            LEGACY_INQUIRIES.to_string(),
            records::CHAT_SESSIONS_INDEX.to_string(),
        ])
        .collect()
}

/// What the backfill writes for one record it reads: an inquiry's entry under its
/// address, or the link from the inquiry a chat session names to the session (only
/// while that inquiry is not being erased).
fn filed(item: &Item) -> Result<Option<Vec<WriteOp>>, AppError> {
    if item.gsi1pk.as_deref() == Some(records::CHAT_SESSIONS_INDEX) {
        let session: ChatSession = records::decode(item, "chat session")?;
        return Ok(session.inquiry().map(|inquiry| {
            let link = records::link(
                &inquiry,
                LinkKind::ChatSession,
                &records::chat_session_pk(&session.id),
                None,
            );
            vec![
                WriteOp::Put {
                    item: link,
                    condition: Condition::None,
                },
                records::not_erased(&inquiry),
            ]
        }));
    }
    let inquiry: Inquiry = records::decode(item, "inquiry")?;
    Ok(Some(vec![WriteOp::Put {
        item: records::email_entry(&inquiry.email, &inquiry.id),
        condition: Condition::None,
    }]))
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
    let mut batch: Vec<WriteOp> = Vec::new();
    for item in &page.items {
        let Some(ops) = filed(item)? else { continue };
        if batch.len() + ops.len() > MAX_BATCH {
            write_filed(store, std::mem::take(&mut batch)).await?;
        }
        // Two sessions naming one inquiry: a batch checks each item once.
        for op in ops {
            if !batch.iter().any(|b| same_check(b, &op)) {
                batch.push(op);
            }
        }
    }
    if !batch.is_empty() {
        write_filed(store, batch).await?;
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
