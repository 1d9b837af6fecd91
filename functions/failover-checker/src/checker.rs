//! The failover checker's tick: every campaign with a
//! failover config, its success rate judged, its transition begun when
//! confirmed ([`crate::transition`]); the operator's failback is in
//! [`crate::failback`].

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn, Instrument};

use shared::campaign_config::FailoverConfig;
use shared::fanout::Trigger;
use shared::idempotency::{unix_now_ms, IdempotencyError};
use shared::invocation::Invocation;
use shared::observability::{duplicate_delivery, Metrics, Unit};
use shared::store::failover::{Evidence, FailoverRecord, FailoverState, Swap};
use shared::store::state::StoredConfig;
use shared::store::StoreError;

use crate::decide::{
    decide_backup, decide_primary, recovery_level, verdict, BackupDecision, PrimaryDecision,
    Streak, Verdict,
};

use crate::transition::Direction;

use crate::context::{report, Ctx, Tally};
pub use crate::context::{
    CampaignReport, CheckOutcome, FailoverChecker, FUNCTION_NAME, OWNER_CLOCK_MARGIN_MS,
};

/// Longest accepted EventBridge event id.
pub use shared::invocation::MAX_EVENT_ID_CHARS;

/// Why a tick failed as a whole (a campaign's failure is reported, not raised).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The event is not a usable scheduled event.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// Storage failed before any campaign could be checked (EventBridge retries).
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    /// The report could not be encoded.
    #[error("could not encode the report: {0}")]
    Encode(#[from] serde_json::Error),
    /// The tick could not be dispatched to the task queue (EventBridge retries).
    #[error("dispatch failed: {0}")]
    Dispatch(String),
}

impl CheckError {
    /// A stable name for the error's kind (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckError::BadEvent(_) => "BadEvent",
            CheckError::Storage(_) => "StorageFailed",
            CheckError::Encode(_) => "EncodeFailed",
            CheckError::Dispatch(_) => "DispatchFailed",
        }
    }
}

/// Lambda's report of a failed tick: `errorType` is [`CheckError::kind`],
/// `errorMessage` the error's text.
impl From<CheckError> for lambda_runtime::Diagnostic {
    fn from(e: CheckError) -> Self {
        Self {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

pub use shared::invocation::Tick;

impl From<shared::invocation::BadEvent> for CheckError {
    fn from(e: shared::invocation::BadEvent) -> Self {
        CheckError::BadEvent(e.0)
    }
}

/// The response of one tick (stored for replays of the same event).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// The event processed.
    pub event_id: String,
    /// Its time.
    pub time: DateTime<Utc>,
    /// One entry per campaign with a failover config.
    pub campaigns: Vec<CampaignReport>,
}

impl FailoverChecker {
    /// Handles one scheduled event: at most once per event id. A duplicate
    /// delivery of an event that another invocation is still processing is
    /// a success that does nothing ([`duplicate_delivery`]): no dead letter,
    /// no `Errors` alarm.
    pub async fn handle(
        &self,
        event: &Value,
        invocation: &Invocation,
    ) -> Result<Value, CheckError> {
        let tick = match Trigger::from_event(event)? {
            Trigger::Scheduled(tick) => tick,
            Trigger::Tasks(records) => {
                let response = self.work_tasks(records, invocation).await;
                return Ok(serde_json::to_value(response)?);
            }
        };
        let key = format!("{FUNCTION_NAME}#{}", tick.event_id);
        let payload = json!({"id": tick.event_id, "time": tick.time});
        let result = self
            .idempotency
            .run(
                &key,
                &payload,
                &invocation.deadline,
                unix_now_ms(),
                || async {
                    match &self.queue {
                        Some(queue) => {
                            let report = self
                                .dispatch(&tick, queue)
                                .await
                                .map_err(CheckError::Dispatch)?;
                            Ok::<Value, CheckError>(serde_json::to_value(report)?)
                        }
                        None => {
                            let report = self.tick(&tick, invocation).await?;
                            Ok::<Value, CheckError>(serde_json::to_value(report)?)
                        }
                    }
                },
            )
            .await;
        match result {
            Ok(execution) => {
                if execution.replayed {
                    info!(event_id = %tick.event_id, "event already processed: replaying stored report");
                }
                Ok(execution.response)
            }
            Err(IdempotencyError::InProgress) => Ok(duplicate_delivery(FUNCTION_NAME, &tick)),
            Err(IdempotencyError::PayloadMismatch) => Err(CheckError::BadEvent(format!(
                "event id {} was seen before with another time",
                tick.event_id
            ))),
            Err(IdempotencyError::Store(e)) => Err(CheckError::Storage(e)),
            Err(IdempotencyError::Work(e)) => Err(e),
        }
    }

    /// Checks every campaign with a failover config; one failing campaign
    /// never stops the others. Fails only when the configs cannot be listed.
    pub async fn tick(
        &self,
        tick: &Tick,
        invocation: &Invocation,
    ) -> Result<CheckReport, StoreError> {
        let configs = self.state.list_configs().await?;
        let audit_failures = AtomicU32::new(0);
        let ctx = Ctx {
            actor: FUNCTION_NAME,
            time: tick.time,
            invocation,
            event_id: Some(&tick.event_id),
            audit_failures: &audit_failures,
        };
        let mut tally = Tally::default();
        let mut campaigns = Vec::new();
        for stored in &configs {
            let Some(config) = stored.config.failover.as_ref() else {
                continue;
            };
            let span = tracing::info_span!("campaign", skill_id = stored.skill_id);
            let report = self
                .check_campaign(stored, config, &ctx, &mut tally)
                .instrument(span)
                .await;
            campaigns.push(report);
        }
        self.emit_metrics(
            tick.time,
            campaigns.len(),
            &tally,
            audit_failures.load(Ordering::Relaxed),
        );
        Ok(CheckReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            campaigns,
        })
    }

    /// The checker's EMF metrics for the campaigns of one tick or one batch.
    pub(crate) fn emit_metrics(
        &self,
        time: DateTime<Utc>,
        checked: usize,
        tally: &Tally,
        audit_failures: u32,
    ) {
        let mut metrics = Metrics::for_function(FUNCTION_NAME);
        metrics
            .put("CampaignsChecked", checked as f64, Unit::Count)
            .put("Failovers", f64::from(tally.failovers), Unit::Count)
            .put("Failbacks", f64::from(tally.failbacks), Unit::Count)
            .put("FailoverResumes", f64::from(tally.resumes), Unit::Count)
            .put("CampaignFailures", f64::from(tally.failures), Unit::Count)
            .put("AuditFailures", f64::from(audit_failures), Unit::Count)
            .put("CxoneRetries", self.cxone.retries() as f64, Unit::Count);
        metrics.emit(time.timestamp_millis());
    }

    /// Checks one campaign: reads its record, judges, begins or resumes a
    /// transition; failures are reported, audited and tallied.
    pub(crate) async fn check_campaign(
        &self,
        stored: &StoredConfig,
        config: &FailoverConfig,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> CampaignReport {
        let skill_id = stored.skill_id;
        let record = match self.failover.get(skill_id).await {
            Ok(record) => record,
            Err(e) => {
                warn!(error = %e, "could not read the failover record");
                tally.failures += 1;
                return failed(
                    skill_id,
                    Some(config.backup_skill_id),
                    FailoverState::Primary,
                    None,
                    format!("reading failover state: {e}"),
                );
            }
        };
        let paused = match self.state.get_pause(skill_id).await {
            Ok(pause) => pause.paused,
            Err(e) => {
                warn!(error = %e, "could not read the pause record");
                tally.failures += 1;
                return failed(
                    skill_id,
                    Some(config.backup_skill_id),
                    record.state,
                    None,
                    format!("reading the pause record: {e}"),
                );
            }
        };
        let result = match record.state {
            FailoverState::FailingOver | FailoverState::FailingBack => {
                self.resume(record.clone(), ctx, tally).await
            }
            _ if !stored.config.enabled => Ok(report(
                &record,
                Some(config.backup_skill_id),
                CheckOutcome::Disabled,
                None,
                None,
                None,
            )),
            _ if paused => Ok(report(
                &record,
                Some(config.backup_skill_id),
                CheckOutcome::Paused,
                None,
                None,
                Some("paused by an operator: not evaluated until resumed".into()),
            )),
            FailoverState::Primary => self.check_primary(record.clone(), config, ctx, tally).await,
            FailoverState::OnBackup => self.check_backup(record.clone(), config, ctx, tally).await,
        };
        match result {
            Ok(report) => report,
            Err((evidence, e)) => {
                warn!(error = %e, "failover check failed");
                tally.failures += 1;
                let backup = record.backup_skill_id.or(Some(config.backup_skill_id));
                let state = self
                    .failover
                    .get(skill_id)
                    .await
                    .map(|r| r.state)
                    .unwrap_or(record.state);
                failed(skill_id, backup, state, evidence, e)
            }
        }
    }

    /// Evidence from the counters of `skill_id` over `[from, to)`.
    pub(crate) async fn evidence(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        config: &FailoverConfig,
    ) -> Result<(Evidence, Verdict), StoreError> {
        let counts = self.events.window_counts(skill_id, from, to).await?;
        let evidence = Evidence {
            skill_id,
            rate: counts.success_rate(),
            samples: counts.samples(),
            success: counts.success,
            failure: counts.failure,
            abandoned: counts.abandoned,
            window_from: from,
            window_to: to,
            window_minutes: config.window_minutes,
            threshold: config.threshold,
            recovery_level: recovery_level(config.threshold),
            min_samples: config.min_samples,
        };
        Ok((
            evidence,
            verdict(&counts, config.threshold, config.min_samples),
        ))
    }

    /// A campaign on its primary skill: its success rate over the window
    /// ending at the event's time, judged with hysteresis
    /// ([`decide_primary`]); a confirmed collapse fails it over.
    pub(crate) async fn check_primary(
        &self,
        record: FailoverRecord,
        config: &FailoverConfig,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let skill_id = record.skill_id;
        let from = window_start(config, ctx.time);
        let (evidence, verdict) = self
            .evidence(skill_id, from, ctx.time, config)
            .await
            .map_err(|e| (None, format!("reading event counters: {e}")))?;
        let backup = Some(config.backup_skill_id);
        match decide_primary(&record, verdict, ctx.time) {
            PrimaryDecision::Stale => Ok(report(
                &record,
                backup,
                CheckOutcome::Stale,
                Some(verdict),
                Some(evidence),
                Some("the event is older than the last check".into()),
            )),
            PrimaryDecision::Stay { streak, changed } => {
                if changed {
                    self.store_streak(&record, streak, ctx)
                        .await
                        .map_err(|e| (Some(evidence.clone()), e))?;
                }
                let (outcome, message) = match verdict {
                    Verdict::Low => (CheckOutcome::Watching, format!(
                        "success rate below the threshold since {}; failing over once it has held for {} minutes",
                        streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        crate::decide::CONFIRM.num_minutes()
                    )),
                    Verdict::InsufficientSamples => (CheckOutcome::InsufficientSamples, format!(
                        "{} outcomes in the window, fewer than the {} needed to decide",
                        evidence.samples, config.min_samples
                    )),
                    Verdict::Middling | Verdict::Recovered => (CheckOutcome::Healthy, "success rate at or above the threshold".into()),
                };
                Ok(report(
                    &record,
                    backup,
                    outcome,
                    Some(verdict),
                    Some(evidence),
                    Some(message),
                ))
            }
            PrimaryDecision::FailOver { streak } => {
                let why = failover_why(&evidence, config, ctx.time, &streak);
                self.transition(
                    record,
                    Direction::Over,
                    config.backup_skill_id,
                    verdict,
                    evidence,
                    why,
                    ctx,
                    tally,
                )
                .await
            }
        }
    }

    /// A campaign on its backup skill: with `autoFailback`, the primary's
    /// results since the failover, judged with hysteresis
    /// ([`decide_backup`]); a confirmed recovery fails it back.
    pub(crate) async fn check_backup(
        &self,
        record: FailoverRecord,
        config: &FailoverConfig,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let skill_id = record.skill_id;
        let backup = record.backup_skill_id.or(Some(config.backup_skill_id));
        if !config.auto_failback {
            return Ok(report(
                &record,
                backup,
                CheckOutcome::OnBackup,
                None,
                None,
                Some("on backup; automatic failback is off: an operator fails back".into()),
            ));
        }
        // Only the primary's results since the failover count (fresh data).
        let mut from = window_start(config, ctx.time);
        if let Some(since) = record.since {
            from = from.max(since);
        }
        let (evidence, verdict) = self
            .evidence(skill_id, from, ctx.time, config)
            .await
            .map_err(|e| (None, format!("reading event counters: {e}")))?;
        match decide_backup(&record, true, config.window_minutes, verdict, ctx.time) {
            BackupDecision::Stale => Ok(report(
                &record,
                backup,
                CheckOutcome::Stale,
                Some(verdict),
                Some(evidence),
                Some("the event is older than the last check".into()),
            )),
            BackupDecision::Stay {
                streak,
                changed,
                reason,
            } => {
                if changed {
                    self.store_streak(&record, streak, ctx)
                        .await
                        .map_err(|e| (Some(evidence.clone()), e))?;
                }
                Ok(report(
                    &record,
                    backup,
                    CheckOutcome::OnBackup,
                    Some(verdict),
                    Some(evidence),
                    Some(reason),
                ))
            }
            BackupDecision::FailBack { streak } => {
                let Some(backup_id) = record.backup_skill_id else {
                    return Err((
                        Some(evidence),
                        "on backup, but the record names no backup skill".into(),
                    ));
                };
                let why = failback_why(&evidence, config, &streak);
                self.transition(
                    record,
                    Direction::Back,
                    backup_id,
                    verdict,
                    evidence,
                    why,
                    ctx,
                    tally,
                )
                .await
            }
        }
    }

    /// Stores a changed hysteresis streak (a lost race means another
    /// invocation recorded the same check: nothing to do).
    pub(crate) async fn store_streak(
        &self,
        record: &FailoverRecord,
        streak: Streak,
        ctx: &Ctx<'_>,
    ) -> Result<(), String> {
        let mut next = record.clone();
        next.streak_since = streak.since;
        next.streak_last_at = streak.last_at;
        next.updated_at = Some(ctx.time);
        next.updated_by = ctx.actor.to_owned();
        match self.failover.replace(record, next).await {
            Ok(Swap::Written(_)) => Ok(()),
            Ok(Swap::Conflict) => {
                info!("hysteresis streak written concurrently by another invocation");
                Ok(())
            }
            Err(e) => Err(format!("writing failover state: {e}")),
        }
    }
}

pub(crate) fn failed(
    skill_id: i64,
    backup_skill_id: Option<i64>,
    state: FailoverState,
    evidence: Option<Evidence>,
    message: String,
) -> CampaignReport {
    CampaignReport {
        skill_id,
        backup_skill_id,
        state,
        outcome: CheckOutcome::Failed,
        verdict: None,
        evidence,
        message: Some(message),
    }
}

/// The start of the success-rate window that ends at `time`.
fn window_start(config: &FailoverConfig, time: DateTime<Utc>) -> DateTime<Utc> {
    let window = TimeDelta::minutes(i64::from(config.window_minutes));
    time.checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The audit trail's reason for a failover confirmed by `streak`.
fn failover_why(
    evidence: &Evidence,
    config: &FailoverConfig,
    time: DateTime<Utc>,
    streak: &Streak,
) -> String {
    format!(
        "success rate {} over the {} minutes to {} is below the threshold {} with {} outcomes (minimum {}), on every check since {}",
        evidence.rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
        config.window_minutes,
        time.to_rfc3339(),
        config.threshold,
        evidence.samples,
        config.min_samples,
        streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
    )
}

/// The audit trail's reason for an automatic failback confirmed by `streak`.
fn failback_why(evidence: &Evidence, config: &FailoverConfig, streak: &Streak) -> String {
    format!(
        "automatic failback: the primary's success rate {} over {} outcomes since the failover is at or above the recovery level {} (threshold {}) on every check since {}",
        evidence.rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
        evidence.samples,
        evidence.recovery_level,
        config.threshold,
        streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failback::FailbackError;

    #[test]
    fn malformed_events_name_the_problem() {
        for (bad, needle) in [
            (json!(null), "object"),
            (json!([1]), "object"),
            (json!({}), "`id`"),
            (json!({"id": 5, "time": "2026-01-01T00:00:00Z"}), "`id`"),
            (json!({"id": "", "time": "2026-01-01T00:00:00Z"}), "`id`"),
            (
                json!({"id": "x".repeat(300), "time": "2026-01-01T00:00:00Z"}),
                "`id`",
            ),
            (json!({"id": "a"}), "`time`"),
            (json!({"id": "a", "time": 17}), "`time`"),
            (json!({"id": "a", "time": "yesterday"}), "`time`"),
        ] {
            let err = CheckError::from(Tick::from_event(&bad).unwrap_err());
            assert_eq!(err.kind(), "BadEvent");
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
        let tick =
            Tick::from_event(&json!({"id": "a", "time": "2026-03-10T14:05:00+01:00"})).unwrap();
        assert_eq!(tick.time.to_rfc3339(), "2026-03-10T13:05:00+00:00");
    }

    #[test]
    fn failback_errors_map_to_statuses() {
        assert_eq!(
            FailbackError::InProgress {
                skill_id: 1,
                state: FailoverState::FailingOver
            }
            .status(),
            409
        );
        assert_eq!(
            FailbackError::Busy {
                skill_id: 1,
                owner: "x".into()
            }
            .status(),
            409
        );
        assert_eq!(
            FailbackError::Corrupt {
                skill_id: 1,
                reason: "x".into()
            }
            .status(),
            500
        );
    }
}
