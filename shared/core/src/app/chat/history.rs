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
    /// messages remain. Reads the page, the session's counts, and its first message.
    pub async fn history(
        &self,
        user: &str,
        id: &SessionId,
        limit: usize,
        before: Option<&MessageId>,
    ) -> Result<(Vec<ChatMessage>, Value, bool), AppError> {
        self.get(user, id).await?;
        let store = self.deps.store.as_ref();
        let pk = chat_session_pk(id);
        let messages =
            || Query::table(pk.clone()).range(SkRange::Prefix(CHAT_MESSAGE_PREFIX.into()));
        let page_q = messages()
            .descending()
            .limit(limit.clamp(1, 100))
            .after(before.map(|b| crate::ports::Cursor {
                pk: pk.clone(),
                sk: chat_message_sk(b),
                gsi1sk: None,
            }));
        let (first_q, newest_q) = (messages().limit(1), messages().descending().limit(1));
        let (counts, first, newest, page) = tokio::try_join!(
            store.get(&pk, CHAT_COUNTS_SK),
            store.query(&first_q),
            store.query(&newest_q),
            store.query(&page_q),
        )?;
        let date = |p: &crate::ports::Page| {
            p.items
                .first()
                .and_then(|i| i.data["created_at"].as_str().map(str::to_string))
        };
        let (users, assistants) = match counts {
            Some(c) => (
                c.data["user"].as_i64().unwrap_or(0),
                c.data["assistant"].as_i64().unwrap_or(0),
            ),
            // A session whose messages were stored before its counts: count them once.
            None if first.items.is_empty() => (0, 0),
            None => {
                let all = self.all_messages(id).await?;
                let n = |r: Role| all.iter().filter(|m| m.role == r).count() as i64;
                (n(Role::User), n(Role::Assistant))
            }
        };
        let stats = json!({
            "total_messages": users + assistants,
            "user_messages": users,
            "assistant_messages": assistants,
            "first_message_at": date(&first),
            "last_message_at": date(&newest),
        });
        let more = page.next.is_some();
        let mut out: Vec<ChatMessage> = page.items.iter().map(decode).collect::<Result<_, _>>()?;
        out.reverse();
        Ok((out, stats, more))
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
        // Ids are ULIDs of their creation time: start a second before `since` and
        // read forward, so what is read is the page and not the session.
        let start = since.and_then(crate::app::counters::parse_time).map(|t| {
            let ms = (t.unix_timestamp() - 1).max(0) as u64 * 1000;
            chat_message_sk(MessageId::new(ulid::Ulid::from_parts(ms, 0)))
        });
        let pk = chat_session_pk(id);
        let q = Query::table(pk.clone())
            .range(SkRange::Prefix(CHAT_MESSAGE_PREFIX.into()))
            .limit(limit.clamp(1, 100))
            .after(start.map(|sk| crate::ports::Cursor {
                pk,
                sk,
                gsi1sk: None,
            }));
        let want = limit.saturating_add(1);
        let mut after = records::first(self.deps.store.as_ref(), &q, want, |item| {
            let m: ChatMessage = decode(&item)?;
            Ok(since.is_none_or(|s| m.created_at.as_str() > s).then_some(m))
        })
        .await?;
        let more = after.len() > limit;
        after.truncate(limit);
        Ok((after, more))
    }
}
