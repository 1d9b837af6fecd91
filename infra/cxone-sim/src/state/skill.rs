//! A skill at run time: its settings, dialler, agent roster, ground truth,
//! completed contacts and the random drift of its profiles.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;
use serde_json::{json, Map, Value};
use shared::engine::dialer::{CallModel, Dialer, Snapshot};

use crate::model::{ContactRecord, TruthCounters};
use crate::scenario::SkillScenario;
use crate::settings;
use crate::SimError;

/// An agent's reported state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AgentState {
    /// Not logged in.
    LoggedOut,
    /// Available for a call.
    Available,
    /// Talking on an outbound call.
    Working,
    /// After-call work.
    Acw,
    /// Paused.
    Unavailable,
}

/// One agent of a skill's roster.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// Agent id.
    pub agent_id: i64,
    /// Team id.
    pub team_id: i64,
    /// Current state.
    pub state: AgentState,
    /// When the state last changed (simulated time).
    pub last_update: DateTime<Utc>,
}

/// A skill's run-time state.
#[derive(Debug)]
pub struct SkillRt {
    /// The scenario entry (profiles and call model).
    pub sc: SkillScenario,
    /// Whether the skill is running (dialling when inside its window).
    pub running: bool,
    /// Current general settings (flat).
    pub general: Map<String, Value>,
    /// Current schedule settings (flat).
    pub schedule: Map<String, Value>,
    /// Current time-zone windows (zone under `name`).
    pub time_zones: Vec<Value>,
    /// The dialler model.
    pub dialer: Dialer,
    /// Agent roster.
    pub agents: Vec<Agent>,
    /// Ground truth per minute (key: minute start, Unix seconds).
    pub truth: BTreeMap<i64, (TruthCounters, f64)>,
    /// Completed contacts in completion order.
    pub contacts: Vec<ContactRecord>,
    drift_rng: ChaCha8Rng,
    /// Log-multipliers (agents, live-answer rate) of the drift.
    drift_x: (f64, f64),
    drift_minute: Option<i64>,
}

impl SkillRt {
    /// A skill with its settings merged over the defaults, a stopped
    /// dialler seeded with `seed`, and no agents, truth, contacts or drift
    /// yet.
    pub(super) fn new(sc: SkillScenario, seed: u64) -> Result<SkillRt, SimError> {
        let general = settings::merge_general(&settings::default_general(), &sc.general_settings)
            .map_err(SimError::Scenario)?;
        let schedule =
            settings::merge_schedule(&settings::default_schedule(), &sc.schedule_settings)
                .map_err(SimError::Scenario)?;
        let time_zones =
            settings::parse_time_zones(&sc.time_zones, true).map_err(SimError::Scenario)?;
        let mut dialer = Dialer::new(call_model(&sc), seed);
        dialer.set_dialling(false);
        dialer.set_record_calls(true);
        Ok(SkillRt {
            running: sc.is_running,
            general,
            schedule,
            time_zones,
            dialer,
            agents: Vec::new(),
            truth: BTreeMap::new(),
            contacts: Vec::new(),
            drift_rng: ChaCha8Rng::seed_from_u64(seed ^ 0xD21F_7000_0000_0001),
            drift_x: (0.0, 0.0),
            drift_minute: None,
            sc,
        })
    }

    /// Current `maximumRatio`.
    pub fn ratio(&self) -> f64 {
        self.general
            .get("maximumRatio")
            .and_then(Value::as_f64)
            .unwrap_or(1.0)
    }

    /// The team of the skill's agents (the scenario's, else ten times the
    /// skill id).
    pub(super) fn team_id(&self) -> i64 {
        self.sc.team_id.unwrap_or(self.sc.skill_id * 10)
    }

    /// Current dialler counts.
    pub fn snapshot(&self) -> Snapshot {
        self.dialer.snapshot()
    }

    /// The skill as `GET /skills/{id}` shows it.
    pub fn skill_json(&self) -> Value {
        let mut v = json!({
            "skillId": self.sc.skill_id,
            "skillName": self.sc.skill_name,
            "mediaTypeId": 4,
            "mediaTypeName": "Phone Call",
            "isActive": self.sc.is_active,
            "isOutbound": self.sc.is_outbound,
            "outboundStrategy": self.sc.outbound_strategy,
            "campaignId": self.sc.campaign_id,
        });
        if self.running {
            if let Some(o) = v.as_object_mut() {
                o.insert("isRunning".into(), Value::Bool(true));
            }
        }
        v
    }

    /// Moves the drift forward to the minute of `now`.
    pub(super) fn update_drift(&mut self, now: DateTime<Utc>) {
        let minute = now.timestamp().div_euclid(60);
        let dr = self.sc.drift;
        if dr.agents_sd <= 0.0 && dr.live_answer_sd <= 0.0 {
            return;
        }
        let last = *self.drift_minute.get_or_insert(minute);
        let steps = (minute - last).clamp(0, 100_000);
        let decay = (-1.0 / dr.reversion_minutes).exp();
        let noise = (1.0 - decay * decay).sqrt();
        for _ in 0..steps {
            let za: f64 = self.drift_rng.sample(StandardNormal);
            let zl: f64 = self.drift_rng.sample(StandardNormal);
            self.drift_x.0 = self.drift_x.0 * decay + dr.agents_sd * noise * za;
            self.drift_x.1 = self.drift_x.1 * decay + dr.live_answer_sd * noise * zl;
        }
        self.drift_minute = Some(minute);
    }

    /// The drift's multipliers of (agents, live-answer rate).
    pub(super) fn drift_factors(&self) -> (f64, f64) {
        (self.drift_x.0.exp(), self.drift_x.1.exp())
    }
}

/// The dialler's call model of a skill at the start (answer rate 0 until
/// the first step sets it from the profile).
fn call_model(sc: &SkillScenario) -> CallModel {
    CallModel {
        live_answer_rate: 0.0,
        machine_rate: sc.machine_rate,
        busy_rate: sc.busy_rate,
        ring: sc.ring,
        talk: sc.talk,
        wrap: sc.wrap,
        ring_limit_s: 20.0,
        success_rate: sc.success_rate.value_at(NaiveTime::MIN).clamp(0.0, 1.0),
    }
}
