//! The language model: a prompt in, text out, within token and time limits.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    /// The model that wrote it.
    pub model: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LlmError {
    /// Throttling, a 5xx, a timeout: worth another try after a pause.
    #[error("transient model failure: {0}")]
    Transient(String),
    /// A refused request, a malformed answer: another try will not help.
    #[error("model failure: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Llm: Send + Sync {
    async fn complete(&self, prompt: &Prompt) -> Result<Completion, LlmError>;
}

/// A conversation for a chat model: the instructions and the turns so far, the
/// last one the user's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub system: String,
    pub turns: Vec<(crate::domain::chat::Role, String)>,
    pub max_tokens: u32,
    /// For the whole answer, first piece to last.
    pub timeout: Duration,
}

/// An answer arriving in pieces, in order; an error ends it.
pub type TextStream = futures::stream::BoxStream<'static, Result<String, LlmError>>;

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Which model answers, for the record of who wrote an answer.
    fn model_id(&self) -> &str;
    /// Starts an answer; an error here means no piece was produced.
    async fn stream(&self, conversation: &Conversation) -> Result<TextStream, LlmError>;
}
