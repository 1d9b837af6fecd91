//! The admin API under `/admin` (no auth, never faulted, never logged): the
//! simulated clock, the webhook, ground truth and contacts, faults, the
//! request log, calling lists and a skill's whole state.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{admin_error, parse_time, query_map, rfc3339, App};
use crate::model::{Fault, FaultKind};
use crate::state::{CallList, SimState, MAX_ADVANCE_SECONDS};
use crate::webhook::{Batch, WebhookConfig};

// ----- clock ------------------------------------------------------------------

/// `GET /admin/clock` -> `{"now"}`.
pub(super) async fn clock(State(app): State<App>) -> Response {
    Json(json!({"now": rfc3339(app.lock().now)})).into_response()
}

/// `POST /admin/clock/advance` with `{"seconds"}` or `{"to"}`: moves the
/// clock, then delivers the webhook batches that fell due.
pub(super) async fn advance(State(app): State<App>, body: Bytes) -> Response {
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

/// The time an advance body asks for: `seconds` from now (at most 31
/// days) or `to` an RFC 3339 time, exactly one of them.
fn advance_target(st: &SimState, v: &Value) -> Result<DateTime<Utc>, String> {
    match (v.get("seconds"), v.get("to")) {
        (Some(s), None) => match s.as_f64() {
            Some(s) if s.is_finite() && s >= 0.0 && s <= MAX_ADVANCE_SECONDS as f64 => st
                .now
                .checked_add_signed(chrono::Duration::milliseconds((s * 1000.0).round() as i64))
                .ok_or_else(|| "the clock would leave the representable range".to_string()),
            _ => Err("seconds must be a non-negative number (at most 31 days)".into()),
        },
        (None, Some(t)) => t
            .as_str()
            .and_then(parse_time)
            .ok_or_else(|| "to must be an RFC 3339 time".to_string()),
        _ => Err("give exactly one of seconds or to".into()),
    }
}

// ----- webhook ----------------------------------------------------------------

/// Posts due webhook batches (no lock held while posting), puts back what
/// could not be delivered, and summarises the run for the advance's answer.
async fn deliver_due(app: &App, due: Option<(WebhookConfig, Vec<Batch>)>) -> Option<Value> {
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

/// The webhook's configuration (secret redacted), queue and counters.
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

/// `GET /admin/webhook`: the webhook's status.
pub(super) async fn webhook(State(app): State<App>) -> Response {
    Json(webhook_status(&app.lock())).into_response()
}

/// `PUT /admin/webhook` with a [`WebhookConfig`]: sets the webhook.
pub(super) async fn set_webhook(State(app): State<App>, body: Bytes) -> Response {
    let cfg: WebhookConfig = match serde_json::from_slice(&body) {
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

/// `DELETE /admin/webhook`: removes the webhook, discarding its queue.
pub(super) async fn clear_webhook(State(app): State<App>) -> Response {
    let _serial = app.delivery.lock().await;
    let mut st = app.lock();
    let discarded = st.webhook.clear();
    let mut v = webhook_status(&st);
    if let Some(o) = v.as_object_mut() {
        o.insert("discarded".into(), json!(discarded));
    }
    Json(v).into_response()
}

/// `POST /admin/webhook/flush`: delivers every queued event now.
pub(super) async fn flush_webhook(State(app): State<App>) -> Response {
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

// ----- truth and contacts -----------------------------------------------------

/// A skill id and an optional `[from, to)` range.
type RangeQuery = (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `skillId` (required), `from` and `to` (optional) of a query.
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

/// `GET /admin/contacts?skillId=&from=&to=`: completed contacts.
pub(super) async fn contacts(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let (id, from, to) = match skill_range(&q) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match app.lock().contacts(id, from, to) {
        Some(c) => Json(json!({"contacts": c})).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}

/// `GET /admin/truth?skillId=&from=&to=`: ground truth per minute and totals.
pub(super) async fn truth(State(app): State<App>, RawQuery(q): RawQuery) -> Response {
    let (id, from, to) = match skill_range(&q) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match app.lock().truth(id, from, to) {
        Some(t) => Json(t).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}

// ----- faults, requests, lists, skills ------------------------------------------

/// `PUT /admin/faults` with `{"faults": [...]}`: replaces the fault list.
pub(super) async fn set_faults(State(app): State<App>, body: Bytes) -> Response {
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

/// `DELETE /admin/faults`: clears the fault list.
pub(super) async fn clear_faults(State(app): State<App>) -> Response {
    app.lock().set_faults(Vec::new());
    Json(json!({"faults": 0})).into_response()
}

/// `GET /admin/lists`: every calling list with its uploaded rows.
pub(super) async fn lists(State(app): State<App>) -> Response {
    let st = app.lock();
    let lists: Vec<&CallList> = st.lists.values().collect();
    Json(json!({"lists": lists})).into_response()
}

/// `GET /admin/requests`: the log of non-admin requests.
pub(super) async fn requests(State(app): State<App>) -> Response {
    Json(json!({"requests": app.lock().requests})).into_response()
}

/// `DELETE /admin/requests`: empties the request log.
pub(super) async fn clear_requests(State(app): State<App>) -> Response {
    app.lock().requests.clear();
    Json(json!({"requests": []})).into_response()
}

/// `GET /admin/skills/{skillId}`: everything about a skill.
pub(super) async fn skill(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return admin_error(StatusCode::BAD_REQUEST, "skill id must be an integer");
    };
    match app.lock().skill_state(id) {
        Some(v) => Json(v).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("skill {id} not found")),
    }
}
