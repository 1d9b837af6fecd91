//! What the pacing engine needs to know about one dialling skill, read from
//! CXone in one place for the capacity tuner and the operator API's pacing
//! simulation: staffing now, results over the recent window and over the
//! law's period (30 days, or the campaign's life), and the live general
//! settings; and the engine's inputs built from them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::campaign_config::CampaignLife;
use crate::cxone::{CxoneClient, CxoneError, SkillActivity, SkillSummary};
use crate::deadline::Deadline;
use crate::engine::pacing::{self, PacingInputs, Results, Staffing};
use crate::safe_write::number;
use crate::store::state::StoredConfig;

/// How far back the "recent interval" reaches, minutes.
pub const RECENT_WINDOW_MINUTES: i64 = 15;
/// CXone's ring-time field.
pub const RING_FIELD: &str = "maximumRingingDuration";

/// Why a reading failed: which read, and CXone's error.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct ReadError {
    /// Which read failed (`reading staffing`, ...).
    pub what: &'static str,
    /// CXone's error.
    #[source]
    pub source: CxoneError,
}

/// One dialling skill as the engine sees it, at `now`.
#[derive(Clone, Debug)]
pub struct SkillReading {
    /// The skill read.
    pub skill_id: i64,
    /// When (the triggering event's time).
    pub now: DateTime<Utc>,
    /// Where the campaign is in its life (the period's start, its age).
    pub life: CampaignLife,
    /// Staffing now.
    pub activity: SkillActivity,
    /// Results over the last [`RECENT_WINDOW_MINUTES`].
    pub recent: SkillSummary,
    /// Results over the law's period.
    pub period: SkillSummary,
    /// The live general settings (flat, by CXone name).
    pub settings: Map<String, Value>,
}

/// Results as the engine takes them.
pub fn results(summary: &SkillSummary) -> Results {
    Results {
        dials: summary.dials,
        connects: summary.connects,
        abandons: summary.abandon_count,
        mean_talk_seconds: summary.average_talk_time.unwrap_or(0.0),
        mean_wrap_seconds: summary.average_wrap_time.unwrap_or(0.0),
    }
}

impl SkillReading {
    /// Reads `skill_id`, which dials for the campaign `stored`, at `now`.
    pub async fn read(
        cxone: &CxoneClient,
        stored: &StoredConfig,
        skill_id: i64,
        now: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<SkillReading, ReadError> {
        let at = |what: &'static str| move |source| ReadError { what, source };
        let life = stored.life(now);
        let activity = cxone
            .skill_activity(skill_id, deadline)
            .await
            .map_err(at("reading staffing"))?;
        let recent_from = now - Duration::minutes(RECENT_WINDOW_MINUTES);
        let recent = cxone
            .skill_summary(skill_id, recent_from, now, deadline)
            .await
            .map_err(at("reading recent results"))?;
        let period = cxone
            .skill_summary(skill_id, life.period_from, now, deadline)
            .await
            .map_err(at("reading the period's results"))?;
        let settings = cxone
            .general_settings(skill_id, deadline)
            .await
            .map_err(at("reading general settings"))?
            .to_map();
        Ok(SkillReading {
            skill_id,
            now,
            life,
            activity,
            recent,
            period,
            settings,
        })
    }

    /// The engine's inputs for the campaign `stored`, with the ratio and
    /// ring time in force taken from [`SkillReading::settings`].
    pub fn inputs(&self, stored: &StoredConfig) -> PacingInputs {
        let pacing_config = &stored.config.pacing;
        let a = &self.activity;
        PacingInputs {
            staffing: Staffing {
                available: a.agents_available,
                working: a.agents_working,
                acw: a.agents_acw,
                logged_in: a.agents_logged_in,
            },
            recent: results(&self.recent),
            period: results(&self.period),
            recent_seconds: (RECENT_WINDOW_MINUTES * 60) as f64,
            current_ratio: number(&self.settings, "maximumRatio").unwrap_or(1.0),
            target_abandon_pct: pacing_config.target_abandon_pct,
            min_ratio: pacing_config.min_ratio,
            max_ratio: pacing_config.max_ratio,
            ring_limit_seconds: number(&self.settings, RING_FIELD).unwrap_or(0.0),
            // Same skill and time, same prediction: a replay decides the same.
            seed: pacing::predict::mix(self.skill_id as u64, self.now.timestamp_millis() as u64),
            // A campaign younger than 30 days is paced so that every day ends lawful.
            campaign_age_days: Some(self.life.age_days),
        }
    }
}
