//! A local stand-in for the Bedrock Runtime Converse API, for the real SDK client.

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
        crate::local_sdk_config(&self.endpoint).await
    }
}
