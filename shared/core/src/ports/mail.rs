//! The mailer: one e-mail with a plain-text and an HTML part, about one inquiry. A
//! mailer that keeps copies of what it sent (the dev server's outbox) removes them
//! when the inquiry is erased.

use crate::domain::{Email, InquiryId};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: Email,
    pub to: Vec<Email>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The inquiry the message is about.
    pub inquiry: InquiryId,
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
    /// Removes the copies it keeps of the messages about `inquiry`; returns how many
    /// there were. A mailer that keeps none (SES) has nothing to remove.
    async fn erase(&self, inquiry: &InquiryId) -> Result<usize, MailError> {
        let _ = inquiry;
        Ok(0)
    }
}
