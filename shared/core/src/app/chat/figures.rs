//! The chat's figures and health for the dashboard.

use super::*;
use crate::app::counters;

impl ChatService {
    /// Figures for the dashboard: sessions by status, messages by role and over the
    /// last day, open connections, and the mean answer time.
    pub async fn metrics(&self) -> Result<ChatFigures, AppError> {
        let now = self.now();
        let store = self.deps.store.as_ref();
        // Sessions and messages come from the counts: every message ever stored,
        // and the whole hours of the last day.
        let (sessions, ever, day) = tokio::try_join!(
            self.session_counts(None),
            counters::totals(store),
            counters::between(store, now - Duration::from_secs(24 * 3600), now),
        )?;
        let messages =
            |c: &counters::Counts| (c.get("m:user") + c.get("m:assistant")).max(0) as usize;
        // Open connections live two hours at most: what is read is bounded by the
        // sockets open now, not by the table.
        let q = Query::index(CONNECTIONS_INDEX).limit(500);
        let connections = records::collect(store, &q).await?.len();
        let answered = ever.get("m_ms_n");
        Ok(ChatFigures {
            total_sessions: sessions.total(),
            active_sessions: sessions.active,
            inactive_sessions: sessions.inactive,
            expired_sessions: sessions.expired,
            total_messages: messages(&ever),
            user_messages: ever.get("m:user").max(0) as usize,
            assistant_messages: ever.get("m:assistant").max(0) as usize,
            messages_last_24h: messages(&day),
            active_connections: connections,
            avg_response_time_ms: if answered <= 0 {
                0.0
            } else {
                ever.get("m_ms") as f64 / answered as f64
            },
            model: self.answered_by().to_string(),
        })
    }

    /// Whether the chat can answer: the store reachable, and who answers.
    pub async fn health(&self) -> ChatHealth {
        let store = self.deps.store.ping().await;
        let model = match &self.model {
            None => "template (no model configured)".to_string(),
            Some(_) if self.breaker.is_open() => {
                "circuit open: answering from the template".to_string()
            }
            Some(m) => m.model_id().to_string(),
        };
        ChatHealth {
            store: store.map_err(|e| e.to_string()),
            model,
            at: rfc3339(self.now()),
        }
    }
}

/// The chat's figures for the dashboard (API.md's chat metrics).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChatFigures {
    pub total_sessions: usize,
    pub active_sessions: usize,
    pub inactive_sessions: usize,
    pub expired_sessions: usize,
    pub total_messages: usize,
    pub user_messages: usize,
    pub assistant_messages: usize,
    pub messages_last_24h: usize,
    pub active_connections: usize,
    pub avg_response_time_ms: f64,
    pub model: String,
}

/// Whether the chat can answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatHealth {
    /// The store answered, or why not.
    pub store: Result<(), String>,
    /// Who answers: the model, or the template and why.
    pub model: String,
    pub at: String,
}
