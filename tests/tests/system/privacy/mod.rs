//! A prospect's personal data, black-box: its erasure on the dev server over SQLite
//! and over the AWS adapters on moto (`erasure`), the export and erasure of one
//! address's inquiries and the backfills that make older records findable
//! (`addresses`), and retention (`retention`). The helpers here serve all three.

mod addresses;
mod erasure;
mod retention;

use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::{json, TestApp, Value};

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
