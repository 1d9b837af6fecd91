//! `webhook-ingest`: the signed event intake behind API Gateway (HTTP API,
//! payload v2) `POST /webhooks/cxone` (docs/cxone-api.md, "Webhook events
//! into the bundle").
//!
//! Per request, in this order:
//! 1. the body's size (after API Gateway's base64 decoding, which the runtime
//!    does before the handler runs): over 256 KiB is a 413, before anything
//!    else is looked at;
//! 2. the `X-Signature` header, against the webhook secrets, with `t` within
//!    300 s of the request time (`requestContext.timeEpoch`, never the wall
//!    clock), *before* the body is parsed: any failure is the same generic 401
//!    (the reason is logged at info level, never a secret or a signature); when
//!    no secret matches, the secret is re-read once (rate-limited) in case it
//!    was rotated;
//! 3. the body: one event or `{"events": [...]}` (1 to 500): 400 naming the
//!    field and the event's index;
//! 4. storage: dedupe records and per-minute counters, exactly once
//!    ([`shared::store::events`]); 202 `{"accepted": n, "duplicates": m}` only
//!    once everything is durable, 503 otherwise (the sender retries, and the
//!    retry counts what was stored as duplicates).
//!
//! EMF metrics per request: `WebhookAccepted`, `WebhookDuplicates`,
//! `WebhookRejected` (with `WebhookRejectedSignature`, `...Body`, `...TooLarge`)
//! and `WebhookStorageFailures`. No input, however malformed, panics.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use shared::api_error::ApiError;
use shared::deadline::Deadline;
use shared::invocation::Invocation;
use shared::observability::{Metrics, Unit};
use shared::secret::SecretSource;
use shared::store::events::{EventStore, RecordOutcome};
use shared::webhook::{
    parse_body, VerifyError, WebhookVerifier, DEFAULT_MIN_REFRESH_INTERVAL, MAX_BODY_BYTES,
    SIGNATURE_HEADER,
};
use tracing::Instrument;

/// The function's name (the `Function` metric dimension).
pub const FUNCTION_NAME: &str = "webhook-ingest";
/// Time budget when the request carries no Lambda context (tests, tools).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(25);
/// Time kept in hand before the invocation deadline to answer 503 in time.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

/// The function's state, built once per cold start.
pub struct WebhookIngest {
    verifier: WebhookVerifier,
    events: EventStore,
    default_budget: Duration,
}

impl std::fmt::Debug for WebhookIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookIngest")
            .field("table", &self.events.table())
            .finish_non_exhaustive()
    }
}

/// What happened to one request (for the metrics line).
#[derive(Default)]
struct Tally {
    accepted: usize,
    duplicates: usize,
    rejected_signature: bool,
    rejected_body: bool,
    rejected_too_large: bool,
    storage_failed: bool,
}

impl WebhookIngest {
    /// The handler's state: secrets from `secrets` (re-read at most once a
    /// minute when no signature matches), events into `events`.
    pub fn new(secrets: Arc<dyn SecretSource>, events: EventStore) -> Self {
        Self::with_refresh_interval(secrets, events, DEFAULT_MIN_REFRESH_INTERVAL)
    }

    /// As [`new`](Self::new), with another least interval between secret re-reads.
    pub fn with_refresh_interval(
        secrets: Arc<dyn SecretSource>,
        events: EventStore,
        interval: Duration,
    ) -> Self {
        Self {
            verifier: WebhookVerifier::new(secrets, interval),
            events,
            default_budget: DEFAULT_BUDGET,
        }
    }

    /// The time budget of a request that carries no Lambda context (default
    /// [`DEFAULT_BUDGET`]); in Lambda the invocation's deadline is used.
    pub fn with_default_budget(mut self, budget: Duration) -> Self {
        self.default_budget = budget;
        self
    }

    /// The event store (the failover checker and tests read counters through it).
    pub fn events(&self) -> &EventStore {
        &self.events
    }

    /// Answers one request. Never fails and never panics: every problem is an
    /// HTTP answer.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let request_time_ms = request_time_ms(&request);
        let invocation = invocation_of(&request, self.default_budget);
        let span = tracing::info_span!("webhook", request_id = %invocation.request_id);
        let mut tally = Tally::default();
        let response = self
            .serve(&request, request_time_ms, &invocation.deadline, &mut tally)
            .instrument(span)
            .await;
        emit_metrics(&tally, request_time_ms.filter(|t| *t > 0).unwrap_or(0));
        response
    }

    async fn serve(
        &self,
        request: &Request,
        request_time_ms: Option<i64>,
        deadline: &Deadline,
        tally: &mut Tally,
    ) -> Response<Body> {
        if request.method() != lambda_http::http::Method::POST {
            return error_response(&ApiError::method_not_allowed("use POST"));
        }
        let body: &[u8] = match request.body() {
            Body::Text(text) => text.as_bytes(),
            Body::Binary(bytes) => bytes,
            _ => &[],
        };
        if body.len() > MAX_BODY_BYTES {
            tally.rejected_too_large = true;
            tracing::info!(
                bytes = body.len(),
                limit = MAX_BODY_BYTES,
                "webhook body too large"
            );
            return error_response(&ApiError::too_large(MAX_BODY_BYTES));
        }

        let header = signature_header(request);
        match self
            .verifier
            .verify(header.as_deref(), body, request_time_ms.unwrap_or(0))
            .await
        {
            Ok(verified) => {
                if verified.after_refresh {
                    tracing::info!("webhook signature matched after re-reading the secret");
                }
            }
            Err(VerifyError::Rejected(reason)) => {
                tally.rejected_signature = true;
                // The reason names which check failed, never a secret or signature value.
                tracing::info!(reason = %reason, "webhook signature rejected");
                return error_response(&ApiError::unauthorized());
            }
            Err(VerifyError::SecretUnavailable(e)) => {
                tally.storage_failed = true;
                tracing::error!(error = %e, "webhook secret unavailable");
                return error_response(&ApiError::unavailable(
                    "temporarily unavailable; retry later",
                ));
            }
        }

        let events = match parse_body(body) {
            Ok(events) => events,
            Err(e) => {
                tally.rejected_body = true;
                let message = e.message();
                tracing::info!(problem = %message, "webhook body rejected");
                return error_response(&ApiError::bad_request(message).with_details(e.details()));
            }
        };

        let received_at = request_time_ms
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let budget = deadline.remaining().saturating_sub(DEADLINE_MARGIN);
        let stored = tokio::time::timeout(budget, self.events.record(&events, received_at)).await;
        match stored {
            Ok(Ok(RecordOutcome {
                accepted,
                duplicates,
            })) => {
                tally.accepted = accepted;
                tally.duplicates = duplicates;
                tracing::info!(
                    events = events.len(),
                    accepted,
                    duplicates,
                    "webhook events stored"
                );
                json_response(
                    202,
                    &json!({"accepted": accepted, "duplicates": duplicates}),
                )
            }
            Ok(Err(e)) => {
                tally.storage_failed = true;
                tracing::error!(error = %e, events = events.len(), "storing webhook events failed");
                error_response(&ApiError::unavailable("events could not be stored; retry"))
            }
            Err(_) => {
                tally.storage_failed = true;
                tracing::error!(
                    events = events.len(),
                    "storing webhook events ran out of time"
                );
                error_response(&ApiError::unavailable(
                    "events could not be stored in time; retry",
                ))
            }
        }
    }
}

/// The Lambda handler: [`WebhookIngest::handle`], for `lambda_http::run`.
pub async fn handler(
    app: &WebhookIngest,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(app.handle(request).await)
}

/// API Gateway's `requestContext.timeEpoch` (Unix ms), when present.
pub fn request_time_ms(request: &Request) -> Option<i64> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.time_epoch > 0 => Some(ctx.time_epoch),
        _ => None,
    }
}

fn invocation_of(request: &Request, default_budget: Duration) -> Invocation {
    if let Some(ctx) = request.lambda_context_ref() {
        return Invocation::from_lambda(&ctx.request_id, ctx.deadline);
    }
    let id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    Invocation::new(
        id.unwrap_or_else(|| "local".to_owned()),
        Deadline::after(default_budget),
    )
}

/// Every `X-Signature` value, joined with `,` (API Gateway joins repeated
/// headers the same way). A value that is not text makes the header unusable.
fn signature_header(request: &Request) -> Option<String> {
    let mut values = request
        .headers()
        .get_all(SIGNATURE_HEADER)
        .iter()
        .peekable();
    values.peek()?;
    let mut joined = String::new();
    for value in values {
        let Ok(text) = value.to_str() else {
            return Some(String::new());
        };
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(text);
    }
    Some(joined)
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = Response::new(Body::Text(error.body()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(error.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn emit_metrics(tally: &Tally, timestamp_ms: i64) {
    let mut m = Metrics::for_function(FUNCTION_NAME);
    let rejected = tally.rejected_signature || tally.rejected_body || tally.rejected_too_large;
    m.put("WebhookAccepted", tally.accepted as f64, Unit::Count)
        .put("WebhookDuplicates", tally.duplicates as f64, Unit::Count)
        .put(
            "WebhookRejected",
            if rejected { 1.0 } else { 0.0 },
            Unit::Count,
        );
    if tally.rejected_signature {
        m.put("WebhookRejectedSignature", 1.0, Unit::Count);
    }
    if tally.rejected_body {
        m.put("WebhookRejectedBody", 1.0, Unit::Count);
    }
    if tally.rejected_too_large {
        m.put("WebhookRejectedTooLarge", 1.0, Unit::Count);
    }
    if tally.storage_failed {
        m.put("WebhookStorageFailures", 1.0, Unit::Count);
    }
    m.emit(timestamp_ms);
}
