//! Sessions: create, read, list, rename and delete, and their expiry after a
//! quiet spell (read-only from then on).

use super::*;

impl ChatService {
    pub(super) fn session_item(&self, s: &ChatSession, version: u64) -> Item {
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

    /// The session `id` of `user`, and its version. A session belongs to the admin
    /// who made it: to anyone else it does not exist (API.md: another admin gets
    /// 404), so it can neither be read, changed, posted into nor captured.
    pub(super) async fn load(
        &self,
        user: &str,
        id: &SessionId,
    ) -> Result<Option<(ChatSession, u64)>, AppError> {
        match self
            .deps
            .store
            .get(&chat_session_pk(id), CHAT_SESSION_SK)
            .await?
        {
            Some(item) => {
                let s: ChatSession = decode(&item)?;
                Ok((s.user_id == user).then_some((s, item.version)))
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
        self.deps
            .store
            .write(vec![WriteOp::Put {
                item: self.session_item(s, 1),
                condition: Condition::NotExists,
            }])
            .await?;
        Ok(())
    }

    pub async fn create(&self, user: &str, f: SessionFields) -> Result<ChatSession, AppError> {
        let s = self.fresh(SessionId::new(self.deps.ulid()), user, f);
        self.insert(&s).await?;
        Ok(s)
    }

    pub async fn get(&self, user: &str, id: &SessionId) -> Result<ChatSession, AppError> {
        let (s, _) = self
            .load(user, id)
            .await?
            .ok_or(AppError::NotFound(Missing::ChatSession))?;
        Ok(self.shown(s))
    }

    /// `user`'s sessions (every admin's for `None`: the figures) newest first,
    /// optionally of one status, with the total that match.
    pub async fn list(
        &self,
        user: Option<&str>,
        status: Option<SessionStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<ChatSession>, usize), AppError> {
        let mut all = Vec::new();
        let q = Query::index(CHAT_SESSIONS_INDEX).descending().limit(500);
        records::walk(self.deps.store.as_ref(), &q, |item| {
            let s = self.shown(decode::<ChatSession>(&item)?);
            if user.is_none_or(|u| s.user_id == u) && status.is_none_or(|st| s.status == st) {
                all.push(s);
            }
            Ok(Walk::Continue)
        })
        .await?;
        let total = all.len();
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }

    /// Applies the given fields; an expired session can only be read or deleted.
    pub async fn update(
        &self,
        user: &str,
        id: &SessionId,
        f: SessionFields,
    ) -> Result<ChatSession, AppError> {
        for _ in 0..5 {
            let (mut s, version) = self
                .load(user, id)
                .await?
                .ok_or(AppError::NotFound(Missing::ChatSession))?;
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
                .write(vec![WriteOp::Put {
                    item: self.session_item(&s, version + 1),
                    condition: Condition::Version(version),
                }])
                .await
            {
                Ok(()) => return Ok(self.shown(s)),
                Err(e) if raced(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the session kept changing; try again".into(),
        ))
    }

    /// Removes the session with every message. The session item goes last, so an
    /// interrupted delete can simply be repeated.
    pub async fn delete(&self, user: &str, id: &SessionId) -> Result<(), AppError> {
        if self.load(user, id).await?.is_none() {
            return Err(AppError::NotFound(Missing::ChatSession));
        }
        let pk = chat_session_pk(id);
        loop {
            let page = self
                .deps
                .store
                .query(&Query::table(pk.clone()).limit(25))
                .await?;
            let ops: Vec<WriteOp> = page
                .items
                .iter()
                .filter(|i| i.sk != CHAT_SESSION_SK)
                .map(|i| WriteOp::Delete {
                    pk: i.pk.clone(),
                    sk: i.sk.clone(),
                    condition: Condition::None,
                })
                .collect();
            if ops.is_empty() {
                break;
            }
            self.deps.store.write(ops).await?;
        }
        self.deps
            .store
            .write(vec![WriteOp::Delete {
                pk,
                sk: CHAT_SESSION_SK.into(),
                condition: Condition::None,
            }])
            .await?;
        Ok(())
    }
}
