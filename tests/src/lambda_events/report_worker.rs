//! The `events/report-worker` files: what each must make report-worker do.

use super::*;

/// Every report-worker event (its record's body replaced by a real
/// `inquiry_created` event) and the message ids it must report as failed, in the
/// order they are delivered.
pub const REPORT_WORKER: &[(&str, &[&str])] = &[
    ("batch-with-poison.json", &["poison-1"]),
    ("inquiry-created.json", &[]),
];

/// A real `inquiry_created` event yields a report in S3 and DynamoDB; a poison record
/// in the same batch is the only failure reported back; a redelivery makes no second
/// report.
pub struct ReportWorker {
    pub res: AwsResources,
    adapters: Adapters,
    inquiry_id: String,
    body: String,
}

impl ReportWorker {
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let adapters = backend_aws::connect_polling(&sdk_config().await, &res);
        let (inquiry_id, body) = queued_inquiry(&adapters, QueueName::Reports).await;
        Self {
            res,
            adapters,
            inquiry_id,
            body,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("report-worker", REPORT_WORKER.iter().map(|c| c.0));
        for (file, want) in REPORT_WORKER {
            let mut ev = event(&format!("report-worker/{file}"));
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
        let id = backend_core::domain::InquiryId::parse(&self.inquiry_id).unwrap();
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
