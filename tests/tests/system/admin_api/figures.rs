//! The figures: `/admin/metrics` and the Prometheus scrape agree with what happened.

use super::post_inquiry;
use std::time::Duration;
use system_tests::{json, json_of, spawn_app_with};

/// Two reports (100 and 300 ms) and four notifications written now, without the
/// counts a write adds today: as the workers stored them before.
async fn write_uncounted_records(data_dir: &std::path::Path) {
    use backend_core::app::records::{NOTIFICATIONS_INDEX, REPORTS_INDEX};
    use backend_core::ports::{Condition, Item, WriteOp};
    let adapters = system_tests::embedded_adapters_in(data_dir);
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

    let text = app
        .admin_text("/api/v1/metrics", &token, "text/plain; version=0.0.4")
        .await;
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
