//! The dev server's WebSocket registry: each open socket registers a channel under
//! its connection id, and pushing a frame puts it on that channel for the socket's
//! writer task. A closed socket reads as gone, as API Gateway's 410 does.

use async_trait::async_trait;
use backend_core::ports::push::{Push, PushError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Frames a slow socket may have waiting before pushes wait for it.
const BACKLOG: usize = 256;

#[derive(Clone, Default)]
pub struct Connections {
    open: Arc<Mutex<HashMap<String, mpsc::Sender<String>>>>,
}

impl Connections {
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a connection; its frames arrive on the receiver until `close`.
    pub fn register(&self, id: &str) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(BACKLOG);
        self.lock().insert(id.to_string(), tx);
        rx
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<String>>> {
        // A panic while holding this lock leaves the map itself consistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Push for Connections {
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), PushError> {
        let tx = self.lock().get(connection_id).cloned();
        match tx {
            Some(tx) => tx
                .send(frame.to_string())
                .await
                .map_err(|_| PushError::Gone),
            None => Err(PushError::Gone),
        }
    }
}
