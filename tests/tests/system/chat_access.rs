//! Who may use the chat, and how much: a session belongs to the admin who made it,
//! answers are limited per admin across every socket and HTTP route, and a socket
//! lives no longer than its token.

use super::chat::question;
use serde_json::{json, Value};
use std::time::Duration;
use system_tests::{json_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_session_belongs_to_the_admin_who_made_it() {
    let app = spawn_app_with(system_tests::with_other_admin).await;
    let (mine, theirs) = (
        app.token().await,
        app.token_of(system_tests::OTHER_ADMIN).await,
    );
    let (status, v) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &mine,
            &json!({"client_name": "Acme"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_string();
    let (status, _) = app.ask_chat(&mine, &id, "Where do we start?").await;
    assert_eq!(status, 200);
    // A client-chosen name, first used by me.
    let (status, _) = app.ask_chat(&mine, "dash-1", "Mine").await;
    assert_eq!(status, 200);

    // To the other admin, neither exists.
    let session = format!("/api/v1/admin/chat/sessions/{id}");
    for path in [
        session.clone(),
        format!("{session}/history"),
        "/api/v1/admin/chat/sessions/dash-1".into(),
    ] {
        let (status, v) = app.admin_json(&path, &theirs).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{path}: {v}"
        );
    }
    let resp = app
        .admin_put(&session, &theirs, &json!({"client_name": "Renamed"}))
        .await;
    assert_eq!(resp.status(), 404);
    let resp = app.admin_delete(&session, &theirs).await;
    assert_eq!(resp.status(), 404);
    for chosen in [id.as_str(), "dash-1"] {
        let (status, v) = app.ask_chat(&theirs, chosen, "Let me in").await;
        assert_eq!(status, 404, "posting into another's session {chosen}: {v}");
        let (status, v) = app
            .admin_json(
                &format!("/api/v1/admin/chat/messages?session_id={chosen}"),
                &theirs,
            )
            .await;
        assert_eq!(
            (status, v["messages"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{v}"
        );
    }
    let (_, list) = app.admin_json("/api/v1/admin/chat/sessions", &theirs).await;
    assert_eq!(list["data"]["total_count"], 0, "{list}");

    // Mine are untouched: my two sessions, and each holds only my turn.
    let (_, list) = app.admin_json("/api/v1/admin/chat/sessions", &mine).await;
    assert_eq!(list["data"]["total_count"], 2, "{list}");
    let (_, s) = app.admin_json(&session, &mine).await;
    assert_eq!(s["data"]["client_name"], "Acme");
    for chosen in [id.as_str(), "dash-1"] {
        let (_, v) = app
            .admin_json(
                &format!("/api/v1/admin/chat/messages?session_id={chosen}"),
                &mine,
            )
            .await;
        assert_eq!(v["messages"].as_array().unwrap().len(), 2, "{v}");
    }
}

#[tokio::test]
async fn a_socket_is_refused_once_its_token_expires() {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let app = spawn_app().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // A token of the test admin that expires in two seconds.
    let claims = json!({"sub": "admin:consultant", "username": "consultant", "roles": ["admin"],
        "iss": "cloud-consulting-backend", "aud": "cloud-consulting-admin",
        "iat": now, "nbf": now - 10, "exp": now + 2});
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(system_tests::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let mut sock = app.socket(&token).await;
    let a = sock
        .ask(&question("", "Before it expires?", "c-1", Value::Null))
        .await;
    assert_eq!(a.last["type"], "message", "{}", a.last);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let b = sock
        .ask(&question("", "And after?", "c-2", Value::Null))
        .await;
    assert_eq!(b.last["type"], "error", "{}", b.last);
    assert_eq!(b.last["metadata"]["code"], "UNAUTHORIZED", "{}", b.last);
}

#[tokio::test]
async fn answers_are_limited_per_admin_across_sockets_and_routes() {
    let app = spawn_app_with(|cfg| {
        system_tests::with_other_admin(cfg);
        cfg.chat.answers_per_admin = backend_core::app::limits::WindowLimit {
            max: 3,
            per: Duration::from_secs(600),
        };
    })
    .await;
    let token = app.token().await;
    let mut first = app.socket(&token).await;
    for n in 0..2 {
        let a = first
            .ask(&question("", "Costs?", &format!("c-{n}"), Value::Null))
            .await;
        assert_eq!(a.last["type"], "message", "{}", a.last);
    }
    // A new connection does not reset it...
    drop(first);
    let mut second = app.socket(&token).await;
    let a = second
        .ask(&question("", "Costs?", "c-2", Value::Null))
        .await;
    assert_eq!(a.last["type"], "message", "{}", a.last);
    let refused = second
        .ask(&question("", "And more?", "c-3", Value::Null))
        .await;
    assert_eq!(refused.last["type"], "error", "{}", refused.last);
    assert_eq!(refused.last["metadata"]["code"], "RATE_LIMITED");
    // ...nor does switching to the HTTP routes.
    let resp = app
        .admin_post(
            "/api/v1/admin/chat/messages",
            &token,
            &json!({"content": "Over HTTP?", "session_id": "http-1"}),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let (status, v) = json_of(resp).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{v}"
    );
    // Another admin has an allowance of their own.
    let theirs = app.token_of(system_tests::OTHER_ADMIN).await;
    let (status, v) = app.ask_chat(&theirs, "theirs-1", "Mine?").await;
    assert_eq!(status, 200, "{v}");
}
