//! The Lambda Runtime Interface Emulator running a function binary as built, and
//! the events in `events/` it is fed.

use super::*;

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

/// A variable of a function's environment as the tests write one (`aws_env`, ...).
pub fn lookup(env: &[(&'static str, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
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
