//! A local API Gateway (HTTP API, payload format 2.0) in front of function
//! binaries run by [`FunctionProcess`].
//!
//! [`ApiGateway::start`] serves on `127.0.0.1:0`. Each request is matched
//! against the routes (`"METHOD /path/{param}"`, `ANY` for every method),
//! turned into the payload-v2 event API Gateway sends a Lambda function
//! (`version`, `routeKey`, `rawPath`, `rawQueryString`, lower-cased `headers`
//! with repeated headers joined by commas, `cookies`, `queryStringParameters`,
//! `pathParameters`, `requestContext` with `requestId`, `time` and
//! `timeEpoch`, `body`, `isBase64Encoded`), and the function's answer
//! `{statusCode, headers, multiValueHeaders?, cookies?, body, isBase64Encoded}`
//! is mapped back to HTTP.
//!
//! The request time comes from an [`ApiClock`], so a simulated day can run
//! through it: the demo sets the clock to the CXone simulator's time, and a
//! function that checks times against `requestContext.timeEpoch` (the webhook
//! intake's signature window) sees the simulated time.
//!
//! Routes under a JWT prefix ([`ApiGatewayBuilder::local_jwt`], `/ui/` for
//! the dashboard) get `requestContext.authorizer.jwt.claims` as API
//! Gateway's JWT authorizer would fill them. **Local only, nothing is
//! verified**: the claims are the payload of an `Authorization: Bearer`
//! JWT when the request sends one (read without checking its signature,
//! issuer, audience or expiry), else a fixed local identity
//! ([`LOCAL_SUPERVISOR`]). Deployed, API Gateway verifies the token before
//! the function runs.
//!
//! Like API Gateway: no route is `404 {"message":"Not Found"}`, a function
//! error `500 {"message":"Internal Server Error"}`, a function that does not
//! answer in time `503 {"message":"Service Unavailable"}` (API Gateway's
//! integration timeout answer), and bodies over 10 MB `413`. Bodies that are
//! valid UTF-8 are passed as text (`isBase64Encoded: false`), others base64.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::error::StackError;
use crate::runtime::{FunctionProcess, InvokeError};

/// Largest request body API Gateway accepts (10 MB).
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Default integration timeout (API Gateway's maximum for HTTP APIs is 30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The email of the identity local `/ui/` requests carry without a token.
pub const LOCAL_SUPERVISOR: &str = "supervisor@localhost";

/// Every route `campaign-api` serves, as `template.yaml` declares them: the
/// IAM-signed operator routes, the dashboard's JWT routes under `/ui`, and
/// the page with its assets (no authorizer).
pub const CAMPAIGN_API_ROUTES: &[&str] = &[
    "GET /campaigns",
    "POST /campaigns",
    "POST /campaigns/{skillId}/contacts",
    "GET /campaigns/{skillId}/contacts/uploads/{uploadId}",
    "GET /campaigns/{skillId}/config",
    "PUT /campaigns/{skillId}/config",
    "GET /campaigns/{skillId}/health",
    "POST /campaigns/{skillId}/pause",
    "POST /campaigns/{skillId}/resume",
    "POST /campaigns/{skillId}/failback",
    "PUT /campaigns/{skillId}/pacing",
    "GET /campaigns/{skillId}/audit",
    "GET /ui/campaigns",
    "GET /ui/campaigns/{skillId}/health",
    "POST /ui/campaigns/{skillId}/pause",
    "POST /ui/campaigns/{skillId}/resume",
    "POST /ui/campaigns/{skillId}/failback",
    "PUT /ui/campaigns/{skillId}/pacing",
    "GET /ui/campaigns/{skillId}/audit",
    "GET /",
    "GET /dashboard",
    "GET /dashboard/app.js",
    "GET /dashboard/app.css",
    "GET /dashboard/config.json",
];

/// The JWT claims of a local request to a JWT route: the payload of its
/// `Authorization: Bearer` token, decoded **without any verification**
/// (local use only), else the fixed [`LOCAL_SUPERVISOR`] identity.
pub fn local_jwt_claims(headers: &HeaderMap) -> Value {
    let from_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object);
    from_token.unwrap_or_else(|| {
        json!({"sub": "local-supervisor", "email": LOCAL_SUPERVISOR,
               "iss": "local", "token_use": "id"})
    })
}

/// Where the gateway takes the request time from.
#[derive(Clone, Debug)]
pub enum ApiClock {
    /// The wall clock.
    Wall,
    /// A settable time in Unix milliseconds (see [`ApiClock::settable`]).
    Fixed(Arc<AtomicI64>),
}

impl ApiClock {
    /// A clock that shows `at` until [`set`](Self::set) moves it.
    pub fn settable(at: DateTime<Utc>) -> ApiClock {
        ApiClock::Fixed(Arc::new(AtomicI64::new(at.timestamp_millis())))
    }

    /// Sets a [`Fixed`](ApiClock::Fixed) clock (no effect on the wall clock).
    pub fn set(&self, at: DateTime<Utc>) {
        if let ApiClock::Fixed(ms) = self {
            ms.store(at.timestamp_millis(), Ordering::SeqCst);
        }
    }

    /// The time now, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            ApiClock::Wall => Utc::now().timestamp_millis(),
            ApiClock::Fixed(ms) => ms.load(Ordering::SeqCst),
        }
    }
}

/// One route: `"POST /webhooks/cxone"` to a function.
#[derive(Clone)]
struct Route {
    method: String,
    segments: Vec<String>,
    key: String,
    function: Arc<FunctionProcess>,
}

impl Route {
    /// The path parameters when `method` and `path` match.
    fn matches(&self, method: &str, path: &str) -> Option<Map<String, Value>> {
        if self.method != "ANY" && !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        match_path(&self.segments, path)
    }
}

/// The path parameters when `path` matches the route's `segments`.
fn match_path(segments: &[String], path: &str) -> Option<Map<String, Value>> {
    {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        let mut params = Map::new();
        for (seg, part) in segments.iter().zip(parts) {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if part.is_empty() {
                    return None;
                }
                params.insert(name.to_owned(), Value::String(percent_decode(part)));
            } else if seg != part {
                return None;
            }
        }
        Some(params)
    }
}

/// Counters of what the gateway answered.
#[derive(Debug, Default)]
pub struct GatewayStats {
    /// Requests that reached a function.
    pub invocations: AtomicU64,
    /// Answers by the function with a 2xx status.
    pub ok: AtomicU64,
    /// Answers by the function with a non-2xx status.
    pub non_2xx: AtomicU64,
    /// Function errors, timeouts and invalid answers (5xx from the gateway).
    pub gateway_errors: AtomicU64,
}

#[derive(Clone)]
struct Shared {
    routes: Arc<Vec<Route>>,
    jwt_prefix: Option<String>,
    clock: ApiClock,
    timeout: Duration,
    stats: Arc<GatewayStats>,
    seq: Arc<AtomicU64>,
}

/// Builds an [`ApiGateway`].
pub struct ApiGatewayBuilder {
    routes: Vec<Route>,
    jwt_prefix: Option<String>,
    clock: ApiClock,
    timeout: Duration,
}

impl ApiGatewayBuilder {
    /// Adds a route, `"METHOD /path/{param}"` (`ANY` matches every method).
    pub fn route(
        mut self,
        route_key: &str,
        function: Arc<FunctionProcess>,
    ) -> Result<Self, StackError> {
        let (method, path) = route_key.split_once(' ').ok_or_else(|| {
            StackError::Runtime(format!("route {route_key:?} is not \"METHOD /path\""))
        })?;
        if !path.starts_with('/') {
            return Err(StackError::Runtime(format!(
                "route {route_key:?}: the path must start with /"
            )));
        }
        self.routes.push(Route {
            method: method.to_ascii_uppercase(),
            segments: path
                .trim_start_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            key: format!("{} {path}", method.to_ascii_uppercase()),
            function,
        });
        Ok(self)
    }

    /// Adds every route of `route_keys` to `function`.
    pub fn routes(
        mut self,
        route_keys: &[&str],
        function: &Arc<FunctionProcess>,
    ) -> Result<Self, StackError> {
        for key in route_keys {
            self = self.route(key, function.clone())?;
        }
        Ok(self)
    }

    /// Treats routes under `path_prefix` (e.g. `/ui/`) as behind a JWT
    /// authorizer: their events carry [`local_jwt_claims`] (unverified: local
    /// use only).
    pub fn local_jwt(mut self, path_prefix: &str) -> Self {
        self.jwt_prefix = Some(path_prefix.to_owned());
        self
    }

    /// The request-time source (default: the wall clock).
    pub fn clock(mut self, clock: ApiClock) -> Self {
        self.clock = clock;
        self
    }

    /// The integration timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Binds `127.0.0.1:0` and serves until the gateway is dropped.
    pub async fn start(self) -> Result<ApiGateway, StackError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| StackError::Runtime(format!("API Gateway cannot bind: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StackError::Runtime(format!("API Gateway address: {e}")))?;
        let shared = Shared {
            routes: Arc::new(self.routes),
            jwt_prefix: self.jwt_prefix,
            clock: self.clock.clone(),
            timeout: self.timeout,
            stats: Arc::new(GatewayStats::default()),
            seq: Arc::new(AtomicU64::new(0)),
        };
        let stats = shared.stats.clone();
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "local API Gateway stopped with an error");
            }
        });
        Ok(ApiGateway {
            addr,
            clock: self.clock,
            stats,
            shutdown: Some(tx),
            task,
        })
    }
}

/// A running local API Gateway. Stops serving when dropped.
pub struct ApiGateway {
    addr: SocketAddr,
    clock: ApiClock,
    stats: Arc<GatewayStats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ApiGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ApiGateway {
    /// A builder with no routes, the wall clock and [`DEFAULT_TIMEOUT`].
    pub fn builder() -> ApiGatewayBuilder {
        ApiGatewayBuilder {
            routes: Vec::new(),
            jwt_prefix: None,
            clock: ApiClock::Wall,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request-time source (set it to move a settable clock).
    pub fn clock(&self) -> &ApiClock {
        &self.clock
    }

    /// What the gateway answered so far.
    pub fn stats(&self) -> &GatewayStats {
        &self.stats
    }

    /// Stops serving and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for ApiGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(json!({ "message": text }).to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(State(gw): State<Shared>, req: Request) -> Response<Body> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let Some((route, params)) = gw
        .routes
        .iter()
        .find_map(|r| r.matches(&method, &path).map(|p| (r.clone(), p)))
    else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let headers = req.headers().clone();
    let body = match to_bytes(req.into_body(), MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let n = gw.seq.fetch_add(1, Ordering::SeqCst);
    let now_ms = gw.clock.now_ms();
    let mut event = payload_v2(
        &route.key, &method, &path, &query, &headers, &body, &params, now_ms, n,
    );
    if gw
        .jwt_prefix
        .as_deref()
        .is_some_and(|prefix| path.starts_with(prefix))
    {
        event["requestContext"]["authorizer"] =
            json!({"jwt": {"claims": local_jwt_claims(&headers), "scopes": null}});
    }
    gw.stats.invocations.fetch_add(1, Ordering::Relaxed);
    match route.function.invoke(event, gw.timeout).await {
        Ok(answer) => match response_of(&answer) {
            Some(r) => {
                let counter = if r.status().is_success() {
                    &gw.stats.ok
                } else {
                    &gw.stats.non_2xx
                };
                counter.fetch_add(1, Ordering::Relaxed);
                r
            }
            None => {
                gw.stats.gateway_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(route = %route.key, "function answered an invalid response");
                message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        },
        Err(InvokeError::Timeout(_)) => {
            gw.stats.gateway_errors.fetch_add(1, Ordering::Relaxed);
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Err(e) => {
            gw.stats.gateway_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(route = %route.key, error = %e, "function failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The payload-v2 event of one request.
#[allow(clippy::too_many_arguments)]
pub fn payload_v2(
    route_key: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    path_parameters: &Map<String, Value>,
    now_ms: i64,
    seq: u64,
) -> Value {
    let mut hs: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in headers {
        let Ok(v) = value.to_str() else { continue };
        let name = name.as_str().to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_owned())),
            );
            continue;
        }
        match hs.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            _ => {
                hs.insert(name, Value::String(v.to_owned()));
            }
        }
    }
    let mut qs: Map<String, Value> = Map::new();
    for (k, v) in url_pairs(query) {
        match qs.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                qs.insert(k, Value::String(v));
            }
        }
    }
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let time = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
    let source_ip = "127.0.0.1";
    let user_agent = hs
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": hs,
        "requestContext": {
            "accountId": crate::runtime::LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": user_agent},
            "requestId": format!("local-{now_ms}-{seq}"),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": base64,
    });
    if let Some(o) = event.as_object_mut() {
        if !body.is_empty() {
            o.insert("body".into(), Value::String(body));
        }
        if !cookies.is_empty() {
            o.insert("cookies".into(), Value::Array(cookies));
        }
        if !qs.is_empty() {
            o.insert("queryStringParameters".into(), Value::Object(qs));
        }
        if !path_parameters.is_empty() {
            o.insert(
                "pathParameters".into(),
                Value::Object(path_parameters.clone()),
            );
        }
    }
    event
}

/// The HTTP response of a function's payload-v2 answer; `None` when the
/// answer has no valid `statusCode`. (API Gateway also accepts a bare JSON
/// value as a 200 body; the bundle's functions never answer that way.)
pub fn response_of(answer: &Value) -> Option<Response<Body>> {
    let status = answer
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())?;
    let raw = answer.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if answer.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(raw).ok()?
    } else {
        raw.as_bytes().to_vec()
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    let mut add = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    };
    if let Some(multi) = answer.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for v in values.as_array().into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    add(name, v);
                }
            }
        }
    }
    if let Some(single) = answer.get("headers").and_then(Value::as_object) {
        for (name, v) in single {
            let already = answer
                .get("multiValueHeaders")
                .and_then(|m| m.get(name))
                .is_some();
            if let (Some(v), false) = (v.as_str(), already) {
                add(name, v);
            }
        }
    }
    for c in answer
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(c) = c.as_str() {
            add("set-cookie", c);
        }
    }
    Some(r)
}

/// The decoded `(name, value)` pairs of a query string
/// (`application/x-www-form-urlencoded`: `+` is a space).
fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// A percent-decoded path parameter (`+` is a space, as in the query;
/// invalid escapes are kept, invalid UTF-8 is replaced).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_parameters() {
        let segs: Vec<String> = ["campaigns", "{skillId}", "config"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let p = match_path(&segs, "/campaigns/4201/config");
        assert_eq!(
            p.and_then(|p| p.get("skillId").cloned()),
            Some(json!("4201"))
        );
        assert!(match_path(&segs, "/campaigns//config").is_none());
        assert!(match_path(&segs, "/campaigns/1/config/x").is_none());
        assert!(match_path(&segs, "/campaign/1/config").is_none());
    }

    #[test]
    fn decoding_and_payload() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
        let mut h = HeaderMap::new();
        h.insert("X-Signature", HeaderValue::from_static("t=1,v1=aa"));
        h.append("Accept", HeaderValue::from_static("a"));
        h.append("Accept", HeaderValue::from_static("b"));
        let ev = payload_v2(
            "POST /w",
            "POST",
            "/w",
            "x=1&x=2&y=%20",
            &h,
            b"{}",
            &Map::new(),
            1_700_000_000_123,
            7,
        );
        assert_eq!(ev["headers"]["x-signature"], "t=1,v1=aa");
        assert_eq!(ev["headers"]["accept"], "a,b");
        assert_eq!(ev["queryStringParameters"]["x"], "1,2");
        assert_eq!(ev["queryStringParameters"]["y"], " ");
        assert_eq!(ev["requestContext"]["timeEpoch"], 1_700_000_000_123i64);
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["body"], "{}");
        let bin = payload_v2(
            "POST /w",
            "POST",
            "/w",
            "",
            &h,
            &[0xff, 0xfe],
            &Map::new(),
            0,
            0,
        );
        assert_eq!(bin["isBase64Encoded"], true);
        assert_eq!(bin["body"], "//4=");
    }

    #[test]
    fn local_jwt_claims_read_a_bearer_token_unverified_or_the_local_identity() {
        let mut h = HeaderMap::new();
        assert_eq!(local_jwt_claims(&h)["email"], LOCAL_SUPERVISOR);
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"email":"ann@example.com","sub":"1"}"#);
        let token = format!("Bearer eyJhbGciOiJub25lIn0.{payload}.sig");
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(&token).unwrap_or(HeaderValue::from_static("x")),
        );
        assert_eq!(local_jwt_claims(&h)["email"], "ann@example.com");
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer not-a-jwt"),
        );
        assert_eq!(local_jwt_claims(&h)["email"], LOCAL_SUPERVISOR);
    }

    #[test]
    fn responses_map_back() {
        let r = response_of(
            &json!({"statusCode": 202, "headers": {"content-type": "application/json"},
            "body": "{\"accepted\":1}", "isBase64Encoded": false}),
        );
        let r = r.unwrap_or_else(|| Response::new(Body::empty()));
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(response_of(&json!({"body": "x"})).is_none());
        let b = response_of(&json!({"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}));
        assert!(b.is_some());
    }
}

/// End-to-end tests with real function binaries (built by `cargo build
/// --workspace --bins`, which `make test` does): `lambda-echo` for the error
/// mappings, and `webhook-ingest` against the local stack (moto) for the
/// signature window on the gateway's clock.
#[cfg(test)]
mod binary_tests {
    use super::*;
    use std::path::PathBuf;

    fn binary(name: &str) -> PathBuf {
        let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
            |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        );
        let path = target.join("debug").join(name);
        assert!(
            path.is_file(),
            "{} is missing: run `cargo build --workspace --bins` (make test does)",
            path.display()
        );
        path
    }

    #[tokio::test]
    async fn invalid_answers_and_unknown_routes_map_like_api_gateway() {
        let echo = Arc::new(
            FunctionProcess::spawn(binary("lambda-echo"), Vec::<(String, String)>::new())
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let gw = ApiGateway::builder()
            .route("POST /echo", echo.clone())
            .and_then(|b| b.route("GET /echo/{id}", echo.clone()))
            .unwrap_or_else(|e| panic!("{e}"))
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let c = reqwest::Client::new();
        let url = |p: &str| format!("{}{p}", gw.base_url());
        // lambda-echo answers {"event": ...} without a statusCode: an invalid
        // integration answer, which API Gateway turns into a 500.
        let r = c
            .get(url("/echo/7"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 500);
        let r = c
            .post(url("/echo"))
            .body(r#"{"fail": "boom"}"#)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 500);
        let body: Value = r.json().await.unwrap_or_default();
        assert_eq!(body["message"], "Internal Server Error");
        let r = c
            .delete(url("/echo"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 404);
        assert_eq!(gw.stats().invocations.load(Ordering::SeqCst), 2);
        assert_eq!(gw.stats().gateway_errors.load(Ordering::SeqCst), 2);
    }

    const GW_SECRET: &str = "gw-secret-0123456789abcdef0123456789";

    #[tokio::test]
    async fn webhook_ingest_checks_signatures_on_the_gateway_clock() {
        let Some(endpoint) = crate::aws::endpoint_from_env() else {
            panic!("AWS_ENDPOINT_URL is not set: this test needs the local stack (make test)");
        };
        let sdk = crate::aws::local_sdk_config(&endpoint);
        let prefix = format!("apigw-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let tables = crate::TableNames::with_prefix(&prefix);
        let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        crate::create_tables(&crate::aws::dynamodb(&sdk), &template, &tables)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The webhook signing secret, a secret of its own (at least 32 bytes).
        let secret_id = format!("{prefix}/webhook");
        let secret = json!({ "webhookSecrets": [GW_SECRET] });
        crate::put_secret(
            &crate::aws::secretsmanager(&sdk),
            &secret_id,
            &secret.to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let mut env: Vec<(String, String)> = tables
            .env_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("WEBHOOK_SECRET_ID".into(), secret_id));
        env.push(("RUST_LOG".into(), "warn".into()));
        let ingest = Arc::new(
            FunctionProcess::spawn(binary("webhook-ingest"), env)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        // A simulated time far from the wall clock.
        let sim_now = DateTime::parse_from_rfc3339("2026-03-10T18:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let clock = ApiClock::settable(sim_now);
        let gw = ApiGateway::builder()
            .route("POST /webhooks/cxone", ingest)
            .unwrap_or_else(|e| panic!("{e}"))
            .clock(clock.clone())
            .start()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = format!("{}/webhooks/cxone", gw.base_url());
        let body = json!({"events": [
            {"eventId": format!("{prefix}-1"), "type": "contact.completed", "occurredAt": "2026-03-10T17:59:00Z",
             "skillId": 4201, "data": {"contactId": "1", "outcome": "success", "talkSeconds": 60, "wrapSeconds": 10}},
            {"eventId": format!("{prefix}-2"), "type": "contact.completed", "occurredAt": "2026-03-10T17:59:30Z",
             "skillId": 4201, "data": {"contactId": "2", "outcome": "failure", "talkSeconds": 30, "wrapSeconds": 5}}
        ]})
        .to_string();
        let post = |t: i64| {
            let sig =
                shared::webhook::signature::signature_header(&[GW_SECRET], t, body.as_bytes());
            reqwest::Client::new()
                .post(&url)
                .header("X-Signature", sig)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
        };
        let t = sim_now.timestamp();
        let r = post(t).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(
            (v["accepted"].as_u64(), v["duplicates"].as_u64()),
            (Some(2), Some(0))
        );
        let r = post(t + 60).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(
            (v["accepted"].as_u64(), v["duplicates"].as_u64()),
            (Some(0), Some(2))
        );
        // Signed at the wall clock's time: stale against the simulated clock.
        let r = post(Utc::now().timestamp())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401);
        // Move the gateway's clock: the old signature time is now stale too.
        clock.set(sim_now + chrono::Duration::minutes(10));
        let r = post(t).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401);
        assert_eq!(gw.stats().ok.load(Ordering::SeqCst), 2);
        assert_eq!(gw.stats().non_2xx.load(Ordering::SeqCst), 2);
    }
}
