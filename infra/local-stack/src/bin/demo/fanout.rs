//! A periodic function run the way the template deploys it: its scheduled
//! event dispatches one task per campaign to its SQS queue (in moto), and
//! Lambda's poller ([`local_stack::event_source`]) hands the tasks back to
//! the same binary in batches, on a pool of processes (the mapping's
//! maximum concurrency). Each campaign's report is read back from its
//! task's idempotency record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use local_stack::event_source::{EventSource, TaskQueues};
use local_stack::FunctionProcess;
use serde_json::{json, Value};
use shared::fanout::queue::TaskQueue;
use shared::fanout::CampaignTask;
use shared::idempotency::{unix_now_ms, IdempotencyStore};
use shared::invocation::Tick;

use crate::INVOKE_TIMEOUT;

/// How long a tick's tasks may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// A fanned-out function: its processes, its queue and its task reports.
pub struct FannedOut {
    /// The function's name (its idempotency keys' prefix).
    pub name: &'static str,
    /// Processes of the binary; the first also takes the scheduled events.
    pub workers: Vec<FunctionProcess>,
    /// The task queue and its poller.
    pub source: EventSource,
    /// Where the task reports are stored.
    pub idempotency: IdempotencyStore,
    next: AtomicUsize,
}

/// What one tick did.
pub struct TickOutcome {
    /// The stored report of each campaign's task, in dispatch order.
    pub campaigns: Vec<Value>,
    /// Tasks dispatched.
    pub dispatched: usize,
    /// Batches the poller invoked the function with.
    pub invocations: usize,
    /// Tasks the function left for redelivery.
    pub failures: usize,
}

impl FannedOut {
    /// Creates `{prefix}-{name}-tasks` (and its dead-letter queue) and
    /// starts `workers` processes of the binary with `TASK_QUEUE_URL` set.
    pub async fn start(
        name: &'static str,
        env: &[(String, String)],
        sqs: &aws_sdk_sqs::Client,
        prefix: &str,
        workers: usize,
        idempotency: IdempotencyStore,
    ) -> Result<Self, String> {
        let queues = TaskQueues::create(
            sqs,
            &format!("{prefix}-{name}-tasks"),
            3,
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut env = env.to_vec();
        env.push(("TASK_QUEUE_URL".into(), queues.url.clone()));
        let mut processes = Vec::with_capacity(workers);
        for _ in 0..workers.max(1) {
            processes.push(crate::setup::spawn(name, &env).await?);
        }
        Ok(Self {
            name,
            source: EventSource {
                sqs: sqs.clone(),
                queues,
                batch_size: 10,
                max_concurrency: processes.len(),
            },
            workers: processes,
            idempotency,
            next: AtomicUsize::new(0),
        })
    }

    /// Invokes the next process of the pool with `event`.
    async fn invoke(&self, event: Value) -> Result<Value, String> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i]
            .invoke(event, INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// The scheduled `event`: dispatched, its tasks drained, each
    /// campaign's report read back.
    pub async fn tick(&self, event: Value) -> Result<TickOutcome, String> {
        let dispatch = self.workers[0]
            .invoke(event.clone(), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("{} dispatch: {e}", self.name))?;
        let skills: Vec<i64> = dispatch["skillIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        self.finish(
            &event,
            skills,
            dispatch["dispatched"].as_u64().unwrap_or(0) as usize,
        )
        .await
    }

    /// The scheduled `event` delivered again, and its tasks too: the
    /// dispatch answers its stored report and sends nothing; each task
    /// replays its stored report and writes nothing.
    pub async fn replay(&self, event: &Value) -> Result<TickOutcome, String> {
        let dispatch = self.workers[0]
            .invoke(event.clone(), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("{} replay: {e}", self.name))?;
        let skills: Vec<i64> = dispatch["skillIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        self.redeliver(event, &skills).await
    }

    /// Sends `event`'s tasks for `skills` again (a duplicate delivery) and
    /// drains them: each replays its stored report and writes nothing.
    pub async fn redeliver(&self, event: &Value, skills: &[i64]) -> Result<TickOutcome, String> {
        let tick = Tick::from_event(event).map_err(|e| e.to_string())?;
        let tasks: Vec<CampaignTask> = skills
            .iter()
            .map(|&s| CampaignTask::new(&tick, s, unix_now_ms()))
            .collect();
        TaskQueue::new(self.source.sqs.clone(), self.source.queues.url.clone())
            .send(&tasks)
            .await
            .map_err(|e| e.to_string())?;
        self.finish(event, skills.to_vec(), 0).await
    }

    /// Drains the queue and reads the reports of `skills`' tasks of `event`.
    async fn finish(
        &self,
        event: &Value,
        skills: Vec<i64>,
        dispatched: usize,
    ) -> Result<TickOutcome, String> {
        let drained = self
            .source
            .drain(|batch| self.invoke(batch), DRAIN_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
        let event_id = event["id"].as_str().unwrap_or_default();
        let mut campaigns = Vec::with_capacity(skills.len());
        for skill in skills {
            let key = format!("{}#{event_id}#{skill}", self.name);
            let report = self
                .idempotency
                .stored(&key, unix_now_ms())
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_else(|| {
                    json!({"skillId": skill, "outcome": "failed",
                        "message": "the task left no report (still queued or dead-lettered)"})
                });
            campaigns.push(report);
        }
        Ok(TickOutcome {
            campaigns,
            dispatched,
            invocations: drained.invocations,
            failures: drained.failures,
        })
    }
}
