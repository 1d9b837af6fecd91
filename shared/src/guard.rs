//! The window guard's reads and actions, for whichever skill dials for a
//! campaign: its primary, or its backup while it is failed over.
//!
//! The decision is the engine's ([`crate::engine::window_guard::decide`]);
//! this module reads CXone and the state table, acts, and audits. Two
//! functions use it:
//! - the capacity tuner, every tick, through [`WindowGuard::run`]: a running
//!   skill is stopped when no recipient may lawfully be called now (or a
//!   recipient area is under a whole-day ban), and a skill the guard stopped
//!   is started again once calling is lawful and the skill's own window is
//!   open;
//! - the failover checker, before it starts a skill (the backup on failover,
//!   the primary on failback), through [`WindowGuard::may_start`]: outside a
//!   lawful window the skill is left stopped and marked as the guard's
//!   ([`WindowGuard::hold_stopped`]), so the tuner starts it when the law
//!   allows.
//!
//! The recipients are the campaign's: its config's zones and states plus
//! those of the schedule last deployed to its primary. The backup calls the
//! same people, so the same law applies to it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tracing::info;

use crate::cxone::{CxoneClient, CxoneError, ScheduleSettings};
use crate::deadline::Deadline;
use crate::engine::compliance::{
    recipient_areas as compliance_areas, DayWindow, RecipientArea, StateCode,
};
use crate::engine::window_guard::{self, CampaignWindows, GuardAction, GuardDecision};
use crate::store::audit::{AuditRecord, AuditStore};
use crate::store::state::{DeployedSchedule, GuardRecord, StateStore, StoredConfig};
use crate::store::StoreError;

/// Why the guard could not decide or act.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The campaign's config names a time zone that does not parse.
    #[error("config time zone {0:?} is unknown")]
    Zone(String),
    /// CXone failed (reading the skill or its schedule, stopping or starting it).
    #[error("{what}: {source}")]
    Cxone {
        /// What was being done.
        what: String,
        /// CXone's error.
        #[source]
        source: CxoneError,
    },
    /// The state or audit table failed.
    #[error("{what}: {source}")]
    Store {
        /// What was being done.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

fn cxone(what: String) -> impl FnOnce(CxoneError) -> GuardError {
    move |source| GuardError::Cxone { what, source }
}

fn store(what: &'static str) -> impl FnOnce(StoreError) -> GuardError {
    move |source| GuardError::Store { what, source }
}

/// What the guard step did for the skill that dials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardOutcome {
    /// The skill may dial (running or not): go on with pacing.
    Proceed,
    /// The skill is stopped by the guard (now or earlier): skip pacing.
    Stopped,
    /// The guard started the skill again: go on with pacing.
    Started,
}

/// Who acts, when, and for which request: what every guard audit record carries.
#[derive(Clone, Copy, Debug)]
pub struct Acting<'a> {
    /// The function or IAM principal.
    pub actor: &'a str,
    /// The triggering event's time (never the wall clock).
    pub time: DateTime<Utc>,
    /// The invocation's request id.
    pub request_id: &'a str,
    /// The EventBridge event id, when a scheduled event triggered it.
    pub event_id: Option<&'a str>,
    /// The deadline for CXone calls.
    pub deadline: &'a Deadline,
}

/// The campaign's own windows from a skill's schedule settings, in the campaign's zone.
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

/// The window guard over the bundle's clients.
pub struct WindowGuard<'a> {
    cxone: &'a CxoneClient,
    state: &'a StateStore,
    audit: &'a AuditStore,
}

/// What the guard read about one skill of a campaign.
struct Reading {
    running: bool,
    windows: CampaignWindows,
    areas: Vec<RecipientArea>,
    record: GuardRecord,
}

impl<'a> WindowGuard<'a> {
    /// A guard using these clients.
    pub fn new(cxone: &'a CxoneClient, state: &'a StateStore, audit: &'a AuditStore) -> Self {
        Self {
            cxone,
            state,
            audit,
        }
    }

    async fn read(
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<Reading, GuardError> {
        let zone: Tz = stored
            .config
            .time_zone
            .parse()
            .map_err(|_| GuardError::Zone(stored.config.time_zone.clone()))?;
        let skill = self
            .cxone
            .skill(skill_id, deadline)
            .await
            .map_err(cxone(format!("reading skill {skill_id}")))?;
        let schedule = self
            .cxone
            .schedule_settings(skill_id, deadline)
            .await
            .map_err(cxone(format!(
                "reading schedule settings of skill {skill_id}"
            )))?;
        let record = self
            .state
            .get_guard(skill_id)
            .await
            .map_err(store("reading guard state"))?;
        let deployed = self
            .state
            .get_deployed_schedule(stored.skill_id)
            .await
            .map_err(store("reading the deployed schedule"))?;
        Ok(Reading {
            running: skill.is_running,
            windows: campaign_windows(zone, &schedule),
            areas: recipient_areas(stored, deployed.as_ref()),
            record,
        })
    }

    /// Whether `skill_id` (the campaign's primary or backup) may be started
    /// now: some recipient may lawfully be called, no recipient area is under
    /// a whole-day ban, and the skill's own window is open. The decision's
    /// action is [`GuardAction::Start`] when it may.
    pub async fn may_start(
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        time: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<GuardDecision, GuardError> {
        let reading = self.read(stored, skill_id, deadline).await?;
        Ok(window_guard::decide(
            time,
            &reading.areas,
            &reading.windows,
            false,
            true,
        ))
    }

    /// Marks `skill_id` as stopped by the guard (it was left stopped because
    /// calling is unlawful now), so the guard starts it once the law allows.
    pub async fn hold_stopped(
        &self,
        skill_id: i64,
        time: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), GuardError> {
        let record = GuardRecord {
            stopped_at: Some(time),
            reason: Some(reason.to_owned()),
        };
        self.state
            .put_guard(skill_id, &record)
            .await
            .map_err(store("writing guard state"))
    }

    /// Forgets that the guard stopped `skill_id` (it was started lawfully by
    /// another path, or it no longer dials for the campaign).
    pub async fn release(&self, skill_id: i64) -> Result<(), GuardError> {
        self.state
            .put_guard(skill_id, &GuardRecord::default())
            .await
            .map_err(store("writing guard state"))
    }

    /// Runs the guard for `skill_id`, the skill that dials for the campaign
    /// now (the caller holds the campaign's lease). Actions are audited
    /// under the campaign, naming the skill.
    pub async fn run(
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        acting: &Acting<'_>,
    ) -> Result<GuardOutcome, GuardError> {
        let reading = self.read(stored, skill_id, acting.deadline).await?;
        let stopped_by_guard = reading.record.stopped_at.is_some();
        let decision = window_guard::decide(
            acting.time,
            &reading.areas,
            &reading.windows,
            reading.running,
            stopped_by_guard,
        );
        match decision.action {
            GuardAction::Nothing if stopped_by_guard && !reading.running => {
                Ok(GuardOutcome::Stopped)
            }
            GuardAction::Nothing => {
                if stopped_by_guard {
                    // Someone started it by hand while the guard held it: it is theirs now.
                    self.release(skill_id).await?;
                }
                Ok(GuardOutcome::Proceed)
            }
            GuardAction::Stop => {
                self.cxone
                    .stop_skill(skill_id, false, acting.deadline)
                    .await
                    .map_err(cxone(format!("stopping skill {skill_id}")))?;
                self.hold_stopped(skill_id, acting.time, &decision.reason)
                    .await?;
                info!(skill_id, reason = %decision.reason, "window guard stopped the skill");
                self.write_audit(
                    stored,
                    skill_id,
                    acting,
                    "guard.stop",
                    &decision,
                    true,
                    false,
                )
                .await?;
                Ok(GuardOutcome::Stopped)
            }
            GuardAction::Start => {
                self.cxone
                    .start_skill(skill_id, acting.deadline)
                    .await
                    .map_err(cxone(format!("starting skill {skill_id}")))?;
                self.release(skill_id).await?;
                info!(skill_id, reason = %decision.reason, "window guard started the skill");
                self.write_audit(
                    stored,
                    skill_id,
                    acting,
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
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        acting: &Acting<'_>,
        action: &str,
        decision: &GuardDecision,
        was_running: bool,
        now_running: bool,
    ) -> Result<(), GuardError> {
        let record = AuditRecord {
            skill_id: stored.skill_id,
            at: acting.time,
            actor: acting.actor.to_owned(),
            action: action.into(),
            before: json!({"skillId": skill_id, "isRunning": was_running}),
            after: json!({"skillId": skill_id, "isRunning": now_running}),
            why: decision.reason.clone(),
            outcome: "written".into(),
            request_id: acting.request_id.to_owned(),
            details: json!({"eventId": acting.event_id, "skillId": skill_id, "guard": decision}),
        };
        self.audit
            .append(&record)
            .await
            .map(|_| ())
            .map_err(store("writing the audit record"))
    }
}
