//! Sessions: create, read, list, rename and delete, and their expiry after a
//! quiet spell (read-only from then on).
//!
//! A session is counted by stored status at the hour it expires (`figures`), and
//! filed under its expiry by a small entry beside it: the hours behind the clock
//! say how many sessions have expired, the entries from this hour on say which of
//! the rest are active or inactive. So the figures and the listing's totals read a
//! bounded number of count items and the sessions of about one idle spell, never
//! every session stored.

use super::*;
use crate::app::{counters, figures};

/// A session as stored: its version, and whether its counts were added when it
/// was written (the backfill counts those stored before the counts).
pub(super) struct Stored {
    pub session: ChatSession,
    pub version: u64,
    pub counted: bool,
}

/// Sessions by status as shown: expiry folded in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    pub active: usize,
    pub inactive: usize,
    pub expired: usize,
}

impl SessionCounts {
    pub fn total(&self) -> usize {
        self.active + self.inactive + self.expired
    }

    pub fn of(&self, status: SessionStatus) -> usize {
        match status {
            SessionStatus::Active => self.active,
            SessionStatus::Inactive => self.inactive,
            SessionStatus::Expired => self.expired,
        }
    }
}

impl ChatService {
    fn session_item(&self, s: &ChatSession, version: u64) -> Item {
        let expires = OffsetDateTime::parse(
            &s.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| self.now());
        let mut item = Item::new(
            chat_session_pk(&s.id),
            CHAT_SESSION_SK,
            serde_json::to_value(s).unwrap_or_default(),
        )
        .indexed(CHAT_SESSIONS_INDEX, format!("{}#{}", s.created_at, s.id))
        .expiring_at(self.keep_until(expires));
        item.version = version;
        item
    }

    /// The batch that stores `s` over what was stored (`None`: a new session): the
    /// session, its expiry entry, and its counts moved from the old expiry hour and
    /// status to the new ones.
    pub(super) fn session_writes(&self, s: &ChatSession, before: Option<&Stored>) -> Vec<WriteOp> {
        let now = self.now();
        let item = counters::mark(self.session_item(s, before.map_or(0, |b| b.version) + 1));
        let expires = item.expires_at;
        let mut ops = vec![
            WriteOp::Put {
                item,
                condition: before.map_or(Condition::NotExists, |b| Condition::Version(b.version)),
            },
            WriteOp::Put {
                item: records::chat_expiry_entry(s, expires),
                condition: Condition::None,
            },
        ];
        if let Some(b) = before.filter(|b| b.counted) {
            ops.extend(figures::session_tally(&b.session, -1, now).writes());
        }
        // A session about an inquiry is erased with it, whole.
        if let Some(inquiry) = s.inquiry() {
            let link = records::link(
                &inquiry,
                records::LinkKind::ChatSession,
                &records::chat_session_pk(&s.id),
                None,
            );
            ops.push(WriteOp::Put {
                item: link,
                condition: Condition::None,
            });
            ops.push(records::not_erased(&inquiry));
        }
        ops.extend(figures::session_tally(s, 1, now).writes());
        counters::merged(ops)
    }

    /// Sessions by shown status, every admin's (`None`) or one admin's: the counts
    /// of the whole hours gone by within the retention (every session expiring in
    /// them has expired; those expired longer ago are gone, to the hour), and the
    /// expiry entries from the start of this hour on.
    pub async fn session_counts(&self, user: Option<&str>) -> Result<SessionCounts, AppError> {
        let now = self.now();
        let hour = counters::hour_start(now);
        let store = self.deps.store.as_ref();
        let q = Query::index(CHAT_EXPIRY_INDEX)
            .range(SkRange::Between(rfc3339(hour), "~".into()))
            .limit(500);
        let (past, entries) = tokio::try_join!(
            counters::between(
                store,
                now - self.cfg.retention,
                hour - Duration::from_nanos(1)
            ),
            records::collect(store, &q),
        )?;
        let mut c = SessionCounts {
            expired: SessionStatus::ALL
                .iter()
                .map(|st| past.get(&figures::session_name(user, st.as_str())))
                .sum::<i64>()
                .max(0) as usize,
            ..SessionCounts::default()
        };
        let now = rfc3339(now);
        for e in entries {
            if user.is_some_and(|u| e.data["user_id"].as_str() != Some(u)) {
                continue;
            }
            let stored =
                serde_json::from_value(e.data["status"].clone()).unwrap_or(SessionStatus::Active);
            let shown = if e.data["expires_at"].as_str().unwrap_or_default() <= now.as_str() {
                SessionStatus::Expired
            } else {
                stored
            };
            match shown {
                SessionStatus::Active => c.active += 1,
                SessionStatus::Inactive => c.inactive += 1,
                SessionStatus::Expired => c.expired += 1,
            }
        }
        Ok(c)
    }

    /// The session `id` of `user`, and its version. A session belongs to the admin
    /// who made it: to anyone else it does not exist (API.md: another admin gets
    /// 404), so it can neither be read, changed, posted into nor captured.
    pub(super) async fn load(
        &self,
        user: &str,
        id: &SessionId,
    ) -> Result<Option<Stored>, AppError> {
        match self
            .deps
            .store
            .get(&chat_session_pk(id), CHAT_SESSION_SK)
            .await?
        {
            Some(item) => {
                let s: ChatSession = decode(&item)?;
                Ok((s.user_id == user).then(|| Stored {
                    session: s,
                    version: item.version,
                    counted: counters::is_counted(&item),
                }))
            }
            None => Ok(None),
        }
    }

    /// Whether a session of that id exists at all, whoever made it.
    pub(super) async fn taken(&self, id: &SessionId) -> Result<bool, AppError> {
        let item = self
            .deps
            .store
            .get(&chat_session_pk(id), CHAT_SESSION_SK)
            .await?;
        Ok(item.is_some())
    }

    pub(super) fn fresh(&self, id: SessionId, user: &str, f: SessionFields) -> ChatSession {
        let now = self.now();
        let at = rfc3339(now);
        ChatSession {
            id,
            user_id: user.to_string(),
            client_name: f.client_name.unwrap_or_default(),
            context: f.context.unwrap_or(Value::Null),
            status: SessionStatus::Active,
            metadata: f.metadata.unwrap_or_else(|| json!({})),
            created_at: at.clone(),
            updated_at: at.clone(),
            last_activity: at,
            expires_at: rfc3339(now + self.cfg.idle_expiry),
        }
    }

    /// Shows the stored session with its expiry folded into the status.
    pub(super) fn shown(&self, mut s: ChatSession) -> ChatSession {
        s.status = s.effective_status(&rfc3339(self.now()));
        s
    }

    pub(super) async fn insert(&self, s: &ChatSession) -> Result<(), AppError> {
        if let Err(e) = self.deps.store.write(self.session_writes(s, None)).await {
            self.refuse_erased(Some(&s.context)).await?;
            return Err(e.into());
        }
        Ok(())
    }

    /// Refuses a context that names an erased inquiry, once a session write failed
    /// its check that no erasure of it has begun: said plainly, not as a race.
    async fn refuse_erased(&self, context: Option<&Value>) -> Result<(), AppError> {
        let Some(inquiry) = context.and_then(crate::domain::chat::context_inquiry) else {
            return Ok(());
        };
        if crate::app::erasure::is_erased(self.deps.store.as_ref(), &inquiry).await? {
            return Err(AppError::Conflict(
                "the inquiry this session's context names was erased".into(),
            ));
        }
        Ok(())
    }

    pub async fn create(&self, user: &str, f: SessionFields) -> Result<ChatSession, AppError> {
        let s = self.fresh(SessionId::new(self.deps.ulid()), user, f);
        self.insert(&s).await?;
        Ok(s)
    }

    pub async fn get(&self, user: &str, id: &SessionId) -> Result<ChatSession, AppError> {
        let stored = self
            .load(user, id)
            .await?
            .ok_or(AppError::NotFound(Missing::ChatSession))?;
        Ok(self.shown(stored.session))
    }

    /// `user`'s sessions newest first, optionally of one status, with the total that
    /// match. The page reads the sessions index until it holds `offset + limit` of
    /// the admin's sessions (in proportion to the page over their share); the total
    /// comes from the counts.
    pub async fn list(
        &self,
        user: &str,
        status: Option<SessionStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<ChatSession>, usize), AppError> {
        let counts = self.session_counts(Some(user)).await?;
        let total = status.map_or(counts.total(), |st| counts.of(st));
        // Past the end nothing is read: a far offset must not walk the index.
        if offset >= total {
            return Ok((vec![], total));
        }
        let want = offset.saturating_add(limit);
        let q = Query::index(CHAT_SESSIONS_INDEX)
            .descending()
            .limit(want.clamp(1, 100));
        let page = records::first(self.deps.store.as_ref(), &q, want, |item| {
            let s = self.shown(decode::<ChatSession>(&item)?);
            Ok((s.user_id == user && status.is_none_or(|st| s.status == st)).then_some(s))
        })
        .await?;
        Ok((page.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// Applies the given fields; an expired session can only be read or deleted.
    pub async fn update(
        &self,
        user: &str,
        id: &SessionId,
        f: SessionFields,
    ) -> Result<ChatSession, AppError> {
        for _ in 0..5 {
            let stored = self
                .load(user, id)
                .await?
                .ok_or(AppError::NotFound(Missing::ChatSession))?;
            let mut s = stored.session.clone();
            if self.shown(s.clone()).status == SessionStatus::Expired {
                return Err(AppError::Conflict(
                    "the chat session has expired; start a new one".into(),
                ));
            }
            if let Some(n) = f.client_name.clone() {
                s.client_name = n;
            }
            if let Some(c) = f.context.clone() {
                s.context = c;
            }
            if let Some(st) = f.status {
                s.status = st;
            }
            if let Some(m) = f.metadata.clone() {
                s.metadata = m;
            }
            s.updated_at = rfc3339(self.now());
            match self
                .deps
                .store
                .write(self.session_writes(&s, Some(&stored)))
                .await
            {
                Ok(()) => return Ok(self.shown(s)),
                Err(e) if raced(&e) => self.refuse_erased(Some(&s.context)).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the session kept changing; try again".into(),
        ))
    }

    /// Removes the session with every message. The session item, its expiry entry
    /// and its counts go last, together, so an interrupted delete can simply be
    /// repeated.
    pub async fn delete(&self, user: &str, id: &SessionId) -> Result<(), AppError> {
        for _ in 0..5 {
            if self.delete_once(user, id).await? {
                return Ok(());
            }
        }
        Err(AppError::Conflict(
            "the session kept changing; try again".into(),
        ))
    }

    /// One attempt; `false` when the session changed before its last batch.
    /// Its messages and other records go first, the session itself last, so that an
    /// attempt that dies halfway leaves a session to delete again.
    async fn delete_once(&self, user: &str, id: &SessionId) -> Result<bool, AppError> {
        if self.load(user, id).await?.is_none() {
            return Err(AppError::NotFound(Missing::ChatSession));
        }
        let store = self.deps.store.as_ref();
        let items = records::collect(store, &Query::table(chat_session_pk(id))).await?;
        let now = self.now();
        let (session, rest): (Vec<&Item>, Vec<&Item>) = items
            .iter()
            .partition(|i| i.sk == CHAT_SESSION_SK || i.sk == CHAT_EXPIRY_SK);
        let units = rest
            .into_iter()
            .map(|i| removal(i, now))
            .collect::<Result<Vec<_>, _>>()?;
        let last = session
            .into_iter()
            .map(|i| removal(i, now))
            .collect::<Result<Vec<_>, _>>()?
            .concat();
        for batch in counters::packed(&units)
            .into_iter()
            .map(|(batch, _)| batch)
            .chain([counters::merged(last)])
            .filter(|b| !b.is_empty())
        {
            match store.write(batch).await {
                Ok(()) => {}
                // Changed meanwhile (a turn, a rename): delete what is there now.
                Err(e) if raced(&e) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(true)
    }
}

/// The removal of one record of a chat session's partition, at the version read,
/// with the counts it added taken back (a session's, a message's): the one way a
/// session goes, whether its admin deletes it or an erasure takes it.
pub fn removal(item: &Item, now: OffsetDateTime) -> Result<Vec<WriteOp>, AppError> {
    let mut unit = vec![WriteOp::Delete {
        pk: item.pk.clone(),
        sk: item.sk.clone(),
        condition: Condition::Version(item.version),
    }];
    if counters::is_counted(item) {
        if item.sk == CHAT_SESSION_SK {
            let s: ChatSession = decode(item)?;
            unit.extend(figures::session_tally(&s, -1, now).writes());
        } else if item.sk.starts_with(CHAT_MESSAGE_PREFIX) {
            let m: ChatMessage = records::decode(item, "chat message")?;
            unit.extend(figures::message_tally(&m, &item.pk, now).negated().writes());
        }
    }
    Ok(unit)
}
