//! Implementations of the ports: `aws` (the real SDK clients) and `embedded`
//! (SQLite and local folders, the dev server's default with nothing to start).

pub mod aws;
pub mod embedded;
pub mod http_client;
pub mod mime;

use crate::ports::blob::BlobStore;
use crate::ports::{ItemStore, Queue};
use std::sync::Arc;

/// The adapters one process runs on.
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<dyn ItemStore>,
    pub queue: Arc<dyn Queue>,
    /// Report files; absent for a function that handles none (no bucket configured).
    pub blobs: Option<Arc<dyn BlobStore>>,
}
