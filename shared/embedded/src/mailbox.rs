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
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let name = format!(
            "{}-{}.eml",
            ulid::Ulid::new().to_string().to_lowercase(),
            mail.inquiry
        );
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(name))
            .await
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
