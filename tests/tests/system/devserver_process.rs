//! The dev server as a person runs it: the built binary, a POST with an
//! Idempotency-Key, SIGTERM, a clean exit, a restart on the same data, and the same
//! inquiry for the replayed key; SIGKILL with reports pending; its settings read
//! from the environment; its logs of a whole pipeline, which name ids and no
//! personal data.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use system_tests::{built_binary, inquiry_body, json_of};

/// The dev server's process, killed when dropped, so that a failed assertion leaves
/// no server running.
struct Running(Option<Child>);

impl Running {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        terminate(self.0.take().expect("still running"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The dev server binary as `cargo run -p devserver` starts it, on `port` and
/// `data_dir`, with no admin configured.
fn command(data_dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(built_binary("devserver"));
    cmd.env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", data_dir)
        .env("LOG_LEVEL", "warn")
        .env_remove("JWT_SECRET")
        .env_remove("ADMIN_USERS")
        .env_remove("WORKERS");
    cmd
}

/// Everything the process wrote to its standard output and error so far.
type Output = Arc<Mutex<String>>;

/// A fresh data directory and a free port for a dev server, its base URL, and a
/// client for it.
fn place() -> (tempfile::TempDir, u16, String, reqwest::Client) {
    let port = system_tests::free_port();
    (
        tempfile::tempdir().unwrap(),
        port,
        format!("http://127.0.0.1:{port}"),
        reqwest::Client::new(),
    )
}

/// Starts the dev server from `cmd` and waits until `base` answers; returns it and
/// the admin password it printed.
async fn up(cmd: Command, base: &str) -> (Running, String) {
    let (server, password, _) = up_logged(cmd, base).await;
    (server, password)
}

/// `up`, keeping what the process writes.
async fn up_logged(mut cmd: Command, base: &str) -> (Running, String, Output) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("devserver starts");
    let mut server = Running(Some(child));
    let output = Output::default();
    let stderr = server.child().stderr.take().expect("piped stderr");
    keep(stderr, output.clone());
    let password = printed_password(&mut server, &output);
    wait_healthy(&reqwest::Client::new(), base).await;
    (server, password, output)
}

/// Reads `from` line by line into `output` until it closes, so the server never
/// blocks on a full pipe.
fn keep(from: impl std::io::Read + Send + 'static, output: Output) {
    use std::io::BufRead;
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).lines().map_while(Result::ok) {
            let mut out = output.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    });
}

/// The admin password the dev server prints once at start when none is configured.
fn printed_password(server: &mut Running, output: &Output) -> String {
    let out = server.child().stdout.take().expect("piped stdout");
    keep(out, output.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let printed = output.lock().unwrap().clone();
        if let Some(line) = printed.lines().find(|l| l.contains("password")) {
            return line
                .rsplit('`')
                .nth(1)
                .expect("password between backticks")
                .to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the dev server prints the admin password: {printed}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("dev server did not become healthy at {base}");
}

/// Posts the sample inquiry without an idempotency key; returns its id.
async fn submit(client: &reqwest::Client, base: &str) -> String {
    let (status, v) = json_of(
        client
            .post(format!("{base}/api/v1/inquiries"))
            .json(&inquiry_body())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["data"]["id"].as_str().unwrap().to_string()
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dev server ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A whole pipeline on the binary, logging everything it logs at debug: an inquiry
/// under an idempotency key, its report, both e-mails, a chat about it naming the
/// prospect, its export and its erasure. The output names the inquiry's id and none
/// of the values the prospect gave.
#[tokio::test]
async fn the_logs_of_a_whole_pipeline_carry_ids_not_personal_data() {
    let (dir, port, base, client) = place();
    let mut cmd = command(dir.path(), port);
    cmd.env("LOG_LEVEL", "debug");
    let (server, password, output) = up_logged(cmd, &base).await;
    let (_, login) = json_of(
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["token"].as_str().expect("signed in").to_string();
    let admin = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { json_of(req.send().await.unwrap()).await }
    };

    let p = system_tests::prospect();
    let (status, created) = json_of(
        client
            .post(format!("{base}/api/v1/inquiries"))
            .header("idempotency-key", "logs-of-a-pipeline")
            .json(&p)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let about = format!("-{id}.eml");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (report, _) = admin(
            reqwest::Method::GET,
            &format!("/api/v1/inquiries/{id}/report"),
            None,
        )
        .await;
        let mails = std::fs::read_dir(dir.path().join("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(&about))
            .count();
        if report == 200 && mails == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "report and both e-mails within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, session) = admin(
        reqwest::Method::POST,
        "/api/v1/admin/chat/sessions",
        Some(serde_json::json!({"client_name": "Erasmus", "context": {"inquiry_id": id}})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let question = format!("What do we propose to {}?", p["name"].as_str().unwrap());
    let (status, answer) = admin(
        reqwest::Method::POST,
        "/api/v1/admin/chat/messages",
        Some(serde_json::json!({"content": question, "session_id": session["data"]["id"]})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = admin(
        reqwest::Method::GET,
        &format!("/api/v1/admin/inquiries/{id}/export"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin(
        reqwest::Method::DELETE,
        &format!("/api/v1/admin/inquiries/{id}"),
        Some(serde_json::json!({"reason": "asked to be forgotten"})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(server.terminate().success());

    let log = output.lock().unwrap().clone();
    assert!(log.contains(&id), "the run was logged, by ids:\n{log}");
    assert!(log.contains("inquiry erased"), "{log}");
    for v in system_tests::personal_values(&p) {
        assert!(!log.contains(&v), "{v:?} is in the logs:\n{log}");
    }
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_data_survives_a_restart() {
    let (dir, port, base, client) = place();
    let post = || {
        client
            .post(format!("{base}/api/v1/inquiries"))
            .header("idempotency-key", "restart-proof")
            .json(&inquiry_body())
            .send()
    };

    let (server, password) = up(command(dir.path(), port), &base).await;
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the printed password signs in");
    let (status, first) = json_of(post().await.unwrap()).await;
    assert_eq!(status, 201);
    let exit = server.terminate();
    assert!(
        exit.success(),
        "SIGTERM ends the server with success, not {exit:?}"
    );

    let (server, second_password) = up(command(dir.path(), port), &base).await;
    assert_ne!(second_password, password, "a fresh password each start");
    let resp = post().await.unwrap();
    assert_eq!(resp.headers()["idempotency-replayed"], "true");
    let (status, again) = json_of(resp).await;
    assert_eq!((status, &again["data"]), (201, &first["data"]));
    let exit = server.terminate();
    assert!(
        exit.success(),
        "the second SIGTERM ends it with success too, not {exit:?}"
    );
}

/// Killed with SIGKILL while reports are pending, the dev server loses nothing:
/// after a restart every inquiry has exactly one report.
#[tokio::test]
async fn sigkill_with_reports_pending_loses_nothing_and_duplicates_nothing() {
    let (dir, port, base, client) = place();

    let (mut server, _) = up(command(dir.path(), port), &base).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(submit(&client, &base).await);
    }
    server.child().kill().expect("SIGKILL");
    server.child().wait().unwrap();

    let (server, _) = up(command(dir.path(), port), &base).await;
    let adapters = system_tests::embedded_adapters_in(dir.path());
    let deps = backend_core::app::Deps::new(
        adapters.clone(),
        std::sync::Arc::new(backend_core::ports::SystemClock),
    );
    let reports = backend_core::app::reports::ReportService::new(
        deps,
        adapters.blobs.clone().unwrap(),
        std::sync::Arc::new(backend_core::app::drafting::Drafter::template_only()),
    );
    // A report the killed process had received stays invisible for the queue's
    // visibility timeout (60 s in the dev server, as in SQS) before it is retried.
    let deadline = Instant::now() + Duration::from_secs(80);
    loop {
        let mut done = 0;
        for id in &ids {
            let n = reports
                .for_inquiry(&backend_core::domain::InquiryId::parse(id).unwrap())
                .await
                .unwrap()
                .len();
            assert!(n <= 1, "{id} has {n} reports");
            done += n;
        }
        if done == ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {} reports after the restart",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the worker run a while longer: still exactly one each.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed = reports.page(None, None, 0, 1000).await.unwrap();
    assert_eq!(listed.len(), ids.len());
    assert_eq!(reports.count(None, None).await.unwrap(), ids.len());
    drop(server);
}

/// `WORKERS=off` leaves the queued events in the embedded queue, to be read.
#[tokio::test]
async fn workers_off_leaves_the_events_queued() {
    let (dir, port, base, client) = place();
    let mut cmd = command(dir.path(), port);
    cmd.env("WORKERS", "off");
    let (server, _) = up(cmd, &base).await;
    let id = submit(&client, &base).await;
    // Time for a worker, had one been running, to take the events.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.terminate().success());

    let adapters = system_tests::embedded_adapters_in(dir.path());
    for q in backend_core::ports::QueueName::ALL {
        let got = adapters.queue.receive(q, 10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1, "{q:?} holds the event");
        let event: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(event["inquiry_id"], id.as_str());
    }
}

/// A setting the dev server cannot read stops it at start, naming the setting.
#[test]
fn a_bad_setting_stops_the_start_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [("WORKERS", "sometimes"), ("BACKEND", "cloud")] {
        let mut cmd = command(dir.path(), system_tests::free_port());
        let out = cmd.env(var, value).output().expect("devserver runs");
        assert!(!out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var} not named in: {stderr}");
    }
}
