//! Where everything lives in the one table: every key and index pattern is spelled
//! here and nowhere else, and the paging over a query is written once (`walk`,
//! `collect`).
//!
//! | record | `pk` | `sk` | `gsi1pk` | `gsi1sk` | read by |
//! | --- | --- | --- | --- | --- | --- |
//! | inquiry | `INQ#<id>` | `INQUIRY` | `INQUIRIES#<status>` | `<created_at>#<id>` | get by id; listings by status and date |
//! | inquiry, stored before the status index | `INQ#<id>` | `INQUIRY` | `INQUIRIES` | `<created_at>#<id>` | listings, until the backfill moves it |
//! | report | `INQ#<inquiry id>` | `REPORT#<at>#<id>` | `REPORTS` | `<at>#<id>` | an inquiry's reports; the report listing and figures |
//! | report pointer | `REPORT#<id>` | `REPORT` | | | a report by id |
//! | an inquiry's reports shelf | `INQ#<id>` | `REPORTS` | | | a listing page's reports, in one `get_many` |
//! | outbox entry | `INQ#<inquiry id>` | `OUTBOX#<event id>#<queue>` | | | the relay, through the change feed (TTL: 2 days) |
//! | the polling relay's position | `FEED#relay` | `POSITION` | | | where the dev server's relay goes on in the feed |
//! | notification ledger | `NOTE#<event id>#<action>` | `NOTE` | `NOTIFICATIONS` | `<at>#<event id>#<action>` | once-only effects; figures |
//! | idempotency record | `IDEM#<sha256(scope, key)>` | `IDEM` | | | a replayed request (24 h TTL) |
//! | login failures | `RATE#login#<client>` | `RATE` | | | the sign-in limit (TTL: the window) |
//! | chat answers of an admin | `RATE#chat#<user>` | `RATE` | | | the chat's per-admin limit (TTL: the window) |
//! | confirmations to an address | `RATE#mail#<sha256(lower-cased address)>` | `RATE` | | | the cap on mail to one recipient (TTL: the window) |
//! | submissions of a client | `RATE#submit#<address>` | `W#<window start>` | | | the web form's per-client limit, counted in the submission's batch (TTL: the window) |
//! | stored hook | `HOOKS` | `<hook id>` | | | the hook registry |
//! | chat session | `CHAT#<session id>` | `SESSION` | `CHAT_SESSIONS` | `<created_at>#<id>` | get by id; the session listing |
//! | chat message | `CHAT#<session id>` | `MSG#<message id>` | `CHAT_MESSAGES` | `<created_at>#<id>` | history by session; figures |
//! | chat request marker | `CHAT#<session id>` | `REQ#<digest>` | | | a resent client message id |
//! | a session's message counts | `CHAT#<session id>` | `COUNTS` | | | history's figures |
//! | a session's expiry entry | `CHAT#<session id>` | `EXPIRY` | `CHAT_EXPIRY` | `<expires_at>#<id>` | the sessions that expire this hour or later: the session counts |
//! | chat connection | `CONN#<connection id>` | `CONN` | `CHAT_CONNECTIONS` | `<connected_at>#<id>` | the socket's checks; figures (TTL: 2 h) |
//! | a notification of an inquiry: to whom, what, when | `INQ#<id>` | `SENT#<at>#<event id>#<action>` | | | the export; removed by the erasure |
//! | a link from an inquiry to a record elsewhere that holds its personal data | `INQ#<id>` | `LINK#<target pk>` | | | the erasure (an idempotency record; a chat session that names it, whole) |
//! | an inquiry under its prospect's address | `EMAIL#<sha256(lower-cased address)>` | `INQ#<id>` | | | the export and erasure of one address's inquiries; removed with the inquiry |
//! | the address index's backfill | `EMAILS#BACKFILL` | `STATE` | | | where the one-off pass over inquiries stored before the index stands |
//! | an erasure's audit record | `ERASED#<inquiry id>` | `ERASURE` | | | a second erasure; workers drop the inquiry's events |

use super::AppError;
use crate::domain::chat::{ChatSession, SessionId};
use crate::domain::report::ReportId;
use crate::domain::{Email, InquiryId, InquiryStatus};
use crate::ports::{Condition, Item, ItemStore, Query, WriteOp};

/// The partition of one inquiry (its record and its reports).
pub fn inquiry_pk(id: &InquiryId) -> String {
    format!("{INQUIRY_PK_PREFIX}{id}")
}

const INQUIRY_PK_PREFIX: &str = "INQ#";

pub const INQUIRY_SK: &str = "INQUIRY";

/// The inquiry whose partition `pk` is.
pub fn inquiry_of_pk(pk: &str) -> Option<InquiryId> {
    pk.strip_prefix(INQUIRY_PK_PREFIX)
        .and_then(InquiryId::parse)
}

/// Where every inquiry sat in the index before the index was keyed by status. An
/// inquiry written then stays there until it is next written (a status change), so
/// listings read it too.
pub const LEGACY_INQUIRIES: &str = "INQUIRIES";

/// The index partition of the inquiries in one status, by creation time: a status
/// filter reads only its own.
pub fn inquiries_in(status: InquiryStatus) -> String {
    format!("{LEGACY_INQUIRIES}#{status}")
}

/// An inquiry's index position: creation time, then id, so ties keep an order.
pub fn inquiry_position(created_at: &str, id: &InquiryId) -> String {
    format!("{created_at}#{id}")
}

/// The sort keys of an inquiry's reports start with this.
pub const REPORT_PREFIX: &str = "REPORT#";

/// A report record's sort key in its inquiry's partition, newest last.
pub fn report_sk(at: &str, id: &ReportId) -> String {
    format!("{REPORT_PREFIX}{at}#{id}")
}

/// The newest few of an inquiry's reports, whole, beside it: written with the
/// inquiry (empty) and with each report, so a page of inquiries reads all of
/// theirs in one `get_many` instead of one query each.
pub const REPORTS_SHELF_SK: &str = "REPORTS";

/// Reports kept on a shelf, newest first.
pub const REPORTS_SHELF_SIZE: usize = 5;

/// The pointer from a report's id to its record.
pub fn report_pointer_pk(id: &ReportId) -> String {
    format!("REPORT#{id}")
}

pub const REPORT_POINTER_SK: &str = "REPORT";

/// Every report, by time: the report listing and the figures.
pub const REPORTS_INDEX: &str = "REPORTS";

/// An outbox entry sits with the inquiry its event is about: no one partition takes
/// every submission's write.
pub fn outbox_pk(inquiry_id: &str) -> String {
    format!("{INQUIRY_PK_PREFIX}{inquiry_id}")
}

/// The sort keys of outbox entries start with this (the stream's filter says so too).
pub const OUTBOX_PREFIX: &str = "OUTBOX#";

pub fn outbox_sk(event_id: &str, queue: &str) -> String {
    format!("{OUTBOX_PREFIX}{event_id}#{queue}")
}

/// Where the polling relay stands in the change feed.
pub const FEED_POSITION_PK: &str = "FEED#relay";
pub const FEED_POSITION_SK: &str = "POSITION";

/// The ledger entry of one side effect of one event.
pub fn notification_pk(event_id: &str, action: &str) -> String {
    format!("NOTE#{event_id}#{action}")
}

pub const NOTIFICATION_SK: &str = "NOTE";

/// Every recorded side effect, by time: the figures.
pub const NOTIFICATIONS_INDEX: &str = "NOTIFICATIONS";

/// An idempotency record, under a digest so a client's key never becomes part of
/// a store key as written.
pub fn idempotency_pk(digest_hex: &str) -> String {
    format!("IDEM#{digest_hex}")
}

pub const IDEMPOTENCY_SK: &str = "IDEM";

/// Failed sign-ins from one client address.
pub fn login_failures_pk(client: &str) -> String {
    format!("RATE#login#{client}")
}

pub const RATE_SK: &str = "RATE";

/// The inquiries one web-form client (an address) submitted, one item per window.
pub fn submissions_pk(client: &str) -> String {
    format!("RATE#submit#{client}")
}

/// The confirmations one e-mail address was sent in the current window.
/// Under a digest: an address is personal data, and a key is not erased with the
/// inquiry that led to it.
pub fn mail_recipient_pk(address: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(address.to_lowercase().as_bytes());
    format!("RATE#mail#{}", hex::encode(digest))
}

/// The chat answers one admin was given in the current window, across every
/// socket and HTTP route.
pub fn chat_answers_pk(user: &str) -> String {
    format!("RATE#chat#{user}")
}

/// The stored hooks' one partition, by hook id.
pub const HOOKS_PK: &str = "HOOKS";

/// One chat session's partition: the session, its messages and request markers.
pub fn chat_session_pk(id: &SessionId) -> String {
    format!("CHAT#{id}")
}

pub const CHAT_SESSION_SK: &str = "SESSION";

/// The sort keys of a session's messages start with this.
pub const CHAT_MESSAGE_PREFIX: &str = "MSG#";

/// A message's sort key; the id as stored (a `MessageId`, or one read back from a
/// request marker).
pub fn chat_message_sk(id: impl std::fmt::Display) -> String {
    format!("{CHAT_MESSAGE_PREFIX}{id}")
}

/// A session's message counts by role, added to as each message is stored.
pub const CHAT_COUNTS_SK: &str = "COUNTS";

/// A request marker: which answer a client's message id got.
pub fn chat_request_sk(digest_hex: &str) -> String {
    format!("REQ#{digest_hex}")
}

/// A session's expiry entry, rewritten with the session.
pub const CHAT_EXPIRY_SK: &str = "EXPIRY";

/// Every chat session, by when it expires.
pub const CHAT_EXPIRY_INDEX: &str = "CHAT_EXPIRY";

/// The small item that files a session under its expiry (the session itself is
/// filed under its creation, for the listing); it expires with the session.
pub fn chat_expiry_entry(s: &ChatSession, expires_at: Option<i64>) -> Item {
    let mut item = Item::new(
        chat_session_pk(&s.id),
        CHAT_EXPIRY_SK,
        serde_json::json!({
            "user_id": s.user_id,
            "status": s.status,
            "expires_at": s.expires_at,
        }),
    )
    .indexed(CHAT_EXPIRY_INDEX, format!("{}#{}", s.expires_at, s.id));
    item.expires_at = expires_at;
    item
}

/// Every chat session, by creation.
pub const CHAT_SESSIONS_INDEX: &str = "CHAT_SESSIONS";
/// Every chat message, by creation: the figures.
pub const CHAT_MESSAGES_INDEX: &str = "CHAT_MESSAGES";

/// An open chat connection.
pub fn connection_pk(id: &str) -> String {
    format!("CONN#{id}")
}

pub const CONNECTION_SK: &str = "CONN";

/// Every open chat connection, by when it opened: the figures.
pub const CONNECTIONS_INDEX: &str = "CHAT_CONNECTIONS";

/// The sort keys of an inquiry's record of its notifications start with this.
pub const NOTICE_PREFIX: &str = "SENT#";

/// One notification of an inquiry, by time.
pub fn notice_sk(at: &str, event_id: &str, action: &str) -> String {
    format!("{NOTICE_PREFIX}{at}#{event_id}#{action}")
}

/// The sort keys of an inquiry's links start with this.
pub const LINK_PREFIX: &str = "LINK#";

/// What a link points at, for the erasure's account of what it removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// One item: the record `(pk, sk)`.
    Idempotency,
    /// A whole partition: the session and everything under it.
    ChatSession,
}

/// The link from an inquiry's partition to a record of `kind` under `pk` (and
/// `sk`, for one item), written in the batch that writes that record, so the
/// erasure finds everything by reading the inquiry's partition alone.
pub fn link(inquiry: &InquiryId, kind: LinkKind, pk: &str, sk: Option<&str>) -> Item {
    let target = Link {
        kind,
        pk: pk.to_string(),
        sk: sk.map(str::to_string),
    };
    Item::new(
        inquiry_pk(inquiry),
        format!("{LINK_PREFIX}{pk}"),
        serde_json::to_value(target).unwrap_or_default(),
    )
}

/// What a link item points at, as `link` writes it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Link {
    pub kind: LinkKind,
    pub pk: String,
    pub sk: Option<String>,
}

/// The inquiries of one prospect's address, under a digest: the address itself is
/// in no key.
pub fn email_pk(address: &Email) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(address.as_str().to_lowercase().as_bytes());
    format!("EMAIL#{}", hex::encode(digest))
}

/// The entry filing `inquiry` under its prospect's address.
pub fn email_entry(address: &Email, inquiry: &InquiryId) -> Item {
    Item::new(
        email_pk(address),
        inquiry_pk(inquiry),
        serde_json::json!({"inquiry_id": inquiry}),
    )
}

/// Where the address index's backfill stands.
pub const EMAIL_BACKFILL_PK: &str = "EMAILS#BACKFILL";
pub const EMAIL_BACKFILL_SK: &str = "STATE";

/// An erased inquiry's audit record.
pub fn erasure_pk(id: &InquiryId) -> String {
    format!("ERASED#{id}")
}

pub const ERASURE_SK: &str = "ERASURE";

/// The check that holds a batch to the inquiry being there.
pub fn inquiry_exists(id: &InquiryId) -> WriteOp {
    WriteOp::Check {
        pk: inquiry_pk(id),
        sk: INQUIRY_SK.into(),
        condition: Condition::Exists,
    }
}

/// The check that holds a batch writing something of an inquiry (a report, a
/// notification's record, a chat session naming it) to no erasure of it having
/// begun: an erasure first writes its record, then reads what to remove.
pub fn not_erased(id: &InquiryId) -> WriteOp {
    WriteOp::Check {
        pk: erasure_pk(id),
        sk: ERASURE_SK.into(),
        condition: Condition::NotExists,
    }
}

/// A stored record's data as `T`; `what` names it in the error.
pub fn decode<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T, AppError> {
    serde_json::from_value(item.data.clone())
        .map_err(|e| AppError::Unavailable(format!("stored {what} unreadable: {e}")))
}

/// Whether a walk over a query goes on after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    Continue,
    Stop,
}

/// Reads `query` page by page (each page `query.limit` items), handing each item
/// to `visit` until it says stop or the pages run out.
pub async fn walk(
    store: &dyn ItemStore,
    query: &Query,
    mut visit: impl FnMut(Item) -> Result<Walk, AppError>,
) -> Result<(), AppError> {
    let mut after = query.after.clone();
    loop {
        let page = store.query(&query.clone().after(after)).await?;
        for item in page.items {
            if visit(item)? == Walk::Stop {
                return Ok(());
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The first `want` items of `query` that `keep` turns into a value (it says `None`
/// to skip one), page by page: a filtered page reads until it is full, no further.
pub async fn first<T>(
    store: &dyn ItemStore,
    query: &Query,
    want: usize,
    mut keep: impl FnMut(Item) -> Result<Option<T>, AppError>,
) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    if want == 0 {
        return Ok(out);
    }
    walk(store, query, |item| {
        if let Some(v) = keep(item)? {
            out.push(v);
        }
        Ok(if out.len() >= want {
            Walk::Stop
        } else {
            Walk::Continue
        })
    })
    .await?;
    Ok(out)
}

/// Every item `query` matches, page by page.
/// The items at `keys` in the order asked (a key asked twice is read once), read
/// `MAX_GET_MANY` at a time: one round trip for a batch's worth.
pub async fn get_all(
    store: &dyn ItemStore,
    keys: &[(String, String)],
) -> Result<Vec<Option<Item>>, AppError> {
    let mut unique: Vec<&(String, String)> = keys.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    let mut found = std::collections::HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(crate::ports::store::MAX_GET_MANY) {
        let chunk: Vec<(String, String)> = chunk.iter().map(|k| (*k).clone()).collect();
        let items = store.get_many(&chunk).await?;
        found.extend(chunk.into_iter().zip(items));
    }
    Ok(keys
        .iter()
        .map(|k| found.get(k).cloned().flatten())
        .collect())
}

pub async fn collect(store: &dyn ItemStore, query: &Query) -> Result<Vec<Item>, AppError> {
    let mut out = Vec::new();
    walk(store, query, |item| {
        out.push(item);
        Ok(Walk::Continue)
    })
    .await?;
    Ok(out)
}
