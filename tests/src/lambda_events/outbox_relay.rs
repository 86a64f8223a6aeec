//! The `events/outbox-relay` files: what each must make outbox-relay do.

use super::*;

/// Each stream event, and how many of its records are entries sent to each queue
/// (reports, events): a removal (an entry's expiry) sends nothing.
pub const OUTBOX_RELAY: &[(&str, [usize; 2])] = &[("stream.json", [1, 1])];

pub struct OutboxRelay {
    pub res: AwsResources,
    adapters: Adapters,
    inquiry_id: String,
}

impl OutboxRelay {
    /// An inquiry stored as before the index was keyed by status and before the
    /// counts: the relay's backfill batch moves and counts it.
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let adapters = backend_aws::connect_with(&sdk_config().await, &res);
        let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
        let out = backend_core::app::InquiryService::new(deps)
            .submit(&inquiry_body(), None, "c")
            .await
            .unwrap();
        let inquiry_id = out.inquiry.id.to_string();
        move_to_legacy_partition(&*adapters.store, &inquiry_id).await;
        Self {
            res,
            adapters,
            inquiry_id,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("outbox-relay", OUTBOX_RELAY.iter().map(|c| c.0));
        for (file, per_queue) in OUTBOX_RELAY {
            let ev = event(&format!("outbox-relay/{file}"));
            let answer = f.invoke(&ev).await;
            assert_eq!(
                answer,
                json!({"batchItemFailures": []}),
                "{file}\n{}",
                f.log()
            );
            let ids: Vec<String> = ev["Records"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["dynamodb"]["NewImage"]["data"]["S"].as_str())
                .map(|d| {
                    serde_json::from_str::<Value>(d).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            for (q, want) in QueueName::ALL.into_iter().zip(per_queue) {
                let msgs = self
                    .adapters
                    .queue
                    .receive(q, 10, Duration::from_secs(30))
                    .await
                    .unwrap();
                let relayed = msgs.iter().filter(|m| ids.contains(&m.id)).count();
                assert_eq!(relayed, *want, "{file}: {q:?}\n{}", f.log());
            }
        }
        // The backfill batch after the relay moved the old inquiry.
        assert_eq!(
            index_partition(&*self.adapters.store, &self.inquiry_id)
                .await
                .as_deref(),
            Some("INQUIRIES#pending")
        );
    }
}
