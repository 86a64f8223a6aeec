//! A local stand-in for API Gateway's `@connections` endpoint: a push to an open
//! connection is recorded, to any other answers 410 Gone as the service does.

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
