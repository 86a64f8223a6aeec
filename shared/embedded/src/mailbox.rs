//! Mail for the dev server: each message is written as an `.eml` file to an outbox
//! folder, where any mail program opens it, named by when it was sent and the
//! inquiry it is about (`<ulid>-<inquiry id>.eml`), so an erasure finds its copies
//! by name.

use async_trait::async_trait;
use backend_core::domain::InquiryId;
use backend_core::ports::mail::{Mail, MailError, Mailer};
use backend_net::mime::to_mime;
use std::path::PathBuf;

#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = to_mime(mail)?;
        let io = |e: std::io::Error| MailError::Transient(e.to_string());
        let name = format!(
            "{}-{}.eml",
            ulid::Ulid::new().to_string().to_lowercase(),
            mail.inquiry
        );
        let dir = self.dir.clone();
        // One trip to the blocking pool for the whole file, not one per call.
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, dir.join(name))
        })
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?
        .map_err(io)
    }

    async fn erase(&self, inquiry: &InquiryId) -> Result<usize, MailError> {
        let io = |e: std::io::Error| MailError::Transient(e.to_string());
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(e)),
        };
        let suffix = format!("-{inquiry}.eml");
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            if entry.file_name().to_string_lossy().ends_with(&suffix) {
                match tokio::fs::remove_file(entry.path()).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                }
            }
        }
        Ok(removed)
    }
}
