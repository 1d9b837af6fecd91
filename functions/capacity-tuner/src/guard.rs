//! The tuner's window-guard step: stop a running skill outside every lawful
//! window of its recipients, start it again when the campaign's own window
//! opens (only if the guard stopped it), audited like any other write.
//!
//! The decision is the engine's ([`shared::engine::window_guard::decide`]);
//! this module reads CXone and the state table, acts, and audits.

use chrono_tz::Tz;
use serde_json::json;
use tracing::info;

use shared::cxone::{CxoneClient, ScheduleSettings};
use shared::engine::compliance::{
    recipient_areas as compliance_areas, DayWindow, RecipientArea, StateCode,
};
use shared::engine::window_guard::{self, CampaignWindows, GuardAction, GuardDecision};
use shared::invocation::Invocation;
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::failover::{FailoverState, FailoverStore};
use shared::store::state::{DeployedSchedule, GuardRecord, StateStore, StoredConfig};

use crate::tuner::{Tick, FUNCTION_NAME};

/// What the guard step did.
#[derive(Clone, Debug, PartialEq)]
pub enum GuardOutcome {
    /// The skill may dial (running or not): go on with pacing.
    Proceed,
    /// The skill is stopped by the guard (now or earlier): skip pacing.
    Stopped,
    /// The guard started the skill again: go on with pacing.
    Started,
    /// The campaign has failed over (or is failing over or back): its primary
    /// skill belongs to the failover checker; leave it alone and skip pacing.
    FailedOver,
}

/// The campaign's own windows from CXone's schedule settings.
pub fn campaign_windows(zone: Tz, schedule: &ScheduleSettings) -> CampaignWindows {
    let days = std::array::from_fn(|i| {
        let day = &schedule.days[i];
        match (
            day.is_active,
            day.start_time.as_deref(),
            day.end_time.as_deref(),
        ) {
            (true, Some(start), Some(end)) => DayWindow::parse(start, end).ok(),
            _ => None,
        }
    });
    CampaignWindows {
        zone,
        days,
        scheduled: schedule.is_scheduled,
    }
}

/// The recipient areas to protect: the config's and the deployed schedule's, without repeats.
pub fn recipient_areas(
    stored: &StoredConfig,
    deployed: Option<&DeployedSchedule>,
) -> Vec<RecipientArea> {
    let mut areas = stored.config.recipient_areas();
    if let Some(deployed) = deployed {
        let zones: Vec<Tz> = deployed
            .recipient_time_zones
            .iter()
            .filter_map(|z| z.parse().ok())
            .collect();
        let states: Vec<StateCode> = deployed
            .recipient_states
            .iter()
            .filter_map(|s| StateCode::parse(s).ok())
            .collect();
        for area in compliance_areas(&zones, &states) {
            if !areas.contains(&area) {
                areas.push(area);
            }
        }
    }
    areas
}

/// Runs the guard for one campaign (the caller holds the campaign's lease).
pub async fn run(
    cxone: &CxoneClient,
    state: &StateStore,
    audit: &AuditStore,
    stored: &StoredConfig,
    tick: &Tick,
    invocation: &Invocation,
) -> Result<GuardOutcome, String> {
    let skill_id = stored.skill_id;
    let deadline = &invocation.deadline;
    let zone: Tz = stored
        .config
        .time_zone
        .parse()
        .map_err(|_| format!("config time zone {:?} is unknown", stored.config.time_zone))?;
    let failover = FailoverStore::new(state.client().clone(), state.table())
        .get(skill_id)
        .await
        .map_err(|e| format!("reading failover state: {e}"))?;
    if failover.state != FailoverState::Primary {
        return Ok(GuardOutcome::FailedOver);
    }
    let skill = cxone
        .skill(skill_id, deadline)
        .await
        .map_err(|e| format!("reading the skill: {e}"))?;
    let schedule = cxone
        .schedule_settings(skill_id, deadline)
        .await
        .map_err(|e| format!("reading schedule settings: {e}"))?;
    let record = state
        .get_guard(skill_id)
        .await
        .map_err(|e| format!("reading guard state: {e}"))?;
    let windows = campaign_windows(zone, &schedule);
    let deployed = state
        .get_deployed_schedule(skill_id)
        .await
        .map_err(|e| format!("reading the deployed schedule: {e}"))?;
    let areas = recipient_areas(stored, deployed.as_ref());
    let decision = window_guard::decide(
        tick.time,
        &areas,
        &windows,
        skill.is_running,
        record.stopped_at.is_some(),
    );
    match decision.action {
        GuardAction::Nothing if record.stopped_at.is_some() && !skill.is_running => {
            Ok(GuardOutcome::Stopped)
        }
        GuardAction::Nothing => {
            if record.stopped_at.is_some() {
                // Someone started it by hand while the guard held it: it is theirs now.
                state
                    .put_guard(skill_id, &GuardRecord::default())
                    .await
                    .map_err(|e| format!("writing guard state: {e}"))?;
            }
            Ok(GuardOutcome::Proceed)
        }
        GuardAction::Stop => {
            cxone
                .stop_skill(skill_id, false, deadline)
                .await
                .map_err(|e| format!("stopping the skill: {e}"))?;
            let record = GuardRecord {
                stopped_at: Some(tick.time),
                reason: Some(decision.reason.clone()),
            };
            state
                .put_guard(skill_id, &record)
                .await
                .map_err(|e| format!("writing guard state: {e}"))?;
            info!(reason = %decision.reason, "window guard stopped the skill");
            write_audit(
                audit,
                stored,
                tick,
                invocation,
                "guard.stop",
                &decision,
                true,
                false,
            )
            .await?;
            Ok(GuardOutcome::Stopped)
        }
        GuardAction::Start => {
            cxone
                .start_skill(skill_id, deadline)
                .await
                .map_err(|e| format!("starting the skill: {e}"))?;
            state
                .put_guard(skill_id, &GuardRecord::default())
                .await
                .map_err(|e| format!("writing guard state: {e}"))?;
            info!(reason = %decision.reason, "window guard started the skill");
            write_audit(
                audit,
                stored,
                tick,
                invocation,
                "guard.start",
                &decision,
                false,
                true,
            )
            .await?;
            Ok(GuardOutcome::Started)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_audit(
    audit: &AuditStore,
    stored: &StoredConfig,
    tick: &Tick,
    invocation: &Invocation,
    action: &str,
    decision: &GuardDecision,
    was_running: bool,
    now_running: bool,
) -> Result<(), String> {
    let record = AuditRecord {
        skill_id: stored.skill_id,
        at: tick.time,
        actor: FUNCTION_NAME.into(),
        action: action.into(),
        before: json!({"isRunning": was_running}),
        after: json!({"isRunning": now_running}),
        why: decision.reason.clone(),
        outcome: "written".into(),
        request_id: invocation.request_id.clone(),
        details: json!({"eventId": tick.event_id, "guard": decision}),
    };
    audit
        .append(&record)
        .await
        .map(|_| ())
        .map_err(|e| format!("writing audit: {e}"))
}
