//! The public routes, black-box, against the dev server on a random port.

use system_tests::{inquiry_body, json, json_of, spawn_app, spawn_app_with, Value};

#[tokio::test]
async fn health_reports_its_checks() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/health").await).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["service"], "cloud-consulting-backend");
    assert_eq!(body["checks"], json!({"store": "ok", "queue": "ok"}));
    assert!(body["time"].as_str().unwrap().ends_with('Z'));
    assert!(body["version"].is_string());
}

#[tokio::test]
async fn services_are_listed_in_form_order() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/api/v1/config/services").await).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    let ids: Vec<&str> = body["data"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "assessment",
            "migration",
            "optimization",
            "architecture_review",
            "general"
        ]
    );
    assert_eq!(body["data"]["services"][3]["name"], "Architecture Review");
}

#[tokio::test]
async fn a_valid_inquiry_is_created_categorised_and_queued() {
    // Without its workers the dev server leaves the queued events for this test to read.
    let app = spawn_app_with(|c| c.workers = false).await;
    let mut b = inquiry_body();
    b["services"] = json!(["optimization", "assessment", "optimization"]);
    b["message"] = json!("Production is down since this morning, costs are exploding");
    b["unknown_field"] = json!("ignored");
    b.as_object_mut().unwrap().remove("phone");
    let resp = app
        .client
        .post(app.url("/api/v1/inquiries"))
        .header("x-correlation-id", "corr-123")
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], "corr-123");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Inquiry created successfully");
    let inq = &body["data"];
    assert!(inq["id"].as_str().unwrap().starts_with("inq_"));
    assert_eq!(inq["services"], json!(["optimization", "assessment"]));
    assert_eq!(inq["status"], "pending");
    assert_eq!(inq["priority"], "urgent");
    assert_eq!(inq["phone"], "");
    assert_eq!(inq["source"], "contact_form");
    assert!(inq["tags"].as_array().unwrap().contains(&json!("cost")));
    assert!(
        inq.get("reports").is_none(),
        "reports is omitted when empty"
    );
    assert!(inq.get("unknown_field").is_none());
    assert_eq!(inq["created_at"], inq["updated_at"]);
    let keys: Vec<&String> = inq.as_object().unwrap().keys().collect();
    for k in [
        "id",
        "name",
        "email",
        "company",
        "phone",
        "services",
        "message",
        "source",
        "status",
        "priority",
        "tags",
        "created_at",
        "updated_at",
    ] {
        assert!(inq.get(k).is_some(), "missing {k} in {keys:?}");
    }

    // The inquiry_created event reaches both queues, carrying the correlation id.
    let adapters = system_tests::embedded_adapters_in(&app.data_dir);
    for q in backend_core::ports::QueueName::ALL {
        let got = system_tests::arrived(&adapters, q, 1).await;
        assert_eq!(got.len(), 1, "{q:?}");
        let event: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(event["type"], "inquiry_created");
        assert_eq!(event["inquiry_id"], inq["id"]);
        assert_eq!(event["correlation_id"], "corr-123");
        assert_eq!(got[0].id, event["id"].as_str().unwrap());
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let bad = json!({"name": " J ", "email": "jane@", "phone": "12ab", "services": ["teleport"], "message": "   ", "company": "c".repeat(201), "source": "s".repeat(51)});
    let (status, body) = json_of(app.post_json("/api/v1/inquiries", &bad).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "VALIDATION_ERROR");
    let fields = body["details"]["fields"].as_object().unwrap();
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["company", "email", "message", "name", "phone", "services", "source"]
    );
    assert!(body["error"].as_str().unwrap().len() > 5);
}

#[tokio::test]
async fn transport_errors_use_the_envelope() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/inquiries");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            app.client
                .post(&url)
                .header("content-type", "text/plain")
                .body("{}"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            app.client.post(&url).body("{}"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"name\": "),
            400,
            "INVALID_JSON",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(""),
            400,
            "INVALID_JSON",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(vec![0xff, 0xfe, 0x00]),
            400,
            "INVALID_JSON",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body("x".repeat(64 * 1024 + 1)),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body("[1,2,3]"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .header("idempotency-key", "has space")
                .json(&inquiry_body()),
            400,
            "VALIDATION_ERROR",
        ),
        (
            app.client.get(app.url("/api/v1/nothing-here")),
            404,
            "NOT_FOUND",
        ),
        (app.client.get(app.url("/")), 404, "NOT_FOUND"),
        (
            app.client.delete(app.url("/api/v1/inquiries")),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (req, want_status, want_code) in cases {
        let (status, body) = json_of(req.send().await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (want_status, want_code),
            "{body}"
        );
        assert_eq!(body["success"], false);
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn no_body_ever_gets_a_server_error() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<String> = vec![
        "null".into(),
        "true".into(),
        "\"string\"".into(),
        "1e400".into(),
        deep,
        json!({"name": null, "email": null, "services": null, "message": null}).to_string(),
        json!({"name": {"a": 1}, "email": 5, "services": [1, null, {}], "message": ["x"]}).to_string(),
        json!({"name": "\u{0000}\u{0000}", "email": "a@b.io\u{0000}", "services": ["general"], "message": "\u{202e}"}).to_string(),
        json!({"name": "Ωmega 😀", "email": "x@y.zz", "services": ["general"], "message": "ok", "phone": "+".repeat(32)}).to_string(),
        json!({"name": "ab", "email": format!("{}@example.com", "a".repeat(300)), "services": ["general"], "message": "m"}).to_string(),
    ];
    for b in bodies {
        let resp = app
            .client
            .post(app.url("/api/v1/inquiries"))
            .header("content-type", "application/json")
            .body(b.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(status < 500, "{status} for {}", &b[..b.len().min(80)]);
        let (_, body) = json_of(resp).await;
        assert!(body["success"].is_boolean(), "{body}");
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_even_after_a_restart() {
    let app = spawn_app().await;
    let post = |app: &system_tests::TestApp, key: &str, body: &Value| {
        app.client
            .post(app.url("/api/v1/inquiries"))
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let first = post(&app, "key-1", &inquiry_body()).await.unwrap();
    assert!(first.headers().get("idempotency-replayed").is_none());
    let (s1, b1) = json_of(first).await;
    assert_eq!(s1, 201);

    let again = post(&app, "key-1", &inquiry_body()).await.unwrap();
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    let (s2, b2) = json_of(again).await;
    assert_eq!((s2, &b2), (201, &b1));

    let mut other = inquiry_body();
    other["message"] = json!("A different question");
    let (s3, b3) = json_of(post(&app, "key-1", &other).await.unwrap()).await;
    assert_eq!((s3, b3["code"].as_str()), (409, Some("CONFLICT")));

    let app = app.restart().await;
    let (s4, b4) = json_of(post(&app, "key-1", &inquiry_body()).await.unwrap()).await;
    assert_eq!((s4, &b4), (201, &b1), "the replay survives a restart");

    // A new key is a new inquiry.
    let (_, b5) = json_of(post(&app, "key-2", &inquiry_body()).await.unwrap()).await;
    assert_ne!(b5["data"]["id"], b1["data"]["id"]);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_inquiry() {
    let app = spawn_app().await;
    let reqs = (0..8).map(|_| {
        app.client
            .post(app.url("/api/v1/inquiries"))
            .header("idempotency-key", "same")
            .json(&inquiry_body())
            .send()
    });
    let answers = futures::future::join_all(reqs).await;
    let mut ids = std::collections::HashSet::new();
    for r in answers {
        let (status, body) = json_of(r.unwrap()).await;
        assert_eq!(status, 201, "{body}");
        ids.insert(body["data"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app().await;
    let ok = app.preflight("http://localhost:5173").await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        methods.contains("POST") && methods.contains("PUT"),
        "{methods}"
    );

    let other = app.preflight("https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let get = app.get_from("/health", Some("http://localhost:5173")).await;
    assert_eq!(
        get.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let get = app.get_from("/health", Some("http://localhost:5174")).await;
    assert!(get.headers().get("access-control-allow-origin").is_none());
}
