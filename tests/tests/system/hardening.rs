//! Hostile and careless clients, black-box: numbers at their limits, concurrent
//! password guessing, connections that never finish, oversized socket frames, the
//! headers every answer carries, the status transition table as every document
//! states it, and hook URLs shown without their secrets.

use backend_core::app::auth::MAX_FAILURES;
use std::time::{Duration, Instant};
use system_tests::ws;
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
    let right = json!({"username": system_tests::ADMIN_USER, "password": system_tests::ADMIN_PASSWORD});
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
    let readme =
        std::fs::read_to_string(system_tests::workspace_root().join("README.md")).unwrap();
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
