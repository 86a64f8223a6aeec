//! The mailer: one e-mail with a plain-text and an HTML part.

use crate::domain::Email;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: Email,
    pub to: Vec<Email>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MailError {
    /// Throttling, a 5xx, a timeout: send again later.
    #[error("transient mail failure: {0}")]
    Transient(String),
    /// A rejected address or message: sending again will not help.
    #[error("mail refused: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
