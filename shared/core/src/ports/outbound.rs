//! Outbound HTTP for notifications (Slack incoming webhooks, customer webhooks):
//! a JSON POST with a time limit, answered by a status code.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OutboundError {
    /// A timeout, a refused connection, a 5xx or 429: worth another try.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// A 4xx, a refused address: another try will not help.
    #[error("delivery refused: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Outbound: Send + Sync {
    async fn post(&self, req: &Post) -> Result<u16, OutboundError>;
}
