//! Mail through Amazon SES v2 as raw MIME, so both adapters send the same bytes.

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;
use backend_core::ports::mail::{Mail, MailError, Mailer};
use backend_net::mime::to_mime;

#[derive(Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(to_mime(mail)?))
            .build()
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        let to: Vec<String> = mail.to.iter().map(|e| e.to_string()).collect();
        self.client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(Destination::builder().set_to_addresses(Some(to)).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let text = DisplayErrorContext(&e).to_string();
                match &e {
                    SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                        MailError::Transient(text)
                    }
                    SdkError::ServiceError(se)
                        if se.err().is_too_many_requests_exception()
                            || se.raw().status().as_u16() >= 500 =>
                    {
                        MailError::Transient(text)
                    }
                    _ => MailError::Permanent(text),
                }
            })
    }
}
