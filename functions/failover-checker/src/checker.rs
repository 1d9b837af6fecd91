//! One tick of the failover checker, the transitions it drives, and the
//! operator's failback.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{error, info, warn, Instrument};

use shared::campaign_config::FailoverConfig;
use shared::cxone::{CxoneClient, CxoneError};
use shared::engine::window_guard::GuardAction;
use shared::guard::{GuardError, WindowGuard};
use shared::idempotency::{unix_now_ms, IdempotencyError, IdempotencyStore};
use shared::invocation::Invocation;
use shared::observability::{Metrics, Unit};
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::events::EventStore;
use shared::store::failover::{
    Evidence, FailoverRecord, FailoverState, FailoverStore, Swap, TransitionStep,
};
use shared::store::state::{Lease, LeaseError, StateStore, StoredConfig};
use shared::store::StoreError;

use crate::decide::{
    decide_backup, decide_primary, recovery_level, verdict, BackupDecision, PrimaryDecision,
    Streak, Verdict,
};

/// The function's name: actor of its audit records, `Function` metric dimension.
pub const FUNCTION_NAME: &str = "failover-checker";
/// Clock skew allowed between invocations when judging whether a
/// transition's owner may still be acting (its deadline plus this).
pub const OWNER_CLOCK_MARGIN_MS: u64 = 2_000;
/// Longest accepted EventBridge event id.
pub use shared::invocation::MAX_EVENT_ID_CHARS;

/// Why a tick failed as a whole (a campaign's failure is reported, not raised).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The event is not a usable scheduled event.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// The same event is being processed by another invocation right now.
    #[error("event {0} is already being processed")]
    InProgress(String),
    /// Storage failed before any campaign could be checked (EventBridge retries).
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    /// The report could not be encoded.
    #[error("could not encode the report: {0}")]
    Encode(#[from] serde_json::Error),
}

impl CheckError {
    /// A stable name for the error's kind (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckError::BadEvent(_) => "BadEvent",
            CheckError::InProgress(_) => "InProgress",
            CheckError::Storage(_) => "StorageFailed",
            CheckError::Encode(_) => "EncodeFailed",
        }
    }
}

/// Why an operator's failback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FailbackError {
    /// A failover or failback of this campaign is being carried out right now
    /// (or a failover must first be completed by the next tick): retry later.
    #[error("campaign {skill_id} is {state}; retry once it has settled")]
    InProgress {
        /// The campaign.
        skill_id: i64,
        /// Its state.
        state: FailoverState,
    },
    /// Another of the bundle's writers holds the campaign's lease.
    #[error("campaign {skill_id} is being written by {owner}; retry shortly")]
    Busy {
        /// The campaign.
        skill_id: i64,
        /// The lease holder.
        owner: String,
    },
    /// CXone refused or failed to stop or start a skill.
    #[error("CXone failed: {0}")]
    Cxone(#[from] CxoneError),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    /// The stored record cannot be acted on.
    #[error("failover record of campaign {skill_id} is unusable: {reason}")]
    Corrupt {
        /// The campaign.
        skill_id: i64,
        /// What is wrong.
        reason: String,
    },
}

impl FailbackError {
    /// The HTTP status a route answers with: 409 in progress or busy, 502
    /// CXone, 503 storage, 500 corrupt state.
    pub fn status(&self) -> u16 {
        match self {
            FailbackError::InProgress { .. } | FailbackError::Busy { .. } => 409,
            FailbackError::Cxone(_) => 502,
            FailbackError::Storage(_) => 503,
            FailbackError::Corrupt { .. } => 500,
        }
    }
}

/// What an operator's failback did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum FailbackOutcome {
    /// The backup was stopped and the primary started; the campaign is on its primary again.
    FailedBack {
        /// The backup skill that was stopped.
        backup_skill_id: i64,
    },
    /// The campaign was on its primary already: nothing done.
    AlreadyOnPrimary,
}

/// Whether a transition started the skill it moves to.
enum Started {
    /// Started: calling is lawful now.
    Yes,
    /// Left stopped (and marked as the window guard's), with the guard's reason.
    LeftStopped(String),
}

fn guard_error(e: GuardError) -> TransitionError {
    match e {
        GuardError::Cxone { source, .. } => TransitionError::Cxone(source),
        GuardError::Store { source, .. } => TransitionError::Storage(source),
        other => TransitionError::Guard(other.to_string()),
    }
}

/// Why a transition stopped part-way (internal).
#[derive(Debug, thiserror::Error)]
enum TransitionError {
    #[error("CXone failed: {0}")]
    Cxone(#[from] CxoneError),
    #[error("the window guard could not decide: {0}")]
    Guard(String),
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    #[error("another invocation took the transition over")]
    Lost,
    #[error("{0}")]
    Corrupt(String),
}

pub use shared::invocation::Tick;

impl From<shared::invocation::BadEvent> for CheckError {
    fn from(e: shared::invocation::BadEvent) -> Self {
        CheckError::BadEvent(e.0)
    }
}

/// What the tick did for one campaign.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    /// The campaign (primary skill).
    pub skill_id: i64,
    /// Its backup skill (from the record while failed over, else the config).
    pub backup_skill_id: Option<i64>,
    /// The state after this tick.
    pub state: FailoverState,
    /// `healthy`, `insufficient_samples`, `watching` (low, not yet confirmed),
    /// `failed_over`, `on_backup`, `failed_back`, `resumed` (finished a
    /// transition another invocation began), `in_progress` (another
    /// invocation is carrying one out), `deferred` (another writer holds the
    /// campaign's lease), `stale` (an event older than the last check),
    /// `disabled`, `failed`.
    pub outcome: String,
    /// What the counters said, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The numbers read, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Why, or what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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

/// The checker with its clients, built once per cold start.
pub struct FailoverChecker {
    /// CXone client (token cached across warm invocations).
    pub cxone: Arc<CxoneClient>,
    /// Campaign configs and leases.
    pub state: StateStore,
    /// Per-minute event counters.
    pub events: EventStore,
    /// Failover records.
    pub failover: FailoverStore,
    /// Audit trail.
    pub audit: AuditStore,
    /// Idempotency per EventBridge event id.
    pub idempotency: IdempotencyStore,
}

/// Who acts, when, in which invocation, for which event (operator: none).
struct Ctx<'a> {
    actor: &'a str,
    time: DateTime<Utc>,
    invocation: &'a Invocation,
    event_id: Option<&'a str>,
    audit_failures: &'a AtomicU32,
}

/// Which way a transition goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Over,
    Back,
}

impl Direction {
    fn of(state: FailoverState) -> Option<Self> {
        match state {
            FailoverState::FailingOver => Some(Direction::Over),
            FailoverState::FailingBack => Some(Direction::Back),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Direction::Over => "failover",
            Direction::Back => "failback",
        }
    }
    fn moving(self) -> FailoverState {
        match self {
            Direction::Over => FailoverState::FailingOver,
            Direction::Back => FailoverState::FailingBack,
        }
    }
    fn settled(self) -> FailoverState {
        match self {
            Direction::Over => FailoverState::OnBackup,
            Direction::Back => FailoverState::Primary,
        }
    }
    /// (skill to stop, skill to start).
    fn skills(self, primary: i64, backup: i64) -> (i64, i64) {
        match self {
            Direction::Over => (primary, backup),
            Direction::Back => (backup, primary),
        }
    }
    fn stopped_action(self) -> &'static str {
        match self {
            Direction::Over => "failover.primary_stopped",
            Direction::Back => "failback.backup_stopped",
        }
    }
}

/// Per-tick tallies for the metrics line.
#[derive(Default)]
struct Tally {
    failovers: u32,
    failbacks: u32,
    resumes: u32,
    failures: u32,
}

impl FailoverChecker {
    /// Handles one scheduled event: at most once per event id.
    pub async fn handle(
        &self,
        event: &Value,
        invocation: &Invocation,
    ) -> Result<Value, CheckError> {
        let tick = Tick::from_event(event)?;
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
                    let report = self.tick(&tick, invocation).await?;
                    Ok::<Value, CheckError>(serde_json::to_value(report)?)
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
            Err(IdempotencyError::InProgress) => Err(CheckError::InProgress(tick.event_id)),
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
        let mut metrics = Metrics::for_function(FUNCTION_NAME);
        metrics
            .put("CampaignsChecked", campaigns.len() as f64, Unit::Count)
            .put("Failovers", f64::from(tally.failovers), Unit::Count)
            .put("Failbacks", f64::from(tally.failbacks), Unit::Count)
            .put("FailoverResumes", f64::from(tally.resumes), Unit::Count)
            .put("CampaignFailures", f64::from(tally.failures), Unit::Count)
            .put(
                "AuditFailures",
                f64::from(audit_failures.load(Ordering::Relaxed)),
                Unit::Count,
            )
            .put("CxoneRetries", self.cxone.retries() as f64, Unit::Count);
        metrics.emit(tick.time.timestamp_millis());
        Ok(CheckReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            campaigns,
        })
    }

    async fn check_campaign(
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
        let result = match record.state {
            FailoverState::FailingOver | FailoverState::FailingBack => {
                self.resume(record.clone(), ctx, tally).await
            }
            _ if !stored.config.enabled => Ok(report(
                &record,
                Some(config.backup_skill_id),
                "disabled",
                None,
                None,
                None,
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
    async fn evidence(
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

    async fn check_primary(
        &self,
        record: FailoverRecord,
        config: &FailoverConfig,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let skill_id = record.skill_id;
        let window = TimeDelta::minutes(i64::from(config.window_minutes));
        let from = ctx
            .time
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let (evidence, verdict) = self
            .evidence(skill_id, from, ctx.time, config)
            .await
            .map_err(|e| (None, format!("reading event counters: {e}")))?;
        let backup = Some(config.backup_skill_id);
        match decide_primary(&record, verdict, ctx.time) {
            PrimaryDecision::Stale => Ok(report(
                &record,
                backup,
                "stale",
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
                    Verdict::Low => ("watching", format!(
                        "success rate below the threshold since {}; failing over once it has held for {} minutes",
                        streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        crate::decide::CONFIRM.num_minutes()
                    )),
                    Verdict::InsufficientSamples => ("insufficient_samples", format!(
                        "{} outcomes in the window, fewer than the {} needed to decide",
                        evidence.samples, config.min_samples
                    )),
                    Verdict::Middling | Verdict::Recovered => ("healthy", "success rate at or above the threshold".into()),
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
                let why = format!(
                    "success rate {} over the {} minutes to {} is below the threshold {} with {} outcomes (minimum {}), on every check since {}",
                    evidence.rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
                    config.window_minutes,
                    ctx.time.to_rfc3339(),
                    config.threshold,
                    evidence.samples,
                    config.min_samples,
                    streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                );
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

    async fn check_backup(
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
                "on_backup",
                None,
                None,
                Some("on backup; automatic failback is off: an operator fails back".into()),
            ));
        }
        // Only the primary's results since the failover count (fresh data).
        let window = TimeDelta::minutes(i64::from(config.window_minutes));
        let mut from = ctx
            .time
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
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
                "stale",
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
                    "on_backup",
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
                let why = format!(
                    "automatic failback: the primary's success rate {} over {} outcomes since the failover is at or above the recovery level {} (threshold {}) on every check since {}",
                    evidence.rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
                    evidence.samples,
                    evidence.recovery_level,
                    config.threshold,
                    streak.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
                );
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
    async fn store_streak(
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

    /// Begins and carries out a failover or failback from a settled state.
    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        record: FailoverRecord,
        direction: Direction,
        backup_skill_id: i64,
        verdict: Verdict,
        evidence: Evidence,
        why: String,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let skill_id = record.skill_id;
        let lease = match self.lease(skill_id, ctx).await {
            Ok(lease) => lease,
            Err(LeaseError::Held { owner, .. }) => {
                return Ok(report(&record, Some(backup_skill_id), "deferred", Some(verdict), Some(evidence), Some(format!("another writer ({owner}) holds the campaign's lease; the next tick decides again"))));
            }
            Err(LeaseError::Store(e)) => {
                return Err((Some(evidence), format!("taking the campaign's lease: {e}")))
            }
        };
        let result = async {
            let Some(begun) = self
                .begin(&record, direction, backup_skill_id, &evidence, &why, ctx)
                .await
                .map_err(|e| {
                    (
                        Some(evidence.clone()),
                        format!("writing failover state: {e}"),
                    )
                })?
            else {
                let now = self.failover.get(skill_id).await.map_err(|e| {
                    (
                        Some(evidence.clone()),
                        format!("reading failover state: {e}"),
                    )
                })?;
                info!(state = %now.state, "another invocation got there first");
                return Ok(report(
                    &now,
                    Some(backup_skill_id),
                    "in_progress",
                    Some(verdict),
                    Some(evidence.clone()),
                    Some(format!(
                        "another invocation moved the campaign to {} first",
                        now.state
                    )),
                ));
            };
            let done = self.carry_out(begun, direction, ctx).await.map_err(|e| {
                (
                    Some(evidence.clone()),
                    format!(
                        "{} failed part-way (the next tick completes it): {e}",
                        direction.name()
                    ),
                )
            })?;
            match direction {
                Direction::Over => tally.failovers += 1,
                Direction::Back => tally.failbacks += 1,
            }
            let outcome = match direction {
                Direction::Over => "failed_over",
                Direction::Back => "failed_back",
            };
            Ok(report(
                &done,
                Some(backup_skill_id),
                outcome,
                Some(verdict),
                Some(evidence.clone()),
                Some(why.clone()),
            ))
        }
        .await;
        self.release(&lease).await;
        result
    }

    /// Completes a transition whose owner is gone (crashed, timed out, or failed).
    async fn resume(
        &self,
        record: FailoverRecord,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let Some(direction) = Direction::of(record.state) else {
            return Ok(report(
                &record,
                record.backup_skill_id,
                "in_progress",
                None,
                None,
                None,
            ));
        };
        let evidence = record.evidence.clone();
        if record.owner_alive(unix_now_ms(), OWNER_CLOCK_MARGIN_MS) {
            return Ok(report(
                &record,
                record.backup_skill_id,
                "in_progress",
                None,
                evidence,
                Some(format!(
                    "{} being carried out by {}",
                    direction.name(),
                    record.owner.as_deref().unwrap_or("another invocation")
                )),
            ));
        }
        let lease = match self.lease(record.skill_id, ctx).await {
            Ok(lease) => lease,
            Err(LeaseError::Held { owner, .. }) => {
                return Ok(report(
                    &record,
                    record.backup_skill_id,
                    "deferred",
                    None,
                    evidence,
                    Some(format!(
                        "another writer ({owner}) holds the campaign's lease"
                    )),
                ));
            }
            Err(LeaseError::Store(e)) => {
                return Err((evidence, format!("taking the campaign's lease: {e}")))
            }
        };
        let result = self
            .take_over_and_finish(record.clone(), direction, ctx)
            .await;
        self.release(&lease).await;
        match result {
            Ok(Some(done)) => {
                tally.resumes += 1;
                match direction {
                    Direction::Over => tally.failovers += 1,
                    Direction::Back => tally.failbacks += 1,
                }
                Ok(report(
                    &done,
                    done.backup_skill_id,
                    "resumed",
                    None,
                    evidence,
                    Some(format!("completed an interrupted {}", direction.name())),
                ))
            }
            Ok(None) => Ok(report(
                &record,
                record.backup_skill_id,
                "in_progress",
                None,
                evidence,
                Some("another invocation took the transition over first".into()),
            )),
            Err(e) => Err((
                evidence,
                format!(
                    "resuming the {} failed (the next tick tries again): {e}",
                    direction.name()
                ),
            )),
        }
    }

    /// Takes an abandoned transition over (compare-and-swap on its version)
    /// and finishes it. `Ok(None)`: someone else took it first.
    async fn take_over_and_finish(
        &self,
        record: FailoverRecord,
        direction: Direction,
        ctx: &Ctx<'_>,
    ) -> Result<Option<FailoverRecord>, TransitionError> {
        let mut next = record.clone();
        next.owner = Some(ctx.invocation.request_id.clone());
        next.owner_deadline_ms = Some(ctx.invocation.deadline.epoch_ms());
        next.updated_at = Some(ctx.time);
        next.updated_by = ctx.actor.to_owned();
        let taken = match self.failover.replace(&record, next).await? {
            Swap::Written(taken) => *taken,
            Swap::Conflict => return Ok(None),
        };
        warn!(
            direction = direction.name(),
            previous_owner = record.owner.as_deref().unwrap_or(""),
            step = ?record.step,
            "resuming an interrupted transition"
        );
        self.audit_transition(&record, &taken, &format!("{}.resume", direction.name()),
            &format!("the {} begun by {} was interrupted; completing it (stopping and starting skills is harmless to repeat)",
                direction.name(), record.owner.as_deref().unwrap_or("an earlier invocation")),
            "resumed", ctx).await;
        self.carry_out(taken, direction, ctx).await.map(Some)
    }

    /// The first compare-and-swap of a transition: settled state -> moving,
    /// owned by this invocation. `Ok(None)`: another invocation won.
    async fn begin(
        &self,
        record: &FailoverRecord,
        direction: Direction,
        backup_skill_id: i64,
        evidence: &Evidence,
        why: &str,
        ctx: &Ctx<'_>,
    ) -> Result<Option<FailoverRecord>, StoreError> {
        let mut next = record.clone();
        next.state = direction.moving();
        next.step = Some(TransitionStep::StopRequested);
        next.backup_skill_id = Some(backup_skill_id);
        next.since = Some(ctx.time);
        next.owner = Some(ctx.invocation.request_id.clone());
        next.owner_deadline_ms = Some(ctx.invocation.deadline.epoch_ms());
        next.streak_since = None;
        next.streak_last_at = None;
        next.evidence = Some(evidence.clone());
        next.updated_at = Some(ctx.time);
        next.updated_by = ctx.actor.to_owned();
        match self.failover.replace(record, next).await? {
            Swap::Written(begun) => {
                let begun = *begun;
                info!(
                    direction = direction.name(),
                    version = begun.version,
                    "transition begun"
                );
                self.audit_transition(
                    record,
                    &begun,
                    &format!("{}.begin", direction.name()),
                    why,
                    "begun",
                    ctx,
                )
                .await;
                Ok(Some(begun))
            }
            Swap::Conflict => Ok(None),
        }
    }

    /// Carries a transition this invocation owns to its end: stop the skill
    /// being left (unless already done), record it, start the other one,
    /// settle. On a CXone failure ownership is given up so the next tick
    /// resumes at once.
    async fn carry_out(
        &self,
        mut record: FailoverRecord,
        direction: Direction,
        ctx: &Ctx<'_>,
    ) -> Result<FailoverRecord, TransitionError> {
        let primary = record.skill_id;
        let backup = record.backup_skill_id.ok_or_else(|| {
            TransitionError::Corrupt(format!(
                "{} in progress without a backup skill",
                direction.name()
            ))
        })?;
        let (stop, start) = direction.skills(primary, backup);
        let deadline = &ctx.invocation.deadline.for_cxone();
        if record.step != Some(TransitionStep::StopDone) {
            if let Err(e) = self.cxone.stop_skill(stop, false, deadline).await {
                self.give_up(
                    &record,
                    direction,
                    &format!("stopping skill {stop}"),
                    &e,
                    ctx,
                )
                .await;
                return Err(e.into());
            }
            let mut next = record.clone();
            next.step = Some(TransitionStep::StopDone);
            next.updated_at = Some(ctx.time);
            next.updated_by = ctx.actor.to_owned();
            let stopped = match self.failover.replace(&record, next).await? {
                Swap::Written(r) => *r,
                Swap::Conflict => return Err(TransitionError::Lost),
            };
            self.audit_transition(
                &record,
                &stopped,
                direction.stopped_action(),
                &format!("skill {stop} stopped"),
                "written",
                ctx,
            )
            .await;
            record = stopped;
        }
        let started = match self
            .start_if_lawful(primary, stop, start, ctx, deadline)
            .await
        {
            Ok(started) => started,
            Err(e) => {
                self.give_up(
                    &record,
                    direction,
                    &format!("starting skill {start}"),
                    &e,
                    ctx,
                )
                .await;
                return Err(e);
            }
        };
        let mut next = record.clone();
        next.state = direction.settled();
        next.step = None;
        next.since = Some(ctx.time);
        next.owner = None;
        next.owner_deadline_ms = None;
        next.streak_since = None;
        next.streak_last_at = None;
        next.updated_at = Some(ctx.time);
        next.updated_by = ctx.actor.to_owned();
        let settled = match self.failover.replace(&record, next).await? {
            Swap::Written(r) => *r,
            Swap::Conflict => return Err(TransitionError::Lost),
        };
        info!(
            direction = direction.name(),
            stopped = stop,
            started = start,
            "transition complete"
        );
        let what = match &started {
            Started::Yes => format!("skill {start} started"),
            Started::LeftStopped(why) => format!(
                "skill {start} left stopped because calling is not lawful now ({why}); the window guard starts it when it is"
            ),
        };
        self.audit_transition(
            &record,
            &settled,
            &format!("{}.complete", direction.name()),
            &format!(
                "skill {stop} stopped and {what}; campaign now {}",
                settled.state
            ),
            "written",
            ctx,
        )
        .await;
        Ok(settled)
    }

    /// Starts `start` (the backup on failover, the primary on failback) only
    /// if calling is lawful now for the campaign's recipients, by the window
    /// guard's rules; otherwise leaves it stopped and marked as the guard's,
    /// so the tuner's guard starts it once the law allows. The skill just
    /// stopped (`stop`) is no longer the guard's to restart.
    async fn start_if_lawful(
        &self,
        primary: i64,
        stop: i64,
        start: i64,
        ctx: &Ctx<'_>,
        deadline: &shared::deadline::Deadline,
    ) -> Result<Started, TransitionError> {
        let guard = WindowGuard::new(&self.cxone, &self.state, &self.audit);
        let stored = self.state.get_config(primary).await?.ok_or_else(|| {
            TransitionError::Guard(format!(
                "campaign {primary} has no config: the calling law for its recipients is unknown"
            ))
        })?;
        guard.release(stop).await.map_err(guard_error)?;
        let decision = guard
            .may_start(&stored, start, ctx.time, deadline)
            .await
            .map_err(guard_error)?;
        if decision.action != GuardAction::Start {
            let why = decision.reason.clone();
            guard
                .hold_stopped(start, ctx.time, &why)
                .await
                .map_err(guard_error)?;
            info!(skill_id = start, reason = %why, "left stopped: not lawful now");
            return Ok(Started::LeftStopped(why));
        }
        self.cxone.start_skill(start, deadline).await?;
        guard.release(start).await.map_err(guard_error)?;
        Ok(Started::Yes)
    }

    /// After a CXone failure: audit it and give up ownership (deadline 0),
    /// so the next tick resumes the transition without waiting.
    async fn give_up(
        &self,
        record: &FailoverRecord,
        direction: Direction,
        what: &str,
        err: &dyn std::fmt::Display,
        ctx: &Ctx<'_>,
    ) {
        error!(error = %err, what, "CXone failed during a transition");
        let mut next = record.clone();
        next.owner_deadline_ms = Some(0);
        next.updated_at = Some(ctx.time);
        next.updated_by = ctx.actor.to_owned();
        let after = match self.failover.replace(record, next).await {
            Ok(Swap::Written(r)) => *r,
            Ok(Swap::Conflict) => record.clone(),
            Err(e) => {
                warn!(error = %e, "could not give up ownership; the transition resumes after this invocation's deadline");
                record.clone()
            }
        };
        self.audit_transition(
            record,
            &after,
            &format!("{}.failed", direction.name()),
            &format!(
                "{what} failed: {err}; the next tick completes the {}",
                direction.name()
            ),
            "failed",
            ctx,
        )
        .await;
    }

    async fn lease(&self, skill_id: i64, ctx: &Ctx<'_>) -> Result<Lease, LeaseError> {
        self.state
            .acquire_lease(
                skill_id,
                &ctx.invocation.request_id,
                unix_now_ms(),
                ctx.invocation.deadline.epoch_ms(),
            )
            .await
    }

    async fn release(&self, lease: &Lease) {
        if let Err(e) = self.state.release_lease(lease).await {
            warn!(error = %e, "could not release the lease; it expires at the deadline");
        }
    }

    async fn audit_transition(
        &self,
        before: &FailoverRecord,
        after: &FailoverRecord,
        action: &str,
        why: &str,
        outcome: &str,
        ctx: &Ctx<'_>,
    ) {
        let record = AuditRecord {
            skill_id: before.skill_id,
            at: ctx.time,
            actor: ctx.actor.to_owned(),
            action: action.to_owned(),
            before: state_json(before),
            after: state_json(after),
            why: why.to_owned(),
            outcome: outcome.to_owned(),
            request_id: ctx.invocation.request_id.clone(),
            details: json!({
                "eventId": ctx.event_id,
                "evidence": after.evidence.as_ref().or(before.evidence.as_ref()),
                "primarySkillId": before.skill_id,
                "backupSkillId": after.backup_skill_id.or(before.backup_skill_id),
            }),
        };
        if let Err(e) = self.audit.append(&record).await {
            ctx.audit_failures.fetch_add(1, Ordering::Relaxed);
            error!(error = %e, action, "could not write the audit record of a failover transition");
        }
    }

    /// An operator's failback (for the campaign API): stops the backup and
    /// starts the primary, through the same state machine as the checker
    /// (`on_backup -> failing_back -> primary`, each step a compare-and-swap),
    /// audited with `actor` (the IAM principal) at `time` (the request's
    /// time). Idempotent: on the primary already is a success that says so.
    /// An interrupted failback is completed; a failover in progress is a
    /// [`FailbackError::InProgress`].
    pub async fn failback(
        &self,
        skill_id: i64,
        actor: &str,
        time: DateTime<Utc>,
        invocation: &Invocation,
    ) -> Result<FailbackOutcome, FailbackError> {
        let audit_failures = AtomicU32::new(0);
        let ctx = Ctx {
            actor,
            time,
            invocation,
            event_id: None,
            audit_failures: &audit_failures,
        };
        let record = self.failover.get(skill_id).await?;
        let in_progress = |state| FailbackError::InProgress { skill_id, state };
        let corrupt = |reason: &str| FailbackError::Corrupt {
            skill_id,
            reason: reason.to_owned(),
        };
        let backup = match (record.state, record.backup_skill_id) {
            (FailoverState::Primary, _) => return Ok(FailbackOutcome::AlreadyOnPrimary),
            (FailoverState::FailingOver, _) => return Err(in_progress(record.state)),
            (FailoverState::FailingBack, _)
                if record.owner_alive(unix_now_ms(), OWNER_CLOCK_MARGIN_MS) =>
            {
                return Err(in_progress(record.state))
            }
            (_, Some(backup)) => backup,
            (_, None) => return Err(corrupt("no backup skill recorded")),
        };
        let lease = match self.lease(skill_id, &ctx).await {
            Ok(lease) => lease,
            Err(LeaseError::Held { owner, .. }) => {
                return Err(FailbackError::Busy { skill_id, owner })
            }
            Err(LeaseError::Store(e)) => return Err(e.into()),
        };
        let result = async {
            if record.state == FailoverState::FailingBack {
                return match self.take_over_and_finish(record.clone(), Direction::Back, &ctx).await {
                    Ok(Some(_)) => Ok(FailbackOutcome::FailedBack { backup_skill_id: backup }),
                    Ok(None) => Err(in_progress(record.state)),
                    Err(e) => Err(transition_error(skill_id, record.state, e)),
                };
            }
            let evidence = record.evidence.clone().unwrap_or_default();
            let why = format!("operator failback by {actor}: stop backup skill {backup}, start primary skill {skill_id}");
            let Some(begun) = self.begin(&record, Direction::Back, backup, &evidence, &why, &ctx).await? else {
                return Err(in_progress(self.failover.get(skill_id).await?.state));
            };
            self.carry_out(begun, Direction::Back, &ctx)
                .await
                .map_err(|e| transition_error(skill_id, FailoverState::FailingBack, e))?;
            Ok(FailbackOutcome::FailedBack { backup_skill_id: backup })
        }
        .await;
        self.release(&lease).await;
        if result.is_ok() {
            let mut metrics = Metrics::for_function(FUNCTION_NAME);
            metrics.put("Failbacks", 1.0, Unit::Count);
            metrics.emit(time.timestamp_millis());
        }
        result
    }
}

fn transition_error(skill_id: i64, state: FailoverState, e: TransitionError) -> FailbackError {
    match e {
        TransitionError::Cxone(e) => FailbackError::Cxone(e),
        TransitionError::Storage(e) => FailbackError::Storage(e),
        TransitionError::Lost => FailbackError::InProgress { skill_id, state },
        TransitionError::Corrupt(reason) | TransitionError::Guard(reason) => {
            FailbackError::Corrupt { skill_id, reason }
        }
    }
}

fn state_json(record: &FailoverRecord) -> Value {
    json!({
        "state": record.state,
        "step": record.step,
        "version": record.version,
        "backupSkillId": record.backup_skill_id,
    })
}

fn report(
    record: &FailoverRecord,
    backup_skill_id: Option<i64>,
    outcome: &str,
    verdict: Option<Verdict>,
    evidence: Option<Evidence>,
    message: Option<String>,
) -> CampaignReport {
    CampaignReport {
        skill_id: record.skill_id,
        backup_skill_id: record.backup_skill_id.or(backup_skill_id),
        state: record.state,
        outcome: outcome.to_owned(),
        verdict,
        evidence,
        message,
    }
}

fn failed(
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
        outcome: "failed".into(),
        verdict: None,
        evidence,
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
