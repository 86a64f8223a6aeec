//! Helpers for the black-box tests, so each test reads as what it checks:
//! `spawn_app` starts the dev server on a random port and returns a client;
//! `aws` provisions a fresh table and queues in the emulator; `Rie` runs a built
//! Lambda binary under the Runtime Interface Emulator.
//!
//! Tools the tests need (moto, the RIE) are installed and started by the README's
//! test command; a test that needs one fails, never skips, when it is missing.

use async_trait::async_trait;
use backend_aws::AwsResources;
use backend_core::ports::Adapters;
use backend_core::ports::{Delivery, Message, Queue, QueueError, QueueName, SystemClock};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use serde_json::{json, Value};

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A running dev server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    server: Option<devserver::Server>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

/// Starts the dev server on the embedded adapters in a fresh data directory.
pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_in(dir.path().to_path_buf(), None, Some(dir)).await
}

/// Starts the dev server with its test configuration changed by `change`.
pub async fn spawn_app_with(change: impl FnOnce(&mut devserver::Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut cfg = devserver::Config::for_tests(dir.path().to_path_buf(), auth_config());
    change(&mut cfg);
    start_app(cfg, None, Some(dir)).await
}

async fn start_app(
    cfg: devserver::Config,
    adapters: Option<Adapters>,
    keep: Option<Arc<tempfile::TempDir>>,
) -> TestApp {
    let data_dir = cfg.data_dir.clone();
    let server = devserver::start_with(cfg, adapters, Arc::new(SystemClock))
        .await
        .expect("dev server starts");
    TestApp {
        base: format!("http://{}", server.addr),
        client: reqwest::Client::new(),
        data_dir,
        server: Some(server),
        _dir: keep,
    }
}

/// Starts the dev server on `data_dir`, with the given adapters if any.
pub async fn spawn_app_in(
    data_dir: PathBuf,
    adapters: Option<Adapters>,
    keep: Option<Arc<tempfile::TempDir>>,
) -> TestApp {
    start_app(
        devserver::Config::for_tests(data_dir, auth_config()),
        adapters,
        keep,
    )
    .await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestApp {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        spawn_app_in(self.data_dir.clone(), None, self._dir.take()).await
    }

    pub async fn stop(mut self) -> (PathBuf, Option<Arc<tempfile::TempDir>>) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        (self.data_dir.clone(), self._dir.take())
    }
}

/// The mails the dev server left in `dir` as `.eml` files, in name order.
pub fn eml_files(dir: &Path) -> Vec<String> {
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

/// Scrapes `/api/v1/metrics` with a real exposition-format parser.
pub async fn scrape(app: &TestApp, token: &str) -> prometheus_parse::Scrape {
    let text = app
        .admin_get("/api/v1/metrics", token)
        .await
        .text()
        .await
        .expect("metrics text");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition format")
}

/// The value of the first sample of `metric` carrying all of `labels`.
pub fn sample(
    scrape: &prometheus_parse::Scrape,
    metric: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// Reads a JSON response, failing with its text when it is not JSON.
pub async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body read");
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

/// A valid web-form body.
pub fn inquiry_body() -> Value {
    json!({
        "name": "Jane Doe",
        "email": "jane@example.com",
        "company": "Acme",
        "phone": "+1 555 0100",
        "services": ["migration"],
        "message": "We want to move two data centres to AWS next year.",
        "source": "contact_form"
    })
}

// ---- admin sign-in -----------------------------------------------------------------

pub const ADMIN_USER: &str = "consultant";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// The signing secret of test servers, for forging tokens in auth tests.
pub const JWT_SECRET: &str = "test-signing-secret-that-is-at-least-32-bytes";

/// Hashing is slow by design: hash the test password once per test binary.
fn admin_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| backend_core::app::auth::hash_password(ADMIN_PASSWORD))
}

/// The variables that configure admin sign-in for the test admin.
pub fn auth_env() -> Vec<(&'static str, String)> {
    let users = json!([{"username": ADMIN_USER, "password_hash": admin_hash()}]).to_string();
    vec![
        ("JWT_SECRET", JWT_SECRET.to_string()),
        ("ADMIN_USERS", users),
    ]
}

pub fn auth_config() -> backend_core::app::auth::AuthConfig {
    let env = auth_env();
    let settings = backend_config::Settings::from_lookup(
        |k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()),
        &[backend_config::Part::Auth],
    )
    .expect("test auth configuration is valid");
    settings.auth.expect("sign-in is configured")
}

impl TestApp {
    /// Signs in as the test admin and returns the bearer token.
    pub async fn token(&self) -> String {
        let body = json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD});
        let (status, v) = json_of(self.post_json("/api/v1/auth/login", &body).await).await;
        assert_eq!(status, 200, "login failed: {v}");
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn admin_get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// An admin GET, answered as (status, JSON body).
    pub async fn admin_json(&self, path: &str, token: &str) -> (u16, Value) {
        json_of(self.admin_get(path, token).await).await
    }

    pub async fn admin_post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn admin_put(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }
}

// ---- the AWS emulator -------------------------------------------------------

/// The moto endpoint the test command started.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: the AWS emulator is not running. Run the README's test command (make test).")
    })
}

/// The raw messages moto's SES has accepted, each as its JSON record. Moto builds
/// this listing from live objects and can fail while other tests change them, so a
/// failed read is retried.
pub async fn moto_sent_mail() -> Vec<String> {
    let url = format!("{}/moto-api/data.json", moto_endpoint());
    for _ in 0..20 {
        if let Ok(resp) = reqwest::get(&url).await {
            if let Ok(data) = resp.json::<Value>().await {
                return data["ses"]
                    .as_object()
                    .map(|o| {
                        o.values()
                            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| m.to_string())
                    .filter(|m| m.contains("raw_data"))
                    .collect();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto's data listing did not answer");
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// A fresh table and queues with unique names, so tests never share state.
pub async fn aws_resources() -> AwsResources {
    let sdk = sdk_config().await;
    let name = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
    backend_aws::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &name)
        .await
        .expect("table created in moto");
    let queues = backend_aws::provision::create_queues(
        &aws_sdk_sqs::Client::new(&sdk),
        &name,
        backend_core::ports::queue::MAX_RECEIVES,
    )
    .await
    .expect("queues created in moto");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    backend_aws::provision::create_bucket(&s3, &name)
        .await
        .expect("bucket created in moto");
    AwsResources {
        table_name: name.clone(),
        queues,
        bucket: Some(name),
    }
}

pub async fn aws_adapters() -> Adapters {
    backend_aws::connect_with(&sdk_config().await, &aws_resources().await)
}

/// Embedded adapters on an in-memory database, blobs in a fresh temporary folder
/// (left for the OS to clean, as the adapters may outlive any guard here).
pub fn embedded_adapters() -> Adapters {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    backend_embedded::in_memory(&dir).expect("in-memory database")
}

/// Puts a stored inquiry back where every inquiry sat before the index was keyed by
/// status (the one `INQUIRIES` partition), as data written then looks. Its version
/// moves on, as any write's does.
pub async fn move_to_legacy_partition(store: &dyn backend_core::ports::ItemStore, id: &str) {
    use backend_core::ports::{Condition, WriteOp};
    let mut item = store
        .get(&format!("INQ#{id}"), "INQUIRY")
        .await
        .unwrap()
        .expect("inquiry stored");
    let version = item.version;
    item.gsi1pk = Some("INQUIRIES".into());
    item.version = version + 1;
    store
        .write(vec![WriteOp::Put {
            item,
            condition: Condition::Version(version),
        }])
        .await
        .unwrap();
}

/// The index partition a stored inquiry sits in.
pub async fn index_partition(
    store: &dyn backend_core::ports::ItemStore,
    id: &str,
) -> Option<String> {
    store
        .get(&format!("INQ#{id}"), "INQUIRY")
        .await
        .unwrap()
        .and_then(|item| item.gsi1pk)
}

// ---- test doubles -------------------------------------------------------------

/// A queue whose sends fail while `failing` is set: the fault the outbox exists for.
pub struct FlakyQueue {
    pub inner: Arc<dyn Queue>,
    pub failing: AtomicBool,
}

impl FlakyQueue {
    pub fn new(inner: Arc<dyn Queue>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing: AtomicBool::new(true),
        })
    }

    pub fn heal(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl Queue for FlakyQueue {
    async fn send(&self, queue: QueueName, msg: &Message) -> Result<(), QueueError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("injected send failure".into()));
        }
        self.inner.send(queue, msg).await
    }
    async fn receive(
        &self,
        q: QueueName,
        max: usize,
        vis: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.inner.receive(q, max, vis).await
    }
    async fn ack(&self, q: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(q, receipt).await
    }
    async fn dead_letters(&self, q: QueueName) -> Result<Vec<Message>, QueueError> {
        self.inner.dead_letters(q).await
    }
    async fn dead_letter_count(&self, q: QueueName) -> Result<usize, QueueError> {
        self.inner.dead_letter_count(q).await
    }
    async fn ping(&self) -> Result<(), QueueError> {
        self.inner.ping().await
    }
}

use backend_core::ports::mail::{Mail, MailError, Mailer};

/// A mailer that records what it sent, failing as told.
#[derive(Default)]
pub struct RecordingMailer {
    pub sent: std::sync::Mutex<Vec<Mail>>,
    pub fail_next: std::sync::Mutex<Option<MailError>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if let Some(e) = self.fail_next.lock().unwrap().take() {
            return Err(e);
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

// ---- the Lambda Runtime Interface Emulator -------------------------------------

/// The RIE binary from the aws-sam-cli package in the project's virtualenv.
pub fn rie_binary() -> PathBuf {
    if let Ok(p) = std::env::var("RIE_BIN") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/lib");
    let found = std::fs::read_dir(&venv).ok().and_then(|mut d| {
        d.find_map(|e| {
            let p = e
                .ok()?
                .path()
                .join("site-packages/samcli/local/rapid/aws-lambda-rie-x86_64");
            p.exists().then_some(p)
        })
    });
    found.unwrap_or_else(|| {
        panic!("the Lambda RIE is not installed: run the README's test command (make test)")
    })
}

/// A function binary as `cargo build` left it.
pub fn built_binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let p = target.join("debug").join(name);
    assert!(
        p.exists(),
        "{} is not built: run the README's test command (make test)",
        p.display()
    );
    p
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A function binary running under the RIE, stopped on drop.
pub struct Rie {
    child: Child,
    pub invoke_url: String,
    pub log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Rie {
    pub fn start(binary: &Path, env: &[(&str, String)]) -> Rie {
        let (api, rapi) = (free_port(), free_port());
        let log_dir = tempfile::tempdir().expect("temp dir");
        let log = log_dir.path().join("rie.log");
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(rie_binary());
        cmd.arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{api}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{rapi}"))
            .arg(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_FUNCTION_NAME",
                binary.file_name().unwrap_or_default(),
            )
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "10")
            .stdout(Stdio::from(out.try_clone().expect("log handle")))
            .stderr(Stdio::from(out));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("RIE starts");
        Rie {
            child,
            invoke_url: format!("http://127.0.0.1:{api}/2015-03-31/functions/function/invocations"),
            log,
            _log_dir: log_dir,
        }
    }

    /// Invokes the function with an event and returns what it answered.
    pub async fn invoke(&self, event: &Value) -> Value {
        let (status, text) = self.invoke_raw(event).await;
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "RIE answered {status}, not JSON ({e}): {text}\nlog:\n{}",
                self.log_text()
            )
        })
    }

    /// The emulator's HTTP status and body for one invocation.
    pub async fn invoke_raw(&self, event: &Value) -> (u16, String) {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match client.post(&self.invoke_url).json(event).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    return (status, r.text().await.expect("RIE answer"));
                }
                // The emulator may not be listening yet.
                Err(e) if std::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("RIE did not answer: {e}\nlog:\n{}", self.log_text()),
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment a function needs to reach the emulator's resources.
pub fn aws_env(res: &AwsResources) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("TABLE_NAME", res.table_name.clone()),
        ("REPORTS_QUEUE_URL", res.queues.reports.clone()),
        ("EVENTS_QUEUE_URL", res.queues.events.clone()),
        ("REPORTS_BUCKET", res.bucket.clone().unwrap_or_default()),
        ("LOG_LEVEL", "info".into()),
    ]
}

/// Reads one event file from `events/`.
pub fn event(path: &str) -> Value {
    event_with_token(path, "")
}

/// Reads an event file, putting `token` where it says `{{ADMIN_TOKEN}}`.
pub fn event_with_token(path: &str, token: &str) -> Value {
    let p = workspace_root().join("events").join(path);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text.replace("{{ADMIN_TOKEN}}", token))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A local stand-in for the Bedrock Runtime Converse API, for the real SDK client.
pub mod bedrock_stub {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use futures::StreamExt;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Clone, Copy)]
    pub enum Mode {
        Ok,
        Throttled,
        ServerError,
        Slow,
        Refused,
        Malformed,
        NoText,
        /// ConverseStream only: one piece, then a `modelStreamErrorException` event.
        StreamBreaks,
    }

    /// The pieces a streamed answer arrives in, in order.
    pub const STREAM_PIECES: [&str; 4] = [
        "Based on the inquiry, ",
        "start with a discovery workshop, ",
        "then a migration readiness assessment.\n",
        "Streamed by the stub.",
    ];

    /// One event-stream message, encoded as the service sends it.
    fn event(kind: &str, exception: bool, payload: Value) -> bytes::Bytes {
        use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
        let (message_type, type_header) = if exception {
            ("exception", ":exception-type")
        } else {
            ("event", ":event-type")
        };
        let msg = Message::new(payload.to_string().into_bytes())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String(message_type.into()),
            ))
            .add_header(Header::new(
                type_header,
                HeaderValue::String(kind.to_string().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
        let mut buf = Vec::new();
        aws_smithy_eventstream::frame::write_message_to(&msg, &mut buf).unwrap();
        buf.into()
    }

    async fn converse_stream(
        State(s): State<Stub>,
        Path(model): Path<String>,
        Json(body): Json<Value>,
    ) -> Response {
        s.seen.lock().unwrap().push((model, body));
        let mut events = vec![event("messageStart", false, json!({"role": "assistant"}))];
        match s.mode {
            Mode::Ok => {
                for p in STREAM_PIECES {
                    events.push(event(
                        "contentBlockDelta",
                        false,
                        json!({"contentBlockIndex": 0, "delta": {"text": p}}),
                    ));
                }
                events.push(event(
                    "contentBlockStop",
                    false,
                    json!({"contentBlockIndex": 0}),
                ));
                events.push(event(
                    "messageStop",
                    false,
                    json!({"stopReason": "end_turn"}),
                ));
                events.push(event(
                    "metadata",
                    false,
                    json!({"usage": {"inputTokens": 10, "outputTokens": 12, "totalTokens": 22}, "metrics": {"latencyMs": 5}}),
                ));
            }
            Mode::StreamBreaks => {
                events.push(event(
                    "contentBlockDelta",
                    false,
                    json!({"contentBlockIndex": 0, "delta": {"text": STREAM_PIECES[0]}}),
                ));
                events.push(event(
                    "modelStreamErrorException",
                    true,
                    json!({"message": "stub stream broke"}),
                ));
            }
            Mode::Throttled => return err(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException"),
            Mode::ServerError => {
                return err(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException")
            }
            _ => return err(StatusCode::BAD_REQUEST, "ValidationException"),
        }
        // Sent a frame at a time, as the service does while the model writes.
        let frames = futures::stream::iter(events).then(|e| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, std::convert::Infallible>(e)
        });
        (
            StatusCode::OK,
            [("content-type", "application/vnd.amazon.eventstream")],
            axum::body::Body::from_stream(frames),
        )
            .into_response()
    }

    #[derive(Clone)]
    pub struct Stub {
        mode: Mode,
        /// Every request: (model id, JSON body).
        pub seen: Arc<Mutex<Vec<(String, Value)>>>,
        pub endpoint: String,
    }

    /// A service error as Bedrock answers one.
    fn err(code: StatusCode, kind: &str) -> Response {
        (
            code,
            [("x-amzn-errortype", kind.to_string())],
            Json(json!({"message": format!("stub {kind}")})),
        )
            .into_response()
    }

    async fn converse(
        State(s): State<Stub>,
        Path(model): Path<String>,
        Json(body): Json<Value>,
    ) -> Response {
        s.seen.lock().unwrap().push((model, body));
        match s.mode {
            Mode::Ok => Json(json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "## Executive summary\n"}, {"text": "Drafted by the stub."}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                "metrics": {"latencyMs": 3}
            }))
            .into_response(),
            Mode::Throttled => err(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException"),
            Mode::ServerError => err(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
            Mode::Refused | Mode::StreamBreaks => {
                err(StatusCode::BAD_REQUEST, "ValidationException")
            }
            Mode::Slow => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                StatusCode::OK.into_response()
            }
            Mode::Malformed => (StatusCode::OK, [("content-type", "application/json")], "{\"output\": [truncated").into_response(),
            Mode::NoText => Json(json!({
                "output": {"message": {"role": "assistant", "content": []}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1, "outputTokens": 0, "totalTokens": 1},
                "metrics": {"latencyMs": 1}
            }))
            .into_response(),
        }
    }

    /// Starts a stub answering as `mode` says, on a free loopback port.
    pub async fn start(mode: Mode) -> Stub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Stub {
            mode,
            seen: Arc::default(),
            endpoint: format!("http://{addr}"),
        };
        let app = Router::new()
            .route("/model/{model}/converse", post(converse))
            .route("/model/{model}/converse-stream", post(converse_stream))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        state
    }

    impl Stub {
        /// An SDK configuration aimed at this stub.
        pub async fn sdk_config(&self) -> aws_config::SdkConfig {
            super::local_sdk_config(&self.endpoint).await
        }
    }
}

/// A local HTTP receiver for Slack and webhook calls, counting what arrives.
pub mod receiver {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;
    use axum::Router;
    use serde_json::Value;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    /// One call's headers: (lower-case name, value).
    pub type Headers = Vec<(String, String)>;

    #[derive(Clone, Default)]
    pub struct Receiver {
        pub calls: Arc<AtomicU32>,
        /// Answer 503 to this many calls first.
        pub fail_first: Arc<AtomicU32>,
        pub bodies: Arc<Mutex<Vec<Value>>>,
        /// Headers of each successful call, lower-case names.
        pub headers: Arc<Mutex<Vec<Headers>>>,
        /// Raw bodies of each successful call, as signed.
        pub raw: Arc<Mutex<Vec<String>>>,
    }

    async fn slack_hook(
        State(r): State<Receiver>,
        headers: axum::http::HeaderMap,
        raw: String,
    ) -> StatusCode {
        let Ok(body) = serde_json::from_str::<Value>(&raw) else {
            return StatusCode::BAD_REQUEST;
        };
        r.calls.fetch_add(1, Ordering::SeqCst);
        if r.fail_first.load(Ordering::SeqCst) > 0 {
            r.fail_first.fetch_sub(1, Ordering::SeqCst);
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        r.bodies.lock().unwrap().push(body);
        r.raw.lock().unwrap().push(raw);
        r.headers.lock().unwrap().push(
            headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        );
        StatusCode::OK
    }

    /// Starts a receiver at `/hook` on a free loopback port; returns it and its URL.
    pub async fn receiver(fail_first: u32) -> (Receiver, String) {
        let r = Receiver {
            fail_first: Arc::new(AtomicU32::new(fail_first)),
            ..Default::default()
        };
        let app = Router::new()
            .route("/hook", post(slack_hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }
}

/// An SDK configuration aimed at a local stub, with test credentials.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// A local stand-in for API Gateway's `@connections` endpoint: a push to an open
/// connection is recorded, to any other answers 410 Gone as the service does.
pub mod connections_stub {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::{json, Value};
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub struct Stub {
        open: Arc<Mutex<HashSet<String>>>,
        /// Frames received, per connection, in order.
        frames: Arc<Mutex<HashMap<String, Vec<String>>>>,
        /// The stage prefix every push came with.
        pub stages: Arc<Mutex<Vec<String>>>,
        /// `http://127.0.0.1:port/<stage>`, what `CHAT_CALLBACK_URL` would be.
        pub callback_url: String,
    }

    async fn push(
        State(s): State<Stub>,
        Path((stage, id)): Path<(String, String)>,
        body: String,
    ) -> Response {
        s.stages.lock().unwrap().push(stage);
        if !s.open.lock().unwrap().contains(&id) {
            return (
                StatusCode::GONE,
                [("x-amzn-errortype", "GoneException")],
                Json(json!({"message": "Gone"})),
            )
                .into_response();
        }
        s.frames.lock().unwrap().entry(id).or_default().push(body);
        StatusCode::OK.into_response()
    }

    impl Stub {
        pub async fn start() -> Stub {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let stub = Stub {
                callback_url: format!("http://{}/dev", listener.local_addr().unwrap()),
                ..Default::default()
            };
            let app = Router::new()
                .route("/{stage}/@connections/{id}", post(push))
                .with_state(stub.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            stub
        }

        pub fn open(&self, id: &str) {
            self.open.lock().unwrap().insert(id.to_string());
        }

        pub fn close(&self, id: &str) {
            self.open.lock().unwrap().remove(id);
        }

        /// The frames a connection received, as JSON.
        pub fn frames(&self, id: &str) -> Vec<Value> {
            self.raw(id)
                .iter()
                .map(|f| serde_json::from_str(f).unwrap_or(Value::String(f.clone())))
                .collect()
        }

        pub fn raw(&self, id: &str) -> Vec<String> {
            self.frames
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .unwrap_or_default()
        }

        pub fn clear(&self, id: &str) {
            self.frames.lock().unwrap().remove(id);
        }
    }
}

/// A WebSocket client for the dev server's chat socket.
pub mod ws {
    use futures::{SinkExt, StreamExt};
    use serde_json::Value;
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::Message;

    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    pub struct Client {
        socket: Socket,
    }

    /// One answer as the socket delivered it.
    #[derive(Debug)]
    pub struct Answer {
        pub ack: Value,
        pub chunks: Vec<Value>,
        /// The `message` frame, or the `error` frame that ended the turn.
        pub last: Value,
    }

    impl Answer {
        /// The session the server put the question in, from its `ack`.
        pub fn session(&self) -> String {
            self.ack["session_id"].as_str().unwrap().to_string()
        }

        /// The whole answer, from the final `message` frame.
        pub fn text(&self) -> &str {
            self.last["content"].as_str().unwrap()
        }

        pub fn streamed_text(&self) -> String {
            self.chunks
                .iter()
                .map(|c| c["content"].as_str().unwrap_or_default())
                .collect()
        }
    }

    /// The chat socket's URL on a dev server at `base` (`http://…`).
    pub fn url(base: &str, token: Option<&str>) -> String {
        let ws = base.replacen("http://", "ws://", 1);
        match token {
            Some(t) => format!("{ws}/api/v1/admin/chat/ws?token={t}"),
            None => format!("{ws}/api/v1/admin/chat/ws"),
        }
    }

    /// Opens the socket, or answers the HTTP status and body of the refusal.
    pub async fn connect(base: &str, token: Option<&str>) -> Result<Client, (u16, Value)> {
        match tokio_tungstenite::connect_async(url(base, token)).await {
            Ok((socket, _)) => Ok(Client { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let body = resp
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err((resp.status().as_u16(), body))
            }
            Err(e) => panic!("chat socket did not answer: {e}"),
        }
    }

    impl Client {
        pub async fn send(&mut self, frame: &Value) {
            self.send_text(&frame.to_string()).await
        }

        pub async fn send_text(&mut self, text: &str) {
            self.socket
                .send(Message::Text(text.to_string().into()))
                .await
                .expect("frame sent");
        }

        pub async fn send_binary(&mut self, bytes: &[u8]) {
            self.socket
                .send(Message::Binary(bytes.to_vec().into()))
                .await
                .expect("frame sent");
        }

        /// The next text frame, as JSON; fails the test after 10 s of silence.
        pub async fn next(&mut self) -> Value {
            loop {
                let msg = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                    .await
                    .expect("a frame within 10 s")
                    .expect("socket open")
                    .expect("frame readable");
                match msg {
                    Message::Text(t) => {
                        return serde_json::from_str(t.as_str()).expect("JSON frame")
                    }
                    Message::Close(c) => panic!("socket closed: {c:?}"),
                    _ => continue,
                }
            }
        }

        /// Sends a question and reads the ack, the chunks and the final frame.
        pub async fn ask(&mut self, frame: &Value) -> Answer {
            self.send(frame).await;
            let ack = self.next().await;
            if ack["type"] == "error" {
                return Answer {
                    ack: Value::Null,
                    chunks: vec![],
                    last: ack,
                };
            }
            assert_eq!(ack["type"], "ack", "{ack}");
            let mut chunks = Vec::new();
            loop {
                let f = self.next().await;
                match f["type"].as_str() {
                    Some("chunk") => chunks.push(f),
                    _ => {
                        return Answer {
                            ack,
                            chunks,
                            last: f,
                        }
                    }
                }
            }
        }

        pub async fn close(mut self) {
            let _ = self.socket.close(None).await;
        }
    }
}
