//! The scenario file: tenant, credentials, skills, staffing and call profiles.
//!
//! The format is documented in the crate's `README.md`.

use std::path::Path;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use shared::engine::dialer::Dist;

use crate::settings;
use crate::webhook::WebhookConfig;
use crate::SimError;

/// A whole simulated tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Seed of every random draw (same seed + same advances = same truth).
    pub seed: u64,
    /// Simulated time at start-up (RFC 3339).
    pub start: DateTime<Utc>,
    /// IANA zone for staffing profiles, schedules and legal hours (e.g. `America/New_York`).
    pub time_zone: String,
    /// What the token endpoint accepts and which tenant it names.
    pub credentials: Credentials,
    /// Real-time lifetime of access tokens, seconds (default 3600).
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_seconds: u64,
    /// The tenant's outbound skills.
    pub skills: Vec<SkillScenario>,
    /// DNC groups and the skills they scrub.
    #[serde(default)]
    pub dnc_groups: Vec<DncGroupScenario>,
    /// The `contact.completed` webhook at start (see [`crate::webhook`]); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
    /// Settings for drivers of the simulated day (the demo applies
    /// `autopilot.configs["<skillId>"]` over its default campaign config);
    /// stored, never used by the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autopilot: Option<Value>,
}

fn default_token_lifetime() -> u64 {
    3600
}

/// API credentials the simulated tenant accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// Access key id (the password grant's `username`).
    pub access_key_id: String,
    /// Access key secret (the password grant's `password`).
    pub access_key_secret: String,
    /// OAuth client id (HTTP Basic user).
    pub client_id: String,
    /// OAuth client secret (HTTP Basic password).
    pub client_secret: String,
    /// Tenant id, put in the id_token's `tenantId` claim.
    pub tenant_id: String,
}

/// How a [`Profile`] fills the time between its points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Interpolation {
    /// Straight line between neighbouring points (default).
    #[default]
    Linear,
    /// Each point's value holds until the next point.
    Step,
}

/// One point of a day profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePoint {
    /// Local time `"HH:MM"`.
    pub time: String,
    /// Value at that time.
    pub value: f64,
}

/// A value over the local day: before the first point the first value holds,
/// after the last point the last value holds. A plain number is a constant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "ProfileRepr", into = "ProfileRepr")]
pub struct Profile {
    /// Interpolation between points.
    pub interpolation: Interpolation,
    /// Points sorted by time (minutes after local midnight, value).
    points: Vec<(u32, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ProfileRepr {
    Constant(f64),
    Points {
        #[serde(default)]
        interpolation: Interpolation,
        points: Vec<ProfilePoint>,
    },
}

impl From<ProfileRepr> for Profile {
    fn from(r: ProfileRepr) -> Profile {
        match r {
            ProfileRepr::Constant(v) => Profile::constant(v),
            ProfileRepr::Points {
                interpolation,
                points,
            } => {
                let mut pts: Vec<(u32, f64)> = points
                    .iter()
                    .map(|p| {
                        (
                            settings::parse_hhmm(&p.time)
                                .map(minutes_of)
                                .unwrap_or(u32::MAX),
                            p.value,
                        )
                    })
                    .collect();
                pts.sort_by_key(|p| p.0);
                Profile {
                    interpolation,
                    points: pts,
                }
            }
        }
    }
}

impl From<Profile> for ProfileRepr {
    fn from(p: Profile) -> ProfileRepr {
        ProfileRepr::Points {
            interpolation: p.interpolation,
            points: p
                .points
                .iter()
                .map(|(m, v)| ProfilePoint {
                    time: format!("{:02}:{:02}", m / 60, m % 60),
                    value: *v,
                })
                .collect(),
        }
    }
}

fn minutes_of(t: NaiveTime) -> u32 {
    use chrono::Timelike;
    t.hour() * 60 + t.minute()
}

impl Profile {
    /// A constant profile.
    pub fn constant(v: f64) -> Profile {
        Profile {
            interpolation: Interpolation::Step,
            points: vec![(0, v)],
        }
    }

    /// Builds a profile from `("HH:MM", value)` pairs.
    pub fn from_points(interpolation: Interpolation, points: &[(&str, f64)]) -> Profile {
        ProfileRepr::Points {
            interpolation,
            points: points
                .iter()
                .map(|(t, v)| ProfilePoint {
                    time: (*t).to_string(),
                    value: *v,
                })
                .collect(),
        }
        .into()
    }

    /// Checks that every point has a valid time and a finite value.
    pub fn validate(&self, what: &str) -> Result<(), SimError> {
        if self.points.is_empty() {
            return Err(SimError::Scenario(format!(
                "{what}: a profile needs at least one point"
            )));
        }
        for (m, v) in &self.points {
            if *m == u32::MAX {
                return Err(SimError::Scenario(format!(
                    "{what}: a point's time is not \"HH:MM\""
                )));
            }
            if !v.is_finite() {
                return Err(SimError::Scenario(format!(
                    "{what}: a point's value is not finite"
                )));
            }
        }
        Ok(())
    }

    /// The value at a local time of day.
    pub fn value_at(&self, t: NaiveTime) -> f64 {
        let m = f64::from(minutes_of(t)) + f64::from(chrono::Timelike::second(&t)) / 60.0;
        let Some(first) = self.points.first() else {
            return 0.0;
        };
        if m <= f64::from(first.0) {
            return first.1;
        }
        for w in self.points.windows(2) {
            let (a, b) = (w[0], w[1]);
            if m < f64::from(b.0) {
                return match self.interpolation {
                    Interpolation::Step => a.1,
                    Interpolation::Linear => {
                        let span = f64::from(b.0 - a.0);
                        if span <= 0.0 {
                            b.1
                        } else {
                            a.1 + (b.1 - a.1) * (m - f64::from(a.0)) / span
                        }
                    }
                };
            }
        }
        self.points.last().map_or(0.0, |p| p.1)
    }

    /// The largest value of any point.
    pub fn max_value(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }
}

/// One outbound skill (a campaign) and its simulated call centre.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillScenario {
    /// CXone skill id.
    pub skill_id: i64,
    /// Skill name.
    pub skill_name: String,
    /// CXone reporting campaign id.
    #[serde(default)]
    pub campaign_id: i64,
    /// Whether the skill is active.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Whether the skill is outbound.
    #[serde(default = "yes")]
    pub is_outbound: bool,
    /// Outbound strategy (`"Personal Connection"`).
    #[serde(default = "default_strategy")]
    pub outbound_strategy: String,
    /// Whether the skill is dialling at start.
    #[serde(default)]
    pub is_running: bool,
    /// Team id reported on agent states.
    #[serde(default)]
    pub team_id: Option<i64>,
    /// General settings, merged over the defaults (see `README.md`).
    #[serde(default)]
    pub general_settings: Map<String, Value>,
    /// Schedule settings, merged over the defaults (all days 08:00-21:00, scheduled).
    #[serde(default)]
    pub schedule_settings: Map<String, Value>,
    /// Per recipient time-zone windows (`name` or `standardName`, `startTime`, `endTime`,
    /// `timeZoneActiveToCall`, `overrideTime`).
    #[serde(default)]
    pub time_zones: Vec<Value>,
    /// Logged-in agents over the local day (rounded).
    pub agents: Profile,
    /// Share of logged-in agents paused (Unavailable), 0..1.
    #[serde(default = "default_paused")]
    pub paused_fraction: f64,
    /// Live answers per dial over the local day, 0..1.
    pub live_answer_rate: Profile,
    /// Machine answers per dial.
    #[serde(default = "default_machine")]
    pub machine_rate: f64,
    /// Busy signals per dial.
    #[serde(default = "default_busy")]
    pub busy_rate: f64,
    /// Ring time (dial to answer or busy).
    #[serde(default = "default_ring")]
    pub ring: Dist,
    /// Talk time.
    #[serde(default = "default_talk")]
    pub talk: Dist,
    /// After-call work time.
    #[serde(default = "default_wrap")]
    pub wrap: Dist,
    /// Share of connected calls dispositioned as success, over the local day
    /// (a number or a profile; default 0.3).
    #[serde(default = "default_success")]
    pub success_rate: Profile,
    /// Random drift of staffing and answer rate around their profiles.
    #[serde(default)]
    pub drift: Drift,
}

/// Mean-reverting random drift (an Ornstein-Uhlenbeck log-multiplier,
/// updated once per simulated minute from the scenario seed) applied to the
/// `agents` and `liveAnswerRate` profiles. All zero (the default) means none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Drift {
    /// Stationary standard deviation of the log-multiplier of logged-in agents.
    #[serde(default)]
    pub agents_sd: f64,
    /// Stationary standard deviation of the log-multiplier of the live-answer rate.
    #[serde(default)]
    pub live_answer_sd: f64,
    /// Mean-reversion time in minutes (default 60).
    #[serde(default = "default_reversion")]
    pub reversion_minutes: f64,
}

impl Default for Drift {
    fn default() -> Self {
        Drift {
            agents_sd: 0.0,
            live_answer_sd: 0.0,
            reversion_minutes: default_reversion(),
        }
    }
}

fn default_reversion() -> f64 {
    60.0
}

fn yes() -> bool {
    true
}
fn default_strategy() -> String {
    "Personal Connection".to_string()
}
fn default_paused() -> f64 {
    0.1
}
fn default_machine() -> f64 {
    0.15
}
fn default_busy() -> f64 {
    0.05
}
fn default_ring() -> Dist {
    Dist::LogNormal { mean: 9.0, cv: 0.5 }
}
fn default_talk() -> Dist {
    Dist::LogNormal {
        mean: 150.0,
        cv: 0.7,
    }
}
fn default_wrap() -> Dist {
    Dist::LogNormal {
        mean: 25.0,
        cv: 0.5,
    }
}
fn default_success() -> Profile {
    Profile::constant(0.3)
}

/// A DNC group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DncGroupScenario {
    /// Group id.
    pub dnc_group_id: i64,
    /// Group name.
    pub dnc_group_name: String,
    /// Whether the group is active.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Whether the group is removed.
    #[serde(default)]
    pub is_removed: bool,
    /// Skill ids the group scrubs.
    #[serde(default)]
    pub scrubbed_skills: Vec<i64>,
    /// Phone numbers on the list (digits as given).
    #[serde(default)]
    pub phone_numbers: Vec<String>,
}

impl SkillScenario {
    /// A skill with default call model, constant staffing and answer rate.
    pub fn basic(
        skill_id: i64,
        skill_name: &str,
        agents: f64,
        live_answer_rate: f64,
        running: bool,
    ) -> SkillScenario {
        SkillScenario {
            skill_id,
            skill_name: skill_name.to_string(),
            campaign_id: 0,
            is_active: true,
            is_outbound: true,
            outbound_strategy: default_strategy(),
            is_running: running,
            team_id: None,
            general_settings: Map::new(),
            schedule_settings: Map::new(),
            time_zones: Vec::new(),
            agents: Profile::constant(agents),
            paused_fraction: default_paused(),
            live_answer_rate: Profile::constant(live_answer_rate),
            machine_rate: default_machine(),
            busy_rate: default_busy(),
            ring: default_ring(),
            talk: default_talk(),
            wrap: default_wrap(),
            success_rate: default_success(),
            drift: Drift::default(),
        }
    }

    /// Checks the skill's profiles, probabilities, drift, distributions and
    /// settings (the first problem found is the error).
    fn validate(&self) -> Result<(), SimError> {
        let what = format!("skill {}", self.skill_id);
        self.check_profiles_and_rates(&what)?;
        self.check_drift_and_distributions(&what)?;
        self.check_settings(&what)
    }

    /// Staffing within 0..=100000; paused fraction, machine, busy, success
    /// and live-answer rates within 0..=1; profiles well formed.
    fn check_profiles_and_rates(&self, what: &str) -> Result<(), SimError> {
        self.agents.validate(&format!("{what} agents"))?;
        self.live_answer_rate
            .validate(&format!("{what} liveAnswerRate"))?;
        if self
            .agents
            .points
            .iter()
            .any(|p| p.1 < 0.0 || p.1 > 100_000.0)
        {
            return Err(SimError::Scenario(format!(
                "{what}: agents must be within 0..=100000"
            )));
        }
        for (name, p) in [
            ("pausedFraction", self.paused_fraction),
            ("machineRate", self.machine_rate),
            ("busyRate", self.busy_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(SimError::Scenario(format!(
                    "{what}: {name} must be within 0..=1"
                )));
            }
        }
        self.success_rate.validate(&format!("{what} successRate"))?;
        if self
            .success_rate
            .points
            .iter()
            .any(|p| !(0.0..=1.0).contains(&p.1))
        {
            return Err(SimError::Scenario(format!(
                "{what}: successRate must be within 0..=1"
            )));
        }
        if self
            .live_answer_rate
            .points
            .iter()
            .any(|p| !(0.0..=1.0).contains(&p.1))
        {
            return Err(SimError::Scenario(format!(
                "{what}: liveAnswerRate must be within 0..=1"
            )));
        }
        Ok(())
    }

    /// Drift deviations within 0..=2 and reversion at least a minute; the
    /// ring, talk and wrap distributions valid.
    fn check_drift_and_distributions(&self, what: &str) -> Result<(), SimError> {
        let dr = self.drift;
        if !((0.0..=2.0).contains(&dr.agents_sd) && (0.0..=2.0).contains(&dr.live_answer_sd)) {
            return Err(SimError::Scenario(format!(
                "{what}: drift standard deviations must be within 0..=2"
            )));
        }
        if !(dr.reversion_minutes.is_finite() && dr.reversion_minutes >= 1.0) {
            return Err(SimError::Scenario(format!(
                "{what}: drift reversionMinutes must be at least 1"
            )));
        }
        for d in [self.ring, self.talk, self.wrap] {
            d.validate()
                .map_err(|e| SimError::Scenario(format!("{what}: {e}")))?;
        }
        Ok(())
    }

    /// General and schedule settings and time-zone windows as CXone would
    /// take them.
    fn check_settings(&self, what: &str) -> Result<(), SimError> {
        settings::merge_general(&settings::default_general(), &self.general_settings)
            .map_err(|e| SimError::Scenario(format!("{what} generalSettings: {e}")))?;
        settings::merge_schedule(&settings::default_schedule(), &self.schedule_settings)
            .map_err(|e| SimError::Scenario(format!("{what} scheduleSettings: {e}")))?;
        settings::parse_time_zones(&self.time_zones, true)
            .map_err(|e| SimError::Scenario(format!("{what} timeZones: {e}")))?;
        Ok(())
    }
}

impl Scenario {
    /// Reads and validates a scenario JSON file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Scenario(format!("cannot read {}: {e}", path.display())))?;
        Scenario::from_json(&text)
    }

    /// Parses and validates a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario = serde_json::from_str(text)
            .map_err(|e| SimError::Scenario(format!("invalid scenario: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// The small scenario the tests use: skill 1001 "Test Skill" (10 agents,
    /// 20 % live answers, ratio 1.0, running) and skill 1002 "Paging Skill"
    /// (110 agents, not running), so 120 agent states page; the clock starts
    /// on a Tuesday at 10:00 in America/New_York; no paused agents.
    pub fn small_test() -> Scenario {
        let mut s1 = SkillScenario::basic(1001, "Test Skill", 10.0, 0.2, true);
        s1.paused_fraction = 0.0;
        s1.campaign_id = 501;
        s1.general_settings
            .insert("maximumRatio".into(), json!(1.0));
        let mut s2 = SkillScenario::basic(1002, "Paging Skill", 110.0, 0.2, false);
        s2.paused_fraction = 0.0;
        s2.campaign_id = 502;
        let start = DateTime::parse_from_rfc3339("2026-03-03T15:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        Scenario {
            seed: 42,
            start,
            time_zone: "America/New_York".into(),
            credentials: Credentials {
                access_key_id: "test-ak".into(),
                access_key_secret: "test-aks".into(),
                client_id: "test-client".into(),
                client_secret: "test-client-secret".into(),
                tenant_id: "tenant-test".into(),
            },
            token_lifetime_seconds: 3600,
            skills: vec![s1, s2],
            dnc_groups: vec![DncGroupScenario {
                dnc_group_id: 7001,
                dnc_group_name: "Internal DNC".into(),
                is_active: true,
                is_removed: false,
                scrubbed_skills: vec![1001],
                phone_numbers: vec!["6175550100".into()],
            }],
            webhook: None,
            autopilot: None,
        }
    }

    /// Checks zones, profiles, probabilities, settings and id uniqueness.
    pub fn validate(&self) -> Result<(), SimError> {
        self.time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| SimError::Scenario(format!("unknown timeZone {:?}", self.time_zone)))?;
        let mut ids = std::collections::BTreeSet::new();
        for sk in &self.skills {
            if !ids.insert(sk.skill_id) {
                return Err(SimError::Scenario(format!(
                    "skill {}: duplicate skillId",
                    sk.skill_id
                )));
            }
            sk.validate()?;
        }
        if let Some(w) = &self.webhook {
            w.validate().map_err(SimError::Scenario)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        settings::parse_hhmm(s).unwrap_or_default()
    }

    #[test]
    fn profiles_interpolate() {
        let lin = Profile::from_points(Interpolation::Linear, &[("08:00", 0.0), ("10:00", 20.0)]);
        assert_eq!(lin.value_at(t("07:00")), 0.0);
        assert_eq!(lin.value_at(t("09:00")), 10.0);
        assert_eq!(lin.value_at(t("11:00")), 20.0);
        let step = Profile::from_points(Interpolation::Step, &[("08:00", 5.0), ("10:00", 20.0)]);
        assert_eq!(step.value_at(t("09:59")), 5.0);
        assert_eq!(step.value_at(t("10:00")), 20.0);
        let c: Profile = serde_json::from_str("0.2").unwrap_or_else(|_| Profile::constant(-1.0));
        assert_eq!(c.value_at(t("13:00")), 0.2);
    }

    #[test]
    fn scenarios_validate() {
        assert!(Scenario::small_test().validate().is_ok());
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/demo-day.json");
        assert!(Scenario::from_file(path).is_ok());
        let mut bad = Scenario::small_test();
        bad.time_zone = "Mars/Olympus".into();
        assert!(bad.validate().is_err());
        let mut bad = Scenario::small_test();
        bad.skills[0]
            .general_settings
            .insert("maximumRingingDuration".into(), serde_json::json!(4));
        assert!(bad.validate().is_err());
        let mut bad = Scenario::small_test();
        bad.skills[1].skill_id = 1001;
        assert!(bad.validate().is_err());
        assert!(Scenario::from_json(r#"{"seed": 1}"#).is_err());
    }
}
