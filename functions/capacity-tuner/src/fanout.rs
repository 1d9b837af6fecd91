//! The tuner's tick fanned out ([`shared::fanout`]): a scheduled event is
//! a dispatch of one task per enabled campaign to the tuner's queue, urgent
//! ones first; each task, delivered back in a batch, guards and then paces
//! its one campaign, at most once per (event id, campaign).
//!
//! **The window guard's stops go first.** A dispatch sends first the tasks
//! of campaigns none of whose recipients may lawfully be called at the
//! tick's time (judged from the stored config alone, no CXone call), so that
//! with a backlog their stops are made before anyone's pacing; and each task
//! runs the guard before pacing (under one lease), within half of its CXone
//! time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, Instrument};

use shared::engine::window_guard::{decide, CampaignWindows, GuardAction};
use shared::fanout::queue::TaskQueue;
use shared::fanout::{work_batch, BatchResponse, CampaignTask, Staleness, TaskEnd, TaskRecord};
use shared::idempotency::{unix_now_ms, IdempotencyError};
use shared::invocation::{Invocation, Tick};
use shared::store::state::StoredConfig;

use crate::run::{CampaignReport, Run, FUNCTION_NAME};
use crate::tuner::Tuner;

/// A task that waited longer than one tick period is superseded by the next tick.
pub const STALE_AFTER: Staleness = Staleness(Duration::from_secs(300));

/// What a dispatch did (the scheduled event's stored report).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    /// The event dispatched.
    pub event_id: String,
    /// Its time.
    pub time: DateTime<Utc>,
    /// Tasks sent, one per enabled campaign.
    pub dispatched: usize,
    /// The campaigns sent, in the order sent.
    pub skill_ids: Vec<i64>,
    /// The campaigns sent first: no recipient may lawfully be called now.
    pub urgent: Vec<i64>,
}

/// Whether a campaign's stored recipients may none of them be called at
/// `at` (its task goes first: the guard has a stop to make if it runs).
/// Unknown when the config names no recipients (the guard reads the
/// skill's own zone from CXone): not urgent.
pub fn must_stop_at(stored: &StoredConfig, at: DateTime<Utc>) -> bool {
    let areas = stored.config.recipient_areas();
    if areas.is_empty() {
        return false;
    }
    let windows = CampaignWindows {
        zone: chrono_tz::UTC,
        days: [None; 7],
        scheduled: false,
    };
    decide(at, &areas, &windows, true, false).action == GuardAction::Stop
}

/// The tasks of one tick: every enabled campaign, the urgent ones first
/// (each group in skill order).
pub fn tasks_for(tick: &Tick, configs: &[StoredConfig]) -> (Vec<CampaignTask>, Vec<i64>) {
    let mut enabled: Vec<&StoredConfig> = configs.iter().filter(|c| c.config.enabled).collect();
    enabled.sort_by_key(|c| (!must_stop_at(c, tick.time), c.skill_id));
    let urgent = enabled
        .iter()
        .filter(|c| must_stop_at(c, tick.time))
        .map(|c| c.skill_id)
        .collect();
    let tasks = enabled
        .iter()
        .map(|c| CampaignTask::new(tick, c.skill_id, unix_now_ms()))
        .collect();
    (tasks, urgent)
}

impl Tuner {
    /// Sends one task per enabled campaign to `queue`; an error (configs
    /// unreadable, queue refusing) fails the event, which EventBridge
    /// retries (tasks already sent are idempotent).
    pub async fn dispatch(&self, tick: &Tick, queue: &TaskQueue) -> Result<DispatchReport, String> {
        let configs = self
            .state
            .list_configs()
            .await
            .map_err(|e| format!("could not list campaigns: {e}"))?;
        let (tasks, urgent) = tasks_for(tick, &configs);
        let dispatched = queue.send(&tasks).await.map_err(|e| e.to_string())?;
        info!(event_id = %tick.event_id, dispatched, urgent = urgent.len(), "tick dispatched");
        Ok(DispatchReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            dispatched,
            skill_ids: tasks.iter().map(|t| t.skill_id).collect(),
            urgent,
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
        let audit_failures = AtomicU32::new(0);
        let response = work_batch(records, |task| {
            let span =
                tracing::info_span!("task", skill_id = task.skill_id, event_id = %task.event_id);
            let (reports, audit_failures) = (&reports, &audit_failures);
            async move {
                let (end, report) = self.task(&task, invocation, audit_failures).await;
                if let Some(report) = report {
                    reports
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(report);
                }
                end
            }
            .instrument(span)
        })
        .await;
        let reports = reports.into_inner().unwrap_or_else(|p| p.into_inner());
        if !reports.is_empty() {
            self.emit_metrics(Utc::now(), &reports, audit_failures.load(Ordering::Relaxed));
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
    ) -> (TaskEnd, Option<CampaignReport>) {
        if STALE_AFTER.is_stale(task, unix_now_ms()) {
            info!("task is older than a tick: the next tick covers the campaign");
            return (TaskEnd::Done, None);
        }
        let fresh: Mutex<Option<CampaignReport>> = Mutex::new(None);
        let result = self
            .idempotency
            .run(
                &task.key(FUNCTION_NAME),
                &task.payload(),
                &invocation.deadline,
                unix_now_ms(),
                || async {
                    let report = self.tune_one(task, invocation, audit_failures).await?;
                    let stored = serde_json::to_value(&report).map_err(|e| e.to_string())?;
                    *fresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
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

    /// Guards, then paces, the task's campaign; `Err` only when its config
    /// cannot be read (the task is delivered again).
    async fn tune_one(
        &self,
        task: &CampaignTask,
        invocation: &Invocation,
        audit_failures: &AtomicU32,
    ) -> Result<CampaignReport, String> {
        let stored = match self.state.get_config(task.skill_id).await {
            Ok(Some(stored)) if stored.config.enabled => stored,
            Ok(_) => {
                return Ok(CampaignReport::new(
                    task.skill_id,
                    None,
                    "skipped",
                    Some("the campaign is no longer enabled".into()),
                ))
            }
            Err(e) => return Err(format!("reading the campaign's config: {e}")),
        };
        let tick = task.tick();
        let run = Run::new(&tick, invocation, &self.audit);
        let cxone_deadline = invocation.deadline.for_cxone();
        let guard_end = cxone_deadline.capped_after(cxone_deadline.remaining() / 2);
        let report = self
            .guard_and_pace(&stored, &run, &guard_end, &cxone_deadline)
            .await;
        audit_failures.fetch_add(
            run.audit_failures.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::campaign_config::CampaignConfig;

    fn stored(skill_id: i64, zones: &[&str], enabled: bool) -> StoredConfig {
        let body = serde_json::json!({"enabled": enabled, "timeZone": zones[0],
            "recipientTimeZones": zones,
            "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}});
        StoredConfig {
            skill_id,
            config: CampaignConfig::parse(body.to_string().as_bytes(), skill_id).unwrap(),
            version: 1,
            updated_at: "2026-03-01T00:00:00Z".parse().unwrap(),
            updated_by: "test".into(),
            created_at: None,
        }
    }

    #[test]
    fn campaigns_whose_recipients_may_not_be_called_go_first() {
        // 21:30 in New York (past 21:00), 20:30 in Chicago, 18:30 in Los Angeles.
        let tick = Tick {
            event_id: "e".into(),
            time: "2026-03-11T01:30:00Z".parse().unwrap(),
        };
        let configs = [
            stored(1, &["America/Los_Angeles"], true),
            stored(2, &["America/New_York"], true),
            stored(3, &["America/New_York", "America/Chicago"], true),
            stored(4, &["America/New_York"], false),
            stored(5, &["America/New_York"], true),
        ];
        let (tasks, urgent) = tasks_for(&tick, &configs);
        let order: Vec<i64> = tasks.iter().map(|t| t.skill_id).collect();
        assert_eq!(order, [2, 5, 1, 3], "urgent first, disabled left out");
        assert_eq!(urgent, [2, 5]);
        assert!(tasks
            .iter()
            .all(|t| t.event_id == "e" && t.time == tick.time));
    }
}
