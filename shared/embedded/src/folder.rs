//! Blobs as files under a folder: each write goes to a temporary file that is then
//! renamed into place, so a reader never sees half a report.

use async_trait::async_trait;
use backend_core::ports::blob::{check_key, Blob, BlobError, BlobStore};
use std::path::PathBuf;

#[derive(Clone)]
pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
}

/// The content type travels in a sidecar file, as S3 keeps it as metadata.
const TYPE_SUFFIX: &str = ".content-type";

fn unavailable(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put(&self, key: &str, blob: Blob) -> Result<(), BlobError> {
        check_key(key)?;
        let path = self.root.join(key);
        // One trip to the blocking pool for the whole write: each `tokio::fs` call
        // is a trip of its own, and four of them per file cost more than the disk.
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension(format!("tmp-{}", ulid::Ulid::new()));
            std::fs::write(&tmp, &blob.bytes)?;
            std::fs::rename(&tmp, &path)?;
            let type_path = PathBuf::from(format!("{}{TYPE_SUFFIX}", path.display()));
            std::fs::write(type_path, blob.content_type.as_bytes())
        })
        .await
        .map_err(|e| BlobError::Unavailable(e.to_string()))?
        .map_err(unavailable)
    }

    async fn delete_folder(&self, prefix: &str) -> Result<usize, BlobError> {
        check_key(prefix)?;
        let dir = self.root.join(prefix);
        let mut blobs = 0;
        let mut pending = vec![dir.clone()];
        while let Some(d) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&d).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unavailable(e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(unavailable)? {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if entry.file_type().await.map_err(unavailable)?.is_dir() {
                    pending.push(entry.path());
                } else if !name.ends_with(TYPE_SUFFIX) && !name.contains(".tmp-") {
                    blobs += 1;
                }
            }
        }
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(blobs),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        check_key(key)?;
        let path = self.root.join(key);
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let type_path = PathBuf::from(format!("{}{TYPE_SUFFIX}", path.display()));
        let content_type = tokio::fs::read_to_string(type_path)
            .await
            .unwrap_or_else(|_| "application/octet-stream".into());
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }
}
