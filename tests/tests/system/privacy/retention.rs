//! Retention: closed inquiries erased by the dev server's sweep once they have been
//! closed for `RETENTION_DAYS`.

use super::erase;
use std::time::{Duration, Instant};
use system_tests::{json, json_of};

/// With `RETENTION_DAYS` set, the dev server's sweep erases a closed inquiry once it
/// has been closed that long, by the erasure's path, and leaves open ones alone.
#[tokio::test]
async fn the_dev_server_erases_closed_inquiries_after_the_retention_period() {
    let clock = system_tests::TestClock::new();
    let app = system_tests::spawn_app_on(system_tests::embedded_adapters(), clock.clone(), |c| {
        c.retention_days = Some(30)
    })
    .await;
    let token = app.token().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, v) = json_of(
            app.post_json("/api/v1/inquiries", &system_tests::prospect())
                .await,
        )
        .await;
        assert_eq!(status, 201, "{v}");
        ids.push(v["data"]["id"].as_str().unwrap().to_string());
    }
    let (closed, open) = (&ids[0], &ids[1]);
    for (id, path) in [
        (
            closed,
            &["processing", "reviewed", "responded", "closed"][..],
        ),
        (open, &["processing", "reviewed", "responded"][..]),
    ] {
        for status in path {
            let resp = app
                .admin_put(
                    &format!("/api/v1/inquiries/{id}/status"),
                    &token,
                    &json!({"status": status}),
                )
                .await;
            assert_eq!(resp.status(), 200, "{id} to {status}");
        }
    }
    let still = |id: String| {
        let app = &app;
        async move {
            let token = app.token().await;
            app.admin_json(&format!("/api/v1/inquiries/{id}"), &token)
                .await
                .0
        }
    };
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(still(closed.clone()).await, 200, "closed 29 days ago: kept");
    clock.advance(Duration::from_secs(2 * 24 * 3600));
    let deadline = Instant::now() + Duration::from_secs(15);
    while still(closed.clone()).await != 404 {
        assert!(
            Instant::now() < deadline,
            "erased within 15 s of becoming due"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(still(open.clone()).await, 200, "an open inquiry is kept");
    let token = app.token().await;
    let (status, record) = erase(&app, &token, closed, "asked again").await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["data"]["erased_by"], "retention");
    assert_eq!(record["data"]["reason"], "closed for more than 30 days");
}
