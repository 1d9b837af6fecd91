//! A local SQS event source mapping: what Lambda's poller does for a queue
//! trigger with `ReportBatchItemFailures`, over moto's SQS.
//!
//! [`TaskQueues::create`] makes a task queue with its dead-letter queue
//! (`RedrivePolicy`, as `template.yaml` declares them); [`EventSource::drain`]
//! receives batches of up to [`EventSource::batch_size`] messages, invokes a
//! handler with each batch as an SQS event (at most
//! [`EventSource::max_concurrency`] batches at once), deletes the messages
//! the handler did not report in `batchItemFailures`, and leaves the others
//! to reappear after the queue's visibility timeout, until the queue holds
//! nothing. moto moves a message to the dead-letter queue once its receive
//! count passes `maxReceiveCount`, as SQS does.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::StackError;

/// A task queue and its dead-letter queue.
#[derive(Clone, Debug)]
pub struct TaskQueues {
    /// The task queue's URL (a function's `TASK_QUEUE_URL`).
    pub url: String,
    /// The dead-letter queue's URL.
    pub dead_letter_url: String,
    /// The task queue's ARN (the SQS event's `eventSourceARN`).
    pub arn: String,
}

fn sqs_error(what: &str, e: impl std::fmt::Display) -> StackError {
    StackError::Sqs(format!("SQS {what}: {e}"))
}

impl TaskQueues {
    /// Creates `name` and `name-dlq` (or finds them): a redelivered message
    /// goes to the dead-letter queue after `max_receives` receives; a
    /// failed message reappears after `visibility`.
    pub async fn create(
        sqs: &aws_sdk_sqs::Client,
        name: &str,
        max_receives: u32,
        visibility: Duration,
    ) -> Result<Self, StackError> {
        let dead_letter_url = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .map_err(|e| sqs_error("CreateQueue", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .unwrap_or_default();
        let dead_letter_arn = queue_arn(sqs, &dead_letter_url).await?;
        let redrive = json!({"deadLetterTargetArn": dead_letter_arn,
            "maxReceiveCount": max_receives.to_string()});
        let url = sqs
            .create_queue()
            .queue_name(name)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility.as_secs().to_string(),
            )
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(|e| sqs_error("CreateQueue", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .unwrap_or_default();
        let arn = queue_arn(sqs, &url).await?;
        Ok(Self {
            url,
            dead_letter_url,
            arn,
        })
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, StackError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            sqs_error(
                "GetQueueAttributes",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?;
    Ok(out
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default())
}

/// Messages waiting or in flight in the queue at `url` (SQS's approximate counts).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64, StackError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| {
            sqs_error(
                "GetQueueAttributes",
                aws_sdk_sqs::error::DisplayErrorContext(e),
            )
        })?;
    let attributes = out.attributes.unwrap_or_default();
    let count = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
        + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
}

/// What one [`EventSource::drain`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Invocations (batches handed to the handler).
    pub invocations: usize,
    /// Messages handed over, redeliveries included.
    pub deliveries: usize,
    /// Messages the handler reported as failed (left for redelivery).
    pub failures: usize,
    /// Invocations that failed as a whole (every message left).
    pub failed_invocations: usize,
}

/// Lambda's poller over one queue.
#[derive(Clone, Debug)]
pub struct EventSource {
    /// The SQS client.
    pub sqs: aws_sdk_sqs::Client,
    /// The queue polled.
    pub queues: TaskQueues,
    /// Messages per invocation (the mapping's `BatchSize`).
    pub batch_size: i32,
    /// Batches in flight at once (the mapping's `MaximumConcurrency`).
    pub max_concurrency: usize,
}

impl EventSource {
    /// The SQS event Lambda would send for `messages`.
    pub fn event(&self, messages: &[Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle,
                    "body": m.body, "attributes": {}, "messageAttributes": {},
                    "md5OfBody": m.md5_of_body, "eventSource": "aws:sqs",
                    "eventSourceARN": self.queues.arn, "awsRegion": crate::aws::LOCAL_REGION})
            })
            .collect();
        json!({ "Records": records })
    }

    /// One receive: up to [`Self::batch_size`] visible messages.
    pub async fn receive(&self) -> Result<Vec<Message>, StackError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queues.url)
            .max_number_of_messages(self.batch_size)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Delivers the queue's messages to `invoke` until the queue is empty
    /// (failed messages come back after the visibility timeout, until the
    /// dead-letter queue takes them) or `limit` has passed.
    pub async fn drain<F, Fut>(&self, invoke: F, limit: Duration) -> Result<DrainReport, StackError>
    where
        F: Fn(Value) -> Fut,
        Fut: Future<Output = Result<Value, String>>,
    {
        let started = Instant::now();
        let mut report = DrainReport::default();
        while started.elapsed() < limit {
            let mut batches = Vec::new();
            for _ in 0..self.max_concurrency {
                let messages = self.receive().await?;
                if messages.is_empty() {
                    break;
                }
                batches.push(messages);
            }
            if batches.is_empty() {
                if queue_depth(&self.sqs, &self.queues.url).await? == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let invoke = &invoke;
            let results: Vec<(Vec<Message>, Result<Value, String>)> = stream::iter(batches)
                .map(|messages| async move {
                    let result = invoke(self.event(&messages)).await;
                    (messages, result)
                })
                .buffer_unordered(self.max_concurrency)
                .collect()
                .await;
            for (messages, result) in results {
                report.invocations += 1;
                report.deliveries += messages.len();
                let failed: Vec<String> = match &result {
                    Ok(response) => response["batchItemFailures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                        .collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "invocation failed: the whole batch is left");
                        report.failed_invocations += 1;
                        messages
                            .iter()
                            .filter_map(|m| m.message_id.clone())
                            .collect()
                    }
                };
                for m in &messages {
                    let id = m.message_id.clone().unwrap_or_default();
                    if failed.contains(&id) {
                        report.failures += 1;
                        continue;
                    }
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queues.url)
                        .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| {
                            sqs_error("DeleteMessage", aws_sdk_sqs::error::DisplayErrorContext(e))
                        })?;
                }
            }
        }
        Ok(report)
    }
}
