//! The operator API: request parsing, routing, and the config routes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tracing::{info, warn, Instrument};

use shared::api_error::ApiError;
use shared::campaign_config::{CampaignConfig, ConfigRejection};
use shared::cxone::CxoneClient;
use shared::deadline::Deadline;
use shared::gateway::Envelope;
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::state::{StateStore, StoredConfig};

use crate::tenant;

/// Largest body the API accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The function's name, as actor when no IAM principal is known.
pub const FUNCTION_NAME: &str = "campaign-api";
/// The audit action of a config write.
pub const AUDIT_ACTION: &str = "config.put";

/// The API with its clients, built once per cold start.
pub struct Api {
    /// CXone client.
    pub cxone: Arc<CxoneClient>,
    /// State table.
    pub state: StateStore,
    /// Audit table.
    pub audit: AuditStore,
}

/// The routes this function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /campaigns/{skillId}/config`.
    GetConfig,
    /// `PUT /campaigns/{skillId}/config`.
    PutConfig,
}

/// A request, parsed from API Gateway's event.
#[derive(Debug)]
pub struct ApiRequest {
    /// Which route.
    pub route: Route,
    /// The campaign.
    pub skill_id: i64,
    /// Raw body bytes.
    pub body: Vec<u8>,
    /// API Gateway's request time (`requestContext.timeEpoch`).
    pub time: DateTime<Utc>,
    /// The IAM principal, or the function name.
    pub actor: String,
    /// The request id.
    pub request_id: String,
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    build(status, body.to_string())
}

fn build(status: u16, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The response for an error.
pub fn error_response(error: &ApiError) -> Response<Body> {
    build(error.status, error.body())
}

/// Parses API Gateway's request into an [`ApiRequest`] (routing included).
pub fn parse_request(request: &Request) -> Result<ApiRequest, ApiError> {
    let envelope = Envelope::of(request);
    let time = envelope.require_time()?;
    let (method, path) = (envelope.method.as_str(), envelope.path.as_str());
    let route = match (
        envelope.route_key.as_deref(),
        method,
        envelope.segments().as_slice(),
    ) {
        (Some("GET /campaigns/{skillId}/config"), _, _)
        | (_, "GET", ["campaigns", _, "config"]) => Route::GetConfig,
        (Some("PUT /campaigns/{skillId}/config"), _, _)
        | (_, "PUT", ["campaigns", _, "config"]) => Route::PutConfig,
        (_, _, ["campaigns", _, "config"]) => {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not allowed on {path}"
            )))
        }
        _ => return Err(ApiError::not_found(format!("no route for {method} {path}"))),
    };
    let skill_id = envelope.skill_id()?;
    if envelope.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    Ok(ApiRequest {
        route,
        skill_id,
        actor: envelope.actor_or(FUNCTION_NAME),
        body: envelope.body,
        time,
        request_id: envelope.request_id,
    })
}

impl Api {
    /// Serves one HTTP request; never fails (errors are responses).
    pub async fn handle(&self, request: Request, deadline: Deadline) -> Response<Body> {
        let parsed = match parse_request(&request) {
            Ok(parsed) => parsed,
            Err(e) => return error_response(&e),
        };
        let span =
            tracing::info_span!("campaign", skill_id = parsed.skill_id, route = ?parsed.route);
        let result = async {
            match parsed.route {
                Route::GetConfig => self.get_config(&parsed).await,
                Route::PutConfig => self.put_config(&parsed, &deadline).await,
            }
        }
        .instrument(span)
        .await;
        match result {
            Ok(response) => response,
            Err(e) => error_response(&e),
        }
    }

    async fn get_config(&self, request: &ApiRequest) -> Result<Response<Body>, ApiError> {
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
    async fn put_config(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let config =
            CampaignConfig::parse(&request.body, request.skill_id).map_err(|e| match e {
                ConfigRejection::Shape(message) => ApiError::bad_request(message),
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
