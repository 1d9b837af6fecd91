//! HTTP layer: the CXone API, the token endpoint and discovery, the admin
//! API, and the middleware that checks auth, injects faults and logs requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::model::{Fault, FaultKind, RequestLog};
use crate::settings;
use crate::state::{AgentState, SimState};

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

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(v)).into_response())
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": status.canonical_reason().unwrap_or("error"), "message": message.into()}))).into_response()
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "errorDescription": description})),
    )
        .into_response()
}

// ----- small parsers ---------------------------------------------------------

fn query_map(q: &Option<String>) -> HashMap<String, String> {
    q.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

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

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))
}

fn object_field<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid(format!("body must be {{\"{key}\": {{...}}}}")))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn hhmmss(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn hhmmss_ms(secs: f64) -> String {
    let ms = (secs.max(0.0) * 1000.0).round() as u64;
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

// ----- router ----------------------------------------------------------------

/// Largest calling-list upload body accepted, in bytes.
pub const UPLOAD_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Builds the whole router.
pub fn router(app: App) -> Router {
    let api = Router::new()
        .route("/skills", get(list_skills).post(create_skills))
        .route("/skills/{skillId}", get(get_skill))
        .route("/skills/{skillId}/activity", get(skill_activity))
        .route("/skills/{skillId}/summary", get(skill_summary))
        .route("/skills/{skillId}/start", post(start_skill))
        .route("/skills/{skillId}/stop", post(stop_skill))
        .route(
            "/skills/{skillId}/parameters/general-settings",
            get(get_general).put(put_general),
        )
        .route(
            "/skills/{skillId}/parameters/schedule-settings",
            get(get_schedule).put(put_schedule),
        )
        .route(
            "/skills/{skillId}/parameters/time-zones",
            get(get_time_zones).put(put_time_zones),
        )
        .route("/agents/states", get(agent_states))
        .route("/dnc-groups", get(dnc_groups))
        .route("/dnc-groups/search", post(dnc_search))
        .route(
            "/dnc-groups/{groupId}/scrubbed-skills",
            get(scrubbed_skills).post(add_scrubbed_skills),
        )
        .route("/lists/call-lists", post(create_list))
        .route(
            "/lists/call-lists/{listId}/upload",
            // A list of 100,000 contacts is several MB of base64: above axum's 2 MB default.
            post(upload_list).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/lists/call-lists/jobs/{jobId}", get(upload_job));
    let admin = Router::new()
        .route("/clock", get(admin_clock))
        .route("/clock/advance", post(admin_advance))
        .route("/truth", get(admin_truth))
        .route("/contacts", get(admin_contacts))
        .route("/lists", get(admin_lists))
        .route(
            "/faults",
            axum::routing::put(admin_set_faults).delete(admin_clear_faults),
        )
        .route(
            "/requests",
            get(admin_requests).delete(admin_clear_requests),
        )
        .route("/skills/{skillId}", get(admin_skill))
        .route(
            "/webhook",
            get(admin_webhook)
                .put(admin_set_webhook)
                .delete(admin_clear_webhook),
        )
        .route("/webhook/flush", post(admin_flush_webhook));
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/.well-known/cxone-configuration", get(cxone_configuration))
        .route("/auth/token", post(token))
        .nest("/inContactAPI/services/{version}", api)
        .nest("/admin", admin)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), gatekeeper))
        .with_state(app)
}

async fn fallback() -> Response {
    ApiError::not_found("No such resource").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "Method not allowed on this resource",
    )
    .into_response()
}

fn valid_version(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/inContactAPI/services/") else {
        return false;
    };
    let v = rest.split('/').next().unwrap_or("");
    let Some(num) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = num.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty()
        && !b.is_empty()
        && a.chars().all(|c| c.is_ascii_digit())
        && b.chars().all(|c| c.is_ascii_digit())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|m| {
                let m = m
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                m == "application/json" || m == "application/*"
            })
        })
}

/// Logs non-admin requests, injects faults, and for API calls checks the
/// bearer token, `Accept: application/json` and the version segment.
async fn gatekeeper(State(app): State<App>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/admin/") || path == "/admin" {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let (at_ms, fault) = {
        let mut st = app.lock();
        let at_ms = u64::try_from(st.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        (at_ms, st.take_request_fault(&path, &method))
    };
    let resp = answer(&app, req, next, &path, fault).await;
    app.lock().requests.push(RequestLog {
        method,
        path,
        query,
        status: resp.status().as_u16(),
        at_ms,
    });
    resp
}

async fn answer(
    app: &App,
    req: Request,
    next: Next,
    path: &str,
    fault: Option<FaultKind>,
) -> Response {
    match fault {
        Some(FaultKind::RateLimit {
            retry_after_seconds,
        }) => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Rate limit exceeded",
            )
            .into_response();
            if let Some(s) = retry_after_seconds {
                if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return r;
        }
        Some(FaultKind::ServerError { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return ApiError::new(status, "ServerError", "Simulated server error").into_response();
        }
        Some(FaultKind::Unauthorized) => {
            app.lock().revoke_all();
            return ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Token revoked")
                .into_response();
        }
        Some(FaultKind::TokenError) => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Simulated token endpoint failure",
            );
        }
        Some(FaultKind::Slow { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await
        }
        Some(
            FaultKind::ItemErrors
            | FaultKind::PersonEdit { .. }
            | FaultKind::WebhookDuplicate
            | FaultKind::UploadJobFails
            | FaultKind::AnswerLost { .. },
        )
        | None => {}
    }
    if path.starts_with("/inContactAPI/") {
        let authorised = match bearer(req.headers()) {
            Some(t) => app.lock().token_valid(t),
            None => false,
        };
        if !authorised {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Missing, invalid or expired bearer token",
            )
            .into_response();
        }
        if !accepts_json(req.headers()) {
            return ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "NotAcceptable",
                "No known way to render data",
            )
            .into_response();
        }
        if !valid_version(path) {
            return ApiError::not_found("Unknown API version").into_response();
        }
    }
    let response = next.run(req).await;
    if let Some(FaultKind::AnswerLost { delay_ms }) = fault {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    response
}

// ----- discovery and auth ------------------------------------------------------

async fn openid_configuration(State(app): State<App>) -> Response {
    let base = app.lock().base_url.clone();
    Json(json!({
        "issuer": base,
        "token_endpoint": format!("{base}/auth/token"),
        "authorization_endpoint": format!("{base}/auth/authorize"),
        "jwks_uri": format!("{base}/auth/jwks"),
        "grant_types_supported": ["password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "response_types_supported": ["code", "token", "id_token"],
    }))
    .into_response()
}

async fn cxone_configuration(State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult {
    let q = query_map(&q);
    let st = app.lock();
    let Some(tenant) = q.get("tenantId") else {
        return Err(ApiError::invalid("tenantId is required"));
    };
    if *tenant != st.creds.tenant_id {
        return Err(ApiError::not_found(format!("Unknown tenant {tenant}")));
    }
    ok(json!({
        "private": false,
        "area": "na1",
        "cluster": "sim",
        "domain": "localhost",
        "tenantId": tenant,
        "ui_endpoint": st.base_url,
        "auth_endpoint": st.base_url,
        "api_endpoint": format!("{}/", st.base_url),
    }))
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn b64url(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut st = app.lock();
    let client = basic_auth(&headers);
    match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            let Some((cid, csecret)) = client else {
                return token_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "HTTP Basic client authentication is required",
                );
            };
            if cid != st.creds.client_id || csecret != st.creds.client_secret {
                return token_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Unknown client or wrong client secret",
                );
            }
            let (Some(user), Some(pass)) = (form.get("username"), form.get("password")) else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                );
            };
            if *user != st.creds.access_key_id || *pass != st.creds.access_key_secret {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid access key",
                );
            }
        }
        Some("refresh_token") => {
            let cid = client
                .map(|c| c.0)
                .or_else(|| form.get("client_id").cloned());
            if cid.as_deref() != Some(st.creds.client_id.as_str()) {
                return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client");
            }
            let Some(rt) = form.get("refresh_token") else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            if !st.use_refresh_token(rt) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid or revoked refresh token",
                );
            }
        }
        Some(_) => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant_type",
            )
        }
        None => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
    }
    let (access, refresh) = st.issue_tokens();
    let now = Utc::now().timestamp();
    let lifetime = st.token_lifetime.as_secs();
    let id_token = format!(
        "{}.{}.",
        b64url(&json!({"alg": "none", "typ": "JWT"})),
        b64url(&json!({
            "iss": st.base_url,
            "sub": format!("user:{}", st.creds.access_key_id),
            "aud": st.creds.client_id,
            "iat": now,
            "exp": now + i64::try_from(lifetime).unwrap_or(i64::MAX / 2),
            "tenantId": st.creds.tenant_id,
        }))
    );
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "expires_in": lifetime,
        "id_token": id_token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }))
    .into_response()
}

// ----- skills -------------------------------------------------------------------

fn unknown_skill(id: i64) -> ApiError {
    ApiError::not_found(format!("Skill {id} not found"))
}

async fn get_skill(State(app): State<App>, Path(p): Path<HashMap<String, String>>) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(rt.skill_json())
}

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

async fn list_skills(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = query_map(&q);
    let (top, skip) = paging(&q)?;
    let st = app.lock();
    let needle = q
        .get("searchString")
        .map(|s| s.to_lowercase())
        .unwrap_or_default();
    let all: Vec<Value> = st
        .skills
        .values()
        .filter(|rt| rt.sc.skill_name.to_lowercase().contains(&needle))
        .map(|rt| rt.skill_json())
        .collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(skip).take(top).collect();
    let version = p.get("version").cloned().unwrap_or_default();
    let mut links = json!({"self": next_link(&st.base_url, &version, "/skills", &q, top, skip)});
    if skip + top < total {
        links["next"] = json!(next_link(
            &st.base_url,
            &version,
            "/skills",
            &q,
            top,
            skip + top
        ));
    }
    ok(json!({
        "businessUnitId": 1,
        "lastPollTime": rfc3339(st.now),
        "totalRecords": total,
        "_links": links,
        "skills": page,
    }))
}

async fn create_skills(
    State(app): State<App>,
    req_path: axum::http::Uri,
    body: Bytes,
) -> ApiResult {
    let v = json_body(&body)?;
    let items = v
        .get("skills")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("body must be {\"skills\": [...]}"))?;
    if items.is_empty() {
        return Err(ApiError::invalid("skills must not be empty"));
    }
    let mut st = app.lock();
    let mut fail_first = st.take_item_error(req_path.path());
    let mut results = Vec::with_capacity(items.len());
    let mut errors = 0;
    for item in items {
        let outcome: Result<(), String> = (|| {
            if std::mem::take(&mut fail_first) {
                return Err("Simulated failure creating this skill".to_string());
            }
            let name = item
                .get("skillName")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or("skillName is required")?;
            if st
                .skills
                .values()
                .any(|rt| rt.sc.skill_name.eq_ignore_ascii_case(name))
            {
                return Err(format!("A skill named {name} already exists"));
            }
            if let Some(m) = item.get("mediaTypeId") {
                if m.as_i64() != Some(4) {
                    return Err("mediaTypeId must be 4 (Phone Call) for outbound skills".into());
                }
            }
            let strategy = match item.get("outboundStrategy") {
                None => "Personal Connection",
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Err("outboundStrategy must be a string".into()),
            };
            let campaign = match item.get("campaignId") {
                None | Some(Value::Null) => 0,
                Some(c) => c.as_i64().ok_or("campaignId must be an integer")?,
            };
            st.create_skill(name, campaign, strategy)
                .map_err(|e| e.to_string())?;
            Ok(())
        })();
        match outcome {
            Ok(()) => results.push(json!({"success": true, "error": null})),
            Err(e) => {
                errors += 1;
                results.push(json!({"success": false, "error": e}));
            }
        }
    }
    ok(json!({"errorCount": errors, "skillsResults": results}))
}

async fn start_skill(State(app): State<App>, Path(p): Path<HashMap<String, String>>) -> ApiResult {
    set_running(&app, &p, true)
}

async fn stop_skill(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = query_map(&q);
    if let Some(f) = q.get("force") {
        if !matches!(f.to_ascii_lowercase().as_str(), "true" | "false") {
            return Err(ApiError::invalid("force must be true or false"));
        }
    }
    set_running(&app, &p, false)
}

fn set_running(app: &App, p: &HashMap<String, String>, running: bool) -> ApiResult {
    let id = path_id(p, "skillId")?;
    let mut st = app.lock();
    let rt = st.skills.get_mut(&id).ok_or_else(|| unknown_skill(id))?;
    rt.running = running;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

async fn skill_activity(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    let s = rt.snapshot();
    ok(json!({
        "lastPollTime": rfc3339(st.now),
        "skillActivity": [{
            "serverTime": rfc3339(st.now),
            "businessUnitId": 1,
            "skillId": id,
            "skillName": rt.sc.skill_name,
            "campaignId": rt.sc.campaign_id,
            "mediaTypeId": 4,
            "isOutbound": rt.sc.is_outbound,
            "isActive": rt.sc.is_active,
            "agentsAvailable": s.available,
            "agentsWorking": s.working,
            "agentsACW": s.acw,
            "agentsIdle": s.available,
            "agentsLoggedIn": s.logged_in,
            "agentsUnavailable": s.unavailable,
            "queueCount": s.waiting,
        }]
    }))
}

async fn skill_summary(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let q = query_map(&q);
    let date = |k: &str| -> Result<DateTime<Utc>, ApiError> {
        let s = q
            .get(k)
            .ok_or_else(|| ApiError::invalid(format!("{k} is required")))?;
        parse_time(s).ok_or_else(|| ApiError::invalid(format!("{k} must be an ISO 8601 date-time")))
    };
    let (from, to) = (date("startDate")?, date("endDate")?);
    if to < from {
        return Err(ApiError::invalid("endDate must not be before startDate"));
    }
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    let t = st
        .truth(id, Some(from), Some(to))
        .map(|t| t.totals)
        .unwrap_or_default();
    let handled = (t.successes + t.failures) as f64;
    let avg = |x: f64| if handled > 0.0 { x / handled } else { 0.0 };
    let live = t.connects + t.abandons;
    let abandon_rate = if live > 0 {
        t.abandons as f64 * 100.0 / live as f64
    } else {
        0.0
    };
    ok(json!({
        "businessUnitId": 1,
        "skillSummaries": [{
            "skillId": id,
            "skillName": rt.sc.skill_name,
            "campaignId": rt.sc.campaign_id,
            "isOutbound": rt.sc.is_outbound,
            "startDate": rfc3339(from),
            "endDate": rfc3339(to),
            "dials": t.dials,
            "connects": t.connects,
            "abandonCount": t.abandons,
            "abandonRate": (abandon_rate * 100.0).round() / 100.0,
            "rightPartyConnects": t.successes,
            "connectsAHT": hhmmss(avg(t.handled_talk_seconds + t.handled_wrap_seconds)),
            "averageTalkTime": format!("{:.0}", avg(t.handled_talk_seconds)),
            "averageWrapTime": hhmmss_ms(avg(t.handled_wrap_seconds)),
        }]
    }))
}

// ----- parameters ---------------------------------------------------------------

async fn get_general(State(app): State<App>, Path(p): Path<HashMap<String, String>>) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let mut st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    let body = Value::Object(rt.general.clone());
    st.after_general_read(id);
    ok(body)
}

async fn put_general(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let v = json_body(&body)?;
    let patch = object_field(&v, "generalSettings")?;
    let mut st = app.lock();
    let rt = st.skills.get_mut(&id).ok_or_else(|| unknown_skill(id))?;
    rt.general = settings::merge_general(&rt.general, patch).map_err(ApiError::invalid)?;
    ok(json!({}))
}

async fn get_schedule(State(app): State<App>, Path(p): Path<HashMap<String, String>>) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(Value::Object(rt.schedule.clone()))
}

async fn put_schedule(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let v = json_body(&body)?;
    let patch = object_field(&v, "scheduleSettings")?;
    let mut st = app.lock();
    let rt = st.skills.get_mut(&id).ok_or_else(|| unknown_skill(id))?;
    let merged = settings::merge_schedule(&rt.schedule, patch).map_err(ApiError::invalid)?;
    settings::schedule_quirk(&merged)
        .map_err(|e| ApiError::invalid(format!("Invalid schedule settings: {e}")))?;
    rt.schedule = merged;
    ok(json!({}))
}

async fn get_time_zones(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(json!({"timeZoneSettings": rt.time_zones}))
}

async fn put_time_zones(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let v = json_body(&body)?;
    let list = v
        .get("timeZoneSettings")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("body must be {\"timeZoneSettings\": [...]}"))?;
    let parsed = settings::parse_time_zones(list, false).map_err(ApiError::invalid)?;
    let mut st = app.lock();
    let rt = st.skills.get_mut(&id).ok_or_else(|| unknown_skill(id))?;
    rt.time_zones = parsed;
    ok(json!({}))
}

// ----- agents ---------------------------------------------------------------------

async fn agent_states(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = query_map(&q);
    let (top, skip) = paging(&q)?;
    let since = match q.get("updatedSince") {
        Some(s) => Some(
            parse_time(s)
                .ok_or_else(|| ApiError::invalid("updatedSince must be an ISO 8601 date-time"))?,
        ),
        None => None,
    };
    let st = app.lock();
    let mut all = Vec::new();
    for rt in st.skills.values() {
        for a in &rt.agents {
            if since.is_some_and(|s| a.last_update <= s) {
                continue;
            }
            let (name, acw, desc) = match a.state {
                AgentState::LoggedOut => ("LoggedOut", false, ""),
                AgentState::Available => ("Available", false, ""),
                AgentState::Working => ("OutboundContact", false, ""),
                AgentState::Acw => ("Unavailable", true, "ACW"),
                AgentState::Unavailable => ("Unavailable", false, "Break"),
            };
            all.push((
                a.agent_id,
                json!({
                    "agentId": a.agent_id,
                    "agentStateName": name,
                    "isACW": acw,
                    "outStateDescription": desc,
                    "isOutbound": a.state == AgentState::Working,
                    "skillId": rt.sc.skill_id,
                    "skillName": rt.sc.skill_name,
                    "teamId": a.team_id,
                    "lastUpdateTime": rfc3339(a.last_update),
                    "startDate": rfc3339(a.last_update),
                }),
            ));
        }
    }
    all.sort_by_key(|x| x.0);
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(skip).take(top).map(|x| x.1).collect();
    let version = p.get("version").cloned().unwrap_or_default();
    let mut links =
        json!({"self": next_link(&st.base_url, &version, "/agents/states", &q, top, skip)});
    if skip + top < total {
        links["next"] = json!(next_link(
            &st.base_url,
            &version,
            "/agents/states",
            &q,
            top,
            skip + top
        ));
    }
    ok(json!({
        "totalRecords": total.to_string(),
        "lastPollTime": rfc3339(st.now),
        "_links": links,
        "agentStates": page,
    }))
}

// ----- DNC ------------------------------------------------------------------------------

async fn dnc_groups(State(app): State<App>) -> ApiResult {
    let st = app.lock();
    let groups: Vec<Value> = st
        .dnc_groups
        .iter()
        .map(|g| {
            json!({
                "dncGroupId": g.dnc_group_id,
                "dncGroupName": g.dnc_group_name,
                "isActive": g.is_active,
                "isRemoved": g.is_removed,
                "validRecords": g.phone_numbers.len(),
            })
        })
        .collect();
    ok(json!({"resultSet": {"totalGroups": groups.len(), "dncGroups": groups}}))
}

async fn scrubbed_skills(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "groupId")?;
    let st = app.lock();
    let g = st
        .dnc_groups
        .iter()
        .find(|g| g.dnc_group_id == id)
        .ok_or_else(|| ApiError::not_found(format!("DNC group {id} not found")))?;
    let skills: Vec<Value> = g
        .scrubbed_skills
        .iter()
        .map(|s| {
            let name = st
                .skills
                .get(s)
                .map(|rt| rt.sc.skill_name.clone())
                .unwrap_or_default();
            json!({"skillId": s, "skillName": name})
        })
        .collect();
    ok(json!({"scrubbedSkills": skills}))
}

/// `POST /dnc-groups/{groupId}/scrubbed-skills` with `{"skills": [{"skillId"}]}`:
/// the group scrubs those skills too (one already scrubbed stays once).
async fn add_scrubbed_skills(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let id = path_id(&p, "groupId")?;
    let v = json_body(&body)?;
    let items = v
        .get("skills")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("body must be {\"skills\": [{\"skillId\": ...}]}"))?;
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let skill = item
            .get("skillId")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::invalid("each skill needs an integer skillId"))?;
        ids.push(skill);
    }
    let mut st = app.lock();
    if let Some(unknown) = ids.iter().find(|s| !st.skills.contains_key(s)) {
        return Err(unknown_skill(*unknown));
    }
    let g = st
        .dnc_groups
        .iter_mut()
        .find(|g| g.dnc_group_id == id)
        .ok_or_else(|| ApiError::not_found(format!("DNC group {id} not found")))?;
    for skill in ids {
        if !g.scrubbed_skills.contains(&skill) {
            g.scrubbed_skills.push(skill);
        }
    }
    ok(json!({}))
}

fn digits(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    d.strip_prefix('1')
        .filter(|r| r.len() == 10)
        .map(str::to_string)
        .unwrap_or(d)
}

async fn dnc_search(State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult {
    let q = query_map(&q);
    let number = q
        .get("phoneNumber")
        .map(|s| digits(s))
        .filter(|d| !d.is_empty());
    let Some(number) = number else {
        return Err(ApiError::invalid("phoneNumber is required"));
    };
    let st = app.lock();
    let hits: Vec<Value> = st
        .dnc_groups
        .iter()
        .filter(|g| g.phone_numbers.iter().any(|n| digits(n) == number))
        .map(|g| json!({"dncGroupId": g.dnc_group_id, "dncGroupName": g.dnc_group_name, "phoneNumber": number}))
        .collect();
    ok(json!({"searchResults": hits}))
}

// ----- calling lists ------------------------------------------------------------------------

async fn create_list(State(app): State<App>, RawQuery(q): RawQuery, body: Bytes) -> ApiResult {
    let q = query_map(&q);
    let name = q
        .get("listName")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("listName is required"))?;
    let v = json_body(&body)?;
    let maps = v
        .get("destinationMappings")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("destinationMappings must be a non-empty array"))?;
    for m in maps {
        if !(m.get("fieldName").is_some_and(Value::is_string)
            && m.get("fieldValue").is_some_and(Value::is_string))
        {
            return Err(ApiError::invalid(
                "each destinationMapping needs string fieldName and fieldValue",
            ));
        }
    }
    let id = app.lock().create_list(name);
    ok(json!({"listId": id}))
}

async fn upload_list(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&p, "listId")?;
    let v = json_body(&body)?;
    let file = v
        .get("listFile")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("listFile (base64 CSV) is required"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(file.trim())
        .map_err(|_| ApiError::invalid("listFile is not valid base64"))?;
    let text =
        String::from_utf8(raw).map_err(|_| ApiError::invalid("listFile is not UTF-8 text"))?;
    let rows: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .skip(1)
        .map(str::to_owned)
        .collect();
    let skill_id = v
        .get("skillId")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid("skillId must be an integer"))?;
    if let Some(d) = v.get("expirationDate") {
        let good = d
            .as_str()
            .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok());
        if !good {
            return Err(ApiError::invalid("expirationDate must be YYYY-MM-DD"));
        }
    }
    let mut st = app.lock();
    if !st.skills.contains_key(&skill_id) {
        return Err(unknown_skill(skill_id));
    }
    let failed = st.take_job_failure(&format!("lists/call-lists/{list_id}/upload"));
    let job = st
        .upload(list_id, skill_id, rows, failed)
        .ok_or_else(|| ApiError::not_found(format!("List {list_id} not found")))?;
    ok(json!({"jobId": job}))
}

async fn upload_job(State(app): State<App>, Path(p): Path<HashMap<String, String>>) -> ApiResult {
    let job_id = p.get("jobId").cloned().unwrap_or_default();
    let st = app.lock();
    let job = st
        .jobs
        .get(&job_id)
        .ok_or_else(|| ApiError::not_found(format!("Job {job_id} not found")))?;
    ok(json!({"uploadJobs": [{
        "jobId": job.job_id,
        "listId": job.list_id,
        "isComplete": !job.failed,
        "isCancelled": job.failed,
        "completedDate": rfc3339(job.completed),
    }]}))
}

// ----- admin ------------------------------------------------------------------------------

async fn admin_clock(State(app): State<App>) -> Response {
    Json(json!({"now": rfc3339(app.lock().now)})).into_response()
}

async fn admin_advance(State(app): State<App>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    // One advance (and its deliveries) at a time.
    let _serial = app.delivery.lock().await;
    let due = {
        let mut st = app.lock();
        let target = match advance_target(&st, &v) {
            Ok(t) => t,
            Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
        };
        if let Err(e) = st.advance_to(target) {
            return admin_error(StatusCode::BAD_REQUEST, e);
        }
        st.take_webhook_batches(false)
    };
    let delivered = deliver_due(&app, due).await;
    let now = rfc3339(app.lock().now);
    match delivered {
        Some(d) => Json(json!({"now": now, "webhook": d})).into_response(),
        None => Json(json!({"now": now})).into_response(),
    }
}

fn advance_target(st: &SimState, v: &Value) -> Result<DateTime<Utc>, String> {
    match (v.get("seconds"), v.get("to")) {
        (Some(s), None) => match s.as_f64() {
            Some(s)
                if s.is_finite() && s >= 0.0 && s <= crate::state::MAX_ADVANCE_SECONDS as f64 =>
            {
                st.now
                    .checked_add_signed(chrono::Duration::milliseconds((s * 1000.0).round() as i64))
                    .ok_or_else(|| "the clock would leave the representable range".to_string())
            }
            _ => Err("seconds must be a non-negative number (at most 31 days)".into()),
        },
        (None, Some(t)) => t
            .as_str()
            .and_then(parse_time)
            .ok_or_else(|| "to must be an RFC 3339 time".to_string()),
        _ => Err("give exactly one of seconds or to".into()),
    }
}

/// Posts due webhook batches (no lock held while posting), puts back what
/// could not be delivered, and summarises the run for the advance's answer.
async fn deliver_due(
    app: &App,
    due: Option<(crate::webhook::WebhookConfig, Vec<crate::webhook::Batch>)>,
) -> Option<Value> {
    let (cfg, batches) = due?;
    let at = app.lock().now.timestamp();
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    let report = crate::webhook::deliver(&app.http, &cfg, batches, at).await;
    let undelivered: usize = report.undelivered.iter().map(|b| b.events.len()).sum();
    let mut st = app.lock();
    st.webhook.stats.absorb(&report.stats);
    st.webhook.requeue(report.undelivered);
    Some(json!({
        "batches": report.stats.batches_delivered,
        "events": events - undelivered,
        "undelivered": undelivered,
        "queued": st.webhook.outbox.len(),
        "accepted": report.stats.accepted_reported,
        "duplicates": report.stats.duplicates_reported,
    }))
}

fn webhook_status(st: &SimState) -> Value {
    json!({
        "configured": st.webhook.config.is_some(),
        "enabled": st.webhook.config.as_ref().is_some_and(|c| c.enabled),
        "config": st.webhook.config.as_ref().map(|c| c.redacted()),
        "queued": st.webhook.outbox.len(),
        "stats": st.webhook.stats,
        "now": rfc3339(st.now),
    })
}

async fn admin_webhook(State(app): State<App>) -> Response {
    Json(webhook_status(&app.lock())).into_response()
}

async fn admin_set_webhook(State(app): State<App>, body: Bytes) -> Response {
    let cfg: crate::webhook::WebhookConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                format!("body must be {{\"url\", \"secret\", \"enabled\"?, ...}}: {e}"),
            )
        }
    };
    if let Err(e) = cfg.validate() {
        return admin_error(StatusCode::BAD_REQUEST, e);
    }
    // Not while an advance is delivering with the old configuration.
    let _serial = app.delivery.lock().await;
    let mut st = app.lock();
    st.webhook.set_config(cfg);
    Json(webhook_status(&st)).into_response()
}

async fn admin_clear_webhook(State(app): State<App>) -> Response {
    let _serial = app.delivery.lock().await;
    let mut st = app.lock();
    let discarded = st.webhook.clear();
    let mut v = webhook_status(&st);
    if let Some(o) = v.as_object_mut() {
        o.insert("discarded".into(), json!(discarded));
    }
    Json(v).into_response()
}

async fn admin_flush_webhook(State(app): State<App>) -> Response {
    let _serial = app.delivery.lock().await;
    let due = app.lock().take_webhook_batches(true);
    let delivered = deliver_due(&app, due).await;
    let st = app.lock();
    let mut v = webhook_status(&st);
    if let (Some(o), Some(d)) = (v.as_object_mut(), delivered) {
        o.insert("delivered".into(), d);
    }
    Json(v).into_response()
}

type RangeQuery = (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn skill_range(q: &Option<String>) -> Result<RangeQuery, String> {
    let q = query_map(q);
    let Some(id) = q.get("skillId").and_then(|s| s.parse::<i64>().ok()) else {
        return Err("skillId (integer) is required".into());
    };
    let bound = |k: &str| -> Result<Option<DateTime<Utc>>, String> {
        match q.get(k) {
            None => Ok(None),
            Some(s) => parse_time(s)
                .map(Some)
                .ok_or_else(|| format!("{k} must be RFC 3339")),
        }
    };
    match (bound("from"), bound("to")) {
        (Ok(f), Ok(t)) => Ok((id, f, t)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

async fn admin_contacts(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let (id, from, to) = match skill_range(&q) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match app.lock().contacts(id, from, to) {
        Some(c) => Json(json!({"contacts": c})).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}

async fn admin_truth(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let (id, from, to) = match skill_range(&q) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match app.lock().truth(id, from, to) {
        Some(t) => Json(t).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}

async fn admin_set_faults(State(app): State<App>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Body {
        faults: Vec<Fault>,
    }
    let b: Body = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                format!("body must be {{\"faults\": [...]}}: {e}"),
            )
        }
    };
    for f in &b.faults {
        if let FaultKind::ServerError { status } = f.kind {
            if ![500, 502, 503, 504].contains(&status) {
                return admin_error(
                    StatusCode::BAD_REQUEST,
                    "serverError status must be 500, 502, 503 or 504",
                );
            }
        }
    }
    let n = b.faults.len();
    app.lock().set_faults(b.faults);
    Json(json!({"faults": n})).into_response()
}

async fn admin_clear_faults(State(app): State<App>) -> Response {
    app.lock().set_faults(Vec::new());
    Json(json!({"faults": 0})).into_response()
}

async fn admin_lists(State(app): State<App>) -> Response {
    let st = app.lock();
    let lists: Vec<&crate::state::CallList> = st.lists.values().collect();
    Json(json!({"lists": lists})).into_response()
}

async fn admin_requests(State(app): State<App>) -> Response {
    Json(json!({"requests": app.lock().requests})).into_response()
}

async fn admin_clear_requests(State(app): State<App>) -> Response {
    app.lock().requests.clear();
    Json(json!({"requests": []})).into_response()
}

async fn admin_skill(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return admin_error(StatusCode::BAD_REQUEST, "skill id must be an integer");
    };
    match app.lock().skill_state(id) {
        Some(v) => Json(v).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}
