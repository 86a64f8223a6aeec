//! Erasure of a prospect's personal data, on the dev server over SQLite and over
//! the AWS adapters on moto: after an inquiry went through the whole pipeline (its
//! submission under an idempotency key, its report, both e-mails, a hook's e-mail,
//! a chat about it),
//! erasing it leaves none of the prospect's values in the data directory (database
//! file, its write-ahead log, report files, the mail outbox), nor in the emulator's
//! table and bucket (every version of every object); and an event of an erased
//! inquiry still on a queue is dropped, not delivered.

use backend_core::app::erasure::{Erasure, ErasureReason};
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::{json, json_of, TestApp, Value};

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
    let sid = session_about(app, &token, &id).await;
    let question = format!("What do we propose to {}?", values[0]);
    let (status, answer) = app.ask_chat(&token, &sid, &question).await;
    assert_eq!(status, 200, "{answer}");

    let before = held().await;
    for v in &values {
        assert!(before.contains(v.as_str()), "the search finds {v:?} before");
    }
    let export = format!("/api/v1/admin/inquiries/{id}/export");
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

/// With `RETENTION_DAYS` set, the dev server's sweep erases a closed inquiry once it
/// has been closed that long, by the erasure's path, and leaves open ones alone.
#[tokio::test]
async fn the_dev_server_erases_closed_inquiries_after_the_retention_period() {
    let clock = system_tests::TestClock::new();
    let app = system_tests::spawn_app_on(system_tests::embedded_adapters(), clock.clone(), |c| {
        c.retention_days = Some(30)
    })
    .await;
    let token = app.token().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, v) = json_of(
            app.post_json("/api/v1/inquiries", &system_tests::prospect())
                .await,
        )
        .await;
        assert_eq!(status, 201, "{v}");
        ids.push(v["data"]["id"].as_str().unwrap().to_string());
    }
    let (closed, open) = (&ids[0], &ids[1]);
    for (id, path) in [
        (
            closed,
            &["processing", "reviewed", "responded", "closed"][..],
        ),
        (open, &["processing", "reviewed", "responded"][..]),
    ] {
        for status in path {
            let resp = app
                .admin_put(
                    &format!("/api/v1/inquiries/{id}/status"),
                    &token,
                    &json!({"status": status}),
                )
                .await;
            assert_eq!(resp.status(), 200, "{id} to {status}");
        }
    }
    let still = |id: String| {
        let app = &app;
        async move {
            let token = app.token().await;
            app.admin_json(&format!("/api/v1/inquiries/{id}"), &token)
                .await
                .0
        }
    };
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(still(closed.clone()).await, 200, "closed 29 days ago: kept");
    clock.advance(Duration::from_secs(2 * 24 * 3600));
    let deadline = Instant::now() + Duration::from_secs(15);
    while still(closed.clone()).await != 404 {
        assert!(
            Instant::now() < deadline,
            "erased within 15 s of becoming due"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(still(open.clone()).await, 200, "an open inquiry is kept");
    let token = app.token().await;
    let (status, record) = erase(&app, &token, closed, "asked again").await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["data"]["erased_by"], "retention");
    assert_eq!(record["data"]["reason"], "closed for more than 30 days");
}

/// One address's inquiries are exported and erased together, whatever case the
/// address was typed in, and another address's stay. An inquiry stored before the
/// address index is filed by the background pass's backfill.
#[tokio::test]
async fn an_addresss_inquiries_are_exported_and_erased_together() {
    use backend_core::app::records;
    use backend_core::domain::{Email, InquiryId};
    use backend_core::ports::{Condition, WriteOp};
    let (adapters, app) = app_and_its_store().await;
    let token = app.token().await;
    let p = system_tests::prospect();
    let address = p["email"].as_str().unwrap().to_string();
    let mut shouted = p.clone();
    shouted["email"] = json!(address.to_uppercase());
    let mut ids = Vec::new();
    for body in [&p, &shouted, &system_tests::prospect()] {
        let (status, v) = json_of(app.post_json("/api/v1/inquiries", body).await).await;
        assert_eq!(status, 201, "{v}");
        ids.push(v["data"]["id"].as_str().unwrap().to_string());
    }
    // The second as if stored before the index, and the backfill to run again.
    let unfiled = records::email_entry(
        &Email::parse(&address.to_uppercase()).unwrap(),
        &InquiryId::parse(&ids[1]).unwrap(),
    );
    let state = (records::EMAIL_BACKFILL_PK, records::EMAIL_BACKFILL_SK);
    adapters
        .store
        .write(vec![
            WriteOp::Delete {
                pk: unfiled.pk,
                sk: unfiled.sk,
                condition: Condition::None,
            },
            WriteOp::Delete {
                pk: state.0.into(),
                sk: state.1.into(),
                condition: Condition::None,
            },
        ])
        .await
        .unwrap();
    let post = |path: &'static str, body: Value| {
        let (app, token) = (&app, &token);
        async move { app.admin_post_json(path, token, &body).await }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let exported = loop {
        let (status, v) = post("/api/v1/admin/exports", json!({"email": address})).await;
        assert_eq!(status, 200, "{v}");
        if v["count"] == 2 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the backfill files the older inquiry: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(exported["more"], false);
    let mut found: Vec<&str> = exported["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["inquiry"]["id"].as_str().unwrap())
        .collect();
    found.sort();
    let mut want = vec![ids[0].as_str(), ids[1].as_str()];
    want.sort();
    assert_eq!(found, want);
    // Pages go on after the last inquiry of the one before.
    let (_, rest) = post(
        "/api/v1/admin/exports",
        json!({"email": address, "after": want[0]}),
    )
    .await;
    assert_eq!(rest["count"], 1, "{rest}");
    assert_eq!(rest["data"][0]["inquiry"]["id"], want[1]);

    let reason = "The prospect asked to be forgotten.";
    let (status, erased) = post(
        "/api/v1/admin/erasures",
        json!({"email": address.to_uppercase(), "reason": reason}),
    )
    .await;
    assert_eq!((status, &erased["count"]), (200, &json!(2)), "{erased}");
    for (id, want) in [(&ids[0], 404), (&ids[1], 404), (&ids[2], 200)] {
        let (status, _) = app
            .admin_json(&format!("/api/v1/inquiries/{id}"), &token)
            .await;
        assert_eq!(status, want, "{id}");
    }
    let (_, again) = post("/api/v1/admin/exports", json!({"email": address})).await;
    assert_eq!(again["count"], 0, "{again}");

    for (path, body, field) in [
        (
            "/api/v1/admin/exports",
            json!({"email": "not an address"}),
            "email",
        ),
        (
            "/api/v1/admin/erasures",
            json!({"email": address}),
            "reason",
        ),
        ("/api/v1/admin/erasures", json!({"reason": reason}), "email"),
    ] {
        let (status, v) = post(path, body).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{v}"
        );
        assert!(v["details"]["fields"][field].is_string(), "{path}: {v}");
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

/// A chat session stored before links existed (here: its link removed) is linked to
/// the inquiry it names by the background pass's backfill, and then erased with it.
#[tokio::test]
async fn a_chat_session_stored_before_links_is_linked_and_erased_with_its_inquiry() {
    use backend_core::app::records;
    use backend_core::ports::{Condition, WriteOp};
    let (adapters, app) = app_and_its_store().await;
    let token = app.token().await;
    let (status, v) = json_of(
        app.post_json("/api/v1/inquiries", &system_tests::prospect())
            .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_string();
    let sid = session_about(&app, &token, &id).await;
    let sid = sid.as_str();
    let inquiry = backend_core::domain::InquiryId::parse(&id).unwrap();
    let link = records::link(
        &inquiry,
        records::LinkKind::ChatSession,
        &records::chat_session_pk(&backend_core::domain::chat::SessionId::parse(sid).unwrap()),
        None,
    );
    let state = (records::EMAIL_BACKFILL_PK, records::EMAIL_BACKFILL_SK);
    let delete = |pk: &str, sk: &str| WriteOp::Delete {
        pk: pk.into(),
        sk: sk.into(),
        condition: Condition::None,
    };
    adapters
        .store
        .write(vec![delete(&link.pk, &link.sk), delete(state.0, state.1)])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while adapters
        .store
        .get(&link.pk, &link.sk)
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the backfill links the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, erased) = erase(&app, &token, &id, "asked to be forgotten").await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["data"]["removed"]["chat_sessions"], 1, "{erased}");
    let (status, _) = app
        .admin_json(&format!("/api/v1/admin/chat/sessions/{sid}"), &token)
        .await;
    assert_eq!(status, 404);
}

/// A dev server on embedded adapters, and the adapters, for a test that reaches into
/// its store.
async fn app_and_its_store() -> (backend_core::ports::Adapters, system_tests::TestApp) {
    let adapters = system_tests::embedded_adapters();
    let clock = std::sync::Arc::new(backend_core::ports::SystemClock);
    let app = system_tests::spawn_app_on(adapters.clone(), clock, |_| {}).await;
    (adapters, app)
}

/// A new chat session whose context names inquiry `id`; its id.
async fn session_about(app: &TestApp, token: &str, id: &str) -> String {
    let (status, session) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            token,
            &json!({"client_name": "Erasmus", "context": {"inquiry_id": id}}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    session["data"]["id"].as_str().unwrap().to_string()
}

/// `DELETE /api/v1/admin/inquiries/{id}` with `reason`, answered as (status, JSON).
async fn erase(app: &TestApp, token: &str, id: &str, reason: &str) -> (u16, Value) {
    let path = format!("/api/v1/admin/inquiries/{id}");
    app.admin_delete_json(&path, token, &json!({"reason": reason}))
        .await
}
