//! Discovery (`/.well-known/openid-configuration`,
//! `/.well-known/cxone-configuration`) and the token endpoint (`/auth/token`,
//! password and refresh-token grants).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use chrono::Utc;
use serde_json::{json, Value};

use super::{ok, query_map, token_error, ApiError, ApiResult, App};
use crate::state::SimState;

/// `GET /.well-known/openid-configuration`: the issuer and its endpoints.
pub(super) async fn openid_configuration(State(app): State<App>) -> Response {
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

/// `GET /.well-known/cxone-configuration?tenantId=`: the tenant's endpoints.
pub(super) async fn cxone_configuration(
    State(app): State<App>,
    RawQuery(q): RawQuery,
) -> ApiResult {
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

/// The client id and secret of an `Authorization: Basic` header.
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

/// A JSON value as unpadded base64url (a JWT segment).
fn b64url(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `POST /auth/token` (form body): checks the grant, then issues a fresh
/// access/refresh pair with an unsigned id token.
pub(super) async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut st = app.lock();
    let client = basic_auth(&headers);
    let granted = match form.get("grant_type").map(String::as_str) {
        Some("password") => check_password_grant(&st, client, &form),
        Some("refresh_token") => check_refresh_grant(&mut st, client, &form),
        Some(_) => Err(Refusal(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        )),
        None => Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        )),
    };
    match granted {
        Ok(()) => issue_tokens(&mut st),
        Err(Refusal(status, error, description)) => token_error(status, error, description),
    }
}

/// Why the token endpoint refuses a grant: status, `error` and
/// `errorDescription`.
struct Refusal(StatusCode, &'static str, &'static str);

/// The password grant: HTTP Basic client credentials, then the access key
/// as `username`/`password`.
fn check_password_grant(
    st: &SimState,
    client: Option<(String, String)>,
    form: &HashMap<String, String>,
) -> Result<(), Refusal> {
    let Some((cid, csecret)) = client else {
        return Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "HTTP Basic client authentication is required",
        ));
    };
    if cid != st.creds.client_id || csecret != st.creds.client_secret {
        return Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown client or wrong client secret",
        ));
    }
    let (Some(user), Some(pass)) = (form.get("username"), form.get("password")) else {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        ));
    };
    if *user != st.creds.access_key_id || *pass != st.creds.access_key_secret {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid access key",
        ));
    }
    Ok(())
}

/// The refresh-token grant: the client (Basic or `client_id`), then a
/// refresh token that is consumed (single use).
fn check_refresh_grant(
    st: &mut SimState,
    client: Option<(String, String)>,
    form: &HashMap<String, String>,
) -> Result<(), Refusal> {
    let cid = client
        .map(|c| c.0)
        .or_else(|| form.get("client_id").cloned());
    if cid.as_deref() != Some(st.creds.client_id.as_str()) {
        return Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown client",
        ));
    }
    let Some(rt) = form.get("refresh_token") else {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    if !st.use_refresh_token(rt) {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid or revoked refresh token",
        ));
    }
    Ok(())
}

/// The token answer: a fresh access/refresh pair and an unsigned id token
/// naming the tenant.
fn issue_tokens(st: &mut SimState) -> Response {
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
