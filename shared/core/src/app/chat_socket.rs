//! The chat WebSocket's three routes as use cases, the same for API Gateway (the
//! chat-ws function) and the dev server's socket: `$connect` checks the admin token
//! and remembers the connection for two hours (API Gateway's limit), `$disconnect`
//! forgets it, and `$default` turns one frame into pushed frames. Nothing a client
//! sends closes the connection: every refusal is an `error` frame.

use super::auth::{Authenticator, Claims};
use super::chat::{ChatService, PieceSink};
use super::chat_frames::{frames, parse_frame, ClientFrame, FrameError};
use super::records::{connection_pk, CONNECTIONS_INDEX, CONNECTION_SK};
use super::{AppError, ErrorCode};
use crate::domain::chat::{MessageId, SessionFields, SessionId};
use crate::domain::rfc3339;
use crate::ports::push::{Push, PushError};
use crate::ports::{Condition, Item, WriteOp};
use async_trait::async_trait;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// API Gateway closes a WebSocket after two hours at most.
pub const CONNECTION_TTL: Duration = Duration::from_secs(2 * 3600);

/// Frames (other than heartbeats) one connection may send per window.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub frames: u64,
    pub per: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            frames: 20,
            per: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
pub struct ChatSocket {
    chat: ChatService,
    auth: Arc<Authenticator>,
    push: Arc<dyn Push>,
    limit: RateLimit,
}

impl ChatSocket {
    pub fn new(
        chat: ChatService,
        auth: Arc<Authenticator>,
        push: Arc<dyn Push>,
        limit: RateLimit,
    ) -> Self {
        Self {
            chat,
            auth,
            push,
            limit,
        }
    }

    pub fn chat(&self) -> &ChatService {
        &self.chat
    }

    fn now(&self) -> time::OffsetDateTime {
        self.chat.deps().clock.now()
    }

    /// Checks the token before anything is stored; a refusal stores nothing.
    pub async fn connect(&self, connection: &str, token: Option<&str>) -> Result<Claims, AppError> {
        let claims = self.auth.verify(token.unwrap_or_default().trim())?;
        let now = self.now();
        let item = Item::new(
            connection_pk(connection),
            CONNECTION_SK,
            json!({"user": claims.sub, "connected_at": rfc3339(now), "window_start": now.unix_timestamp(), "frames": 0}),
        )
        .indexed(CONNECTIONS_INDEX, format!("{}#{connection}", rfc3339(now)))
        // The connection lives no longer than the token it was opened with: once
        // that expires, every frame is refused until the client reconnects with a
        // fresh token.
        .expiring_at((now + CONNECTION_TTL).unix_timestamp().min(claims.exp));
        self.chat
            .deps()
            .store
            .write(vec![WriteOp::Put {
                item,
                condition: Condition::None,
            }])
            .await?;
        tracing::info!(connection, user = %claims.sub, "chat connected");
        Ok(claims)
    }

    pub async fn disconnect(&self, connection: &str) -> Result<(), AppError> {
        self.chat
            .deps()
            .store
            .write(vec![WriteOp::Delete {
                pk: connection_pk(connection),
                sk: CONNECTION_SK.into(),
                condition: Condition::None,
            }])
            .await?;
        Ok(())
    }

    async fn send(&self, connection: &str, frame: &str) -> Result<(), PushError> {
        let r = self.push.send(connection, frame).await;
        if let Err(e) = &r {
            self.pushed_failed(connection, e).await;
        }
        r
    }

    async fn pushed_failed(&self, connection: &str, e: &PushError) {
        match e {
            PushError::Gone => {
                tracing::info!(connection, "chat connection gone; forgetting it");
                if let Err(e) = self.disconnect(connection).await {
                    tracing::warn!(error = %e, "could not forget a gone connection");
                }
            }
            PushError::Failed(why) => tracing::warn!(connection, error = %why, "chat push failed"),
        }
    }

    async fn refuse(&self, connection: &str, e: FrameError, session: Option<&SessionId>) {
        let _ = self
            .send(connection, &frames::error(&e, session, self.now()))
            .await;
    }

    /// Counts a frame against the connection's window. `Err` carries the refusal.
    async fn admit(&self, connection: &str) -> Result<Item, FrameError> {
        let unknown = || {
            FrameError::new(
                ErrorCode::Unauthorized,
                "this connection is unknown or expired; reconnect with a token",
            )
        };
        let store = &self.chat.deps().store;
        for _ in 0..5 {
            let item = match store.get(&connection_pk(connection), CONNECTION_SK).await {
                Ok(Some(i)) => i,
                Ok(None) => return Err(unknown()),
                Err(e) => return Err(FrameError::new(ErrorCode::Unavailable, e.to_string())),
            };
            let now = self.now().unix_timestamp();
            let mut next = item.clone();
            let start = item.data["window_start"].as_i64().unwrap_or(now);
            let used = item.data["frames"].as_u64().unwrap_or(0);
            let (start, used) = if now - start >= self.limit.per.as_secs() as i64 {
                (now, 0)
            } else {
                (start, used)
            };
            if used >= self.limit.frames {
                let wait = (start + self.limit.per.as_secs() as i64 - now).max(1);
                return Err(FrameError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "at most {} messages per {} seconds; retry in {wait} s",
                        self.limit.frames,
                        self.limit.per.as_secs()
                    ),
                ));
            }
            next.data["window_start"] = json!(start);
            next.data["frames"] = json!(used + 1);
            next.version = item.version + 1;
            match store
                .write(vec![WriteOp::Put {
                    item: next.clone(),
                    condition: Condition::Version(item.version),
                }])
                .await
            {
                Ok(()) => return Ok(next),
                Err(crate::ports::StoreError::ConditionFailed) => continue,
                Err(e) => return Err(FrameError::new(ErrorCode::Unavailable, e.to_string())),
            }
        }
        Err(FrameError::new(
            ErrorCode::RateLimited,
            "too many frames at once; slow down",
        ))
    }

    /// Handles one frame from the client. Never fails: problems become `error` frames.
    pub async fn receive(&self, connection: &str, text: &str) {
        let frame = parse_frame(text);
        if frame == Ok(ClientFrame::Heartbeat) {
            let _ = self.send(connection, &frames::heartbeat(self.now())).await;
            return;
        }
        let conn = match self.admit(connection).await {
            Ok(c) => c,
            Err(e) => return self.refuse(connection, e, None).await,
        };
        let q = match frame {
            Ok(ClientFrame::Message(q)) => q,
            Ok(ClientFrame::Heartbeat) => return,
            Err(e) => return self.refuse(connection, e, None).await,
        };
        let user = conn.data["user"].as_str().unwrap_or("admin").to_string();
        let fields = SessionFields {
            client_name: q.client_name,
            context: q.context,
            ..Default::default()
        };
        let session = match self.chat.open(&user, q.session_id.clone(), fields).await {
            Ok(s) => s,
            Err(e) => {
                return self
                    .refuse(connection, app_refusal(&e), q.session_id.as_ref())
                    .await
            }
        };
        let client_id = q
            .message_id
            .clone()
            .unwrap_or_else(|| self.chat.deps().ulid().to_string().to_lowercase());
        if self
            .send(
                connection,
                &frames::ack(&client_id, &session.id, self.now()),
            )
            .await
            == Err(PushError::Gone)
        {
            return;
        }
        let sink = ChunkPusher {
            socket: self,
            connection,
            gone: AtomicBool::new(false),
        };
        match self
            .chat
            .answer(&session, &q.content, q.message_id.as_deref(), &sink)
            .await
        {
            Ok(turn) if !sink.gone.load(Ordering::SeqCst) => {
                let _ = self
                    .send(connection, &frames::message(&turn.answer, self.now()))
                    .await;
            }
            Ok(_) => {}
            Err(e) => {
                self.refuse(connection, app_refusal(&e), Some(&session.id))
                    .await
            }
        }
    }
}

/// Pushes each piece as a `chunk` frame until the client is found gone.
struct ChunkPusher<'a> {
    socket: &'a ChatSocket,
    connection: &'a str,
    gone: AtomicBool,
}

#[async_trait]
impl PieceSink for ChunkPusher<'_> {
    async fn piece(&self, answer: &MessageId, session: &SessionId, text: &str) {
        if self.gone.load(Ordering::SeqCst) {
            return;
        }
        let frame = frames::chunk(answer, session, text, self.socket.now());
        if self.socket.send(self.connection, &frame).await == Err(PushError::Gone) {
            self.gone.store(true, Ordering::SeqCst);
        }
    }
}

/// The error frame a refused frame gets: the same code the HTTP envelope gives, with
/// a message fit for the socket.
pub fn app_refusal(e: &AppError) -> FrameError {
    let message = match e {
        AppError::Validation(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::NotFound(what) => format!("no such {}", what.noun().to_lowercase()),
        AppError::Conflict(why) => why.clone(),
        AppError::InvalidTransition { .. } | AppError::Auth(_) | AppError::RateLimited { .. } => {
            e.to_string()
        }
        AppError::Unavailable(_) => "the chat is unavailable right now; try again shortly".into(),
    };
    FrameError::new(e.code(), message)
}
