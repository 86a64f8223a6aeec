//! The chat WebSocket on the dev server, at `/api/v1/admin/chat/ws`: the same
//! `$connect`/`$default`/`$disconnect` use cases the chat-ws function runs, behind
//! a real socket, with the in-process connection registry as the push adapter.
//! A missing or bad `?token=` is refused before the upgrade, in the envelope; a
//! message too large to read gets an error frame and a 1009 close.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend_core::app::auth::{AuthError, Authenticator};
use backend_core::app::chat_frames::{frames, FrameError, MAX_FRAME_BYTES};
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
    Router::new()
        .route(PATH, get(upgrade))
        // An admin route: its refusals are not kept in any cache either.
        .route_layer(axum::middleware::map_response(backend_http::no_store))
        .with_state(Ws {
            socket,
            connections,
            auth,
            stop,
        })
}

/// The largest message the socket reads. Far above the protocol's own limit
/// (`MAX_FRAME_BYTES`), so that a frame between the two gets the protocol's error
/// frame and the connection stays; one above this cannot be read to its end, and
/// gets the same error frame and a 1009 close instead.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Whether the socket stopped reading because a message was over
/// `MAX_MESSAGE_BYTES`.
fn too_large(e: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    matches!(
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<Error>()),
        Some(Error::Capacity(CapacityError::MessageTooLong { .. }))
    )
}

/// The error frame and close frame for a message over `MAX_MESSAGE_BYTES`.
fn oversized() -> [Message; 2] {
    let reason = format!("frames are at most {MAX_FRAME_BYTES} bytes");
    let error = frames::error(
        &FrameError::new(ErrorCode::FrameTooLarge, reason.clone()),
        None,
        time::OffsetDateTime::now_utc(),
    );
    [
        Message::Text(error.into()),
        Message::Close(Some(CloseFrame {
            code: CLOSE_TOO_BIG,
            reason: reason.into(),
        })),
    ]
}

/// RFC 6455's "message too big".
const CLOSE_TOO_BIG: u16 = 1009;

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
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        // What the client has not read stays bounded too: past this the write
        // fails and the socket ends.
        .max_write_buffer_size(MAX_MESSAGE_BYTES)
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
    // The last frames to send before closing, when the reader ends the connection.
    let (last_tx, mut last_rx) = tokio::sync::oneshot::channel::<[Message; 2]>();
    let writer = tokio::spawn(async move {
        loop {
            // The last frames first: the registry's sender is dropped as the reader
            // ends, and would otherwise end this loop before they are sent.
            let frame = tokio::select! {
                biased;
                last = &mut last_rx => {
                    if let Ok(last) = last {
                        for m in last {
                            if tx.send(m).await.is_err() {
                                break;
                            }
                        }
                    }
                    break;
                }
                f = outgoing.recv() => f,
            };
            let Some(frame) = frame else { break };
            if tx.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
        }
        let _ = tx.close().await;
    });
    let mut last_tx = Some(last_tx);
    loop {
        let msg = tokio::select! {
            m = rx.next() => m,
            _ = ws.stop.wait_for(|s| *s) => None,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t.as_str().to_string(),
            Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
            // The rest of an oversized message is still on the wire and cannot be
            // skipped, so the connection ends, but saying why.
            Some(Err(e)) if too_large(&e) => {
                if let Some(last) = last_tx.take() {
                    let _ = last.send(oversized());
                }
                break;
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue, // ping and pong are answered by the socket itself
        };
        // A socket dropped for not reading its frames reads no more of them either.
        if !ws.connections.is_open(&id) {
            break;
        }
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
