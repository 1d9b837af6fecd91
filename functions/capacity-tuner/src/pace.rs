//! Pacing one campaign's dialling skill: read staffing, results and the
//! live settings, make the ring time lawful, decide with the engine, write
//! safely, audit.
//!
//! # Ring time
//! The FTC TSR's abandonment safe harbor holds only while unanswered calls
//! ring at least 15 seconds (or four rings). A skill found with
//! `maximumRingingDuration` under the campaign's `pacing.minRingSeconds`
//! (never under 15) is raised to it before pacing, through the same safe
//! write (audited as `ring.raise`). If a person's hold forbids that write (or
//! CXone does not keep it), the campaign is marked non-compliant
//! (`ring.non_compliant` in the audit, the `NonCompliantCampaigns` metric)
//! and dials progressively (ratio 1.0, which abandons nothing) until the
//! ring time is lawful again: without the safe harbor every abandoned call
//! would be a violation.

use chrono::Duration;
use serde_json::{json, Map, Value};
use tracing::info;

use shared::cxone::CxoneClient;
use shared::deadline::Deadline;
use shared::engine::compliance::MIN_RING_SECONDS;
use shared::engine::pacing::{
    self, PacingDecision, PacingInputs, PacingMode, LEGAL_MAX_ABANDON_PCT,
};
use shared::safe_write::{number, Desired, FieldOutcome, FieldStatus, SafeWriter};
use shared::skill_reading::{SkillReading, RING_FIELD};
use shared::store::audit::AuditRecord;
use shared::store::state::{StateStore, StoredConfig};

use crate::run::{CampaignReport, Run, FUNCTION_NAME};

/// Hysteresis on `abandonRateThreshold` (percent).
pub const THRESHOLD_HYSTERESIS: f64 = 0.1;

/// What the ring-time check found and did.
#[derive(Clone, Debug, PartialEq)]
pub enum RingCheck {
    /// At or above the minimum (or not reported): nothing to do.
    Lawful,
    /// Raised from `from` to `to` seconds, written and confirmed.
    Raised {
        /// The live value found.
        from: f64,
        /// The value written.
        to: f64,
    },
    /// Under the minimum and not raised: the campaign is non-compliant.
    NonCompliant {
        /// The live value.
        live: f64,
        /// Why it could not be raised.
        why: String,
    },
}

/// The ring time the campaign must have: its config's minimum, never under the law's.
pub fn minimum_ring_seconds(stored: &StoredConfig) -> f64 {
    f64::from(MIN_RING_SECONDS.max(stored.config.pacing.ring_floor_seconds()))
}

/// Paces one campaign's dialling skill with the tuner's clients.
pub(crate) struct Pacer<'a> {
    /// The CXone client.
    pub cxone: &'a CxoneClient,
    /// The state table (field records of the safe writes).
    pub state: &'a StateStore,
}

impl Pacer<'_> {
    /// Reads, decides and writes the pacing of `skill_id`, the skill that
    /// dials for the campaign `stored` (the caller holds the campaign's lease).
    pub(crate) async fn decide_and_write(
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        run: &Run<'_>,
        deadline: &Deadline,
    ) -> Result<CampaignReport, String> {
        let config = &stored.config;
        let now = run.tick.time;
        let mut reading = SkillReading::read(self.cxone, stored, skill_id, now, deadline)
            .await
            .map_err(|e| e.to_string())?;
        let hold = Duration::minutes(i64::from(config.override_hold_minutes));
        let ring = self
            .check_ring(stored, skill_id, &mut reading.settings, run, hold, deadline)
            .await?;
        let settings = &reading.settings;
        let inputs = reading.inputs(stored);
        let decision = match &ring {
            RingCheck::NonCompliant { live, why } => progressive_for_ring(&inputs, *live, why),
            _ => pacing::decide(&inputs),
        };
        let desired = vec![
            Desired::maximum_ratio(decision.maximum_ratio),
            Desired {
                field: "abandonRateThreshold".into(),
                value: decision.abandon_rate_threshold,
                hysteresis: THRESHOLD_HYSTERESIS,
                always_write: None,
            },
        ];
        let outcomes = SafeWriter::new(self.cxone, self.state)
            .apply(skill_id, &desired, settings, now, hold, deadline)
            .await
            .map_err(|e| format!("writing settings: {e}"))?;
        let outcome = summarise(&outcomes);
        info!(
            skill_id,
            ratio = decision.maximum_ratio,
            mode = ?decision.mode,
            outcome,
            "pacing decided"
        );
        let record = decision_record(
            stored, skill_id, run, &inputs, &decision, &outcomes, outcome,
        );
        if !run.append_audit(&record).await {
            return Err("pacing was decided but its audit record could not be written".into());
        }
        let mut done = CampaignReport::new(stored.skill_id, Some(skill_id), outcome, None);
        done.maximum_ratio = Some(decision.maximum_ratio);
        done.non_compliant = matches!(ring, RingCheck::NonCompliant { .. });
        done.fields_written = outcomes
            .iter()
            .filter(|o| o.status == FieldStatus::Written)
            .count()
            + usize::from(matches!(ring, RingCheck::Raised { .. }));
        done.overrides = outcomes.iter().filter(|o| o.is_override()).count();
        Ok(done)
    }

    /// Raises a ring time under the minimum (audited), or reports the
    /// campaign non-compliant when that cannot be done. `settings` is
    /// updated with what was written. In steps: the safe write of the
    /// minimum, what it came to (`ring_check`), the audit (`ring_audit`).
    async fn check_ring(
        &self,
        stored: &StoredConfig,
        skill_id: i64,
        settings: &mut Map<String, Value>,
        run: &Run<'_>,
        hold: Duration,
        deadline: &Deadline,
    ) -> Result<RingCheck, String> {
        let minimum = minimum_ring_seconds(stored);
        let Some(live) = number(settings, RING_FIELD) else {
            return Ok(RingCheck::Lawful);
        };
        if live >= minimum {
            return Ok(RingCheck::Lawful);
        }
        let want = Desired {
            field: RING_FIELD.into(),
            value: minimum,
            hysteresis: 0.0,
            always_write: Some(minimum),
        };
        let outcomes = SafeWriter::new(self.cxone, self.state)
            .apply(skill_id, &[want], settings, run.tick.time, hold, deadline)
            .await
            .map_err(|e| format!("raising the ring time to {minimum} s: {e}"))?;
        let check = ring_check(&outcomes, live, minimum, settings);
        let Some((action, outcome, why)) = ring_audit(&check, minimum) else {
            return Ok(check);
        };
        tracing::warn!(
            skill_id,
            live,
            minimum,
            action,
            "ring time under the legal minimum"
        );
        let record = AuditRecord {
            skill_id: stored.skill_id,
            at: run.tick.time,
            actor: FUNCTION_NAME.into(),
            action: action.into(),
            before: json!({"skillId": skill_id, RING_FIELD: live}),
            after: json!({"skillId": skill_id, RING_FIELD: number(settings, RING_FIELD)}),
            why,
            outcome: outcome.into(),
            request_id: run.invocation.request_id.clone(),
            details: json!({"eventId": run.tick.event_id, "minimumSeconds": minimum, "fields": outcomes}),
        };
        if !run.append_audit(&record).await {
            return Err("the ring-time check's audit record could not be written".into());
        }
        Ok(check)
    }
}

/// What the safe write of the ring-time `minimum` came to, the live value
/// being `live`: raised (and `settings` updated), or non-compliant with why.
fn ring_check(
    outcomes: &[FieldOutcome],
    live: f64,
    minimum: f64,
    settings: &mut Map<String, Value>,
) -> RingCheck {
    match outcomes.first().map(|o| &o.status) {
        Some(FieldStatus::Written) => {
            settings.insert(RING_FIELD.into(), Value::from(minimum));
            RingCheck::Raised {
                from: live,
                to: minimum,
            }
        }
        Some(status) => RingCheck::NonCompliant {
            live,
            why: match status {
                FieldStatus::NotConfirmed { read_back } => {
                    format!("CXone did not keep the raised ring time (read back {read_back:?})")
                }
                _ => "a person set it and the override hold forbids the bundle to change it"
                    .to_owned(),
            },
        },
        None => RingCheck::NonCompliant {
            live,
            why: "the write was not attempted".into(),
        },
    }
}

/// The audit action, outcome and reason of a ring-time check under the
/// `minimum`; `None` when the ring time was lawful (nothing to audit).
fn ring_audit(check: &RingCheck, minimum: f64) -> Option<(&'static str, &'static str, String)> {
    match check {
        RingCheck::Raised { from, to } => Some((
            "ring.raise",
            "written",
            format!(
                "maximumRingingDuration {from} s is under the {minimum} s minimum (FTC TSR safe harbor: at least 15 s or four rings): raised to {to} s"
            ),
        )),
        RingCheck::NonCompliant { live, why } => Some((
            "ring.non_compliant",
            "non_compliant",
            format!(
                "maximumRingingDuration {live} s is under the {minimum} s minimum and was not raised: {why}; the campaign dials progressively until it is lawful"
            ),
        )),
        RingCheck::Lawful => None,
    }
}

/// Progressive dialling because the ring time is unlawful and stays so.
fn progressive_for_ring(inputs: &PacingInputs, live: f64, why: &str) -> PacingDecision {
    let target = if inputs.target_abandon_pct.is_finite() {
        inputs.target_abandon_pct.clamp(0.0, LEGAL_MAX_ABANDON_PCT)
    } else {
        0.0
    };
    PacingDecision {
        maximum_ratio: 1.0,
        abandon_rate_threshold: target,
        mode: PacingMode::Progressive,
        reason: format!(
            "progressive: the ring time {live} s is under the legal minimum and could not be raised ({why}); without the TSR safe harbor every abandoned call would be a violation"
        ),
        prediction: None,
    }
}

fn decision_record(
    stored: &StoredConfig,
    skill_id: i64,
    run: &Run<'_>,
    inputs: &PacingInputs,
    decision: &PacingDecision,
    outcomes: &[FieldOutcome],
    outcome: &str,
) -> AuditRecord {
    let before: Map<String, Value> = outcomes
        .iter()
        .map(|o| (o.field.clone(), json!(o.before)))
        .collect();
    let after: Map<String, Value> = outcomes
        .iter()
        .map(|o| (o.field.clone(), json!(o.after)))
        .collect();
    let overrides: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.is_override())
        .map(|o| o.field.as_str())
        .collect();
    let why = if overrides.is_empty() {
        decision.reason.clone()
    } else {
        format!(
            "{}; left alone because a person changed them: {}",
            decision.reason,
            overrides.join(", ")
        )
    };
    AuditRecord {
        skill_id: stored.skill_id,
        at: run.tick.time,
        actor: FUNCTION_NAME.into(),
        action: "pacing.tune".into(),
        before: Value::Object(before),
        after: Value::Object(after),
        why,
        outcome: outcome.into(),
        request_id: run.invocation.request_id.clone(),
        details: json!({
            "eventId": run.tick.event_id,
            "skillId": skill_id,
            "inputs": inputs,
            "decision": decision,
            "fields": outcomes,
            "configVersion": stored.version,
        }),
    }
}

/// One word for the campaign's tick, most noteworthy first: `failed` if a
/// write was not confirmed, `held` if a person's change was respected, `written`
/// if anything was written, else `unchanged`. Per-field detail is in the audit.
fn summarise(outcomes: &[FieldOutcome]) -> &'static str {
    if outcomes
        .iter()
        .any(|o| matches!(o.status, FieldStatus::NotConfirmed { .. }))
    {
        "failed"
    } else if outcomes.iter().any(FieldOutcome::is_override) {
        "held"
    } else if outcomes.iter().any(|o| o.status == FieldStatus::Written) {
        "written"
    } else {
        "unchanged"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use shared::campaign_config::CampaignConfig;

    fn stored(first_dial: Option<&str>, created: &str) -> StoredConfig {
        let mut body = serde_json::json!({
            "enabled": true, "timeZone": "America/New_York",
            "recipientTimeZones": ["America/New_York"],
            "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
        });
        if let Some(d) = first_dial {
            body["firstDialDate"] = serde_json::json!(d);
        }
        let config = CampaignConfig::parse(body.to_string().as_bytes(), 1).unwrap();
        let created: DateTime<Utc> = created.parse().unwrap();
        StoredConfig {
            skill_id: 1,
            config,
            version: 1,
            updated_at: created,
            updated_by: "test".into(),
            created_at: Some(created),
        }
    }

    fn life_of(stored: &StoredConfig, now: DateTime<Utc>) -> shared::campaign_config::CampaignLife {
        stored.life(now)
    }

    #[test]
    fn a_young_campaigns_period_is_its_life() {
        let now: DateTime<Utc> = "2026-03-05T15:00:00Z".parse().unwrap();
        let life = life_of(&stored(None, "2026-03-04T15:00:00Z"), now);
        assert!((life.age_days - 1.0).abs() < 1e-9);
        assert_eq!(
            life.period_from,
            "2026-03-04T15:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // The first dial date (local midnight, EST) wins over the config's write.
        let life = life_of(&stored(Some("2026-03-05"), "2026-03-01T00:00:00Z"), now);
        assert_eq!(
            life.period_from,
            "2026-03-05T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!((life.age_days - 10.0 / 24.0).abs() < 1e-9);
    }

    #[test]
    fn an_old_campaigns_period_is_30_days_and_a_future_start_is_age_0() {
        let now: DateTime<Utc> = "2026-06-05T15:00:00Z".parse().unwrap();
        let life = life_of(&stored(Some("2026-01-10"), "2026-05-01T00:00:00Z"), now);
        assert!(life.age_days > 140.0);
        assert_eq!(life.period_from, now - Duration::days(30));
        let life = life_of(&stored(None, "2026-07-01T00:00:00Z"), now);
        assert_eq!(life.age_days, 0.0);
        assert_eq!(life.period_from, now - Duration::days(30));
    }

    #[test]
    fn the_ring_minimum_is_never_under_the_law() {
        assert_eq!(
            minimum_ring_seconds(&stored(None, "2026-03-04T15:00:00Z")),
            15.0
        );
    }
}
