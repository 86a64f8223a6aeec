//! Erasure of a prospect's personal data, on the dev server over SQLite and over
//! the AWS adapters on moto: after an inquiry went through the whole pipeline (its
//! submission under an idempotency key, its report, both e-mails, a chat about it),
//! erasing it leaves none of the prospect's values in the data directory (database
//! file, its write-ahead log, report files, the mail outbox), nor in the emulator's
//! table and bucket (every version of every object); and an event of an erased
//! inquiry still on a queue is dropped, not delivered.

use backend_core::app::erasure::{Erasure, ErasureReason};
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::{json, json_of, TestApp, Value};

/// A submission whose every value is found nowhere else, so a search for it finds
/// only what the system kept of it.
fn prospect() -> Value {
    let tag = ulid::Ulid::new().to_string().to_lowercase();
    json!({
        "name": format!("Quintessa Erasmus {}", &tag[20..]),
        "email": format!("quintessa.{}@erasmus-holdings.example", &tag[16..]),
        "company": format!("Erasmus Holdings {}", &tag[18..]),
        "phone": "+44 20 7946 0999",
        "services": ["migration"],
        "message": format!("Please migrate our bespoke mainframes by the Vltava ({tag})."),
        "source": "contact_form"
    })
}

/// The values a search must not find after the erasure.
fn personal_values(p: &Value) -> Vec<String> {
    ["name", "email", "company", "phone", "message"]
        .iter()
        .map(|k| p[k].as_str().unwrap().to_string())
        .collect()
}

/// Every file under `dir`, read as text.
fn files_text(dir: &Path) -> String {
    let mut out = String::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out
}

/// Waits until `done` holds, for up to 15 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the whole pipeline for one prospect, erases the inquiry and returns the
/// prospect's values with the erasure's answer; `held` reads everything the
/// backend's stores hold, as text.
async fn pipeline_then_erase<F, Fut>(app: &TestApp, held: F) -> (Vec<String>, Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let token = app.token().await;
    let p = prospect();
    let values = personal_values(&p);
    let resp = app
        .client
        .post(app.url("/api/v1/inquiries"))
        .header("idempotency-key", format!("erasure-{}", ulid::Ulid::new()))
        .json(&p)
        .send()
        .await
        .unwrap();
    let (status, created) = json_of(resp).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    app.wait_for_report(&token, &id).await;
    let outbox = app.data_dir.join("outbox");
    // Each copy is named after the inquiry it is about.
    let about = format!("-{id}.eml");
    until("the confirmation and the consultants' e-mail", || {
        std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(&about))
            .count()
            >= 2
    })
    .await;
    let (status, session) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &token,
            &json!({"client_name": "Erasmus", "context": {"inquiry_id": id}}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let sid = session["data"]["id"].as_str().unwrap().to_string();
    let question = format!("What do we propose to {}?", values[0]);
    let (status, answer) = app.ask_chat(&token, &sid, &question).await;
    assert_eq!(status, 200, "{answer}");

    let before = held().await;
    for v in &values {
        assert!(before.contains(v.as_str()), "the search finds {v:?} before");
    }

    let path = format!("/api/v1/admin/inquiries/{id}");
    let body = json!({"reason": "The prospect asked to be forgotten."});
    let erase = || async {
        let resp = app
            .client
            .delete(app.url(&path))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        json_of(resp).await
    };
    let (status, erased) = erase().await;
    assert_eq!(status, 200, "{erased}");
    let (status, again) = erase().await;
    assert_eq!(
        (status, &again),
        (200, &erased),
        "erasing twice answers the same"
    );

    for gone in [
        format!("/api/v1/inquiries/{id}"),
        format!("/api/v1/inquiries/{id}/report"),
        format!("/api/v1/admin/chat/sessions/{sid}"),
    ] {
        let (status, v) = app.admin_json(&gone, &token).await;
        assert_eq!(status, 404, "{gone}: {v}");
    }
    let after = held().await;
    for v in &values {
        assert!(!after.contains(v.as_str()), "{v:?} is still held");
    }
    assert!(
        !after.contains(&question),
        "the chat question naming the prospect is still held"
    );
    (values, erased["data"].clone())
}

/// What an erasure of the pipeline's inquiry reports removing, on either backend.
fn assert_removed(erased: &Value) {
    let removed = &erased["removed"];
    assert_eq!(erased["erased_by"], system_tests::ADMIN_USER);
    assert_eq!(erased["reason"], "The prospect asked to be forgotten.");
    assert_eq!(removed["reports"], 1, "{erased}");
    assert_eq!(removed["report_files"], 2, "Markdown and HTML: {erased}");
    assert_eq!(removed["chat_sessions"], 1, "{erased}");
    assert_eq!(
        removed["chat_messages"], 2,
        "the question and its answer: {erased}"
    );
    assert_eq!(removed["idempotency_records"], 1, "{erased}");
    assert_eq!(removed["mail_copies"], 2, "{erased}");
    assert!(removed["records"].as_u64().unwrap() >= 7, "{erased}");
    let text = erased.to_string();
    assert!(
        !text.contains("Quintessa") && !text.contains("erasmus-holdings"),
        "{text}"
    );
}

#[tokio::test]
async fn an_erased_inquiry_leaves_nothing_in_the_dev_servers_data_directory() {
    let app = system_tests::spawn_app().await;
    let dir = app.data_dir.clone();
    let (_, erased) = pipeline_then_erase(&app, || {
        let dir = dir.clone();
        async move { files_text(&dir) }
    })
    .await;
    assert_removed(&erased);
}

#[tokio::test]
async fn an_erased_inquiry_leaves_nothing_in_the_emulators_table_and_bucket() {
    let res = system_tests::aws_resources().await;
    let sdk = system_tests::sdk_config().await;
    let adapters = backend_aws::connect_polling(&sdk, &res);
    let app = system_tests::spawn_app_on(
        adapters,
        std::sync::Arc::new(backend_core::ports::SystemClock),
        |_| {},
    )
    .await;
    let dir = app.data_dir.clone();
    let (_, erased) = pipeline_then_erase(&app, || {
        let (sdk, res, dir) = (sdk.clone(), res.clone(), dir.clone());
        async move {
            let mut text = system_tests::table_text(&sdk, &res.table_name).await;
            text.push_str(&system_tests::bucket_text(&sdk, res.bucket.as_deref().unwrap()).await);
            text.push_str(&files_text(&dir));
            text
        }
    })
    .await;
    assert_removed(&erased);
}

/// An event written before the erasure and delivered after it: the report worker
/// and the notifier drop it, and nothing of the inquiry is written again.
#[tokio::test]
async fn events_of_an_erased_inquiry_are_dropped_not_delivered() {
    let adapters = system_tests::embedded_adapters();
    let deps = backend_core::app::Deps::new(
        adapters.clone(),
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    let inquiries = backend_core::app::InquiryService::new(deps.clone());
    let id = inquiries
        .submit(&prospect(), None, "c")
        .await
        .unwrap()
        .inquiry
        .id;
    system_tests::relay(&adapters).await;
    let reports_queue =
        system_tests::queued(&adapters, backend_core::ports::QueueName::Reports).await;
    let events_queue =
        system_tests::queued(&adapters, backend_core::ports::QueueName::Events).await;
    assert_eq!((reports_queue.len(), events_queue.len()), (1, 1));

    let erasure = Erasure::new(deps.clone(), adapters.blobs.clone(), None);
    let reason = ErasureReason::parse("asked to be forgotten").unwrap();
    let erased = erasure.erase(&id, "consultant", &reason).await.unwrap();
    assert_eq!(erased.removed.reports, 0);

    let reports = backend_core::app::reports::ReportService::new(
        deps.clone(),
        adapters.blobs.clone().unwrap(),
        std::sync::Arc::new(backend_core::app::drafting::Drafter::template_only()),
    );
    assert_eq!(
        reports.handle(&reports_queue[0].body).await.unwrap(),
        backend_core::app::reports::Outcome::Ignored
    );
    let mailer = std::sync::Arc::new(system_tests::RecordingMailer::default());
    let notifier = backend_core::app::notify::Notifier::new(
        deps.clone(),
        mailer.clone(),
        std::sync::Arc::new(backend_net::outbound::ReqwestOutbound::allowing_private()),
        system_tests::notify_config(None),
    );
    assert_eq!(notifier.handle(&events_queue[0].body).await.unwrap(), 0);
    assert!(mailer.sent.lock().unwrap().is_empty(), "no e-mail about it");
    let left = adapters
        .store
        .query(&backend_core::ports::Query::table(format!("INQ#{id}")))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "{:?}", left.items);
    assert_eq!(
        erasure.erase(&id, "someone else", &reason).await.unwrap(),
        erased,
        "the audit record stays as it was"
    );
}

#[tokio::test]
async fn erasure_refuses_what_it_cannot_do() {
    let app = system_tests::spawn_app().await;
    let token = app.token().await;
    let unknown = "/api/v1/admin/inquiries/inq_01aaaaaaaaaaaaaaaaaaaaaaaa";
    let send = |path: &str, token: Option<&str>, body: Value| {
        let mut req = app.client.delete(app.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { json_of(req.send().await.unwrap()).await }
    };
    let reason = json!({"reason": "asked to be forgotten"});
    let (s, v) = send(unknown, Some(&token), reason.clone()).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let (s, v) = send("/api/v1/admin/inquiries/nope", Some(&token), reason.clone()).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let (s, v) = send(unknown, None, reason).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("UNAUTHORIZED")), "{v}");
    for (body, why) in [
        (json!({}), "is required"),
        (json!({"reason": "  "}), "must be 1 to 500 characters"),
        (
            json!({"reason": "x".repeat(501)}),
            "must be 1 to 500 characters",
        ),
        (
            json!({"reason": "bell\u{7}"}),
            "must not contain control characters",
        ),
    ] {
        let (s, v) = send(unknown, Some(&token), body.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{body}"
        );
        assert_eq!(v["details"]["fields"]["reason"], why, "{body}");
    }
}
