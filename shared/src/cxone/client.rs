//! The client core: one HTTP exchange with retries, API calls with
//! re-authentication, JSON decoding, item-error checks and paging.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::{debug, warn, Instrument};

use super::auth::AuthState;
use super::de::{value_as_bool, value_as_i64, value_as_string};
use super::error::{CxoneError, ItemError};
use super::settings::{ClientSettings, MIN_ATTEMPT_TIME, PAGE_SIZE};
use crate::deadline::Deadline;
use crate::secret::SecretSource;

/// Most pages followed for one list before the client gives up (a CXone
/// paging bug must not keep a Lambda busy until its deadline).
const MAX_PAGES: usize = 1_000;
/// Longest error text kept from a CXone answer.
const MAX_MESSAGE_CHARS: usize = 500;

/// Which failures a request may be retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Reads, PUTs of settings, start/stop: retried on 429, 502, 503, 504,
    /// timeouts and connection errors.
    Idempotent,
    /// Creations (skills, lists, uploads): retried only when CXone surely did
    /// not act: 429, 503 and failures to connect. A timeout, 502 or 504 may
    /// hide a request that was applied, so it is reported, not repeated.
    NotIdempotent,
}

/// A CXone answer that the retry loop hands back (anything not retried).
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// The body as text.
    pub body: String,
}

/// The NICE CXone REST client.
///
/// Cheap to clone (an `Arc` inside): build it once per cold start and share
/// it, so that OpenID discovery, the API host and the access token are cached
/// across warm invocations. Every call takes the invocation [`Deadline`];
/// no wait or retry ever runs past it.
#[derive(Clone)]
pub struct CxoneClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) settings: ClientSettings,
    pub(crate) http: reqwest::Client,
    pub(crate) secrets: Arc<dyn SecretSource>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) retries: AtomicU64,
}

impl fmt::Debug for CxoneClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CxoneClient")
            .field("issuer", &self.inner.settings.issuer)
            .field("api_version", &self.inner.settings.api_version)
            .field("retries", &self.retries())
            .finish_non_exhaustive()
    }
}

impl CxoneClient {
    /// A client for `settings`, reading credentials from `secrets`.
    ///
    /// Nothing is fetched yet: discovery and the first token happen on the
    /// first call. Fails only when the settings are unusable.
    pub fn new(
        settings: ClientSettings,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, CxoneError> {
        let issuer =
            url::Url::parse(&settings.issuer).map_err(|e| CxoneError::InvalidSettings {
                message: "issuer is not a URL".into(),
                source: Some(Box::new(e)),
            })?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(CxoneError::InvalidSettings {
                message: "issuer must be an http(s) URL".into(),
                source: None,
            });
        }
        if settings.api_version.is_empty()
            || !settings
                .api_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        {
            return Err(CxoneError::InvalidSettings {
                message: "api_version must look like v30.0".into(),
                source: None,
            });
        }
        if settings.request_timeout.is_zero() {
            return Err(CxoneError::InvalidSettings {
                message: "request_timeout must be positive".into(),
                source: None,
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("outbound-autopilot/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CxoneError::InvalidSettings {
                message: "could not build the HTTP client".into(),
                source: Some(Box::new(e.without_url())),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                http,
                secrets,
                auth: Mutex::new(AuthState::default()),
                retries: AtomicU64::new(0),
            }),
        })
    }

    /// The settings this client runs with.
    pub fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    /// Retries performed since the client was built (backoff retries and
    /// re-authentications after a 401), for the CloudWatch metric.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    pub(crate) fn count_retry(&self) {
        self.inner.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// One HTTP exchange with retries on throttling, outages and timeouts,
    /// bounded by `deadline`. `build` makes the request for a given
    /// per-attempt timeout. Any answer that is not retried (including 4xx)
    /// is returned for the caller to interpret.
    pub(crate) async fn execute<F>(
        &self,
        label: &str,
        policy: RetryPolicy,
        deadline: &Deadline,
        build: F,
    ) -> Result<RawResponse, CxoneError>
    where
        F: Fn(Duration) -> reqwest::RequestBuilder,
    {
        let settings = &self.inner.settings;
        let mut attempt: u32 = 0;
        let mut last_cause: Option<CxoneError> = None;
        loop {
            attempt += 1;
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(deadline_exceeded(label, last_cause));
            }
            let limited_by_deadline = remaining < settings.request_timeout;
            let timeout = remaining.min(settings.request_timeout);
            let outcome = async {
                let response = build(timeout).send().await?;
                let status = response.status();
                let retry_after = parse_retry_after(response.headers());
                let body = response.text().await?;
                Ok::<_, reqwest::Error>((RawResponse { status, body }, retry_after))
            }
            .await;

            let (cause, retry_after, status) = match outcome {
                Ok((raw, retry_after)) => {
                    let code = raw.status.as_u16();
                    let retryable = match code {
                        429 | 503 => true,
                        502 | 504 => policy == RetryPolicy::Idempotent,
                        _ => false,
                    };
                    if !retryable {
                        return Ok(raw);
                    }
                    let cause = if code == 429 {
                        CxoneError::RateLimited {
                            path: label.to_owned(),
                            attempts: attempt,
                            retry_after,
                        }
                    } else {
                        CxoneError::Unavailable {
                            path: label.to_owned(),
                            status: code,
                            attempts: attempt,
                            message: error_message(raw.status, &raw.body),
                        }
                    };
                    (cause, retry_after, Some(code))
                }
                Err(err) => {
                    let err = err.without_url();
                    if err.is_timeout() {
                        let cause = CxoneError::Timeout {
                            path: label.to_owned(),
                            attempts: attempt,
                            timeout,
                        };
                        if limited_by_deadline {
                            return Err(deadline_exceeded(label, Some(cause)));
                        }
                        if policy == RetryPolicy::NotIdempotent {
                            return Err(cause);
                        }
                        (cause, None, None)
                    } else {
                        let connect = err.is_connect();
                        let cause = CxoneError::Transport {
                            path: label.to_owned(),
                            source: err,
                        };
                        if !connect && policy == RetryPolicy::NotIdempotent {
                            return Err(cause);
                        }
                        (cause, None, None)
                    }
                }
            };

            let retry_index = (attempt - 1) as usize;
            let wait = {
                let mut rng = rand::rng();
                match retry_after {
                    Some(ra) if retry_index < settings.retry_backoff.len() => {
                        Some(settings.retry_after_wait(ra, &mut rng))
                    }
                    _ => settings.backoff(retry_index, &mut rng),
                }
            };
            let Some(wait) = wait else {
                return Err(cause);
            };
            if !deadline.allows(wait, MIN_ATTEMPT_TIME) {
                debug!(
                    path = label,
                    wait_ms = wait.as_millis() as u64,
                    "no time left for another CXone attempt"
                );
                return Err(deadline_exceeded(label, Some(cause)));
            }
            warn!(
                path = label,
                status = status.unwrap_or(0),
                attempt,
                wait_ms = wait.as_millis() as u64,
                cause = %cause,
                "CXone call failed; retrying"
            );
            self.count_retry();
            tokio::time::sleep(wait).await;
            last_cause = Some(cause);
        }
    }

    /// One API call: `{api_endpoint}/inContactAPI/services/{version}/{path}`
    /// with the bearer token, retried per `policy`, re-authenticated once on
    /// a 401. Returns 2xx (and 304) answers; anything else becomes an error.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        policy: RetryPolicy,
        deadline: &Deadline,
    ) -> Result<RawResponse, CxoneError> {
        let span = tracing::info_span!("cxone_call", method = %method, path = path);
        async {
            let mut reauthenticated = false;
            loop {
                let session = self.session(deadline).await?;
                let url = format!(
                    "{}/inContactAPI/services/{}/{}",
                    session.api_endpoint,
                    self.inner.settings.api_version,
                    path.trim_start_matches('/')
                );
                let raw = self
                    .execute(path, policy, deadline, |timeout| {
                        let mut request = self
                            .inner
                            .http
                            .request(method.clone(), &url)
                            .bearer_auth(session.access_token.expose_secret())
                            .header(ACCEPT, "application/json")
                            .timeout(timeout);
                        if !query.is_empty() {
                            request = request.query(query);
                        }
                        if let Some(body) = body {
                            request = request.json(body);
                        }
                        request
                    })
                    .await?;
                if raw.status == StatusCode::UNAUTHORIZED && !reauthenticated {
                    warn!(
                        path,
                        "CXone answered 401; getting a new token and retrying once"
                    );
                    self.invalidate_token(session.generation).await;
                    self.count_retry();
                    reauthenticated = true;
                    continue;
                }
                if raw.status.is_success() || raw.status == StatusCode::NOT_MODIFIED {
                    debug!(path, status = raw.status.as_u16(), "CXone call succeeded");
                    return Ok(raw);
                }
                return Err(api_error(&method, path, &raw));
            }
        }
        .instrument(span)
        .await
    }

    /// A call whose 2xx answer is JSON: decoded as `T` after the item-error check.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        policy: RetryPolicy,
        deadline: &Deadline,
    ) -> Result<T, CxoneError> {
        let raw = self
            .call(method, path, query, body, policy, deadline)
            .await?;
        let value = parse_body(path, &raw.body)?;
        check_item_errors(path, &value)?;
        serde_json::from_value(value).map_err(|source| CxoneError::Decode {
            path: path.to_owned(),
            source,
        })
    }

    /// A call whose answer body does not matter beyond the item-error check
    /// (writes, start/stop).
    pub(crate) async fn call_unit(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        policy: RetryPolicy,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let raw = self
            .call(method, path, query, body, policy, deadline)
            .await?;
        if let Ok(value) = serde_json::from_str::<Value>(&raw.body) {
            check_item_errors(path, &value)?;
        }
        Ok(())
    }

    /// Every item of a paged list: `top=100`, `skip` advanced page by page
    /// while `_links.next` (or `totalRecords`) says there is more. Items are
    /// read from `key` at the top level or under `resultSet`.
    pub(crate) async fn get_all_pages(
        &self,
        path: &str,
        query: &[(&str, String)],
        key: &str,
        deadline: &Deadline,
    ) -> Result<Vec<Value>, CxoneError> {
        let mut items: Vec<Value> = Vec::new();
        let mut skip: u64 = 0;
        for _page in 0..MAX_PAGES {
            let mut page_query: Vec<(&str, String)> = query.to_vec();
            page_query.push(("top", PAGE_SIZE.to_string()));
            page_query.push(("skip", skip.to_string()));
            let raw = self
                .call(
                    Method::GET,
                    path,
                    &page_query,
                    None,
                    RetryPolicy::Idempotent,
                    deadline,
                )
                .await?;
            if raw.status == StatusCode::NO_CONTENT
                || raw.status == StatusCode::NOT_MODIFIED
                || raw.body.trim().is_empty()
            {
                return Ok(items);
            }
            let value = parse_body(path, &raw.body)?;
            let page = PageInfo::read(&value, key);
            let count = page.items.len() as u64;
            items.extend(page.items);
            let more_by_total = page.total.is_some_and(|t| (items.len() as u64) < t);
            let reached_total = page.total.is_some_and(|t| (items.len() as u64) >= t);
            if count == 0 || reached_total || (page.next.is_none() && !more_by_total) {
                return Ok(items);
            }
            let next_skip = page
                .next
                .as_deref()
                .and_then(skip_from_link)
                .filter(|s| *s > skip)
                .unwrap_or(skip + count);
            skip = next_skip;
        }
        Err(CxoneError::Unexpected {
            path: path.to_owned(),
            message: format!("paging did not end after {MAX_PAGES} pages"),
        })
    }
}

/// What a page of a list says about itself.
#[derive(Debug, Default)]
pub(crate) struct PageInfo {
    pub items: Vec<Value>,
    pub total: Option<u64>,
    pub next: Option<String>,
}

impl PageInfo {
    /// Reads the items under `key` (top level or `resultSet`), `totalRecords`
    /// (number or string) and `_links.next` from a page.
    pub(crate) fn read(value: &Value, key: &str) -> Self {
        let scopes = [Some(value), value.get("resultSet")];
        let mut info = PageInfo::default();
        for scope in scopes.into_iter().flatten() {
            if info.items.is_empty() {
                if let Some(Value::Array(list)) = scope.get(key) {
                    info.items = list.clone();
                }
            }
            if info.total.is_none() {
                info.total = scope
                    .get("totalRecords")
                    .and_then(value_as_i64)
                    .and_then(|t| u64::try_from(t).ok());
            }
            if info.next.is_none() {
                info.next = scope
                    .get("_links")
                    .and_then(|l| l.get("next"))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
            }
        }
        info
    }
}

/// The `skip` of a `_links.next` URL (absolute or relative), if it has one.
/// Only the offset is taken from the link: the request itself is always
/// rebuilt against the discovered API host, so a token never follows a link
/// to another host.
pub(crate) fn skip_from_link(link: &str) -> Option<u64> {
    let query = link.split_once('?').map(|(_, q)| q)?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("skip"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
}

fn deadline_exceeded(label: &str, last_cause: Option<CxoneError>) -> CxoneError {
    CxoneError::DeadlineExceeded {
        path: label.to_owned(),
        last_cause: last_cause.map(Box::new),
    }
}

/// `Retry-After` as seconds (integer or decimal) or an HTTP date.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(86_400)),
    )
}

/// Parses a 2xx body as JSON (an empty body is `null`).
pub(crate) fn parse_body(path: &str, body: &str) -> Result<Value, CxoneError> {
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body).map_err(|source| CxoneError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// The fields of a CXone error body.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub error: Option<String>,
    pub description: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
    pub correlation_id: Option<String>,
}

impl ErrorBody {
    /// Reads `{error, error_description | errorDescription, message, code,
    /// correlationId}`; a body that is not a JSON object gives an empty one.
    pub(crate) fn parse(body: &str) -> Self {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return Self::default();
        };
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| map.get(*n).and_then(value_as_string))
                .map(|s| truncate(s.trim()))
                .filter(|s| !s.is_empty())
        };
        Self {
            error: field(&["error"]),
            description: field(&["error_description", "errorDescription"]),
            message: field(&["message", "Message"]),
            code: field(&["code", "errorCode"]),
            correlation_id: field(&["correlationId", "correlationID", "correlation_id"]),
        }
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    }
}

/// A human message for an error answer: CXone's description or message,
/// else the status text.
pub(crate) fn error_message(status: StatusCode, body: &str) -> String {
    let parsed = ErrorBody::parse(body);
    parsed
        .description
        .or(parsed.message)
        .or(parsed.error)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
}

/// The error for a non-2xx API answer.
pub(crate) fn api_error(method: &Method, path: &str, raw: &RawResponse) -> CxoneError {
    let parsed = ErrorBody::parse(&raw.body);
    let message = parsed
        .description
        .clone()
        .or(parsed.message.clone())
        .or(parsed.error.clone())
        .unwrap_or_else(|| raw.status.canonical_reason().unwrap_or("error").to_owned());
    if raw.status == StatusCode::NOT_FOUND {
        return CxoneError::NotFound {
            path: path.to_owned(),
            message,
        };
    }
    CxoneError::Api {
        method: method.to_string(),
        status: raw.status.as_u16(),
        path: path.to_owned(),
        code: symbolic_code(parsed.error, parsed.code),
        message,
        correlation_id: parsed.correlation_id,
    }
}

/// The error's symbolic name: CXone's `error` or `code`, preferring one
/// that is not just a number (some answers put the HTTP status in `code`).
fn symbolic_code(error: Option<String>, code: Option<String>) -> Option<String> {
    let numeric = |s: &String| s.chars().all(|c| c.is_ascii_digit());
    match (error, code) {
        (Some(e), _) if !numeric(&e) => Some(e),
        (_, Some(c)) if !numeric(&c) => Some(c),
        (e, c) => c.or(e),
    }
}

/// Fails when a 200 answer reports per-item failures: `errorCount > 0` or a
/// `...Results[]` entry with `success: false`, at the top level or under
/// `resultSet`.
pub(crate) fn check_item_errors(path: &str, value: &Value) -> Result<(), CxoneError> {
    let mut count: u64 = 0;
    let mut errors: Vec<ItemError> = Vec::new();
    for scope in [Some(value), value.get("resultSet")].into_iter().flatten() {
        let Some(map) = scope.as_object() else {
            continue;
        };
        if let Some(n) = map.get("errorCount").and_then(value_as_i64) {
            count = count.max(u64::try_from(n).unwrap_or(0));
        }
        for (key, list) in map {
            if !key.ends_with("Results") {
                continue;
            }
            let Some(list) = list.as_array() else {
                continue;
            };
            for (index, item) in list.iter().enumerate() {
                if item.get("success").and_then(value_as_bool) == Some(false) {
                    let error = item
                        .get("error")
                        .or_else(|| item.get("errorMessage"))
                        .or_else(|| item.get("message"))
                        .and_then(value_as_string)
                        .map(|s| truncate(&s))
                        .unwrap_or_else(|| "item failed without an error text".into());
                    errors.push(ItemError {
                        index: Some(index),
                        error,
                    });
                }
            }
        }
    }
    if count == 0 && errors.is_empty() {
        return Ok(());
    }
    if errors.is_empty() {
        errors.push(ItemError {
            index: None,
            error: format!("errorCount {count} without item details"),
        });
    }
    Err(CxoneError::ItemErrors {
        path: path.to_owned(),
        count: count.max(errors.len() as u64),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn total_records_as_string_or_number() {
        let a = PageInfo::read(
            &json!({"totalRecords": "120", "agentStates": [1, 2]}),
            "agentStates",
        );
        assert_eq!(a.total, Some(120));
        assert_eq!(a.items.len(), 2);
        let b = PageInfo::read(
            &json!({"totalRecords": 120, "_links": {"next": "https://h/x?top=100&skip=100"}}),
            "agentStates",
        );
        assert_eq!(b.total, Some(120));
        assert_eq!(b.next.as_deref(), Some("https://h/x?top=100&skip=100"));
        let c = PageInfo::read(
            &json!({"resultSet": {"totalRecords": "3", "skills": [{}]}, "_links": {"next": null}}),
            "skills",
        );
        assert_eq!(c.total, Some(3));
        assert_eq!(c.items.len(), 1);
        assert!(c.next.is_none());
    }

    #[test]
    fn skip_is_read_from_next_links() {
        assert_eq!(
            skip_from_link(
                "https://api/inContactAPI/services/v30.0/agents/states?top=100&skip=200"
            ),
            Some(200)
        );
        assert_eq!(skip_from_link("/agents/states?Skip=100"), Some(100));
        assert_eq!(skip_from_link("https://api/agents/states"), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn item_errors_are_found() {
        assert!(check_item_errors(
            "skills",
            &json!({"errorCount": 0, "skillsResults": [{"success": true}]})
        )
        .is_ok());
        let err = check_item_errors(
            "skills",
            &json!({"errorCount": "1", "skillsResults": [{"success": true}, {"success": "false", "error": "Duplicate skill name"}]}),
        )
        .unwrap_err();
        match err {
            CxoneError::ItemErrors { count, errors, .. } => {
                assert_eq!(count, 1);
                assert_eq!(errors[0].index, Some(1));
                assert_eq!(errors[0].error, "Duplicate skill name");
            }
            other => panic!("{other:?}"),
        }
        let err = check_item_errors(
            "x",
            &json!({"resultSet": {"errorCount": 2, "agentResults": []}}),
        )
        .unwrap_err();
        assert!(matches!(err, CxoneError::ItemErrors { count: 2, .. }));
        assert!(check_item_errors("x", &json!([1, 2])).is_ok());
    }

    #[test]
    fn error_bodies_are_parsed() {
        let raw = RawResponse {
            status: StatusCode::BAD_REQUEST,
            body: r#"{"error":"InvalidParameter","error_description":"maximumRatio out of range","code":400,"correlationId":"abc"}"#.into(),
        };
        match api_error(&Method::PUT, "skills/1/parameters/general-settings", &raw) {
            CxoneError::Api {
                status,
                code,
                message,
                correlation_id,
                ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(code.as_deref(), Some("InvalidParameter"));
                assert_eq!(message, "maximumRatio out of range");
                assert_eq!(correlation_id.as_deref(), Some("abc"));
            }
            other => panic!("{other:?}"),
        }
        let raw = RawResponse {
            status: StatusCode::NOT_FOUND,
            body: "<html>".into(),
        };
        assert!(api_error(&Method::GET, "skills/9", &raw).is_not_found());
    }
}
