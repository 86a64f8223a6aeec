//! The chat WebSocket on the dev server, at `/api/v1/admin/chat/ws`: the same
//! `$connect`/`$default`/`$disconnect` use cases the chat-ws function runs, behind
//! a real socket, with the in-process connection registry as the push adapter.
//! A missing or bad `?token=` is refused before the upgrade, in the envelope.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend_core::app::auth::{AuthError, Authenticator};
use backend_core::app::chat_socket::ChatSocket;
use backend_core::app::ErrorCode;
use backend_embedded::Connections;
use backend_http::ApiError;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

pub const PATH: &str = "/api/v1/admin/chat/ws";

#[derive(Clone)]
struct Ws {
    socket: ChatSocket,
    connections: Connections,
    auth: Arc<Authenticator>,
    stop: watch::Receiver<bool>,
}

pub fn routes(
    socket: ChatSocket,
    connections: Connections,
    auth: Arc<Authenticator>,
    stop: watch::Receiver<bool>,
) -> Router {
    Router::new().route(PATH, get(upgrade)).with_state(Ws {
        socket,
        connections,
        auth,
        stop,
    })
}

fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

async fn upgrade(
    State(ws): State<Ws>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let token = query
        .ok()
        .and_then(|Query(q)| q.get("token").cloned())
        .unwrap_or_default();
    match ws.auth.verify(token.trim()) {
        Ok(_) => {}
        Err(AuthError::Forbidden) => {
            return refusal(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "This token does not grant admin access",
            )
        }
        Err(_) => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "A valid admin token is required as ?token=",
            )
        }
    }
    let Ok(upgrade) = upgrade else {
        return refusal(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpgradeRequired,
            "This route speaks WebSocket",
        );
    };
    let id = ulid::Ulid::new().to_string().to_lowercase();
    // Big enough for any frame the protocol refuses politely (32 KB), so an
    // oversized frame gets an error frame instead of a closed socket.
    upgrade
        .max_message_size(1 << 20)
        .on_upgrade(move |socket| serve(ws, id, token, socket))
}

async fn serve(mut ws: Ws, id: String, token: String, socket: WebSocket) {
    let mut outgoing = ws.connections.register(&id);
    match ws.socket.connect(&id, Some(&token)).await {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(connection = %id, error = %e, "chat connection refused after the upgrade");
            ws.connections.close(&id);
            return;
        }
    }
    let (mut tx, mut rx) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if tx.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
        }
        let _ = tx.close().await;
    });
    loop {
        let msg = tokio::select! {
            m = rx.next() => m,
            _ = ws.stop.wait_for(|s| *s) => None,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t.as_str().to_string(),
            Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue, // ping and pong are answered by the socket itself
        };
        // Each frame on its own task, as API Gateway invokes the function per
        // frame: a heartbeat is answered while an answer streams.
        let (socket, id) = (ws.socket.clone(), id.clone());
        tokio::spawn(async move { socket.receive(&id, &text).await });
    }
    ws.connections.close(&id);
    if let Err(e) = ws.socket.disconnect(&id).await {
        tracing::warn!(error = %e, "could not forget a closed connection");
    }
    // The writer ends once the last sender (held by in-flight answers) is gone.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
}
