//! The chat service every entry point shares (the WebSocket function, the dev
//! server's socket, the dashboard's HTTP routes): sessions and their expiry, the
//! message history, the grounding in an inquiry and its report, and one chat turn,
//! streamed piece by piece from the model or, without one, from the labelled
//! template answerer through the same path.
//!
//! Items: a session is `CHAT#<id>`/`SESSION` (index `CHAT_SESSIONS`), its messages
//! `CHAT#<id>`/`MSG#<msg id>` (index `CHAT_MESSAGES`), and a client's message id is
//! remembered as `CHAT#<id>`/`REQ#<hash>` so a resent question is answered once;
//! `CHAT#<id>`/`EXPIRY` files the session under its expiry (index `CHAT_EXPIRY`).

mod figures;
mod history;
mod prompt;
mod sessions;
mod turn;

pub use figures::{ChatFigures, ChatHealth};
pub use prompt::{system_prompt, template_answer};
pub use sessions::{removal, SessionCounts};

use super::chat_frames::{split_chars, CHUNK_CHARS};
use super::drafting::{md_escape, CircuitBreaker};
use super::limits::{self, WindowLimit};
use super::records::{
    self, chat_message_sk, chat_request_sk, chat_session_pk, CHAT_COUNTS_SK, CHAT_EXPIRY_INDEX,
    CHAT_EXPIRY_SK, CHAT_MESSAGES_INDEX, CHAT_MESSAGE_PREFIX, CHAT_SESSIONS_INDEX, CHAT_SESSION_SK,
    CONNECTIONS_INDEX,
};
use super::reports::ReportRecords;
use super::{AppError, Deps, InquiryService, Missing};
use crate::domain::chat::{
    ChatMessage, ChatSession, MessageId, MessageStatus, Role, SessionFields, SessionId,
    SessionStatus,
};
use crate::domain::report::Report;
use crate::domain::{rfc3339, Inquiry};
use crate::ports::llm::{ChatModel, Conversation, LlmError, TextStream};
use crate::ports::{Condition, Item, Query, SkRange, StoreError, WriteOp};
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The first line of every template answer, so nobody mistakes it for AI.
pub const TEMPLATE_LABEL: &str = "*Template answer: no AI model is configured, so this reply was assembled by rules from the stored records, not written by AI.*";
/// Who wrote an answer when no model did.
pub const TEMPLATE_AUTHOR: &str = "template";

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// A session idle this long expires (read-only from then on).
    pub idle_expiry: Duration,
    /// How long items are kept after they stop mattering.
    pub retention: Duration,
    /// At most this many earlier messages go to the model...
    pub history_turns: usize,
    /// ...and at most this many characters of them.
    pub history_chars: usize,
    /// Characters of the report put into the instructions.
    pub report_chars: usize,
    pub max_tokens: u32,
    /// For a whole answer.
    pub timeout: Duration,
    /// Between template pieces, so a person sees the streaming the model would give.
    pub template_pause: Duration,
    /// Answers one admin may get, across every socket and HTTP route: each is a
    /// paid model call, so reconnecting or switching routes must not reset it.
    pub answers_per_admin: WindowLimit,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            idle_expiry: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            history_turns: 20,
            history_chars: 24_000,
            report_chars: 12_000,
            max_tokens: 1024,
            timeout: Duration::from_secs(60),
            template_pause: Duration::from_millis(15),
            answers_per_admin: WindowLimit {
                max: 30,
                per: Duration::from_secs(60),
            },
        }
    }
}

/// Where the pieces of an answer go as they are written.
#[async_trait]
pub trait PieceSink: Send + Sync {
    async fn piece(&self, answer: &MessageId, session: &SessionId, text: &str);
}

/// For callers that only want the whole answer (the HTTP routes).
pub struct NoSink;

#[async_trait]
impl PieceSink for NoSink {
    async fn piece(&self, _: &MessageId, _: &SessionId, _: &str) {}
}

/// One question and its answer.
#[derive(Debug, Clone)]
pub struct Turn {
    pub question: ChatMessage,
    pub answer: ChatMessage,
    /// The answer was stored earlier for the same client message id.
    pub replayed: bool,
}

/// What the model is told about the session's subject.
#[derive(Debug, Clone, Default)]
pub struct Grounding {
    pub inquiry: Option<Inquiry>,
    pub report: Option<Report>,
    /// Free-text context the session was given.
    pub notes: Option<String>,
    /// The context named an inquiry that does not exist.
    pub missing_inquiry: bool,
}

#[derive(Clone)]
pub struct ChatService {
    deps: Deps,
    inquiries: InquiryService,
    reports: ReportRecords,
    model: Option<Arc<dyn ChatModel>>,
    breaker: Arc<CircuitBreaker>,
    cfg: Arc<ChatConfig>,
}

fn decode<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, AppError> {
    super::records::decode(item, "chat item")
}

/// Whether the error says a condition in the batch did not hold.
fn raced(e: &StoreError) -> bool {
    matches!(e, StoreError::ConditionFailed)
}

impl ChatService {
    pub fn new(deps: Deps, model: Option<Arc<dyn ChatModel>>, cfg: ChatConfig) -> Self {
        Self {
            inquiries: InquiryService::new(deps.clone()),
            reports: ReportRecords::new(deps.clone()),
            deps,
            model,
            breaker: Arc::new(CircuitBreaker::standard()),
            cfg: Arc::new(cfg),
        }
    }

    pub fn deps(&self) -> &Deps {
        &self.deps
    }

    /// The model answering, or `template`.
    pub fn answered_by(&self) -> &str {
        self.model
            .as_ref()
            .map_or(TEMPLATE_AUTHOR, |m| m.model_id())
    }

    fn now(&self) -> OffsetDateTime {
        self.deps.clock.now()
    }

    fn keep_until(&self, from: OffsetDateTime) -> i64 {
        (from + self.cfg.retention).unix_timestamp()
    }
}
