//! `POST /campaigns`: provisions a new outbound campaign in CXone, one
//! audited step at a time, resumable under its required `Idempotency-Key`.
//!
//! Before anything is written: the body ([`crate::provisioning_request`]:
//! 400 shape, 422 values, the schedule refused by law 422), the DNC group
//! (exists, active and not removed, else 422 naming `dncGroupId`) and the
//! skill name (not taken in CXone, else 422 naming `skillName`). Then:
//!
//! 1. `skill`: `POST /skills` (a Personal Connection outbound phone skill
//!    with the caller id), found again by its unique name (CXone answers no
//!    id);
//! 2. `generalSettings`: ratio 1.0, abandonment threshold at most 3 %, ring
//!    at least 15 s, read back;
//! 3. `dncGroup`: the group scrubs the skill (`POST
//!    /dnc-groups/{groupId}/scrubbed-skills`), read back;
//! 4. `schedule`: the schedule deployer's deployment (law, tenant, DNC
//!    protection, writes, read-backs, rollback, its own audit record);
//! 5. `config`: the autopilot config, **disabled** (`firstDialDate` left
//!    out), written as `PUT .../config` writes it (with its audit record).
//!
//! Each step is audited (`campaign.provision.<step>`, and
//! `campaign.provision` for the outcome). The steps done are kept per key in
//! the state table ([`shared::store::intake`]); a failure answers its status
//! (502 CXone, 503 storage, 409 busy) with `details` saying what exists
//! (the skill id once known), what is done and what is pending, and a retry
//! with the same key resumes at the first pending step: the skill is never
//! created twice (a creation whose answer was lost is found by its name).
//! Success is 201; a replay gets the stored answer.

use lambda_http::{Body, Response};
use serde_json::{json, Value};
use tracing::{info, warn};

use schedule_deployer::{to_lambda, Deployer, ScheduleCall};
use shared::api_error::ApiError;
use shared::cxone::NewSkill;
use shared::deadline::Deadline;
use shared::idempotency::http::{request_hash, HttpIdempotency, HttpResponse, IdempotencyKey};
use shared::idempotency::unix_now_ms;
use shared::store::audit::AuditRecord;
use shared::store::intake::{key_id, IntakeStore, ProvisioningRecord};

use crate::api::{cxone_error, storage_error, Api};
use crate::provisioning_request::{initial_settings, parse, settings_reason, ProvisioningRequest};
use crate::routes::{ApiRequest, Route, FUNCTION_NAME};

/// The route key, for the request fingerprint.
pub const ROUTE: &str = "POST /campaigns";
/// The steps, in order.
pub const STEPS: [&str; 5] = ["skill", "generalSettings", "dncGroup", "schedule", "config"];
/// The audit action of the outcome (steps add `.<step>`).
pub const AUDIT_ACTION: &str = "campaign.provision";

/// A step's failure: the error, and the step.
struct StepFailure {
    step: &'static str,
    error: ApiError,
}

fn at(step: &'static str) -> impl Fn(ApiError) -> StepFailure {
    move |error| StepFailure { step, error }
}

impl Api {
    /// `POST /campaigns` under the required `Idempotency-Key`.
    pub(crate) async fn provision(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let key = IdempotencyKey::parse(request.envelope.idempotency_key.as_deref())?;
        let hash = request_hash(ROUTE, &[], request.body());
        let response = HttpIdempotency::new(self.idempotency.clone(), FUNCTION_NAME)
            .execute(&key, &hash, deadline, unix_now_ms(), || async {
                match self.provision_once(request, &key, &hash, deadline).await {
                    Ok(body) => HttpResponse::json(201, &body),
                    Err(e) => HttpResponse::error(&e),
                }
            })
            .await;
        Ok(to_lambda(&response))
    }

    async fn provision_once(
        &self,
        request: &ApiRequest,
        key: &IdempotencyKey,
        hash: &str,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let wanted = parse(request.body(), request.time)?;
        let intake = self.intake_store();
        let id = key_id(key.as_str());
        let cxone_deadline = deadline.for_cxone();
        let existing = intake
            .get_provisioning(&id)
            .await
            .map_err(|e| storage_error("read the provisioning record", &e))?;
        let mut record = match existing {
            Some(record) if record.request_hash != hash => {
                return Err(ApiError::unprocessable(
                    "this Idempotency-Key provisioned another campaign request; use a new key",
                )
                .with_details(vec![json!({"header": "Idempotency-Key",
                    "problem": "reused with a different request"})]))
            }
            Some(record) => record,
            None => {
                self.preflight(&wanted, &cxone_deadline).await?;
                let record = ProvisioningRecord {
                    request_hash: hash.to_owned(),
                    skill_name: wanted.skill_name.clone(),
                    skill_id: None,
                    steps_done: Vec::new(),
                    started_at: request.time,
                    updated_at: request.time,
                    last_error: None,
                    results: Default::default(),
                };
                intake
                    .put_provisioning(&id, &record)
                    .await
                    .map_err(|e| storage_error("record the provisioning request", &e))?;
                record
            }
        };
        let outcome = self
            .run_steps(request, key, &wanted, &mut record, &intake, &id, deadline)
            .await;
        record.updated_at = request.time;
        let (audit_outcome, why) = match &outcome {
            Ok(()) => ("written", "operator provisioned a campaign".to_owned()),
            Err(f) => (
                "failed",
                format!(
                    "provisioning stopped at step {}: {}",
                    f.step, f.error.message
                ),
            ),
        };
        record.last_error = outcome.as_ref().err().map(|f| f.error.message.clone());
        if let Err(e) = intake.put_provisioning(&id, &record).await {
            warn!(error = %e, "could not update the provisioning record");
        }
        let summary = summary(&record, &wanted);
        self.audit_step(
            request,
            record.skill_id,
            AUDIT_ACTION,
            audit_outcome,
            why,
            summary.clone(),
        )
        .await;
        match outcome {
            Ok(()) => {
                info!(skill_id = record.skill_id, "campaign provisioned");
                Ok(summary)
            }
            Err(failure) => {
                let mut error = failure.error;
                error.message = format!(
                    "provisioning stopped at step {}: {}; what exists is in details; retry with \
                     the same Idempotency-Key to resume from there",
                    failure.step, error.message
                );
                let mut details = vec![summary];
                details.append(&mut error.details);
                Err(error.with_details(details))
            }
        }
    }

    /// The checks before anything is written: the DNC group and the name.
    async fn preflight(
        &self,
        wanted: &ProvisioningRequest,
        deadline: &Deadline,
    ) -> Result<(), ApiError> {
        self.check_dnc_group(wanted.dnc_group_id, deadline).await?;
        let taken = self
            .cxone
            .find_skills(&wanted.skill_name, deadline)
            .await
            .map_err(|e| cxone_error("looking the skill name up", &e))?;
        if let Some(skill) = taken
            .iter()
            .find(|s| s.skill_name.eq_ignore_ascii_case(&wanted.skill_name))
        {
            return Err(ApiError::unprocessable(format!(
                "a skill named {:?} already exists in CXone (skill {}): choose a unique name",
                wanted.skill_name, skill.skill_id
            ))
            .with_details(vec![json!({"field": "skillName", "problem": "taken",
                                       "skillId": skill.skill_id})]));
        }
        Ok(())
    }

    async fn check_dnc_group(&self, group_id: i64, deadline: &Deadline) -> Result<(), ApiError> {
        let groups = self
            .cxone
            .dnc_groups(deadline)
            .await
            .map_err(|e| cxone_error("reading the DNC groups", &e))?;
        match groups.iter().find(|g| g.dnc_group_id == group_id) {
            Some(g) if g.is_effective() => Ok(()),
            found => Err(ApiError::unprocessable(format!(
                "DNC group {group_id} {}: the campaign must be scrubbed by an active DNC list",
                if found.is_some() {
                    "is inactive or removed"
                } else {
                    "does not exist"
                }
            ))
            .with_details(vec![
                json!({"field": "dncGroupId", "rule": "dnc-protection",
                                       "dncGroupId": group_id}),
            ])),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_steps(
        &self,
        request: &ApiRequest,
        key: &IdempotencyKey,
        wanted: &ProvisioningRequest,
        record: &mut ProvisioningRecord,
        intake: &IntakeStore,
        id: &str,
        deadline: &Deadline,
    ) -> Result<(), StepFailure> {
        let cxone_deadline = deadline.for_cxone();
        for step in STEPS {
            if record.done(step) {
                continue;
            }
            let result = match step {
                "skill" => {
                    self.step_skill(request, wanted, record, &cxone_deadline)
                        .await
                }
                _ => {
                    let skill = record
                        .skill_id
                        .ok_or_else(|| at(step)(ApiError::internal()))?;
                    match step {
                        "generalSettings" => {
                            self.step_settings(request, wanted, skill, &cxone_deadline)
                                .await
                        }
                        "dncGroup" => self.step_dnc(request, wanted, skill, &cxone_deadline).await,
                        "schedule" => {
                            self.step_schedule(request, key, wanted, skill, deadline)
                                .await
                        }
                        _ => self.step_config(request, wanted, skill, deadline).await,
                    }
                }
            };
            let value = result.map_err(at(step))?;
            record.results.insert(step.to_owned(), value);
            record.steps_done.push(step.to_owned());
            intake
                .put_provisioning(id, record)
                .await
                .map_err(|e| at(step)(storage_error("record the step just done", &e)))?;
        }
        Ok(())
    }

    async fn step_skill(
        &self,
        request: &ApiRequest,
        wanted: &ProvisioningRequest,
        record: &mut ProvisioningRecord,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        // A creation whose answer was lost, or a crash after it: the unique
        // name finds the skill this key created.
        let found = self
            .cxone
            .find_skills(&wanted.skill_name, deadline)
            .await
            .map_err(|e| cxone_error("looking the new skill up by name", &e))?
            .into_iter()
            .filter(|s| s.skill_name == wanted.skill_name)
            .max_by_key(|s| s.skill_id);
        let (skill, how) = match found {
            Some(skill) => (skill, "found by its name (created by an earlier attempt)"),
            None => {
                let mut new = NewSkill::personal_connection(wanted.skill_name.clone());
                new.campaign_id = wanted.campaign_id;
                new.caller_id_override = Some(wanted.caller_id.clone());
                let skill = self
                    .cxone
                    .create_skill_and_find(&new, deadline)
                    .await
                    .map_err(|e| cxone_error("creating the skill", &e))?;
                (skill, "created")
            }
        };
        record.skill_id = Some(skill.skill_id);
        let after = json!({"skillId": skill.skill_id, "skillName": skill.skill_name,
                           "outboundStrategy": skill.outbound_strategy,
                           "callerId": wanted.caller_id, "campaignId": wanted.campaign_id});
        self.audit_step(
            request,
            Some(skill.skill_id),
            "campaign.provision.skill",
            "written",
            format!("outbound Personal Connection skill {how}"),
            after.clone(),
        )
        .await;
        Ok(after)
    }

    async fn step_settings(
        &self,
        request: &ApiRequest,
        wanted: &ProvisioningRequest,
        skill: i64,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let fields = initial_settings(&wanted.config);
        let before = self
            .cxone
            .general_settings(skill, deadline)
            .await
            .map_err(|e| cxone_error("reading the new skill's general settings", &e))?;
        self.cxone
            .update_general_settings_fields(skill, &fields, deadline)
            .await
            .map_err(|e| cxone_error("writing the new skill's general settings", &e))?;
        let after = self
            .cxone
            .general_settings(skill, deadline)
            .await
            .map_err(|e| cxone_error("reading back the general settings", &e))?;
        let kept = after.maximum_ratio == fields["maximumRatio"].as_f64()
            && after.abandon_rate_threshold == fields["abandonRateThreshold"].as_f64()
            && after.maximum_ringing_duration.map(u64::from)
                == fields["maximumRingingDuration"].as_u64();
        if !kept {
            return Err(ApiError::bad_gateway(
                "CXone did not keep the general settings written (read-back differs)",
            )
            .with_details(vec![json!({"written": fields, "readBack": after})]));
        }
        let after = json!(fields);
        self.audit_step_with(
            request,
            skill,
            "campaign.provision.settings",
            json!(before),
            after.clone(),
            settings_reason(),
        )
        .await;
        Ok(after)
    }

    async fn step_dnc(
        &self,
        request: &ApiRequest,
        wanted: &ProvisioningRequest,
        skill: i64,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let group = wanted.dnc_group_id;
        self.check_dnc_group(group, deadline).await?;
        self.cxone
            .add_dnc_scrubbed_skill(group, skill, deadline)
            .await
            .map_err(|e| cxone_error("linking the DNC group", &e))?;
        let scrubbed = self
            .cxone
            .dnc_scrubbed_skills(group, deadline)
            .await
            .map_err(|e| cxone_error("reading back the DNC group's scrubbed skills", &e))?;
        if !scrubbed.iter().any(|s| s.skill_id == skill) {
            return Err(ApiError::bad_gateway(format!(
                "CXone did not add skill {skill} to DNC group {group}'s scrubbed skills"
            )));
        }
        let after = json!({"dncGroupId": group, "scrubbedSkillId": skill});
        self.audit_step_with(
            request,
            skill,
            "campaign.provision.dnc",
            Value::Null,
            after.clone(),
            format!("DNC group {group} scrubs the new skill's calls"),
        )
        .await;
        Ok(after)
    }

    async fn step_schedule(
        &self,
        request: &ApiRequest,
        key: &IdempotencyKey,
        wanted: &ProvisioningRequest,
        skill: i64,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let deployer = Deployer {
            cxone: self.cxone.clone(),
            state: self.state.clone(),
            audit: self.audit.clone(),
            idempotency: HttpIdempotency::new(
                self.idempotency.clone(),
                schedule_deployer::FUNCTION_NAME,
            ),
            clock: unix_now_ms,
        };
        let call = ScheduleCall {
            skill_id: skill,
            key: key.clone(),
            body: wanted.schedule_body.clone(),
            time: request.time,
            actor: request.actor.clone(),
            request_id: request.request_id.clone(),
        };
        deployer.deploy(&call, deadline).await
    }

    async fn step_config(
        &self,
        request: &ApiRequest,
        wanted: &ProvisioningRequest,
        skill: i64,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let existing = self
            .state
            .get_config(skill)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?;
        if let Some(stored) = existing {
            return Ok(json!(stored));
        }
        let mut envelope = request.envelope.clone();
        envelope.body = json!(wanted.config).to_string().into_bytes();
        let put = ApiRequest {
            route: Route::PutConfig,
            skill_id: skill,
            via_ui: request.via_ui,
            time: request.time,
            actor: request.actor.clone(),
            request_id: request.request_id.clone(),
            envelope,
            content_type: Some("application/json".into()),
        };
        self.put_config(&put, deadline).await?;
        self.state
            .get_config(skill)
            .await
            .map_err(|e| storage_error("read the campaign config back", &e))
            .map(|c| json!(c))
    }

    async fn audit_step(
        &self,
        request: &ApiRequest,
        skill: Option<i64>,
        action: &str,
        outcome: &str,
        why: String,
        after: Value,
    ) {
        let record = AuditRecord {
            skill_id: skill.unwrap_or(0),
            at: request.time,
            actor: request.actor.clone(),
            action: action.into(),
            before: Value::Null,
            after,
            why,
            outcome: outcome.into(),
            request_id: request.request_id.clone(),
            details: json!({"route": ROUTE}),
        };
        if let Err(e) = self.audit.append(&record).await {
            warn!(error = %e, action, "could not audit a provisioning step");
        }
    }

    async fn audit_step_with(
        &self,
        request: &ApiRequest,
        skill: i64,
        action: &str,
        before: Value,
        after: Value,
        why: String,
    ) {
        let record = AuditRecord {
            skill_id: skill,
            at: request.time,
            actor: request.actor.clone(),
            action: action.into(),
            before,
            after,
            why,
            outcome: "written".into(),
            request_id: request.request_id.clone(),
            details: json!({"route": ROUTE}),
        };
        if let Err(e) = self.audit.append(&record).await {
            warn!(error = %e, action, "could not audit a provisioning step");
        }
    }
}

/// What exists and what is missing: the answer's body (and a failure's first detail).
fn summary(record: &ProvisioningRecord, wanted: &ProvisioningRequest) -> Value {
    let pending: Vec<&str> = STEPS.iter().copied().filter(|s| !record.done(s)).collect();
    json!({
        "skillId": record.skill_id,
        "skillName": record.skill_name,
        "dncGroupId": wanted.dnc_group_id,
        "enabled": false,
        "stepsDone": record.steps_done,
        "stepsPending": pending,
        "results": record.results,
        "next": match record.skill_id {
            Some(id) if pending.is_empty() => format!(
                "the campaign is provisioned and disabled: enable it with PUT /campaigns/{id}/config \
                 (\"enabled\": true) once its contacts are uploaded"),
            _ => "retry with the same Idempotency-Key to resume".to_owned(),
        },
    })
}
