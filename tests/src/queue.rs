//! The contact intake queue for tests and benchmarks: a FIFO queue in moto
//! and a driver that does what Lambda's SQS event source does.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::QueueAttributeName;
use campaign_api::Api;
use serde_json::{json, Value};
use shared::deadline::Deadline;

use crate::{unique, TestStack};

/// A FIFO intake queue in moto, and Lambda's SQS event source over it.
pub struct Queue {
    /// The SQS client.
    pub sqs: aws_sdk_sqs::Client,
    /// The queue's URL.
    pub url: String,
    failed: std::sync::Mutex<Vec<String>>,
}

impl Queue {
    /// An intake queue handle for the API.
    pub fn intake(&self) -> campaign_api::contact_queue::IntakeQueue {
        campaign_api::contact_queue::IntakeQueue::new(self.sqs.clone(), self.url.clone())
    }

    /// Creates a new FIFO queue (visibility 30 minutes, as in the template).
    pub async fn create(stack: &TestStack) -> Queue {
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
        let out = sqs
            .create_queue()
            .queue_name(format!("{}.fifo", unique("intake")))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::VisibilityTimeout, "1800")
            .send()
            .await
            .expect("create the FIFO queue in moto");
        Queue {
            sqs,
            url: out.queue_url.expect("queue url"),
            failed: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// One poll as Lambda's event source does: the visible messages become one
    /// event; those not reported as failures are deleted (the receipt handles
    /// of the failed ones are kept for [`Queue::expire_delays`]). Returns the
    /// number of messages handled and the failures.
    pub async fn work(&self, api: &Api, budget: Duration) -> (usize, SqsBatchResponse) {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle,
                       "body": m.body, "eventSource": "aws:sqs"})
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
        let response = api
            .handle_intake_event(event, &Deadline::after(budget))
            .await;
        for m in &messages {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| Some(&f.item_identifier) == m.message_id.as_ref());
            if failed {
                self.failed
                    .lock()
                    .unwrap()
                    .push(m.receipt_handle.clone().unwrap());
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        (messages.len(), response)
    }

    /// Makes the failed messages visible again (their retry delay passed).
    pub async fn expire_delays(&self) {
        let handles: Vec<String> = std::mem::take(&mut *self.failed.lock().unwrap());
        for handle in handles {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .expect("change visibility");
        }
    }
}
