//! A skill's parameters: general settings (read, and patched field by
//! field), schedule settings (patched, then checked as CXone does) and
//! time-zone windows (replaced).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{json, Value};

use super::{json_body, object_field, ok, path_id, unknown_skill, ApiError, ApiResult, App};
use crate::settings;

/// `GET /skills/{skillId}/parameters/general-settings`; the read counts
/// towards `personEdit` faults, applied after it is answered.
pub(super) async fn get_general(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let mut st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    let body = Value::Object(rt.general.clone());
    st.after_general_read(id);
    ok(body)
}

/// `PUT /skills/{skillId}/parameters/general-settings` with
/// `{"generalSettings": {...}}`: merged over the current settings.
pub(super) async fn put_general(
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

/// `GET /skills/{skillId}/parameters/schedule-settings`.
pub(super) async fn get_schedule(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(Value::Object(rt.schedule.clone()))
}

/// `PUT /skills/{skillId}/parameters/schedule-settings` with
/// `{"scheduleSettings": {...}}`: merged, and refused as a whole when the
/// result breaks CXone's rules.
pub(super) async fn put_schedule(
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

/// `GET /skills/{skillId}/parameters/time-zones`.
pub(super) async fn get_time_zones(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(json!({"timeZoneSettings": rt.time_zones}))
}

/// `PUT /skills/{skillId}/parameters/time-zones` with
/// `{"timeZoneSettings": [...]}`: replaces the windows.
pub(super) async fn put_time_zones(
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
