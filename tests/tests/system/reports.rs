//! The report pipeline on the dev server and its use case: every inquiry gets a
//! report without the prospect waiting, exactly once, and the report routes serve
//! it as JSON and HTML.

use backend_core::app::drafting::{CircuitBreaker, Drafter, RetryPolicy};
use backend_core::app::reports::{Outcome, ReportService};
use backend_core::app::worker::Consumer;
use backend_core::app::{Deps, InquiryService};
use backend_core::ports::llm::{Completion, Llm, LlmError, Prompt};
use backend_core::ports::{Adapters, Message, QueueName, SystemClock};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use system_tests::{inquiry_body, json, json_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_posted_inquiry_gets_a_readable_report() {
    let app = spawn_app().await;
    let token = app.token().await;
    let mut body = inquiry_body();
    body["company"] = json!("Acme & <Sons>");
    body["message"] =
        json!("Move our Postgres to AWS <script>alert(1)</script> [x](javascript:alert(2))");
    let (status, created) = json_of(app.post_json("/api/v1/inquiries", &body).await).await;
    assert_eq!(status, 201);
    let id = created["data"]["id"].as_str().unwrap();

    let report = app.wait_for_report(&token, id).await;
    assert_eq!(report["inquiry_id"], id);
    assert_eq!(report["type"], "migration");
    assert_eq!(report["status"], "draft");
    assert_eq!(report["generated_by"], "template");
    assert!(report["reviewed_by"].is_null());
    let content = report["content"].as_str().unwrap();
    for section in [
        "## Executive summary",
        "## Migration strategy",
        "## Wave plan",
        "## Next steps",
    ] {
        assert!(content.contains(section), "{section} in {content}");
    }
    assert!(content.contains("not written by AI"));
    assert!(report["s3_key"].as_str().unwrap().ends_with(".md"));

    let html = app
        .admin_text(
            &format!("/api/v1/inquiries/{id}/report/html"),
            &token,
            "text/html",
        )
        .await;
    assert!(
        html.contains("Acme &amp; &lt;Sons&gt;"),
        "inquiry text is escaped"
    );
    assert!(
        !html.contains("<script>alert"),
        "no script from the message survives"
    );
    assert!(
        !html.contains("href=\"javascript:"),
        "no script link survives"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "the prospect's markup shows as text"
    );
    assert!(html.contains("Template draft (not AI-written)"));

    assert_eq!(
        disposition(
            &app,
            &format!("/api/v1/inquiries/{id}/report/download?format=html"),
            &token
        )
        .await,
        "attachment; filename=\"Acme____Sons_migration_report.html\""
    );
    let (s, v) = app
        .admin_json(
            &format!("/api/v1/inquiries/{id}/report/download?format=docx"),
            &token,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("VALIDATION_ERROR")));

    // The PDF is real: its text reads back.
    let resp = app
        .admin_get(&format!("/api/v1/inquiries/{id}/report/pdf"), &token)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "inline; filename=\"Acme____Sons_migration_report.pdf\""
    );
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("a readable PDF");
    for expected in [
        "Cloud Migration for Acme & <Sons>",
        "Executive summary",
        "Migration strategy",
        "not written by AI",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} in the PDF text:\n{text}"
        );
    }
    assert_eq!(
        disposition(
            &app,
            &format!("/api/v1/inquiries/{id}/report/download"),
            &token
        )
        .await,
        "attachment; filename=\"Acme____Sons_migration_report.pdf\""
    );
    // The admin download's name: the inquiry's, then the time it was made.
    for format in ["pdf", "html"] {
        let path = format!("/api/v1/admin/reports/download/{id}/{format}");
        let cd = disposition(&app, &path, &token).await;
        assert!(
            cd.starts_with("attachment; filename=\"admin_Acme____Sons_migration_2")
                && cd.ends_with(&format!(".{format}\"")),
            "{cd}"
        );
    }

    // The inquiry carries its reports; the admin views list and show it.
    let (_, inq) = app
        .admin_json(&format!("/api/v1/inquiries/{id}"), &token)
        .await;
    assert_eq!(inq["data"]["reports"][0]["id"], report["id"]);
    let (s, list) = app
        .admin_json("/api/v1/admin/reports?limit=5", &token)
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        (list["total"].as_u64(), list["count"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(list["data"][0]["inquiry"]["id"], id);
    let (_, empty) = app
        .admin_json("/api/v1/admin/reports?status=final", &token)
        .await;
    assert_eq!(empty["data"], json!([]));
    let (s, bad) = app
        .admin_json("/api/v1/admin/reports?limit=0&offset=-1", &token)
        .await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(
        bad["details"]["fields"],
        json!({"limit": "must be a whole number from 1 to 100",
               "offset": "must be a whole number, 0 or more"})
    );
    let rid = report["id"].as_str().unwrap();
    let (s, view) = app
        .admin_json(&format!("/api/v1/admin/reports/view/{rid}"), &token)
        .await;
    assert_eq!((s, &view["data"]["id"]), (200, &report["id"]));
    assert_eq!(view["data"]["inquiry"]["company"], "Acme & <Sons>");
    let (s, _) = app
        .admin_json(
            "/api/v1/admin/reports/view/rep_01aaaaaaaaaaaaaaaaaaaaaaaa",
            &token,
        )
        .await;
    assert_eq!(s, 404);

    let (_, m) = app
        .admin_json("/api/v1/admin/metrics?time_range=1h", &token)
        .await;
    assert_eq!(m["data"]["reports_generated"], 1);
    let scrape = system_tests::scrape(&app, &token).await;
    let sample = |m: &str, l: &[(&str, &str)]| system_tests::sample(&scrape, m, l);
    assert_eq!(
        sample("reports_generated", &[("drafted_by", "template")]),
        Some(1.0)
    );
    assert_eq!(
        sample("reports_generated", &[("drafted_by", "model")]),
        Some(0.0)
    );
    assert_eq!(sample("reports_failed", &[]), Some(0.0));
}

/// The `Content-Disposition` of a download that answered 200.
async fn disposition(app: &system_tests::TestApp, path: &str, token: &str) -> String {
    let resp = app.admin_get(path, token).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn no_report_yet_is_a_404_and_unknown_inquiries_too() {
    let app = spawn_app().await;
    let token = app.token().await;
    for path in [
        "/api/v1/inquiries/inq_01aaaaaaaaaaaaaaaaaaaaaaaa/report",
        "/api/v1/inquiries/bad/report/html",
    ] {
        let (s, v) = app.admin_json(path, &token).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("NOT_FOUND")), "{path}");
    }
}

fn service(adapters: &Adapters, drafter: Drafter) -> (ReportService, InquiryService) {
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    (
        ReportService::new(
            deps.clone(),
            adapters.blobs.clone().unwrap(),
            Arc::new(drafter),
        ),
        InquiryService::new(deps),
    )
}

async fn created_event(adapters: &Adapters, inquiries: &InquiryService) -> String {
    inquiries.submit(&inquiry_body(), None, "c").await.unwrap();
    let got = system_tests::queued(adapters, QueueName::Reports).await;
    assert_eq!(got.len(), 1);
    got[0].body.clone()
}

#[tokio::test]
async fn a_redelivered_event_yields_one_report_and_one_event() {
    let adapters = system_tests::embedded_adapters();
    let (reports, inquiries) = service(&adapters, Drafter::template_only());
    let body = created_event(&adapters, &inquiries).await;
    let first = reports.handle(&body).await.unwrap();
    let Outcome::Generated(id) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        reports.handle(&body).await.unwrap(),
        Outcome::AlreadyDone(id.clone())
    );
    assert_eq!(
        reports.handle(&body).await.unwrap(),
        Outcome::AlreadyDone(id)
    );
    let events = system_tests::queued(&adapters, QueueName::Events).await;
    let generated = events
        .iter()
        .filter(|d| d.body.contains("\"report_generated\""))
        .count();
    assert_eq!(generated, 1);
    assert_eq!(reports.page(None, None, 0, 100).await.unwrap().len(), 1);
    assert_eq!(reports.count(None, None).await.unwrap(), 1, "counted once");
}

/// Queues report jobs, `(message id, body)`, in order.
async fn report_jobs<const N: usize>(adapters: &Adapters, jobs: [(&str, String); N]) {
    for (id, body) in jobs {
        let message = Message {
            id: id.into(),
            body,
        };
        adapters
            .queue
            .send(QueueName::Reports, &message)
            .await
            .unwrap();
    }
}

/// The reports queue's consumer, with no wait between receives.
fn reports_consumer(adapters: &Adapters) -> Consumer {
    Consumer {
        queue: adapters.queue.clone(),
        name: QueueName::Reports,
        visibility: Duration::ZERO,
        idle: Duration::ZERO,
    }
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_without_blocking_its_batch() {
    let adapters = system_tests::embedded_adapters();
    let (reports, inquiries) = service(&adapters, Drafter::template_only());
    let good = created_event(&adapters, &inquiries).await;
    report_jobs(&adapters, [("poison", "{not json".into()), ("good", good)]).await;
    let consumer = reports_consumer(&adapters);
    assert_eq!(
        consumer.once(&reports).await.unwrap(),
        1,
        "the good message of the batch is done"
    );
    for _ in 0..10 {
        consumer.once(&reports).await.unwrap();
    }
    let dead = adapters
        .queue
        .dead_letters(QueueName::Reports)
        .await
        .unwrap();
    assert_eq!(
        dead.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["poison"]
    );
    assert_eq!(reports.page(None, None, 0, 100).await.unwrap().len(), 1);
    assert_eq!(reports.count(None, None).await.unwrap(), 1, "counted once");
}

/// A model that fails the first `fail` calls with the given error, then answers.
struct FakeModel {
    calls: AtomicU32,
    fail: u32,
    error: LlmError,
}

#[async_trait::async_trait]
impl Llm for FakeModel {
    async fn complete(&self, p: &Prompt) -> Result<Completion, LlmError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(p.system.contains("## Executive summary") && p.user.contains("<inquiry>"));
        if n < self.fail {
            return Err(self.error.clone());
        }
        Ok(Completion {
            text: "## Executive summary\nFrom the model.".into(),
            model: "fake-model-v1".into(),
        })
    }
}

/// A model that answers only when the test lets it, one call per permit.
struct HeldModel(Arc<tokio::sync::Semaphore>);

#[async_trait::async_trait]
impl Llm for HeldModel {
    async fn complete(&self, _: &Prompt) -> Result<Completion, LlmError> {
        let _permit = self.0.acquire().await.expect("gate stays open");
        Ok(Completion {
            text: "## Executive summary\nFrom the held model.".into(),
            model: "held-model-v1".into(),
        })
    }
}

#[tokio::test]
async fn the_prospect_is_answered_while_the_model_is_still_drafting() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let model = Arc::new(HeldModel(gate.clone()));
    let app = spawn_app_with(|c| c.llm = Some(model)).await;
    let token = app.token().await;
    // Were the report drafted inside the request, this answer would never come.
    let (status, created) = tokio::time::timeout(Duration::from_secs(30), async {
        json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await
    })
    .await
    .expect("the prospect is answered before the model is");
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap();
    let (status, _) = app
        .admin_json(&format!("/api/v1/inquiries/{id}/report"), &token)
        .await;
    assert_eq!(status, 404, "no report while the model is held");

    gate.add_permits(1);
    let report = app.wait_for_report(&token, id).await;
    assert_eq!(report["generated_by"], "held-model-v1");
}

/// A drafter on a model that fails its first `fail` calls with `error`, retrying
/// quickly, its circuit opening after `opens_after` failed drafts.
fn drafter_failing(fail: u32, error: LlmError, opens_after: u32) -> (Arc<FakeModel>, Drafter) {
    let model = Arc::new(FakeModel {
        calls: AtomicU32::new(0),
        fail,
        error,
    });
    let retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    let breaker = CircuitBreaker::new(opens_after, Duration::from_secs(60));
    (model.clone(), Drafter::new(Some(model), retry, breaker))
}

#[tokio::test]
async fn transient_model_failures_are_retried_and_outages_fall_back_to_the_template() {
    let adapters = system_tests::embedded_adapters();
    let inquiry = {
        let (_, inquiries) = service(&adapters, Drafter::template_only());
        let out = inquiries.submit(&inquiry_body(), None, "c").await.unwrap();
        out.inquiry
    };

    let (flaky, d) = drafter_failing(2, LlmError::Transient("throttled".into()), 3);
    let drafted = d.draft(&inquiry).await;
    assert_eq!(
        (
            drafted.generated_by.as_str(),
            flaky.calls.load(Ordering::SeqCst)
        ),
        ("fake-model-v1", 3)
    );

    let (refused, d) = drafter_failing(u32::MAX, LlmError::Permanent("bad request".into()), 3);
    assert_eq!(d.draft(&inquiry).await.generated_by, "template");
    assert_eq!(
        refused.calls.load(Ordering::SeqCst),
        1,
        "a permanent failure is not retried"
    );

    let (down, d) = drafter_failing(u32::MAX, LlmError::Transient("503".into()), 2);
    for _ in 0..2 {
        assert_eq!(d.draft(&inquiry).await.generated_by, "template");
    }
    let calls = down.calls.load(Ordering::SeqCst);
    assert_eq!(calls, 6, "two drafts, three attempts each");
    assert!(d.breaker().is_open());
    for _ in 0..5 {
        assert_eq!(d.draft(&inquiry).await.generated_by, "template");
    }
    assert_eq!(
        down.calls.load(Ordering::SeqCst),
        calls,
        "an open circuit does not call the model"
    );
}

/// The dev server with a model configured: a working model writes the report; one
/// whose API fails leaves a template draft, so reports still arrive.
#[tokio::test]
async fn the_dev_server_drafts_with_the_model_or_falls_back_to_the_template() {
    use system_tests::bedrock_stub::{start, Mode};
    for (mode, author) in [
        (Mode::Ok, "anthropic.claude-stub-v1"),
        (Mode::ServerError, "template"),
    ] {
        let stub = start(mode).await;
        let llm =
            backend_aws::BedrockLlm::new(&stub.sdk_config().await, "anthropic.claude-stub-v1");
        let app = system_tests::spawn_app_with(|c| c.llm = Some(Arc::new(llm))).await;
        let token = app.token().await;
        let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
        let report = app
            .wait_for_report(&token, created["data"]["id"].as_str().unwrap())
            .await;
        assert_eq!(report["generated_by"], author);
        assert!(
            !stub.seen.lock().unwrap().is_empty(),
            "the model was asked first"
        );
        if author != "template" {
            assert!(report["content"]
                .as_str()
                .unwrap()
                .contains("Drafted by the stub."));
        }
    }
}

/// A report job that fails on every delivery ends in the dead-letter queue, and its
/// last failure tells the consultants, who then get the inquiry alone, once.
#[tokio::test]
async fn a_job_that_fails_for_good_sends_the_consultants_the_inquiry_alone() {
    let adapters = system_tests::embedded_adapters();
    let (reports, inquiries) = service(&adapters, Drafter::template_only());
    let body = created_event(&adapters, &inquiries).await;
    // The report files cannot be written: every delivery fails.
    let broken = ReportService::new(
        Deps::new(adapters.clone(), Arc::new(SystemClock)),
        Arc::new(BrokenBlobs),
        Arc::new(Drafter::template_only()),
    );
    report_jobs(&adapters, [("job", body)]).await;
    let consumer = reports_consumer(&adapters);
    for _ in 0..(backend_core::ports::queue::MAX_RECEIVES + 2) {
        consumer.once(&broken).await.unwrap();
    }
    assert_eq!(
        adapters
            .queue
            .dead_letter_count(QueueName::Reports)
            .await
            .unwrap(),
        1
    );
    assert!(reports.page(None, None, 0, 100).await.unwrap().is_empty());
    assert_eq!(reports.count(None, None).await.unwrap(), 0);
    let events = system_tests::queued(&adapters, QueueName::Events).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|d| d.body.contains("\"report_failed\""))
        .collect();
    assert_eq!(failed.len(), 1, "told once, on the last delivery");

    let mailer = Arc::new(system_tests::RecordingMailer::default());
    let settings = backend_config::Settings::from_lookup(
        |k| match k {
            "MAIL_FROM" => Some("no-reply@example.com".into()),
            "CONSULTANT_EMAILS" => Some(r#"{"default": ["ops@example.com"]}"#.into()),
            _ => None,
        },
        &[backend_config::Part::Notify],
    )
    .unwrap();
    let mut cfg = settings.notify.unwrap();
    cfg.slack_webhook = None;
    let notifier = backend_core::app::notify::Notifier::new(
        Deps::new(adapters.clone(), Arc::new(SystemClock)),
        mailer.clone(),
        Arc::new(backend_net::outbound::ReqwestOutbound::allowing_private()),
        cfg,
    );
    notifier.handle(&failed[0].body).await.unwrap();
    notifier.handle(&failed[0].body).await.unwrap();
    let sent = mailer.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].subject.contains("no report could be drafted"),
        "{}",
        sent[0].subject
    );
    assert!(
        sent[0].text.contains("We want to move two data centres"),
        "the inquiry itself is in the mail"
    );
    let _ = inquiries;
}

struct BrokenBlobs;

#[async_trait::async_trait]
impl backend_core::ports::blob::BlobStore for BrokenBlobs {
    async fn put(
        &self,
        _: &str,
        _: backend_core::ports::blob::Blob,
    ) -> Result<(), backend_core::ports::blob::BlobError> {
        Err(backend_core::ports::blob::BlobError::Unavailable(
            "disk full".into(),
        ))
    }
    async fn get(
        &self,
        _: &str,
    ) -> Result<Option<backend_core::ports::blob::Blob>, backend_core::ports::blob::BlobError> {
        Ok(None)
    }
    async fn delete_folder(&self, _: &str) -> Result<usize, backend_core::ports::blob::BlobError> {
        Ok(0)
    }
}
