//! The messages: the prospect's confirmation and the consultants' e-mail, and
//! the Slack message for a new inquiry.

use super::*;

impl Notifier {
    pub(super) async fn mail(&self, mail: Mail) -> Result<Effect, AppError> {
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
            Ok(()) => Ok(Effect::Done(Some(Notice {
                recipients: mail.to.iter().map(|e| e.as_str().to_string()).collect(),
                subject: mail.subject.clone(),
            }))),
            Err(MailError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(MailError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }

    pub(super) async fn prospect_confirmation(
        &self,
        i: &Inquiry,
        caps: &batch::Caps,
    ) -> Result<Effect, AppError> {
        // Only a confirmation that went out counts against the address.
        let cap = records::mail_recipient_pk(i.email.as_str());
        if !caps.take(&cap) {
            return Ok(Effect::Skipped(format!(
                "at most {} confirmations a day to one address",
                CONFIRMATIONS_PER_ADDRESS.max
            )));
        }
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
            name = crate::app::render::html_escape(&i.name),
            svc = crate::app::render::html_escape(&services.join(", ")),
            id = i.id,
            when = if i.priority >= Priority::High { "within one business day" } else { "within two business days" },
        );
        let effect = self
            .mail(Mail {
                from: self.cfg.from.clone(),
                to: vec![i.email.clone()],
                subject: format!("We received your inquiry ({})", i.id),
                text,
                html,
                inquiry: i.id.clone(),
            })
            .await;
        if !matches!(effect, Ok(Effect::Done(_))) {
            caps.give_back(&cap);
        }
        effect
    }

    pub(super) async fn consultant_email(
        &self,
        i: &Inquiry,
        report: Option<&Report>,
    ) -> Result<Effect, AppError> {
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
        let (report_text, report_html) = match report {
            Some(r) => (
                r.content.clone(),
                crate::app::render::markdown_to_html(&r.content),
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
        let esc = crate::app::render::html_escape;
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
            inquiry: i.id.clone(),
        })
        .await
    }

    pub(super) async fn slack(&self, i: &Inquiry) -> Result<Effect, AppError> {
        let Some(url) = &self.cfg.slack_webhook else {
            return Ok(Effect::Done(None));
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
            Ok(_) => Ok(Effect::Done(None)),
            Err(OutboundError::Permanent(e)) => Ok(Effect::FailedForGood(e)),
            Err(OutboundError::Transient(e)) => Err(AppError::Unavailable(e)),
        }
    }
}
