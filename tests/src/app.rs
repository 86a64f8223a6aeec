//! The dev server under test: `spawn_app` starts it on a random port with a fresh
//! data directory and returns a client; sign-in as the test admin; reading answers.

use super::*;

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

/// Starts the dev server on the given adapters and clock, its test configuration
/// changed by `change`.
pub async fn spawn_app_on(
    adapters: Adapters,
    clock: Arc<dyn backend_core::ports::Clock>,
    change: impl FnOnce(&mut devserver::Config),
) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut cfg = devserver::Config::for_tests(dir.path().to_path_buf(), auth_config());
    change(&mut cfg);
    start_on(cfg, Some(adapters), clock, Some(dir)).await
}

async fn start_app(
    cfg: devserver::Config,
    adapters: Option<Adapters>,
    keep: Option<Arc<tempfile::TempDir>>,
) -> TestApp {
    start_on(cfg, adapters, Arc::new(SystemClock), keep).await
}

async fn start_on(
    cfg: devserver::Config,
    adapters: Option<Adapters>,
    clock: Arc<dyn backend_core::ports::Clock>,
    keep: Option<Arc<tempfile::TempDir>>,
) -> TestApp {
    let data_dir = cfg.data_dir.clone();
    let server = devserver::start_with(cfg, adapters, clock)
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
        sent(self.client.get(self.url(path))).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        sent(self.client.post(self.url(path)).json(body)).await
    }

    /// A GET sent by a page at `origin`; `None`, by no browser.
    pub async fn get_from(&self, path: &str, origin: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        sent(request).await
    }

    /// The browser's CORS preflight of the web form's POST, from a page at `origin`.
    pub async fn preflight(&self, origin: &str) -> reqwest::Response {
        let request = self
            .client
            .request(reqwest::Method::OPTIONS, self.url("/api/v1/inquiries"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,idempotency-key",
            );
        sent(request).await
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
        .admin_text("/api/v1/metrics", token, "text/plain; version=0.0.4")
        .await;
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

/// The roles of the turns a Converse request sent the model, in order.
pub fn roles(converse_request: &Value) -> Vec<&str> {
    converse_request["messages"]
        .as_array()
        .expect("a Converse request has messages")
        .iter()
        .map(|m| m["role"].as_str().expect("each turn has a role"))
        .collect()
}

/// Sends a request to the app under test, which always answers.
async fn sent(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("request sent")
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

/// A submission whose every value is found nowhere else, so a search for it finds
/// only what the system kept of it.
pub fn prospect() -> Value {
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
pub fn personal_values(p: &Value) -> Vec<String> {
    ["name", "email", "company", "phone", "message"]
        .iter()
        .map(|k| p[k].as_str().unwrap().to_string())
        .collect()
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
        |k| crate::lookup(&env, k),
        &[backend_config::Part::Auth],
    )
    .expect("test auth configuration is valid");
    settings.auth.expect("sign-in is configured")
}

/// A second admin, for what one admin must not see of another's (same password).
pub const OTHER_ADMIN: &str = "colleague";

/// The test configuration with `OTHER_ADMIN` signed in too.
pub fn with_other_admin(cfg: &mut devserver::Config) {
    if let Some(auth) = cfg.auth.as_mut() {
        auth.admins.push(backend_core::app::auth::AdminAccount {
            username: OTHER_ADMIN.into(),
            password_hash: admin_hash().to_string(),
        });
    }
}

impl TestApp {
    /// Signs in as the test admin and returns the bearer token.
    pub async fn token(&self) -> String {
        self.token_of(ADMIN_USER).await
    }

    /// Signs in as `username` (with the test password) and returns the bearer token.
    pub async fn token_of(&self, username: &str) -> String {
        let body = json!({"username": username, "password": ADMIN_PASSWORD});
        let (status, v) = json_of(self.post_json("/api/v1/auth/login", &body).await).await;
        assert_eq!(status, 200, "login failed: {v}");
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn admin_get(&self, path: &str, token: &str) -> reqwest::Response {
        sent(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    /// An admin GET that answers 200 with a body of `media_type` (a prefix of its
    /// content type), read as text.
    pub async fn admin_text(&self, path: &str, token: &str, media_type: &str) -> String {
        let resp = self.admin_get(path, token).await;
        assert_eq!(resp.status(), 200, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with(media_type),
            "{path}: {content_type}"
        );
        resp.text().await.expect("body read")
    }

    /// An admin GET, answered as (status, JSON body).
    pub async fn admin_json(&self, path: &str, token: &str) -> (u16, Value) {
        json_of(self.admin_get(path, token).await).await
    }

    pub async fn admin_post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.admin_send(reqwest::Method::POST, path, token, body)
            .await
    }

    async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> reqwest::Response {
        let request = self.client.request(method, self.url(path));
        sent(request.bearer_auth(token).json(body)).await
    }

    /// The inquiry's newest report once the dev server's worker has drafted it.
    pub async fn wait_for_report(&self, token: &str, id: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let (status, v) = self
                .admin_json(&format!("/api/v1/inquiries/{id}/report"), token)
                .await;
            if status == 200 {
                return v["data"].clone();
            }
            assert_eq!(status, 404, "{v}");
            assert!(
                std::time::Instant::now() < deadline,
                "no report within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A chat socket signed in with `token`.
    pub async fn socket(&self, token: &str) -> crate::ws::Client {
        crate::ws::connect(&self.base, Some(token))
            .await
            .unwrap_or_else(|(status, v)| panic!("the chat socket refused: {status} {v}"))
    }

    /// Asks the chat over HTTP (`POST /api/v1/admin/chat/messages`) in `session_id`.
    pub async fn ask_chat(&self, token: &str, session_id: &str, content: &str) -> (u16, Value) {
        let body = json!({"content": content, "session_id": session_id});
        self.admin_post_json("/api/v1/admin/chat/messages", token, &body)
            .await
    }

    /// `admin_post`, its answer read as JSON.
    pub async fn admin_post_json(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        json_of(self.admin_post(path, token, body).await).await
    }

    pub async fn admin_put(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.admin_send(reqwest::Method::PUT, path, token, body)
            .await
    }

    /// An admin DELETE with a JSON body, answered as (status, JSON body).
    pub async fn admin_delete_json(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        json_of(
            self.admin_send(reqwest::Method::DELETE, path, token, body)
                .await,
        )
        .await
    }

    pub async fn admin_delete(&self, path: &str, token: &str) -> reqwest::Response {
        sent(self.client.delete(self.url(path)).bearer_auth(token)).await
    }
}
