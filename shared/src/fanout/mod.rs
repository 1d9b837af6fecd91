//! Fan-out of a periodic function's tick: one unit of work per campaign.
//!
//! The capacity tuner (every 5 minutes) and the failover checker (every
//! minute) serve every campaign. With a task queue configured
//! (`TASK_QUEUE_URL`, [`crate::config::Config::task_queue_url`]), the
//! scheduled event is only a **dispatch**: the function lists the campaigns
//! it serves and sends one [`CampaignTask`] per campaign to its own SQS queue
//! ([`queue::TaskQueue`]). The queue's event source mapping hands the tasks
//! back to the same function in batches ([`Trigger::Tasks`]); every task of
//! a batch is worked on concurrently and on its own ([`work_batch`]), under
//! its own time limit, so one campaign's slowness or failure never touches
//! another's. The mapping's maximum concurrency bounds how many batches run
//! at once; the shared CXone call budget ([`crate::store::rate_budget`])
//! bounds the calls they make.
//!
//! Delivery is at least once, so each task is idempotent per (event id,
//! campaign) ([`CampaignTask::key`], the idempotency table's protocol): a
//! redelivered task replays its stored report and writes nothing. A task
//! that cannot be read, or whose storage failed, is reported in the batch
//! response's `batchItemFailures` (Lambda's partial batch response): SQS
//! delivers it again after its visibility timeout and, after the queue's
//! receive limit, moves it to the dead-letter queue, which is alarmed. A
//! campaign whose CXone calls failed is *not* a failed task: it is audited
//! and reported like any outcome, and the next tick tries again with fresh
//! figures. A task that waited in the queue longer than its function's
//! tick period is stale ([`Staleness`]): the next tick has superseded it,
//! so it is skipped.

#[cfg(feature = "fanout")]
pub mod queue;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::invocation::{BadEvent, Tick, MAX_EVENT_ID_CHARS};

/// Largest body of a task message read (a task is about 100 bytes).
pub const MAX_TASK_BYTES: usize = 4096;

/// One campaign's share of one tick: the message on a task queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignTask {
    /// The scheduled event's id.
    pub event_id: String,
    /// The scheduled event's time: the task decides as of this moment.
    pub time: DateTime<Utc>,
    /// The campaign (its primary skill).
    pub skill_id: i64,
    /// When the dispatch sent it (wall clock, Unix ms): how long it waited
    /// is what makes it stale, whatever clock the event's time follows.
    pub dispatched_at_ms: u64,
}

/// A task message that cannot be used, and why (naming the field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad task message: {0}")]
pub struct BadTask(pub String);

impl CampaignTask {
    /// The task of `skill_id` for the scheduled event `tick`, sent at
    /// `dispatched_at_ms`.
    pub fn new(tick: &Tick, skill_id: i64, dispatched_at_ms: u64) -> Self {
        Self {
            event_id: tick.event_id.clone(),
            time: tick.time,
            skill_id,
            dispatched_at_ms,
        }
    }

    /// What the task's idempotency record is about: the event and the
    /// campaign, not when it was sent (a retried dispatch sends it again).
    pub fn payload(&self) -> Value {
        serde_json::json!({"eventId": self.event_id, "time": self.time, "skillId": self.skill_id})
    }

    /// Reads a task message's body, naming what is wrong.
    pub fn parse(body: &str) -> Result<Self, BadTask> {
        if body.len() > MAX_TASK_BYTES {
            return Err(BadTask(format!("body over {MAX_TASK_BYTES} bytes")));
        }
        let task: CampaignTask =
            crate::api_error::from_json(body.as_bytes()).map_err(|p| BadTask(p.to_string()))?;
        let id_chars = task.event_id.chars().count();
        if task.event_id.trim().is_empty() || id_chars > MAX_EVENT_ID_CHARS {
            return Err(BadTask(format!(
                "eventId: must be a non-empty string of at most {MAX_EVENT_ID_CHARS} characters"
            )));
        }
        if task.skill_id <= 0 {
            return Err(BadTask("skillId: must be a positive integer".into()));
        }
        Ok(task)
    }

    /// The message body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a task always serializes")
    }

    /// The scheduled event the task belongs to.
    pub fn tick(&self) -> Tick {
        Tick {
            event_id: self.event_id.clone(),
            time: self.time,
        }
    }

    /// The idempotency key of the task for `function`: one per (event id,
    /// campaign).
    pub fn key(&self, function: &str) -> String {
        format!("{function}#{}#{}", self.event_id, self.skill_id)
    }
}

/// How long a task may wait before the next tick supersedes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Staleness(pub Duration);

impl Staleness {
    /// Whether `task` has waited longer than this at `now_ms` (wall clock,
    /// Unix ms).
    pub fn is_stale(&self, task: &CampaignTask, now_ms: u64) -> bool {
        now_ms.saturating_sub(task.dispatched_at_ms) > self.0.as_millis() as u64
    }
}

/// One record of a task batch: its message id (what a failure is reported
/// by) and the task, or why it cannot be read.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// SQS's message id.
    pub message_id: String,
    /// The task, or why the body is not one.
    pub task: Result<CampaignTask, BadTask>,
}

/// What started an invocation of a periodic function.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// The EventBridge schedule: a tick (dispatched, or worked through in
    /// place when no task queue is configured).
    Scheduled(Tick),
    /// A batch of campaign tasks from the function's task queue.
    Tasks(Vec<TaskRecord>),
}

impl Trigger {
    /// Tells an SQS batch (`Records` of `aws:sqs` messages) from a scheduled
    /// event, and reads either. A batch whose records carry no message id
    /// cannot be answered per record: it is a bad event as a whole.
    pub fn from_event(event: &Value) -> Result<Self, BadEvent> {
        let Some(records) = event.get("Records") else {
            return Tick::from_event(event).map(Trigger::Scheduled);
        };
        let records = records
            .as_array()
            .ok_or_else(|| BadEvent("field `Records` must be an array".into()))?;
        let mut out = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            let source = record.get("eventSource").and_then(Value::as_str);
            if source != Some("aws:sqs") {
                return Err(BadEvent(format!(
                    "Records[{i}].eventSource: only aws:sqs records are handled"
                )));
            }
            let message_id = record
                .get("messageId")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| BadEvent(format!("Records[{i}].messageId: missing")))?;
            let task = match record.get("body").and_then(Value::as_str) {
                Some(body) => CampaignTask::parse(body),
                None => Err(BadTask("body: missing or not a string".into())),
            };
            out.push(TaskRecord {
                message_id: message_id.to_owned(),
                task,
            });
        }
        Ok(Trigger::Tasks(out))
    }
}

/// How a task ended, as the batch response needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskEnd {
    /// Done (or replayed, or stale, or settled by an audited failure):
    /// delete the message.
    Done,
    /// Deliver it again later (storage failed, or another invocation is
    /// still on the same task); after the queue's receive limit it goes to
    /// the dead-letter queue.
    Retry(String),
}

/// One message SQS should deliver again (`{"itemIdentifier"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The message id.
    pub item_identifier: String,
}

/// Lambda's partial batch response for SQS (`{"batchItemFailures": [...]}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The messages to deliver again; empty when all succeeded.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// Works on every task of a batch concurrently with `work`; records that
/// are not tasks (poison messages) and tasks that end in
/// [`TaskEnd::Retry`] are the batch's failures, logged with their reason.
pub async fn work_batch<F, Fut>(records: Vec<TaskRecord>, work: F) -> BatchResponse
where
    F: Fn(CampaignTask) -> Fut,
    Fut: Future<Output = TaskEnd>,
{
    let work = &work;
    let ends = futures::future::join_all(records.into_iter().map(|record| async move {
        let end = match record.task {
            Ok(task) => work(task).await,
            Err(bad) => TaskEnd::Retry(bad.to_string()),
        };
        (record.message_id, end)
    }))
    .await;
    let mut response = BatchResponse::default();
    for (message_id, end) in ends {
        if let TaskEnd::Retry(why) = end {
            tracing::warn!(message_id = %message_id, reason = %why, "task left for redelivery");
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: message_id,
            });
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tick() -> Tick {
        Tick {
            event_id: "e-1".into(),
            time: "2026-03-10T14:05:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_task_reads_back_as_itself_and_names_its_key() {
        let task = CampaignTask::new(&tick(), 1001, 5);
        assert_eq!(CampaignTask::parse(&task.body()).unwrap(), task);
        assert_eq!(task.key("capacity-tuner"), "capacity-tuner#e-1#1001");
        assert_eq!(task.tick(), tick());
        // A retried dispatch's task is the same work.
        let again = CampaignTask::new(&tick(), 1001, 9);
        assert_eq!(again.payload(), task.payload());
    }

    #[test]
    fn bad_task_bodies_name_the_field() {
        for (body, needle) in [
            ("not json", "body"),
            (
                r#"{"eventId":"e","time":"2026-03-10T14:05:00Z","dispatchedAtMs":1}"#,
                "skillId",
            ),
            (
                r#"{"eventId":"e","time":"2026-03-10T14:05:00Z","skillId":0,"dispatchedAtMs":1}"#,
                "skillId",
            ),
            (
                r#"{"eventId":" ","time":"2026-03-10T14:05:00Z","skillId":1,"dispatchedAtMs":1}"#,
                "eventId",
            ),
            (
                r#"{"eventId":"e","time":"soon","skillId":1,"dispatchedAtMs":1}"#,
                "time",
            ),
            (
                r#"{"eventId":"e","time":"2026-03-10T14:05:00Z","skillId":1}"#,
                "dispatchedAtMs",
            ),
            (
                r#"{"eventId":"e","time":"2026-03-10T14:05:00Z","skillId":1,"dispatchedAtMs":1,"x":1}"#,
                "x",
            ),
        ] {
            let err = CampaignTask::parse(body).unwrap_err();
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
        let huge = "x".repeat(MAX_TASK_BYTES + 1);
        assert!(CampaignTask::parse(&huge).is_err());
    }

    #[test]
    fn triggers_are_told_apart() {
        let scheduled = json!({"id": "e-1", "time": "2026-03-10T14:05:00Z"});
        assert_eq!(
            Trigger::from_event(&scheduled).unwrap(),
            Trigger::Scheduled(tick())
        );
        let task = CampaignTask::new(&tick(), 7, 1);
        let batch = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": task.body()},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "{}"},
            {"messageId": "m3", "eventSource": "aws:sqs"},
        ]});
        let Trigger::Tasks(records) = Trigger::from_event(&batch).unwrap() else {
            panic!("a batch");
        };
        assert_eq!(records[0].task, Ok(task));
        assert!(records[1].task.is_err());
        assert!(records[2].task.is_err());
        for bad in [
            json!({"Records": {}}),
            json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
            json!({"Records": [{"messageId": "m", "eventSource": "aws:sns"}]}),
        ] {
            assert!(Trigger::from_event(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn staleness_is_the_wait_since_dispatch() {
        let task = CampaignTask::new(&tick(), 7, 1_000_000);
        let limit = Staleness(Duration::from_secs(300));
        assert!(!limit.is_stale(&task, 1_000_000 + 299_000));
        assert!(limit.is_stale(&task, 1_000_000 + 301_000));
        // A receiver's clock behind the sender's is no wait.
        assert!(!limit.is_stale(&task, 999_000));
    }

    #[tokio::test]
    async fn a_batch_reports_only_its_failures() {
        let ok = CampaignTask::new(&tick(), 1, 1);
        let retry = CampaignTask::new(&tick(), 2, 1);
        let records = vec![
            TaskRecord {
                message_id: "a".into(),
                task: Ok(ok),
            },
            TaskRecord {
                message_id: "b".into(),
                task: Ok(retry),
            },
            TaskRecord {
                message_id: "c".into(),
                task: Err(BadTask("poison".into())),
            },
        ];
        let response = work_batch(records, |task| async move {
            if task.skill_id == 2 {
                TaskEnd::Retry("storage".into())
            } else {
                TaskEnd::Done
            }
        })
        .await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["b", "c"]);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]})
        );
    }
}
