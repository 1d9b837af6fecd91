//! One tick of the capacity tuner: every enabled campaign, once per EventBridge event.
//!
//! A tick runs in two passes over the enabled campaigns, each under the
//! campaign's write lease:
//! 1. **the window guard** for the skill that dials for each campaign (its
//!    primary, or its backup while failed over), so that every stop that
//!    the law requires is made before any pacing work; the pass may use at
//!    most half of the time CXone is given;
//! 2. **pacing** for each campaign the guard let dial ([`crate::pace`]).
//!
//! In each pass a campaign gets an even share of the time left (what an
//! earlier campaign did not use passes on), so a slow campaign cannot starve
//! the others. CXone is given the invocation's deadline less
//! [`shared::deadline::RECORD_RESERVE`], so the audit records, the stored
//! report and the field records still fit when CXone is slow.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn, Instrument};

use shared::cxone::CxoneClient;
use shared::deadline::Deadline;
use shared::fanout::queue::TaskQueue;
use shared::fanout::Trigger;
use shared::guard::{Acting, GuardOutcome, WindowGuard};
use shared::idempotency::{unix_now_ms, IdempotencyError, IdempotencyStore};
use shared::invocation::Invocation;
use shared::observability::{duplicate_delivery, Metrics, Unit};
use shared::store::audit::AuditStore;
use shared::store::failover::{FailoverState, FailoverStore};
use shared::store::state::{Lease, LeaseError, StateStore, StoredConfig};

use crate::pace::Pacer;
use crate::run::Run;
pub use crate::run::{CampaignReport, FUNCTION_NAME};

/// Why a tick failed as a whole (per-campaign failures are reported, not raised).
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// The event is not a usable scheduled event.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// Storage failed (EventBridge retries the event).
    #[error("storage failed: {0}")]
    Storage(String),
}

impl TickError {
    /// A stable name for the error's kind (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            TickError::BadEvent(_) => "BadEvent",
            TickError::Storage(_) => "StorageFailed",
        }
    }
}

/// Lambda's report of a failed tick: `errorType` is [`TickError::kind`],
/// `errorMessage` the error's text.
impl From<TickError> for lambda_runtime::Diagnostic {
    fn from(e: TickError) -> Self {
        Self {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

pub use shared::invocation::Tick;

impl From<shared::invocation::BadEvent> for TickError {
    fn from(e: shared::invocation::BadEvent) -> Self {
        TickError::BadEvent(e.0)
    }
}

/// The response of one tick (stored for replays of the same event).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// The event processed.
    pub event_id: String,
    /// Its time.
    pub time: DateTime<Utc>,
    /// One entry per enabled campaign.
    pub campaigns: Vec<CampaignReport>,
}

/// The tuner with its clients, built once per cold start.
pub struct Tuner {
    /// CXone client (token cached across warm invocations).
    pub cxone: Arc<CxoneClient>,
    /// The task queue a scheduled event is dispatched to, when the tuner
    /// fans out (`TASK_QUEUE_URL`).
    pub queue: Option<TaskQueue>,
    /// State table.
    pub state: StateStore,
    /// Audit table.
    pub audit: AuditStore,
    /// Idempotency table.
    pub idempotency: IdempotencyStore,
}

/// The enabled campaigns, to tell whether a backup skill is a campaign of
/// its own: listed by a tick, or looked up by a task (which sees one).
#[derive(Clone, Copy)]
enum Campaigns<'a> {
    /// Every enabled campaign's primary skill.
    Listed(&'a [i64]),
    /// Read the backup's config when there is one to tell.
    LookUp,
}

/// What the guard pass leaves for the pacing pass.
enum GuardStep {
    /// The campaign is settled for this tick.
    Done(CampaignReport),
    /// Pace this skill (the campaign's primary or its backup).
    Pace(i64),
}

/// The skill that dials for a campaign, from its failover record.
enum Dialling {
    /// This skill.
    Skill(i64),
    /// A failover or failback is under way: the failover checker owns both skills.
    InTransition(FailoverState),
}

impl Tuner {
    /// Handles one invocation: a scheduled event is dispatched as one task
    /// per campaign when the tuner has a task queue ([`crate::fanout`]),
    /// else worked through in place ([`Tuner::tick`]), at most once per
    /// event id; a batch of tasks from the queue is worked on task by task.
    /// A duplicate delivery of an event that another invocation is still
    /// processing is a success that does nothing ([`duplicate_delivery`]):
    /// no dead letter, no `Errors` alarm.
    pub async fn handle(&self, event: &Value, invocation: &Invocation) -> Result<Value, TickError> {
        let tick = match Trigger::from_event(event)? {
            Trigger::Scheduled(tick) => tick,
            Trigger::Tasks(records) => {
                let response = self.work_tasks(records, invocation).await;
                return Ok(serde_json::to_value(response).expect("a batch response serializes"));
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
                            let report = self.dispatch(&tick, queue).await?;
                            serde_json::to_value(report).map_err(|e| e.to_string())
                        }
                        None => {
                            let report = self.tick(&tick, invocation).await;
                            serde_json::to_value(report).map_err(|e| e.to_string())
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
            Err(IdempotencyError::PayloadMismatch) => Err(TickError::BadEvent(format!(
                "event id {} was seen before with another time",
                tick.event_id
            ))),
            Err(IdempotencyError::Store(e)) => Err(TickError::Storage(e.to_string())),
            Err(IdempotencyError::Work(e)) => Err(TickError::Storage(e)),
        }
    }

    /// Guards, then tunes, every enabled campaign; one failing campaign
    /// never stops the others.
    pub async fn tick(&self, tick: &Tick, invocation: &Invocation) -> TickReport {
        let run = Run::new(tick, invocation, &self.audit);
        let campaigns = match self.state.list_configs().await {
            Ok(configs) => {
                let enabled: Vec<StoredConfig> =
                    configs.into_iter().filter(|c| c.config.enabled).collect();
                self.both_passes(&enabled, &run).await
            }
            Err(e) => {
                warn!(error = %e, "could not list campaign configs");
                vec![CampaignReport::new(
                    0,
                    None,
                    "failed",
                    Some(format!("could not list campaigns: {e}")),
                )]
            }
        };
        self.emit_metrics(
            tick.time,
            &campaigns,
            run.audit_failures.load(Ordering::Relaxed),
        );
        TickReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            campaigns,
        }
    }

    /// The tuner's EMF metrics for the campaigns of one tick or one batch.
    pub(crate) fn emit_metrics(
        &self,
        time: DateTime<Utc>,
        campaigns: &[CampaignReport],
        audit_failures: u32,
    ) {
        let count = |f: fn(&CampaignReport) -> usize| campaigns.iter().map(f).sum::<usize>() as f64;
        let mut metrics = Metrics::for_function(FUNCTION_NAME);
        metrics
            .put("Decisions", campaigns.len() as f64, Unit::Count)
            .put("Writes", count(|c| c.fields_written), Unit::Count)
            .put("Overrides", count(|c| c.overrides), Unit::Count)
            .put(
                "CampaignFailures",
                count(|c| usize::from(c.outcome == "failed")),
                Unit::Count,
            )
            .put(
                "NonCompliantCampaigns",
                count(|c| usize::from(c.non_compliant)),
                Unit::Count,
            )
            .put("AuditFailures", f64::from(audit_failures), Unit::Count)
            .put("CxoneRetries", self.cxone.retries() as f64, Unit::Count);
        metrics.emit(time.timestamp_millis());
    }

    /// The guard pass over every campaign, then the pacing pass over those
    /// the guard let dial, each campaign with an even share of the time left.
    async fn both_passes(&self, enabled: &[StoredConfig], run: &Run<'_>) -> Vec<CampaignReport> {
        let cxone_deadline = run.invocation.deadline.for_cxone();
        let guard_end = cxone_deadline.capped_after(cxone_deadline.remaining() / 2);
        let campaigns: Vec<i64> = enabled.iter().map(|c| c.skill_id).collect();
        let mut steps = Vec::with_capacity(enabled.len());
        for (i, stored) in enabled.iter().enumerate() {
            let slice = share(&guard_end, enabled.len() - i);
            let span = tracing::info_span!("campaign", skill_id = stored.skill_id, pass = "guard");
            steps.push(
                self.guard_campaign(stored, Campaigns::Listed(&campaigns), run, &slice)
                    .instrument(span)
                    .await,
            );
        }
        let mut to_pace = steps
            .iter()
            .filter(|s| matches!(s, GuardStep::Pace(_)))
            .count();
        let mut reports = Vec::with_capacity(enabled.len());
        for (stored, step) in enabled.iter().zip(steps) {
            let report = match step {
                GuardStep::Done(report) => report,
                GuardStep::Pace(skill_id) => {
                    let slice = share(&cxone_deadline, to_pace);
                    to_pace -= 1;
                    let span =
                        tracing::info_span!("campaign", skill_id = stored.skill_id, pass = "pace");
                    self.pace_campaign(stored, skill_id, run, &slice)
                        .instrument(span)
                        .await
                }
            };
            reports.push(report);
        }
        reports
    }

    /// The skill that dials for the campaign now.
    async fn dialling(&self, stored: &StoredConfig) -> Result<Dialling, String> {
        let record = FailoverStore::new(self.state.client().clone(), self.state.table())
            .get(stored.skill_id)
            .await
            .map_err(|e| format!("reading failover state: {e}"))?;
        match record.state {
            FailoverState::Primary => Ok(Dialling::Skill(stored.skill_id)),
            FailoverState::OnBackup => record
                .backup_skill_id
                .or(stored.config.failover.as_ref().map(|f| f.backup_skill_id))
                .map(Dialling::Skill)
                .ok_or_else(|| "on backup, but no backup skill is recorded".to_owned()),
            state => Ok(Dialling::InTransition(state)),
        }
    }

    /// The campaign's write lease, or the report of a campaign skipped
    /// (another writer holds it, audited) or failed (storage).
    async fn take_lease(
        &self,
        stored: &StoredConfig,
        run: &Run<'_>,
    ) -> Result<Lease, CampaignReport> {
        match self
            .state
            .acquire_lease(
                stored.skill_id,
                &run.invocation.request_id,
                unix_now_ms(),
                run.invocation.deadline.epoch_ms(),
            )
            .await
        {
            Ok(lease) => Ok(lease),
            Err(LeaseError::Held { owner, .. }) => {
                let why = format!("another writer ({owner}) holds the campaign's lease");
                run.audit_simple(stored, "skipped", &why, json!({})).await;
                Err(CampaignReport::new(
                    stored.skill_id,
                    None,
                    "skipped",
                    Some(why),
                ))
            }
            Err(LeaseError::Store(e)) => {
                warn!(error = %e, "lease failed");
                Err(CampaignReport::new(
                    stored.skill_id,
                    None,
                    "failed",
                    Some(format!("could not take the campaign's lease: {e}")),
                ))
            }
        }
    }

    /// Releases the lease; a failure is logged (it expires at the deadline).
    async fn release(&self, lease: &Lease) {
        if let Err(e) = self.state.release_lease(lease).await {
            warn!(error = %e, "could not release lease; it expires at the deadline");
        }
    }

    /// The guard pass for one campaign, under its lease.
    async fn guard_campaign(
        &self,
        stored: &StoredConfig,
        campaigns: Campaigns<'_>,
        run: &Run<'_>,
        deadline: &Deadline,
    ) -> GuardStep {
        let lease = match self.take_lease(stored, run).await {
            Ok(lease) => lease,
            Err(report) => return GuardStep::Done(report),
        };
        let step = self
            .guard_under_lease(stored, campaigns, run, deadline)
            .await;
        self.release(&lease).await;
        step
    }

    /// The guard pass under the lease: a paused campaign stays stopped
    /// (`paused`); the skill that dials is found (`dialling_skill`); the
    /// window guard stops or starts it. What is left to pace, if anything.
    async fn guard_under_lease(
        &self,
        stored: &StoredConfig,
        campaigns: Campaigns<'_>,
        run: &Run<'_>,
        deadline: &Deadline,
    ) -> GuardStep {
        let skill_id = stored.skill_id;
        if let Some(done) = self.paused(stored, run).await {
            return GuardStep::Done(done);
        }
        let dialling = match self.dialling_skill(stored, campaigns, run).await {
            Ok(id) => id,
            Err(done) => return GuardStep::Done(done),
        };
        let acting = Acting {
            actor: FUNCTION_NAME,
            time: run.tick.time,
            request_id: &run.invocation.request_id,
            event_id: Some(&run.tick.event_id),
            deadline,
        };
        let guard = WindowGuard::new(&self.cxone, &self.state, &self.audit);
        match guard.run(stored, dialling, &acting).await {
            Ok(GuardOutcome::Stopped) => {
                let why = format!(
                    "skill {dialling} stopped by the window guard: no recipient may lawfully be called now"
                );
                run.audit_simple(stored, "stopped", &why, json!({"skillId": dialling}))
                    .await;
                GuardStep::Done(CampaignReport::new(
                    skill_id,
                    Some(dialling),
                    "stopped",
                    Some(why),
                ))
            }
            Ok(GuardOutcome::Proceed | GuardOutcome::Started) => GuardStep::Pace(dialling),
            Err(e) => GuardStep::Done(
                self.failed(stored, Some(dialling), run, format!("window guard: {e}"))
                    .await,
            ),
        }
    }

    /// The report of a campaign an operator paused (audited), or of a pause
    /// record that could not be read; `None` when it is not paused.
    async fn paused(&self, stored: &StoredConfig, run: &Run<'_>) -> Option<CampaignReport> {
        let skill_id = stored.skill_id;
        match self.state.get_pause(skill_id).await {
            Ok(pause) if pause.paused => {
                let why = format!(
                    "paused by {} ({}): the campaign stays stopped until an operator resumes it",
                    pause.by.as_deref().unwrap_or("an operator"),
                    pause.reason.as_deref().unwrap_or("no reason given")
                );
                run.audit_simple(stored, "paused", &why, json!({})).await;
                Some(CampaignReport::new(skill_id, None, "paused", Some(why)))
            }
            Ok(_) => None,
            Err(e) => Some(
                self.failed(stored, None, run, format!("reading the pause record: {e}"))
                    .await,
            ),
        }
    }

    /// The skill the guard pass acts on for the campaign: its primary, or
    /// its backup while failed over. The campaign is settled for this tick
    /// (`Err`) while a transition is under way, when the skill cannot be
    /// found, or when the backup is an enabled campaign of its own.
    async fn dialling_skill(
        &self,
        stored: &StoredConfig,
        campaigns: Campaigns<'_>,
        run: &Run<'_>,
    ) -> Result<i64, CampaignReport> {
        let skill_id = stored.skill_id;
        let dialling = match self.dialling(stored).await {
            Ok(Dialling::Skill(id)) => id,
            Ok(Dialling::InTransition(state)) => {
                let why = format!("the campaign is {state}: the failover checker owns its skills until it settles");
                run.audit_simple(stored, "skipped", &why, json!({})).await;
                return Err(CampaignReport::new(
                    skill_id,
                    None,
                    "in_transition",
                    Some(why),
                ));
            }
            Err(why) => return Err(self.failed(stored, None, run, why).await),
        };
        let backup_is_campaign = match campaigns {
            _ if dialling == skill_id => false,
            Campaigns::Listed(ids) => ids.contains(&dialling),
            Campaigns::LookUp => match self.state.get_config(dialling).await {
                Ok(config) => config.is_some_and(|c| c.config.enabled),
                Err(e) => {
                    let why = format!("reading the backup's config: {e}");
                    return Err(self.failed(stored, Some(dialling), run, why).await);
                }
            },
        };
        if backup_is_campaign {
            // The backup is an enabled campaign of its own: it is guarded and
            // paced as that campaign (its own recipients, history and lease),
            // never by two campaigns at once.
            let why = format!(
                "on backup skill {dialling}, which is guarded and paced as a campaign of its own"
            );
            return Err(CampaignReport::new(
                skill_id,
                Some(dialling),
                "on_backup",
                Some(why),
            ));
        }
        Ok(dialling)
    }

    /// The pacing pass for one campaign, under its lease; the skill that
    /// dials is checked again (a failover may have happened since the guard pass).
    async fn pace_campaign(
        &self,
        stored: &StoredConfig,
        guarded: i64,
        run: &Run<'_>,
        deadline: &Deadline,
    ) -> CampaignReport {
        let lease = match self.take_lease(stored, run).await {
            Ok(lease) => lease,
            Err(report) => return report,
        };
        let report = match self.dialling(stored).await {
            Ok(Dialling::Skill(id)) if id == guarded => {
                let pacer = Pacer {
                    cxone: &self.cxone,
                    state: &self.state,
                };
                match pacer.decide_and_write(stored, id, run, deadline).await {
                    Ok(report) => report,
                    Err(why) => self.failed(stored, Some(id), run, why).await,
                }
            }
            Ok(_) => {
                let why = "the campaign changed skills during the tick (failover or failback): the next tick paces it".to_owned();
                run.audit_simple(stored, "skipped", &why, json!({})).await;
                CampaignReport::new(stored.skill_id, None, "skipped", Some(why))
            }
            Err(why) => self.failed(stored, Some(guarded), run, why).await,
        };
        self.release(&lease).await;
        report
    }

    /// One campaign's guard, then its pacing, under one lease (a task's
    /// work): while the lease is held no other writer of the bundle fails
    /// the campaign over or back, so the skill the guard found is the one
    /// to pace. The guard may use CXone until `guard_deadline`, pacing
    /// until `deadline`.
    pub(crate) async fn guard_and_pace(
        &self,
        stored: &StoredConfig,
        run: &Run<'_>,
        guard_deadline: &Deadline,
        deadline: &Deadline,
    ) -> CampaignReport {
        let lease = match self.take_lease(stored, run).await {
            Ok(lease) => lease,
            Err(report) => return report,
        };
        let report = match self
            .guard_under_lease(stored, Campaigns::LookUp, run, guard_deadline)
            .await
        {
            GuardStep::Done(report) => report,
            GuardStep::Pace(skill_id) => {
                let pacer = Pacer {
                    cxone: &self.cxone,
                    state: &self.state,
                };
                match pacer
                    .decide_and_write(stored, skill_id, run, deadline)
                    .await
                {
                    Ok(report) => report,
                    Err(why) => self.failed(stored, Some(skill_id), run, why).await,
                }
            }
        };
        self.release(&lease).await;
        report
    }

    /// Audits and reports a campaign whose tick failed (`why`).
    async fn failed(
        &self,
        stored: &StoredConfig,
        dialling: Option<i64>,
        run: &Run<'_>,
        why: String,
    ) -> CampaignReport {
        warn!(error = %why, "tuning failed");
        run.audit_simple(stored, "failed", &why, json!({"skillId": dialling}))
            .await;
        CampaignReport::new(stored.skill_id, dialling, "failed", Some(why))
    }
}

/// An even share of the time left before `deadline` for one of `left` units of work.
fn share(deadline: &Deadline, left: usize) -> Deadline {
    let left = u32::try_from(left.max(1)).unwrap_or(u32::MAX);
    deadline.capped_after(deadline.remaining() / left)
}
