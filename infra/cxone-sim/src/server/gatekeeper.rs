//! The middleware in front of every route: logs non-admin requests, injects
//! faults, and for CXone API calls checks the bearer token, the `Accept`
//! header and the version segment.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{token_error, ApiError, App};
use crate::model::{FaultKind, RequestLog};

/// Logs non-admin requests, injects faults, and for API calls checks the
/// bearer token, `Accept: application/json` and the version segment.
pub(super) async fn gatekeeper(State(app): State<App>, req: Request, next: Next) -> Response {
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

/// Answers one non-admin request: the injected fault's answer, a refusal of
/// the API's preconditions, or the route's own answer (held back when the
/// fault is `answerLost`).
async fn answer(
    app: &App,
    req: Request,
    next: Next,
    path: &str,
    fault: Option<FaultKind>,
) -> Response {
    if let Some(r) = inject_fault(app, fault.as_ref()).await {
        return r;
    }
    if path.starts_with("/inContactAPI/") {
        if let Some(r) = refuse_api_call(app, req.headers(), path) {
            return r;
        }
    }
    let response = next.run(req).await;
    if let Some(FaultKind::AnswerLost { delay_ms }) = fault {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    response
}

/// The answer a request-level fault puts in place of the route's, if any
/// (`slow` only waits and lets the request through).
async fn inject_fault(app: &App, fault: Option<&FaultKind>) -> Option<Response> {
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
            Some(r)
        }
        Some(FaultKind::ServerError { status }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some(ApiError::new(status, "ServerError", "Simulated server error").into_response())
        }
        Some(FaultKind::Unauthorized) => {
            app.lock().revoke_all();
            Some(
                ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Token revoked")
                    .into_response(),
            )
        }
        Some(FaultKind::TokenError) => Some(token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Simulated token endpoint failure",
        )),
        Some(FaultKind::Slow { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(*delay_ms)).await;
            None
        }
        Some(
            FaultKind::ItemErrors
            | FaultKind::PersonEdit { .. }
            | FaultKind::WebhookDuplicate
            | FaultKind::UploadJobFails
            | FaultKind::AnswerLost { .. },
        )
        | None => None,
    }
}

/// The refusal of a CXone API call without a valid bearer token (401), that
/// does not accept JSON (406) or names an unknown version (404); `None` lets
/// it through.
fn refuse_api_call(app: &App, headers: &HeaderMap, path: &str) -> Option<Response> {
    let authorised = match bearer(headers) {
        Some(t) => app.lock().token_valid(t),
        None => false,
    };
    if !authorised {
        return Some(
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Missing, invalid or expired bearer token",
            )
            .into_response(),
        );
    }
    if !accepts_json(headers) {
        return Some(
            ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "NotAcceptable",
                "No known way to render data",
            )
            .into_response(),
        );
    }
    if !valid_version(path) {
        return Some(ApiError::not_found("Unknown API version").into_response());
    }
    None
}

/// Whether the path's version segment reads `vMAJOR.MINOR`.
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

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether an `Accept` header admits `application/json`.
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
