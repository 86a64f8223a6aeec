//! MIME for the mail adapters (lettre's builder): a multipart/alternative message
//! with the text and HTML parts, headers encoded as RFC 2047 demands.

use backend_core::ports::mail::{Mail, MailError};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

pub fn to_mime(mail: &Mail) -> Result<Vec<u8>, MailError> {
    let bad = |e: String| MailError::Permanent(e);
    let from: Mailbox = mail
        .from
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| bad(e.to_string()))?;
    let mut b = Message::builder().from(from).subject(mail.subject.clone());
    for to in &mail.to {
        let mb: Mailbox = to
            .as_str()
            .parse()
            .map_err(|e: lettre::address::AddressError| bad(e.to_string()))?;
        b = b.to(mb);
    }
    let msg = b
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| bad(e.to_string()))?;
    Ok(msg.formatted())
}
