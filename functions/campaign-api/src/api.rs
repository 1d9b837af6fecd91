//! The operator API: the clients, the dispatch of each route to its
//! handler, and the JSON and HTML responses.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tracing::{warn, Instrument};

use failover_checker::FailoverChecker;
use shared::api_error::ApiError;
use shared::cxone::{CxoneClient, CxoneError};
use shared::deadline::Deadline;
use shared::idempotency::IdempotencyStore;
use shared::store::audit::AuditStore;
use shared::store::events::EventStore;
use shared::store::failover::FailoverStore;
use shared::store::state::StateStore;
use shared::store::StoreError;

use crate::routes::{parse_request, Route};

/// The API with its clients, built once per cold start.
pub struct Api {
    /// CXone client.
    pub cxone: Arc<CxoneClient>,
    /// State table: configs, leases, field records, guard and pause records.
    pub state: StateStore,
    /// Audit table.
    pub audit: AuditStore,
    /// Per-minute event counters (success rate over the failover window).
    pub events: EventStore,
    /// Failover records.
    pub failover: FailoverStore,
    /// Idempotency records of the routes that honour `Idempotency-Key`.
    pub idempotency: IdempotencyStore,
    /// The failover state machine, for the failback route.
    pub checker: FailoverChecker,
    /// The queue of large contact uploads (`CONTACT_INTAKE_QUEUE_URL`);
    /// without it every upload is checked within its request.
    pub intake_queue: Option<crate::contact_queue::IntakeQueue>,
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    with_type(status, body.to_string(), "application/json")
}

/// A response with `content_type`.
pub fn with_type(status: u16, body: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static(content_type),
    );
    response
}

/// The response for an error.
pub fn error_response(error: &ApiError) -> Response<Body> {
    with_type(error.status, error.body(), "application/json")
}

/// A 502 for a CXone failure (429 when CXone throttled us past our retries),
/// logged with its cause (the log line carries the request id); the answer
/// says in words what failed ([`cxone_failure_words`]), never the CXone or
/// transport message, and gets `requestId` at the response boundary.
pub fn cxone_error(what: &str, e: &CxoneError) -> ApiError {
    warn!(error = %e, what, "CXone call failed");
    if e.is_not_found() {
        return ApiError::not_found(format!("{what}: CXone has no such record"));
    }
    if matches!(e, CxoneError::RateLimited { .. }) {
        return ApiError::throttled(format!(
            "{what}: CXone is throttling requests; retry shortly"
        ));
    }
    ApiError::bad_gateway(format!("{what}: {}", cxone_failure_words(e)))
}

/// What went wrong with a CXone call, in words an operator can act on,
/// without CXone's or the SDK's message (which the log line keeps).
pub fn cxone_failure_words(e: &CxoneError) -> &'static str {
    match e {
        CxoneError::Auth { .. } | CxoneError::Secret(_) => {
            "CXone refused the bundle's credentials; check the CXone secret"
        }
        CxoneError::DeadlineExceeded { .. } | CxoneError::Timeout { .. } => {
            "CXone did not answer before the deadline; retry"
        }
        CxoneError::Unavailable { .. } | CxoneError::Transport { .. } => {
            "CXone is unavailable; retry later"
        }
        _ => "CXone failed; retry, and see the logs with the request id",
    }
}

/// A 503 for a storage failure, logged with its cause (the log line carries
/// the request id); the answer says what could not be done, never the
/// table, the ARN or the SDK's message.
pub fn storage_error(what: &str, e: &StoreError) -> ApiError {
    warn!(error = %e, what, "storage failed");
    ApiError::unavailable(format!("could not {what}; retry"))
}

/// A server-side failure's answer with `requestId` (the id the request's
/// log lines carry); any other answer unchanged.
pub fn stamp_request_id(mut response: Response<Body>, request_id: &str) -> Response<Body> {
    if let Body::Text(text) = response.body() {
        if let Some(stamped) =
            shared::api_error::stamp_request_id(response.status().as_u16(), text, request_id)
        {
            *response.body_mut() = Body::Text(stamped);
        }
    }
    response
}

impl Api {
    /// Takes the campaign's write lease until the invocation's deadline:
    /// 409 while another of the bundle's writers holds it, 503 when storage fails.
    pub(crate) async fn take_lease(
        &self,
        request: &crate::routes::ApiRequest,
        deadline: &Deadline,
    ) -> Result<shared::store::state::Lease, ApiError> {
        use shared::store::state::LeaseError;
        match self
            .state
            .acquire_lease(
                request.skill_id,
                &request.request_id,
                shared::idempotency::unix_now_ms(),
                deadline.epoch_ms(),
            )
            .await
        {
            Ok(lease) => Ok(lease),
            Err(LeaseError::Held { owner, .. }) => Err(ApiError::conflict(format!(
                "campaign {} is being written by {owner}; retry shortly",
                request.skill_id
            ))),
            Err(LeaseError::Store(e)) => Err(storage_error("take the campaign's lease", &e)),
        }
    }

    /// Serves one HTTP request; never fails (errors are responses).
    pub async fn handle(&self, request: Request, deadline: Deadline) -> Response<Body> {
        let parsed = match parse_request(&request) {
            Ok(parsed) => parsed,
            Err(e) => return error_response(&e),
        };
        let span = tracing::info_span!(
            "campaign",
            skill_id = parsed.skill_id,
            route = ?parsed.route,
            request_id = %parsed.request_id
        );
        let result = async {
            match parsed.route {
                Route::Dashboard | Route::DashboardAsset(_) => Ok(crate::dashboard::page(&parsed)),
                Route::ListCampaigns => self.list_campaigns(&parsed, &deadline).await,
                Route::Health => self.health(&parsed, &deadline).await,
                Route::GetConfig => self.get_config(&parsed).await,
                Route::PutConfig => self.put_config(&parsed, &deadline).await,
                Route::Pause | Route::Resume | Route::Failback => {
                    self.control(&parsed, &deadline).await
                }
                Route::PutPacing => self.put_pacing(&parsed, &deadline).await,
                Route::Audit => self.audit_trail(&parsed).await,
                Route::ProvisionCampaign => self.provision(&parsed, &deadline).await,
                Route::UploadContacts => self.upload_contacts(&parsed, &deadline).await,
                Route::UploadStatus => self.upload_status(&parsed).await,
            }
        }
        .instrument(span)
        .await;
        let response = match result {
            Ok(response) => response,
            Err(e) => error_response(&e),
        };
        stamp_request_id(response, &parsed.request_id)
    }
}
