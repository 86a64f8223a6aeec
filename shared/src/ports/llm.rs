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
