//! Skills: get, list (paged, searchable), create, start and stop, and the
//! reporting reads (activity now, summary over a period).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    json_body, ok, paging, parse_time, path_id, query_map, rfc3339, unknown_skill, ApiError,
    ApiResult, App, Page,
};
use crate::state::SimState;

/// `GET /skills/{skillId}`: one skill.
pub(super) async fn get_skill(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "skillId")?;
    let st = app.lock();
    let rt = st.skills.get(&id).ok_or_else(|| unknown_skill(id))?;
    ok(rt.skill_json())
}

/// `GET /skills?searchString=&top=&skip=`: a page of the skills whose name
/// contains the search string (any case).
pub(super) async fn list_skills(
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
    let links = Page {
        base: &st.base_url,
        version: &version,
        path: "/skills",
        top,
        skip,
        total,
    }
    .links(&q);
    ok(json!({
        "businessUnitId": 1,
        "lastPollTime": rfc3339(st.now),
        "totalRecords": total,
        "_links": links,
        "skills": page,
    }))
}

/// `POST /skills` with `{"skills": [...]}`: creates each skill, answering
/// per item (`200` with `errorCount` even when some fail).
pub(super) async fn create_skills(
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
        let simulated_failure = std::mem::take(&mut fail_first);
        match create_one_skill(&mut st, item, simulated_failure) {
            Ok(()) => results.push(json!({"success": true, "error": null})),
            Err(e) => {
                errors += 1;
                results.push(json!({"success": false, "error": e}));
            }
        }
    }
    ok(json!({"errorCount": errors, "skillsResults": results}))
}

/// Creates the skill one item of `POST /skills` describes, or says why not
/// (`simulated_failure`: an `itemErrors` fault fails it).
fn create_one_skill(
    st: &mut SimState,
    item: &Value,
    simulated_failure: bool,
) -> Result<(), String> {
    if simulated_failure {
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
}

/// `POST /skills/{skillId}/start`: the skill runs (`202`).
pub(super) async fn start_skill(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    set_running(&app, &p, true)
}

/// `POST /skills/{skillId}/stop?force=`: the skill stops (`202`).
pub(super) async fn stop_skill(
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

/// Starts or stops the skill of the path.
fn set_running(app: &App, p: &HashMap<String, String>, running: bool) -> ApiResult {
    let id = path_id(p, "skillId")?;
    let mut st = app.lock();
    let rt = st.skills.get_mut(&id).ok_or_else(|| unknown_skill(id))?;
    rt.running = running;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

/// `GET /skills/{skillId}/activity`: the skill's agent and queue counts now.
pub(super) async fn skill_activity(
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

/// `GET /skills/{skillId}/summary?startDate=&endDate=`: dials, connects,
/// abandons and handle times over the period, from the ground truth.
pub(super) async fn skill_summary(
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

/// Seconds as `HH:MM:SS` (rounded).
fn hhmmss(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Seconds as `HH:MM:SS.mmm` (rounded to the millisecond).
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
