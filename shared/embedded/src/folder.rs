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

/// The content type travels in a sidecar file, as S3 keeps it as metadata, unless
/// the file's name implies it (`implied`): a report's two files then cost two
/// files, not four.
const TYPE_SUFFIX: &str = ".content-type";

/// The content type a blob's name implies: the reports' Markdown and HTML.
fn implied(path: &std::path::Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "md" => Some("text/markdown; charset=utf-8"),
        "html" => Some("text/html; charset=utf-8"),
        _ => None,
    }
}

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
            if implied(&path) != Some(blob.content_type.as_str()) {
                return std::fs::write(type_path, blob.content_type.as_bytes());
            }
            // One written earlier under another type would say the wrong one now.
            match std::fs::remove_file(type_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
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
        let content_type = match tokio::fs::read_to_string(type_path).await {
            Ok(t) => t,
            Err(_) => implied(&path)
                .unwrap_or("application/octet-stream")
                .to_string(),
        };
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }
}
