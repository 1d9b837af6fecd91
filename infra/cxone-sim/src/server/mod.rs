//! HTTP layer: the CXone API, the token endpoint and discovery, the admin
//! API, and the middleware that checks auth, injects faults and logs requests.
//!
//! One file per resource: `auth` (discovery and tokens), `skills`,
//! `parameters` (general, schedule and time-zone settings), `agents`,
//! `dnc`, `lists` (calling lists and upload jobs) and `admin` (the
//! unauthenticated test API); `gatekeeper` is the middleware in front of
//! them all. This file holds the shared state handle, the error body, the
//! small parsers and the router.

mod admin;
mod agents;
mod auth;
mod dnc;
mod gatekeeper;
mod lists;
mod parameters;
mod skills;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::state::SimState;

/// Shared handle to the simulator's state.
#[derive(Clone)]
pub struct App {
    inner: Arc<Mutex<SimState>>,
    /// Serialises clock advances and webhook deliveries.
    delivery: Arc<tokio::sync::Mutex<()>>,
    /// The webhook's HTTP client.
    http: reqwest::Client,
}

impl App {
    /// Wraps a state.
    pub fn new(state: SimState) -> App {
        App {
            inner: Arc::new(Mutex::new(state)),
            delivery: Arc::new(tokio::sync::Mutex::new(())),
            http: reqwest::Client::new(),
        }
    }

    /// Locks the state (a poisoned lock is still usable: every mutation is
    /// complete before anything that could panic).
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ----- errors ---------------------------------------------------------------

/// An error answered with CXone's error body
/// `{error, error_description, message, code, correlationId}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            message: message.into(),
        }
    }
    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": self.message,
            "message": self.message,
            "code": self.status.as_u16(),
            "correlationId": uuid::Uuid::new_v4().to_string(),
        });
        (self.status, Json(body)).into_response()
    }
}

/// What a CXone API handler answers.
type ApiResult = Result<Response, ApiError>;

/// `200 OK` with `v` as the JSON body.
fn ok(v: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(v)).into_response())
}

/// The admin API's error body `{error, message}`.
fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": status.canonical_reason().unwrap_or("error"), "message": message.into()}))).into_response()
}

/// The token endpoint's error body `{error, errorDescription}`.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "errorDescription": description})),
    )
        .into_response()
}

/// `404` for a skill id the tenant does not have.
fn unknown_skill(id: i64) -> ApiError {
    ApiError::not_found(format!("Skill {id} not found"))
}

// ----- small parsers ---------------------------------------------------------

/// The decoded query string as a map (a repeated key keeps its last value).
fn query_map(q: &Option<String>) -> HashMap<String, String> {
    q.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The integer path parameter `name`.
fn path_id(p: &HashMap<String, String>, name: &str) -> Result<i64, ApiError> {
    p.get(name)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer")))
}

/// Parses an ISO 8601 time: RFC 3339, or without offset (taken as UTC);
/// a `+` turned into a space by form decoding is tolerated.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let fixed = if s.len() > 19 && s.as_bytes().get(s.len().saturating_sub(6)) == Some(&b' ') {
        let mut t = s.to_string();
        t.replace_range(s.len() - 6..s.len() - 5, "+");
        t
    } else {
        s.to_string()
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(&fixed) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&fixed, f) {
            return Some(n.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(&fixed, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// The request body as JSON.
fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))
}

/// The object under `key` of a JSON body.
fn object_field<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid(format!("body must be {{\"{key}\": {{...}}}}")))
}

/// A time as CXone writes it: RFC 3339, UTC, milliseconds.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// ----- paging ----------------------------------------------------------------

/// `top` (default 50, clamped to 1..=100) and `skip` (default 0) of a query.
fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let top = match q.get("top") {
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("top must be a non-negative integer"))?,
        None => 50,
    };
    let skip = match q.get("skip") {
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ApiError::invalid("skip must be a non-negative integer"))?,
        None => 0,
    };
    Ok((top.clamp(1, 100), skip))
}

/// The absolute URL of the page `top`/`skip` of `path`, other query
/// parameters kept (sorted by name).
fn next_link(
    base: &str,
    version: &str,
    path: &str,
    q: &HashMap<String, String>,
    top: usize,
    skip: usize,
) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    let mut keys: Vec<&String> = q.keys().filter(|k| *k != "top" && *k != "skip").collect();
    keys.sort();
    for k in keys {
        if let Some(v) = q.get(k) {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("top", &top.to_string());
    ser.append_pair("skip", &skip.to_string());
    format!(
        "{base}/inContactAPI/services/{version}{path}?{}",
        ser.finish()
    )
}

/// Where a page sits in the collection at `path` of `total` records.
struct Page<'a> {
    base: &'a str,
    version: &'a str,
    path: &'a str,
    top: usize,
    skip: usize,
    total: usize,
}

impl Page<'_> {
    /// `_links`: `self`, and `next` when records remain after this page.
    fn links(&self, q: &HashMap<String, String>) -> Value {
        let link = |skip| next_link(self.base, self.version, self.path, q, self.top, skip);
        let mut links = json!({ "self": link(self.skip) });
        if self.skip + self.top < self.total {
            links["next"] = json!(link(self.skip + self.top));
        }
        links
    }
}

// ----- router ----------------------------------------------------------------

/// Largest calling-list upload body accepted, in bytes.
pub const UPLOAD_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Builds the whole router.
pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route(
            "/.well-known/cxone-configuration",
            get(auth::cxone_configuration),
        )
        .route("/auth/token", post(auth::token))
        .nest("/inContactAPI/services/{version}", api_routes())
        .nest("/admin", admin_routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gatekeeper::gatekeeper,
        ))
        .with_state(app)
}

/// The CXone API, under `/inContactAPI/services/{version}`.
fn api_routes() -> Router<App> {
    Router::new()
        .route(
            "/skills",
            get(skills::list_skills).post(skills::create_skills),
        )
        .route("/skills/{skillId}", get(skills::get_skill))
        .route("/skills/{skillId}/activity", get(skills::skill_activity))
        .route("/skills/{skillId}/summary", get(skills::skill_summary))
        .route("/skills/{skillId}/start", post(skills::start_skill))
        .route("/skills/{skillId}/stop", post(skills::stop_skill))
        .route(
            "/skills/{skillId}/parameters/general-settings",
            get(parameters::get_general).put(parameters::put_general),
        )
        .route(
            "/skills/{skillId}/parameters/schedule-settings",
            get(parameters::get_schedule).put(parameters::put_schedule),
        )
        .route(
            "/skills/{skillId}/parameters/time-zones",
            get(parameters::get_time_zones).put(parameters::put_time_zones),
        )
        .route("/agents/states", get(agents::agent_states))
        .route("/dnc-groups", get(dnc::dnc_groups))
        .route("/dnc-groups/search", post(dnc::dnc_search))
        .route(
            "/dnc-groups/{groupId}/scrubbed-skills",
            get(dnc::scrubbed_skills).post(dnc::add_scrubbed_skills),
        )
        .route("/lists/call-lists", post(lists::create_list))
        .route(
            "/lists/call-lists/{listId}/upload",
            // A list of 100,000 contacts is several MB of base64: above axum's 2 MB default.
            post(lists::upload_list).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/lists/call-lists/jobs/{jobId}", get(lists::upload_job))
}

/// The admin API, under `/admin`.
fn admin_routes() -> Router<App> {
    Router::new()
        .route("/clock", get(admin::clock))
        .route("/clock/advance", post(admin::advance))
        .route("/truth", get(admin::truth))
        .route("/contacts", get(admin::contacts))
        .route("/lists", get(admin::lists))
        .route(
            "/faults",
            put(admin::set_faults).delete(admin::clear_faults),
        )
        .route(
            "/requests",
            get(admin::requests).delete(admin::clear_requests),
        )
        .route("/skills/{skillId}", get(admin::skill))
        .route(
            "/webhook",
            get(admin::webhook)
                .put(admin::set_webhook)
                .delete(admin::clear_webhook),
        )
        .route("/webhook/flush", post(admin::flush_webhook))
}

/// `404` in CXone's error shape for any unknown path.
async fn fallback() -> Response {
    ApiError::not_found("No such resource").into_response()
}

/// `405` in CXone's error shape.
async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "Method not allowed on this resource",
    )
    .into_response()
}
