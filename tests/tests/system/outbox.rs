//! No inquiry is stored without its event reaching the queue: the send is made to
//! fail right after the write, and the outbox relay must still deliver, on the
//! embedded store and on DynamoDB.

use backend_core::app::{Deps, InquiryService, OutboxRelay};
use backend_core::ports::Adapters;
use backend_core::ports::{QueueName, SystemClock};
use std::sync::Arc;
use std::time::Duration;
use system_tests::{eml_files, inquiry_body, json_of, spawn_app_in, FlakyQueue, Value};

/// The use cases' dependencies on `adapters`, with a queue that fails when told.
fn with_flaky_queue(adapters: &Adapters) -> (Arc<FlakyQueue>, Deps) {
    let flaky = FlakyQueue::new(adapters.queue.clone());
    let deps = Deps::new(
        Adapters {
            store: adapters.store.clone(),
            queue: flaky.clone(),
            blobs: adapters.blobs.clone(),
        },
        Arc::new(SystemClock),
    );
    (flaky, deps)
}

async fn send_failure_after_write_is_recovered(adapters: Adapters) {
    let (flaky, deps) = with_flaky_queue(&adapters);
    let out = InquiryService::new(deps.clone())
        .submit(&inquiry_body(), None, "c-1")
        .await
        .unwrap();
    assert!(
        !out.replayed,
        "the prospect is answered although the queue is down"
    );
    let id = out.inquiry.id.to_string();
    for q in QueueName::ALL {
        assert!(adapters
            .queue
            .receive(q, 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty());
    }

    let relay = OutboxRelay::new(deps, Duration::ZERO);
    assert_eq!(
        relay.pending().await.unwrap().len(),
        2,
        "one entry per queue waits in the outbox"
    );
    assert_eq!(
        relay.run_once().await.unwrap(),
        0,
        "nothing is sent while the queue is still down"
    );
    flaky.heal();
    assert_eq!(relay.run_once().await.unwrap(), 2);
    assert!(relay.pending().await.unwrap().is_empty());
    assert_eq!(
        relay.run_once().await.unwrap(),
        0,
        "a second pass sends nothing again"
    );

    for q in QueueName::ALL {
        let got = adapters
            .queue
            .receive(q, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{q:?}");
        let event: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(
            (event["type"].as_str(), event["inquiry_id"].as_str()),
            (Some("inquiry_created"), Some(id.as_str()))
        );
    }
}

#[tokio::test]
async fn sqlite_send_failure_after_write_is_recovered() {
    send_failure_after_write_is_recovered(system_tests::embedded_adapters()).await;
}

#[tokio::test]
async fn dynamodb_send_failure_after_write_is_recovered() {
    send_failure_after_write_is_recovered(system_tests::aws_adapters().await).await;
}

#[tokio::test]
async fn young_entries_are_left_to_the_request_that_wrote_them() {
    let adapters = system_tests::embedded_adapters();
    let (flaky, deps) = with_flaky_queue(&adapters);
    InquiryService::new(deps.clone())
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    flaky.heal();
    let relay = OutboxRelay::new(deps, Duration::from_secs(3600));
    assert_eq!(relay.run_once().await.unwrap(), 0);
    assert_eq!(relay.pending().await.unwrap().len(), 2);
}

/// The dev server accepts an inquiry while its queue is down, is stopped, and after
/// a restart its relay delivers the event without any request.
#[tokio::test]
async fn dev_server_delivers_after_restart() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let real = backend_embedded::open(dir.path()).unwrap();
    let flaky = FlakyQueue::new(real.queue.clone());
    let app = spawn_app_in(
        dir.path().to_path_buf(),
        Some(Adapters {
            store: real.store.clone(),
            queue: flaky,
            blobs: real.blobs.clone(),
        }),
        Some(dir.clone()),
    )
    .await;
    let (status, body) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    assert_eq!(status, 201);
    let (data_dir, keep) = app.stop().await;
    assert!(real
        .queue
        .receive(QueueName::Events, 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());

    // The restarted server's own notify worker takes the event off the queue, so the
    // delivery shows as the confirmation mail it sends, not as a message left to read.
    let outbox = data_dir.join("outbox");
    let _app = spawn_app_in(data_dir, None, keep).await;
    let id = body["data"]["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !eml_files(&outbox).iter().any(|m| m.contains(id)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the relay did not deliver after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
