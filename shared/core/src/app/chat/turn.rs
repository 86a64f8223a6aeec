//! One chat turn: the session it belongs to, the question stored, the answer
//! streamed piece by piece from the model or the template, a resent question
//! answered once, and the grounding in an inquiry and its report.

use super::*;
use crate::app::{counters, figures};

impl ChatService {
    /// The session a question belongs to: the named one (created under that name
    /// when the client chose a new one), or a new one. Refuses an expired session.
    pub async fn open(
        &self,
        user: &str,
        id: Option<SessionId>,
        f: SessionFields,
    ) -> Result<ChatSession, AppError> {
        let Some(id) = id else {
            return self.create(user, f).await;
        };
        if let Some(stored) = self.load(user, &id).await? {
            let s = self.shown(stored.session);
            if s.status == SessionStatus::Expired {
                return Err(AppError::Conflict(
                    "the chat session has expired; start a new one".into(),
                ));
            }
            // A question may move the session onto another subject (a new context)
            // or name a client the session did not have yet.
            let moved = f.context.as_ref().is_some_and(|c| *c != s.context);
            let named = s.client_name.is_empty() && f.client_name.is_some();
            if moved || named {
                let change = SessionFields {
                    context: f.context.filter(|_| moved),
                    client_name: f.client_name.filter(|_| named),
                    ..Default::default()
                };
                return self.update(user, &id, change).await;
            }
            return Ok(s);
        }
        // Another admin's session under that name is not taken over.
        if self.taken(&id).await? {
            return Err(AppError::NotFound(Missing::ChatSession));
        }
        let s = self.fresh(id.clone(), user, f);
        match self.insert(&s).await {
            Ok(()) => Ok(s),
            // Opened by a concurrent first message under the same name.
            Err(AppError::Conflict(_)) => self.get(user, &id).await,
            Err(e) => Err(e),
        }
    }

    fn message(
        &self,
        session: &SessionId,
        id: MessageId,
        role: Role,
        content: String,
    ) -> ChatMessage {
        ChatMessage {
            id,
            session_id: session.clone(),
            role,
            content,
            metadata: json!({}),
            status: MessageStatus::Complete,
            created_at: rfc3339(self.now()),
        }
    }

    /// A message's record and the counts it adds, for one batch.
    fn message_writes(&self, m: &ChatMessage) -> Vec<WriteOp> {
        let item = counters::mark(self.message_item(m));
        let role = serde_json::to_value(m.role).unwrap_or_default();
        let tally = figures::message_tally(m, &item.pk, self.now());
        let session_counts = WriteOp::Add {
            pk: item.pk.clone(),
            sk: CHAT_COUNTS_SK.into(),
            deltas: vec![(role.as_str().unwrap_or_default().to_string(), 1)],
        };
        let mut ops = vec![
            WriteOp::Put {
                item,
                condition: Condition::NotExists,
            },
            session_counts,
        ];
        ops.extend(tally.writes());
        ops
    }

    fn message_item(&self, m: &ChatMessage) -> Item {
        Item::new(
            chat_session_pk(&m.session_id),
            chat_message_sk(&m.id),
            serde_json::to_value(m).unwrap_or_default(),
        )
        .indexed(CHAT_MESSAGES_INDEX, format!("{}#{}", m.created_at, m.id))
        .expiring_at(self.keep_until(self.now()))
    }

    /// Writes `ops` together with the session's activity stamp, retrying when a
    /// concurrent turn moved the session on. A failed condition of `ops` itself is
    /// reported as `Ok(false)`.
    async fn with_activity(
        &self,
        session: &ChatSession,
        ops: Vec<WriteOp>,
    ) -> Result<bool, AppError> {
        let (user, id) = (session.user_id.as_str(), &session.id);
        for _ in 0..8 {
            let stored = self
                .load(user, id)
                .await?
                .ok_or(AppError::NotFound(Missing::ChatSession))?;
            let mut s = stored.session.clone();
            let now = self.now();
            s.last_activity = rfc3339(now);
            s.updated_at = s.last_activity.clone();
            s.expires_at = rfc3339(now + self.cfg.idle_expiry);
            let mut batch = ops.clone();
            batch.extend(self.session_writes(&s, Some(&stored)));
            // The message's counts and the session's may meet on a bucket.
            match self.deps.store.write(counters::merged(batch)).await {
                Ok(()) => return Ok(true),
                Err(e) if raced(&e) => {
                    // Was it the session that moved, or one of ours that failed?
                    match self.load(user, id).await? {
                        Some(now) if now.version != stored.version => continue,
                        Some(_) => return Ok(false),
                        None => return Err(AppError::NotFound(Missing::ChatSession)),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the session kept changing; try again".into(),
        ))
    }

    /// One turn: stores the question, streams the answer to `sink` piece by piece,
    /// stores the answer. With a client message id, a resend of the same question
    /// gets the stored answer (or, when the first attempt died before answering, is
    /// answered now) and the model is never asked twice for one answer.
    pub async fn answer(
        &self,
        session: &ChatSession,
        question: &str,
        client_id: Option<&str>,
        sink: &dyn PieceSink,
    ) -> Result<Turn, AppError> {
        let sid = &session.id;
        let req_sk = client_id.map(|c| {
            let digest = Sha256::digest(c.as_bytes());
            chat_request_sk(&hex::encode(&digest[..16]))
        });
        let mut q = self.message(
            sid,
            MessageId::new(self.deps.ulid()),
            Role::User,
            question.into(),
        );
        let mut marker_version = 1;

        if let Some(sk) = &req_sk {
            if let Some(marker) = self.deps.store.get(&chat_session_pk(sid), sk).await? {
                match self.resume(session, &marker).await? {
                    Resume::Replay(turn) => return Ok(*turn),
                    Resume::Retake(question) => {
                        q = question;
                        marker_version = marker.version + 1;
                    }
                }
            }
        }
        // A replay above costs nothing; a new answer counts against the admin.
        limits::take(
            &self.deps,
            &records::chat_answers_pk(&session.user_id),
            self.cfg.answers_per_admin,
            "chat answers",
        )
        .await?;
        if marker_version == 1 {
            let mut ops = self.message_writes(&q);
            if let Some(sk) = &req_sk {
                ops.push(WriteOp::Put {
                    item: self.marker(sid, sk, &q.id, None, 1),
                    condition: Condition::NotExists,
                });
            }
            if !self.with_activity(session, ops).await? {
                return Err(AppError::Conflict(
                    "this message is already being answered".into(),
                ));
            }
        }

        // Made after the question's id, so the answer sorts right after it.
        let a_id = MessageId::new(self.deps.ulid());
        let started = Instant::now();
        let grounding = self.grounding(session).await;
        let turns = self.bounded_history(sid, &q).await?;
        let (text, by, complete, pieces) = self
            .stream_answer(&grounding, turns, question, sid, &a_id, sink)
            .await;
        let mut a = self.message(sid, a_id, Role::Assistant, text);
        a.status = if complete {
            MessageStatus::Complete
        } else {
            MessageStatus::Incomplete
        };
        a.metadata = json!({
            "generated_by": by,
            "latency_ms": started.elapsed().as_millis() as u64,
            "chunks": pieces,
            "in_reply_to": q.id,
            "inquiry_id": grounding.inquiry.as_ref().map(|i| i.id.to_string()),
        });
        let mut ops = self.message_writes(&a);
        if let Some(sk) = &req_sk {
            ops.push(WriteOp::Put {
                item: self.marker(sid, sk, &q.id, Some(&a.id), marker_version + 1),
                condition: Condition::Version(marker_version),
            });
        }
        if !self.with_activity(session, ops).await? {
            return Err(AppError::Conflict(
                "this message was answered concurrently".into(),
            ));
        }
        Ok(Turn {
            question: q,
            answer: a,
            replayed: false,
        })
    }

    fn marker(
        &self,
        sid: &SessionId,
        sk: &str,
        question: &MessageId,
        answer: Option<&MessageId>,
        version: u64,
    ) -> Item {
        let mut item = Item::new(
            chat_session_pk(sid),
            sk,
            json!({
                "question_id": question,
                "answer_id": answer,
                "started_at": self.now().unix_timestamp(),
            }),
        )
        .expiring_at(self.keep_until(self.now()));
        item.version = version;
        item
    }

    /// What to do with a resent client message: replay the stored answer, or take
    /// over an attempt that died before answering (older than the answer timeout).
    async fn resume(&self, session: &ChatSession, marker: &Item) -> Result<Resume, AppError> {
        let pk = chat_session_pk(&session.id);
        let msg = chat_message_sk;
        let question_id = marker.data["question_id"].as_str().unwrap_or_default();
        let question = match self.deps.store.get(&pk, &msg(question_id)).await? {
            Some(i) => decode::<ChatMessage>(&i)?,
            None => return Err(AppError::Conflict("this message id was used before".into())),
        };
        if let Some(answer_id) = marker.data["answer_id"].as_str() {
            if let Some(i) = self.deps.store.get(&pk, &msg(answer_id)).await? {
                return Ok(Resume::Replay(Box::new(Turn {
                    question,
                    answer: decode(&i)?,
                    replayed: true,
                })));
            }
        }
        let started = marker.data["started_at"].as_i64().unwrap_or(0);
        let stale = self.now().unix_timestamp() - started > 2 * self.cfg.timeout.as_secs() as i64;
        if !stale {
            return Err(AppError::Conflict(
                "this message is already being answered".into(),
            ));
        }
        let retake = self.marker(
            &session.id,
            &marker.sk,
            &question.id,
            None,
            marker.version + 1,
        );
        match self
            .deps
            .store
            .write(vec![WriteOp::Put {
                item: retake,
                condition: Condition::Version(marker.version),
            }])
            .await
        {
            Ok(()) => Ok(Resume::Retake(question)),
            Err(e) if raced(&e) => Err(AppError::Conflict(
                "this message is already being answered".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The inquiry (and its newest report) the session's context names, if any.
    pub async fn grounding(&self, s: &ChatSession) -> Grounding {
        let mut g = Grounding {
            notes: match &s.context {
                Value::String(t) if s.inquiry().is_none() && !t.trim().is_empty() => {
                    Some(t.clone())
                }
                Value::Object(m) => m
                    .get("notes")
                    .or_else(|| m.get("summary"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            },
            ..Default::default()
        };
        let Some(id) = s.inquiry() else {
            return g;
        };
        match self.inquiries.get(&id).await {
            Ok(i) => g.inquiry = Some(i),
            Err(AppError::NotFound(Missing::Inquiry)) => g.missing_inquiry = true,
            Err(e) => tracing::warn!(error = %e, "chat context unavailable"),
        }
        if g.inquiry.is_some() {
            match self.reports.for_inquiry(&id).await {
                Ok(rs) => g.report = rs.into_iter().next(),
                Err(e) => tracing::warn!(error = %e, "chat report context unavailable"),
            }
        }
        g
    }

    /// The earlier turns the model sees: the newest ones within both bounds, then
    /// the question.
    async fn bounded_history(
        &self,
        sid: &SessionId,
        q: &ChatMessage,
    ) -> Result<Vec<(Role, String)>, AppError> {
        let recent = self.latest(sid, self.cfg.history_turns + 1).await?;
        let mut budget = self.cfg.history_chars;
        let mut kept: Vec<(Role, String)> = Vec::new();
        for m in recent.iter().rev().filter(|m| m.id != q.id) {
            let n = m.content.chars().count();
            if n > budget || kept.len() >= self.cfg.history_turns {
                break;
            }
            budget -= n;
            kept.push((m.role, m.content.clone()));
        }
        kept.reverse();
        kept.push((Role::User, q.content.clone()));
        Ok(kept)
    }

    /// Streams an answer to `sink`: from the model when one is configured and its
    /// breaker closed, else (or when it fails before its first piece) from the
    /// template. Returns the text, who wrote it, whether it is whole, and the
    /// number of pieces pushed.
    async fn stream_answer(
        &self,
        g: &Grounding,
        turns: Vec<(Role, String)>,
        question: &str,
        sid: &SessionId,
        answer: &MessageId,
        sink: &dyn PieceSink,
    ) -> (String, String, bool, usize) {
        let template = || -> TextStream {
            let pieces: Vec<Result<String, LlmError>> = template_answer(g, question)
                .split_inclusive('\n')
                .map(|l| Ok(l.to_string()))
                .collect();
            let pause = self.cfg.template_pause;
            Box::pin(futures::stream::iter(pieces).then(move |p| async move {
                tokio::time::sleep(pause).await;
                p
            }))
        };
        let mut by = TEMPLATE_AUTHOR.to_string();
        let mut stream = template();
        if let Some(model) = self.model.as_ref().filter(|_| !self.breaker.is_open()) {
            let convo = Conversation {
                system: system_prompt(g, self.cfg.report_chars),
                turns,
                max_tokens: self.cfg.max_tokens,
                timeout: self.cfg.timeout,
            };
            match model.stream(&convo).await {
                Ok(s) => {
                    stream = s;
                    by = model.model_id().to_string();
                }
                Err(e) => {
                    self.breaker.failure();
                    tracing::warn!(error = %e, "chat model unavailable; answering from the template");
                }
            }
        }
        let (mut text, mut pieces, mut complete) = (String::new(), 0, true);
        while let Some(next) = stream.next().await {
            match next {
                Ok(piece) => {
                    for part in split_chars(&piece, CHUNK_CHARS) {
                        sink.piece(answer, sid, part).await;
                        pieces += 1;
                    }
                    text.push_str(&piece);
                }
                Err(e) if text.is_empty() && by != TEMPLATE_AUTHOR => {
                    self.breaker.failure();
                    tracing::warn!(error = %e, "chat model failed before answering; answering from the template");
                    by = TEMPLATE_AUTHOR.to_string();
                    stream = template();
                }
                Err(e) => {
                    self.breaker.failure();
                    tracing::warn!(error = %e, "chat answer cut short");
                    complete = false;
                    break;
                }
            }
        }
        if complete && by != TEMPLATE_AUTHOR {
            self.breaker.success();
        }
        (text, by, complete, pieces)
    }
}

enum Resume {
    Replay(Box<Turn>),
    Retake(ChatMessage),
}
