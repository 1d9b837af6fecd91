//! `POST /campaigns/{skillId}/pause`, `/resume` and `/failback`: an
//! operator steering a campaign, each audited with the principal and a reason.
//!
//! - **Pause** stops the skill that dials (the primary, or the backup while
//!   failed over) and records the pause. A paused campaign stays paused: the
//!   tuner leaves it alone, the window guard never restarts it, and a
//!   failover or failback starts no skill for it. Pausing a paused campaign
//!   is a 200 that says so.
//! - **Resume** starts the primary again and lifts the pause; refused (422)
//!   while the campaign is failed over (fail back first) or when calling is
//!   not lawful now for its recipients (the window guard's rules). Resuming
//!   a campaign that is not paused is a 200 that says so.
//! - **Failback** returns a failed-over campaign to its primary through the
//!   failover state machine (exactly once, audited by it); 409 when it is
//!   not failed over, 422 outside the lawful window.
//!
//! The body is `{"reason": "..."}` (1 to 500 characters; 400 otherwise).
//! An `Idempotency-Key` header is honoured when given: a replay gets the
//! stored answer. Each route reads the state before and after, under the
//! campaign's write lease (409 while another writer holds it).

use lambda_http::http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::info;

use failover_checker::FailbackOutcome;
use shared::api_error::ApiError;
use shared::deadline::Deadline;
use shared::engine::window_guard::{GuardAction, GuardDecision};
use shared::guard::{GuardError, WindowGuard};
use shared::idempotency::http::{request_hash, HttpIdempotency, HttpResponse, IdempotencyKey};
use shared::idempotency::unix_now_ms;
use shared::invocation::Invocation;
use shared::store::audit::AuditRecord;
use shared::store::failover::FailoverState;
use shared::store::state::{PauseRecord, StoredConfig};

use crate::api::{cxone_error, storage_error, Api};
use crate::routes::{ApiRequest, Route, FUNCTION_NAME};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The body of the control routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlBody {
    reason: String,
}

/// The operator's reason, or a 400 naming the field.
fn reason(body: &[u8]) -> Result<String, ApiError> {
    let parsed: ControlBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body must be {{\"reason\": \"...\"}}: {e}"))
            .with_details(vec![json!({"field": "reason", "problem": e.to_string()})])
    })?;
    let reason = parsed.reason.trim().to_owned();
    let chars = reason.chars().count();
    if chars == 0 || chars > MAX_REASON_CHARS {
        return Err(ApiError::bad_request(format!(
            "reason must be 1 to {MAX_REASON_CHARS} characters"
        ))
        .with_details(vec![
            json!({"field": "reason", "problem": "empty or too long"}),
        ]));
    }
    Ok(reason)
}

fn to_lambda(response: &HttpResponse) -> Response<Body> {
    let mut out = Response::new(Body::Text(response.body.clone()));
    *out.status_mut() =
        StatusCode::from_u16(response.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers() {
        if let Ok(name) = HeaderName::try_from(name) {
            out.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
    }
    out
}

/// The details of a start the window guard refused: the violations, then
/// what they are about, the request's time (`requestContext.timeEpoch`).
fn unlawful_now(decision: &GuardDecision) -> Vec<Value> {
    let mut details: Vec<Value> = decision.violations.iter().map(|v| json!(v)).collect();
    details.push(
        json!({"field": "requestContext.timeEpoch", "rule": "calling-window",
        "problem": decision.reason}),
    );
    details
}

fn guard_error(e: GuardError) -> ApiError {
    match e {
        GuardError::Cxone { what, source } => cxone_error(&what, &source),
        GuardError::Store { what, source } => storage_error(what, &source),
        other => ApiError::unprocessable(other.to_string()),
    }
}

/// What a control route did, as answered.
fn done(request: &ApiRequest, action: &str, changed: bool, message: String, extra: Value) -> Value {
    let mut body = json!({"skillId": request.skill_id, "action": action,
                          "changed": changed, "message": message});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    body
}

impl Api {
    /// `POST .../pause|resume|failback`, under `Idempotency-Key` when given.
    pub(crate) async fn control(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let run = || async {
            match self.control_once(request, deadline).await {
                Ok(body) => HttpResponse::json(200, &body),
                Err(e) => HttpResponse::error(&e),
            }
        };
        let response = match &request.envelope.idempotency_key {
            None => run().await,
            Some(raw) => {
                let key = IdempotencyKey::parse(Some(raw))?;
                let skill = request.skill_id.to_string();
                let route = format!("POST /campaigns/{{skillId}}/{:?}", request.route);
                let hash = request_hash(&route, &[("skillId", skill.as_str())], request.body());
                HttpIdempotency::new(self.idempotency.clone(), FUNCTION_NAME)
                    .execute(&key, &hash, deadline, unix_now_ms(), run)
                    .await
            }
        };
        Ok(to_lambda(&response))
    }

    async fn control_once(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let reason = reason(request.body())?;
        let stored = self
            .state
            .get_config(request.skill_id)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("campaign {} has no config", request.skill_id))
            })?;
        if request.route == Route::Failback {
            // The state machine takes the lease itself.
            return self
                .failback_campaign(request, &stored, &reason, deadline)
                .await;
        }
        let lease = self.take_lease(request, deadline).await?;
        let cxone_deadline = deadline.for_cxone();
        let result = match request.route {
            Route::Pause => self.pause(request, &stored, &reason, &cxone_deadline).await,
            _ => {
                self.resume(request, &stored, &reason, &cxone_deadline)
                    .await
            }
        };
        if let Err(e) = self.state.release_lease(&lease).await {
            tracing::warn!(error = %e, "could not release the lease; it expires at the deadline");
        }
        result
    }

    /// The skill that dials for the campaign, or a 409 during a transition.
    async fn dialling_skill(
        &self,
        stored: &StoredConfig,
    ) -> Result<(i64, FailoverState), ApiError> {
        let record = self
            .failover
            .get(stored.skill_id)
            .await
            .map_err(|e| storage_error("read the failover state", &e))?;
        match record.state {
            FailoverState::Primary => Ok((stored.skill_id, record.state)),
            FailoverState::OnBackup => Ok((
                record
                    .backup_skill_id
                    .or(stored.config.failover.as_ref().map(|f| f.backup_skill_id))
                    .unwrap_or(stored.skill_id),
                record.state,
            )),
            state => Err(ApiError::conflict(format!(
                "campaign {} is {state}; retry once it has settled",
                stored.skill_id
            ))),
        }
    }

    async fn is_running(&self, skill_id: i64, deadline: &Deadline) -> Result<bool, ApiError> {
        self.cxone
            .skill(skill_id, deadline)
            .await
            .map(|s| s.is_running)
            .map_err(|e| cxone_error(&format!("reading skill {skill_id}"), &e))
    }

    async fn record_pause(
        &self,
        request: &ApiRequest,
        pause: &PauseRecord,
        action: &str,
        before: Value,
        after: Value,
        why: String,
    ) -> Result<(), ApiError> {
        let audit = AuditRecord {
            skill_id: request.skill_id,
            at: request.time,
            actor: request.actor.clone(),
            action: action.into(),
            before,
            after,
            why,
            outcome: "written".into(),
            request_id: request.request_id.clone(),
            details: json!({"reason": pause.reason}),
        };
        let put = self
            .audit
            .put_request(&audit)
            .map_err(|e| storage_error("record the audit entry", &e))?;
        self.state
            .put_pause_with_audit(request.skill_id, pause, put)
            .await
            .map_err(|e| storage_error("record the pause and its audit entry", &e))
    }

    async fn pause(
        &self,
        request: &ApiRequest,
        stored: &StoredConfig,
        reason: &str,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let current = self
            .state
            .get_pause(request.skill_id)
            .await
            .map_err(|e| storage_error("read the pause record", &e))?;
        if current.paused {
            return Ok(done(
                request,
                "pause",
                false,
                "the campaign is already paused".into(),
                json!({"paused": current}),
            ));
        }
        let (skill, _) = self.dialling_skill(stored).await?;
        let was_running = self.is_running(skill, deadline).await?;
        self.cxone
            .stop_skill(skill, false, deadline)
            .await
            .map_err(|e| cxone_error(&format!("stopping skill {skill}"), &e))?;
        let now_running = self.is_running(skill, deadline).await?;
        self.settle_pause(request, reason, true, skill, (was_running, now_running))
            .await
    }

    /// Records the pause (`paused`) or its end with its audit record, in one
    /// transaction, and answers what changed; `running` is the skill's
    /// state (before, after).
    async fn settle_pause(
        &self,
        request: &ApiRequest,
        reason: &str,
        paused: bool,
        skill: i64,
        running: (bool, bool),
    ) -> Result<Value, ApiError> {
        let (was_running, now_running) = running;
        let (action, verb, message) = if paused {
            (
                "pause",
                "paused",
                format!("skill {skill} stopped; the campaign stays paused until resumed"),
            )
        } else {
            (
                "resume",
                "resumed",
                format!("skill {skill} started; the tuner paces it again"),
            )
        };
        let pause = PauseRecord {
            paused,
            at: Some(request.time),
            by: Some(request.actor.clone()),
            reason: Some(reason.to_owned()),
        };
        self.record_pause(
            request,
            &pause,
            &format!("campaign.{action}"),
            json!({"skillId": skill, "isRunning": was_running, "paused": !paused}),
            json!({"skillId": skill, "isRunning": now_running, "paused": paused}),
            format!("{verb} by {}: {reason}", request.actor),
        )
        .await?;
        info!(skill, action, "campaign {verb}");
        Ok(done(
            request,
            action,
            true,
            message,
            json!({"paused": pause, "before": {"skillId": skill, "isRunning": was_running},
                   "after": {"skillId": skill, "isRunning": now_running}}),
        ))
    }

    async fn resume(
        &self,
        request: &ApiRequest,
        stored: &StoredConfig,
        reason: &str,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let current = self
            .state
            .get_pause(request.skill_id)
            .await
            .map_err(|e| storage_error("read the pause record", &e))?;
        if !current.paused {
            return Ok(done(
                request,
                "resume",
                false,
                "the campaign is not paused; nothing to resume".into(),
                json!({"paused": current}),
            ));
        }
        let (skill, state) = self.dialling_skill(stored).await?;
        if state != FailoverState::Primary {
            return Err(ApiError::unprocessable(format!(
                "campaign {} is failed over to skill {skill}: fail back first (POST /campaigns/{}/failback)",
                request.skill_id, request.skill_id
            ))
            .with_details(vec![json!({"field": "skillId",
                "problem": "the campaign is failed over; fail back first"})]));
        }
        let guard = WindowGuard::new(&self.cxone, &self.state, &self.audit);
        let decision = guard
            .may_start(stored, skill, request.time, deadline)
            .await
            .map_err(guard_error)?;
        if decision.action != GuardAction::Start {
            return Err(ApiError::unprocessable(format!(
                "calling is not lawful now for the campaign's recipients: {}",
                decision.reason
            ))
            .with_details(unlawful_now(&decision)));
        }
        let was_running = self.is_running(skill, deadline).await?;
        self.cxone
            .start_skill(skill, deadline)
            .await
            .map_err(|e| cxone_error(&format!("starting skill {skill}"), &e))?;
        guard.release(skill).await.map_err(guard_error)?;
        let now_running = self.is_running(skill, deadline).await?;
        self.settle_pause(request, reason, false, skill, (was_running, now_running))
            .await
    }

    async fn failback_campaign(
        &self,
        request: &ApiRequest,
        stored: &StoredConfig,
        reason: &str,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let record = self
            .failover
            .get(request.skill_id)
            .await
            .map_err(|e| storage_error("read the failover state", &e))?;
        if record.state == FailoverState::Primary {
            return Err(ApiError::conflict(format!(
                "campaign {} is not failed over: it dials on its primary skill",
                request.skill_id
            )));
        }
        let guard = WindowGuard::new(&self.cxone, &self.state, &self.audit);
        let decision = guard
            .may_start(
                stored,
                request.skill_id,
                request.time,
                &deadline.for_cxone(),
            )
            .await
            .map_err(guard_error)?;
        if decision.action != GuardAction::Start {
            return Err(ApiError::unprocessable(format!(
                "calling is not lawful now for the campaign's recipients, so the primary could not start: {}",
                decision.reason
            ))
            .with_details(unlawful_now(&decision)));
        }
        let actor = format!("{} ({reason})", request.actor);
        let invocation = Invocation::new(request.request_id.clone(), *deadline);
        let outcome = self
            .checker
            .failback(request.skill_id, &actor, request.time, &invocation)
            .await
            .map_err(|e| match e.status() {
                409 => ApiError::conflict(e.to_string()),
                502 => {
                    tracing::warn!(error = %e, "CXone failed during the failback");
                    ApiError::bad_gateway("CXone failed during the failback; retry")
                }
                503 => {
                    tracing::warn!(error = %e, "storage failed during the failback");
                    ApiError::unavailable("storage failed during the failback; retry")
                }
                _ => {
                    tracing::error!(error = %e, "failback failed");
                    ApiError::internal()
                }
            })?;
        let (changed, message) = match &outcome {
            FailbackOutcome::FailedBack { backup_skill_id } => (
                true,
                format!(
                    "backup skill {backup_skill_id} stopped and primary skill {} started",
                    request.skill_id
                ),
            ),
            FailbackOutcome::AlreadyOnPrimary => {
                (false, "the campaign is on its primary already".into())
            }
        };
        Ok(done(
            request,
            "failback",
            changed,
            message,
            json!({"outcome": outcome}),
        ))
    }
}
