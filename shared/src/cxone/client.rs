//! The client core: API calls with re-authentication, JSON decoding,
//! item-error checks and paging. Each HTTP exchange (with its retries) is
//! [`super::transport`]'s, the token and API host [`super::auth`]'s; neither
//! of them uses this module.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{debug, warn, Instrument};

use super::auth::Auth;
use super::de::{value_as_bool, value_as_i64, value_as_string};
use super::error::{CxoneError, ItemError};
use super::settings::{ClientSettings, PAGE_SIZE};
use super::transport::{parse_body, truncate, ErrorBody, RawResponse, RetryPolicy, Transport};
use crate::deadline::Deadline;
use crate::secret::SecretSource;
use crate::store::rate_budget::RateBudget;

/// Most pages followed for one list before the client gives up (a CXone
/// paging bug must not keep a Lambda busy until its deadline).
const MAX_PAGES: usize = 1_000;

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

/// What the clones of a client share: the HTTP side and the authentication.
pub(crate) struct Inner {
    /// Settings, connection pool, retry count.
    pub(crate) transport: Transport,
    /// The cached discovery results and token, and the secret.
    pub(crate) auth: Auth,
}

impl fmt::Debug for CxoneClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CxoneClient")
            .field("issuer", &self.inner.transport.settings.issuer)
            .field("api_version", &self.inner.transport.settings.api_version)
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
                transport: Transport::new(settings, http),
                auth: Auth::new(secrets),
            }),
        })
    }

    /// Makes every call of this client (and of its clones) wait for its
    /// place in `budget`, the calls per second shared with every other
    /// invocation, and tell it of CXone's 429 answers. Set once, before the
    /// first call; a second budget is ignored.
    #[must_use]
    pub fn with_rate_budget(self, budget: Arc<RateBudget>) -> Self {
        if self.inner.transport.budget.set(budget).is_err() {
            warn!("the CXone client already has a call budget; the new one is ignored");
        }
        self
    }

    /// The settings this client runs with.
    pub fn settings(&self) -> &ClientSettings {
        &self.inner.transport.settings
    }

    /// Retries performed since the client was built (backoff retries and
    /// re-authentications after a 401), for the CloudWatch metric.
    pub fn retries(&self) -> u64 {
        self.inner.transport.retries()
    }

    /// Drops the cached token and discovery results (for tools and tests);
    /// the next call starts from discovery again.
    pub async fn reset_auth(&self) {
        self.inner.auth.reset().await;
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
                let session = self
                    .inner
                    .auth
                    .session(&self.inner.transport, deadline)
                    .await?;
                let url = format!(
                    "{}/inContactAPI/services/{}/{}",
                    session.api_endpoint,
                    self.inner.transport.settings.api_version,
                    path.trim_start_matches('/')
                );
                let raw = self
                    .inner
                    .transport
                    .execute(path, policy, deadline, |timeout| {
                        let mut request = self
                            .inner
                            .transport
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
                    self.inner.auth.invalidate_token(session.generation).await;
                    self.inner.transport.count_retry();
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
