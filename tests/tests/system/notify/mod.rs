//! Notifications, each exactly once: the dev server's outbox of `.eml` files, a
//! duplicate delivery, a worker that dies between two effects, Slack against a local
//! receiver, permanent failures recorded, and the SES v2 adapter on moto; the
//! hooks in their own module.

mod hooks;

use backend_core::app::notify::{Notifier, NotifyConfig};
use backend_core::app::{Deps, InquiryService};
use backend_core::domain::Email;
use backend_core::ports::mail::{Mail, MailError, Mailer};
use backend_core::ports::{QueueName, SystemClock};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use system_tests::receiver::receiver;
use system_tests::{eml_files, inquiry_body, json, json_of, spawn_app, Value};

#[tokio::test]
async fn the_dev_server_leaves_a_confirmation_and_a_consultant_email_each_once() {
    let app = spawn_app().await;
    let mut body = inquiry_body();
    body["message"] = json!("Our production is down, please help asap");
    let (_, created) = json_of(app.post_json("/api/v1/inquiries", &body).await).await;
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let outbox = app.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(15);
    while eml_files(&outbox).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "mails so far: {:?}",
            eml_files(&outbox)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = eml_files(&outbox);
    assert_eq!(mails.len(), 2, "exactly two mails: {mails:#?}");
    let prospect = mails
        .iter()
        .find(|m| m.contains("To: jane@example.com"))
        .expect("prospect confirmation");
    assert!(
        prospect.contains(&id),
        "the reference id is in the confirmation"
    );
    assert!(prospect.contains("multipart/alternative") && prospect.contains("text/html"));
    let consultant = mails
        .iter()
        .find(|m| m.contains("To: consultants@example.com"))
        .expect("consultant e-mail");
    assert!(
        consultant.contains("[URGENT]"),
        "urgent inquiries are marked in the subject"
    );
    assert!(
        consultant.contains("Executive summary"),
        "the report is inlined"
    );

    let token = app.token().await;
    let scrape = system_tests::scrape(&app, &token).await;
    let sent = system_tests::sample(
        &scrape,
        "notifications",
        &[("channel", "email"), ("status", "sent")],
    );
    assert_eq!(sent, Some(2.0));
    let (_, m) = app
        .admin_json("/api/v1/admin/metrics?time_range=1h", &token)
        .await;
    assert_eq!(
        (
            m["data"]["emails_sent"].as_u64(),
            m["data"]["email_delivery_rate"].as_f64()
        ),
        (Some(2), Some(100.0))
    );
}

async fn created_event(adapters: &backend_core::ports::Adapters) -> String {
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let mut body = inquiry_body();
    body["company"] = json!("Acme <b>&</b> Co");
    InquiryService::new(deps)
        .submit(&body, None, "c")
        .await
        .unwrap();
    let got = system_tests::queued(adapters, QueueName::Events).await;
    got[0].body.clone()
}

/// A notifier on `adapters` with a recording mailer and the unguarded client (the
/// receivers are on loopback).
fn notifier(
    adapters: &backend_core::ports::Adapters,
    cfg: NotifyConfig,
) -> (Notifier, Arc<system_tests::RecordingMailer>) {
    let mailer = Arc::new(system_tests::RecordingMailer::default());
    let n = Notifier::new(
        Deps::new(adapters.clone(), Arc::new(SystemClock)),
        mailer.clone(),
        Arc::new(backend_net::outbound::ReqwestOutbound::allowing_private()),
        cfg,
    );
    (n, mailer)
}

/// One event delivered twice in the same batch (SQS may hand out both copies at
/// once) is worked on once: one confirmation, one Slack post, both messages done.
#[tokio::test]
async fn a_duplicate_within_one_batch_sends_nothing_twice() {
    use backend_core::app::worker::QueueWork;
    let adapters = system_tests::embedded_adapters();
    let (rx, url) = receiver(0).await;
    let (n, mailer) = notifier(&adapters, system_tests::notify_config(Some(url)));
    let body = created_event(&adapters).await;
    let outcomes = n.work_all(&[(body.as_str(), 1), (body.as_str(), 2)]).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(rx.calls.load(Ordering::SeqCst), 1);
    assert_eq!(n.handle(&body).await.unwrap(), 0, "both effects recorded");
}

#[tokio::test]
async fn a_duplicate_delivery_sends_nothing_twice() {
    let adapters = system_tests::embedded_adapters();
    let (rx, url) = receiver(0).await;
    let (n, mailer) = notifier(&adapters, system_tests::notify_config(Some(url)));
    let body = created_event(&adapters).await;
    assert_eq!(n.handle(&body).await.unwrap(), 2);
    assert_eq!(n.handle(&body).await.unwrap(), 0);
    assert_eq!(n.handle(&body).await.unwrap(), 0);
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(rx.calls.load(Ordering::SeqCst), 1);
    let slack = rx.bodies.lock().unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        slack.contains("Acme &lt;b&gt;&amp;&lt;/b&gt; Co"),
        "Slack text is escaped: {slack}"
    );
    assert!(
        slack.contains("<https://admin.example.com/admin/inquiries/inq_"),
        "{slack}"
    );
}

#[tokio::test]
async fn a_worker_that_dies_between_two_effects_repeats_neither() {
    let adapters = system_tests::embedded_adapters();
    // The e-mail goes out, then Slack fails as if the worker died there.
    let (rx, url) = receiver(1).await;
    let (n, mailer) = notifier(&adapters, system_tests::notify_config(Some(url)));
    let body = created_event(&adapters).await;
    assert!(
        n.handle(&body).await.is_err(),
        "the message fails, so the queue delivers it again"
    );
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    // The redelivery does only what is missing.
    assert_eq!(n.handle(&body).await.unwrap(), 1);
    assert_eq!(
        mailer.sent.lock().unwrap().len(),
        1,
        "the e-mail is not sent again"
    );
    assert_eq!(
        rx.bodies.lock().unwrap().len(),
        1,
        "Slack got exactly one message"
    );
}

#[tokio::test]
async fn permanent_failures_are_recorded_and_counted_not_retried() {
    let adapters = system_tests::embedded_adapters();
    let (n, mailer) = notifier(&adapters, system_tests::notify_config(None));
    *mailer.fail_next.lock().unwrap() = Some(MailError::Permanent("address rejected".into()));
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let body = created_event(&adapters).await;
    assert_eq!(
        n.handle(&body).await.unwrap(),
        1,
        "the failure is final and recorded"
    );
    assert_eq!(n.handle(&body).await.unwrap(), 0, "and not retried");
    let figures = backend_core::app::figures::figures(
        &deps,
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!((figures.emails_sent, figures.email_delivery_rate), (0, 0.0));
}

#[tokio::test]
async fn consultants_are_chosen_by_service() {
    let cfg = system_tests::notify_config(None);
    let adapters = system_tests::embedded_adapters();
    let (n, mailer) = notifier(&adapters, cfg);
    let out = InquiryService::new(Deps::new(adapters.clone(), Arc::new(SystemClock)))
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let event = json!({"id": "evt_01jd0000000000000000000001", "type": "report_generated", "inquiry_id": out.inquiry.id.to_string(),
                       "occurred_at": "2026-11-24T10:00:00Z", "correlation_id": "c", "payload": {}});
    n.handle(&event.to_string()).await.unwrap();
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(
        sent[0].to.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        ["migrations@example.com"]
    );
}

/// The notification part of the settings, read from `get`.
fn notify_settings(
    get: impl Fn(&str) -> Option<String>,
) -> Result<NotifyConfig, backend_config::ConfigError> {
    let s = backend_config::Settings::from_lookup(get, &[backend_config::Part::Notify])?;
    Ok(s.notify.expect("asked for"))
}

#[test]
fn notification_settings_are_checked() {
    let get = |pairs: Vec<(&'static str, &'static str)>| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert!(notify_settings(get(vec![
        ("MAIL_FROM", "a@example.com"),
        ("CONSULTANT_EMAILS", r#"{"default":["b@example.com"]}"#)
    ]))
    .is_ok());
    for bad in [
        vec![
            ("MAIL_FROM", "not-an-address"),
            ("CONSULTANT_EMAILS", r#"{"default":["b@example.com"]}"#),
        ],
        vec![
            ("MAIL_FROM", "a@example.com"),
            ("CONSULTANT_EMAILS", r#"{"migration":["b@example.com"]}"#),
        ],
        vec![
            ("MAIL_FROM", "a@example.com"),
            (
                "CONSULTANT_EMAILS",
                r#"{"default":["b@example.com"],"teleport":[]}"#,
            ),
        ],
        vec![
            ("MAIL_FROM", "a@example.com"),
            ("CONSULTANT_EMAILS", r#"{"default":["b@example.com"]}"#),
            ("SLACK_WEBHOOK_URL", "http://hooks.example.com/x"),
        ],
        vec![("MAIL_FROM", "a@example.com")],
    ] {
        assert!(notify_settings(get(bad.clone())).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn the_ses_adapter_sends_through_moto() {
    let sdk = system_tests::sdk_config().await;
    let client = aws_sdk_sesv2::Client::new(&sdk);
    client
        .create_email_identity()
        .email_identity("no-reply@example.com")
        .send()
        .await
        .unwrap();
    let mailer = backend_aws::SesMailer::new(client);
    let subject = format!("SES check {}", ulid::Ulid::new());
    mailer
        .send(&Mail {
            from: Email::parse("no-reply@example.com").unwrap(),
            to: vec![Email::parse("jane@example.com").unwrap()],
            subject: subject.clone(),
            text: "plain part".into(),
            html: "<p>html part</p>".into(),
            inquiry: backend_core::domain::InquiryId::new(ulid::Ulid::new()),
        })
        .await
        .unwrap();
    // Read back what moto received.
    let mails = system_tests::moto_sent_mail().await;
    assert!(
        mails.iter().any(|m| m.contains(&subject)),
        "moto did not record the message: {mails:?}"
    );
}

/// Hooks from their JSON configuration.
fn hooks_from(json: Value) -> Vec<backend_core::domain::hook::Hook> {
    backend_core::domain::hook::parse_hooks(&json.to_string()).unwrap()
}

const SECRET: &str = "hook-secret-of-some-length";

/// The records of an event's side effects: action to status.
async fn ledger(adapters: &backend_core::ports::Adapters) -> BTreeMap<String, String> {
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let q = backend_core::ports::Query::index(backend_core::app::records::NOTIFICATIONS_INDEX);
    backend_core::app::records::collect(deps.store.as_ref(), &q)
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            (
                i.data["action"].as_str().unwrap().to_string(),
                i.data["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_effect_stands_alone_while_a_dependency_is_down() {
    use backend_core::ports::queue::MAX_RECEIVES;
    // Nothing listens on this port: the webhook is down (connection refused).
    let down_url = format!("http://127.0.0.1:{}/hook", system_tests::free_port());
    for down in ["hook", "slack", "mail"] {
        let adapters = system_tests::embedded_adapters();
        let (slack, slack_url) = receiver(if down == "slack" { 1000 } else { 0 }).await;
        let (hook, hook_url) = receiver(0).await;
        let mut cfg = system_tests::notify_config(Some(slack_url));
        let url = if down == "hook" {
            down_url.clone()
        } else {
            hook_url
        };
        cfg.hooks = hooks_from(
            json!([{"id": "crm", "name": "CRM", "event": "inquiry_created",
            "action": {"type": "webhook", "url": url, "secret": SECRET}}]),
        );
        let (n, mailer) = notifier(&adapters, cfg);
        mailer.down.store(down == "mail", Ordering::SeqCst);
        let body = created_event(&adapters).await;

        // The first delivery: the dependency that is down fails the message (so the
        // queue brings it back), and every other effect has gone out already.
        assert!(n.handle_attempt(&body, 1).await.is_err(), "{down}");
        let sent = |what: &str| match what {
            "mail" => mailer.sent.lock().unwrap().len(),
            "slack" => slack.bodies.lock().unwrap().len(),
            _ => hook.bodies.lock().unwrap().len(),
        };
        for other in ["hook", "slack", "mail"].into_iter().filter(|o| *o != down) {
            assert_eq!(sent(other), 1, "{other} went out while {down} was down");
        }
        // Redeliveries repeat none of them; on the last one the queue allows, the
        // effect still failing is recorded as failed, and the event is done.
        for receive in 2..MAX_RECEIVES {
            assert!(n.handle_attempt(&body, receive).await.is_err(), "{down}");
        }
        assert_eq!(
            n.handle_attempt(&body, MAX_RECEIVES).await.unwrap(),
            1,
            "{down}"
        );
        for other in ["hook", "slack", "mail"].into_iter().filter(|o| *o != down) {
            assert_eq!(sent(other), 1, "{other} was sent once");
        }
        let action = match down {
            "hook" => "hook:crm",
            "slack" => "slack",
            _ => "email:prospect",
        };
        let ledger = ledger(&adapters).await;
        assert_eq!(
            ledger.get(action).map(String::as_str),
            Some("failed"),
            "{ledger:?}"
        );
        assert_eq!(
            ledger.values().filter(|s| *s == "sent").count(),
            2,
            "{ledger:?}"
        );
    }
}

/// A model that is down: every call fails for now.
struct DownModel;

#[async_trait::async_trait]
impl backend_core::ports::llm::Llm for DownModel {
    async fn complete(
        &self,
        _: &backend_core::ports::llm::Prompt,
    ) -> Result<backend_core::ports::llm::Completion, backend_core::ports::llm::LlmError> {
        Err(backend_core::ports::llm::LlmError::Transient(
            "the model is down".into(),
        ))
    }
}

#[tokio::test]
async fn with_the_model_down_the_report_and_its_mail_still_go_out() {
    use backend_core::app::drafting::Drafter;
    use backend_core::app::reports::{Outcome, ReportService};
    let adapters = system_tests::embedded_adapters();
    let (hook, hook_url) = receiver(0).await;
    let mut cfg = system_tests::notify_config(None);
    cfg.hooks = hooks_from(
        json!([{"id": "reports", "name": "Reports", "event": "report_generated",
        "action": {"type": "webhook", "url": hook_url, "secret": SECRET}}]),
    );
    let (n, mailer) = notifier(&adapters, cfg);
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    InquiryService::new(deps.clone())
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let job = system_tests::queued(&adapters, QueueName::Reports).await;
    let model = Arc::new(DownModel) as Arc<dyn backend_core::ports::llm::Llm>;
    let reports = ReportService::new(
        deps,
        adapters.blobs.clone().unwrap(),
        Arc::new(Drafter::standard(Some(model))),
    );
    let outcome = reports.handle_attempt(&job[0].body, 1).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Generated(_)),
        "drafted from the template"
    );
    let events = system_tests::queued(&adapters, QueueName::Events).await;
    let generated = events
        .iter()
        .find(|d| d.body.contains("report_generated"))
        .expect("report_generated emitted");
    assert_eq!(
        n.handle(&generated.body).await.unwrap(),
        2,
        "the mail and the hook"
    );
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].text.to_lowercase().contains("template"),
        "{}",
        sent[0].text
    );
    assert_eq!(hook.bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_confirmations() {
    use backend_core::app::notify::CONFIRMATIONS_PER_ADDRESS;
    let adapters = system_tests::embedded_adapters();
    let (n, mailer) = notifier(&adapters, system_tests::notify_config(None));
    let tries = CONFIRMATIONS_PER_ADDRESS.max + 2;
    for _ in 0..tries {
        // Every inquiry names the same address, as a form used to mail-bomb it would.
        let body = created_event(&adapters).await;
        n.handle(&body).await.unwrap();
    }
    let confirmations = mailer
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.as_str() == "jane@example.com"))
        .count();
    assert_eq!(confirmations as u64, CONFIRMATIONS_PER_ADDRESS.max);
    let ledger = ledger(&adapters).await;
    assert!(ledger.values().any(|s| s == "skipped"), "{ledger:?}");
}
