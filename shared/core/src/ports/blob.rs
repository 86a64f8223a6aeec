//! The blob store: report files by key. Writes overwrite, so a retried write of the
//! same report is harmless. An erasure removes every file under a folder, every
//! kept version of each included.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the blob store is unavailable: {0}")]
    Unavailable(String),
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, blob: Blob) -> Result<(), BlobError>;
    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError>;
    /// Removes every blob whose key starts with the folder `prefix` (a key as
    /// `check_key` takes it, to which `/` is added), with every earlier version the
    /// store keeps; returns how many blobs there were. Removing again finds none.
    async fn delete_folder(&self, prefix: &str) -> Result<usize, BlobError>;
}

/// Keys are relative paths of `[A-Za-z0-9._-]` segments: no `..`, no leading `/`,
/// so the folder adapter can never write outside its root.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidKey(key.to_string()))
    }
}
