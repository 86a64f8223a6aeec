//! Mail for the dev server: each message is written as an `.eml` file to an outbox
//! folder, where any mail program opens it.

use async_trait::async_trait;
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
        let name = format!("{}.eml", ulid::Ulid::new().to_string().to_lowercase());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(name))
            .await
            .map_err(io)
    }
}
