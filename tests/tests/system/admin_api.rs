//! The admin API, black-box: sign-in, the token check on every protected route,
//! inquiry management, and the figures.

use backend_http::routes::{self, Access};
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use std::collections::HashSet;
use std::time::Duration;
use system_tests::{
    inquiry_body, json, json_of, spawn_app, spawn_app_with, TestApp, Value, ADMIN_PASSWORD,
    ADMIN_USER, JWT_SECRET,
};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims() -> Value {
    json!({"sub": "admin:x", "username": "x", "roles": ["admin"], "iss": "cloud-consulting-backend",
           "aud": "cloud-consulting-admin", "iat": now(), "nbf": now() - 10, "exp": now() + 600})
}

fn forge(c: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        c,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn post_inquiry(app: &TestApp, services: &[&str], message: &str) -> Value {
    let mut b = inquiry_body();
    b["services"] = json!(services);
    b["message"] = json!(message);
    let (status, v) = json_of(app.post_json("/api/v1/inquiries", &b).await).await;
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn sign_in_issues_a_token_with_the_contracted_claims() {
    let app = spawn_app().await;
    let (status, v) = json_of(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    let token = v["token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    for k in [
        "sub", "username", "roles", "iss", "aud", "iat", "nbf", "exp",
    ] {
        assert!(payload.get(k).is_some(), "claim {k} missing in {payload}");
    }
    assert_eq!(payload["roles"], json!(["admin"]));
    assert!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap() <= 24 * 3600);
    assert!(!v.to_string().contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn bad_credentials_are_refused_and_repeated_failures_rate_limited() {
    let app = spawn_app().await;
    for body in [
        json!({"username": ADMIN_USER, "password": "wrong"}),
        json!({"username": "nobody", "password": ADMIN_PASSWORD}),
    ] {
        let (status, v) = json_of(app.post_json("/api/v1/auth/login", &body).await).await;
        assert_eq!(
            (status, v["code"].as_str(), v["error"].as_str()),
            (
                401,
                Some("UNAUTHORIZED"),
                Some("Invalid username or password")
            )
        );
    }
    let (status, v) = json_of(
        app.post_json("/api/v1/auth/login", &json!({"username": ""}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["details"]["fields"]["password"].is_string());
    for _ in 0..3 {
        app.post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": "wrong"}),
        )
        .await;
    }
    // Five failures: now even the right password waits.
    let resp = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60);
    let (status, v) = json_of(resp).await;
    assert_eq!((status, v["code"].as_str()), (429, Some("RATE_LIMITED")));
}

#[tokio::test]
async fn no_protected_route_answers_without_a_valid_admin_token() {
    let app = spawn_app().await;
    let id = post_inquiry(&app, &["general"], "hello").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 720);
    let mut early = claims();
    early["nbf"] = json!(now() + 600);
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("someone-else");
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("another-app");
    let mut not_admin = claims();
    not_admin["roles"] = json!(["viewer"]);
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();

    let cases: Vec<(Option<String>, u16)> = vec![
        (None, 401),
        (Some("Bearer".into()), 401),
        (Some("Bearer not.a.jwt".into()), 401),
        (Some(format!("Basic {}", b64(&json!("admin:pw")))), 401),
        (Some(format!("Bearer {}", forge(&expired, JWT_SECRET))), 401),
        (Some(format!("Bearer {}", forge(&early, JWT_SECRET))), 401),
        (
            Some(format!(
                "Bearer {}",
                forge(&claims(), "another-secret-of-at-least-32-bytes!!")
            )),
            401,
        ),
        (Some(format!("Bearer {alg_none}")), 401),
        (Some(format!("Bearer {hs512}")), 401),
        (
            Some(format!("Bearer {}", forge(&wrong_iss, JWT_SECRET))),
            401,
        ),
        (
            Some(format!("Bearer {}", forge(&wrong_aud, JWT_SECRET))),
            401,
        ),
        (
            Some(format!("Bearer {}", forge(&not_admin, JWT_SECRET))),
            403,
        ),
    ];
    let protected: Vec<(reqwest::Method, &str)> = routes::all()
        .into_iter()
        .filter(|r| r.access == Access::Admin)
        .map(|r| (r.method, r.path))
        .collect();
    assert!(protected.len() >= 6, "{protected:?}");
    for (method, path) in &protected {
        let path = path.replace("{id}", &id);
        for (auth, want) in &cases {
            let mut req = app.client.request(method.clone(), app.url(&path));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if method == reqwest::Method::PUT {
                req = req.json(&json!({"status": "processing"}));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_eq!(status, *want, "{method} {path} with {auth:?}: {body}");
            assert_eq!(body["success"], false);
        }
    }
    // A forged token that is right in every respect is accepted: the refusals above
    // are about the token, not the route.
    let good = format!("Bearer {}", forge(&claims(), JWT_SECRET));
    let resp = app
        .client
        .get(app.url("/api/v1/inquiries"))
        .header("authorization", good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The inquiry was not moved by any refused PUT.
    let token = app.token().await;
    let (_, v) = app
        .admin_json(&format!("/api/v1/inquiries/{id}"), &token)
        .await;
    assert_eq!(v["data"]["status"], "pending");
}

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

    let adapters = backend_embedded::open(&app.data_dir).unwrap();
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
    let adapters = backend_embedded::open(&app.data_dir).unwrap();
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
    assert_eq!(
        (
            v["total"].as_u64(),
            v["page"].as_u64(),
            v["pages"].as_u64(),
            v["count"].as_u64()
        ),
        (Some(400), Some(4), Some(4), Some(100))
    );
    let (_, v) = app.admin_json("/api/v1/admin/inquiries", &token).await;
    assert_eq!(
        (
            v["total"].as_u64(),
            v["count"].as_u64(),
            v["page"].as_u64(),
            v["pages"].as_u64()
        ),
        (Some(1250), Some(10), Some(1), Some(125))
    );
    let (s, v) = app
        .admin_json("/api/v1/admin/inquiries?limit=101", &token)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("VALIDATION_ERROR")));
}

/// Two reports (100 and 300 ms) and four notifications written now, without the
/// counts a write adds today: as the workers stored them before.
async fn write_uncounted_records(data_dir: &std::path::Path) {
    use backend_core::app::records::{NOTIFICATIONS_INDEX, REPORTS_INDEX};
    use backend_core::ports::{Condition, Item, WriteOp};
    let adapters = backend_embedded::open(data_dir).unwrap();
    let at = backend_core::domain::rfc3339(time::OffsetDateTime::now_utc());
    let mut ops = Vec::new();
    for (i, ms) in [100.0, 300.0].iter().enumerate() {
        let report = json!({
            "id": format!("rep_0{i}"), "inquiry_id": "inq_01", "type": "migration",
            "title": "t", "content": "c", "status": "draft", "generated_by": "template",
            "reviewed_by": null, "s3_key": "k", "created_at": at, "updated_at": at,
            "generation_ms": ms,
        });
        ops.push(
            Item::new(format!("REPORT#{i}"), "R", report)
                .indexed(REPORTS_INDEX, format!("{at}#{i}")),
        );
    }
    for (i, (channel, status)) in [
        ("email", "sent"),
        ("email", "sent"),
        ("email", "failed"),
        ("slack", "failed"),
    ]
    .iter()
    .enumerate()
    {
        ops.push(
            Item::new(
                format!("NOTE#{i}"),
                "N",
                json!({"channel": channel, "status": status, "at": at}),
            )
            .indexed(NOTIFICATIONS_INDEX, format!("{at}#{i}")),
        );
    }
    ops.push(
        Item::new("REPORT#old", "R", json!({"generation_ms": 9999.0}))
            .indexed(REPORTS_INDEX, "2020-01-01T00:00:00Z#old"),
    );
    let writes = ops
        .into_iter()
        .map(|item| WriteOp::Put {
            item,
            condition: Condition::None,
        })
        .collect();
    adapters.store.write(writes).await.unwrap();
}

#[tokio::test]
async fn figures_are_measured_and_agree_between_admin_metrics_and_prometheus() {
    // Without the workers, the only report and notification records are the ones
    // this test writes, as they were stored before the counts existed.
    let dir = tempfile::tempdir().unwrap();
    write_uncounted_records(dir.path()).await;
    let data_dir = dir.path().to_path_buf();
    let app = spawn_app_with(|c| {
        c.workers = false;
        c.data_dir = data_dir;
    })
    .await;
    let token = app.token().await;
    post_inquiry(&app, &["migration"], "one").await;
    post_inquiry(&app, &["migration", "optimization"], "two").await;
    let moved = post_inquiry(&app, &["general"], "three").await;
    let (s, _) = json_of(
        app.admin_put(
            &format!("/api/v1/inquiries/{}/status", moved["id"].as_str().unwrap()),
            &token,
            &json!({"status": "processing"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);

    let (s, v) = app
        .admin_json("/api/v1/admin/metrics?time_range=24h", &token)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["meta"]["time_range"], "24h");
    let d = &v["data"];
    assert_eq!(d["total_inquiries"], 3);
    assert_eq!(d["inquiries_by_service"]["migration"], 2);
    assert_eq!(d["inquiries_by_service"]["general"], 1);
    assert_eq!(d["inquiries_by_status"]["pending"], 2);
    assert_eq!(d["inquiries_by_status"]["processing"], 1);

    // Report and notification records stored before the counts existed are
    // counted by the scheduled pass's backfill, once (the old one outside 1h).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let v = loop {
        let (_, v) = app
            .admin_json("/api/v1/admin/metrics?time_range=1h", &token)
            .await;
        if v["data"]["emails_sent"] == 2 || std::time::Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let d = &v["data"];
    assert_eq!(d["reports_generated"], 2, "{v}");
    assert_eq!(d["avg_report_gen_time_ms"].as_f64(), Some(200.0));
    assert_eq!(d["emails_sent"], 2);
    // A percentage, as the dashboard prints it.
    assert!((d["email_delivery_rate"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(d["total_inquiries"], 3);
    let (_, v) = app.admin_json("/api/v1/admin/metrics", &token).await;
    assert_eq!(v["meta"]["time_range"], "30d");
    let (s, v) = app
        .admin_json("/api/v1/admin/metrics?time_range=2w", &token)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("INVALID_TIME_RANGE")));

    let resp = app.admin_get("/api/v1/metrics", &token).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition format");
    let gauge = |service: &str, status: &str| {
        system_tests::sample(
            &scrape,
            "inquiries",
            &[("service", service), ("status", status)],
        )
    };
    assert_eq!(gauge("migration", "pending"), Some(2.0));
    assert_eq!(gauge("general", "processing"), Some(1.0));
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "http_requests_total"
                && s.labels.get("route") == Some("/api/v1/inquiries")
                && s.labels.get("status") == Some("201")),
        "requests are counted by route template and status"
    );
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric.starts_with("http_request_duration_seconds")));
}
