//! Chat sessions over the dashboard's HTTP routes: created, listed, changed and
//! deleted (their messages leaving the figures), the message routes over the same
//! history, and a session's expiry after a quiet spell.

use super::*;

#[tokio::test]
async fn sessions_are_created_listed_changed_and_deleted_over_http() {
    let app = spawn_app().await;
    let token = app.token().await;
    let inquiry = create_inquiry(&app).await;
    let post = |body: Value| {
        let (app, token) = (&app, &token);
        async move {
            app.admin_post_json("/api/v1/admin/chat/sessions", token, &body)
                .await
        }
    };
    let (status, v) = post(json!({"client_name": "Acme", "context": {"inquiry_id": inquiry["id"]}, "metadata": {"source": "dashboard"}})).await;
    assert_eq!(status, 201, "{v}");
    let s = &v["data"];
    for k in [
        "id",
        "user_id",
        "client_name",
        "context",
        "status",
        "metadata",
        "created_at",
        "updated_at",
        "last_activity",
        "expires_at",
    ] {
        assert!(s.get(k).is_some(), "ChatSession has {k}: {s}");
    }
    assert_eq!(s["status"], "active");
    assert_eq!(s["user_id"], "admin:consultant");
    let id = s["id"].as_str().unwrap().to_string();
    let (status, _) = post(json!({"client_name": "Other"})).await;
    assert_eq!(status, 201);

    // Every bad field at once, and nothing stored.
    let (status, v) = post(json!({"client_name": 7, "context": {"inquiry_id": "nope"}, "metadata": [], "status": "active"})).await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], "VALIDATION_ERROR");
    let fields = v["details"]["fields"].as_object().unwrap();
    // `status` is the server's on creation: ignored, not refused (API.md).
    assert_eq!(fields.len(), 3, "{v}");
    assert!(!fields.contains_key("status"), "{v}");

    let (_, list) = app.admin_json("/api/v1/admin/chat/sessions", &token).await;
    assert_eq!(list["data"]["total_count"], 2);
    assert_eq!(
        list["data"]["sessions"][1]["id"],
        id.as_str(),
        "newest first"
    );
    let (_, page) = app
        .admin_json("/api/v1/admin/chat/sessions?limit=1&offset=1", &token)
        .await;
    assert_eq!(page["data"]["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"]["limit"], 1);
    assert_eq!(page["data"]["offset"], 1);
    let (status, bad) = app
        .admin_json("/api/v1/admin/chat/sessions?status=sleepy&limit=0", &token)
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad["details"]["fields"].as_object().unwrap().len(), 2);

    let path = format!("/api/v1/admin/chat/sessions/{id}");
    let (status, v) = json_of(
        app.admin_put(
            &path,
            &token,
            &json!({"status": "inactive", "client_name": "Acme Ltd"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["status"], "inactive");
    assert_eq!(v["data"]["client_name"], "Acme Ltd");
    let (_, inactive) = app
        .admin_json("/api/v1/admin/chat/sessions?status=inactive", &token)
        .await;
    assert_eq!(inactive["data"]["total_count"], 1);
    for body in [json!({"status": "expired"}), json!({"status": 3})] {
        let (status, v) = json_of(app.admin_put(&path, &token, &body).await).await;
        assert_eq!(status, 400, "{body}: {v}");
    }

    let (status, v) = json_of(app.admin_delete(&path, &token).await).await;
    assert_eq!(status, 200);
    assert_eq!(v["message"], "Session deleted successfully");
    for p in [
        path.clone(),
        format!("{path}/history"),
        "/api/v1/admin/chat/sessions/a%23b".into(),
    ] {
        let (status, v) = app.admin_json(&p, &token).await;
        assert_eq!(status, 404, "{p}: {v}");
        assert_eq!(v["code"], "NOT_FOUND");
    }
}

/// Deleting a session takes back its counts and its messages' counts, as an
/// erasure does: the chat figures drop by what went, and a session kept stays
/// counted.
#[tokio::test]
async fn deleting_a_session_takes_its_messages_out_of_the_figures() {
    let app = spawn_app().await;
    let token = app.token().await;
    let ask = |content: &str, session: Option<&str>| {
        let body = match session {
            Some(s) => json!({"content": content, "session_id": s}),
            None => json!({"content": content}),
        };
        let (app, token) = (&app, &token);
        async move {
            let (status, v) = app
                .admin_post_json("/api/v1/admin/simple-chat/messages", token, &body)
                .await;
            assert_eq!(status, 200, "{v}");
            v
        }
    };
    let figures = || async {
        let (status, v) = app.admin_json("/api/v1/admin/chat/metrics", &token).await;
        assert_eq!(status, 200, "{v}");
        let d = &v["data"];
        (
            d["total_sessions"].clone(),
            d["total_messages"].clone(),
            d["messages_last_24h"].clone(),
        )
    };
    ask("kept", None).await;
    let (_, list) = app.admin_json("/api/v1/admin/chat/sessions", &token).await;
    let kept = list["data"]["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, before_other, _) = figures().await;
    assert_eq!(before_other, 2, "a question and its answer");
    let (status, v) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &token,
            &json!({"client_name": "Gone"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let gone = v["data"]["id"].as_str().unwrap().to_string();
    for q in ["one", "two", "three"] {
        ask(q, Some(&gone)).await;
    }
    assert_eq!(figures().await, (json!(2), json!(8), json!(8)));

    let path = format!("/api/v1/admin/chat/sessions/{gone}");
    let (status, v) = json_of(app.admin_delete(&path, &token).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(figures().await, (json!(1), json!(2), json!(2)));
    let (status, _) = app
        .admin_json(
            &format!("/api/v1/admin/chat/sessions/{kept}/history"),
            &token,
        )
        .await;
    assert_eq!(status, 200, "the other session is untouched");
}

#[tokio::test]
async fn the_dashboard_message_routes_ask_and_read_through_the_same_service() {
    let app = spawn_app().await;
    let token = app.token().await;
    let post = |path: &'static str, body: Value| {
        let (app, token) = (&app, &token);
        async move { app.admin_post_json(path, token, &body).await }
    };
    // The dashboard's health probe.
    let (status, v) = app
        .admin_json(
            "/api/v1/admin/simple-chat/messages?session_id=health-check",
            &token,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["messages"], json!([]));

    let (status, v) = post(
        "/api/v1/admin/simple-chat/messages",
        json!({"content": "How do we scale this?"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert!(v["message_id"].as_str().unwrap().starts_with("msg_"));
    let session = v["session_id"].as_str().unwrap().to_string();
    let (_, read) = app
        .admin_json(
            &format!("/api/v1/admin/simple-chat/messages?session_id={session}"),
            &token,
        )
        .await;
    let msgs = read["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["id"], v["message_id"]);
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["role"], "assistant");
    for k in ["id", "content", "role", "timestamp", "session_id"] {
        assert!(msgs[0].get(k).is_some(), "{k}");
    }

    // The dashboard names its own session.
    let (status, v) = post(
        "/api/v1/admin/chat/messages",
        json!({"content": "Cost ideas?", "session_id": "dash-42", "client_name": "Globex"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "assistant");
    assert!(v["content"].as_str().unwrap().contains("Savings Plans"));
    let (_, s) = app
        .admin_json("/api/v1/admin/chat/sessions/dash-42", &token)
        .await;
    assert_eq!(s["data"]["client_name"], "Globex");
    let (_, all) = app
        .admin_json(
            "/api/v1/admin/chat/messages?session_id=dash-42&limit=1",
            &token,
        )
        .await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 1);
    assert_eq!(all["has_more"], true);
    for (since, n) in [("2000-01-01T00:00:00Z", 2), ("2100-01-01", 0)] {
        let (_, v) = app
            .admin_json(
                &format!("/api/v1/admin/chat/messages?session_id=dash-42&since={since}"),
                &token,
            )
            .await;
        assert_eq!(v["messages"].as_array().unwrap().len(), n, "since {since}");
    }

    // Bad input: every field named, a 4xx, nothing stored.
    for (path, body, fields) in [
        (
            "/api/v1/admin/chat/messages",
            json!({"content": "x"}),
            vec!["session_id"],
        ),
        (
            "/api/v1/admin/chat/messages",
            json!({"session_id": "a b", "content": ""}),
            vec!["content", "session_id"],
        ),
        (
            "/api/v1/admin/simple-chat/messages",
            json!({"content": "a\u{0}b"}),
            vec!["content"],
        ),
    ] {
        let (status, v) = post(path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {v}");
        let got: Vec<&str> = v["details"]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, fields, "{body}");
    }
    for q in [
        "",
        "?session_id=",
        "?session_id=dash-42&since=yesterday",
        "?session_id=dash-42&limit=0",
    ] {
        let (status, v) = app
            .admin_json(&format!("/api/v1/admin/chat/messages{q}"), &token)
            .await;
        assert_eq!(status, 400, "{q}: {v}");
    }

    let (status, m) = app.admin_json("/api/v1/admin/chat/metrics", &token).await;
    assert_eq!(status, 200);
    assert_eq!(m["data"]["total_messages"], 4);
    assert_eq!(m["data"]["user_messages"], 2);
    assert_eq!(m["data"]["assistant_messages"], 2);
    assert_eq!(m["data"]["total_sessions"], 2);
    assert_eq!(m["data"]["model"], "template");
    let (status, h) = app.admin_json("/api/v1/admin/chat/health", &token).await;
    assert_eq!(status, 200);
    assert_eq!(h["data"]["status"], "healthy");
    assert_eq!(h["data"]["checks"]["store"], "ok");
    let scrape = system_tests::scrape(&app, &token).await;
    assert_eq!(
        system_tests::sample(&scrape, "chat_messages", &[("role", "assistant")]),
        Some(2.0)
    );
}

#[tokio::test]
async fn an_idle_session_expires_and_refuses_new_questions() {
    let app = spawn_app_with(|cfg| cfg.chat.idle_expiry = Duration::from_secs(1)).await;
    let token = app.token().await;
    let (status, v) = app.ask_chat(&token, "short-lived", "hello").await;
    assert_eq!(status, 200, "{v}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_, s) = app
        .admin_json("/api/v1/admin/chat/sessions/short-lived", &token)
        .await;
    assert_eq!(s["data"]["status"], "expired");
    let (status, v) = app.ask_chat(&token, "short-lived", "still there?").await;
    assert_eq!(status, 409, "{v}");
    let mut sock = app.socket(&token).await;
    let a = sock
        .ask(&question("short-lived", "hello?", "c-1", Value::Null))
        .await;
    assert_eq!(a.last["type"], "error");
    assert_eq!(a.last["metadata"]["code"], "CONFLICT");
    // Its history can still be read.
    assert_eq!(
        history(&app, &token, "short-lived").await["stats"]["total_messages"],
        2
    );
}
