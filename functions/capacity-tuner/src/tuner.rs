//! One tick of the capacity tuner: every enabled campaign, once per EventBridge event.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn, Instrument};

use shared::cxone::CxoneClient;
use shared::engine::pacing::{self, PacingDecision, PacingInputs, Results, Staffing};
use shared::idempotency::{unix_now_ms, IdempotencyError, IdempotencyStore};
use shared::invocation::Invocation;
use shared::observability::{Metrics, Unit};
use shared::safe_write::{Desired, FieldOutcome, FieldStatus, SafeWriter};
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::state::{LeaseError, StateStore, StoredConfig};

/// The function's name, as actor in audit records and metrics.
pub const FUNCTION_NAME: &str = "capacity-tuner";
/// How far back the "recent interval" reaches.
pub const RECENT_WINDOW_MINUTES: i64 = 15;
/// The abandonment accounting period (FTC TSR): 30 days.
pub const PERIOD_DAYS: i64 = 30;
/// Hysteresis on `abandonRateThreshold` (percent).
pub const THRESHOLD_HYSTERESIS: f64 = 0.1;

/// Why a tick failed as a whole (per-campaign failures are reported, not raised).
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// The event is not a usable scheduled event.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// The same event is being processed by another invocation right now.
    #[error("event {0} is already being processed")]
    InProgress(String),
    /// Storage failed (EventBridge retries the event).
    #[error("storage failed: {0}")]
    Storage(String),
}

impl TickError {
    /// A stable name for the error's kind (Lambda's `errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            TickError::BadEvent(_) => "BadEvent",
            TickError::InProgress(_) => "InProgress",
            TickError::Storage(_) => "StorageFailed",
        }
    }
}

pub use shared::invocation::Tick;

impl From<shared::invocation::BadEvent> for TickError {
    fn from(e: shared::invocation::BadEvent) -> Self {
        TickError::BadEvent(e.0)
    }
}

/// What the tick did for one campaign.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    /// The campaign.
    pub skill_id: i64,
    /// `written`, `unchanged`, `held`, `skipped`, `stopped`, `on_backup`, `failed`.
    pub outcome: String,
    /// The decided ratio, when a decision was made.
    pub maximum_ratio: Option<f64>,
    /// Fields written and confirmed.
    pub fields_written: usize,
    /// Fields left alone because a person changed them.
    pub overrides: usize,
    /// Error or reason, when not decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The response of one tick (stored for replays of the same event).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// The event processed.
    pub event_id: String,
    /// Its time.
    pub time: DateTime<Utc>,
    /// One entry per enabled campaign.
    pub campaigns: Vec<CampaignReport>,
}

/// The tuner with its clients, built once per cold start.
pub struct Tuner {
    /// CXone client (token cached across warm invocations).
    pub cxone: Arc<CxoneClient>,
    /// State table.
    pub state: StateStore,
    /// Audit table.
    pub audit: AuditStore,
    /// Idempotency table.
    pub idempotency: IdempotencyStore,
}

impl Tuner {
    /// Handles one scheduled event: at most once per event id.
    pub async fn handle(&self, event: &Value, invocation: &Invocation) -> Result<Value, TickError> {
        let tick = Tick::from_event(event)?;
        let key = format!("{FUNCTION_NAME}#{}", tick.event_id);
        let payload = json!({"id": tick.event_id, "time": tick.time});
        let result = self
            .idempotency
            .run(
                &key,
                &payload,
                &invocation.deadline,
                unix_now_ms(),
                || async {
                    let report = self.tick(&tick, invocation).await;
                    serde_json::to_value(report).map_err(|e| e.to_string())
                },
            )
            .await;
        match result {
            Ok(execution) => {
                if execution.replayed {
                    info!(event_id = %tick.event_id, "event already processed: replaying stored report");
                }
                Ok(execution.response)
            }
            Err(IdempotencyError::InProgress) => Err(TickError::InProgress(tick.event_id)),
            Err(IdempotencyError::PayloadMismatch) => Err(TickError::BadEvent(format!(
                "event id {} was seen before with another time",
                tick.event_id
            ))),
            Err(IdempotencyError::Store(e)) => Err(TickError::Storage(e.to_string())),
            Err(IdempotencyError::Work(e)) => Err(TickError::Storage(e)),
        }
    }

    /// Tunes every enabled campaign; one failing campaign never stops the others.
    pub async fn tick(&self, tick: &Tick, invocation: &Invocation) -> TickReport {
        let mut metrics = Metrics::for_function(FUNCTION_NAME);
        let configs = match self.state.list_configs().await {
            Ok(configs) => configs,
            Err(e) => {
                warn!(error = %e, "could not list campaign configs");
                return TickReport {
                    event_id: tick.event_id.clone(),
                    time: tick.time,
                    campaigns: vec![report(
                        0,
                        "failed",
                        None,
                        Some(format!("could not list campaigns: {e}")),
                    )],
                };
            }
        };
        let mut campaigns = Vec::new();
        for stored in configs.into_iter().filter(|c| c.config.enabled) {
            let span = tracing::info_span!("campaign", skill_id = stored.skill_id);
            let report = self
                .tune_campaign(&stored, tick, invocation)
                .instrument(span)
                .await;
            campaigns.push(report);
        }
        let count = |f: fn(&CampaignReport) -> usize| campaigns.iter().map(f).sum::<usize>() as f64;
        metrics.put("Decisions", campaigns.len() as f64, Unit::Count);
        metrics.put("Writes", count(|c| c.fields_written), Unit::Count);
        metrics.put("Overrides", count(|c| c.overrides), Unit::Count);
        metrics.put(
            "CampaignFailures",
            count(|c| usize::from(c.outcome == "failed")),
            Unit::Count,
        );
        metrics.put("CxoneRetries", self.cxone.retries() as f64, Unit::Count);
        metrics.emit(tick.time.timestamp_millis());
        TickReport {
            event_id: tick.event_id.clone(),
            time: tick.time,
            campaigns,
        }
    }

    async fn tune_campaign(
        &self,
        stored: &StoredConfig,
        tick: &Tick,
        invocation: &Invocation,
    ) -> CampaignReport {
        let skill_id = stored.skill_id;
        let lease = match self
            .state
            .acquire_lease(
                skill_id,
                &invocation.request_id,
                unix_now_ms(),
                invocation.deadline.epoch_ms(),
            )
            .await
        {
            Ok(lease) => lease,
            Err(LeaseError::Held { owner, .. }) => {
                let why = format!("another writer ({owner}) holds the campaign's lease");
                self.audit_simple(stored, tick, invocation, "skipped", &why, json!({}))
                    .await;
                return report(skill_id, "skipped", None, Some(why));
            }
            Err(LeaseError::Store(e)) => {
                let why = format!("could not take the campaign's lease: {e}");
                warn!(error = %e, "lease failed");
                return report(skill_id, "failed", None, Some(why));
            }
        };
        let guarded = crate::guard::run(
            &self.cxone,
            &self.state,
            &self.audit,
            stored,
            tick,
            invocation,
        )
        .await;
        let result = match guarded {
            Ok(crate::guard::GuardOutcome::Stopped) => {
                let why = "stopped by the window guard: no recipient may lawfully be called now";
                self.audit_simple(stored, tick, invocation, "stopped", why, json!({}))
                    .await;
                Ok(report(skill_id, "stopped", None, Some(why.into())))
            }
            Ok(crate::guard::GuardOutcome::FailedOver) => {
                let why = "the campaign has failed over to its backup skill: its primary is left to the failover checker";
                self.audit_simple(stored, tick, invocation, "skipped", why, json!({}))
                    .await;
                Ok(report(skill_id, "on_backup", None, Some(why.into())))
            }
            Ok(_) => self.decide_and_write(stored, tick, invocation).await,
            Err(e) => Err(format!("window guard: {e}")),
        };
        if let Err(e) = self.state.release_lease(&lease).await {
            warn!(error = %e, "could not release lease; it expires at the deadline");
        }
        match result {
            Ok(report) => report,
            Err(why) => {
                warn!(error = %why, "tuning failed");
                self.audit_simple(stored, tick, invocation, "failed", &why, json!({}))
                    .await;
                report(skill_id, "failed", None, Some(why))
            }
        }
    }

    async fn decide_and_write(
        &self,
        stored: &StoredConfig,
        tick: &Tick,
        invocation: &Invocation,
    ) -> Result<CampaignReport, String> {
        let skill_id = stored.skill_id;
        let config = &stored.config;
        let deadline = &invocation.deadline;
        let now = tick.time;
        let activity = self
            .cxone
            .skill_activity(skill_id, deadline)
            .await
            .map_err(|e| format!("reading staffing: {e}"))?;
        let recent = self
            .cxone
            .skill_summary(
                skill_id,
                now - Duration::minutes(RECENT_WINDOW_MINUTES),
                now,
                deadline,
            )
            .await
            .map_err(|e| format!("reading recent results: {e}"))?;
        let period = self
            .cxone
            .skill_summary(skill_id, now - Duration::days(PERIOD_DAYS), now, deadline)
            .await
            .map_err(|e| format!("reading 30-day results: {e}"))?;
        let settings = self
            .cxone
            .general_settings(skill_id, deadline)
            .await
            .map_err(|e| format!("reading general settings: {e}"))?
            .to_map();
        let current_ratio = shared::safe_write::number(&settings, "maximumRatio").unwrap_or(1.0);
        let inputs = PacingInputs {
            staffing: Staffing {
                available: activity.agents_available,
                working: activity.agents_working,
                acw: activity.agents_acw,
                logged_in: activity.agents_logged_in,
            },
            recent: results(&recent),
            period: results(&period),
            recent_seconds: (RECENT_WINDOW_MINUTES * 60) as f64,
            current_ratio,
            target_abandon_pct: config.pacing.target_abandon_pct,
            min_ratio: config.pacing.min_ratio,
            max_ratio: config.pacing.max_ratio,
            ring_limit_seconds: shared::safe_write::number(&settings, "maximumRingingDuration")
                .unwrap_or(0.0),
            // Same skill and tick, same prediction: a replay decides the same.
            seed: pacing::predict::mix(skill_id as u64, now.timestamp_millis() as u64),
        };
        let decision = pacing::decide(&inputs);
        let desired = vec![
            Desired::maximum_ratio(decision.maximum_ratio),
            Desired {
                field: "abandonRateThreshold".into(),
                value: decision.abandon_rate_threshold,
                hysteresis: THRESHOLD_HYSTERESIS,
                always_write: None,
            },
        ];
        let hold = Duration::minutes(i64::from(config.override_hold_minutes));
        let outcomes = SafeWriter::new(&self.cxone, &self.state)
            .apply(skill_id, &desired, &settings, now, hold, deadline)
            .await
            .map_err(|e| format!("writing settings: {e}"))?;
        let outcome = summarise(&outcomes);
        info!(
            ratio = decision.maximum_ratio,
            mode = ?decision.mode,
            outcome,
            "pacing decided"
        );
        self.audit_decision(
            stored, tick, invocation, &inputs, &decision, &outcomes, outcome,
        )
        .await
        .map_err(|e| format!("writing audit: {e}"))?;
        let mut done = report(skill_id, outcome, Some(decision.maximum_ratio), None);
        done.fields_written = outcomes
            .iter()
            .filter(|o| o.status == FieldStatus::Written)
            .count();
        done.overrides = outcomes.iter().filter(|o| o.is_override()).count();
        Ok(done)
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit_decision(
        &self,
        stored: &StoredConfig,
        tick: &Tick,
        invocation: &Invocation,
        inputs: &PacingInputs,
        decision: &PacingDecision,
        outcomes: &[FieldOutcome],
        outcome: &str,
    ) -> Result<(), shared::store::StoreError> {
        let before: serde_json::Map<String, Value> = outcomes
            .iter()
            .map(|o| (o.field.clone(), json!(o.before)))
            .collect();
        let after: serde_json::Map<String, Value> = outcomes
            .iter()
            .map(|o| (o.field.clone(), json!(o.after)))
            .collect();
        let overrides: Vec<&FieldOutcome> = outcomes.iter().filter(|o| o.is_override()).collect();
        let why = if overrides.is_empty() {
            decision.reason.clone()
        } else {
            format!(
                "{}; left alone because a person changed them: {}",
                decision.reason,
                overrides
                    .iter()
                    .map(|o| o.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let record = AuditRecord {
            skill_id: stored.skill_id,
            at: tick.time,
            actor: FUNCTION_NAME.into(),
            action: "pacing.tune".into(),
            before: Value::Object(before),
            after: Value::Object(after),
            why,
            outcome: outcome.into(),
            request_id: invocation.request_id.clone(),
            details: json!({
                "eventId": tick.event_id,
                "inputs": inputs,
                "decision": decision,
                "fields": outcomes,
                "configVersion": stored.version,
            }),
        };
        self.audit.append(&record).await.map(|_| ())
    }

    async fn audit_simple(
        &self,
        stored: &StoredConfig,
        tick: &Tick,
        invocation: &Invocation,
        outcome: &str,
        why: &str,
        details: Value,
    ) {
        let record = AuditRecord {
            skill_id: stored.skill_id,
            at: tick.time,
            actor: FUNCTION_NAME.into(),
            action: "pacing.tune".into(),
            before: Value::Null,
            after: Value::Null,
            why: why.into(),
            outcome: outcome.into(),
            request_id: invocation.request_id.clone(),
            details: json!({"eventId": tick.event_id, "extra": details}),
        };
        if let Err(e) = self.audit.append(&record).await {
            warn!(error = %e, "could not write audit record");
        }
    }
}

fn report(
    skill_id: i64,
    outcome: &str,
    ratio: Option<f64>,
    message: Option<String>,
) -> CampaignReport {
    CampaignReport {
        skill_id,
        outcome: outcome.into(),
        maximum_ratio: ratio,
        fields_written: 0,
        overrides: 0,
        message,
    }
}

fn results(summary: &shared::cxone::SkillSummary) -> Results {
    Results {
        dials: summary.dials,
        connects: summary.connects,
        abandons: summary.abandon_count,
        mean_talk_seconds: summary.average_talk_time.unwrap_or(0.0),
        mean_wrap_seconds: summary.average_wrap_time.unwrap_or(0.0),
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
