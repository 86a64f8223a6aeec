//! The `events/report-worker` files: what each must make report-worker do.

use super::*;

/// An inquiry submitted and closed `days` days ago, as a clock then would have.
async fn closed_days_ago(adapters: &Adapters, days: u64) -> backend_core::domain::InquiryId {
    use backend_core::domain::InquiryStatus::*;
    let then = time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(days * 24 * 3600);
    let clock = Arc::new(backend_core::ports::clock::FixedClock(then));
    let (inquiries, id) = crate::submitted_prospect(adapters, clock).await;
    for to in [Processing, Reviewed, Responded, Closed] {
        inquiries
            .change_status(&id, to, None, "consultant", "c")
            .await
            .unwrap();
    }
    id
}

/// Every report-worker event (its record's body replaced by a real
/// `inquiry_created` event) and the message ids it must report as failed, in the
/// order they are delivered; the retention schedule's input, which reports none.
pub const REPORT_WORKER: &[(&str, &[&str])] = &[
    ("batch-with-poison.json", &["poison-1"]),
    ("inquiry-created.json", &[]),
    ("retention-sweep.json", &[]),
];

/// A real `inquiry_created` event yields a report in S3 and DynamoDB; a poison record
/// in the same batch is the only failure reported back; a redelivery makes no second
/// report. With `RETENTION_DAYS=1`, the schedule's input erases an inquiry closed
/// three days ago, and nothing else.
pub struct ReportWorker {
    pub res: AwsResources,
    adapters: Adapters,
    inquiry_id: String,
    body: String,
    closed_id: backend_core::domain::InquiryId,
}

impl ReportWorker {
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let adapters = backend_aws::connect_polling(&sdk_config().await, &res);
        let (inquiry_id, body) = queued_inquiry(&adapters, QueueName::Reports).await;
        let closed_id = closed_days_ago(&adapters, 3).await;
        Self {
            res,
            adapters,
            inquiry_id,
            body,
            closed_id,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.push(("RETENTION_DAYS", "1".into()));
        env
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("report-worker", REPORT_WORKER.iter().map(|c| c.0));
        for (file, want) in REPORT_WORKER {
            let mut ev = event(&format!("report-worker/{file}"));
            if *file == "retention-sweep.json" {
                let answer = f.invoke(&ev).await;
                assert_eq!(answer, json!({"erased": 1}), "{file}\n{}", f.log());
                continue;
            }
            ev["Records"][0]["body"] = Value::String(self.body.clone());
            let answer = f.invoke(&ev).await;
            let failures: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: {answer}\n{}", f.log()))
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            assert_eq!(failures, *want, "{file}\n{}", f.log());
        }
        let adapters = &self.adapters;
        let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
        let reports = backend_core::app::reports::ReportService::new(
            deps,
            adapters.blobs.clone().unwrap(),
            Arc::new(backend_core::app::drafting::Drafter::template_only()),
        );
        let store = adapters.store.as_ref();
        assert!(
            backend_core::app::erasure::is_erased(store, &self.closed_id)
                .await
                .unwrap(),
            "the inquiry closed three days ago was erased"
        );
        let id = backend_core::domain::InquiryId::parse(&self.inquiry_id).unwrap();
        assert!(
            !backend_core::app::erasure::is_erased(store, &id)
                .await
                .unwrap(),
            "an open inquiry is kept"
        );
        let stored = reports.for_inquiry(&id).await.unwrap();
        assert_eq!(stored.len(), 1, "one report although the event came twice");
        assert_eq!(stored[0].generated_by, "template");
        let html = reports.html(&stored[0]).await.unwrap();
        assert!(html.contains("<h1>"), "the HTML page is in S3");
        let md = adapters
            .blobs
            .as_ref()
            .unwrap()
            .get(&stored[0].s3_key)
            .await
            .unwrap()
            .expect("Markdown in S3");
        assert_eq!(md.content_type, "text/markdown; charset=utf-8");
        let events = queued(adapters, QueueName::Events).await;
        assert_eq!(
            events
                .iter()
                .filter(|d| d.body.contains("report_generated"))
                .count(),
            1
        );
    }
}
