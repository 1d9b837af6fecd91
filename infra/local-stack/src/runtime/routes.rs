//! The four routes of the Runtime API (`/2018-06-01/runtime/...`) a
//! function's runtime calls: `next`, an invocation's `response` and
//! `error`, and `init/error`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::api::{Outcome, Shared};
use super::{lock, MAX_RESPONSE_BYTES};

/// The Runtime API's routes over the emulator's state.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 2))
        .with_state(shared)
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "errorType": error_type, "errorMessage": message }).to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.next_polls.send_modify(|n| *n += 1);
    let queue = lock(&s.queue).clone();
    let mut rx = queue.rx.lock().await;
    loop {
        let Some(p) = rx.recv().await else {
            return runtime_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "emulator stopped",
            );
        };
        if p.reply.is_closed() {
            // The caller gave up before the function asked: skip it.
            continue;
        }
        lock(&s.inflight).insert(p.request_id.clone(), p.reply);
        let mut headers = HeaderMap::new();
        let hv =
            |v: &str| HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("Lambda-Runtime-Aws-Request-Id", hv(&p.request_id));
        headers.insert("Lambda-Runtime-Deadline-Ms", hv(&p.deadline_ms.to_string()));
        headers.insert("Lambda-Runtime-Invoked-Function-Arn", hv(&s.function_arn));
        headers.insert("Lambda-Runtime-Trace-Id", hv(&p.trace_id));
        return (StatusCode::OK, headers, p.payload).into_response();
    }
}

async fn response(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(reply) = lock(&s.inflight).remove(&id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or finished request id",
        );
    };
    if body.len() > MAX_RESPONSE_BYTES {
        let _ = reply.send(Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".into(),
            error_message: format!(
                "response of {} bytes exceeds the {MAX_RESPONSE_BYTES}-byte limit",
                body.len()
            ),
        });
        return runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "response too large",
        );
    }
    let _ = reply.send(Outcome::Response(body));
    accepted()
}

fn error_body(headers: &HeaderMap, body: &Bytes) -> (String, String) {
    let header_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => (
            v.get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(header_type)
                .unwrap_or_else(|| "Unknown".into()),
            v.get("errorMessage")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        Err(_) => (
            header_type.unwrap_or_else(|| "Unknown".into()),
            String::from_utf8_lossy(body).into_owned(),
        ),
    }
}

async fn invocation_error(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reply) = lock(&s.inflight).remove(&id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or finished request id",
        );
    };
    let (error_type, error_message) = error_body(&headers, &body);
    let _ = reply.send(Outcome::Error {
        error_type,
        error_message,
    });
    accepted()
}

async fn init_error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (error_type, error_message) = error_body(&headers, &body);
    tracing::warn!(%error_type, %error_message, "function reported an init error");
    s.init_error.send_replace(Some((error_type, error_message)));
    accepted()
}
