//! The `events/notify-worker` files: what each must make notify-worker do.

use super::*;

/// Every notify-worker event and how often it is delivered; none may report a
/// failed message. `inquiry-created.json` carries a real `inquiry_created` event,
/// `report-generated.json` names that inquiry.
pub const NOTIFY_WORKER: &[(&str, usize)] =
    &[("inquiry-created.json", 2), ("report-generated.json", 1)];

/// An inquiry's confirmation e-mail through SES (read back from moto) and its Slack
/// message reach their targets once, however often the event is delivered; a report
/// event e-mails the consultants; the Slack URL, on loopback, is refused by the SSRF
/// guard.
pub struct NotifyWorker {
    pub res: AwsResources,
    sender: String,
    inquiry_id: String,
    created: String,
    slack: receiver::Receiver,
    /// Names the secret holding the Slack URL.
    slack_secret: String,
}

impl NotifyWorker {
    pub async fn new() -> Self {
        let res = aws_resources().await;
        let sdk = sdk_config().await;
        let sender = format!(
            "no-reply-{}@example.com",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        aws_sdk_sesv2::Client::new(&sdk)
            .create_email_identity()
            .email_identity(&sender)
            .send()
            .await
            .unwrap();
        let adapters = backend_aws::connect_polling(&sdk, &res);
        let (inquiry_id, created) = queued_inquiry(&adapters, QueueName::Events).await;
        let (slack, slack_url) = receiver::receiver(0).await;
        Self {
            res,
            sender,
            inquiry_id,
            created,
            slack,
            slack_secret: stored_secret(&slack_url).await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.push(("MAIL_FROM", self.sender.clone()));
        env.push((
            "CONSULTANT_EMAILS",
            r#"{"default": ["ops@example.com"]}"#.into(),
        ));
        env.push(("SLACK_SECRET_ID", self.slack_secret.clone()));
        env
    }

    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("notify-worker", NOTIFY_WORKER.iter().map(|c| c.0));
        for (file, deliveries) in NOTIFY_WORKER {
            let mut ev = event(&format!("notify-worker/{file}"));
            match *file {
                "inquiry-created.json" => {
                    ev["Records"][0]["body"] = Value::String(self.created.clone());
                }
                "report-generated.json" => {
                    let mut body: Value =
                        serde_json::from_str(ev["Records"][0]["body"].as_str().unwrap()).unwrap();
                    body["inquiry_id"] = Value::String(self.inquiry_id.clone());
                    ev["Records"][0]["body"] = Value::String(body.to_string());
                }
                other => panic!("{other}: no body for this event"),
            }
            for _ in 0..*deliveries {
                let answer = f.invoke(&ev).await;
                assert_eq!(
                    answer["batchItemFailures"],
                    json!([]),
                    "{file}: {answer}\n{}",
                    f.log()
                );
            }
        }

        let mails: Vec<String> = moto_sent_mail()
            .await
            .into_iter()
            .filter(|m| m.contains(&self.sender))
            .collect();
        assert_eq!(
            mails.len(),
            2,
            "one confirmation and one consultant e-mail: {mails:#?}"
        );
        assert!(mails
            .iter()
            .any(|m| m.contains("jane@example.com") && m.contains(&self.inquiry_id)));
        assert!(mails.iter().any(|m| m.contains("ops@example.com")));
        // Outside the dev server the SSRF guard refuses a loopback Slack URL; the
        // refusal is recorded as failed, not retried, and nothing reaches the receiver.
        assert_eq!(self.slack.calls.load(Ordering::SeqCst), 0);
    }
}
