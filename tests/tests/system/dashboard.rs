//! The existing dashboard's requests, as it sends them, against the dev server: the
//! places where the API and the dashboard once disagreed (API.md states each).

use system_tests::{inquiry_body, json, json_of, spawn_app};

#[tokio::test]
async fn a_chat_session_is_created_from_the_dashboards_body_ignoring_what_the_server_owns() {
    let app = spawn_app().await;
    let token = app.token().await;
    // Exactly what the dashboard posts, plus fields only the server may set.
    let body = json!({
        "consultant_id": "current-user",
        "client_name": "Acme Corp",
        "context": "",
        "status": "active",
        "id": "chosen-by-client",
        "user_id": "someone-else",
        "created_at": "2000-01-01T00:00:00Z",
    });
    let (status, v) = app
        .admin_post_json("/api/v1/admin/chat/sessions", &token, &body)
        .await;
    assert_eq!(status, 201, "{v}");
    let s = &v["data"];
    assert_eq!(s["client_name"], "Acme Corp");
    assert_eq!(s["status"], "active");
    assert_ne!(s["id"], "chosen-by-client");
    assert_ne!(s["user_id"], "someone-else");
    assert_ne!(s["created_at"], "2000-01-01T00:00:00Z");
    // Creating with another status is ignored too: the server owns it on creation.
    let (status, v) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &token,
            &json!({"client_name": "Globex", "status": "inactive"}),
        )
        .await;
    assert_eq!(
        (status, v["data"]["status"].as_str()),
        (201, Some("active"))
    );
    // A bad known field is still named.
    let (status, v) = app
        .admin_post_json(
            "/api/v1/admin/chat/sessions",
            &token,
            &json!({"client_name": 42, "status": "active"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["details"]["fields"]["client_name"].is_string(), "{v}");
    assert!(v["details"]["fields"].get("status").is_none(), "{v}");
}

#[tokio::test]
async fn the_email_delivery_rate_is_a_percentage() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (status, created) =
        json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    assert_eq!(status, 201);
    let id = created["data"]["id"].as_str().unwrap();
    app.wait_for_report(&token, id).await;
    // The confirmation and the consultants' mail, both sent: 100 %, not 1.0.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, m) = app
            .admin_json("/api/v1/admin/metrics?time_range=1h", &token)
            .await;
        if m["data"]["emails_sent"].as_u64() == Some(2) {
            assert_eq!(
                m["data"]["email_delivery_rate"].as_f64(),
                Some(100.0),
                "{m}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "mails not sent: {m}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn admin_list_items_carry_their_reports() {
    let app = spawn_app().await;
    let token = app.token().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
        ids.push(created["data"]["id"].as_str().unwrap().to_string());
    }
    let mut report_ids = Vec::new();
    for id in &ids {
        report_ids.push(app.wait_for_report(&token, id).await["id"].clone());
    }
    let (status, v) = app
        .admin_json("/api/v1/admin/inquiries?limit=10", &token)
        .await;
    assert_eq!(status, 200, "{v}");
    for (id, report_id) in ids.iter().zip(&report_ids) {
        let item = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} listed: {v}"));
        let reports = item["reports"]
            .as_array()
            .unwrap_or_else(|| panic!("{item}"));
        assert_eq!(reports.len(), 1, "{item}");
        assert_eq!(&reports[0]["id"], report_id);
        assert_eq!(reports[0]["inquiry_id"], id.as_str());
        assert!(reports[0]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty()));
    }
    // The same reports as the inquiry's own read gives.
    let (_, one) = app
        .admin_json(&format!("/api/v1/inquiries/{}", ids[0]), &token)
        .await;
    let listed = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(listed["reports"], one["data"]["reports"]);
}

#[tokio::test]
async fn the_report_listing_gives_twenty_by_default() {
    let app = spawn_app().await;
    let token = app.token().await;
    for _ in 0..22 {
        let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
        app.wait_for_report(&token, created["data"]["id"].as_str().unwrap())
            .await;
    }
    let (status, v) = app.admin_json("/api/v1/admin/reports", &token).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 20, "{v}");
    assert_eq!(v["total"], 22);
    let (_, v) = app
        .admin_json("/api/v1/admin/reports?limit=100", &token)
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 22);
    let (status, v) = app
        .admin_json("/api/v1/admin/reports?limit=101", &token)
        .await;
    assert_eq!(status, 400, "{v}");
}
