//! The campaign config JSON (`PUT /campaigns/{skillId}/config`), parsed and validated.
//!
//! Parsing is two-step, and the step decides the status code: a body that is
//! not JSON, has unknown fields or misses required ones is a *shape* error
//! (HTTP 400); a well-formed body whose values are unlawful or out of range is
//! a *value* error (HTTP 422) listing every problem, not just the first.

use serde::{Deserialize, Serialize};

/// The legal ceiling on abandonment (FTC TSR 16 CFR 310.4(b)(4)(i)): 3 % of live answers per 30 days.
pub const LEGAL_MAX_ABANDON_PCT: f64 = 3.0;
/// The highest `maximumRatio` the autopilot will ever accept as a bound.
pub const MAX_SANE_RATIO: f64 = 10.0;
/// Default hold on a field a person changed in CXone, in minutes.
pub const DEFAULT_OVERRIDE_HOLD_MINUTES: u32 = 60;

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
    /// Not JSON, unknown or missing fields, wrong types (HTTP 400).
    #[error("invalid config: {0}")]
    Shape(String),
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
            serde_json::from_slice(body).map_err(|e| ConfigRejection::Shape(e.to_string()))?;
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
            Err(ConfigRejection::Shape(m)) => assert!(m.contains("colour"), "{m}"),
            other => panic!("{other:?}"),
        }
        let missing = VALID.replace("\"enabled\": true,", "");
        match CampaignConfig::parse(missing.as_bytes(), 1) {
            Err(ConfigRejection::Shape(m)) => assert!(m.contains("enabled"), "{m}"),
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
}
