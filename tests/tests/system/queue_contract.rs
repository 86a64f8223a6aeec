//! The queue contract: SQLite and SQS on moto deliver, hide, redeliver and
//! dead-letter the same way.

use backend_core::ports::{Message, Queue, QueueName};
use backend_embedded::MAX_RECEIVES;
use std::sync::Arc;
use std::time::Duration;

type Q = Arc<dyn Queue>;

fn msg(id: &str) -> Message {
    Message {
        id: id.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    }
}

async fn send_receive_ack(q: Q) {
    q.send(QueueName::Events, &msg("m1")).await.unwrap();
    q.send(QueueName::Events, &msg("m2")).await.unwrap();
    let got = q
        .receive(QueueName::Events, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let mut ids: Vec<_> = got.iter().map(|d| d.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["m1", "m2"]);
    assert!(got
        .iter()
        .all(|d| d.receive_count == 1 && d.body.contains(&d.id)));
    for d in &got {
        q.ack(QueueName::Events, &d.receipt).await.unwrap();
    }
    assert!(q
        .receive(QueueName::Events, 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    q.ping().await.unwrap();
}

/// A batch is acknowledged in one call: the acknowledged messages are gone, the
/// one left out comes back once its visibility ends, and a receipt that names no
/// message (one already acknowledged) removes nothing and is no error.
async fn acks_many_at_once(q: Q) {
    for i in 0..4 {
        q.send(QueueName::Events, &msg(&format!("b{i}")))
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(
            q.receive(QueueName::Events, 10, Duration::from_secs(2))
                .await
                .unwrap(),
        );
        if got.len() == 4 {
            break;
        }
    }
    assert_eq!(got.len(), 4);
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let receipts: Vec<String> = got[..3].iter().map(|d| d.receipt.clone()).collect();
    q.ack_many(QueueName::Events, &receipts).await.unwrap();
    q.ack_many(QueueName::Events, &receipts[..1]).await.unwrap();
    q.ack_many(QueueName::Events, &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = q
        .receive(QueueName::Events, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let ids: Vec<_> = again.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["b3"]);
}

async fn hidden_until_visibility_ends(q: Q) {
    q.send(QueueName::Reports, &msg("h1")).await.unwrap();
    // Long enough that a stalled machine cannot let it lapse before the second look.
    let first = q
        .receive(QueueName::Reports, 1, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(q
        .receive(QueueName::Reports, 1, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let again = q
        .receive(QueueName::Reports, 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, "h1");
    assert_eq!(again[0].receive_count, 2);
}

async fn queues_are_separate(q: Q) {
    q.send(QueueName::Reports, &msg("r1")).await.unwrap();
    assert!(q
        .receive(QueueName::Events, 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        q.receive(QueueName::Reports, 10, Duration::ZERO)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn dead_letters_after_max_receives(q: Q) {
    q.send(QueueName::Events, &msg("poison")).await.unwrap();
    q.send(QueueName::Events, &msg("fine")).await.unwrap();
    let mut poison_deliveries = 0;
    for _ in 0..(MAX_RECEIVES + 3) {
        for d in q
            .receive(QueueName::Events, 10, Duration::ZERO)
            .await
            .unwrap()
        {
            if d.id == "poison" {
                poison_deliveries += 1; // never acknowledged
            } else {
                q.ack(QueueName::Events, &d.receipt).await.unwrap();
            }
        }
    }
    assert_eq!(
        poison_deliveries, MAX_RECEIVES,
        "delivered exactly max-receives times"
    );
    assert!(q
        .receive(QueueName::Events, 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    let dead = q.dead_letters(QueueName::Events).await.unwrap();
    assert_eq!(
        dead.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["poison"]
    );
    assert_eq!(q.dead_letter_count(QueueName::Events).await.unwrap(), 1);
    assert_eq!(q.dead_letter_count(QueueName::Reports).await.unwrap(), 0);
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::embedded_adapters().queue).await; })*
        }
        mod sqs {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::aws_adapters().await.queue).await; })*
        }
    };
}

contract!(
    send_receive_ack,
    acks_many_at_once,
    hidden_until_visibility_ends,
    queues_are_separate,
    dead_letters_after_max_receives
);
