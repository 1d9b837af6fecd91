//! `PUT /campaigns/{skillId}/schedule`: the request envelope, the idempotency
//! layer, and the deployment itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tracing::{info, warn, Instrument};

use shared::api_error::{stamp_request_id, ApiError};
use shared::cxone::{CxoneClient, CxoneError, ScheduleSettings, TimeZoneWindow};
use shared::deadline::Deadline;
use shared::engine::compliance::{
    check_schedule, recipient_areas, CheckPeriod, ScheduleVerdict, Violation, ViolationMode,
};
use shared::gateway::Envelope;
use shared::idempotency::http::{
    request_hash, HttpIdempotency, HttpResponse, IdempotencyKey, IDEMPOTENCY_KEY_HEADER,
};
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::state::{DeployedSchedule, LeaseError, StateStore};

use crate::plan::{plan, DeploymentPlan, PlanError};
use crate::request::{RequestRejection, ScheduleRequest};
use crate::rollback::{roll_back, same_schedule, same_zones, RollbackReport, Snapshot, Touched};

/// The function's name: the idempotency scope, and the actor when no IAM principal is known.
pub const FUNCTION_NAME: &str = "schedule-deployer";
/// The route this function serves (API Gateway's route key).
pub const ROUTE: &str = "PUT /campaigns/{skillId}/schedule";
/// Largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The audit action of a deployment.
pub const AUDIT_ACTION: &str = "schedule.put";

/// The deployer with its clients, built once per cold start.
pub struct Deployer {
    /// CXone client.
    pub cxone: Arc<CxoneClient>,
    /// State table (per-campaign write leases).
    pub state: StateStore,
    /// Audit table.
    pub audit: AuditStore,
    /// The idempotency layer (scope [`FUNCTION_NAME`]).
    pub idempotency: HttpIdempotency,
    /// The wall clock in Unix ms, for idempotency and lease expiry (decisions
    /// use the request's time instead).
    pub clock: fn() -> u64,
}

/// The envelope of a schedule request, parsed from API Gateway's event.
#[derive(Debug)]
pub struct ScheduleCall {
    /// The campaign (CXone skill id).
    pub skill_id: i64,
    /// The validated `Idempotency-Key`.
    pub key: IdempotencyKey,
    /// Raw body bytes.
    pub body: Vec<u8>,
    /// API Gateway's request time (`requestContext.timeEpoch`).
    pub time: DateTime<Utc>,
    /// The IAM principal, or [`FUNCTION_NAME`].
    pub actor: String,
    /// The request id.
    pub request_id: String,
}

/// Parses and routes API Gateway's request (404 / 405 for other routes,
/// 400 for a bad skill id, a missing or invalid `Idempotency-Key` or a missing
/// request time, 413 for a body over [`MAX_BODY_BYTES`]).
pub fn parse_call(request: &Request) -> Result<ScheduleCall, ApiError> {
    let envelope = Envelope::of(request);
    let (method, path) = (envelope.method.as_str(), envelope.path.as_str());
    match (
        envelope.route_key.as_deref(),
        method,
        envelope.segments().as_slice(),
    ) {
        (Some(ROUTE), _, _) | (_, "PUT", ["campaigns", _, "schedule"]) => {}
        (_, _, ["campaigns", _, "schedule"]) => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not allowed on {path}; use PUT"
            )))
        }
        _ => return Err(ApiError::not_found(format!("no route for {method} {path}"))),
    }
    let skill_id = envelope.skill_id()?;
    let time = envelope.require_time()?;
    let key = IdempotencyKey::parse(
        request
            .headers()
            .get(IDEMPOTENCY_KEY_HEADER)
            .map(HeaderValue::as_bytes),
    )?;
    if envelope.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    Ok(ScheduleCall {
        skill_id,
        key,
        time,
        actor: envelope.actor_or(FUNCTION_NAME),
        body: envelope.body,
        request_id: envelope.request_id,
    })
}

/// Turns an [`HttpResponse`] into API Gateway's response (with
/// `Idempotent-Replayed: true` on a replay).
pub fn to_lambda(response: &HttpResponse) -> Response<Body> {
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

/// A 502: the cause in the log line (which carries the request id, as the
/// answer's `requestId` does), what failed in words in the answer.
fn cxone_failure(what: &str, e: &CxoneError) -> ApiError {
    warn!(error = %e, "CXone call failed: {what}");
    ApiError::bad_gateway(format!(
        "CXone failed while {what}: {}",
        cxone_failure_words(e)
    ))
}

/// What went wrong with a CXone call, in words, without CXone's or the
/// SDK's message (which the log line keeps).
fn cxone_failure_words(e: &CxoneError) -> &'static str {
    match e {
        CxoneError::Auth { .. } | CxoneError::Secret(_) => {
            "CXone refused the bundle's credentials; check the CXone secret"
        }
        CxoneError::DeadlineExceeded { .. } | CxoneError::Timeout { .. } => {
            "CXone did not answer before the deadline"
        }
        CxoneError::RateLimited { .. } => "CXone kept throttling the requests",
        CxoneError::Unavailable { .. } | CxoneError::Transport { .. } => "CXone is unavailable",
        _ => "CXone failed (see the logs with the request id)",
    }
}

/// A 503: the cause in the log line, what could not be done in the answer.
fn storage_failure(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    warn!(error = %e, "storage failed: {what}");
    ApiError::unavailable(format!(
        "could not {what}; retry with the same Idempotency-Key"
    ))
}

/// One violation as an error detail: the engine's fields plus a sentence.
pub fn violation_detail(v: &Violation) -> Value {
    let mut detail = json!(v);
    let whom = match v.state {
        Some(state) => format!("{} in {state}", v.recipient_zone.name()),
        None => v.recipient_zone.name().to_owned(),
    };
    let lawful = v
        .lawful
        .map_or_else(|| "no time at all".to_owned(), |w| w.to_string());
    let message = match v.holiday {
        Some(holiday) => format!(
            "{} {} ({holiday}, {}): calls to {whom} are banned by {}; lawful that day: {lawful} ({})",
            v.day, v.requested, v.first_date, v.rule, v.source
        ),
        None => format!(
            "{} {}: breaks {} for {whom} on {} date(s) from {} to {}; lawful: {lawful} \
             (campaign time zone) ({})",
            v.day, v.requested, v.rule, v.occurrences, v.first_date, v.last_date, v.source
        ),
    };
    if let Value::Object(map) = &mut detail {
        map.insert("message".into(), Value::String(message));
        // The request's field at fault: that day's window.
        map.insert("field".into(), Value::String(format!("days.{}", v.day)));
    }
    detail
}

/// What the law check decided, ready to write.
struct Decision {
    request: ScheduleRequest,
    verdict: ScheduleVerdict,
    plan: DeploymentPlan,
    period: CheckPeriod,
}

impl Deployer {
    /// Serves one HTTP request; never fails (errors are responses).
    pub async fn handle(&self, request: Request, deadline: Deadline) -> Response<Body> {
        let call = match parse_call(&request) {
            Ok(call) => call,
            Err(e) => return to_lambda(&HttpResponse::error(&e)),
        };
        let span = tracing::info_span!(
            "schedule",
            skill_id = call.skill_id,
            request_id = %call.request_id
        );
        let mut response = self.serve(&call, &deadline).instrument(span).await;
        // A 5xx names the request id its log lines carry (never the detail).
        if let Some(body) = stamp_request_id(response.status_code, &response.body, &call.request_id)
        {
            response.body = body;
        }
        to_lambda(&response)
    }

    /// Runs the deployment for a parsed call under the idempotency layer.
    pub async fn serve(&self, call: &ScheduleCall, deadline: &Deadline) -> HttpResponse {
        let skill = call.skill_id.to_string();
        let hash = request_hash(ROUTE, &[("skillId", skill.as_str())], &call.body);
        let now_ms = (self.clock)();
        let response = self
            .idempotency
            .execute(&call.key, &hash, deadline, now_ms, || async {
                match self.deploy(call, deadline).await {
                    Ok(body) => HttpResponse::json(200, &body),
                    Err(e) => HttpResponse::error(&e),
                }
            })
            .await;
        if response.replayed {
            info!(status = response.status_code, "replayed a stored response");
        }
        response
    }

    /// Checks the law, then the tenant and DNC protection, then writes.
    ///
    /// CXone calls get the deadline less [`shared::deadline::RECORD_RESERVE`]
    /// (the time kept for the audit record, the deployed-schedule record and
    /// the idempotency result); the lease runs to the full deadline.
    ///
    /// Public for callers that run their own idempotency layer (the campaign
    /// API's provisioning deploys a new campaign's schedule through here).
    pub async fn deploy(
        &self,
        call: &ScheduleCall,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let decision = decide(&call.body, call.time)?;
        let cxone_deadline = deadline.for_cxone();
        self.check_tenant(call.skill_id, &cxone_deadline).await?;
        let now_ms = (self.clock)();
        let lease = match self
            .state
            .acquire_lease(call.skill_id, &call.request_id, now_ms, deadline.epoch_ms())
            .await
        {
            Ok(lease) => lease,
            Err(LeaseError::Held { owner, .. }) => {
                return Err(ApiError::conflict(format!(
                "campaign {} is being written by another of the bundle's writers ({owner}); retry",
                call.skill_id
            )))
            }
            Err(LeaseError::Store(e)) => {
                return Err(storage_failure("take the campaign's write lease", &e))
            }
        };
        let result = self.write(call, &decision, deadline).await;
        if let Err(e) = self.state.release_lease(&lease).await {
            warn!(error = %e, "could not release the write lease; it expires at the deadline");
        }
        result
    }

    async fn check_tenant(&self, skill_id: i64, deadline: &Deadline) -> Result<(), ApiError> {
        let skill = match self.cxone.skill(skill_id, deadline).await {
            Ok(skill) => skill,
            Err(e) if e.is_not_found() => {
                return Err(ApiError::not_found(format!(
                    "CXone has no skill {skill_id}"
                )))
            }
            Err(e) => return Err(cxone_failure("reading the skill", &e)),
        };
        if !(skill.is_outbound && skill.outbound_strategy.as_deref() == Some("Personal Connection"))
        {
            return Err(ApiError::unprocessable(format!(
                "skill {skill_id} is not an outbound Personal Connection skill"
            ))
            .with_details(vec![json!({
                "field": "skillId",
                "skillId": skill_id,
                "isOutbound": skill.is_outbound,
                "outboundStrategy": skill.outbound_strategy,
            })]));
        }
        let protected = self
            .cxone
            .is_dnc_protected(skill_id, deadline)
            .await
            .map_err(|e| cxone_failure("reading DNC groups", &e))?;
        if !protected {
            return Err(ApiError::unprocessable(format!(
                "skill {skill_id} is not protected by a do-not-call list: no active, non-removed \
                 DNC group scrubs it; link one in CXone before deploying a schedule"
            ))
            .with_details(vec![
                json!({"field": "skillId", "rule": "dnc-protection", "skillId": skill_id}),
            ]));
        }
        Ok(())
    }

    /// Reads what CXone holds, writes the plan, and audits the outcome; a
    /// failure after a write that may have reached CXone is rolled back
    /// ([`rollback`]). CXone calls get the invocation's `deadline` less
    /// [`shared::deadline::RECORD_RESERVE`]; a rollback may use part of that
    /// reserve ([`ROLLBACK_RESERVE`] is kept back from it), since the write
    /// it undoes may have failed by running out of time.
    ///
    /// In steps: `read_before`, `apply`, then on failure `undo` and
    /// `audit_failure`; on success the audit record with what was read
    /// back, and `record_deployed` for the window guard.
    async fn write(
        &self,
        call: &ScheduleCall,
        decision: &Decision,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let skill_id = call.skill_id;
        let cxone_deadline = &deadline.for_cxone();
        let before = self.read_before(skill_id, cxone_deadline).await?;
        let intended = Snapshot {
            schedule_settings: decision.plan.schedule_settings(),
            time_zones: decision.plan.time_zone_settings(),
        };
        let written = self.apply(skill_id, &intended, cxone_deadline).await;
        let mut record = audit_record(call, decision, &before, &intended);
        let read = match written {
            Ok(read) => read,
            Err((error, touched)) => {
                let (error, rollback) = self
                    .undo(skill_id, &before, &intended, touched, deadline, error)
                    .await;
                self.audit_failure(&mut record, &error, rollback.as_ref())
                    .await;
                return Err(error);
            }
        };

        record.after = json!(read);
        self.audit.append(&record).await.map_err(|e| {
            storage_failure("record the audit entry (the schedule was written)", &e)
        })?;
        self.record_deployed(call, decision).await?;
        info!(
            clipped = matches!(decision.verdict, ScheduleVerdict::Clipped(_)),
            "schedule deployed"
        );
        Ok(response_body(
            call,
            decision,
            &read.schedule_settings,
            &read.time_zones,
        ))
    }

    /// What CXone holds before the write: the schedule settings and the
    /// time-zone settings (what a rollback writes back).
    async fn read_before(&self, skill_id: i64, deadline: &Deadline) -> Result<Snapshot, ApiError> {
        Ok(Snapshot {
            schedule_settings: self
                .cxone
                .schedule_settings(skill_id, deadline)
                .await
                .map_err(|e| cxone_failure("reading the schedule settings", &e))?,
            time_zones: self
                .cxone
                .time_zones(skill_id, deadline)
                .await
                .map_err(|e| cxone_failure("reading the time-zone settings", &e))?,
        })
    }

    /// After a failed write: rolls back what may have reached CXone
    /// (`touched`) to `before`, within the invocation's `deadline` less
    /// [`ROLLBACK_RESERVE`]. The error as the caller is answered (saying
    /// what the rollback did), and the rollback's report when there was one.
    async fn undo(
        &self,
        skill_id: i64,
        before: &Snapshot,
        intended: &Snapshot,
        touched: Touched,
        deadline: &Deadline,
        error: ApiError,
    ) -> (ApiError, Option<RollbackReport>) {
        if touched == Touched::Nothing {
            return (error, None);
        }
        let report = roll_back(
            &self.cxone,
            skill_id,
            before,
            intended,
            touched,
            &deadline.keeping_back(ROLLBACK_RESERVE),
        )
        .await;
        (report.explain(error), Some(report))
    }

    /// Audits a failed write: the outcome (`failed`, or the rollback's), the
    /// error and the rollback's report. A failure to audit is logged (the
    /// caller is answered with the write's error).
    async fn audit_failure(
        &self,
        record: &mut AuditRecord,
        error: &ApiError,
        rollback: Option<&RollbackReport>,
    ) {
        record.outcome = rollback.map_or("failed", RollbackReport::outcome).into();
        if let Value::Object(details) = &mut record.details {
            details.insert("error".into(), json!(error.message));
            if let Some(report) = rollback {
                details.insert("rollback".into(), json!(report));
            }
        }
        if let Err(audit) = self.audit.append(record).await {
            warn!(error = %audit, outcome = %record.outcome, "could not audit a failed schedule write");
        }
    }

    /// Records the deployed schedule's recipients for the window guard.
    async fn record_deployed(
        &self,
        call: &ScheduleCall,
        decision: &Decision,
    ) -> Result<(), ApiError> {
        let deployed = DeployedSchedule {
            recipient_time_zones: decision
                .request
                .recipient_zones
                .iter()
                .map(|z| z.name().to_owned())
                .collect(),
            recipient_states: decision
                .request
                .recipient_states
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            deployed_at: Some(call.time),
        };
        self.state
            .put_deployed_schedule(call.skill_id, &deployed)
            .await
            .map_err(|e| {
                storage_failure(
                    "record the deployed schedule for the window guard (the schedule was written)",
                    &e,
                )
            })
    }

    /// Writes both parts and reads them back. On failure: the error, and
    /// which writes may have reached CXone (what a rollback must undo).
    async fn apply(
        &self,
        skill_id: i64,
        intended: &Snapshot,
        deadline: &Deadline,
    ) -> Result<Snapshot, (ApiError, Touched)> {
        self.cxone
            .update_schedule_settings(skill_id, &intended.schedule_settings, deadline)
            .await
            .map_err(|e| {
                let touched = Touched::by_failed_schedule_write(&e);
                let error = match &e {
                    CxoneError::ScheduleRefused { .. } => {
                        warn!(error = %e, "CXone refused the schedule");
                        ApiError::bad_gateway(
                            "CXone refused the calling schedule (its reason is in the log line \
                             with this request id). The bundle writes all seven \
                             days active (days off as a one-minute placeholder closed in every \
                             recipient zone), so this refusal is CXone's own; nothing was changed",
                        )
                    }
                    _ => cxone_failure("writing the schedule settings", &e),
                };
                (error, touched)
            })?;
        let both = |error: ApiError| (error, Touched::Both);
        self.cxone
            .update_time_zones(skill_id, &intended.time_zones, deadline)
            .await
            .map_err(|e| {
                both(cxone_failure(
                    "writing the time-zone settings (after the schedule settings)",
                    &e,
                ))
            })?;
        let read = Snapshot {
            schedule_settings: self
                .cxone
                .schedule_settings(skill_id, deadline)
                .await
                .map_err(|e| both(cxone_failure("reading back the schedule settings", &e)))?,
            time_zones: self
                .cxone
                .time_zones(skill_id, deadline)
                .await
                .map_err(|e| both(cxone_failure("reading back the time-zone settings", &e)))?,
        };
        if !same_schedule(&intended.schedule_settings, &read.schedule_settings)
            || !same_zones(&intended.time_zones, &read.time_zones)
        {
            return Err(both(
                ApiError::bad_gateway(
                    "CXone did not keep the schedule or time-zone settings that were written \
                     (read-back differs); check for concurrent edits in CXone",
                )
                .with_details(vec![json!({"written": intended, "readBack": read})]),
            ));
        }
        Ok(read)
    }
}

/// Time kept back from the invocation's deadline while rolling a
/// half-written schedule back: less than the usual record reserve, since
/// leaving CXone with half a schedule is worse than a late audit record.
pub const ROLLBACK_RESERVE: std::time::Duration = std::time::Duration::from_secs(1);

/// Checks a schedule request body (the route's JSON) against the law as of
/// `time`, writing nothing: 400 for its shape, 422 for a refused or
/// undialable schedule, as [`Deployer::deploy`] would answer before any
/// CXone call. Pure.
pub fn check_request(body: &[u8], time: DateTime<Utc>) -> Result<(), ApiError> {
    decide(body, time).map(|_| ())
}

/// The audit record of a write (`schedule.put`, outcome `written` until
/// told otherwise): before and intended settings, the request, the plan,
/// the violations and blackout dates, the period checked.
fn audit_record(
    call: &ScheduleCall,
    decision: &Decision,
    before: &Snapshot,
    intended: &Snapshot,
) -> AuditRecord {
    AuditRecord {
        skill_id: call.skill_id,
        at: call.time,
        actor: call.actor.clone(),
        action: AUDIT_ACTION.into(),
        before: json!(before),
        after: json!(intended),
        why: why(decision),
        outcome: "written".into(),
        request_id: call.request_id.clone(),
        details: json!({
            "idempotencyKey": call.key.as_str(),
            "requested": request_json(&decision.request),
            "deployed": decision.plan,
            "violations": decision.verdict.violations(),
            "blackoutDates": decision.verdict.blackouts(),
            "checkedPeriod": decision.period,
        }),
    }
}

/// The law check and the CXone plan (pure): 400 for shape, 422 for law.
fn decide(body: &[u8], time: DateTime<Utc>) -> Result<Decision, ApiError> {
    let request = ScheduleRequest::parse(body).map_err(|e| {
        let details = e.problems().iter().map(|p| json!(p)).collect();
        match e {
            RequestRejection::Shape(_) => ApiError::bad_request(e.to_string()),
            RequestRejection::Unsupported(_) => ApiError::unprocessable(e.to_string()),
        }
        .with_details(details)
    })?;
    let today = time.with_timezone(&request.schedule.time_zone).date_naive();
    let period = CheckPeriod::year_from(today).map_err(|e| {
        ApiError::bad_request(format!("request time out of range: {e}")).with_details(vec![
            json!({"field": "requestContext.timeEpoch", "problem": "out of range"}),
        ])
    })?;
    let areas = recipient_areas(&request.recipient_zones, &request.recipient_states);
    let verdict = check_schedule(&request.schedule, &areas, period, request.on_violation);
    let schedule = match &verdict {
        ScheduleVerdict::Lawful { .. } => request.schedule.clone(),
        ScheduleVerdict::Refused { violations, .. } => {
            return Err(ApiError::unprocessable(format!(
                "the schedule breaks calling-hour law in {} place(s); nothing was written \
                 (send \"onViolation\": \"clip\" to keep only the lawful part)",
                violations.len()
            ))
            .with_details(violations.iter().map(violation_detail).collect()))
        }
        ScheduleVerdict::Clipped(clipped) => clipped.schedule.clone(),
    };
    let plan = plan(&schedule, &areas, period).map_err(|e| {
        let mut details: Vec<Value> = verdict.violations().iter().map(violation_detail).collect();
        if details.is_empty() {
            details.push(json!({"field": "days", "problem": e.to_string()}));
        }
        match e {
            PlanError::NothingToDial => ApiError::unprocessable(
                "no lawful calling time is left on any day after clipping; nothing was written",
            ),
            other => ApiError::unprocessable(other.to_string()),
        }
        .with_details(details)
    })?;
    Ok(Decision {
        request,
        verdict,
        plan,
        period,
    })
}

fn why(decision: &Decision) -> String {
    match &decision.verdict {
        ScheduleVerdict::Clipped(c) => format!(
            "operator deployed a calling schedule, clipped to the law on {} day(s)",
            c.clipped.len()
        ),
        _ => "operator deployed a lawful calling schedule".into(),
    }
}

fn request_json(request: &ScheduleRequest) -> Value {
    json!({
        "timeZone": request.schedule.time_zone.name(),
        "days": request.schedule.days,
        "recipientTimeZones": request.recipient_zones.iter().map(|z| z.name()).collect::<Vec<_>>(),
        "recipientStates": request.recipient_states.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "onViolation": request.on_violation,
    })
}

fn response_body(
    call: &ScheduleCall,
    decision: &Decision,
    schedule: &ScheduleSettings,
    zones: &[TimeZoneWindow],
) -> Value {
    let (clipped, days_removed) = match &decision.verdict {
        ScheduleVerdict::Clipped(c) => (json!(c.clipped), json!(c.days_removed)),
        _ => (json!([]), json!([])),
    };
    let mut notes = Vec::new();
    if !decision.plan.days_off.is_empty() {
        notes.push(
            "CXone refuses a schedule unless all seven days are active with a window, so each \
             day off is written as a one-minute placeholder (daysOff) at which every recipient \
             zone's window is closed; the window guard keeps those days dark"
                .to_owned(),
        );
    }
    if !decision.verdict.blackouts().is_empty() {
        notes.push(
            "CXone's settings cannot express dates: on each blackout date the window guard stops \
             the skill for the recipients concerned"
                .to_owned(),
        );
    }
    json!({
        "skillId": call.skill_id,
        "outcome": if matches!(decision.verdict, ScheduleVerdict::Clipped(_)) { "clipped" } else { "written" },
        "onViolation": decision.request.on_violation,
        "timeZone": decision.plan.schedule.time_zone.name(),
        "schedule": decision.plan.schedule.days,
        "daysOff": decision.plan.days_off,
        "zones": decision.plan.zones,
        "clipped": clipped,
        "daysRemoved": days_removed,
        "violations": if decision.request.on_violation == ViolationMode::Clip {
            decision.verdict.violations().iter().map(violation_detail).collect::<Vec<_>>()
        } else {
            Vec::new()
        },
        "blackoutDates": decision.verdict.blackouts(),
        "checkedPeriod": decision.period,
        "cxone": {"scheduleSettings": schedule, "timeZones": zones},
        "notes": notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::America;
    use shared::engine::compliance::{Day, DayWindow, StateCode, WeeklySchedule};

    #[test]
    fn violation_details_name_day_zone_state_rule_lawful_window_and_source() {
        let days = [(
            Day::Monday,
            DayWindow::parse("09:00", "20:30").expect("window"),
        )]
        .into_iter()
        .collect();
        let schedule = WeeklySchedule::new(America::New_York, days);
        let fl = StateCode::parse("FL").expect("FL");
        let areas = recipient_areas(&[America::New_York], &[fl]);
        let period = CheckPeriod::year_from(NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"))
            .expect("period");
        let verdict = check_schedule(&schedule, &areas, period, ViolationMode::Refuse);
        let details: Vec<Value> = verdict.violations().iter().map(violation_detail).collect();
        assert_eq!(details.len(), 1, "{details:?}");
        let d = &details[0];
        assert_eq!(d["day"], "monday");
        assert_eq!(d["recipientZone"], "America/New_York");
        assert_eq!(d["state"], "FL");
        assert_eq!(d["rule"], "state-hours:FL");
        assert_eq!(d["lawful"], json!({"start": "08:00", "end": "20:00"}));
        let message = d["message"].as_str().expect("message");
        for part in [
            "monday",
            "America/New_York in FL",
            "state-hours:FL",
            "08:00-20:00",
        ] {
            assert!(message.contains(part), "{part} missing from {message}");
        }
        assert!(
            message.contains(d["source"].as_str().expect("source")),
            "{message}"
        );
    }
}
