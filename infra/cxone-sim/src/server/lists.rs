//! Calling lists: create a list, upload contacts to it (a base64 CSV), and
//! read the upload job.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use base64::Engine as _;
use serde_json::{json, Value};

use super::{json_body, ok, path_id, query_map, rfc3339, unknown_skill, ApiError, ApiResult, App};

/// `POST /lists/call-lists?listName=` with `{"destinationMappings": [...]}`:
/// a new, empty list.
pub(super) async fn create_list(
    State(app): State<App>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let q = query_map(&q);
    let name = q
        .get("listName")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("listName is required"))?;
    let v = json_body(&body)?;
    let maps = v
        .get("destinationMappings")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("destinationMappings must be a non-empty array"))?;
    for m in maps {
        if !(m.get("fieldName").is_some_and(Value::is_string)
            && m.get("fieldValue").is_some_and(Value::is_string))
        {
            return Err(ApiError::invalid(
                "each destinationMapping needs string fieldName and fieldValue",
            ));
        }
    }
    let id = app.lock().create_list(name);
    ok(json!({"listId": id}))
}

/// `POST /lists/call-lists/{listId}/upload` with `{"listFile", "skillId",
/// "expirationDate"?}`: the CSV's data rows (header skipped) are added by a
/// job that completes at once, or is cancelled by an `uploadJobFails` fault.
pub(super) async fn upload_list(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let list_id = path_id(&p, "listId")?;
    let v = json_body(&body)?;
    let file = v
        .get("listFile")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("listFile (base64 CSV) is required"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(file.trim())
        .map_err(|_| ApiError::invalid("listFile is not valid base64"))?;
    let text =
        String::from_utf8(raw).map_err(|_| ApiError::invalid("listFile is not UTF-8 text"))?;
    let rows: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .skip(1)
        .map(str::to_owned)
        .collect();
    let skill_id = v
        .get("skillId")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid("skillId must be an integer"))?;
    if let Some(d) = v.get("expirationDate") {
        let good = d
            .as_str()
            .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok());
        if !good {
            return Err(ApiError::invalid("expirationDate must be YYYY-MM-DD"));
        }
    }
    let mut st = app.lock();
    if !st.skills.contains_key(&skill_id) {
        return Err(unknown_skill(skill_id));
    }
    let failed = st.take_job_failure(&format!("lists/call-lists/{list_id}/upload"));
    let job = st
        .upload(list_id, skill_id, rows, failed)
        .ok_or_else(|| ApiError::not_found(format!("List {list_id} not found")))?;
    ok(json!({"jobId": job}))
}

/// `GET /lists/call-lists/jobs/{jobId}`: whether the upload completed.
pub(super) async fn upload_job(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let job_id = p.get("jobId").cloned().unwrap_or_default();
    let st = app.lock();
    let job = st
        .jobs
        .get(&job_id)
        .ok_or_else(|| ApiError::not_found(format!("Job {job_id} not found")))?;
    ok(json!({"uploadJobs": [{
        "jobId": job.job_id,
        "listId": job.list_id,
        "isComplete": !job.failed,
        "isCancelled": job.failed,
        "completedDate": rfc3339(job.completed),
    }]}))
}
