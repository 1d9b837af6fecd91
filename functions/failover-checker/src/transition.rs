//! The failover state machine's transitions: begin (compare-and-swap from
//! a settled state), carry out (stop the skill being left, start the other
//! one only when calling is lawful), resume an abandoned one, give up
//! ownership on a CXone failure, and audit every step. See the crate's docs
//! for why each happens exactly once.

use tracing::{error, info, warn};

use shared::cxone::CxoneError;
use shared::deadline::Deadline;
use shared::engine::window_guard::GuardAction;
use shared::guard::{GuardError, WindowGuard};
use shared::idempotency::unix_now_ms;
use shared::store::failover::{Evidence, FailoverRecord, FailoverState, Swap, TransitionStep};
use shared::store::state::LeaseError;
use shared::store::StoreError;

use crate::decide::Verdict;

use crate::context::{
    report, CampaignReport, CheckOutcome, Ctx, FailoverChecker, Tally, OWNER_CLOCK_MARGIN_MS,
};

/// Whether a transition started the skill it moves to.
pub(crate) enum Started {
    /// Started: calling is lawful now.
    Yes,
    /// Left stopped (and marked as the window guard's), with the guard's reason.
    LeftStopped(String),
}

/// Why a transition is made: the verdict, the numbers behind it, and the
/// words for the audit trail.
struct Grounds<'a> {
    /// What the counters said.
    verdict: Verdict,
    /// The numbers read.
    evidence: &'a Evidence,
    /// Why, for the audit record and the report.
    why: &'a str,
}

/// The report of a resumed transition: `resumed` (counted), `in_progress`
/// when another invocation took it over first, or the failure.
// The error carries the evidence back to the caller's report, like the
// transition steps' errors; it is built once per failed campaign.
#[allow(clippy::result_large_err)]
fn resumed_report(
    record: &FailoverRecord,
    direction: Direction,
    evidence: Option<Evidence>,
    result: Result<Option<FailoverRecord>, TransitionError>,
    tally: &mut Tally,
) -> Result<CampaignReport, (Option<Evidence>, String)> {
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
                CheckOutcome::Resumed,
                None,
                evidence,
                Some(format!("completed an interrupted {}", direction.name())),
            ))
        }
        Ok(None) => Ok(report(
            record,
            record.backup_skill_id,
            CheckOutcome::InProgress,
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

fn guard_error(e: GuardError) -> TransitionError {
    match e {
        GuardError::Cxone { source, .. } => TransitionError::Cxone(source),
        GuardError::Store { source, .. } => TransitionError::Storage(source),
        other => TransitionError::Guard(other.to_string()),
    }
}

/// Why a transition stopped part-way (internal).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransitionError {
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

/// Which way a transition goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Over,
    Back,
}

impl Direction {
    pub(crate) fn of(state: FailoverState) -> Option<Self> {
        match state {
            FailoverState::FailingOver => Some(Direction::Over),
            FailoverState::FailingBack => Some(Direction::Back),
            _ => None,
        }
    }
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::Over => "failover",
            Direction::Back => "failback",
        }
    }
    pub(crate) fn moving(self) -> FailoverState {
        match self {
            Direction::Over => FailoverState::FailingOver,
            Direction::Back => FailoverState::FailingBack,
        }
    }
    pub(crate) fn settled(self) -> FailoverState {
        match self {
            Direction::Over => FailoverState::OnBackup,
            Direction::Back => FailoverState::Primary,
        }
    }
    /// (skill to stop, skill to start).
    pub(crate) fn skills(self, primary: i64, backup: i64) -> (i64, i64) {
        match self {
            Direction::Over => (primary, backup),
            Direction::Back => (backup, primary),
        }
    }
    pub(crate) fn stopped_action(self) -> &'static str {
        match self {
            Direction::Over => "failover.primary_stopped",
            Direction::Back => "failback.backup_stopped",
        }
    }
}

impl FailoverChecker {
    /// Begins and carries out a failover or failback from a settled state,
    /// under the campaign's lease (`begin_and_carry_out`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn transition(
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
                return Ok(report(&record, Some(backup_skill_id), CheckOutcome::Deferred, Some(verdict), Some(evidence), Some(format!("another writer ({owner}) holds the campaign's lease; the next tick decides again"))));
            }
            Err(LeaseError::Store(e)) => {
                return Err((Some(evidence), format!("taking the campaign's lease: {e}")))
            }
        };
        let grounds = Grounds {
            verdict,
            evidence: &evidence,
            why: &why,
        };
        let result = self
            .begin_and_carry_out(&record, direction, backup_skill_id, &grounds, ctx, tally)
            .await;
        self.release(&lease).await;
        result
    }

    /// The transition under the lease: [`begin`](Self::begin) (another
    /// invocation may win the compare-and-swap: `in_progress`), then
    /// [`carry_out`](Self::carry_out), counted and reported.
    async fn begin_and_carry_out(
        &self,
        record: &FailoverRecord,
        direction: Direction,
        backup_skill_id: i64,
        grounds: &Grounds<'_>,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let failed = |message: String| (Some(grounds.evidence.clone()), message);
        let Some(begun) = self
            .begin(
                record,
                direction,
                backup_skill_id,
                grounds.evidence,
                grounds.why,
                ctx,
            )
            .await
            .map_err(|e| failed(format!("writing failover state: {e}")))?
        else {
            return self
                .lost_race(record.skill_id, backup_skill_id, grounds)
                .await;
        };
        let done = self.carry_out(begun, direction, ctx).await.map_err(|e| {
            failed(format!(
                "{} failed part-way (the next tick completes it): {e}",
                direction.name()
            ))
        })?;
        match direction {
            Direction::Over => tally.failovers += 1,
            Direction::Back => tally.failbacks += 1,
        }
        let outcome = match direction {
            Direction::Over => CheckOutcome::FailedOver,
            Direction::Back => CheckOutcome::FailedBack,
        };
        Ok(report(
            &done,
            Some(backup_skill_id),
            outcome,
            Some(grounds.verdict),
            Some(grounds.evidence.clone()),
            Some(grounds.why.to_owned()),
        ))
    }

    /// Another invocation began a transition first: `in_progress`, with the
    /// state it moved the campaign to.
    async fn lost_race(
        &self,
        skill_id: i64,
        backup_skill_id: i64,
        grounds: &Grounds<'_>,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let now = self.failover.get(skill_id).await.map_err(|e| {
            (
                Some(grounds.evidence.clone()),
                format!("reading failover state: {e}"),
            )
        })?;
        info!(state = %now.state, "another invocation got there first");
        Ok(report(
            &now,
            Some(backup_skill_id),
            CheckOutcome::InProgress,
            Some(grounds.verdict),
            Some(grounds.evidence.clone()),
            Some(format!(
                "another invocation moved the campaign to {} first",
                now.state
            )),
        ))
    }

    /// Completes a transition whose owner is gone (crashed, timed out, or
    /// failed): unless its owner may still be acting, takes it over under
    /// the campaign's lease ([`take_over_and_finish`](Self::take_over_and_finish))
    /// and reports what came of it (`resumed_report`).
    pub(crate) async fn resume(
        &self,
        record: FailoverRecord,
        ctx: &Ctx<'_>,
        tally: &mut Tally,
    ) -> Result<CampaignReport, (Option<Evidence>, String)> {
        let Some(direction) = Direction::of(record.state) else {
            return Ok(report(
                &record,
                record.backup_skill_id,
                CheckOutcome::InProgress,
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
                CheckOutcome::InProgress,
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
                    CheckOutcome::Deferred,
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
        resumed_report(&record, direction, evidence, result, tally)
    }

    /// Takes an abandoned transition over (compare-and-swap on its version)
    /// and finishes it. `Ok(None)`: someone else took it first.
    pub(crate) async fn take_over_and_finish(
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
    pub(crate) async fn begin(
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
    /// being left (unless already done) and record it (`stop_leaving`),
    /// start the other one ([`start_if_lawful`](Self::start_if_lawful)),
    /// settle (`settle`). On a CXone failure ownership is given up so the
    /// next tick resumes at once.
    pub(crate) async fn carry_out(
        &self,
        record: FailoverRecord,
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
        let record = if record.step != Some(TransitionStep::StopDone) {
            self.stop_leaving(record, direction, stop, deadline, ctx)
                .await?
        } else {
            record
        };
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
        self.settle(&record, direction, (stop, start), &started, ctx)
            .await
    }

    /// Stops the skill being left (`stop`) and records the step as done
    /// (audited); a CXone failure gives ownership up.
    async fn stop_leaving(
        &self,
        record: FailoverRecord,
        direction: Direction,
        stop: i64,
        deadline: &Deadline,
        ctx: &Ctx<'_>,
    ) -> Result<FailoverRecord, TransitionError> {
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
        Ok(stopped)
    }

    /// The last compare-and-swap: the settled state, no owner, audited with
    /// what was stopped and started (`skills`: stopped, started).
    async fn settle(
        &self,
        record: &FailoverRecord,
        direction: Direction,
        (stop, start): (i64, i64),
        started: &Started,
        ctx: &Ctx<'_>,
    ) -> Result<FailoverRecord, TransitionError> {
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
        let settled = match self.failover.replace(record, next).await? {
            Swap::Written(r) => *r,
            Swap::Conflict => return Err(TransitionError::Lost),
        };
        info!(
            direction = direction.name(),
            stopped = stop,
            started = start,
            "transition complete"
        );
        let what = match started {
            Started::Yes => format!("skill {start} started"),
            Started::LeftStopped(why) => format!(
                "skill {start} left stopped because calling is not lawful now ({why}); the window guard starts it when it is"
            ),
        };
        self.audit_transition(
            record,
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
    pub(crate) async fn start_if_lawful(
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
        let pause = self.state.get_pause(primary).await?;
        if pause.paused {
            let why = format!(
                "the campaign is paused by {}; it starts when an operator resumes it",
                pause.by.as_deref().unwrap_or("an operator")
            );
            info!(skill_id = start, "left stopped: the campaign is paused");
            return Ok(Started::LeftStopped(why));
        }
        // A skill that is a configured campaign of its own calls its own
        // recipients: the law is checked for them.
        let own = if start == primary {
            None
        } else {
            self.state.get_config(start).await?
        };
        let decision = guard
            .may_start(own.as_ref().unwrap_or(&stored), start, ctx.time, deadline)
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
    pub(crate) async fn give_up(
        &self,
        record: &FailoverRecord,
        direction: Direction,
        what: &str,
        err: &(dyn std::fmt::Display + Sync),
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
}
