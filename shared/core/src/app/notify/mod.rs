//! Notifications for business events: the prospect's confirmation and a Slack
//! message when an inquiry arrives, the consultants' e-mail when its report is
//! ready. Each side effect is recorded in a ledger under (event id, action) once it
//! succeeded, so a redelivered event repeats nothing that finished, and a worker
//! that died between two effects does only the missing one when the event comes
//! back. An effect that fails for good is recorded as failed (and counted) instead
//! of being retried forever; a transient failure fails the message so the queue
//! delivers it again.

mod batch;
mod hooks;
mod ledger;
mod messages;

use hooks::hook_channel;
pub use hooks::sign;

use super::hook_registry::HookRegistry;
use super::limits::{self, WindowLimit};
use super::records::{self, notification_pk, NOTIFICATIONS_INDEX, NOTIFICATION_SK};
use super::reports::ReportRecords;
use super::retry::RetryPolicy;
use super::{AppError, Deps};
use crate::domain::hook::{Hook, HookAction};
use crate::domain::report::Report;
use crate::domain::{
    rfc3339, DomainEvent, Email, EventType, Inquiry, InquiryId, Priority, ServiceType,
};
use crate::ports::mail::{Mail, MailError, Mailer};
use crate::ports::outbound::{Outbound, OutboundError, Post};
use crate::ports::queue::MAX_RECEIVES;
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

/// One delivery of an event: the event, and whether the queue will bring it back
/// again if it fails.
struct Attempt<'a> {
    event: &'a DomainEvent,
    last: bool,
}

/// What the effects of one delivery came to: how many ran, and the first failure
/// that should bring the message back.
#[derive(Default)]
struct Tally {
    ran: usize,
    failed: Option<AppError>,
}

impl Tally {
    fn add(&mut self, outcome: Result<bool, AppError>) {
        match outcome {
            Ok(true) => self.ran += 1,
            Ok(false) => {}
            Err(e) => {
                let error = redacted(&e.to_string());
                tracing::warn!(%error, "a notification failed for now; the others went on");
                self.failed.get_or_insert(e);
            }
        }
    }

    fn outcome(self) -> Result<usize, AppError> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.ran),
        }
    }
}

/// What a side effect came to.
enum Effect {
    /// Done; for an e-mail, to whom and under which subject (the inquiry's record
    /// of what was sent it, which the export shows).
    Done(Option<Notice>),
    FailedForGood(String),
    /// Deliberately not done (a recipient's cap reached); recorded, not retried.
    Skipped(String),
}

/// An e-mail as the inquiry's notification record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub recipients: Vec<String>,
    pub subject: String,
}

/// `text` with every e-mail address in it replaced: a failure's detail (a mail
/// service's refusal names the address it refused) is logged and kept in the
/// ledger, which must hold no personal data.
pub fn redacted(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || "<>\"'(),;:[]".contains(c))
        .map(|word| {
            let end = word.trim_end_matches(|c: char| {
                c.is_whitespace() || c == '.' || "<>\"'(),;:[]".contains(c)
            });
            let (local, domain) = end.split_once('@').unwrap_or(("", ""));
            if !local.is_empty() && domain.contains('.') {
                format!("<address>{}", &word[end.len()..])
            } else {
                word.to_string()
            }
        })
        .collect()
}

/// Confirmations one address may receive in a day: the public form must not be a
/// way to mail-bomb someone else's inbox.
pub const CONFIRMATIONS_PER_ADDRESS: WindowLimit = WindowLimit {
    max: 3,
    per: Duration::from_secs(24 * 3600),
};

#[derive(Clone)]
pub struct Notifier {
    deps: Deps,
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
            hooks: HookRegistry::new(cfg.hooks.clone(), deps.store.clone()),
            reports: ReportRecords::new(deps.clone()),
            deps,
            mailer,
            outbound,
            cfg: Arc::new(cfg),
        }
    }

    /// Handles one queue message body, as its first delivery; returns how many
    /// effects ran this time.
    pub async fn handle(&self, body: &str) -> Result<usize, AppError> {
        self.handle_attempt(body, 1).await
    }

    /// Handles a delivery the queue has made `receive_count` times: a batch of one.
    pub async fn handle_attempt(&self, body: &str, receive_count: u32) -> Result<usize, AppError> {
        let mut outcomes = self.handle_all(&[(body, receive_count)]).await;
        outcomes.pop().unwrap_or(Ok(0))
    }
}

#[async_trait::async_trait]
impl super::worker::QueueWork for Notifier {
    async fn work(&self, body: &str, receive_count: u32) -> Result<(), AppError> {
        self.handle_attempt(body, receive_count).await.map(|_| ())
    }

    async fn work_all(&self, batch: &[(&str, u32)]) -> Vec<Result<(), AppError>> {
        self.handle_all(batch)
            .await
            .into_iter()
            .map(|r| r.map(|_| ()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn addresses_leave_a_failures_detail_and_the_rest_stays() {
        assert_eq!(
            redacted("Email address is not verified: jane.doe@example.org, ops@x.io."),
            "Email address is not verified: <address>, <address>."
        );
        assert_eq!(
            redacted("refused <Jane@Example.ORG>; retry"),
            "refused <<address>>; retry"
        );
        assert_eq!(
            redacted("at most 3 confirmations a day to one address"),
            "at most 3 confirmations a day to one address"
        );
        assert_eq!(
            redacted("user@localhost and @handle"),
            "user@localhost and @handle"
        );
    }
}
