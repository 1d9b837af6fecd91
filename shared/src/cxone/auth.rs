//! Authentication: OpenID discovery, password and refresh grants, API host
//! discovery, and the cached token.
//!
//! The token lives in the client (shared through an `Arc`), so a warm Lambda
//! reuses it; it is refreshed [`refresh_margin`] before `expires_in` runs
//! out, and replaced with a password grant when the refresh fails. A token
//! endpoint that refuses the credentials (400/401) makes the client re-read
//! the secret once (rotation) before giving up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::{info, warn};

use super::de::{value_as_i64, value_as_string};
use super::error::CxoneError;
use super::settings::refresh_margin;
use super::transport::{error_message, parse_body, ErrorBody, RetryPolicy, Transport};
use crate::deadline::Deadline;
use crate::secret::{BundleSecret, SecretSource};

/// Lifetime assumed when the token answer has no usable `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Wait before trying again to renew a still valid token after a failed renewal.
const RENEWAL_RETRY_INTERVAL: Duration = Duration::from_secs(30);

const OPENID_DOCUMENT: &str = "openid-configuration";
const CXONE_DOCUMENT: &str = "cxone-configuration";
const TOKEN_LABEL: &str = "token";

/// Cached discovery results and token. Never printed.
#[derive(Default)]
struct AuthState {
    token_endpoint: Option<String>,
    /// API host from `cxone-configuration` (kept across tokens).
    discovered_api_endpoint: Option<String>,
    /// API host in use: the secret's `apiEndpoint` or the discovered one.
    api_endpoint: Option<String>,
    /// Tenant from the last `id_token` that had one.
    tenant_from_token: Option<String>,
    token: Option<Token>,
    generation: u64,
}

struct Token {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_at: Instant,
    refresh_at: Instant,
    generation: u64,
}

/// What one API call needs: the bearer token and the API host.
pub(crate) struct Session {
    pub(crate) access_token: SecretString,
    pub(crate) api_endpoint: String,
    pub(crate) generation: u64,
}

enum Grant<'a> {
    Password(&'a BundleSecret),
    Refresh(&'a BundleSecret, &'a SecretString),
}

/// A token answer, read field by field (never through typed serde errors,
/// which could quote a token in their message).
struct TokenAnswer {
    access: SecretString,
    refresh: Option<SecretString>,
    lifetime: Duration,
    tenant_id: Option<String>,
}

/// The `tenantId` claim of a JWT's payload, read without verifying the
/// signature (it only selects the API host; see docs/cxone-api.md, "Discovery").
pub fn tenant_id_from_jwt(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let trimmed = payload.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    ["tenantId", "tenant_id", "TenantId"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(value_as_string))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn normalize_endpoint(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_owned()
}

/// A client's authentication: the cached discovery results and token
/// (shared by the client's clones, so warm invocations reuse them), and
/// the secret they are obtained with. Requests go through the client's
/// [`Transport`].
pub(crate) struct Auth {
    state: Mutex<AuthState>,
    secrets: Arc<dyn SecretSource>,
}

impl Auth {
    /// Nothing cached yet; credentials from `secrets`.
    pub(crate) fn new(secrets: Arc<dyn SecretSource>) -> Self {
        Self {
            state: Mutex::new(AuthState::default()),
            secrets,
        }
    }

    /// A valid token and the API host, discovering and authenticating as needed.
    pub(crate) async fn session(
        &self,
        transport: &Transport,
        deadline: &Deadline,
    ) -> Result<Session, CxoneError> {
        let mut state = tokio::time::timeout(deadline.remaining(), self.state.lock())
            .await
            .map_err(|_| CxoneError::DeadlineExceeded {
                path: TOKEN_LABEL.into(),
                last_cause: None,
            })?;
        let renew = state
            .token
            .as_ref()
            .is_none_or(|t| Instant::now() >= t.refresh_at);
        if !renew {
            if let (Some(token), Some(api)) = (&state.token, &state.api_endpoint) {
                return Ok(Session {
                    access_token: token.access.clone(),
                    api_endpoint: api.clone(),
                    generation: token.generation,
                });
            }
        }
        if renew {
            self.renew_token(transport, &mut state, deadline).await?;
        }
        // The API host is resolved again with each new token (a rotated
        // secret may have changed `apiEndpoint`), and whenever it is unknown.
        if renew || state.api_endpoint.is_none() {
            let secret = self.secrets.current().await?;
            let api = resolve_api_endpoint(transport, &mut state, &secret, deadline).await?;
            state.api_endpoint = Some(api);
        }
        match (&state.token, &state.api_endpoint) {
            (Some(token), Some(api)) => Ok(Session {
                access_token: token.access.clone(),
                api_endpoint: api.clone(),
                generation: token.generation,
            }),
            _ => Err(CxoneError::Auth {
                status: None,
                error: None,
                message: "no token after authentication".into(),
                source: None,
            }),
        }
    }

    /// Replaces the cached token (refresh or password grant); keeps a still
    /// valid one when renewal fails.
    async fn renew_token(
        &self,
        transport: &Transport,
        state: &mut AuthState,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let old = state.token.take();
        match self
            .obtain_token(transport, state, old.as_ref(), deadline)
            .await
        {
            Ok(answer) => {
                state.generation += 1;
                let margin = refresh_margin(answer.lifetime);
                let now = Instant::now();
                if answer.tenant_id.is_some() {
                    state.tenant_from_token = answer.tenant_id;
                }
                info!(
                    expires_in_s = answer.lifetime.as_secs(),
                    generation = state.generation,
                    "obtained a CXone access token"
                );
                state.token = Some(Token {
                    access: answer.access,
                    refresh: answer.refresh,
                    expires_at: now + answer.lifetime,
                    refresh_at: now + answer.lifetime.saturating_sub(margin),
                    generation: state.generation,
                });
            }
            Err(err) => match old {
                // A still valid token is better than none while CXone's token
                // endpoint misbehaves; the next call tries again.
                Some(mut old) if Instant::now() + Duration::from_secs(1) < old.expires_at => {
                    warn!(error = %err, "could not renew the CXone token early; using the current one until it expires");
                    // Try again later, not on every call: half the time left, at most 30 s.
                    let now = Instant::now();
                    let left = old.expires_at.saturating_duration_since(now);
                    old.refresh_at = now + (left / 2).min(RENEWAL_RETRY_INTERVAL);
                    state.token = Some(old);
                }
                _ => return Err(err),
            },
        }
        Ok(())
    }

    /// Forgets the token of `generation` (CXone answered 401 with it), so the
    /// next call makes a password grant. A newer token is kept.
    pub(crate) async fn invalidate_token(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.token = None;
        }
    }

    /// Drops the cached token and discovery results (the client's
    /// `reset_auth`); the token generation goes on counting.
    pub(crate) async fn reset(&self) {
        let mut state = self.state.lock().await;
        let generation = state.generation;
        *state = AuthState::default();
        state.generation = generation;
    }

    /// A new token: refresh grant when there is a refresh token, else (or on
    /// failure) password grant, re-reading the secret once if refused.
    async fn obtain_token(
        &self,
        transport: &Transport,
        state: &mut AuthState,
        old: Option<&Token>,
        deadline: &Deadline,
    ) -> Result<TokenAnswer, CxoneError> {
        let token_endpoint = token_endpoint(transport, state, deadline).await?;
        let secret = self.secrets.current().await?;
        if let Some(refresh) = old.and_then(|t| t.refresh.as_ref()) {
            match token_request(
                transport,
                &token_endpoint,
                Grant::Refresh(&secret, refresh),
                deadline,
            )
            .await
            {
                Ok(answer) => return Ok(answer),
                Err(err @ CxoneError::DeadlineExceeded { .. }) => return Err(err),
                Err(err) => {
                    warn!(error = %err, "CXone token refresh failed; falling back to the password grant")
                }
            }
        }
        match token_request(
            transport,
            &token_endpoint,
            Grant::Password(&secret),
            deadline,
        )
        .await
        {
            Err(CxoneError::Auth {
                status: Some(400 | 401),
                error,
                ..
            }) => {
                warn!(
                    error = error.as_deref().unwrap_or("-"),
                    "CXone refused the credentials; re-reading the secret (rotation) and trying once more"
                );
                let fresh: Arc<BundleSecret> = self.secrets.refresh().await?;
                token_request(
                    transport,
                    &token_endpoint,
                    Grant::Password(&fresh),
                    deadline,
                )
                .await
            }
            other => other,
        }
    }
}

/// `token_endpoint` from `{issuer}/.well-known/openid-configuration` (cached).
async fn token_endpoint(
    transport: &Transport,
    state: &mut AuthState,
    deadline: &Deadline,
) -> Result<String, CxoneError> {
    if let Some(endpoint) = &state.token_endpoint {
        return Ok(endpoint.clone());
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        transport.settings.issuer
    );
    let document = discovery_get(transport, OPENID_DOCUMENT, &url, &[], deadline).await?;
    let endpoint = document
        .get("token_endpoint")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CxoneError::Discovery {
            document: OPENID_DOCUMENT,
            message: "no token_endpoint in the document".into(),
            source: None,
        })?;
    let parsed = url::Url::parse(endpoint).map_err(|e| CxoneError::Discovery {
        document: OPENID_DOCUMENT,
        message: "token_endpoint is not a URL".into(),
        source: Some(Box::new(e)),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CxoneError::Discovery {
            document: OPENID_DOCUMENT,
            message: "token_endpoint is not an http(s) URL".into(),
            source: None,
        });
    }
    state.token_endpoint = Some(endpoint.to_owned());
    Ok(endpoint.to_owned())
}

/// The API host: the secret's `apiEndpoint`, else the cached or freshly
/// discovered `api_endpoint` for the tenant (secret's `tenantId`, else
/// the `id_token`'s claim).
async fn resolve_api_endpoint(
    transport: &Transport,
    state: &mut AuthState,
    secret: &BundleSecret,
    deadline: &Deadline,
) -> Result<String, CxoneError> {
    if let Some(endpoint) = secret
        .api_endpoint
        .as_deref()
        .map(normalize_endpoint)
        .filter(|s| !s.is_empty())
    {
        return Ok(endpoint);
    }
    if let Some(endpoint) = &state.discovered_api_endpoint {
        return Ok(endpoint.clone());
    }
    let tenant = secret
            .tenant_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| state.tenant_from_token.clone())
            .ok_or_else(|| CxoneError::Discovery {
                document: CXONE_DOCUMENT,
                message: "no tenantId in the secret or the id_token; set tenantId or apiEndpoint in the secret".into(),
                source: None,
            })?;
    let url = format!(
        "{}/.well-known/cxone-configuration",
        transport.settings.issuer
    );
    let document = discovery_get(
        transport,
        CXONE_DOCUMENT,
        &url,
        &[("tenantId", tenant)],
        deadline,
    )
    .await?;
    let endpoint = document
        .get("api_endpoint")
        .and_then(Value::as_str)
        .map(normalize_endpoint)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CxoneError::Discovery {
            document: CXONE_DOCUMENT,
            message: "no api_endpoint in the document".into(),
            source: None,
        })?;
    url::Url::parse(&endpoint).map_err(|e| CxoneError::Discovery {
        document: CXONE_DOCUMENT,
        message: "api_endpoint is not a URL".into(),
        source: Some(Box::new(e)),
    })?;
    info!(api_endpoint = %endpoint, "discovered the CXone API host");
    state.discovered_api_endpoint = Some(endpoint.clone());
    Ok(endpoint)
}

/// GETs a well-known document (with retries) as JSON.
async fn discovery_get(
    transport: &Transport,
    document: &'static str,
    url: &str,
    query: &[(&str, String)],
    deadline: &Deadline,
) -> Result<Value, CxoneError> {
    let raw = transport
        .execute(document, RetryPolicy::Idempotent, deadline, |timeout| {
            let mut request = transport
                .http
                .get(url)
                .header(ACCEPT, "application/json")
                .timeout(timeout);
            if !query.is_empty() {
                request = request.query(query);
            }
            request
        })
        .await?;
    if !raw.status.is_success() {
        return Err(CxoneError::Discovery {
            document,
            message: format!(
                "HTTP {}: {}",
                raw.status.as_u16(),
                error_message(raw.status, &raw.body)
            ),
            source: None,
        });
    }
    parse_body(document, &raw.body).map_err(|e| CxoneError::Discovery {
        document,
        message: "the document is not JSON".into(),
        source: Some(Box::new(e)),
    })
}

/// One token request (with retries on throttling and outages). The form
/// body holds the credentials: it is never logged, and errors quote only
/// CXone's `error` / `errorDescription`.
async fn token_request(
    transport: &Transport,
    token_endpoint: &str,
    grant: Grant<'_>,
    deadline: &Deadline,
) -> Result<TokenAnswer, CxoneError> {
    let (secret, grant_name) = match &grant {
        Grant::Password(s) => (*s, "password"),
        Grant::Refresh(s, _) => (*s, "refresh_token"),
    };
    let raw = transport
        .execute(TOKEN_LABEL, RetryPolicy::Idempotent, deadline, |timeout| {
            let request = transport
                .http
                .post(token_endpoint)
                .basic_auth(
                    &secret.client_id,
                    Some(secret.client_secret.expose_secret()),
                )
                .header(ACCEPT, "application/json")
                .timeout(timeout);
            match &grant {
                Grant::Password(s) => request.form(&[
                    ("grant_type", "password"),
                    ("username", s.access_key_id.as_str()),
                    ("password", s.access_key_secret.expose_secret()),
                ]),
                Grant::Refresh(s, refresh) => request.form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                    ("client_id", s.client_id.as_str()),
                ]),
            }
        })
        .await?;
    if !raw.status.is_success() {
        let body = ErrorBody::parse(&raw.body);
        let status = raw.status;
        return Err(CxoneError::Auth {
            status: Some(status.as_u16()),
            error: body.error.clone(),
            message: format!(
                "{grant_name} grant refused with HTTP {}: {}",
                status.as_u16(),
                body.description
                    .or(body.message)
                    .or(body.error)
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
            ),
            source: None,
        });
    }
    read_token_answer(raw.status, &raw.body, grant_name)
}

fn read_token_answer(
    status: StatusCode,
    body: &str,
    grant_name: &str,
) -> Result<TokenAnswer, CxoneError> {
    let auth_error = |message: String| CxoneError::Auth {
        status: Some(status.as_u16()),
        error: None,
        message,
        source: None,
    };
    // Only the syntax of the body is judged here, so no error can quote a token.
    let value: Value = serde_json::from_str(body)
        .map_err(|_| auth_error(format!("{grant_name} grant answer is not JSON")))?;
    let access = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| auth_error(format!("{grant_name} grant answer has no access_token")))?;
    let refresh = value
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()));
    let lifetime = value
        .get("expires_in")
        .and_then(value_as_i64)
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s as u64))
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    let tenant_id = value
        .get("id_token")
        .and_then(Value::as_str)
        .and_then(tenant_id_from_jwt)
        .or_else(|| tenant_id_from_jwt(access));
    Ok(TokenAnswer {
        access: SecretString::from(access.to_owned()),
        refresh,
        lifetime,
        tenant_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            engine.encode(r#"{"alg":"RS256"}"#),
            engine.encode(payload)
        )
    }

    #[test]
    fn tenant_is_read_from_the_id_token() {
        assert_eq!(
            tenant_id_from_jwt(&jwt(r#"{"sub":"u","tenantId":"11eb-abc"}"#)).as_deref(),
            Some("11eb-abc")
        );
        assert_eq!(
            tenant_id_from_jwt(&jwt(r#"{"tenant_id":"t2"}"#)).as_deref(),
            Some("t2")
        );
        assert_eq!(tenant_id_from_jwt(&jwt(r#"{"sub":"u"}"#)), None);
        assert_eq!(tenant_id_from_jwt("not-a-jwt"), None);
        assert_eq!(tenant_id_from_jwt("a.!!!.c"), None);
        // padded payloads are accepted too
        let engine = base64::engine::general_purpose::URL_SAFE;
        let padded = format!("h.{}.s", engine.encode(r#"{"tenantId":"p"}"#));
        assert_eq!(tenant_id_from_jwt(&padded).as_deref(), Some("p"));
    }

    #[test]
    fn token_answers_are_read_without_quoting_tokens() {
        let body = format!(
            r#"{{"access_token":"AT-secret","token_type":"Bearer","refresh_token":"RT","expires_in":"120","id_token":"{}"}}"#,
            jwt(r#"{"tenantId":"tenant-x"}"#)
        );
        let answer = read_token_answer(StatusCode::OK, &body, "password").unwrap();
        assert_eq!(answer.access.expose_secret(), "AT-secret");
        assert_eq!(answer.lifetime, Duration::from_secs(120));
        assert_eq!(answer.tenant_id.as_deref(), Some("tenant-x"));
        let err = read_token_answer(
            StatusCode::OK,
            r#"{"access_token": 42, "x": "AT-secret"}"#,
            "password",
        )
        .err()
        .unwrap();
        assert!(!err.to_string().contains("AT-secret"));
        let err = read_token_answer(
            StatusCode::OK,
            r#"{"access_token": "AT-secret""#,
            "password",
        )
        .err()
        .unwrap();
        assert!(!err.to_string().contains("AT-secret"));
    }
}
