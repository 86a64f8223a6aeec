//! The export of everything the system holds about a prospect's inquiry, for a
//! request to see it: the inquiry, its reports with their content, the
//! notifications sent about it (to whom, under which subject, when, with what
//! outcome) and the chat sessions that name it with their messages. Read from the
//! same places the erasure removes: the inquiry's partition and what it links to,
//! so a read costs what that person's data holds, not what the table holds.

use super::records::{self, LinkKind, INQUIRY_SK, LINK_PREFIX, NOTICE_PREFIX, REPORT_PREFIX};
use super::{addresses, AppError, Deps, Missing};
use crate::domain::chat::{ChatMessage, ChatSession};
use crate::domain::report::Report;
use crate::domain::{rfc3339, Email, Inquiry, InquiryId};
use crate::ports::Query;
use serde::Serialize;
use serde_json::Value;

/// A chat session that names the inquiry, with its messages, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct ChatExport {
    pub session: ChatSession,
    pub messages: Vec<ChatMessage>,
}

/// What the system holds about one inquiry.
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    pub exported_at: String,
    pub inquiry: Inquiry,
    /// Newest last.
    pub reports: Vec<Report>,
    /// Each notification about it: `event_id`, `action`, `channel`, `status`, `at`,
    /// and for an e-mail its `recipients` and `subject`; oldest first.
    pub notifications: Vec<Value>,
    pub chat_sessions: Vec<ChatExport>,
}

/// Inquiries one export by address answers at most: a bundle holds whole reports
/// and chat histories, and an answer must stay well within Lambda's 6 MB.
pub const PER_PAGE: usize = 10;

#[derive(Clone)]
pub struct Export {
    deps: Deps,
}

impl Export {
    pub fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// The bundles of the inquiries filed under `address`, `PER_PAGE` at a time in
    /// id order after `after`, and where the next page starts when more remain.
    pub async fn of_address(
        &self,
        address: &Email,
        after: Option<&InquiryId>,
    ) -> Result<(Vec<Bundle>, Option<InquiryId>), AppError> {
        let store = self.deps.store.as_ref();
        let (ids, more) = addresses::inquiries_of(store, address, after, PER_PAGE).await?;
        let mut bundles = Vec::with_capacity(ids.len());
        for id in &ids {
            match self.of_inquiry(id).await {
                Ok(b) => bundles.push(b),
                Err(AppError::NotFound(Missing::Inquiry)) => {}
                Err(e) => return Err(e),
            }
        }
        let next = ids.last().filter(|_| more).cloned();
        Ok((bundles, next))
    }

    pub async fn of_inquiry(&self, id: &InquiryId) -> Result<Bundle, AppError> {
        let store = self.deps.store.as_ref();
        let items = records::collect(store, &Query::table(records::inquiry_pk(id))).await?;
        let own = items
            .iter()
            .find(|i| i.sk == INQUIRY_SK)
            .ok_or(AppError::NotFound(Missing::Inquiry))?;
        let mut bundle = Bundle {
            exported_at: rfc3339(self.deps.clock.now()),
            inquiry: records::decode(own, "inquiry")?,
            reports: vec![],
            notifications: vec![],
            chat_sessions: vec![],
        };
        for item in &items {
            if item.sk.starts_with(REPORT_PREFIX) {
                bundle.reports.push(records::decode(item, "report")?);
            } else if item.sk.starts_with(NOTICE_PREFIX) {
                bundle.notifications.push(item.data.clone());
            } else if item.sk.starts_with(LINK_PREFIX) {
                let link: records::Link = records::decode(item, "link")?;
                if link.kind == LinkKind::ChatSession {
                    if let Some(chat) = self.chat(&link.pk).await? {
                        bundle.chat_sessions.push(chat);
                    }
                }
            }
        }
        Ok(bundle)
    }

    /// A linked session and its messages; `None` once the session is gone (deleted
    /// by its admin, or expired).
    async fn chat(&self, pk: &str) -> Result<Option<ChatExport>, AppError> {
        let items = records::collect(self.deps.store.as_ref(), &Query::table(pk)).await?;
        let Some(session) = items.iter().find(|i| i.sk == records::CHAT_SESSION_SK) else {
            return Ok(None);
        };
        let messages = items
            .iter()
            .filter(|i| i.sk.starts_with(records::CHAT_MESSAGE_PREFIX))
            .map(|i| records::decode(i, "chat message"))
            .collect::<Result<Vec<ChatMessage>, _>>()?;
        Ok(Some(ChatExport {
            session: records::decode(session, "chat session")?,
            messages,
        }))
    }
}
