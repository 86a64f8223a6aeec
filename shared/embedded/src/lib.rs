//! The embedded adapters: one SQLite file in WAL mode holds the items and the
//! durable queues, so a restart (or a SIGKILL) loses nothing that was acknowledged.

mod db;
mod folder;
mod mailbox;
mod push;
mod queue;
mod store;

pub use db::Db;
pub use folder::FolderBlobs;
pub use mailbox::OutboxMailer;
pub use push::{Connections, BACKLOG};
pub use queue::SqliteQueue;
pub use store::{SqliteFeed, SqliteStore};

use backend_core::ports::{Adapters, FeedFilter};
use std::path::Path;
use std::sync::Arc;

pub use backend_core::ports::queue::MAX_RECEIVES;

/// Adapters on a private in-memory database (gone when dropped), blobs under
/// `blob_root`; the change feed carries what `feed` names.
pub fn in_memory(blob_root: &Path, feed: FeedFilter) -> anyhow::Result<Adapters> {
    let db = Db::in_memory()?;
    Ok(Adapters {
        store: Arc::new(SqliteStore::new(db.clone(), feed)),
        feed: Some(Arc::new(SqliteFeed::new(db.clone()))),
        queue: Arc::new(SqliteQueue::new(db, MAX_RECEIVES)),
        blobs: Some(Arc::new(FolderBlobs::new(blob_root.to_path_buf()))),
    })
}

/// Opens (creating if needed) the data directory's database; the change feed
/// carries what `feed` names.
pub fn open(data_dir: &Path, feed: FeedFilter) -> anyhow::Result<Adapters> {
    std::fs::create_dir_all(data_dir)?;
    let db = Db::open(&data_dir.join("consulting.sqlite3"))?;
    Ok(Adapters {
        store: Arc::new(SqliteStore::new(db.clone(), feed)),
        feed: Some(Arc::new(SqliteFeed::new(db.clone()))),
        queue: Arc::new(SqliteQueue::new(db, MAX_RECEIVES)),
        blobs: Some(Arc::new(FolderBlobs::new(data_dir.join("blobs")))),
    })
}
