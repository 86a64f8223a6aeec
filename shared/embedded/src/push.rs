//! The dev server's WebSocket registry: each open socket registers a channel under
//! its connection id, and pushing a frame puts it on that channel for the socket's
//! writer task. A closed socket reads as gone, as API Gateway's 410 does, and so
//! does a socket that does not read: its backlog is bounded, and one that fills it
//! is dropped rather than let the server's memory grow with what it will not read.

use async_trait::async_trait;
use backend_core::ports::push::{Push, PushError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Frames a socket may have waiting; one that lets more pile up is dropped.
pub const BACKLOG: usize = 256;

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

    /// Whether the connection is still registered (not closed, not dropped).
    pub fn is_open(&self, id: &str) -> bool {
        self.lock().contains_key(id)
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
        let Some(tx) = tx else {
            return Err(PushError::Gone);
        };
        match tx.try_send(frame.to_string()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    connection = connection_id,
                    backlog = BACKLOG,
                    "a socket that does not read is dropped"
                );
                self.close(connection_id);
                Err(PushError::Gone)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(PushError::Gone),
        }
    }
}
