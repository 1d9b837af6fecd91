//! `GET` and `PUT /campaigns/{skillId}/config`: the only way configs are written.
//!
//! A `PUT` is checked in order: the body ([`shared::campaign_config`]: 400
//! for shape, 422 for values); the campaign's skill in CXone ([`crate::tenant`]:
//! 404 unknown, 422 not outbound Personal Connection); the failover backup,
//! if any (422 naming `failover.backupSkillId` when it does not exist, is not
//! outbound Personal Connection or is not scrubbed by an active DNC group).
//! The config and its audit record are then written in one DynamoDB
//! transaction (409 when the config changed in between, 503 when storage
//! fails; either way nothing is written).

use lambda_http::{Body, Response};
use serde_json::{json, Value};
use tracing::{info, warn};

use shared::api_error::ApiError;
use shared::campaign_config::{CampaignConfig, ConfigRejection};
use shared::deadline::Deadline;
use shared::store::audit::AuditRecord;
use shared::store::state::StoredConfig;

use crate::api::{json_response, Api};
use crate::routes::ApiRequest;
use crate::tenant;

/// The audit action of a config write.
pub const AUDIT_ACTION: &str = "config.put";

impl Api {
    pub(crate) async fn get_config(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let stored = self
            .state
            .get_config(request.skill_id)
            .await
            .map_err(|e| {
                warn!(error = %e, "state read failed");
                ApiError::unavailable("could not read the campaign config; retry")
            })?
            .ok_or_else(|| {
                ApiError::not_found(format!("campaign {} has no config", request.skill_id))
            })?;
        Ok(json_response(200, &json!(stored)))
    }

    /// Validates the body, then the skills in CXone (under the CXone share
    /// of the deadline), then writes the config and its audit record in one
    /// transaction.
    pub(crate) async fn put_config(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let config =
            CampaignConfig::parse(request.body(), request.skill_id).map_err(|e| match e {
                ConfigRejection::Shape(problem) => {
                    ApiError::bad_request(format!("invalid config: {problem}"))
                        .with_details(vec![problem.detail()])
                }
                ConfigRejection::Values(problems) => {
                    ApiError::unprocessable("the config has unlawful or out-of-range values")
                        .with_details(problems.iter().map(|p| json!(p)).collect())
                }
            })?;
        // CXone gets the deadline less the time kept for the DynamoDB writes.
        let cxone_deadline = deadline.for_cxone();
        tenant::check_primary(&self.cxone, request.skill_id, &cxone_deadline).await?;
        if let Some(failover) = &config.failover {
            tenant::check_backup(&self.cxone, failover.backup_skill_id, &cxone_deadline).await?;
        }
        let storage = |e: shared::store::StoreError| {
            warn!(error = %e, "state write failed");
            ApiError::unavailable("could not store the campaign config; nothing was written; retry")
        };
        let previous = self
            .state
            .get_config(request.skill_id)
            .await
            .map_err(storage)?;
        let next = StoredConfig::next(
            request.skill_id,
            &config,
            previous.as_ref(),
            &request.actor,
            request.time,
        );
        let record = AuditRecord {
            skill_id: request.skill_id,
            at: request.time,
            actor: request.actor.clone(),
            action: AUDIT_ACTION.into(),
            before: previous.as_ref().map_or(Value::Null, |p| json!(p.config)),
            after: json!(config),
            why: "operator changed the campaign config".into(),
            outcome: "written".into(),
            request_id: request.request_id.clone(),
            details: json!({"version": next.version}),
        };
        let audit = self.audit.put_request(&record).map_err(storage)?;
        let stored = self
            .state
            .put_config_with_audit(&next, audit)
            .await
            .map_err(storage)?
            .ok_or_else(|| {
                ApiError::conflict(
                    "the config changed while this request was applied; nothing was written; retry",
                )
            })?;
        info!(
            version = stored.version,
            "campaign config written with its audit record"
        );
        Ok(json_response(200, &json!(stored)))
    }
}
