//! The task queue a dispatch sends campaign tasks to (SQS,
//! `SendMessageBatch`, ten messages a call).

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::stream::{self, StreamExt};

use super::CampaignTask;

/// Entries in one `SendMessageBatch` (SQS's limit).
pub const BATCH_ENTRIES: usize = 10;
/// Batches in flight at once after the first.
pub const PARALLEL_BATCHES: usize = 8;
/// Attempts per batch entry SQS refused (throttled, internal error).
pub const ATTEMPTS: usize = 3;

/// Why tasks could not all be sent.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The call failed as a whole (network, permissions, queue missing).
    #[error("SQS SendMessageBatch to {queue} failed: {message}")]
    Call {
        /// The queue URL.
        queue: String,
        /// The SDK's error, with its cause.
        message: String,
    },
    /// SQS refused some entries on every attempt.
    #[error("SQS refused {count} task(s) after {ATTEMPTS} attempts (first: {first})")]
    Refused {
        /// How many.
        count: usize,
        /// The first refusal's code and message.
        first: String,
    },
}

/// A function's task queue.
#[derive(Clone, Debug)]
pub struct TaskQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl TaskQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `tasks`, ten a call: the first ten first (the dispatch puts the
    /// urgent ones there), then the rest [`PARALLEL_BATCHES`] calls at a
    /// time. Returns how many were sent; an error when any could not be
    /// (those already sent stay sent: tasks are idempotent, so the retried
    /// dispatch may send them again).
    pub async fn send(&self, tasks: &[CampaignTask]) -> Result<usize, QueueError> {
        // Each batch's entries: (id within the batch, body), owned.
        let batches: Vec<Vec<(String, String)>> = tasks
            .chunks(BATCH_ENTRIES)
            .map(|chunk| {
                chunk
                    .iter()
                    .enumerate()
                    .map(|(i, task)| (i.to_string(), task.body()))
                    .collect()
            })
            .collect();
        let mut batches = batches.into_iter();
        let Some(first) = batches.next() else {
            return Ok(0);
        };
        self.send_batch(first).await?;
        let results: Vec<Result<(), QueueError>> = stream::iter(batches)
            .map(|entries| self.send_batch(entries))
            .buffer_unordered(PARALLEL_BATCHES)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(tasks.len())
    }

    /// One `SendMessageBatch` of `(id, body)` entries, its refused entries
    /// tried again.
    async fn send_batch(&self, mut pending: Vec<(String, String)>) -> Result<(), QueueError> {
        let mut first_refusal = String::new();
        for _ in 0..ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(body)
                        .build()
                        .expect("id and body are set")
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Call {
                    queue: self.url.clone(),
                    message: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
                })?;
            let failed = out.failed();
            if failed.is_empty() {
                return Ok(());
            }
            if first_refusal.is_empty() {
                first_refusal = format!(
                    "{}: {}",
                    failed[0].code(),
                    failed[0].message().unwrap_or("")
                );
            }
            pending.retain(|(id, _)| failed.iter().any(|f| f.id() == id));
        }
        Err(QueueError::Refused {
            count: pending.len(),
            first: first_refusal,
        })
    }
}
