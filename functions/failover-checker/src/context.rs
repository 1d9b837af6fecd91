//! The checker's clients, the context every action runs in (with the
//! campaign's lease and the audit record of a transition step), and what a
//! tick reports per campaign: the lowest module of the crate
//! ([`crate::checker`], [`crate::transition`] and [`crate::failback`] use
//! it; it uses only [`crate::decide`]).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{error, warn};

use shared::cxone::CxoneClient;
use shared::idempotency::{unix_now_ms, IdempotencyStore};
use shared::invocation::Invocation;
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::events::EventStore;
use shared::store::failover::{Evidence, FailoverRecord, FailoverState, FailoverStore};
use shared::store::state::{Lease, LeaseError, StateStore};

use crate::decide::Verdict;

/// The function's name: actor of its audit records, `Function` metric dimension.
pub const FUNCTION_NAME: &str = "failover-checker";
/// Clock skew allowed between invocations when judging whether a
/// transition's owner may still be acting (its deadline plus this).
pub const OWNER_CLOCK_MARGIN_MS: u64 = 2_000;
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
    /// What the check did.
    pub outcome: CheckOutcome,
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

/// What a check did for one campaign (the report's `outcome`, in
/// snake_case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// At or above the threshold.
    Healthy,
    /// Fewer outcomes than `minSamples`: no conclusion either way.
    InsufficientSamples,
    /// Below the threshold, not yet confirmed.
    Watching,
    /// This check failed the campaign over.
    FailedOver,
    /// On its backup; no failback due.
    OnBackup,
    /// This check failed the campaign back.
    FailedBack,
    /// Finished a transition another invocation began.
    Resumed,
    /// Another invocation is carrying a transition out.
    InProgress,
    /// Another writer holds the campaign's lease; the next tick decides.
    Deferred,
    /// An event older than the last check.
    Stale,
    /// The campaign is disabled (or has no failover config any more).
    Disabled,
    /// An operator paused it.
    Paused,
    /// The check failed (storage or CXone); audited, retried next tick.
    Failed,
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
    /// Idempotency per EventBridge event id, and per task.
    pub idempotency: IdempotencyStore,
    /// The task queue a scheduled event is dispatched to, when the checker
    /// fans out (`TASK_QUEUE_URL`).
    pub queue: Option<shared::fanout::queue::TaskQueue>,
}

/// Who acts, when, in which invocation, for which event (operator: none).
pub(crate) struct Ctx<'a> {
    pub(crate) actor: &'a str,
    pub(crate) time: DateTime<Utc>,
    pub(crate) invocation: &'a Invocation,
    pub(crate) event_id: Option<&'a str>,
    pub(crate) audit_failures: &'a AtomicU32,
}

/// Per-tick tallies for the metrics line.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) failovers: u32,
    pub(crate) failbacks: u32,
    pub(crate) resumes: u32,
    pub(crate) failures: u32,
}

impl Tally {
    /// Adds another tally (a task's) to this one (its batch's).
    pub(crate) fn add(&mut self, other: &Tally) {
        self.failovers += other.failovers;
        self.failbacks += other.failbacks;
        self.resumes += other.resumes;
        self.failures += other.failures;
    }
}

/// A campaign's report from its failover record (`backup_skill_id` when
/// the record names none).
pub(crate) fn report(
    record: &FailoverRecord,
    backup_skill_id: Option<i64>,
    outcome: CheckOutcome,
    verdict: Option<Verdict>,
    evidence: Option<Evidence>,
    message: Option<String>,
) -> CampaignReport {
    CampaignReport {
        skill_id: record.skill_id,
        backup_skill_id: record.backup_skill_id.or(backup_skill_id),
        state: record.state,
        outcome,
        verdict,
        evidence,
        message,
    }
}

/// What every action of the checker uses: its campaign's write lease and the
/// audit record of each transition step.
impl FailoverChecker {
    /// The campaign's write lease, held until the invocation's deadline.
    pub(crate) async fn lease(&self, skill_id: i64, ctx: &Ctx<'_>) -> Result<Lease, LeaseError> {
        self.state
            .acquire_lease(
                skill_id,
                &ctx.invocation.request_id,
                unix_now_ms(),
                ctx.invocation.deadline.epoch_ms(),
            )
            .await
    }

    /// Releases `lease` (it expires at the deadline if this fails).
    pub(crate) async fn release(&self, lease: &Lease) {
        if let Err(e) = self.state.release_lease(lease).await {
            warn!(error = %e, "could not release the lease; it expires at the deadline");
        }
    }

    /// Appends the audit record of a transition step from `before` to
    /// `after` (a failure is counted and logged, never fatal).
    pub(crate) async fn audit_transition(
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
}

fn state_json(record: &FailoverRecord) -> Value {
    json!({
        "state": record.state,
        "step": record.step,
        "version": record.version,
        "backupSkillId": record.backup_skill_id,
    })
}
