//! The firm's hooks: a signed webhook POST, a Slack message or an e-mail per
//! matching event.

use super::*;

impl Notifier {
    /// One hook's action, with a few quick retries (jittered) before the message
    /// goes back to the queue.
    pub(super) async fn hook(
        &self,
        hook: &Hook,
        event: &DomainEvent,
        inquiry: &Inquiry,
    ) -> Result<Effect, AppError> {
        match &hook.action {
            HookAction::Email { to } => {
                let link = self.cfg.admin_link(&inquiry.id);
                self.mail(Mail {
                    from: self.cfg.from.clone(),
                    to: to.clone(),
                    subject: format!(
                        "[{}] {} for {}",
                        hook.name,
                        event.event_type.as_str(),
                        inquiry.id
                    ),
                    text: format!(
                        "Event {} ({}) for inquiry {}.\n{link}\n",
                        event.id,
                        event.event_type.as_str(),
                        inquiry.id
                    ),
                    html: format!(
                        "<p>Event {} ({}) for inquiry <a href=\"{}\">{}</a>.</p>",
                        event.id,
                        event.event_type.as_str(),
                        crate::app::render::html_escape(&link),
                        inquiry.id
                    ),
                    inquiry: inquiry.id.clone(),
                })
                .await
            }
            HookAction::Slack { url } => {
                let text = format!(
                    "{}: {} for <{}|{}>",
                    hook.name
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;"),
                    event.event_type.as_str(),
                    self.cfg.admin_link(&inquiry.id),
                    inquiry.id
                );
                let body = json!({"text": text}).to_string().into_bytes();
                self.deliver(&Post {
                    url: url.clone(),
                    headers: vec![],
                    body,
                    timeout: Duration::from_secs(5),
                })
                .await
            }
            HookAction::Webhook { url, secret } => {
                let body = json!({
                    "id": event.id, "type": event.event_type, "occurred_at": event.occurred_at,
                    "hook_id": hook.id, "inquiry": inquiry, "payload": event.payload,
                })
                .to_string();
                let timestamp = self.deps.clock.now().unix_timestamp();
                let req = Post {
                    url: url.clone(),
                    headers: vec![
                        (
                            "x-signature".into(),
                            format!("t={timestamp},v1={}", sign(secret, timestamp, &body)),
                        ),
                        ("x-event-id".into(), event.id.clone()),
                    ],
                    body: body.into_bytes(),
                    timeout: Duration::from_secs(5),
                };
                self.deliver(&req).await
            }
        }
    }

    async fn deliver(&self, req: &Post) -> Result<Effect, AppError> {
        let delivered = RetryPolicy::default()
            .run(
                "delivery",
                |e| matches!(e, OutboundError::Transient(_)),
                || self.outbound.post(req),
            )
            .await;
        match delivered {
            Ok(_) => Ok(Effect::Done(None)),
            Err(OutboundError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(OutboundError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }
}

pub(super) fn hook_channel(hook: &Hook) -> &'static str {
    match hook.action {
        HookAction::Webhook { .. } => "webhook",
        HookAction::Slack { .. } => "slack",
        HookAction::Email { .. } => "email",
    }
}

/// The webhook signature: hex HMAC-SHA256 of `"{timestamp}.{body}"` under the
/// hook's secret. Receivers recompute it and reject old timestamps.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
