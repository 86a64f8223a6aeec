//! Inquiry management: listing and filters, reading one, status moves, paging
//! under concurrent writes.

use super::post_inquiry;
use std::collections::HashSet;
use system_tests::{inquiry_body, json, json_of, spawn_app, spawn_app_with, Value, ADMIN_USER};

#[tokio::test]
async fn inquiries_are_listed_filtered_and_read() {
    // Without the report worker an inquiry reads back exactly as it was created.
    let app = spawn_app_with(|c| c.workers = false).await;
    let token = app.token().await;
    let a = post_inquiry(&app, &["migration"], "Plan for next year").await;
    let b = post_inquiry(
        &app,
        &["optimization", "assessment"],
        "Our site is down, help asap",
    )
    .await;
    let c = post_inquiry(&app, &["general"], "Just curious").await;

    let (status, v) = app.admin_json("/api/v1/inquiries", &token).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            c["id"].as_str().unwrap(),
            b["id"].as_str().unwrap(),
            a["id"].as_str().unwrap()
        ],
        "newest first"
    );
    assert_eq!(v["count"], 3);
    assert!(v["next_cursor"].is_null());

    let filtered = |q: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let (s, v) = app
                .admin_json(&format!("/api/v1/inquiries?{q}"), &token)
                .await;
            assert_eq!(s, 200, "{q}: {v}");
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        filtered("service=assessment").await,
        [b["id"].as_str().unwrap()]
    );
    assert_eq!(
        filtered("priority=urgent").await,
        [b["id"].as_str().unwrap()]
    );
    assert_eq!(filtered("priority=low").await, [c["id"].as_str().unwrap()]);
    assert_eq!(filtered("status=closed").await, Vec::<String>::new());
    assert_eq!(
        filtered("date_from=2000-01-01&date_to=2999-12-31")
            .await
            .len(),
        3
    );
    assert_eq!(filtered("date_to=2000-01-01").await.len(), 0);
    assert_eq!(
        filtered("date_from=2030-01-01&date_to=2020-01-01")
            .await
            .len(),
        0,
        "a reversed range lists nothing"
    );

    let (s, v) = app
        .admin_json(
            "/api/v1/inquiries?status=bogus&limit=0&priority=x&cursor=zzz&date_from=yesterday",
            &token,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("VALIDATION_ERROR")));
    let fields: Vec<&String> = v["details"]["fields"].as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["cursor", "date_from", "limit", "priority", "status"]
    );
    let (s, v) = app
        .admin_json("/api/v1/inquiries?status=pending&status=closed", &token)
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["details"]["fields"],
        json!({"status": "is given more than once"})
    );

    let (s, v) = app
        .admin_json(
            &format!("/api/v1/inquiries/{}", a["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!((s, &v["data"]), (200, &a));
    for missing in ["inq_01aaaaaaaaaaaaaaaaaaaaaaaa", "nope", "inq_..%2F..%2Fx"] {
        let (s, v) = app
            .admin_json(&format!("/api/v1/inquiries/{missing}"), &token)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn status_moves_follow_the_transition_table_and_emit_events() {
    // Without its workers the dev server leaves the queued events for this test to read.
    let app = spawn_app_with(|c| c.workers = false).await;
    let token = app.token().await;
    let id = post_inquiry(&app, &["migration"], "Move us").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/inquiries/{id}/status");

    let (s, v) = json_of(
        app.admin_put(&path, &token, &json!({"status": "responded"}))
            .await,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("INVALID_TRANSITION")),
        "{v}"
    );
    assert_eq!(v["details"]["allowed"], json!(["processing"]));
    let (s, v) = json_of(
        app.admin_put(&path, &token, &json!({"status": "finished"}))
            .await,
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("VALIDATION_ERROR")));

    for step in ["processing", "reviewed", "responded", "closed"] {
        let (s, v) = json_of(
            app.admin_put(&path, &token, &json!({"status": step, "note": "moving on"}))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{step}: {v}");
        assert_eq!(v["data"]["status"], step);
    }
    let (s, v) = json_of(
        app.admin_put(&path, &token, &json!({"status": "pending"}))
            .await,
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("INVALID_TRANSITION")));

    let adapters = system_tests::embedded_adapters_in(&app.data_dir);
    // The inquiry's creation and its four moves, as the relay sends them.
    let got = system_tests::arrived(&adapters, backend_core::ports::QueueName::Events, 5).await;
    let changes: Vec<(String, String)> = got
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap())
        .filter(|e| e["type"] == "status_changed")
        .map(|e| {
            (
                e["payload"]["to"].as_str().unwrap().to_string(),
                e["payload"]["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["processing", "reviewed", "responded", "closed"]
    );
    assert!(changes.iter().all(|c| c.1 == ADMIN_USER));
}

#[tokio::test]
async fn concurrent_status_changes_let_exactly_one_win() {
    let app = spawn_app().await;
    let token = app.token().await;
    let id = post_inquiry(&app, &["migration"], "Race").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/inquiries/{id}/status");
    let reqs = (0..8).map(|_| {
        app.client
            .put(app.url(&path))
            .bearer_auth(&token)
            .json(&json!({"status": "processing"}))
            .send()
    });
    let mut codes = Vec::new();
    for r in futures::future::join_all(reqs).await {
        let (s, v) = json_of(r.unwrap()).await;
        codes.push((s, v["code"].as_str().unwrap_or("").to_string()));
    }
    assert_eq!(codes.iter().filter(|c| c.0 == 200).count(), 1, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c.0 == 200
                || (c.0 == 409 && (c.1 == "CONFLICT" || c.1 == "INVALID_TRANSITION"))),
        "{codes:?}"
    );
}

#[tokio::test]
async fn paging_stays_correct_over_thousands_of_inquiries_and_concurrent_writes() {
    // The workers would draft 1,250 reports meanwhile; paging does not need them.
    let app = spawn_app_with(|c| c.workers = false).await;
    let token = app.token().await;
    let adapters = system_tests::embedded_adapters_in(&app.data_dir);
    let service = backend_core::app::InquiryService::new(backend_core::app::Deps::new(
        adapters,
        std::sync::Arc::new(backend_core::ports::SystemClock),
    ));
    let mut body = inquiry_body();
    let mut created = HashSet::new();
    for i in 0..1200 {
        body["services"] = json!([if i % 3 == 0 {
            "assessment"
        } else {
            "migration"
        }]);
        let out = service.submit(&body, None, "bulk").await.unwrap();
        created.insert(out.inquiry.id.to_string());
    }

    // Walk the cursor pages while new inquiries keep arriving.
    let writer = {
        let service = service.clone();
        let body = body.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                service.submit(&body, None, "late").await.unwrap();
            }
        })
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let (s, v) = app
            .admin_json(&format!("/api/v1/inquiries?limit=100{q}"), &token)
            .await;
        assert_eq!(s, 200, "{v}");
        for i in v["data"].as_array().unwrap() {
            seen.push((
                i["created_at"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            ));
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    writer.await.unwrap();
    let ids: HashSet<&String> = seen.iter().map(|s| &s.1).collect();
    assert_eq!(ids.len(), seen.len(), "no inquiry appears twice");
    assert!(
        created.iter().all(|id| ids.contains(id)),
        "every inquiry that existed before the walk is listed"
    );
    assert!(
        seen.windows(2).all(|w| w[0] >= w[1]),
        "newest first throughout"
    );

    // Offset paging counts what the filter matches.
    let (s, v) = app
        .admin_json(
            "/api/v1/admin/inquiries?service=assessment&limit=100&offset=300",
            &token,
        )
        .await;
    assert_eq!(s, 200);
    let paging = |v: &Value| json!([v["total"], v["page"], v["pages"], v["count"]]);
    assert_eq!(paging(&v), json!([400, 4, 4, 100]));
    let (_, v) = app.admin_json("/api/v1/admin/inquiries", &token).await;
    assert_eq!(paging(&v), json!([1250, 1, 125, 10]));
    let (s, v) = app
        .admin_json("/api/v1/admin/inquiries?limit=101", &token)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("VALIDATION_ERROR")));
}
