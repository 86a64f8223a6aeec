//! The chat's figures and health for the dashboard.

use super::*;

impl ChatService {
    /// Figures for the dashboard: sessions by status, messages by role and over the
    /// last day, open connections, and the mean answer time.
    pub async fn metrics(&self) -> Result<ChatFigures, AppError> {
        let (sessions, total) = self.list(None, None, usize::MAX, 0).await?;
        let by_status = |st: SessionStatus| sessions.iter().filter(|s| s.status == st).count();
        let messages =
            crate::app::figures::indexed_since(&self.deps, CHAT_MESSAGES_INDEX, "0").await?;
        let day_ago = rfc3339(self.now() - Duration::from_secs(24 * 3600));
        let role = |r: &str| messages.iter().filter(|m| m.data["role"] == r).count();
        let latencies: Vec<f64> = messages
            .iter()
            .filter_map(|m| m.data["metadata"]["latency_ms"].as_f64())
            .collect();
        let connections = crate::app::figures::indexed_since(&self.deps, CONNECTIONS_INDEX, "0")
            .await?
            .len();
        Ok(ChatFigures {
            total_sessions: total,
            active_sessions: by_status(SessionStatus::Active),
            inactive_sessions: by_status(SessionStatus::Inactive),
            expired_sessions: by_status(SessionStatus::Expired),
            total_messages: messages.len(),
            user_messages: role("user"),
            assistant_messages: role("assistant"),
            messages_last_24h: messages
                .iter()
                .filter(|m| m.gsi1sk.as_deref().is_some_and(|k| k > day_ago.as_str()))
                .count(),
            active_connections: connections,
            avg_response_time_ms: if latencies.is_empty() {
                0.0
            } else {
                latencies.iter().sum::<f64>() / latencies.len() as f64
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
