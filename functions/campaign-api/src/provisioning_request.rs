//! The body of `POST /campaigns`, parsed and validated without I/O: 400 for
//! its shape (not JSON, unknown or missing fields, wrong types), 422 for its
//! values (every problem listed), the schedule checked against the law by the
//! schedule deployer's own check ([`schedule_deployer::check_request`]).
//!
//! ```json
//! {"skillName": "Renewals East 2026-11", "campaignId": 501,
//!  "callerId": "+16175550123", "dncGroupId": 7001,
//!  "schedule": {"timeZone": "America/New_York",
//!               "days": {"monday": {"start": "09:00", "end": "20:00"}},
//!               "recipientTimeZones": ["America/New_York"],
//!               "recipientStates": ["FL"], "onViolation": "refuse"},
//!  "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0, "minRingSeconds": 15},
//!  "overrideHoldMinutes": 60}
//! ```

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use schedule_deployer::request::ScheduleRequest;
use shared::api_error::ApiError;
use shared::campaign_config::{CampaignConfig, ConfigRejection, LEGAL_MAX_ABANDON_PCT};
use shared::engine::compliance::{MIN_RING_SECONDS, RING_TIME_SOURCE};

use crate::screening::parse_us_number;

/// Longest skill name accepted, in characters.
pub const MAX_SKILL_NAME_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawBody {
    skill_name: String,
    #[serde(default)]
    campaign_id: Option<i64>,
    caller_id: String,
    dnc_group_id: i64,
    schedule: Value,
    pacing: Value,
    #[serde(default)]
    override_hold_minutes: Option<u32>,
}

/// A validated provisioning request.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvisioningRequest {
    /// The new skill's name (unique in CXone: the skill is found again by it).
    pub skill_name: String,
    /// The CXone reporting campaign the skill belongs to.
    pub campaign_id: Option<i64>,
    /// The caller id shown to the called party, E.164.
    pub caller_id: String,
    /// The DNC group that scrubs the new skill.
    pub dnc_group_id: i64,
    /// The schedule route's body, as sent (deployed by the schedule deployer).
    pub schedule_body: Vec<u8>,
    /// The autopilot config to write: disabled, no `firstDialDate`.
    pub config: CampaignConfig,
}

/// The general settings a new campaign starts with: abandonment threshold
/// at most 3 %, ring at least 15 s, ratio 1.0 (progressive) until the tuner
/// has results to pace on.
pub fn initial_settings(config: &CampaignConfig) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert("maximumRatio".into(), json!(1.0));
    fields.insert(
        "abandonRateThreshold".into(),
        json!(config.pacing.target_abandon_pct.min(LEGAL_MAX_ABANDON_PCT)),
    );
    fields.insert(
        "maximumRingingDuration".into(),
        json!(config.pacing.ring_floor_seconds().max(MIN_RING_SECONDS)),
    );
    fields
}

/// Why those settings: for the audit record.
pub fn settings_reason() -> String {
    format!(
        "new campaign: progressive (ratio 1.0) until the tuner has results; abandonment \
         threshold at most {LEGAL_MAX_ABANDON_PCT} %; ring at least {MIN_RING_SECONDS} s \
         ({RING_TIME_SOURCE})"
    )
}

fn problem(field: &str, text: impl Into<String>) -> Value {
    json!({"field": field, "problem": text.into()})
}

/// Parses and validates the body as of `time` (the request's time: the
/// schedule is checked over the year from that day).
pub fn parse(body: &[u8], time: DateTime<Utc>) -> Result<ProvisioningRequest, ApiError> {
    let raw: RawBody = shared::api_error::from_json(body).map_err(|e| {
        ApiError::bad_request(format!("invalid provisioning request: {e}"))
            .with_details(vec![e.detail()])
    })?;
    let mut problems = Vec::new();
    let skill_name = raw.skill_name.trim().to_owned();
    let chars = skill_name.chars().count();
    if chars == 0 || chars > MAX_SKILL_NAME_CHARS {
        problems.push(problem(
            "skillName",
            format!("must be 1 to {MAX_SKILL_NAME_CHARS} characters"),
        ));
    } else if !skill_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " -_.()&".contains(c))
    {
        problems.push(problem(
            "skillName",
            "may hold letters, digits, spaces and - _ . ( ) & only",
        ));
    }
    if raw.campaign_id.is_some_and(|c| c <= 0) {
        problems.push(problem("campaignId", "must be a positive integer"));
    }
    if raw.dnc_group_id <= 0 {
        problems.push(problem("dncGroupId", "must be a positive integer"));
    }
    let caller_id = match parse_us_number(&raw.caller_id) {
        Ok(number) => number.e164,
        Err(why) => {
            problems.push(problem(
                "callerId",
                format!("must be a valid, dialable US number: {why}"),
            ));
            String::new()
        }
    };
    if !raw.schedule.is_object() {
        return Err(ApiError::bad_request("schedule must be an object")
            .with_details(vec![problem("schedule", "must be an object")]));
    }
    let schedule_body = raw.schedule.to_string().into_bytes();
    schedule_deployer::check_request(&schedule_body, time).map_err(|mut e| {
        e.message = format!("schedule: {}", e.message);
        // The deployer names its fields from the schedule's root.
        for detail in &mut e.details {
            if let Some(Value::String(field)) = detail.get_mut("field") {
                *field = format!("schedule.{field}");
            }
        }
        e
    })?;
    let schedule = ScheduleRequest::parse(&schedule_body)
        .map_err(|e| ApiError::bad_request(format!("schedule: {e}")))?;
    let mut config = json!({
        "enabled": false,
        "timeZone": schedule.schedule.time_zone.name(),
        "recipientTimeZones": schedule.recipient_zones.iter().map(|z| z.name()).collect::<Vec<_>>(),
        "recipientStates": schedule.recipient_states.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "pacing": raw.pacing,
    });
    if let Some(hold) = raw.override_hold_minutes {
        config["overrideHoldMinutes"] = json!(hold);
    }
    let config = match CampaignConfig::parse(config.to_string().as_bytes(), 0) {
        Ok(config) => Some(config),
        Err(ConfigRejection::Shape(shape)) => {
            // Only `pacing` (and `overrideHoldMinutes`, read above) come from
            // the body as sent; the config's other fields are built here.
            return Err(ApiError::bad_request(format!("pacing: {shape}"))
                .with_details(vec![shape.detail()]));
        }
        Err(ConfigRejection::Values(found)) => {
            problems.extend(found.iter().map(|p| json!(p)));
            None
        }
    };
    match config {
        Some(config) if problems.is_empty() => Ok(ProvisioningRequest {
            skill_name,
            campaign_id: raw.campaign_id,
            caller_id,
            dnc_group_id: raw.dnc_group_id,
            schedule_body,
            config,
        }),
        _ => Err(ApiError::unprocessable(
            "the provisioning request has unlawful or out-of-range values; nothing was created",
        )
        .with_details(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({"skillName": "Renewals East", "campaignId": 501, "callerId": "(617) 253-1000",
               "dncGroupId": 7001,
               "schedule": {"timeZone": "America/New_York",
                            "days": {"tuesday": {"start": "09:00", "end": "20:00"}},
                            "recipientTimeZones": ["America/New_York"], "recipientStates": ["FL"]},
               "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}})
    }

    fn at() -> DateTime<Utc> {
        "2026-03-03T15:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_valid_request_gives_a_disabled_config_without_first_dial_date() {
        let request = parse(body().to_string().as_bytes(), at()).unwrap();
        assert_eq!(request.caller_id, "+16172531000");
        assert!(!request.config.enabled);
        assert_eq!(request.config.first_dial_date, None);
        assert_eq!(request.config.recipient_states, vec!["FL"]);
        let settings = initial_settings(&request.config);
        assert_eq!(settings["maximumRatio"], json!(1.0));
        assert_eq!(settings["abandonRateThreshold"], json!(2.5));
        assert_eq!(settings["maximumRingingDuration"], json!(15));
    }

    #[test]
    fn shape_is_400_and_values_are_422_with_every_problem() {
        let mut b = body();
        b["extra"] = json!(1);
        assert_eq!(
            parse(b.to_string().as_bytes(), at()).unwrap_err().status,
            400
        );
        assert_eq!(parse(b"{", at()).unwrap_err().status, 400);
        let mut b = body();
        b["skillName"] = json!("bad/name");
        b["callerId"] = json!("+44 20 7183 8750");
        b["pacing"]["targetAbandonPct"] = json!(4.0);
        let e = parse(b.to_string().as_bytes(), at()).unwrap_err();
        assert_eq!(e.status, 422);
        let fields: Vec<&str> = e
            .details
            .iter()
            .filter_map(|d| d["field"].as_str())
            .collect();
        for f in ["skillName", "callerId", "pacing.targetAbandonPct"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn an_unlawful_schedule_is_refused_with_the_deployers_answer() {
        let mut b = body();
        b["schedule"]["days"]["tuesday"] = json!({"start": "07:00", "end": "22:00"});
        let e = parse(b.to_string().as_bytes(), at()).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.message.starts_with("schedule:"), "{}", e.message);
        assert!(!e.details.is_empty());
    }
}
