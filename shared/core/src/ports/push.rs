//! Pushing a frame to an open WebSocket connection: API Gateway's
//! `@connections` in AWS, an in-process registry on the dev server.

use async_trait::async_trait;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    /// The client has gone (API Gateway's 410): forget the connection.
    #[error("the connection is gone")]
    Gone,
    #[error("push failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait Push: Send + Sync {
    /// Delivers one text frame, in order with the frames pushed before it.
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), PushError>;
}
