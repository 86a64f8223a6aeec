//! The AI-consultant chat on the dev server, black-box: a real WebSocket client on
//! the chat socket, the dashboard's HTTP chat routes over the same history, and
//! streamed answers from the template answerer and from Bedrock ConverseStream
//! (a local stub speaking the event-stream encoding to the real SDK client).

use backend_aws::BedrockLlm;
use backend_core::app::chat::TEMPLATE_LABEL;
use backend_core::app::chat_socket::RateLimit;
use backend_core::ports::llm::ChatModel;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use system_tests::bedrock_stub::{self, Mode, STREAM_PIECES};
use system_tests::ws::{self, Answer};
use system_tests::{inquiry_body, json_of, spawn_app, spawn_app_with, TestApp};

mod sessions;

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

async fn create_inquiry(app: &TestApp) -> Value {
    let (status, v) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}

pub(crate) fn question(session: &str, content: &str, client_id: &str, context: Value) -> Value {
    json!({
        "type": "message",
        "message_id": client_id,
        "session_id": session,
        "content": content,
        "metadata": {"client_name": "Acme Corp", "context": context},
        "timestamp": "2026-11-24T10:00:00Z",
    })
}

/// Every chunk of one answer carries the answer's id and session, and together they
/// are the whole answer the final frame carries.
fn assert_streamed(a: &Answer) {
    assert_eq!(a.last["type"], "message", "{a:?}");
    assert!(!a.chunks.is_empty(), "the answer streamed in chunks");
    for c in &a.chunks {
        assert_eq!(c["message_id"], a.last["message_id"]);
        assert_eq!(c["session_id"], a.last["session_id"]);
        assert!(c.to_string().len() < 32 * 1024);
        assert!(c["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    assert_eq!(a.streamed_text(), a.text());
    assert_eq!(a.last["metadata"]["message_type"], "assistant");
}

/// The app, an admin token, and a chat socket open on it.
async fn chat_on(app: TestApp) -> (TestApp, String, ws::Client) {
    let token = app.token().await;
    let sock = app.socket(&token).await;
    (app, token, sock)
}

/// Asks in a new session, checks the answer streamed, and names the session.
async fn new_session(sock: &mut ws::Client, content: &str, client_id: &str) -> (Answer, String) {
    let a = sock
        .ask(&question("", content, client_id, Value::Null))
        .await;
    assert_streamed(&a);
    let session = a.session();
    (a, session)
}

async fn history(app: &TestApp, token: &str, session: &str) -> Value {
    let (status, v) = app
        .admin_json(
            &format!("/api/v1/admin/chat/sessions/{session}/history"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn the_socket_refuses_a_missing_or_bad_token_before_the_upgrade() {
    let app = spawn_app().await;
    for token in [None, Some("not-a-jwt"), Some("")] {
        let (status, body) = ws::connect(&app.base, token)
            .await
            .err()
            .unwrap_or_else(|| panic!("{token:?} was let in"));
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["success"], false);
        assert_eq!(body["code"], "UNAUTHORIZED");
    }
    // A plain GET (no upgrade) with a good token is told to speak WebSocket.
    let token = app.token().await;
    let resp = app
        .get(&format!("/api/v1/admin/chat/ws?token={token}"))
        .await;
    assert_eq!(resp.status().as_u16(), 426);
}

#[tokio::test]
async fn a_question_is_acked_streamed_answered_and_shown_by_the_http_routes() {
    let app = spawn_app().await;
    let inquiry = create_inquiry(&app).await;
    let (app, token, mut sock) = chat_on(app).await;

    let a = sock
        .ask(&question(
            "",
            "What should we propose for their migration?",
            "client-1",
            json!({"inquiry_id": inquiry["id"]}),
        ))
        .await;
    assert_eq!(a.ack["message_id"], "client-1");
    assert_eq!(a.ack["metadata"]["status"], "received");
    let session = a.session();
    assert!(session.starts_with("chat_"), "{session}");
    assert_streamed(&a);
    assert!(
        a.chunks.len() > 3,
        "streamed line by line: {}",
        a.chunks.len()
    );
    assert_eq!(a.last["metadata"]["success"], true);
    assert_eq!(a.last["metadata"]["generated_by"], "template");
    let answer = a.text();
    assert!(answer.starts_with(TEMPLATE_LABEL), "labelled: {answer}");
    assert!(
        answer.contains(inquiry["id"].as_str().unwrap())
            && answer.contains(inquiry["company"].as_str().unwrap()),
        "grounded in the inquiry: {answer}"
    );
    assert!(answer.contains("7 Rs"), "about the question: {answer}");

    // The same history through each HTTP route.
    let h = history(&app, &token, &session).await;
    let msgs = h["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(
        msgs[0]["content"],
        "What should we propose for their migration?"
    );
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["id"], a.last["message_id"]);
    assert_eq!(msgs[1]["content"], a.last["content"]);
    assert_eq!(h["stats"]["total_messages"], 2);
    assert_eq!(h["stats"]["user_messages"], 1);

    let (_, v) = app
        .admin_json(
            &format!("/api/v1/admin/chat/messages?session_id={session}"),
            &token,
        )
        .await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    assert_eq!(v["messages"][1]["type"], "assistant");
    assert_eq!(v["has_more"], false);
    let (_, v) = app
        .admin_json(
            &format!("/api/v1/admin/simple-chat/messages?session_id={session}"),
            &token,
        )
        .await;
    assert_eq!(v["messages"][0]["role"], "user");
    assert_eq!(v["messages"][1]["content"], a.last["content"]);

    let (_, s) = app
        .admin_json(&format!("/api/v1/admin/chat/sessions/{session}"), &token)
        .await;
    assert_eq!(s["data"]["client_name"], "Acme Corp");
    assert_eq!(s["data"]["context"]["inquiry_id"], inquiry["id"]);
    assert_eq!(s["data"]["status"], "active");

    // A follow-up in the same session keeps it, and the history grows.
    let b = sock
        .ask(&question(
            &session,
            "And the costs?",
            "client-2",
            Value::Null,
        ))
        .await;
    assert_streamed(&b);
    assert_eq!(b.ack["session_id"], session.as_str());
    assert!(b.text().contains("Savings Plans"));
    assert_eq!(
        history(&app, &token, &session).await["stats"]["total_messages"],
        4
    );
    sock.close().await;
}

#[tokio::test]
async fn heartbeats_and_bad_frames_leave_the_connection_open() {
    let app = spawn_app().await;
    let (_app, _token, mut sock) = chat_on(app).await;

    sock.send(&json!({"type": "heartbeat"})).await;
    let hb = sock.next().await;
    assert_eq!(hb["type"], "heartbeat");
    assert_eq!(hb["metadata"]["status"], "alive");

    let cases: Vec<(String, &str)> = vec![
        ("not json at all".into(), "INVALID_FRAME"),
        ("[1, 2, 3]".into(), "INVALID_FRAME"),
        (json!({"type": "shout"}).to_string(), "INVALID_FRAME"),
        (
            json!({"type": "message", "content": ""}).to_string(),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type": "message", "content": "x".repeat(4001)}).to_string(),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type": "message", "content": "hi", "session_id": "../etc"}).to_string(),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type": "message", "content": "y".repeat(40_000)}).to_string(),
            "FRAME_TOO_LARGE",
        ),
    ];
    for (frame, code) in &cases {
        sock.send_text(frame).await;
        let e = sock.next().await;
        assert_eq!(e["type"], "error", "{frame:.60}: {e}");
        assert_eq!(e["metadata"]["code"], *code, "{frame:.60}: {e}");
        assert!(!e["content"].as_str().unwrap().is_empty());
    }
    sock.send_binary(&[0xff, 0x00, 0x13]).await;
    assert_eq!(sock.next().await["metadata"]["code"], "INVALID_FRAME");

    // Still connected: a heartbeat and a real question are answered.
    sock.send(&json!({"type": "heartbeat"})).await;
    assert_eq!(sock.next().await["type"], "heartbeat");
    let a = sock
        .ask(&question("", "Any advice?", "c-ok", Value::Null))
        .await;
    assert_streamed(&a);
}

#[tokio::test]
async fn each_connection_is_rate_limited_with_an_error_frame() {
    let app = spawn_app_with(|cfg| {
        cfg.chat_limit = RateLimit {
            frames: 3,
            per: Duration::from_secs(60),
        }
    })
    .await;
    let (app, token, mut sock) = chat_on(app).await;
    for _ in 0..3 {
        sock.send_text("{}").await;
        assert_eq!(sock.next().await["metadata"]["code"], "INVALID_FRAME");
    }
    sock.send(&question("", "one more", "c-9", Value::Null))
        .await;
    let e = sock.next().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["metadata"]["code"], "RATE_LIMITED", "{e}");
    // Heartbeats are not counted, and the limit is per connection.
    sock.send(&json!({"type": "heartbeat"})).await;
    assert_eq!(sock.next().await["type"], "heartbeat");
    let mut other = app.socket(&token).await;
    assert_streamed(&other.ask(&question("", "hello", "c-10", Value::Null)).await);
}

#[tokio::test]
async fn a_question_can_move_its_session_onto_an_inquiry() {
    let app = spawn_app().await;
    let inquiry = create_inquiry(&app).await;
    let (app, token, mut sock) = chat_on(app).await;
    let (first, session) = new_session(&mut sock, "General advice?", "c-1").await;
    assert!(!first.text().contains(inquiry["id"].as_str().unwrap()));

    let next = sock
        .ask(&question(
            &session,
            "And for this one?",
            "c-2",
            json!({"inquiry_id": inquiry["id"]}),
        ))
        .await;
    assert_streamed(&next);
    assert!(next.text().contains(inquiry["id"].as_str().unwrap()));
    let (_, s) = app
        .admin_json(&format!("/api/v1/admin/chat/sessions/{session}"), &token)
        .await;
    assert_eq!(s["data"]["context"]["inquiry_id"], inquiry["id"]);
}

#[tokio::test]
async fn a_resent_message_is_answered_once() {
    let app = spawn_app().await;
    let (app, token, mut sock) = chat_on(app).await;
    let (first, session) = new_session(&mut sock, "Architecture?", "same-id").await;

    let again = sock
        .ask(&question(&session, "Architecture?", "same-id", Value::Null))
        .await;
    assert!(again.chunks.is_empty(), "nothing is generated twice");
    assert_eq!(again.last["type"], "message");
    assert_eq!(again.last["message_id"], first.last["message_id"]);
    assert_eq!(again.last["content"], first.last["content"]);
    assert_eq!(
        history(&app, &token, &session).await["stats"]["total_messages"],
        2
    );
}

#[tokio::test]
async fn the_history_survives_a_restart() {
    let app = spawn_app().await;
    let (app, token, mut sock) = chat_on(app).await;
    let (a, session) = new_session(&mut sock, "Security review?", "c-1").await;
    sock.close().await;

    let app = app.restart().await;
    let h = history(&app, &token, &session).await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 2);
    assert_eq!(h["messages"][1]["content"], a.last["content"]);
    // And the conversation goes on over a new connection.
    let mut sock = app.socket(&token).await;
    let b = sock
        .ask(&question(&session, "And scaling?", "c-2", Value::Null))
        .await;
    assert_streamed(&b);
    assert_eq!(
        history(&app, &token, &session).await["stats"]["total_messages"],
        4
    );

    // Paging back through the history, newest page first.
    let path = format!("/api/v1/admin/chat/sessions/{session}/history?limit=3");
    let (_, newest) = app.admin_json(&path, &token).await;
    let page = newest["data"]["messages"].as_array().unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[2]["id"], b.last["message_id"]);
    assert_eq!(newest["data"]["has_more"], true);
    let before = newest["data"]["next_before"].as_str().unwrap();
    assert_eq!(before, page[0]["id"].as_str().unwrap());
    let (_, older) = app
        .admin_json(&format!("{path}&before={before}"), &token)
        .await;
    let page = older["data"]["messages"].as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["content"], "Security review?");
    assert_eq!(older["data"]["has_more"], false);
    let (status, _) = app
        .admin_json(&format!("{path}&before=yesterday"), &token)
        .await;
    assert_eq!(status, 400);
}

async fn app_with_model(mode: Mode) -> (TestApp, bedrock_stub::Stub) {
    let stub = bedrock_stub::start(mode).await;
    let model: Arc<dyn ChatModel> = Arc::new(BedrockLlm::new(&stub.sdk_config().await, MODEL));
    let app = spawn_app_with(move |cfg| cfg.chat_model = Some(model)).await;
    (app, stub)
}

#[tokio::test]
async fn answers_stream_from_bedrock_converse_stream() {
    let (app, stub) = app_with_model(Mode::Ok).await;
    let inquiry = create_inquiry(&app).await;
    let (_app, _, mut sock) = chat_on(app).await;
    let a = sock
        .ask(&question(
            "",
            "What do we propose?",
            "c-1",
            json!(inquiry["id"]),
        ))
        .await;
    assert_streamed(&a);
    let pieces: Vec<&str> = a
        .chunks
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        pieces, STREAM_PIECES,
        "one chunk per streamed delta, in order"
    );
    assert_eq!(a.last["metadata"]["generated_by"], MODEL);
    assert_eq!(a.last["metadata"]["success"], true);

    let seen = stub.seen.lock().unwrap().clone();
    let (model, body) = seen.last().unwrap();
    assert_eq!(model, MODEL);
    let system = body["system"][0]["text"].as_str().unwrap();
    assert!(
        system.contains(inquiry["company"].as_str().unwrap())
            && system.contains(inquiry["message"].as_str().unwrap()),
        "the inquiry is in the instructions: {system}"
    );
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(
        body["messages"][0]["content"][0]["text"],
        "What do we propose?"
    );

    // The next turn carries the history, alternating from the user.
    let session = a.session();
    let b = sock
        .ask(&question(&session, "Why?", "c-2", Value::Null))
        .await;
    assert_streamed(&b);
    let body = stub.seen.lock().unwrap().last().unwrap().1.clone();
    let roles = system_tests::roles(&body);
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(body["messages"][1]["content"][0]["text"], a.last["content"]);
}

#[tokio::test]
async fn a_model_that_fails_before_answering_falls_back_to_the_template() {
    let (app, _stub) = app_with_model(Mode::Throttled).await;
    let (_app, _token, mut sock) = chat_on(app).await;
    let a = sock.ask(&question("", "Costs?", "c-1", Value::Null)).await;
    assert_streamed(&a);
    assert_eq!(a.last["metadata"]["generated_by"], "template");
    assert!(a.text().starts_with(TEMPLATE_LABEL));
}

#[tokio::test]
async fn a_stream_that_breaks_midway_keeps_what_was_written_marked_incomplete() {
    let (app, _stub) = app_with_model(Mode::StreamBreaks).await;
    let (app, token, mut sock) = chat_on(app).await;
    let a = sock.ask(&question("", "Plan?", "c-1", Value::Null)).await;
    assert_streamed(&a);
    assert_eq!(a.last["content"], STREAM_PIECES[0]);
    assert_eq!(a.last["metadata"]["success"], false);
    let session = a.ack["session_id"].as_str().unwrap();
    let h = history(&app, &token, session).await;
    assert_eq!(h["messages"][1]["status"], "incomplete");
}
