//! Notifications, each exactly once: the dev server's outbox of `.eml` files, a
//! duplicate delivery, a worker that dies between two effects, Slack against a local
//! receiver, permanent failures recorded, and the SES v2 adapter on moto.

use shared::app::notify::{Notifier, NotifyConfig};
use shared::app::{Deps, InquiryService};
use shared::domain::Email;
use shared::ports::mail::{Mail, MailError, Mailer};
use shared::ports::{QueueName, SystemClock};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use system_tests::receiver::receiver;
use system_tests::{inquiry_body, json, json_of, spawn_app, Value};

fn eml_files(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

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
}

/// A mailer that records what it sent, failing as told.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Mail>>,
    fail_next: Mutex<Option<MailError>>,
}

#[async_trait::async_trait]
impl Mailer for Recorder {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if let Some(e) = self.fail_next.lock().unwrap().take() {
            return Err(e);
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

fn config(slack: Option<String>) -> NotifyConfig {
    let mut consultants = BTreeMap::new();
    consultants.insert(None, vec![Email::parse("ops@example.com").unwrap()]);
    consultants.insert(
        Some(shared::domain::ServiceType::Migration),
        vec![Email::parse("migrations@example.com").unwrap()],
    );
    NotifyConfig {
        from: Email::parse("no-reply@example.com").unwrap(),
        consultants,
        slack_webhook: slack,
        admin_base_url: "https://admin.example.com".into(),
    }
}

async fn created_event(adapters: &shared::adapters::Adapters) -> String {
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let mut body = inquiry_body();
    body["company"] = json!("Acme <b>&</b> Co");
    InquiryService::new(deps)
        .submit(&body, None, "c")
        .await
        .unwrap();
    let got = adapters
        .queue
        .receive(QueueName::Events, 10, Duration::from_secs(60))
        .await
        .unwrap();
    got[0].body.clone()
}

#[tokio::test]
async fn a_duplicate_delivery_sends_nothing_twice() {
    let adapters = system_tests::embedded_adapters();
    let (rx, url) = receiver(0).await;
    let mailer = Arc::new(Recorder::default());
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let n = Notifier::new(
        deps,
        None,
        mailer.clone(),
        Arc::new(shared::adapters::http_client::ReqwestOutbound::new()),
        config(Some(url)),
    );
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
    let mailer = Arc::new(Recorder::default());
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let n = Notifier::new(
        deps,
        None,
        mailer.clone(),
        Arc::new(shared::adapters::http_client::ReqwestOutbound::new()),
        config(Some(url)),
    );
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
    let mailer = Arc::new(Recorder::default());
    *mailer.fail_next.lock().unwrap() = Some(MailError::Permanent("address rejected".into()));
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let n = Notifier::new(
        deps.clone(),
        None,
        mailer.clone(),
        Arc::new(shared::adapters::http_client::ReqwestOutbound::new()),
        config(None),
    );
    let body = created_event(&adapters).await;
    assert_eq!(
        n.handle(&body).await.unwrap(),
        1,
        "the failure is final and recorded"
    );
    assert_eq!(n.handle(&body).await.unwrap(), 0, "and not retried");
    let figures = shared::app::figures::figures(
        &deps,
        &InquiryService::new(deps.clone()),
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!((figures.emails_sent, figures.email_delivery_rate), (0, 0.0));
}

#[tokio::test]
async fn consultants_are_chosen_by_service() {
    let cfg = config(None);
    let adapters = system_tests::embedded_adapters();
    let mailer = Arc::new(Recorder::default());
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let n = Notifier::new(
        deps.clone(),
        None,
        mailer.clone(),
        Arc::new(shared::adapters::http_client::ReqwestOutbound::new()),
        cfg,
    );
    let out = InquiryService::new(deps)
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let event = json!({"id": "evt_01jd0000000000000000000001", "type": "report_generated", "inquiry_id": out.body["data"]["id"],
                       "occurred_at": "2026-11-24T10:00:00Z", "correlation_id": "c", "payload": {}});
    n.handle(&event.to_string()).await.unwrap();
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(
        sent[0].to.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        ["migrations@example.com"]
    );
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
    assert!(NotifyConfig::from_lookup(get(vec![
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
        assert!(
            NotifyConfig::from_lookup(get(bad.clone())).is_err(),
            "{bad:?}"
        );
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
    let mailer = shared::adapters::aws::SesMailer::new(client);
    let subject = format!("SES check {}", ulid::Ulid::new());
    mailer
        .send(&Mail {
            from: Email::parse("no-reply@example.com").unwrap(),
            to: vec![Email::parse("jane@example.com").unwrap()],
            subject: subject.clone(),
            text: "plain part".into(),
            html: "<p>html part</p>".into(),
        })
        .await
        .unwrap();
    // Read back what moto received.
    let data: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        system_tests::moto_endpoint()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let found = data["ses"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .any(|m| m.to_string().contains(&subject));
    assert!(found, "moto did not record the message: {}", data["ses"]);
}
