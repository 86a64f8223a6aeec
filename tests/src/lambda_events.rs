//! What every file in `events/` must make each function do, however the function is
//! run: the function binaries as built under the RIE (`lambda_rie`) and the named
//! handlers called in-process (`lambda_handlers`) both feed every event through the
//! same tables and checks here, so one table drives both runs. A file in
//! `events/<function>/` missing from its table fails either run.
//!
//! Each function has a rig: `new()` makes its fresh moto resources (and stubs, and
//! whatever the events need already stored), `env()` is the environment the function
//! runs with, and `check(&dyn Invoke)` feeds it every event and asserts what must
//! come back and what must have happened.

use super::*;
use backend_core::ports::QueueName;

/// One way of running a function: an event in, the JSON Lambda would answer out.
#[async_trait]
pub trait Invoke: Send + Sync {
    async fn invoke(&self, event: &Value) -> Value;
    /// What the function has logged, for failure messages (empty if not captured).
    fn log(&self) -> String;
}

#[async_trait]
impl Invoke for Rie {
    async fn invoke(&self, event: &Value) -> Value {
        Rie::invoke(self, event).await
    }
    fn log(&self) -> String {
        self.log_text()
    }
}

/// The functions, each with a directory in `events/`.
pub const FUNCTIONS: [&str; 6] = [
    "admin-api",
    "chat-ws",
    "notify-worker",
    "outbox-relay",
    "public-api",
    "report-worker",
];

/// The file names in `events/<dir>/`, sorted.
pub fn event_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("events").join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Fails unless `events/<dir>/` holds exactly the files `listed`.
fn assert_table_matches<'a>(dir: &str, listed: impl IntoIterator<Item = &'a str>) {
    let mut listed: Vec<String> = listed.into_iter().map(str::to_string).collect();
    listed.sort();
    assert_eq!(
        event_files(dir),
        listed,
        "events/{dir} and its table must match"
    );
}

// ---- public-api ---------------------------------------------------------------------

/// Every public-api event and the status it must answer, with the error code if it
/// is an error.
pub const PUBLIC_API: &[(&str, u16, Option<&str>)] = &[
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

pub struct PublicApi {
    pub res: AwsResources,
}

impl PublicApi {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    /// Every event answers as `PUBLIC_API` says; the created inquiry is really in
    /// DynamoDB and its event in SQS.
    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("public-api", PUBLIC_API.iter().map(|c| c.0));
        let mut created = None;
        for (file, want, code) in PUBLIC_API {
            let out = f.invoke(&event(&format!("public-api/{file}"))).await;
            let status = out["statusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: no statusCode in {out}\n{}", f.log()));
            let body: Value =
                serde_json::from_str(out["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
            assert_eq!(status, u64::from(*want), "{file}: {body}\n{}", f.log());
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
        let adapters = backend_aws::connect_polling(&sdk_config().await, &self.res);
        let id = created.unwrap();
        let item = adapters
            .store
            .get(&format!("INQ#{id}"), "INQUIRY")
            .await
            .unwrap()
            .expect("stored in DynamoDB");
        assert_eq!(item.data["email"], "jane@example.com");
        // Through the table's stream, as the relay function sends it.
        let msgs = queued(&adapters, QueueName::Events).await;
        assert!(
            msgs.iter().any(|m| m.body.contains(&id)),
            "event queued in SQS"
        );
    }
}

// ---- admin-api ----------------------------------------------------------------------

/// Every admin-api event and the status it must answer (`{{ADMIN_TOKEN}}` in a
/// file is replaced by a token from `login.json`).
pub const ADMIN_API: &[(&str, u16, Option<&str>)] = &[
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

pub struct AdminApi {
    pub res: AwsResources,
}

impl AdminApi {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.extend(auth_env());
        env
    }

    /// Signs in with `login.json`, then every event answers as `ADMIN_API` says.
    /// Returns the token, for the caller's checks that none is logged.
    pub async fn check(&self, f: &dyn Invoke) -> String {
        assert_table_matches("admin-api", ADMIN_API.iter().map(|c| c.0));
        let login = f.invoke(&event("admin-api/login.json")).await;
        let login_body: Value =
            serde_json::from_str(login["body"].as_str().unwrap_or("null")).unwrap();
        let token = login_body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{login}\n{}", f.log()))
            .to_string();

        for (file, want, code) in ADMIN_API {
            let out = f
                .invoke(&event_with_token(&format!("admin-api/{file}"), &token))
                .await;
            let status = out["statusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: {out}\n{}", f.log()));
            let text = out["body"].as_str().unwrap_or_default();
            assert_eq!(status, u64::from(*want), "{file}: {text}\n{}", f.log());
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
                let roles = crate::roles(&body);
                assert_eq!(roles, ["user", "assistant"], "chat-ask.json's turn: {text}");
            }
        }
        token
    }
}

// ---- report-worker ------------------------------------------------------------------

/// Every report-worker event (its record's body replaced by a real
/// `inquiry_created` event) and the message ids it must report as failed, in the
/// order they are delivered.
pub const REPORT_WORKER: &[(&str, &[&str])] = &[
    ("batch-with-poison.json", &["poison-1"]),
    ("inquiry-created.json", &[]),
];

/// A real `inquiry_created` event yields a report in S3 and DynamoDB; a poison record
/// in the same batch is the only failure reported back; a redelivery makes no second
/// report.
pub struct ReportWorker {
    pub res: AwsResources,
    adapters: Adapters,
    inquiry_id: String,
    body: String,
}

impl ReportWorker {
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let adapters = backend_aws::connect_polling(&sdk_config().await, &res);
        let (inquiry_id, body) = queued_inquiry(&adapters, QueueName::Reports).await;
        Self {
            res,
            adapters,
            inquiry_id,
            body,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("report-worker", REPORT_WORKER.iter().map(|c| c.0));
        for (file, want) in REPORT_WORKER {
            let mut ev = event(&format!("report-worker/{file}"));
            ev["Records"][0]["body"] = Value::String(self.body.clone());
            let answer = f.invoke(&ev).await;
            let failures: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: {answer}\n{}", f.log()))
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            assert_eq!(failures, *want, "{file}\n{}", f.log());
        }
        let adapters = &self.adapters;
        let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
        let reports = backend_core::app::reports::ReportService::new(
            deps,
            adapters.blobs.clone().unwrap(),
            Arc::new(backend_core::app::drafting::Drafter::template_only()),
        );
        let id = backend_core::domain::InquiryId::parse(&self.inquiry_id).unwrap();
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
        let events = queued(adapters, QueueName::Events).await;
        assert_eq!(
            events
                .iter()
                .filter(|d| d.body.contains("report_generated"))
                .count(),
            1
        );
    }
}

// ---- notify-worker ------------------------------------------------------------------

/// Every notify-worker event and how often it is delivered; none may report a
/// failed message. `inquiry-created.json` carries a real `inquiry_created` event,
/// `report-generated.json` names that inquiry.
pub const NOTIFY_WORKER: &[(&str, usize)] =
    &[("inquiry-created.json", 2), ("report-generated.json", 1)];

/// An inquiry's confirmation e-mail through SES (read back from moto) and its Slack
/// message reach their targets once, however often the event is delivered; a report
/// event e-mails the consultants; the Slack URL, on loopback, is refused by the SSRF
/// guard.
pub struct NotifyWorker {
    pub res: AwsResources,
    sender: String,
    inquiry_id: String,
    created: String,
    slack: receiver::Receiver,
    slack_url: String,
}

impl NotifyWorker {
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let sdk = sdk_config().await;
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
        let adapters = backend_aws::connect_polling(&sdk, &res);
        let (inquiry_id, created) = queued_inquiry(&adapters, QueueName::Events).await;
        let (slack, slack_url) = receiver::receiver(0).await;
        Self {
            res,
            sender,
            inquiry_id,
            created,
            slack,
            slack_url,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.push(("MAIL_FROM", self.sender.clone()));
        env.push((
            "CONSULTANT_EMAILS",
            r#"{"default": ["ops@example.com"]}"#.into(),
        ));
        env.push(("SLACK_WEBHOOK_URL", self.slack_url.clone()));
        env
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("notify-worker", NOTIFY_WORKER.iter().map(|c| c.0));
        for (file, deliveries) in NOTIFY_WORKER {
            let mut ev = event(&format!("notify-worker/{file}"));
            match *file {
                "inquiry-created.json" => {
                    ev["Records"][0]["body"] = Value::String(self.created.clone());
                }
                "report-generated.json" => {
                    let mut body: Value =
                        serde_json::from_str(ev["Records"][0]["body"].as_str().unwrap()).unwrap();
                    body["inquiry_id"] = Value::String(self.inquiry_id.clone());
                    ev["Records"][0]["body"] = Value::String(body.to_string());
                }
                other => panic!("{other}: no body for this event"),
            }
            for _ in 0..*deliveries {
                let answer = f.invoke(&ev).await;
                assert_eq!(
                    answer["batchItemFailures"],
                    json!([]),
                    "{file}: {answer}\n{}",
                    f.log()
                );
            }
        }

        let mails: Vec<String> = moto_sent_mail()
            .await
            .into_iter()
            .filter(|m| m.contains(&self.sender))
            .collect();
        assert_eq!(
            mails.len(),
            2,
            "one confirmation and one consultant e-mail: {mails:#?}"
        );
        assert!(mails
            .iter()
            .any(|m| m.contains("jane@example.com") && m.contains(&self.inquiry_id)));
        assert!(mails.iter().any(|m| m.contains("ops@example.com")));
        // Outside the dev server the SSRF guard refuses a loopback Slack URL; the
        // refusal is recorded as failed, not retried, and nothing reaches the receiver.
        assert_eq!(self.slack.calls.load(Ordering::SeqCst), 0);
    }
}

// ---- outbox-relay -------------------------------------------------------------------

/// Each stream event, and how many of its records are entries sent to each queue
/// (reports, events): a removal (an entry's expiry) sends nothing.
pub const OUTBOX_RELAY: &[(&str, [usize; 2])] = &[("stream.json", [1, 1])];

pub struct OutboxRelay {
    pub res: AwsResources,
    adapters: Adapters,
    inquiry_id: String,
}

impl OutboxRelay {
    /// An inquiry stored as before the index was keyed by status and before the
    /// counts: the relay's backfill batch moves and counts it.
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let adapters = backend_aws::connect_with(&sdk_config().await, &res);
        let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
        let out = backend_core::app::InquiryService::new(deps)
            .submit(&inquiry_body(), None, "c")
            .await
            .unwrap();
        let inquiry_id = out.inquiry.id.to_string();
        move_to_legacy_partition(&*adapters.store, &inquiry_id).await;
        Self {
            res,
            adapters,
            inquiry_id,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("outbox-relay", OUTBOX_RELAY.iter().map(|c| c.0));
        for (file, per_queue) in OUTBOX_RELAY {
            let ev = event(&format!("outbox-relay/{file}"));
            let answer = f.invoke(&ev).await;
            assert_eq!(
                answer,
                json!({"batchItemFailures": []}),
                "{file}\n{}",
                f.log()
            );
            let ids: Vec<String> = ev["Records"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["dynamodb"]["NewImage"]["data"]["S"].as_str())
                .map(|d| {
                    serde_json::from_str::<Value>(d).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            for (q, want) in QueueName::ALL.into_iter().zip(per_queue) {
                let msgs = self
                    .adapters
                    .queue
                    .receive(q, 10, Duration::from_secs(30))
                    .await
                    .unwrap();
                let relayed = msgs.iter().filter(|m| ids.contains(&m.id)).count();
                assert_eq!(relayed, *want, "{file}: {q:?}\n{}", f.log());
            }
        }
        // The backfill batch after the relay moved the old inquiry.
        assert_eq!(
            index_partition(&*self.adapters.store, &self.inquiry_id)
                .await
                .as_deref(),
            Some("INQUIRIES#pending")
        );
    }
}

// ---- chat-ws ------------------------------------------------------------------------

/// The connection id the `events/chat-ws` files carry.
pub const CHAT_CONNECTION: &str = "Xk1abcDEFgoCJQ=";

/// The Bedrock model the chat-ws run names, answered by the Bedrock stub.
pub const CHAT_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// Every chat-ws event, in the order the scenario in `ChatWs::check` sends them, and
/// the status each answers (a frame's outcome is pushed; the checks follow the
/// pushes).
pub const CHAT_WS: &[(&str, i64)] = &[
    ("connect-no-token.json", 401),
    ("connect-bad-token.json", 401),
    ("connect.json", 200),
    ("heartbeat.json", 200),
    ("message.json", 200),
    ("message-invalid.json", 200),
    ("malformed-frame.json", 200),
    ("disconnect.json", 200),
];

/// A token signed as the functions' test configuration signs them.
pub async fn admin_token() -> String {
    use backend_core::app::auth::Authenticator;
    let deps = backend_core::app::Deps::new(embedded_adapters(), Arc::new(SystemClock));
    let auth = Authenticator::new(auth_config(), deps);
    auth.login(ADMIN_USER, ADMIN_PASSWORD, "tests")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .token
}

/// Every route: refused and accepted `$connect`s, frames answered through
/// `@connections` (streamed from the Bedrock stub), `$disconnect`, and a client that
/// vanished (410 Gone) forgotten.
pub struct ChatWs {
    pub res: AwsResources,
    pub connections: connections_stub::Stub,
    pub bedrock: bedrock_stub::Stub,
    pub token: String,
}

impl ChatWs {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
            connections: connections_stub::Stub::start().await,
            bedrock: bedrock_stub::start(bedrock_stub::Mode::Ok).await,
            token: admin_token().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.extend(auth_env());
        env.push(("CHAT_CALLBACK_URL", self.connections.callback_url.clone()));
        env.push(("BEDROCK_MODEL_ID", CHAT_MODEL.into()));
        env.push((
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
            self.bedrock.endpoint.clone(),
        ));
        env
    }

    pub async fn check(&self, f: &dyn Invoke) {
        use bedrock_stub::STREAM_PIECES;
        assert_table_matches("chat-ws", CHAT_WS.iter().map(|c| c.0));
        let status = |file: &str| {
            CHAT_WS
                .iter()
                .find(|c| c.0 == file)
                .unwrap_or_else(|| panic!("{file} is not in CHAT_WS"))
                .1
        };
        let invoke = |file: &'static str| {
            let e = event_with_token(&format!("chat-ws/{file}"), &self.token);
            async move {
                let out = f.invoke(&e).await;
                let got = out["statusCode"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{file}: {out}\n{}", f.log()));
                assert_eq!(got, status(file), "{file}\n{}", f.log());
            }
        };
        let connections = &self.connections;
        let store = backend_aws::connect_with(&sdk_config().await, &self.res).store;
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
        invoke("connect-no-token.json").await;
        invoke("connect-bad-token.json").await;
        assert!(!stored().await);
        invoke("connect.json").await;
        assert!(stored().await, "the connection is remembered");
        connections.open(CHAT_CONNECTION);

        invoke("heartbeat.json").await;
        let frames = connections.frames(CHAT_CONNECTION);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "heartbeat");
        connections.clear(CHAT_CONNECTION);

        invoke("message.json").await;
        let frames = connections.frames(CHAT_CONNECTION);
        let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ack", "chunk", "chunk", "chunk", "chunk", "message"],
            "{frames:?}\n{}",
            f.log()
        );
        assert_eq!(frames[0]["message_id"], "client-msg-1");
        let session = frames[0]["session_id"].as_str().unwrap().to_string();
        let chunks: Vec<&str> = frames[1..5]
            .iter()
            .map(|f| f["content"].as_str().unwrap())
            .collect();
        assert_eq!(chunks, STREAM_PIECES, "Bedrock's deltas, in order");
        assert_eq!(frames[5]["content"], STREAM_PIECES.concat());
        assert_eq!(frames[5]["metadata"]["generated_by"], CHAT_MODEL);
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
            invoke(file).await;
            let frames = connections.frames(CHAT_CONNECTION);
            assert_eq!(frames.len(), 1, "{file}: {frames:?}");
            assert_eq!(frames[0]["type"], "error");
            assert_eq!(frames[0]["metadata"]["code"], code, "{file}");
            connections.clear(CHAT_CONNECTION);
        }

        invoke("disconnect.json").await;
        assert!(!stored().await, "$disconnect forgets the connection");

        // A client that vanished without a $disconnect: the 410 removes it.
        invoke("connect.json").await;
        connections.close(CHAT_CONNECTION);
        invoke("message.json").await;
        assert!(!stored().await, "a 410 Gone forgets the connection");
    }
}

// ---- shared setup -------------------------------------------------------------------

/// Stores an inquiry through the use case and returns its id and the event body
/// that reached `queue`, as a function would receive it.
pub async fn queued_inquiry(adapters: &Adapters, queue: QueueName) -> (String, String) {
    let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
    let out = backend_core::app::InquiryService::new(deps)
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let got = queued(adapters, queue).await;
    (out.inquiry.id.to_string(), got[0].body.clone())
}
