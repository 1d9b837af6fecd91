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
//! `WebhookRejected` (with `WebhookRejectedSignature`, `...Body`, `...TooLarge`),
//! `WebhookStorageFailures`, and the write path's round trips:
//! `WebhookTransactions` (`TransactWriteItems` sent, about one per 49 events)
//! and `WebhookTransactionConflicts` (of those, cancelled by a concurrent
//! writer; near zero while the counters' shards keep writers apart). No
//! input, however malformed, panics.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use shared::api_error::{stamp_request_id, ApiError};
use shared::config::ConfigError;
use shared::deadline::Deadline;
use shared::invocation::Invocation;
use shared::observability::{Metrics, Unit};
use shared::secret::{
    SecretError, SecretSource, SecretsManagerSource, WebhookSecrets, DEFAULT_SECRET_TTL,
    MIN_WEBHOOK_SECRET_BYTES,
};
use shared::store::events::{EventStore, RecordOutcome};
use shared::webhook::{
    parse_body, Event, VerifyError, WebhookVerifier, DEFAULT_MIN_REFRESH_INTERVAL, MAX_BODY_BYTES,
    SIGNATURE_HEADER,
};
use tracing::Instrument;

/// The function's name (the `Function` metric dimension).
pub const FUNCTION_NAME: &str = "webhook-ingest";
/// Time budget when the request carries no Lambda context (tests, tools).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(25);
/// Time kept in hand before the invocation deadline to answer 503 in time.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

/// The variable naming the webhook signing secret (name or ARN).
pub const WEBHOOK_SECRET_ID_VAR: &str = "WEBHOOK_SECRET_ID";
/// The variable naming the state table (dedupe records and counters).
pub const STATE_TABLE_VAR: &str = "STATE_TABLE";

/// webhook-ingest's settings: the webhook signing secret and the state
/// table. Deliberately not [`shared::config::Config`]: this function never
/// reads the CXone secret (its role may not), so it needs no
/// `CXONE_SECRET_ID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestConfig {
    /// `WEBHOOK_SECRET_ID`: name or ARN of the webhook signing secret
    /// (`{"webhookSecrets": [...]}`, docs/architecture.md).
    pub webhook_secret_id: String,
    /// `STATE_TABLE`.
    pub state_table: String,
}

impl IngestConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            webhook_secret_id: required(WEBHOOK_SECRET_ID_VAR)?,
            state_table: required(STATE_TABLE_VAR)?,
        })
    }
}

/// Why webhook-ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The environment is incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The webhook signing secret could not be read, or is refused (not
    /// JSON of the documented shape, no secret, an empty or short one).
    #[error(
        "webhook signing secret {secret_id} ({WEBHOOK_SECRET_ID_VAR}) is unusable: {source}; \
         it must be JSON {{\"webhookSecrets\": [\"...\"]}} with at least one secret of at \
         least {MIN_WEBHOOK_SECRET_BYTES} bytes"
    )]
    Secret {
        /// The secret's name or ARN.
        secret_id: String,
        /// What is wrong (never a secret value).
        #[source]
        source: SecretError,
    },
}

/// What webhook-ingest builds once per cold start: its settings, the
/// DynamoDB client and the webhook signing secret (cached). The shape of
/// [`shared::wiring::Deps`] without its CXone client and the CXone secret:
/// this function never calls CXone, so it reads neither.
#[derive(Clone)]
pub struct Deps {
    /// Settings from the environment.
    pub config: IngestConfig,
    /// DynamoDB client.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// The webhook signing secrets, cached.
    pub secrets: Arc<dyn SecretSource<WebhookSecrets>>,
}

impl Deps {
    /// Reads the environment, builds the AWS clients and reads the signing
    /// secret once, so that a missing, malformed, empty or short secret
    /// stops the function at start with the reason ([`StartupError`]).
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = IngestConfig::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let deps = Self::build(config, &sdk);
        deps.check_secret().await?;
        Ok(deps)
    }

    /// Builds the clients from `config` and an AWS SDK configuration.
    pub fn build(config: IngestConfig, sdk: &aws_config::SdkConfig) -> Self {
        let secrets: Arc<dyn SecretSource<WebhookSecrets>> =
            Arc::new(SecretsManagerSource::webhook(
                aws_sdk_secretsmanager::Client::new(sdk),
                config.webhook_secret_id.clone(),
                DEFAULT_SECRET_TTL,
            ));
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            config,
            dynamo,
            secrets,
        }
    }

    /// Reads the signing secret (and caches it): an error says why it is unusable.
    pub async fn check_secret(&self) -> Result<(), StartupError> {
        match self.secrets.current().await {
            Ok(_) => Ok(()),
            Err(source) => Err(StartupError::Secret {
                secret_id: self.config.webhook_secret_id.clone(),
                source,
            }),
        }
    }

    /// The event store (dedupe records and counters, in the state table).
    pub fn events(&self) -> EventStore {
        EventStore::new(self.dynamo.clone(), self.config.state_table.clone())
    }
}

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
    transactions: usize,
    conflicts: usize,
    rejected_signature: bool,
    rejected_body: bool,
    rejected_too_large: bool,
    storage_failed: bool,
}

impl WebhookIngest {
    /// The handler's state over clients built once per cold start (see
    /// [`Deps`]).
    pub fn from_deps(deps: &Deps) -> Self {
        Self::new(deps.secrets.clone(), deps.events())
    }

    /// The handler's state: secrets from `secrets` (re-read at most once a
    /// minute when no signature matches), events into `events`.
    pub fn new(secrets: Arc<dyn SecretSource<WebhookSecrets>>, events: EventStore) -> Self {
        Self::with_refresh_interval(secrets, events, DEFAULT_MIN_REFRESH_INTERVAL)
    }

    /// As [`new`](Self::new), with another least interval between secret re-reads.
    pub fn with_refresh_interval(
        secrets: Arc<dyn SecretSource<WebhookSecrets>>,
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
        let mut response = self
            .serve(&request, request_time_ms, &invocation.deadline, &mut tally)
            .instrument(span)
            .await;
        emit_metrics(&tally, request_time_ms.filter(|t| *t > 0).unwrap_or(0));
        // A 5xx names the request id its log line carries (never the detail).
        if let Body::Text(text) = response.body() {
            if let Some(stamped) =
                stamp_request_id(response.status().as_u16(), text, &invocation.request_id)
            {
                *response.body_mut() = Body::Text(stamped);
            }
        }
        response
    }

    /// One request, in the module doc's order: the body's size
    /// (`accept_body`), the signature (`verify`), the body (`parse_events`),
    /// storage (`store`). The first step that fails answers.
    async fn serve(
        &self,
        request: &Request,
        request_time_ms: Option<i64>,
        deadline: &Deadline,
        tally: &mut Tally,
    ) -> Response<Body> {
        let body = match accept_body(request, tally) {
            Ok(body) => body,
            Err(response) => return response,
        };
        if let Err(response) = self.verify(request, body, request_time_ms, tally).await {
            return response;
        }
        let events = match parse_events(body, tally) {
            Ok(events) => events,
            Err(response) => return response,
        };
        self.store(&events, request_time_ms, deadline, tally).await
    }

    /// Checks the `X-Signature` header against the webhook secrets, with the
    /// request's time (never the wall clock): any failure is the same
    /// generic 401; an unreadable secret is 503.
    async fn verify(
        &self,
        request: &Request,
        body: &[u8],
        request_time_ms: Option<i64>,
        tally: &mut Tally,
    ) -> Result<(), Response<Body>> {
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
                Ok(())
            }
            Err(VerifyError::Rejected(reason)) => {
                tally.rejected_signature = true;
                // The reason names which check failed, never a secret or signature value.
                tracing::info!(reason = %reason, "webhook signature rejected");
                Err(error_response(&ApiError::unauthorized()))
            }
            Err(VerifyError::SecretUnavailable(e)) => {
                tally.storage_failed = true;
                tracing::error!(error = %e, "webhook secret unavailable");
                Err(error_response(&ApiError::unavailable(
                    "could not read the webhook signing secret; retry later",
                )))
            }
        }
    }

    /// Stores the events (dedupe records and counters) within the time
    /// left less [`DEADLINE_MARGIN`]: 202 with what was accepted and what
    /// was a duplicate, 503 when storage failed or ran out of time.
    async fn store(
        &self,
        events: &[Event],
        request_time_ms: Option<i64>,
        deadline: &Deadline,
        tally: &mut Tally,
    ) -> Response<Body> {
        let received_at = request_time_ms
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let budget = deadline.remaining().saturating_sub(DEADLINE_MARGIN);
        let stored = tokio::time::timeout(budget, self.events.record(events, received_at)).await;
        match stored {
            Ok(Ok(RecordOutcome {
                accepted,
                duplicates,
                transactions,
                conflicts,
            })) => {
                tally.accepted = accepted;
                tally.duplicates = duplicates;
                tally.transactions = transactions;
                tally.conflicts = conflicts;
                tracing::info!(
                    events = events.len(),
                    accepted,
                    duplicates,
                    transactions,
                    conflicts,
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

/// The request's body, if it is a `POST` within [`MAX_BODY_BYTES`] (405 or
/// 413 otherwise, before anything else is looked at).
// The error is the early answer (an HTTP response), returned once.
#[allow(clippy::result_large_err)]
fn accept_body<'r>(request: &'r Request, tally: &mut Tally) -> Result<&'r [u8], Response<Body>> {
    if request.method() != lambda_http::http::Method::POST {
        return Err(error_response(&ApiError::method_not_allowed("use POST")));
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
        return Err(error_response(&ApiError::too_large(MAX_BODY_BYTES)));
    }
    Ok(body)
}

/// The body's events, or 400 naming the field and the event's index.
// The error is the early answer (an HTTP response), returned once.
#[allow(clippy::result_large_err)]
fn parse_events(body: &[u8], tally: &mut Tally) -> Result<Vec<Event>, Response<Body>> {
    parse_body(body).map_err(|e| {
        tally.rejected_body = true;
        let message = e.message();
        tracing::info!(problem = %message, "webhook body rejected");
        error_response(&ApiError::bad_request(message).with_details(e.details()))
    })
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
            "WebhookTransactions",
            tally.transactions as f64,
            Unit::Count,
        )
        .put(
            "WebhookTransactionConflicts",
            tally.conflicts as f64,
            Unit::Count,
        )
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
