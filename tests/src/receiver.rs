//! A local HTTP receiver for Slack and webhook calls, counting what arrives.

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
