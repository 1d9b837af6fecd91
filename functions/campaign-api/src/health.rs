//! `GET /campaigns/{skillId}/health` and `GET /campaigns`: what an operator
//! needs to see about a campaign at a glance.
//!
//! Per campaign: the skill that dials (the primary, or the backup while
//! failed over) and whether it runs, staffing now, the settings in force,
//! abandonment today (since local midnight in the campaign's zone) and over
//! the law's period (30 days, or the campaign's life), the success rate over
//! the failover window, the failover, window-guard and pause states, the last
//! tuning decision, the holds a person's edit placed, and whether the ring
//! time is lawful. The CXone reads of one campaign run concurrently. A
//! single campaign's health answers 502 when CXone fails; the list answers
//! 200 with an `error` on the rows that could not be read.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use futures::future::join_all;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Value};

use shared::api_error::ApiError;
use shared::campaign_config::LEGAL_MAX_ABANDON_PCT;
use shared::cxone::SkillSummary;
use shared::deadline::Deadline;
use shared::engine::compliance::MIN_RING_SECONDS;
use shared::safe_write::number;
use shared::store::failover::FailoverState;
use shared::store::state::StoredConfig;

use crate::api::{cxone_error, json_response, storage_error, Api};
use crate::routes::ApiRequest;

/// Abandonment over a span, as the law counts it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Abandonment {
    /// Start of the span.
    pub from: DateTime<Utc>,
    /// Live answers (connected plus abandoned).
    pub live_answers: u64,
    /// Abandoned live answers.
    pub abandons: u64,
    /// Abandoned share of live answers, percent (none without live answers).
    pub pct: Option<f64>,
}

impl Abandonment {
    fn of(from: DateTime<Utc>, summary: &SkillSummary) -> Self {
        let live = summary.connects + summary.abandon_count;
        Abandonment {
            from,
            live_answers: live,
            abandons: summary.abandon_count,
            pct: (live > 0).then(|| 100.0 * summary.abandon_count as f64 / live as f64),
        }
    }
}

/// Local midnight of `at` in `zone`, as UTC (the start of "today").
pub fn local_midnight(at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let date = at.with_timezone(&zone).date_naive();
    date.and_hms_opt(0, 0, 0)
        .and_then(|t| zone.from_local_datetime(&t).earliest())
        .map_or(at - Duration::hours(24), |t| t.with_timezone(&Utc))
}

impl Api {
    /// `GET /campaigns/{skillId}/health`.
    pub(crate) async fn health(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let stored = self
            .state
            .get_config(request.skill_id)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("campaign {} has no config", request.skill_id))
            })?;
        let health = self
            .campaign_health(&stored, request.time, &deadline.for_cxone())
            .await?;
        Ok(json_response(200, &health))
    }

    /// `GET /campaigns`: every configured campaign with its health.
    pub(crate) async fn list_campaigns(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let configs = self
            .state
            .list_configs()
            .await
            .map_err(|e| storage_error("list the campaign configs", &e))?;
        let cxone_deadline = deadline.for_cxone();
        let rows = join_all(configs.iter().map(|stored| async {
            match self
                .campaign_health(stored, request.time, &cxone_deadline)
                .await
            {
                Ok(health) => health,
                Err(e) => json!({
                    "skillId": stored.skill_id,
                    "enabled": stored.config.enabled,
                    "error": e.message,
                }),
            }
        }))
        .await;
        Ok(json_response(200, &json!({ "campaigns": rows })))
    }

    /// One campaign's health at `now`.
    pub(crate) async fn campaign_health(
        &self,
        stored: &StoredConfig,
        now: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let skill_id = stored.skill_id;
        let config = &stored.config;
        let store = |what: &'static str| move |e| storage_error(what, &e);
        let failover = self
            .failover
            .get(skill_id)
            .await
            .map_err(store("read the failover state"))?;
        let dialling = match failover.state {
            FailoverState::OnBackup | FailoverState::FailingBack => failover
                .backup_skill_id
                .or(config.failover.as_ref().map(|f| f.backup_skill_id))
                .unwrap_or(skill_id),
            _ => skill_id,
        };
        let pause = self
            .state
            .get_pause(skill_id)
            .await
            .map_err(store("read the pause record"))?;
        let guard = self
            .state
            .get_guard(dialling)
            .await
            .map_err(store("read the guard record"))?;
        let fields = self
            .state
            .get_fields(dialling)
            .await
            .map_err(store("read the field records"))?;
        let zone: Tz = config.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let today_from = local_midnight(now, zone);
        let life = stored.life(now);
        let (skill, activity, settings, today, period) = tokio::join!(
            self.cxone.skill(dialling, deadline),
            self.cxone.skill_activity(dialling, deadline),
            self.cxone.general_settings(dialling, deadline),
            self.cxone
                .skill_summary(dialling, today_from, now, deadline),
            self.cxone
                .skill_summary(dialling, life.period_from, now, deadline),
        );
        let skill = skill.map_err(|e| cxone_error("reading the skill", &e))?;
        let activity = activity.map_err(|e| cxone_error("reading staffing", &e))?;
        let settings = settings
            .map_err(|e| cxone_error("reading general settings", &e))?
            .to_map();
        let today = today.map_err(|e| cxone_error("reading today's results", &e))?;
        let period = period.map_err(|e| cxone_error("reading the period's results", &e))?;
        let success_rate = match &config.failover {
            Some(f) => {
                let window = Duration::minutes(i64::from(f.window_minutes));
                let counts = self
                    .events
                    .window_counts(skill_id, now - window, now)
                    .await
                    .map_err(store("read the event counters"))?;
                json!({"rate": counts.success_rate(), "samples": counts.samples(),
                       "windowMinutes": f.window_minutes, "threshold": f.threshold})
            }
            None => Value::Null,
        };
        let last = self
            .audit
            .query(
                skill_id,
                now - Duration::days(1),
                now + Duration::seconds(1),
                50,
                None,
            )
            .await
            .map_err(store("read the audit trail"))?
            .records
            .into_iter()
            .find(|r| r.action == "pacing.tune" && r.details.get("decision").is_some());
        let last_decision = last.map_or(Value::Null, |r| {
            let decision = &r.details["decision"];
            json!({"at": r.at, "outcome": r.outcome, "skillId": r.details["skillId"],
                   "maximumRatio": decision["maximumRatio"], "mode": decision["mode"],
                   "reason": r.why})
        });
        let holds: Vec<Value> = fields
            .iter()
            .filter_map(|(field, record)| {
                let until = record.held_until.filter(|until| *until > now)?;
                Some(json!({"field": field, "until": until, "value": record.override_value}))
            })
            .collect();
        let ring = number(&settings, "maximumRingingDuration");
        let minimum_ring = f64::from(MIN_RING_SECONDS.max(config.pacing.ring_floor_seconds()));
        Ok(json!({
            "skillId": skill_id,
            "enabled": config.enabled,
            "paused": pause,
            "dialling": {"skillId": dialling, "running": skill.is_running, "isBackup": dialling != skill_id},
            "staffing": {"available": activity.agents_available, "working": activity.agents_working,
                         "acw": activity.agents_acw, "loggedIn": activity.agents_logged_in},
            "settings": {"maximumRatio": number(&settings, "maximumRatio"),
                         "abandonRateThreshold": number(&settings, "abandonRateThreshold"),
                         "maximumRingingDuration": ring},
            "abandonment": {"limitPct": LEGAL_MAX_ABANDON_PCT,
                            "targetPct": config.pacing.target_abandon_pct,
                            "today": Abandonment::of(today_from, &today),
                            "period": {"days": life.period_days(now),
                                       "campaignAgeDays": life.age_days,
                                       "from": life.period_from,
                                       "liveAnswers": period.connects + period.abandon_count,
                                       "abandons": period.abandon_count,
                                       "pct": Abandonment::of(life.period_from, &period).pct}},
            "successRate": success_rate,
            "failover": {"state": failover.state, "backupSkillId": failover.backup_skill_id
                             .or(config.failover.as_ref().map(|f| f.backup_skill_id)),
                         "since": failover.since},
            "guard": {"stoppedByGuard": guard.stopped_at.is_some(), "since": guard.stopped_at,
                      "reason": guard.reason},
            "lastDecision": last_decision,
            "holds": holds,
            "nonCompliant": ring.is_some_and(|r| r < minimum_ring),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_starts_at_local_midnight() {
        let at: DateTime<Utc> = "2026-03-04T02:30:00Z".parse().unwrap();
        // 21:30 on the 3rd in New York (EST): today began at 05:00 UTC on the 3rd.
        assert_eq!(
            local_midnight(at, chrono_tz::America::New_York),
            "2026-03-03T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            local_midnight(at, chrono_tz::UTC),
            "2026-03-04T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
