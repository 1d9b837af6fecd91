//! The checker's tick fanned out ([`shared::fanout`]): a scheduled event is
//! a dispatch of one task per campaign with a failover config to the
//! checker's queue; each task, delivered back in a batch, checks its one
//! campaign ([`FailoverChecker::check_campaign`]), at most once per
//! (event id, campaign). The state machine's compare-and-swap keeps a
//! campaign's transition exactly once whichever task or tick gets there.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, Instrument};

use shared::fanout::queue::TaskQueue;
use shared::fanout::{work_batch, BatchResponse, CampaignTask, Staleness, TaskEnd, TaskRecord};
use shared::idempotency::{unix_now_ms, IdempotencyError};
use shared::invocation::{Invocation, Tick};
use shared::store::failover::FailoverState;
use shared::store::state::StoredConfig;

use crate::context::{CampaignReport, CheckOutcome, Ctx, FailoverChecker, Tally, FUNCTION_NAME};

/// A task that waited longer than two tick periods is superseded by the ticks since.
pub const STALE_AFTER: Staleness = Staleness(Duration::from_secs(120));

/// What a dispatch did (the scheduled event's stored report).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    /// The event dispatched.
    pub event_id: String,
    /// Its time.
    pub time: DateTime<Utc>,
    /// Tasks sent, one per campaign with a failover config.
    pub dispatched: usize,
    /// The campaigns sent, in skill order.
    pub skill_ids: Vec<i64>,
}

/// The tasks of one tick: every campaign with a failover config (disabled
/// ones too: an interrupted transition is completed), in skill order.
pub fn tasks_for(tick: &Tick, configs: &[StoredConfig]) -> Vec<CampaignTask> {
    let mut ids: Vec<i64> = configs
        .iter()
        .filter(|c| c.config.failover.is_some())
        .map(|c| c.skill_id)
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| CampaignTask::new(tick, id, unix_now_ms()))
        .collect()
}

impl FailoverChecker {
    /// Sends one task per campaign with a failover config to `queue`; an
    /// error fails the event, which EventBridge retries (tasks already sent
    /// are idempotent).
    pub async fn dispatch(&self, tick: &Tick, queue: &TaskQueue) -> Result<DispatchReport, String> {
        let configs = self
            .state
            .list_configs()
            .await
            .map_err(|e| format!("could not list campaigns: {e}"))?;
        let tasks = tasks_for(tick, &configs);
        let dispatched = queue.send(&tasks).await.map_err(|e| e.to_string())?;
        info!(event_id = %tick.event_id, dispatched, "tick dispatched");
        Ok(DispatchReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            dispatched,
            skill_ids: tasks.iter().map(|t| t.skill_id).collect(),
        })
    }

    /// Works on a batch of tasks, each on its own and all at once; the
    /// batch's metrics are emitted once.
    pub async fn work_tasks(
        &self,
        records: Vec<TaskRecord>,
        invocation: &Invocation,
    ) -> BatchResponse {
        let reports = Mutex::new(Vec::new());
        let tally = Mutex::new(Tally::default());
        let audit_failures = AtomicU32::new(0);
        let response = work_batch(records, |task| {
            let span =
                tracing::info_span!("task", skill_id = task.skill_id, event_id = %task.event_id);
            let (reports, tally, audit_failures) = (&reports, &tally, &audit_failures);
            async move {
                let (end, done) = self.task(&task, invocation, audit_failures).await;
                if let Some((report, own)) = done {
                    reports
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(report);
                    tally.lock().unwrap_or_else(|p| p.into_inner()).add(&own);
                }
                end
            }
            .instrument(span)
        })
        .await;
        let reports = reports.into_inner().unwrap_or_else(|p| p.into_inner());
        let tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
        if !reports.is_empty() {
            self.emit_metrics(
                Utc::now(),
                reports.len(),
                &tally,
                audit_failures.load(Ordering::Relaxed),
            );
        }
        response
    }

    /// One task at most once: stale ones are skipped; a replay does
    /// nothing; storage failures leave it for redelivery.
    async fn task(
        &self,
        task: &CampaignTask,
        invocation: &Invocation,
        audit_failures: &AtomicU32,
    ) -> (TaskEnd, Option<(CampaignReport, Tally)>) {
        if STALE_AFTER.is_stale(task, unix_now_ms()) {
            info!("task is older than two ticks: the ticks since cover the campaign");
            return (TaskEnd::Done, None);
        }
        let fresh: Mutex<Option<(CampaignReport, Tally)>> = Mutex::new(None);
        let result = self
            .idempotency
            .run(
                &task.key(FUNCTION_NAME),
                &task.payload(),
                &invocation.deadline,
                unix_now_ms(),
                || async {
                    let (report, tally) = self.check_one(task, invocation, audit_failures).await?;
                    let stored = serde_json::to_value(&report).map_err(|e| e.to_string())?;
                    *fresh.lock().unwrap_or_else(|p| p.into_inner()) = Some((report, tally));
                    Ok::<_, String>(stored)
                },
            )
            .await;
        match result {
            Ok(execution) if execution.replayed => {
                info!("task already done: nothing written again");
                (TaskEnd::Done, None)
            }
            Ok(_) => (
                TaskEnd::Done,
                fresh.into_inner().unwrap_or_else(|p| p.into_inner()),
            ),
            Err(IdempotencyError::InProgress) => (
                TaskEnd::Retry("another invocation is working on this task".into()),
                None,
            ),
            Err(IdempotencyError::PayloadMismatch) => (
                TaskEnd::Retry("this task's key was used with another time".into()),
                None,
            ),
            Err(IdempotencyError::Store(e)) => (TaskEnd::Retry(e.to_string()), None),
            Err(IdempotencyError::Work(e)) => (TaskEnd::Retry(e), None),
        }
    }

    /// Checks the task's campaign; `Err` only when its config cannot be
    /// read (the task is delivered again).
    async fn check_one(
        &self,
        task: &CampaignTask,
        invocation: &Invocation,
        audit_failures: &AtomicU32,
    ) -> Result<(CampaignReport, Tally), String> {
        let stored = self
            .state
            .get_config(task.skill_id)
            .await
            .map_err(|e| format!("reading the campaign's config: {e}"))?;
        let Some((stored, config)) = stored.and_then(|s| {
            let config = s.config.failover.clone()?;
            Some((s, config))
        }) else {
            let report = CampaignReport {
                skill_id: task.skill_id,
                backup_skill_id: None,
                state: FailoverState::Primary,
                outcome: CheckOutcome::Disabled,
                verdict: None,
                evidence: None,
                message: Some("the campaign no longer has a failover config".into()),
            };
            return Ok((report, Tally::default()));
        };
        let ctx = Ctx {
            actor: FUNCTION_NAME,
            time: task.time,
            invocation,
            event_id: Some(&task.event_id),
            audit_failures,
        };
        let mut tally = Tally::default();
        let report = self
            .check_campaign(&stored, &config, &ctx, &mut tally)
            .await;
        Ok((report, tally))
    }
}
