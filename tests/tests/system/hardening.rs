//! Hostile and careless clients, black-box: numbers at their limits, concurrent
//! password guessing, connections that never finish, oversized socket frames, the
//! headers every answer carries, the status transition table as every document
//! states it, and hook URLs shown without their secrets.

use backend_core::app::auth::MAX_FAILURES;
use std::time::{Duration, Instant};
use system_tests::{inquiry_body, json, json_of, spawn_app, spawn_app_with, TestApp, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HUGE: &str = "18446744073709551615";

#[tokio::test]
async fn huge_offsets_are_answered_in_the_envelope_never_by_a_panic() {
    let app = spawn_app().await;
    let token = app.token().await;
    for path in [
        format!("/api/v1/admin/inquiries?offset={HUGE}&limit=1"),
        format!("/api/v1/admin/inquiries?offset={HUGE}"),
        format!("/api/v1/admin/reports?offset={HUGE}&limit=1"),
        format!("/api/v1/admin/reports?offset={HUGE}"),
        format!("/api/v1/admin/chat/sessions?offset={HUGE}&limit=1"),
    ] {
        let (status, v) = app.admin_json(&path, &token).await;
        assert!(status == 200 || status == 400, "{path}: {status} {v}");
        if status == 200 {
            assert_eq!(v["success"], true, "{path}: {v}");
        } else {
            assert_eq!(v["code"], "VALIDATION_ERROR", "{path}: {v}");
            assert!(v["details"]["fields"]["offset"].is_string(), "{path}: {v}");
        }
    }
    // Past the end is an empty page whose number still says where it is.
    let (_, v) = app
        .admin_json(
            &format!("/api/v1/admin/inquiries?offset={HUGE}&limit=1"),
            &token,
        )
        .await;
    assert_eq!(v["data"], json!([]));
    assert_eq!(v["page"], json!(u64::MAX));
}

#[tokio::test]
async fn concurrent_wrong_passwords_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    let wrong = json!({"username": system_tests::ADMIN_USER, "password": "wrong"});
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let burst = (0..40).map(|_| {
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&wrong)
                .send()
        });
        for r in futures::future::join_all(burst).await {
            statuses.push(r.expect("answered").status().as_u16());
        }
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        (1..=MAX_FAILURES as usize).contains(&checked),
        "{checked} passwords checked, at most {MAX_FAILURES} allowed: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // The limit holds for the right password too.
    let right =
        json!({"username": system_tests::ADMIN_USER, "password": system_tests::ADMIN_PASSWORD});
    let (status, v) = json_of(app.post_json("/api/v1/auth/login", &right).await).await;
    assert_eq!((status, v["code"].as_str()), (429, Some("RATE_LIMITED")));
}

#[tokio::test]
async fn a_successful_sign_in_clears_the_failures_before_it() {
    let app = spawn_app().await;
    let wrong = json!({"username": system_tests::ADMIN_USER, "password": "wrong"});
    for _ in 0..MAX_FAILURES - 1 {
        let (status, _) = json_of(app.post_json("/api/v1/auth/login", &wrong).await).await;
        assert_eq!(status, 401);
    }
    app.token().await;
    // Without the reset the next failure would be the last allowed, and this the first refused.
    for _ in 0..2 {
        let (status, _) = json_of(app.post_json("/api/v1/auth/login", &wrong).await).await;
        assert_eq!(status, 401);
    }
}

/// Reads until the server closes the connection, or gives up at `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|_| got)
}

/// A connection to the app on which only the start of a request was sent.
async fn sent_in_part(app: &system_tests::TestApp, start: &[u8]) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(start).await.unwrap();
    stream
}

#[tokio::test]
async fn a_request_whose_headers_never_finish_is_cut_off() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_millis(500)).await;
    let mut stream =
        sent_in_part(&app, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await;
    let started = Instant::now();
    let answer = closed_within(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.is_some(), "the connection was still open after 10 s");
    assert!(started.elapsed() >= Duration::from_millis(400));
    // A client that finishes its headers in time is served as before.
    let (status, _) = json_of(app.get("/health").await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_request_whose_body_never_finishes_is_answered_408() {
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_millis(500)).await;
    let mut stream = sent_in_part(
        &app,
        b"POST /api/v1/inquiries HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"name\": ",
    )
    .await;
    let answer = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("answered and closed within 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"REQUEST_TIMEOUT\""), "{text}");
}

#[tokio::test]
async fn a_socket_frame_over_the_size_limit_gets_an_error_frame_and_a_1009_close() {
    let app = spawn_app().await;
    let token = app.token().await;
    let mut sock = app.socket(&token).await;
    let huge = json!({"type": "message", "content": "z".repeat(1_500_000)}).to_string();
    sock.send_text(&huge).await;
    let e = sock.next().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["metadata"]["code"], "FRAME_TOO_LARGE", "{e}");
    let (code, reason) = sock.close_frame().await.expect("a close frame with a code");
    assert_eq!(code, 1009);
    assert!(!reason.is_empty());
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let good =
        json!({"username": system_tests::ADMIN_USER, "password": system_tests::ADMIN_PASSWORD});
    let bad = json!({"username": system_tests::ADMIN_USER, "password": "wrong"});
    let token = app.token().await;
    let mut private = vec![
        ("login", app.post_json("/api/v1/auth/login", &good).await),
        (
            "failed login",
            app.post_json("/api/v1/auth/login", &bad).await,
        ),
        ("no token", app.get("/api/v1/inquiries").await),
    ];
    for path in [
        "/api/v1/inquiries",
        "/api/v1/admin/inquiries",
        "/api/v1/admin/metrics",
        "/api/v1/admin/reports",
        "/api/v1/hooks",
        "/api/v1/admin/chat/sessions",
        "/api/v1/admin/metrics?time_range=forever",
    ] {
        private.push((path, app.admin_get(path, &token).await));
    }
    for (what, r) in &private {
        assert_eq!(header(r, "cache-control"), Some("no-store"), "{what}");
        assert_eq!(
            header(r, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
    let preflight = app.preflight("http://localhost:5173").await;
    let public = vec![
        ("health", app.get("/health").await),
        ("services", app.get("/api/v1/config/services").await),
        ("unknown route", app.get("/no/such/route").await),
        ("preflight", preflight),
        ("socket refusal", app.get("/api/v1/admin/chat/ws").await),
        (
            "created",
            app.post_json("/api/v1/inquiries", &inquiry_body()).await,
        ),
    ];
    for (what, r) in &public {
        assert_eq!(
            header(r, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn credentials_are_allowed_only_to_an_allowed_origin() {
    let app = spawn_app().await;
    let get = |origin| app.get_from("/api/v1/config/services", origin);
    let allowed = get(Some("http://localhost:5173")).await;
    assert_eq!(
        header(&allowed, "access-control-allow-credentials"),
        Some("true")
    );
    for origin in [Some("https://evil.example"), None] {
        let r = get(origin).await;
        assert_eq!(
            header(&r, "access-control-allow-credentials"),
            None,
            "{origin:?}"
        );
    }
    let preflight = app.preflight("https://evil.example").await;
    assert_eq!(header(&preflight, "access-control-allow-credentials"), None);
}

async fn put_status(app: &TestApp, token: &str, id: &str, to: &str) -> (u16, Value) {
    let path = format!("/api/v1/inquiries/{id}/status");
    json_of(app.admin_put(&path, token, &json!({"status": to})).await).await
}

#[tokio::test]
async fn statuses_move_one_step_forward_or_back_and_closed_is_final() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    let id = created["data"]["id"].as_str().unwrap().to_string();

    let refused = |v: &Value, allowed: Value| {
        assert_eq!(v["code"], "INVALID_TRANSITION", "{v}");
        assert_eq!(v["details"]["allowed"], allowed, "{v}");
    };
    let (s, v) = put_status(&app, &token, &id, "closed").await;
    assert_eq!(s, 409, "pending -> closed skips three stages: {v}");
    refused(&v, json!(["processing"]));
    for step in ["processing", "reviewed", "responded"] {
        let (s, v) = put_status(&app, &token, &id, step).await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    let (s, v) = put_status(&app, &token, &id, "processing").await;
    assert_eq!(s, 409, "responded -> processing is two steps back: {v}");
    refused(&v, json!(["closed", "reviewed"]));
    for step in ["reviewed", "responded", "closed"] {
        let (s, v) = put_status(&app, &token, &id, step).await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    let (s, v) = put_status(&app, &token, &id, "responded").await;
    assert_eq!(s, 409);
    refused(&v, json!([]));

    // The OpenAPI document and the README state the table the server enforces.
    let (_, doc) = json_of(app.get("/api/v1/openapi.json").await).await;
    let stated = doc["components"]["schemas"]["StatusChange"]["description"]
        .as_str()
        .expect("the status change schema describes the transitions");
    assert!(
        stated.contains("pending → processing;") && stated.contains("closed is final"),
        "{stated}"
    );
    let readme = std::fs::read_to_string(system_tests::workspace_root().join("README.md")).unwrap();
    assert!(
        readme.contains(stated),
        "README.md does not state the table as {stated:?}"
    );
}

#[tokio::test]
async fn hook_urls_are_listed_without_query_or_credentials() {
    let hooks = backend_core::domain::hook::parse_hooks(
        &json!([
            {"id": "crm", "name": "CRM", "event": "status_changed", "action": {"type": "webhook",
             "url": "https://alice:pa55word@crm.example.com:8443/in/hook?token=t0ps3cret&x=1#frag",
             "secret": "a-signing-secret-of-some-length"}},
            {"id": "plain", "name": "Plain", "event": "inquiry_created", "action": {"type": "webhook",
             "url": "http://127.0.0.1:9/hook", "secret": "a-signing-secret-of-some-length"}}
        ])
        .to_string(),
    )
    .unwrap();
    let app = spawn_app_with(|c| c.notify.hooks = hooks).await;
    let token = app.token().await;
    let (status, v) = app.admin_json("/api/v1/hooks", &token).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data"][0]["action"]["url"],
        "https://crm.example.com:8443/in/hook"
    );
    assert_eq!(v["data"][1]["action"]["url"], "http://127.0.0.1:9/hook");
    let text = v.to_string();
    for secret in ["t0ps3cret", "pa55word", "alice", "frag"] {
        assert!(!text.contains(secret), "{secret} shown in {text}");
    }
}

#[tokio::test]
async fn the_public_form_is_limited_per_client_and_a_replay_does_not_count() {
    let app = system_tests::spawn_app_with(|cfg| {
        cfg.submissions_per_client = backend_core::app::limits::WindowLimit {
            max: 3,
            per: std::time::Duration::from_secs(3600),
        };
    })
    .await;
    let post = |key: &'static str| {
        app.client
            .post(app.url("/api/v1/inquiries"))
            .header("idempotency-key", key)
            .json(&system_tests::inquiry_body())
            .send()
    };
    for key in ["k-1", "k-2", "k-3"] {
        assert_eq!(post(key).await.unwrap().status(), 201, "{key}");
    }
    // A retried submission is answered as before and counts nothing.
    let replay = post("k-1").await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotency-replayed"], "true");
    let refused = post("k-4").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let (_, v) = system_tests::json_of(refused).await;
    assert_eq!(v["code"], "RATE_LIMITED", "{v}");
    // Nothing of the refused one was stored.
    let token = app.token().await;
    let (_, list) = app.admin_json("/api/v1/admin/inquiries", &token).await;
    assert_eq!(list["total"], 3, "{list}");
}
