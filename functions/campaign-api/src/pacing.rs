//! `PUT /campaigns/{skillId}/pacing`: an operator's pacing change, simulated
//! before it is applied ("simulate before you apply").
//!
//! Body: any of `maximumRatio`, `abandonRateThreshold` (percent) and
//! `maximumRingingDuration` (seconds); unknown fields and malformed JSON are
//! 400. Values are checked against the law and the campaign's config (422
//! listing every problem): the ratio within the config's bounds, the
//! threshold at most 3 %, the ring time from the config's minimum (never
//! under 15 s) to 120 s.
//!
//! The engine then predicts the next interval at the ratio asked for, from
//! the campaign's own recent results and the staffing now (the same reading
//! and model the tuner uses), and projects it over the campaign's hold time
//! (how long the setting stands before the tuner may take over again):
//! abandonment today and for the law's period (30 days or the campaign's
//! life), and agent utilisation. A change whose projected period ends above
//! 3 % is refused (422 with the prediction), unless it is progressive
//! dialling (ratio 1.0, which abandons nothing). `?dryRun=true` answers the
//! prediction (and whether it would be refused) and writes nothing.
//! Otherwise the fields are written through the safe-write procedure and
//! held as the operator's for the hold time, so the tuner does not undo
//! them; the write is audited (`pacing.operator`) with the prediction.

use chrono::Duration;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use shared::api_error::ApiError;
use shared::campaign_config::LEGAL_MAX_ABANDON_PCT;
use shared::deadline::Deadline;
use shared::engine::compliance::MIN_RING_SECONDS;
use shared::engine::pacing::{predict::HORIZON_S, predict_ratio, CandidateResult};
use shared::safe_write::{Desired, SafeWriter};
use shared::skill_reading::{SkillReading, RING_FIELD};
use shared::store::audit::AuditRecord;
use shared::store::failover::FailoverState;
use shared::store::state::StoredConfig;

use crate::api::{cxone_error, json_response, storage_error, Api};
use crate::routes::ApiRequest;

/// The longest ring time the route writes, seconds.
pub const MAX_RING_SECONDS: f64 = 120.0;

/// The body of `PUT /campaigns/{skillId}/pacing`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PacingChange {
    /// Lines per staffed agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ratio: Option<f64>,
    /// CXone's own abandonment governor, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_rate_threshold: Option<f64>,
    /// Seconds an unanswered call rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ringing_duration: Option<f64>,
    /// CXone's aggressiveness (a string there): not written by this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggressiveness: Option<Value>,
}

impl PacingChange {
    /// Parses a body: 400 for shape, naming the field at fault.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let change: PacingChange = shared::api_error::from_json(body).map_err(|e| {
            ApiError::bad_request(format!("invalid pacing change: {e}"))
                .with_details(vec![e.detail()])
        })?;
        if change.maximum_ratio.is_none()
            && change.abandon_rate_threshold.is_none()
            && change.maximum_ringing_duration.is_none()
            && change.aggressiveness.is_none()
        {
            return Err(ApiError::bad_request(
                "the body names no field: send maximumRatio, abandonRateThreshold or maximumRingingDuration",
            )
            .with_details(vec![json!({"field": "body", "problem": "names no field"})]));
        }
        Ok(change)
    }

    /// Every value problem against the law and `stored`'s config (empty when lawful).
    pub fn problems(&self, stored: &StoredConfig) -> Vec<Value> {
        let pacing = &stored.config.pacing;
        let mut out = Vec::new();
        let mut bad = |field: &str, problem: String| {
            out.push(json!({"field": field, "problem": problem}));
        };
        if let Some(r) = self.maximum_ratio {
            if !(r.is_finite() && r >= pacing.min_ratio && r <= pacing.max_ratio) {
                bad(
                    "maximumRatio",
                    format!(
                        "must be within the campaign's bounds {} to {}",
                        pacing.min_ratio, pacing.max_ratio
                    ),
                );
            }
        }
        if let Some(t) = self.abandon_rate_threshold {
            if !(t.is_finite() && t > 0.0 && t <= LEGAL_MAX_ABANDON_PCT) {
                bad(
                    "abandonRateThreshold",
                    format!("must be above 0 and at most the legal {LEGAL_MAX_ABANDON_PCT} %"),
                );
            }
        }
        if let Some(ring) = self.maximum_ringing_duration {
            let floor = f64::from(MIN_RING_SECONDS.max(pacing.ring_floor_seconds()));
            if !(ring.is_finite()
                && ring.fract() == 0.0
                && ring >= floor
                && ring <= MAX_RING_SECONDS)
            {
                bad(
                    "maximumRingingDuration",
                    format!(
                        "must be whole seconds from {floor} (the campaign's minimum; the law's is {MIN_RING_SECONDS}, FTC TSR 16 CFR 310.4(b)(4)(ii)) to {MAX_RING_SECONDS}"
                    ),
                );
            }
        }
        if self.aggressiveness.is_some() {
            bad(
                "aggressiveness",
                "is not written by this route (the engine's simulation does not model it): set it in CXone".into(),
            );
        }
        out
    }

    fn desired(&self) -> Vec<Desired> {
        let field = |name: &str, value: f64| Desired {
            field: name.into(),
            value,
            hysteresis: 0.0,
            always_write: Some(value),
        };
        let mut out = Vec::new();
        if let Some(r) = self.maximum_ratio {
            out.push(field("maximumRatio", r));
        }
        if let Some(t) = self.abandon_rate_threshold {
            out.push(field("abandonRateThreshold", t));
        }
        if let Some(ring) = self.maximum_ringing_duration {
            out.push(field(RING_FIELD, ring));
        }
        out
    }
}

/// The engine's prediction for a change, projected over the hold time.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PacingPrediction {
    /// The ratio simulated (the one asked for, else the one in force).
    pub ratio: f64,
    /// Minutes the setting stands before the tuner may take over (the hold).
    pub hold_minutes: u32,
    /// The engine's predicted interval at that ratio.
    pub interval: CandidateResult,
    /// Projected abandonment today (since local midnight) after the hold, percent.
    pub today_pct: Option<f64>,
    /// Projected abandonment over the law's period after the hold, percent.
    pub period_pct: Option<f64>,
    /// The period's projection with an unlucky interval (the 90th percentile).
    pub period_pct_unlucky: Option<f64>,
    /// Predicted agent utilisation (talk time / staffed time).
    pub utilisation: f64,
    /// The legal limit, percent.
    pub limit_pct: f64,
    /// Whether the change would be refused (the period above the limit).
    pub refused: bool,
}

fn pct(abandons: f64, live: f64) -> Option<f64> {
    (live > 0.0).then(|| 100.0 * abandons / live)
}

impl Api {
    /// `PUT /campaigns/{skillId}/pacing[?dryRun=true]`.
    pub(crate) async fn put_pacing(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let dry_run = match request.query("dryRun") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun must be true or false, not {other:?}"
                ))
                .with_details(vec![
                    json!({"field": "dryRun", "problem": "must be true or false"}),
                ]))
            }
        };
        let change = PacingChange::parse(request.body())?;
        let stored = self
            .state
            .get_config(request.skill_id)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("campaign {} has no config", request.skill_id))
            })?;
        let problems = change.problems(&stored);
        if !problems.is_empty() {
            return Err(ApiError::unprocessable(
                "the pacing change has unlawful or out-of-range values",
            )
            .with_details(problems));
        }
        let record = self
            .failover
            .get(request.skill_id)
            .await
            .map_err(|e| storage_error("read the failover state", &e))?;
        let skill_id = match record.state {
            FailoverState::Primary => request.skill_id,
            FailoverState::OnBackup => record.backup_skill_id.unwrap_or(request.skill_id),
            state => {
                return Err(ApiError::conflict(format!(
                    "campaign {} is {state}; retry once it has settled",
                    request.skill_id
                )))
            }
        };
        let cxone_deadline = deadline.for_cxone();
        let reading = SkillReading::read(
            &self.cxone,
            &stored,
            skill_id,
            request.time,
            &cxone_deadline,
        )
        .await
        .map_err(|e| cxone_error(e.what, &e.source))?;
        let today = self
            .cxone
            .skill_summary(
                skill_id,
                crate::health::local_midnight(
                    request.time,
                    stored.config.time_zone.parse().unwrap_or(chrono_tz::UTC),
                ),
                request.time,
                &cxone_deadline,
            )
            .await
            .map_err(|e| cxone_error("reading today's results", &e))?;
        let prediction = predict(&stored, &reading, &today, &change);
        if dry_run {
            return Ok(json_response(
                200,
                &json!({"skillId": request.skill_id, "dialling": skill_id, "dryRun": true,
                        "change": change, "prediction": prediction, "written": []}),
            ));
        }
        if prediction.refused {
            return Err(ApiError::unprocessable(format!(
                "refused: at ratio {} the campaign's period is predicted to end at {:.2} %, above the legal {LEGAL_MAX_ABANDON_PCT} %",
                prediction.ratio,
                prediction.period_pct.unwrap_or(f64::NAN)
            ))
            .with_details(vec![json!({"field": "maximumRatio",
                "problem": "the campaign's period is predicted to end above the legal limit",
                "prediction": prediction})]));
        }
        self.write_pacing(
            request,
            &stored,
            skill_id,
            &reading,
            &change,
            &prediction,
            deadline,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_pacing(
        &self,
        request: &ApiRequest,
        stored: &StoredConfig,
        skill_id: i64,
        reading: &SkillReading,
        change: &PacingChange,
        prediction: &PacingPrediction,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let lease = self.take_lease(request, deadline).await?;
        let hold = Duration::minutes(i64::from(stored.config.override_hold_minutes));
        let written = SafeWriter::new(&self.cxone, &self.state)
            .apply_as_operator(
                skill_id,
                &change.desired(),
                &reading.settings,
                request.time,
                hold,
                &deadline.for_cxone(),
            )
            .await;
        if let Err(e) = self.state.release_lease(&lease).await {
            tracing::warn!(error = %e, "could not release the lease; it expires at the deadline");
        }
        let outcomes = written.map_err(|e| match e {
            shared::safe_write::SafeWriteError::Cxone(e) => {
                cxone_error("writing the pacing change", &e)
            }
            shared::safe_write::SafeWriteError::Store(e) => {
                storage_error("record the written fields", &e)
            }
        })?;
        let record = AuditRecord {
            skill_id: request.skill_id,
            at: request.time,
            actor: request.actor.clone(),
            action: "pacing.operator".into(),
            before: json!(outcomes.iter().map(|o| (o.field.clone(), json!(o.before))).collect::<serde_json::Map<_, _>>()),
            after: json!(outcomes.iter().map(|o| (o.field.clone(), json!(o.after))).collect::<serde_json::Map<_, _>>()),
            why: format!(
                "operator's pacing change, simulated first: period projected at {} % after the {}-minute hold",
                prediction.period_pct.map_or("n/a".into(), |p| format!("{p:.2}")),
                prediction.hold_minutes
            ),
            outcome: "written".into(),
            request_id: request.request_id.clone(),
            details: json!({"skillId": skill_id, "change": change, "prediction": prediction, "fields": outcomes}),
        };
        self.audit
            .append(&record)
            .await
            .map_err(|e| storage_error("record the audit entry (the change was written)", &e))?;
        Ok(json_response(
            200,
            &json!({"skillId": request.skill_id, "dialling": skill_id, "dryRun": false,
                    "change": change, "prediction": prediction, "written": outcomes,
                    "heldUntil": request.time + hold}),
        ))
    }
}

/// The engine's prediction at the ratio asked for (or in force), projected
/// over the hold time onto today and the period.
fn predict(
    stored: &StoredConfig,
    reading: &SkillReading,
    today: &shared::cxone::SkillSummary,
    change: &PacingChange,
) -> PacingPrediction {
    let inputs = reading.inputs(stored);
    let ratio = change.maximum_ratio.unwrap_or(inputs.current_ratio);
    let interval = predict_ratio(&inputs, ratio);
    let hold_minutes = stored.config.override_hold_minutes.max(5);
    let intervals = f64::from(hold_minutes) * 60.0 / HORIZON_S;
    let period = &reading.period;
    let (a, l) = (
        period.abandon_count as f64,
        (period.connects + period.abandon_count) as f64,
    );
    let (a_today, l_today) = (
        today.abandon_count as f64,
        (today.connects + today.abandon_count) as f64,
    );
    let more_live = interval.live_answers * intervals;
    let period_pct = pct(a + interval.abandons * intervals, l + more_live);
    let period_pct_unlucky = pct(a + interval.abandons_upper * intervals, l + more_live);
    PacingPrediction {
        ratio,
        hold_minutes,
        today_pct: pct(a_today + interval.abandons * intervals, l_today + more_live),
        period_pct,
        period_pct_unlucky,
        utilisation: interval.utilisation,
        limit_pct: LEGAL_MAX_ABANDON_PCT,
        // Progressive dialling abandons nothing: a move to 1.0 is never refused,
        // even while the period is still above the limit from earlier calls.
        refused: ratio > 1.0 && period_pct.is_some_and(|p| p > LEGAL_MAX_ABANDON_PCT),
        interval,
    }
}
