//! Notifications for business events: the prospect's confirmation and a Slack
//! message when an inquiry arrives, the consultants' e-mail when its report is
//! ready. Each side effect is recorded in a ledger under (event id, action) once it
//! succeeded, so a redelivered event repeats nothing that finished, and a worker
//! that died between two effects does only the missing one when the event comes
//! back. An effect that fails for good is recorded as failed (and counted) instead
//! of being retried forever; a transient failure fails the message so the queue
//! delivers it again.

use super::hook_registry::HookRegistry;
use super::records::{notification_pk, NOTIFICATIONS_INDEX, NOTIFICATION_SK};
use super::reports::ReportRecords;
use super::retry::RetryPolicy;
use super::{AppError, Deps, InquiryService};
use crate::domain::hook::{Hook, HookAction};
use crate::domain::{
    rfc3339, DomainEvent, Email, EventType, Inquiry, InquiryId, Priority, ServiceType,
};
use crate::ports::mail::{Mail, MailError, Mailer};
use crate::ports::outbound::{Outbound, OutboundError, Post};
use crate::ports::{Condition, Item, WriteOp};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub from: Email,
    /// Consultant addresses by service; `None` is the fallback list.
    pub consultants: BTreeMap<Option<ServiceType>, Vec<Email>>,
    /// Slack incoming-webhook URL, if any.
    pub slack_webhook: Option<String>,
    /// Where the admin dashboard lives, for links in messages.
    pub admin_base_url: String,
    /// The firm's hooks (`HOOKS`, a JSON list).
    pub hooks: Vec<Hook>,
}

impl NotifyConfig {
    fn consultants_for(&self, inquiry: &Inquiry) -> Vec<Email> {
        let mut to: Vec<Email> = inquiry
            .services
            .iter()
            .filter_map(|s| self.consultants.get(&Some(*s)))
            .flatten()
            .cloned()
            .collect();
        if to.is_empty() {
            to = self.consultants.get(&None).cloned().unwrap_or_default();
        }
        to.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        to.dedup();
        to
    }

    fn admin_link(&self, id: &InquiryId) -> String {
        format!(
            "{}/admin/inquiries/{id}",
            self.admin_base_url.trim_end_matches('/')
        )
    }
}

/// What a side effect came to.
enum Effect {
    Done,
    FailedForGood(String),
}

#[derive(Clone)]
pub struct Notifier {
    deps: Deps,
    inquiries: InquiryService,
    reports: ReportRecords,
    mailer: Arc<dyn Mailer>,
    outbound: Arc<dyn Outbound>,
    cfg: Arc<NotifyConfig>,
    hooks: HookRegistry,
}

impl Notifier {
    pub fn new(
        deps: Deps,
        mailer: Arc<dyn Mailer>,
        outbound: Arc<dyn Outbound>,
        cfg: NotifyConfig,
    ) -> Self {
        Self {
            inquiries: InquiryService::new(deps.clone()),
            hooks: HookRegistry::new(cfg.hooks.clone(), deps.store.clone()),
            reports: ReportRecords::new(deps.clone()),
            deps,
            mailer,
            outbound,
            cfg: Arc::new(cfg),
        }
    }

    /// Handles one queue message body; returns how many effects ran this time.
    pub async fn handle(&self, body: &str) -> Result<usize, AppError> {
        let event: DomainEvent = serde_json::from_str(body).map_err(|e| {
            AppError::Validation(
                [("message".to_string(), format!("not a domain event: {e}"))].into(),
            )
        })?;
        let id = InquiryId::parse(&event.inquiry_id).ok_or_else(|| {
            AppError::Validation([("inquiry_id".to_string(), "malformed".to_string())].into())
        })?;
        let mut ran = 0;
        // A manual trigger (`POST /api/v1/hooks/trigger`) runs hooks only.
        let only_hook = event.payload["only_hook"].as_str().map(str::to_string);
        let hooks_only = only_hook.is_some() || event.payload["hooks_only"] == true;
        let hooks = self.hooks.all().await?;
        if hooks_only || hooks.iter().any(|h| h.event == event.event_type) {
            let inquiry = self.inquiries.get(&id).await?;
            let chosen = hooks.iter().filter(|h| match &only_hook {
                Some(hid) => &h.id == hid,
                None => h.matches(event.event_type, &inquiry),
            });
            for hook in chosen {
                let action = format!("hook:{}", hook.id);
                if self
                    .once(&event, &action, hook_channel(hook), || {
                        self.hook(hook, &event, &inquiry)
                    })
                    .await?
                {
                    ran += 1;
                }
            }
        }
        if hooks_only {
            return Ok(ran);
        }
        match event.event_type {
            EventType::InquiryCreated => {
                let inquiry = self.inquiries.get(&id).await?;
                if self
                    .once(&event, "email:prospect", "email", || {
                        self.prospect_confirmation(&inquiry)
                    })
                    .await?
                {
                    ran += 1;
                }
                if self.cfg.slack_webhook.is_some()
                    && self
                        .once(&event, "slack", "slack", || self.slack(&inquiry))
                        .await?
                {
                    ran += 1;
                }
            }
            EventType::ReportGenerated | EventType::ReportFailed => {
                let inquiry = self.inquiries.get(&id).await?;
                if self
                    .once(&event, "email:consultants", "email", || {
                        self.consultant_email(&inquiry)
                    })
                    .await?
                {
                    ran += 1;
                }
            }
            _ => {}
        }
        Ok(ran)
    }

    /// Runs `effect` unless the ledger says it finished; records the outcome.
    async fn once<F, Fut>(
        &self,
        event: &DomainEvent,
        action: &str,
        channel: &str,
        effect: F,
    ) -> Result<bool, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Effect, AppError>>,
    {
        let pk = notification_pk(&event.id, action);
        if self.deps.store.get(&pk, NOTIFICATION_SK).await?.is_some() {
            return Ok(false);
        }
        let (status, detail) = match effect().await? {
            Effect::Done => ("sent", None),
            Effect::FailedForGood(why) => {
                tracing::warn!(event_id = %event.id, action, error = %why, "notification failed for good");
                ("failed", Some(why))
            }
        };
        let at = rfc3339(self.deps.clock.now());
        let item = Item::new(
            &pk,
            NOTIFICATION_SK,
            json!({"event_id": event.id, "inquiry_id": event.inquiry_id, "action": action, "channel": channel,
                   "status": status, "detail": detail, "at": at}),
        )
        .indexed(NOTIFICATIONS_INDEX, format!("{at}#{}#{action}", event.id));
        match self
            .deps
            .store
            .write(vec![WriteOp::Put {
                item,
                condition: Condition::NotExists,
            }])
            .await
        {
            Ok(()) | Err(crate::ports::StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(event_id = %event.id, action, status, "notification recorded");
        Ok(true)
    }

    async fn mail(&self, mail: Mail) -> Result<Effect, AppError> {
        if mail.to.is_empty() {
            return Ok(Effect::FailedForGood("no recipient configured".into()));
        }
        let sent = RetryPolicy::default()
            .run(
                "mail",
                |e| matches!(e, MailError::Transient(_)),
                || self.mailer.send(&mail),
            )
            .await;
        match sent {
            Ok(()) => Ok(Effect::Done),
            Err(MailError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(MailError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }

    async fn prospect_confirmation(&self, i: &Inquiry) -> Result<Effect, AppError> {
        let services: Vec<&str> = i.services.iter().map(|s| s.name()).collect();
        let text = format!(
            "Hello {name},\n\nthank you for contacting us. We received your inquiry about {svc}.\n\n\
             Your reference: {id}\n\nWhat happens next: a consultant reviews your request and contacts you {when}, \
             usually with a first written assessment.\n\nKind regards,\nCloud Consulting\n",
            name = i.name,
            svc = services.join(", "),
            id = i.id,
            when = if i.priority >= Priority::High { "within one business day" } else { "within two business days" },
        );
        let html = format!(
            "<p>Hello {name},</p><p>thank you for contacting us. We received your inquiry about {svc}.</p>\
             <p>Your reference: <strong>{id}</strong></p><p>What happens next: a consultant reviews your request and contacts you {when}.</p>\
             <p>Kind regards,<br>Cloud Consulting</p>",
            name = super::render::html_escape(&i.name),
            svc = super::render::html_escape(&services.join(", ")),
            id = i.id,
            when = if i.priority >= Priority::High { "within one business day" } else { "within two business days" },
        );
        self.mail(Mail {
            from: self.cfg.from.clone(),
            to: vec![i.email.clone()],
            subject: format!("We received your inquiry ({})", i.id),
            text,
            html,
        })
        .await
    }

    async fn consultant_email(&self, i: &Inquiry) -> Result<Effect, AppError> {
        let report = self.reports.for_inquiry(&i.id).await?.into_iter().next();
        let marker = match i.priority {
            Priority::Urgent => "[URGENT] ",
            Priority::High => "[HIGH] ",
            _ => "",
        };
        let who = if i.company.is_empty() {
            i.name.as_str()
        } else {
            i.company.as_str()
        };
        let what = if report.is_some() {
            "Report ready"
        } else {
            "New inquiry (no report could be drafted)"
        };
        let subject = format!(
            "{marker}{what}: {} for {who}",
            i.services.first().map_or("General Inquiry", |s| s.name())
        );
        let link = self.cfg.admin_link(&i.id);
        let (report_text, report_html) = match &report {
            Some(r) => (
                r.content.clone(),
                super::render::markdown_to_html(&r.content),
            ),
            None => (
                "No report could be drafted; please work from the inquiry above.".to_string(),
                "<p>No report could be drafted; please work from the inquiry above.</p>"
                    .to_string(),
            ),
        };
        let text = format!(
            "{who} ({email}) - priority {prio}\nServices: {svc}\n\nTheir message:\n{msg}\n\nOpen in the dashboard: {link}\n\n---\n{report_text}\n",
            email = i.email,
            prio = i.priority,
            svc = i.services.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
            msg = i.message,
        );
        let esc = super::render::html_escape;
        let html = format!(
            "<p><strong>{who}</strong> ({email}), priority <strong>{prio}</strong></p><blockquote>{msg}</blockquote>\
             <p><a href=\"{link}\">Open in the dashboard</a></p><hr>{report_html}",
            who = esc(who),
            email = esc(i.email.as_str()),
            prio = i.priority,
            msg = esc(&i.message).replace('\n', "<br>"),
            link = esc(&link),
        );
        self.mail(Mail {
            from: self.cfg.from.clone(),
            to: self.cfg.consultants_for(i),
            subject,
            text,
            html,
        })
        .await
    }

    /// One hook's action, with a few quick retries (jittered) before the message
    /// goes back to the queue.
    async fn hook(
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
                        super::render::html_escape(&link),
                        inquiry.id
                    ),
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
            Ok(_) => Ok(Effect::Done),
            Err(OutboundError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(OutboundError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }

    async fn slack(&self, i: &Inquiry) -> Result<Effect, AppError> {
        let Some(url) = &self.cfg.slack_webhook else {
            return Ok(Effect::Done);
        };
        let services: Vec<&str> = i.services.iter().map(|s| s.name()).collect();
        let who = if i.company.is_empty() {
            i.name.clone()
        } else {
            format!("{} ({})", i.name, i.company)
        };
        // Slack's mrkdwn treats <, > and & specially; escape them as Slack documents.
        let slack_escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let text = format!(
            "New {prio} inquiry from {who}: {svc}\n<{link}|Open in the dashboard>",
            prio = i.priority,
            who = slack_escape(&who),
            svc = slack_escape(&services.join(", ")),
            link = self.cfg.admin_link(&i.id),
        );
        let body = json!({"text": text}).to_string().into_bytes();
        let req = Post {
            url: url.clone(),
            headers: vec![],
            body,
            timeout: Duration::from_secs(5),
        };
        match self.outbound.post(&req).await {
            Ok(_) => Ok(Effect::Done),
            Err(OutboundError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(OutboundError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }
}

fn hook_channel(hook: &Hook) -> &'static str {
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
