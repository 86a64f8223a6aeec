//! Erasure of a prospect's personal data, on the dev server over SQLite and over
//! the AWS adapters on moto: after an inquiry went through the whole pipeline (its
//! submission under an idempotency key, its report, both e-mails, a hook's e-mail,
//! a chat about it), erasing it leaves none of the prospect's values in the data
//! directory (database file, its write-ahead log, report files, the mail outbox),
//! nor in the emulator's table and bucket (every version of every object); an event
//! of an erased inquiry still on a queue is dropped, not delivered; nothing is
//! written of an inquiry while its erasure is under way.

use super::{files_text, session_about, until};
use backend_core::app::erasure::{Erasure, ErasureReason};
use system_tests::{json, json_of, TestApp, Value};

/// Runs the whole pipeline for one prospect, erases the inquiry and returns the
/// prospect's values with the erasure's answer; `held` reads everything the
/// backend's stores hold, as text.
async fn pipeline_then_erase<F, Fut>(app: &TestApp, held: F) -> (Vec<String>, Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let token = app.token().await;
    let p = system_tests::prospect();
    let values = system_tests::personal_values(&p);
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
    until(
        "the confirmation, the hook's e-mail and the consultants' e-mail",
        || {
            std::fs::read_dir(&outbox)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(&about))
                .count()
                >= 3
        },
    )
    .await;
    // Each e-mail's record follows its sending: the export is read once all three are
    // recorded.
    let export = format!("/api/v1/admin/inquiries/{id}/export");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, bundle) = app.admin_json(&export, &token).await;
        let recorded = bundle["data"]["notifications"]
            .as_array()
            .map_or(0, |n| n.len());
        if recorded >= 3 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sid = session_about(app, &token, &id).await;
    let question = format!("What do we propose to {}?", values[0]);
    let (status, answer) = app.ask_chat(&token, &sid, &question).await;
    assert_eq!(status, 200, "{answer}");

    let before = held().await;
    for v in &values {
        assert!(before.contains(v.as_str()), "the search finds {v:?} before");
    }
    let (status, bundle) = app.admin_json(&export, &token).await;
    assert_eq!(status, 200, "{bundle}");
    assert_exported(&bundle["data"], &p, &question);

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
        export,
        format!("/api/v1/inquiries/{id}"),
        format!("/api/v1/inquiries/{id}/report"),
        format!("/api/v1/admin/chat/sessions/{sid}"),
    ] {
        let (status, v) = app.admin_json(&gone, &token).await;
        assert_eq!(status, 404, "{gone}: {v}");
    }
    let (status, refused) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &token,
            &json!({"client_name": "Erasmus", "context": {"inquiry_id": id}}),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("CONFLICT")),
        "no session about an erased inquiry: {refused}"
    );
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

/// The export of the pipeline's inquiry holds every value the prospect gave, its
/// report, both e-mails (to whom, what, when) and the chat that names it.
fn assert_exported(bundle: &Value, p: &Value, question: &str) {
    let text = bundle.to_string();
    for v in system_tests::personal_values(p) {
        assert!(text.contains(&v), "the export holds {v:?}: {text}");
    }
    assert_eq!(bundle["inquiry"]["email"], p["email"]);
    assert_eq!(bundle["reports"].as_array().unwrap().len(), 1, "{text}");
    assert!(bundle["reports"][0]["content"].as_str().unwrap().len() > 100);
    let mails: Vec<&Value> = bundle["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["channel"] == "email" && n["status"] == "sent")
        .collect();
    assert_eq!(
        mails.len(),
        3,
        "the confirmation, the hook's, the consultants': {text}"
    );
    assert!(
        mails.iter().any(|n| n["action"] == "hook:sales-desk"),
        "the hook's delivery: {text}"
    );
    let to_prospect = mails
        .iter()
        .find(|n| n["recipients"] == json!([p["email"]]))
        .unwrap_or_else(|| panic!("the confirmation to the prospect: {text}"));
    assert!(to_prospect["subject"]
        .as_str()
        .unwrap()
        .contains("We received your inquiry"));
    assert!(to_prospect["at"].as_str().is_some());
    let chats = bundle["chat_sessions"].as_array().unwrap();
    assert_eq!(chats.len(), 1, "{text}");
    assert_eq!(chats[0]["messages"].as_array().unwrap().len(), 2);
    assert_eq!(chats[0]["messages"][0]["content"], question);
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
    assert_eq!(removed["mail_copies"], 3, "{erased}");
    assert!(removed["records"].as_u64().unwrap() >= 7, "{erased}");
    let text = erased.to_string();
    assert!(
        !text.contains("Quintessa") && !text.contains("erasmus-holdings"),
        "{text}"
    );
}

/// The pipeline's hook: every new inquiry is e-mailed to the sales desk.
fn with_a_hook(cfg: &mut devserver::Config) {
    cfg.notify.hooks = backend_core::domain::hook::parse_hooks(
        r#"[{"id": "sales-desk", "name": "Sales desk", "event": "inquiry_created",
             "action": {"type": "email", "to": ["sales@example.com"]}}]"#,
    )
    .expect("a valid hook");
}

#[tokio::test]
async fn an_erased_inquiry_leaves_nothing_in_the_dev_servers_data_directory() {
    let app = system_tests::spawn_app_with(with_a_hook).await;
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
        with_a_hook,
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
    let clock = std::sync::Arc::new(backend_core::ports::SystemClock);
    let (_, id) = system_tests::submitted_prospect(&adapters, clock).await;
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

    let (_, mailer) = both_workers_drop(&deps, &adapters, &reports_queue, &events_queue).await;
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

/// An erasure that died after writing its fence (the pending audit record): while
/// the fence stands, the report worker writes no report and the notifier sends and
/// records nothing for the inquiry; the next erasure finishes the job.
#[tokio::test]
async fn nothing_is_written_of_an_inquiry_while_its_erasure_is_under_way() {
    use backend_core::app::records;
    use backend_core::ports::{Condition, Item, WriteOp};
    let adapters = system_tests::embedded_adapters();
    let clock = std::sync::Arc::new(backend_core::ports::SystemClock);
    let deps = backend_core::app::Deps::new(adapters.clone(), clock.clone());
    let (_, id) = system_tests::submitted_prospect(&adapters, clock).await;
    let reports_queue =
        system_tests::queued(&adapters, backend_core::ports::QueueName::Reports).await;
    let events_queue =
        system_tests::queued(&adapters, backend_core::ports::QueueName::Events).await;
    let fence = Item::new(
        records::erasure_pk(&id),
        records::ERASURE_SK,
        json!({"pending": true}),
    );
    adapters
        .store
        .write(vec![WriteOp::Put {
            item: fence,
            condition: Condition::NotExists,
        }])
        .await
        .unwrap();

    let (reports, mailer) =
        both_workers_drop(&deps, &adapters, &reports_queue, &events_queue).await;
    assert!(mailer.sent.lock().unwrap().is_empty());
    assert!(
        reports.for_inquiry(&id).await.unwrap().is_empty(),
        "no report"
    );

    let erasure = Erasure::new(deps, adapters.blobs.clone(), None);
    assert_eq!(erasure.record(&id).await.unwrap(), None, "not finished yet");
    let reason = ErasureReason::parse("asked to be forgotten").unwrap();
    let erased = erasure.erase(&id, "consultant", &reason).await.unwrap();
    assert_eq!(erasure.record(&id).await.unwrap(), Some(erased));
    let left = adapters
        .store
        .query(&backend_core::ports::Query::table(records::inquiry_pk(&id)))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "{:?}", left.items);
}

/// The report worker and the notifier, given the inquiry's two queued events, drop
/// both; returns the report service and the notifier's mailer for further checks.
async fn both_workers_drop(
    deps: &backend_core::app::Deps,
    adapters: &backend_core::ports::Adapters,
    reports_queue: &[backend_core::ports::Delivery],
    events_queue: &[backend_core::ports::Delivery],
) -> (
    backend_core::app::reports::ReportService,
    std::sync::Arc<system_tests::RecordingMailer>,
) {
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
    (reports, mailer)
}
