//! The campaign config JSON (`PUT /campaigns/{skillId}/config`), parsed and validated.
//!
//! Parsing is two-step, and the step decides the status code: a body that is
//! not JSON, has unknown fields or misses required ones is a *shape* error
//! (HTTP 400); a well-formed body whose values are unlawful or out of range is
//! a *value* error (HTTP 422) listing every problem, not just the first.

use serde::{Deserialize, Serialize, Serializer};

use crate::engine::compliance::{MIN_RING_SECONDS, RING_TIME_SOURCE};

/// The legal ceiling on abandonment (FTC TSR 16 CFR 310.4(b)(4)(i)): 3 % of live answers per 30 days.
pub const LEGAL_MAX_ABANDON_PCT: f64 = 3.0;
/// The highest `maximumRatio` the autopilot will ever accept as a bound.
pub const MAX_SANE_RATIO: f64 = 10.0;
/// Default hold on a field a person changed in CXone, in minutes.
pub const DEFAULT_OVERRIDE_HOLD_MINUTES: u32 = 60;
/// The longest ring time a config may ask for, in seconds: beyond two minutes
/// an unanswered line only keeps a dialler line busy.
pub const MAX_RING_SECONDS: u32 = 120;

/// One campaign's autopilot settings, as validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignConfig {
    /// Whether the autopilot manages this campaign.
    pub enabled: bool,
    /// The campaign's own IANA time zone (its schedule is written in it).
    pub time_zone: String,
    /// IANA time zones of the people the campaign calls.
    pub recipient_time_zones: Vec<String>,
    /// US state codes of the people the campaign calls (stricter state rules apply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipient_states: Vec<String>,
    /// Pacing targets and bounds.
    pub pacing: PacingConfig,
    /// Failover to a backup skill; absent means no failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverConfig>,
    /// Minutes a field stays untouched after a person changed it in CXone.
    #[serde(default = "default_hold")]
    pub override_hold_minutes: u32,
    /// The day the campaign first dialled, in its own time zone
    /// (`"YYYY-MM-DD"`). The law measures abandonment over the campaign's
    /// whole life while that is shorter than 30 days, so the tuner treats a
    /// campaign younger than 30 days as such. Absent: the day its config was
    /// first written (a campaign that dialled before the autopilot managed
    /// it should say when, or it is paced as a young one for 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_dial_date: Option<chrono::NaiveDate>,
}

impl CampaignConfig {
    /// When the campaign started dialling: its `firstDialDate` at local
    /// midnight, else `fallback` (the config's first write).
    pub fn started_at(
        &self,
        fallback: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        let zone: chrono_tz::Tz = self.time_zone.parse().unwrap_or(chrono_tz::UTC);
        self.first_dial_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map_or(fallback, |t| t.with_timezone(&chrono::Utc))
    }
}

/// Where a campaign is in its life: the law's abandonment period is its
/// last 30 days, or its whole life while that is shorter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CampaignLife {
    /// Days since it first dialled (0 when its start is later than now).
    pub age_days: f64,
    /// Start of the abandonment period: 30 days back, or the campaign's start if later.
    pub period_from: chrono::DateTime<chrono::Utc>,
}

impl CampaignLife {
    /// The life at `now` of a campaign with `config`, whose config was first
    /// written at `first_written` (used when it gives no `firstDialDate`).
    /// A start at or after `now` (clock skew, a date typed ahead) counts as a
    /// campaign of age 0 with the full 30-day window.
    pub fn of(
        config: &CampaignConfig,
        first_written: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> CampaignLife {
        let start = config.started_at(first_written);
        let thirty = now
            - chrono::Duration::days(i64::from(
                crate::engine::compliance::ABANDONMENT_PERIOD_DAYS,
            ));
        if start >= now {
            return CampaignLife {
                age_days: 0.0,
                period_from: thirty,
            };
        }
        CampaignLife {
            age_days: (now - start).num_seconds() as f64 / 86_400.0,
            period_from: start.max(thirty),
        }
    }

    /// The period's length so far, in days (at most 30).
    pub fn period_days(&self, now: chrono::DateTime<chrono::Utc>) -> f64 {
        (now - self.period_from).num_seconds() as f64 / 86_400.0
    }
}

/// Pacing targets and bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PacingConfig {
    /// Target 30-day abandonment in percent of live answers (at most 3).
    pub target_abandon_pct: f64,
    /// Lowest `maximumRatio` the tuner may write (at least 1.0).
    pub min_ratio: f64,
    /// Highest `maximumRatio` the tuner may write.
    pub max_ratio: f64,
    /// Shortest time an unanswered call must ring, in seconds: the tuner keeps
    /// the skill's `maximumRingingDuration` at or above it. A whole number in
    /// [`MIN_RING_SECONDS`]..=[`MAX_RING_SECONDS`] once validated (kept as the
    /// JSON number sent, so that `15.5` is refused by value, not by shape);
    /// use [`PacingConfig::ring_floor_seconds`] to read it.
    #[serde(default = "default_min_ring", serialize_with = "whole_number")]
    pub min_ring_seconds: f64,
}

impl PacingConfig {
    /// [`PacingConfig::min_ring_seconds`] in whole seconds, never below the
    /// legal [`MIN_RING_SECONDS`] nor above [`MAX_RING_SECONDS`] (a validated
    /// config is already within them).
    pub fn ring_floor_seconds(&self) -> u32 {
        if self.min_ring_seconds.is_finite() {
            // Clamped first, so the cast cannot truncate.
            self.min_ring_seconds
                .round()
                .clamp(f64::from(MIN_RING_SECONDS), f64::from(MAX_RING_SECONDS)) as u32
        } else {
            MIN_RING_SECONDS
        }
    }
}

/// Failover to a backup skill when results collapse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverConfig {
    /// The skill started when the primary fails over.
    pub backup_skill_id: i64,
    /// Success rate below which the primary fails over (0..1).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Minutes of events the success rate is computed over.
    #[serde(default = "default_window")]
    pub window_minutes: u32,
    /// Fewest outcomes in the window before a failover may happen.
    #[serde(default = "default_min_samples")]
    pub min_samples: u32,
    /// Whether to return to the primary by itself once its results recover.
    #[serde(default)]
    pub auto_failback: bool,
}

fn default_hold() -> u32 {
    DEFAULT_OVERRIDE_HOLD_MINUTES
}
fn default_min_ring() -> f64 {
    f64::from(MIN_RING_SECONDS)
}

/// Writes a whole number as an integer (`15`, not `15.0`).
fn whole_number<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    if v.is_finite() && v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
        serializer.serialize_u32(v as u32)
    } else {
        serializer.serialize_f64(v)
    }
}
fn default_threshold() -> f64 {
    0.15
}
fn default_window() -> u32 {
    30
}
fn default_min_samples() -> u32 {
    50
}

/// One value problem: which field, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldProblem {
    /// JSON path of the field, e.g. `pacing.maxRatio`.
    pub field: String,
    /// What is wrong, in words an operator understands.
    pub problem: String,
}

/// Why a config body was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigRejection {
    /// Not JSON, unknown or missing fields, wrong types (HTTP 400), naming
    /// the field at fault.
    #[error("invalid config: {0}")]
    Shape(crate::api_error::ShapeProblem),
    /// Understood, but values are unlawful or out of range (HTTP 422).
    #[error("config refused: {} problem(s)", .0.len())]
    Values(Vec<FieldProblem>),
}

impl CampaignConfig {
    /// The recipient areas the law is checked for (zones paired with states).
    pub fn recipient_areas(&self) -> Vec<crate::engine::compliance::RecipientArea> {
        use crate::engine::compliance::{recipient_areas, StateCode};
        let zones: Vec<chrono_tz::Tz> = self
            .recipient_time_zones
            .iter()
            .filter_map(|z| z.parse().ok())
            .collect();
        let states: Vec<StateCode> = self
            .recipient_states
            .iter()
            .filter_map(|s| StateCode::parse(s).ok())
            .collect();
        recipient_areas(&zones, &states)
    }

    /// Parses and validates a config body for campaign `skill_id`.
    pub fn parse(body: &[u8], skill_id: i64) -> Result<Self, ConfigRejection> {
        let config: CampaignConfig =
            crate::api_error::from_json(body).map_err(ConfigRejection::Shape)?;
        let problems = config.problems(skill_id);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigRejection::Values(problems))
        }
    }

    /// Every value problem of this config for campaign `skill_id` (empty when valid).
    pub fn problems(&self, skill_id: i64) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let mut bad = |field: &str, problem: String| {
            out.push(FieldProblem {
                field: field.to_owned(),
                problem,
            })
        };
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            bad(
                "timeZone",
                format!("unknown IANA time zone {:?}", self.time_zone),
            );
        }
        if self.recipient_time_zones.is_empty() {
            bad(
                "recipientTimeZones",
                "must name at least one time zone".into(),
            );
        }
        for (i, zone) in self.recipient_time_zones.iter().enumerate() {
            if zone.parse::<chrono_tz::Tz>().is_err() {
                bad(
                    &format!("recipientTimeZones[{i}]"),
                    format!("unknown IANA time zone {zone:?}"),
                );
            }
        }
        for (i, state) in self.recipient_states.iter().enumerate() {
            if crate::engine::compliance::StateCode::parse(state).is_err() {
                bad(
                    &format!("recipientStates[{i}]"),
                    format!("unknown US state code {state:?}"),
                );
            }
        }
        let p = &self.pacing;
        if !(p.target_abandon_pct.is_finite() && p.target_abandon_pct > 0.0) {
            bad(
                "pacing.targetAbandonPct",
                "must be a positive percentage".into(),
            );
        } else if p.target_abandon_pct > LEGAL_MAX_ABANDON_PCT {
            bad(
                "pacing.targetAbandonPct",
                format!(
                    "{} % exceeds the legal limit of {LEGAL_MAX_ABANDON_PCT} % of live answers per 30 days (FTC TSR 16 CFR 310.4(b)(4)(i))",
                    p.target_abandon_pct
                ),
            );
        }
        if !(p.min_ratio.is_finite() && p.min_ratio >= 1.0) {
            bad(
                "pacing.minRatio",
                "must be at least 1.0 (progressive dialling)".into(),
            );
        }
        if !(p.max_ratio.is_finite() && p.max_ratio <= MAX_SANE_RATIO) {
            bad(
                "pacing.maxRatio",
                format!("must be at most {MAX_SANE_RATIO}"),
            );
        }
        if p.max_ratio < p.min_ratio {
            bad(
                "pacing.maxRatio",
                "must not be below pacing.minRatio".into(),
            );
        }
        let ring = p.min_ring_seconds;
        if !(ring.is_finite() && ring.fract() == 0.0) {
            bad(
                "pacing.minRingSeconds",
                format!(
                    "must be a whole number of seconds from {MIN_RING_SECONDS} (the legal \
                     minimum, {RING_TIME_SOURCE}) to {MAX_RING_SECONDS}, got {ring}"
                ),
            );
        } else if ring < f64::from(MIN_RING_SECONDS) {
            bad(
                "pacing.minRingSeconds",
                format!(
                    "{ring} s is below the legal minimum of {MIN_RING_SECONDS} s an unanswered \
                     call must ring ({RING_TIME_SOURCE})"
                ),
            );
        } else if ring > f64::from(MAX_RING_SECONDS) {
            bad(
                "pacing.minRingSeconds",
                format!(
                    "{ring} s is above {MAX_RING_SECONDS} s; the law ({RING_TIME_SOURCE}) asks for \
                     at least {MIN_RING_SECONDS} s, and longer rings only hold dialler lines"
                ),
            );
        }
        if self.override_hold_minutes > 24 * 60 {
            bad(
                "overrideHoldMinutes",
                "must be at most 1440 (one day)".into(),
            );
        }
        if let Some(f) = &self.failover {
            if f.backup_skill_id <= 0 {
                bad(
                    "failover.backupSkillId",
                    "must be a positive skill id".into(),
                );
            } else if f.backup_skill_id == skill_id {
                bad(
                    "failover.backupSkillId",
                    "must differ from the campaign's own skill".into(),
                );
            }
            if !(f.threshold.is_finite() && f.threshold > 0.0 && f.threshold < 1.0) {
                bad(
                    "failover.threshold",
                    "must be a success rate strictly between 0 and 1".into(),
                );
            }
            if !(5..=1440).contains(&f.window_minutes) {
                bad(
                    "failover.windowMinutes",
                    "must be between 5 and 1440".into(),
                );
            }
            if f.min_samples < 10 {
                bad(
                    "failover.minSamples",
                    "must be at least 10 so noise cannot trigger a failover".into(),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"enabled": true, "timeZone": "America/New_York",
      "recipientTimeZones": ["America/New_York", "America/Chicago"],
      "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0},
      "failover": {"backupSkillId": 4242, "threshold": 0.15,
      "windowMinutes": 30, "minSamples": 50, "autoFailback": false}}"#;

    #[test]
    fn design_example_is_valid() {
        let c = CampaignConfig::parse(VALID.as_bytes(), 4101).unwrap();
        assert_eq!(c.pacing.max_ratio, 3.0);
        assert_eq!(c.failover.as_ref().unwrap().backup_skill_id, 4242);
        assert_eq!(c.override_hold_minutes, 60);
    }

    #[test]
    fn failover_may_be_absent_and_defaults_apply() {
        let body = r#"{"enabled": false, "timeZone": "UTC", "recipientTimeZones": ["America/Denver"],
          "pacing": {"targetAbandonPct": 1, "minRatio": 1, "maxRatio": 1}}"#;
        let c = CampaignConfig::parse(body.as_bytes(), 1).unwrap();
        assert!(c.failover.is_none());
        let body = r#"{"enabled": true, "timeZone": "UTC", "recipientTimeZones": ["UTC"],
          "pacing": {"targetAbandonPct": 1, "minRatio": 1, "maxRatio": 2}, "failover": {"backupSkillId": 9}}"#;
        let f = CampaignConfig::parse(body.as_bytes(), 1)
            .unwrap()
            .failover
            .unwrap();
        assert_eq!(
            (f.threshold, f.window_minutes, f.min_samples),
            (0.15, 30, 50)
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_shape_errors() {
        let unknown = VALID.replace("\"enabled\": true,", "\"enabled\": true, \"colour\": 1,");
        match CampaignConfig::parse(unknown.as_bytes(), 1) {
            Err(ConfigRejection::Shape(m)) => assert_eq!(m.field, "colour", "{m}"),
            other => panic!("{other:?}"),
        }
        let missing = VALID.replace("\"enabled\": true,", "");
        match CampaignConfig::parse(missing.as_bytes(), 1) {
            Err(ConfigRejection::Shape(m)) => assert_eq!(m.field, "enabled", "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            CampaignConfig::parse(b"{not json", 1),
            Err(ConfigRejection::Shape(_))
        ));
        assert!(matches!(
            CampaignConfig::parse(b"", 1),
            Err(ConfigRejection::Shape(_))
        ));
    }

    #[test]
    fn unlawful_values_are_all_listed() {
        let body = VALID
            .replace("2.5", "3.5")
            .replace("\"minRatio\": 1.0", "\"minRatio\": 0.5")
            .replace("America/Chicago", "Mars/Olympus")
            .replace("4242", "4101")
            .replace(
                "\"enabled\": true,",
                "\"enabled\": true, \"recipientStates\": [\"FL\", \"XX\"],",
            );
        match CampaignConfig::parse(body.as_bytes(), 4101) {
            Err(ConfigRejection::Values(p)) => {
                let fields: Vec<_> = p.iter().map(|p| p.field.as_str()).collect();
                assert!(fields.contains(&"pacing.targetAbandonPct"), "{fields:?}");
                assert!(fields.contains(&"pacing.minRatio"), "{fields:?}");
                assert!(fields.contains(&"recipientTimeZones[1]"), "{fields:?}");
                assert!(fields.contains(&"failover.backupSkillId"), "{fields:?}");
                assert!(fields.contains(&"recipientStates[1]"), "{fields:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_finite_and_inverted_bounds_refused() {
        let body = VALID.replace("\"maxRatio\": 3.0", "\"maxRatio\": 0.9");
        assert!(matches!(
            CampaignConfig::parse(body.as_bytes(), 1),
            Err(ConfigRejection::Values(_))
        ));
        let body = VALID.replace("\"maxRatio\": 3.0", "\"maxRatio\": 1e400");
        assert!(CampaignConfig::parse(body.as_bytes(), 1).is_err());
    }

    fn ring_problems(value: &str) -> Vec<FieldProblem> {
        let body = VALID.replace(
            "\"maxRatio\": 3.0",
            &format!("\"maxRatio\": 3.0, \"minRingSeconds\": {value}"),
        );
        match CampaignConfig::parse(body.as_bytes(), 1) {
            Ok(_) => Vec::new(),
            Err(ConfigRejection::Values(p)) => p,
            Err(other) => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn min_ring_seconds_defaults_to_the_legal_minimum_and_serialises_as_a_whole_number() {
        let c = CampaignConfig::parse(VALID.as_bytes(), 1).unwrap();
        assert_eq!(c.pacing.min_ring_seconds, f64::from(MIN_RING_SECONDS));
        assert_eq!(c.pacing.ring_floor_seconds(), 15);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["pacing"]["minRingSeconds"], serde_json::json!(15));
        assert!(json["pacing"]["minRingSeconds"].is_u64(), "{json}");
        // A stored config written before the field existed reads with the default.
        let old: CampaignConfig = serde_json::from_str(VALID).unwrap();
        assert_eq!(old.pacing.ring_floor_seconds(), MIN_RING_SECONDS);
        // And round-trips.
        let again: CampaignConfig = serde_json::from_value(json).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn min_ring_seconds_accepts_whole_seconds_from_15_to_120() {
        for ok in ["15", "15.0", "20", "120"] {
            assert!(ring_problems(ok).is_empty(), "{ok}");
        }
        let body = VALID.replace(
            "\"maxRatio\": 3.0",
            "\"maxRatio\": 3.0, \"minRingSeconds\": 25",
        );
        let c = CampaignConfig::parse(body.as_bytes(), 1).unwrap();
        assert_eq!(c.pacing.ring_floor_seconds(), 25);
        assert_eq!(
            serde_json::to_value(&c).unwrap()["pacing"]["minRingSeconds"],
            serde_json::json!(25)
        );
    }

    #[test]
    fn min_ring_seconds_outside_the_law_or_not_whole_is_refused_citing_the_source() {
        for bad in ["14", "0", "-15", "121", "600", "15.5", "1e300"] {
            let problems = ring_problems(bad);
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert_eq!(problems[0].field, "pacing.minRingSeconds", "{bad}");
            assert!(
                problems[0].problem.contains(RING_TIME_SOURCE),
                "{bad}: {}",
                problems[0].problem
            );
        }
        // Not a number at all is a shape error.
        let body = VALID.replace(
            "\"maxRatio\": 3.0",
            "\"maxRatio\": 3.0, \"minRingSeconds\": \"15\"",
        );
        assert!(matches!(
            CampaignConfig::parse(body.as_bytes(), 1),
            Err(ConfigRejection::Shape(_))
        ));
    }
}
