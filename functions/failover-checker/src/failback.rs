//! The operator's failback (the campaign API's `POST .../failback` calls
//! [`FailoverChecker::failback`]): `on_backup -> failing_back -> primary`
//! through the same state machine as the checker.

use std::sync::atomic::AtomicU32;

use chrono::{DateTime, Utc};
use serde::Serialize;

use shared::cxone::CxoneError;
use shared::idempotency::unix_now_ms;
use shared::invocation::Invocation;
use shared::observability::{Metrics, Unit};
use shared::store::failover::FailoverState;
use shared::store::state::LeaseError;
use shared::store::StoreError;

use crate::context::{Ctx, FailoverChecker, FUNCTION_NAME, OWNER_CLOCK_MARGIN_MS};
use crate::transition::{Direction, TransitionError};

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

impl FailoverChecker {
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
