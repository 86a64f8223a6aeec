//! The function binaries as built, under the Lambda Runtime Interface Emulator (the
//! one `sam local invoke` runs), fed every file in `events/`, with their AWS
//! adapters aimed at moto.

use backend_core::ports::QueueName;
use std::collections::BTreeMap;
use std::time::Duration;
use system_tests::{
    auth_env, aws_env, aws_resources, built_binary, event, event_with_token, json, workspace_root,
    Rie, Value, ADMIN_PASSWORD,
};

/// Every public-api event and the status it must answer. A file in
/// `events/public-api/` missing here fails the test, so none goes unchecked.
const PUBLIC_API: &[(&str, u16, Option<&str>)] = &[
    ("health.json", 200, None),
    ("services.json", 200, None),
    ("openapi.json", 200, None),
    ("create-inquiry.json", 201, None),
    ("create-inquiry-invalid.json", 400, Some("VALIDATION_ERROR")),
    (
        "create-inquiry-malformed-json.json",
        400,
        Some("INVALID_JSON"),
    ),
    (
        "create-inquiry-wrong-content-type.json",
        415,
        Some("UNSUPPORTED_MEDIA_TYPE"),
    ),
    (
        "create-inquiry-too-large.json",
        413,
        Some("PAYLOAD_TOO_LARGE"),
    ),
    ("unknown-route.json", 404, Some("NOT_FOUND")),
];

/// Every admin-api event and the status it must answer (`{{ADMIN_TOKEN}}` in a
/// file is replaced by a token from `login.json`).
const ADMIN_API: &[(&str, u16, Option<&str>)] = &[
    ("login.json", 200, None),
    ("login-wrong-password.json", 401, Some("UNAUTHORIZED")),
    ("list-inquiries.json", 200, None),
    (
        "list-inquiries-repeated-filter.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("list-inquiries-no-token.json", 401, Some("UNAUTHORIZED")),
    (
        "list-inquiries-expired-token.json",
        401,
        Some("UNAUTHORIZED"),
    ),
    ("get-inquiry-unknown.json", 404, Some("NOT_FOUND")),
    (
        "change-status-invalid-body.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("admin-inquiries.json", 200, None),
    ("admin-metrics.json", 200, None),
    (
        "admin-metrics-bad-range.json",
        400,
        Some("INVALID_TIME_RANGE"),
    ),
    ("prometheus-metrics.json", 200, None),
    ("chat-ask.json", 200, None),
    ("chat-messages.json", 200, None),
    ("chat-sessions.json", 200, None),
    (
        "chat-session-create-invalid.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("chat-health.json", 200, None),
];

fn event_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("events").join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn public_api_answers_every_event() {
    let mut listed: Vec<String> = PUBLIC_API.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(
        event_files("public-api"),
        listed,
        "events/public-api and this table must match"
    );

    let res = aws_resources().await;
    let rie = Rie::start(&built_binary("public-api"), &aws_env(&res));
    let mut created = None;
    for (file, want, code) in PUBLIC_API {
        let out = rie.invoke(&event(&format!("public-api/{file}"))).await;
        let status = out["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("{file}: no statusCode in {out}\n{}", rie.log_text()));
        let body: Value =
            serde_json::from_str(out["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(
            status,
            u64::from(*want),
            "{file}: {body}\n{}",
            rie.log_text()
        );
        if let Some(code) = code {
            assert_eq!(body["code"], *code, "{file}");
            assert_eq!(body["success"], false);
        }
        if *file == "create-inquiry.json" {
            assert_eq!(out["headers"]["x-correlation-id"], "sam-local-corr-1");
            created = Some(body["data"]["id"].as_str().unwrap().to_string());
        }
        if *file == "health.json" {
            assert_eq!(body["checks"], json!({"store": "ok", "queue": "ok"}));
        }
    }

    // The inquiry is really in DynamoDB and its event in SQS.
    let adapters = backend_aws::connect_with(&system_tests::sdk_config().await, &res);
    let id = created.unwrap();
    let item = adapters
        .store
        .get(&format!("INQ#{id}"), "INQUIRY")
        .await
        .unwrap()
        .expect("stored in DynamoDB");
    assert_eq!(item.data["email"], "jane@example.com");
    let msgs = adapters
        .queue
        .receive(QueueName::Events, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        msgs.iter().any(|m| m.body.contains(&id)),
        "event queued in SQS"
    );
    assert!(
        rie.log_text().contains("INIT REPORT") || rie.log_text().contains("Init Duration"),
        "{}",
        rie.log_text()
    );
}

#[tokio::test]
async fn public_api_refuses_to_start_without_configuration() {
    let rie = Rie::start(
        &built_binary("public-api"),
        &[("AWS_REGION", "us-east-1".to_string())],
    );
    let (status, _) = rie.invoke_raw(&event("public-api/health.json")).await;
    assert_eq!(status, 502, "the init fails, so no invocation is served");
    let log = rie.log_text();
    assert!(
        log.contains(
            "missing environment variables: TABLE_NAME, REPORTS_QUEUE_URL, EVENTS_QUEUE_URL"
        ),
        "the init log names everything that is missing:\n{log}"
    );
}

#[tokio::test]
async fn outbox_relay_sends_what_the_api_could_not() {
    let res = aws_resources().await;
    let sdk = system_tests::sdk_config().await;
    let adapters = backend_aws::connect_with(&sdk, &res);
    // An inquiry written while the queue was unreachable: its outbox entries remain.
    let flaky = system_tests::FlakyQueue::new(adapters.queue.clone());
    let deps = backend_core::app::Deps::new(
        backend_core::ports::Adapters {
            store: adapters.store.clone(),
            queue: flaky,
            blobs: adapters.blobs.clone(),
        },
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    // Backdated so the relay's grace period is over.
    let past = backend_core::ports::clock::FixedClock(time_minutes_ago(5));
    let deps = backend_core::app::Deps {
        clock: std::sync::Arc::new(past),
        ..deps
    };
    let out = backend_core::app::InquiryService::new(deps)
        .submit(&system_tests::inquiry_body(), None, "c")
        .await
        .unwrap();
    let id = out.inquiry.id.to_string();
    // Stored as before the index was keyed by status: the run moves it.
    system_tests::move_to_legacy_partition(&*adapters.store, &id).await;

    let rie = Rie::start(&built_binary("outbox-relay"), &aws_env(&res));
    let answer = rie.invoke(&event("outbox-relay/schedule.json")).await;
    assert_eq!(
        answer,
        json!({"sent": 2, "reindexed": 1}),
        "{}",
        rie.log_text()
    );
    assert_eq!(
        system_tests::index_partition(&*adapters.store, &id)
            .await
            .as_deref(),
        Some("INQUIRIES#pending")
    );
    for q in QueueName::ALL {
        let msgs = adapters
            .queue
            .receive(q, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(msgs.iter().any(|m| m.body.contains(&id)), "{q:?}");
    }
    assert_eq!(
        rie.invoke(&event("outbox-relay/schedule.json")).await,
        json!({"sent": 0, "reindexed": 0})
    );
}

/// Stores an inquiry through the use case and returns its id and the event body
/// that reached `queue`, as a function would receive it.
async fn queued_inquiry(
    adapters: &backend_core::ports::Adapters,
    queue: QueueName,
) -> (String, String) {
    let deps = backend_core::app::Deps::new(
        adapters.clone(),
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    let out = backend_core::app::InquiryService::new(deps)
        .submit(&system_tests::inquiry_body(), None, "c")
        .await
        .unwrap();
    let got = adapters
        .queue
        .receive(queue, 10, Duration::from_secs(60))
        .await
        .unwrap();
    (out.inquiry.id.to_string(), got[0].body.clone())
}

fn time_minutes_ago(m: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() - time::Duration::minutes(m)
}

#[test]
fn every_event_directory_has_a_test() {
    let dirs: BTreeMap<String, usize> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let n = event_files(&name).len();
            (name, n)
        })
        .collect();
    assert_eq!(
        dirs.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "admin-api",
            "chat-ws",
            "notify-worker",
            "outbox-relay",
            "public-api",
            "report-worker"
        ]
    );
}

#[tokio::test]
async fn admin_api_answers_every_event() {
    let mut listed: Vec<String> = ADMIN_API.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(
        event_files("admin-api"),
        listed,
        "events/admin-api and this table must match"
    );

    let res = aws_resources().await;
    let mut env = aws_env(&res);
    env.extend(auth_env());
    let rie = Rie::start(&built_binary("admin-api"), &env);
    let login = rie.invoke(&event("admin-api/login.json")).await;
    let login_body: Value = serde_json::from_str(login["body"].as_str().unwrap_or("null")).unwrap();
    let token = login_body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}\n{}", rie.log_text()))
        .to_string();

    for (file, want, code) in ADMIN_API {
        let out = rie
            .invoke(&event_with_token(&format!("admin-api/{file}"), &token))
            .await;
        let status = out["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("{file}: {out}\n{}", rie.log_text()));
        let text = out["body"].as_str().unwrap_or_default();
        assert_eq!(
            status,
            u64::from(*want),
            "{file}: {text}\n{}",
            rie.log_text()
        );
        if let Some(code) = code {
            let body: Value = serde_json::from_str(text).unwrap();
            assert_eq!(body["code"], *code, "{file}");
        }
        if *file == "list-inquiries-repeated-filter.json" {
            let body: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                body["details"]["fields"]["status"], "is given more than once",
                "{text}"
            );
        }
        if *file == "prometheus-metrics.json" {
            assert!(text.contains("http_requests_total"), "{text}");
        }
        if *file == "chat-messages.json" {
            let body: Value = serde_json::from_str(text).unwrap();
            let roles: Vec<&str> = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["role"].as_str().unwrap())
                .collect();
            assert_eq!(roles, ["user", "assistant"], "chat-ask.json's turn: {text}");
        }
    }
    let log = rie.log_text();
    assert!(
        log.contains("\"audit\":true") && log.contains("auth.login"),
        "sign-ins are audited:\n{log}"
    );
    assert!(
        log.contains("\"_aws\"") && log.contains("CloudWatchMetrics"),
        "EMF lines are written in Lambda"
    );
    assert!(
        !log.contains(ADMIN_PASSWORD)
            && !log.contains(system_tests::JWT_SECRET)
            && !log.contains(&token),
        "no secret in any log line"
    );
}

#[tokio::test]
async fn admin_api_refuses_to_start_without_a_signing_secret_and_an_admin() {
    let res = aws_resources().await;
    let mut env = aws_env(&res);
    env.push(("JWT_SECRET", "too-short".into()));
    env.push(("ADMIN_USERS", "[]".into()));
    let rie = Rie::start(&built_binary("admin-api"), &env);
    let (status, _) = rie.invoke_raw(&event("admin-api/login.json")).await;
    assert_eq!(status, 502);
    assert!(
        rie.log_text()
            .contains("JWT_SECRET is invalid: must be at least 32 bytes"),
        "{}",
        rie.log_text()
    );
    drop(rie);

    let mut env = aws_env(&res);
    env.push(("JWT_SECRET", "s".repeat(40)));
    env.push(("ADMIN_USERS", "[]".into()));
    let rie = Rie::start(&built_binary("admin-api"), &env);
    assert_eq!(rie.invoke_raw(&event("admin-api/login.json")).await.0, 502);
    assert!(
        rie.log_text()
            .contains("ADMIN_USERS is invalid: names no admin"),
        "{}",
        rie.log_text()
    );
}

/// The report worker as built: a real `inquiry_created` event (its body put into
/// the event file) yields a report in S3 and DynamoDB; a poison record in the same
/// batch is the only failure reported back; a redelivery makes no second report.
#[tokio::test]
async fn report_worker_handles_batches_with_partial_failures() {
    let res = aws_resources().await;
    let sdk = system_tests::sdk_config().await;
    let adapters = backend_aws::connect_with(&sdk, &res);
    let (inquiry_id, body) = queued_inquiry(&adapters, QueueName::Reports).await;

    let rie = Rie::start(&built_binary("report-worker"), &aws_env(&res));
    for file in event_files("report-worker") {
        let mut ev = event(&format!("report-worker/{file}"));
        ev["Records"][0]["body"] = Value::String(body.clone());
        let answer = rie.invoke(&ev).await;
        let failures: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: {answer}\n{}", rie.log_text()))
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = if file == "batch-with-poison.json" {
            vec!["poison-1"]
        } else {
            vec![]
        };
        assert_eq!(failures, want, "{file}\n{}", rie.log_text());
    }
    let deps = backend_core::app::Deps::new(
        adapters.clone(),
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    let reports = backend_core::app::reports::ReportService::new(
        deps,
        adapters.blobs.clone().unwrap(),
        std::sync::Arc::new(backend_core::app::drafting::Drafter::template_only()),
    );
    let id = backend_core::domain::InquiryId::parse(&inquiry_id).unwrap();
    let stored = reports.for_inquiry(&id).await.unwrap();
    assert_eq!(stored.len(), 1, "one report although the event came twice");
    assert_eq!(stored[0].generated_by, "template");
    let html = reports.html(&stored[0]).await.unwrap();
    assert!(html.contains("<h1>"), "the HTML page is in S3");
    let md = adapters
        .blobs
        .as_ref()
        .unwrap()
        .get(&stored[0].s3_key)
        .await
        .unwrap()
        .expect("Markdown in S3");
    assert_eq!(md.content_type, "text/markdown; charset=utf-8");
    let events = adapters
        .queue
        .receive(QueueName::Events, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|d| d.body.contains("report_generated"))
            .count(),
        1
    );
}

/// The notify worker as built: an inquiry's confirmation e-mail through SES (read
/// back from moto) and its Slack message reach their targets once, however often
/// the event is delivered; a report event e-mails the consultants; the Slack URL,
/// on loopback, is refused by the SSRF guard.
#[tokio::test]
async fn notify_worker_sends_each_notification_once() {
    let res = aws_resources().await;
    let sdk = system_tests::sdk_config().await;
    let sender = format!(
        "no-reply-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let adapters = backend_aws::connect_with(&sdk, &res);
    let (inquiry_id, created) = queued_inquiry(&adapters, QueueName::Events).await;

    let (slack, slack_url) = system_tests::receiver::receiver(0).await;
    let mut env = aws_env(&res);
    env.push(("MAIL_FROM", sender.clone()));
    env.push((
        "CONSULTANT_EMAILS",
        r#"{"default": ["ops@example.com"]}"#.into(),
    ));
    env.push(("SLACK_WEBHOOK_URL", slack_url));
    let rie = Rie::start(&built_binary("notify-worker"), &env);

    let mut listed: Vec<String> = event_files("notify-worker");
    listed.sort();
    assert_eq!(listed, ["inquiry-created.json", "report-generated.json"]);
    let mut ev = event("notify-worker/inquiry-created.json");
    ev["Records"][0]["body"] = Value::String(created);
    for _ in 0..2 {
        let answer = rie.invoke(&ev).await;
        assert_eq!(
            answer["batchItemFailures"],
            json!([]),
            "{answer}\n{}",
            rie.log_text()
        );
    }
    let mut ev = event("notify-worker/report-generated.json");
    let mut body: Value = serde_json::from_str(ev["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["inquiry_id"] = Value::String(inquiry_id.clone());
    ev["Records"][0]["body"] = Value::String(body.to_string());
    let answer = rie.invoke(&ev).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "{answer}\n{}",
        rie.log_text()
    );

    let mails: Vec<String> = system_tests::moto_sent_mail()
        .await
        .into_iter()
        .filter(|m| m.contains(&sender))
        .collect();
    assert_eq!(
        mails.len(),
        2,
        "one confirmation and one consultant e-mail: {mails:#?}"
    );
    assert!(mails
        .iter()
        .any(|m| m.contains("jane@example.com") && m.contains(&inquiry_id)));
    assert!(mails.iter().any(|m| m.contains("ops@example.com")));
    // Outside the dev server the SSRF guard refuses a loopback Slack URL; the
    // refusal is recorded as failed, not retried, and nothing reaches the receiver.
    assert_eq!(slack.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// The connection id the `events/chat-ws` files carry.
const CHAT_CONNECTION: &str = "Xk1abcDEFgoCJQ=";

/// A token signed as the functions' test configuration signs them.
async fn admin_token() -> String {
    use backend_core::app::auth::Authenticator;
    let deps = backend_core::app::Deps::new(
        system_tests::embedded_adapters(),
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    let auth = Authenticator::new(system_tests::auth_config(), deps);
    auth.login(system_tests::ADMIN_USER, ADMIN_PASSWORD, "tests")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .token
}

#[tokio::test]
async fn chat_ws_handles_every_route_and_streams_through_connections() {
    use system_tests::bedrock_stub::{self, Mode, STREAM_PIECES};
    use system_tests::connections_stub;
    assert_eq!(
        event_files("chat-ws"),
        [
            "connect-bad-token.json",
            "connect-no-token.json",
            "connect.json",
            "disconnect.json",
            "heartbeat.json",
            "malformed-frame.json",
            "message-invalid.json",
            "message.json"
        ],
        "events/chat-ws and this test must match"
    );
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let res = aws_resources().await;
    let connections = connections_stub::Stub::start().await;
    let bedrock = bedrock_stub::start(Mode::Ok).await;
    let mut env = aws_env(&res);
    env.extend(auth_env());
    env.push(("CHAT_CALLBACK_URL", connections.callback_url.clone()));
    env.push(("BEDROCK_MODEL_ID", model.into()));
    env.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.endpoint.clone()));
    let rie = Rie::start(&built_binary("chat-ws"), &env);
    let token = admin_token().await;
    let invoke = |file: &str| {
        let e = event_with_token(&format!("chat-ws/{file}"), &token);
        let rie = &rie;
        async move {
            let out = rie.invoke(&e).await;
            out["statusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("{out}\n{}", rie.log_text()))
        }
    };
    let store = backend_aws::connect_with(&system_tests::sdk_config().await, &res).store;
    let stored = || {
        let store = store.clone();
        async move {
            store
                .get(&format!("CONN#{CHAT_CONNECTION}"), "CONN")
                .await
                .unwrap()
                .is_some()
        }
    };

    // Refused before anything is stored.
    assert_eq!(invoke("connect-no-token.json").await, 401);
    assert_eq!(invoke("connect-bad-token.json").await, 401);
    assert!(!stored().await);
    assert_eq!(invoke("connect.json").await, 200, "{}", rie.log_text());
    assert!(stored().await, "the connection is remembered");
    connections.open(CHAT_CONNECTION);

    assert_eq!(invoke("heartbeat.json").await, 200);
    let frames = connections.frames(CHAT_CONNECTION);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "heartbeat");
    connections.clear(CHAT_CONNECTION);

    assert_eq!(invoke("message.json").await, 200);
    let frames = connections.frames(CHAT_CONNECTION);
    let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ack", "chunk", "chunk", "chunk", "chunk", "message"],
        "{frames:?}\n{}",
        rie.log_text()
    );
    assert_eq!(frames[0]["message_id"], "client-msg-1");
    let session = frames[0]["session_id"].as_str().unwrap().to_string();
    let chunks: Vec<&str> = frames[1..5]
        .iter()
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    assert_eq!(chunks, STREAM_PIECES, "Bedrock's deltas, in order");
    assert_eq!(frames[5]["content"], STREAM_PIECES.concat());
    assert_eq!(frames[5]["metadata"]["generated_by"], model);
    assert_eq!(frames[5]["session_id"], session.as_str());
    let messages = store
        .query(
            &backend_core::ports::Query::table(format!("CHAT#{session}"))
                .range(backend_core::ports::SkRange::Prefix("MSG#".into())),
        )
        .await
        .unwrap();
    assert_eq!(messages.items.len(), 2, "both messages stored in DynamoDB");
    connections.clear(CHAT_CONNECTION);

    for (file, code) in [
        ("message-invalid.json", "VALIDATION_ERROR"),
        ("malformed-frame.json", "INVALID_FRAME"),
    ] {
        assert_eq!(invoke(file).await, 200);
        let frames = connections.frames(CHAT_CONNECTION);
        assert_eq!(frames.len(), 1, "{file}: {frames:?}");
        assert_eq!(frames[0]["type"], "error");
        assert_eq!(frames[0]["metadata"]["code"], code, "{file}");
        connections.clear(CHAT_CONNECTION);
    }

    assert_eq!(invoke("disconnect.json").await, 200);
    assert!(!stored().await, "$disconnect forgets the connection");

    // A client that vanished without a $disconnect: the 410 removes it.
    assert_eq!(invoke("connect.json").await, 200);
    connections.close(CHAT_CONNECTION);
    assert_eq!(invoke("message.json").await, 200);
    assert!(!stored().await, "a 410 Gone forgets the connection");
    let log = rie.log_text();
    assert!(!log.contains(&token) && !log.contains(system_tests::JWT_SECRET));
}
