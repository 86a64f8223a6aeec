//! A session's message history, newest page first with a `before` cursor.

use super::*;

impl ChatService {
    async fn all_messages(&self, id: &SessionId) -> Result<Vec<ChatMessage>, AppError> {
        let q = Query::table(chat_session_pk(id))
            .range(SkRange::Prefix(CHAT_MESSAGE_PREFIX.into()))
            .limit(500);
        let items = records::collect(self.deps.store.as_ref(), &q).await?;
        items.iter().map(decode).collect()
    }

    /// The newest `limit` messages, oldest first.
    pub(super) async fn latest(
        &self,
        id: &SessionId,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, AppError> {
        let q = Query::table(chat_session_pk(id))
            .range(SkRange::Prefix(CHAT_MESSAGE_PREFIX.into()))
            .descending()
            .limit(limit.max(1));
        let page = self.deps.store.query(&q).await?;
        let mut out: Vec<ChatMessage> = page.items.iter().map(decode).collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    /// A page of history: the newest `limit` messages older than `before` (all when
    /// `None`), oldest first; figures over the whole session; and whether older
    /// messages remain.
    pub async fn history(
        &self,
        user: &str,
        id: &SessionId,
        limit: usize,
        before: Option<&MessageId>,
    ) -> Result<(Vec<ChatMessage>, Value, bool), AppError> {
        self.get(user, id).await?;
        let all = self.all_messages(id).await?;
        let count = |r: Role| all.iter().filter(|m| m.role == r).count();
        let stats = json!({
            "total_messages": all.len(),
            "user_messages": count(Role::User),
            "assistant_messages": count(Role::Assistant),
            "first_message_at": all.first().map(|m| m.created_at.clone()),
            "last_message_at": all.last().map(|m| m.created_at.clone()),
        });
        let older: Vec<ChatMessage> = all
            .into_iter()
            .filter(|m| before.is_none_or(|b| m.id.as_str() < b.as_str()))
            .collect();
        let skip = older.len().saturating_sub(limit);
        Ok((older.into_iter().skip(skip).collect(), stats, skip > 0))
    }

    /// Messages oldest first, only those after `since` (RFC 3339) when given, at
    /// most `limit`, and whether more follow. A session that does not exist, or is
    /// another admin's, has none.
    pub async fn messages(
        &self,
        user: &str,
        id: &SessionId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, bool), AppError> {
        if self.load(user, id).await?.is_none() {
            return Ok((vec![], false));
        }
        let all = self.all_messages(id).await?;
        let mut after: Vec<ChatMessage> = all
            .into_iter()
            .filter(|m| since.is_none_or(|s| m.created_at.as_str() > s))
            .collect();
        let more = after.len() > limit;
        after.truncate(limit);
        Ok((after, more))
    }
}
