//! Notifications for business events: the prospect's confirmation and a Slack
//! message when an inquiry arrives, the consultants' e-mail when its report is
//! ready. Each side effect is recorded in a ledger under (event id, action) once it
//! succeeded, so a redelivered event repeats nothing that finished, and a worker
//! that died between two effects does only the missing one when the event comes
//! back. An effect that fails for good is recorded as failed (and counted) instead
//! of being retried forever; a transient failure fails the message so the queue
//! delivers it again.

mod hooks;
mod ledger;
mod messages;

use hooks::hook_channel;
pub use hooks::sign;

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
}
