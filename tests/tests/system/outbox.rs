//! An event leaves exactly when its change is stored: the write is the submission's
//! only call, and the store's change feed carries the outbox entries to the relay,
//! which sends each to its queue once, even when it fails midway. The feed's
//! contract and the relay run on the embedded store and on DynamoDB (its stream, on
//! moto).

use backend_core::app::{Deps, FeedRelay, InquiryService};
use backend_core::ports::{Adapters, Condition, Item, QueueName, SystemClock, WriteOp};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use system_tests::{
    eml_files, inquiry_body, json_of, spawn_app_in, spawn_app_on, CountingStore, FlakyQueue, Value,
};

/// The use cases' dependencies on `adapters`, with a queue that fails when told.
fn with_flaky_queue(adapters: &Adapters) -> (Arc<FlakyQueue>, Deps) {
    let flaky = FlakyQueue::new(adapters.queue.clone());
    let deps = Deps::new(
        Adapters {
            queue: flaky.clone(),
            ..adapters.clone()
        },
        Arc::new(SystemClock),
    );
    (flaky, deps)
}

/// The feed holds every write the relay reads (outbox entries) in order, the item as
/// written or `None` once deleted, and a read goes on after any position it handed
/// out.
async fn the_feed_holds_each_write_in_order(adapters: Adapters) {
    let (store, feed) = (
        adapters.store.clone(),
        adapters.feed.clone().expect("a feed"),
    );
    let put = |sk: &str| WriteOp::Put {
        item: Item::new("F#1", format!("OUTBOX#{sk}"), json!({"sk": sk})),
        condition: Condition::None,
    };
    store.write(vec![put("a")]).await.unwrap();
    store.write(vec![put("b"), put("c")]).await.unwrap();
    store
        .write(vec![WriteOp::Delete {
            pk: "F#1".into(),
            sk: "OUTBOX#a".into(),
            condition: Condition::None,
        }])
        .await
        .unwrap();
    let all = feed.read(None, 100).await.unwrap();
    let seen: Vec<(String, Option<Value>)> = all
        .iter()
        .map(|c| {
            (
                c.sk.replace("OUTBOX#", ""),
                c.item.as_ref().map(|i| i.data.clone()),
            )
        })
        .collect();
    // The two of one batch may come in either order; everything else in order.
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], ("a".into(), Some(json!({"sk": "a"}))));
    let mut batch = vec![seen[1].0.clone(), seen[2].0.clone()];
    batch.sort();
    assert_eq!(batch, ["b", "c"]);
    assert_eq!(seen[3], ("a".into(), None), "a delete has no item");
    assert!(all.iter().all(|c| c.pk == "F#1"));
    // From a position on, and at most as many as asked.
    let rest = feed.read(Some(&all[1].position), 100).await.unwrap();
    assert_eq!(rest, all[2..].to_vec());
    assert_eq!(feed.read(None, 1).await.unwrap(), all[..1].to_vec());
    assert!(feed
        .read(Some(&all[3].position), 10)
        .await
        .unwrap()
        .is_empty());
}

/// Two inquiries stored while the queue fails after one send: the submissions make
/// no queue call, the relay sends what it can, and the next pass sends the rest,
/// so each event reaches each of its queues exactly once.
async fn each_event_reaches_its_queues_once_through_the_feed(adapters: Adapters) {
    let (flaky, deps) = with_flaky_queue(&adapters);
    let svc = InquiryService::new(deps.clone());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = svc.submit(&inquiry_body(), None, "c").await.unwrap();
        ids.push(out.inquiry.id.to_string());
    }
    assert_eq!(flaky.sent(), 0, "a submission sends nothing itself");
    flaky.fail_after(1);
    let relay = FeedRelay::new(deps, adapters.feed.clone().expect("a feed"));
    let first = relay.run_once().await.unwrap();
    assert_eq!(first.sent, 1, "one went out before the failure");
    flaky.heal();
    assert_eq!(relay.run_once().await.unwrap().sent, 3);
    assert_eq!(relay.run_once().await.unwrap().sent, 0, "and nothing twice");

    for q in QueueName::ALL {
        let got = adapters
            .queue
            .receive(q, 10, Duration::from_secs(30))
            .await
            .unwrap();
        let mut by_inquiry: BTreeMap<String, usize> = BTreeMap::new();
        for m in &got {
            let event: Value = serde_json::from_str(&m.body).unwrap();
            assert_eq!(event["type"], "inquiry_created");
            *by_inquiry
                .entry(event["inquiry_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        let want: BTreeMap<String, usize> = ids.iter().map(|i| (i.clone(), 1)).collect();
        assert_eq!(by_inquiry, want, "{q:?}");
    }
}

/// The public POST on the dev server makes one call to the item store (the write)
/// and none to the queues.
async fn a_submission_is_one_write(adapters: Adapters) {
    let counting = CountingStore::new(adapters.store.clone());
    let flaky = FlakyQueue::new(adapters.queue.clone());
    flaky.heal();
    let app = spawn_app_on(
        Adapters {
            store: counting.clone(),
            queue: flaky.clone(),
            ..adapters
        },
        Arc::new(SystemClock),
        |c| {
            c.workers = false;
            c.relay_every = Duration::from_secs(3600);
        },
    )
    .await;
    // The relay loop's first pass at start: wait until it is over.
    counting.take_calls();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if counting.take_calls() == 0 {
            break;
        }
    }
    let (status, body) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(counting.take_calls(), 1, "one write, nothing else");
    assert_eq!(flaky.sent(), 0, "no queue call in the request");
}

/// A long backlog leaves one stored position per pass behind it; a batch made only
/// of those is moved past, so the relay reaches the entries after it and stops.
/// (The writes are one batch each: on moto every batch is a stream record. The
/// embedded feed leaves positions out, as the relay reads only outbox entries.)
async fn a_batch_of_only_relay_positions_is_moved_past(adapters: Adapters) {
    let (flaky, deps) = with_flaky_queue(&adapters);
    flaky.heal();
    for _ in 0..150 {
        let item = Item::new("FEED#relay", "POSITION", json!({"position": null}));
        let put = WriteOp::Put {
            item,
            condition: Condition::None,
        };
        adapters.store.write(vec![put]).await.unwrap();
    }
    InquiryService::new(deps.clone())
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let relay = FeedRelay::new(deps, adapters.feed.clone().expect("a feed"));
    let mut sent = 0;
    for pass in 0.. {
        assert!(pass < 20, "the relay keeps reading the same batch");
        let done = relay.run_once().await.unwrap();
        sent += done.sent;
        if !done.more {
            break;
        }
    }
    assert_eq!(sent, 2, "the inquiry's event went to both queues");
}

on_both_adapters!(
    a_batch_of_only_relay_positions_is_moved_past,
    the_feed_holds_each_write_in_order,
    each_event_reaches_its_queues_once_through_the_feed,
    a_submission_is_one_write,
);

/// The embedded feed logs only what the relay reads: a record, a counter and the
/// relay's own position cost no change of their own, while the outbox entry written
/// beside them is in the feed.
#[tokio::test]
async fn the_embedded_feed_logs_only_outbox_entries() {
    let adapters = system_tests::embedded_adapters();
    let put = |pk: &str, sk: &str| WriteOp::Put {
        item: Item::new(pk, sk, json!({"queue": "events", "id": "e1", "body": "{}"})),
        condition: Condition::None,
    };
    adapters
        .store
        .write(vec![
            put("INQ#1", "INQUIRY"),
            put("INQ#1", "OUTBOX#e1#events"),
            WriteOp::Add {
                pk: "COUNTS#x".into(),
                sk: "0".into(),
                deltas: vec![("new".into(), 1)],
            },
        ])
        .await
        .unwrap();
    adapters
        .store
        .write(vec![put("FEED#relay", "POSITION")])
        .await
        .unwrap();
    let feed = adapters.feed.clone().expect("a feed");
    let keys: Vec<(String, String)> = feed
        .read(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.pk, c.sk))
        .collect();
    assert_eq!(
        keys,
        [("INQ#1".to_string(), "OUTBOX#e1#events".to_string())]
    );
}

/// The dev server accepts an inquiry while its queue is down, is stopped, and after
/// a restart its relay delivers the event without any request.
#[tokio::test]
async fn dev_server_delivers_after_restart() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let real = system_tests::embedded_adapters_in(dir.path());
    let flaky = FlakyQueue::new(real.queue.clone());
    let app = spawn_app_in(
        dir.path().to_path_buf(),
        Some(Adapters {
            queue: flaky,
            ..real.clone()
        }),
        Some(dir.clone()),
    )
    .await;
    let (status, body) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(500)).await;
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
