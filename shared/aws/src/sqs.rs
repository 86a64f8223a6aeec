//! The queues on SQS. Dead-lettering is SQS's own redrive policy (set in
//! `template.yaml`); this adapter only finds the dead-letter queue to read it.

use crate::QueueUrls;
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use backend_core::ports::queue::Partial;
use backend_core::ports::{Delivery, Message, Queue, QueueError, QueueName};
use std::time::Duration;

/// Message attribute that carries the message id (the domain event id).
const ID_ATTR: &str = "message_id";

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    urls: QueueUrls,
}

fn unavailable<E: std::error::Error>(e: E) -> QueueError {
    QueueError::Unavailable(DisplayErrorContext(e).to_string())
}

impl SqsQueue {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self { client, urls }
    }

    async fn dead_letter_url(&self, queue: QueueName) -> Result<String, QueueError> {
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(self.urls.url(queue))
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(unavailable)?;
        let policy = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
            .ok_or_else(|| {
                QueueError::Unavailable(format!("queue {} has no redrive policy", queue.as_str()))
            })?;
        let arn = serde_json::from_str::<serde_json::Value>(policy)
            .ok()
            .and_then(|v| v["deadLetterTargetArn"].as_str().map(str::to_string))
            .ok_or_else(|| QueueError::Unavailable("unreadable redrive policy".into()))?;
        let name = arn.rsplit(':').next().unwrap_or_default();
        let out = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(unavailable)?;
        out.queue_url()
            .map(str::to_string)
            .ok_or_else(|| QueueError::Unavailable("dead-letter queue not found".into()))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_many(&self, queue: QueueName, msgs: &[Message]) -> Result<(), Partial> {
        let mut sent = 0;
        for chunk in msgs.chunks(10) {
            let failed = |error| Partial { sent, error };
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, msg)| {
                    let id = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(&msg.id)
                        .build()
                        .map_err(unavailable)?;
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&msg.body)
                        .message_attributes(ID_ATTR, id)
                        .build()
                        .map_err(unavailable)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed)?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(self.urls.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed(unavailable(e)))?;
            // Entries fail one by one: what went out is the run before the first
            // that failed (any sent after it are sent again, which consumers drop).
            // An id that does not parse counts as the first entry: nothing is taken
            // for sent that may not have been.
            let first_failed = out
                .failed()
                .iter()
                .map(|f| (f.id().parse::<usize>().unwrap_or(0), f.code()))
                .min_by_key(|(i, _)| *i);
            if let Some((i, code)) = first_failed {
                return Err(Partial {
                    sent: sent + i,
                    error: QueueError::Unavailable(format!("sending a message failed: {code}")),
                });
            }
            sent += chunk.len();
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.urls.url(queue))
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.messages().iter().map(delivery).collect())
    }

    async fn ack_many(&self, queue: QueueName, receipts: &[String]) -> Result<(), QueueError> {
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .map_err(unavailable)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(self.urls.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            // A receipt that expired is SQS's client error for that entry alone; the
            // message comes back, as an unacknowledged one does. Anything else is a
            // failure to report.
            if let Some(f) = out.failed().iter().find(|f| !f.sender_fault()) {
                return Err(QueueError::Unavailable(format!(
                    "deleting a message failed: {}",
                    f.code()
                )));
            }
        }
        Ok(())
    }

    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<Message>, QueueError> {
        let url = self.dead_letter_url(queue).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let d = delivery(m);
                Message {
                    id: d.id,
                    body: d.body,
                }
            })
            .collect())
    }

    async fn dead_letter_count(&self, queue: QueueName) -> Result<usize, QueueError> {
        let url = self.dead_letter_url(queue).await?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), QueueError> {
        for q in QueueName::ALL {
            self.client
                .get_queue_attributes()
                .queue_url(self.urls.url(q))
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

fn delivery(m: &aws_sdk_sqs::types::Message) -> Delivery {
    Delivery {
        receipt: m.receipt_handle().unwrap_or_default().to_string(),
        id: m
            .message_attributes()
            .and_then(|a| a.get(ID_ATTR))
            .and_then(|v| v.string_value())
            .or(m.message_id())
            .unwrap_or_default()
            .to_string(),
        body: m.body().unwrap_or_default().to_string(),
        receive_count: m
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
    }
}
