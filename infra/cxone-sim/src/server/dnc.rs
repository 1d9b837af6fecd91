//! Do-not-call groups: the groups, the skills each scrubs (read and added
//! to), and a search by phone number.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use serde_json::{json, Value};

use super::{json_body, ok, path_id, query_map, unknown_skill, ApiError, ApiResult, App};

/// `GET /dnc-groups`: every group with its count of numbers.
pub(super) async fn dnc_groups(State(app): State<App>) -> ApiResult {
    let st = app.lock();
    let groups: Vec<Value> = st
        .dnc_groups
        .iter()
        .map(|g| {
            json!({
                "dncGroupId": g.dnc_group_id,
                "dncGroupName": g.dnc_group_name,
                "isActive": g.is_active,
                "isRemoved": g.is_removed,
                "validRecords": g.phone_numbers.len(),
            })
        })
        .collect();
    ok(json!({"resultSet": {"totalGroups": groups.len(), "dncGroups": groups}}))
}

/// `GET /dnc-groups/{groupId}/scrubbed-skills`: the skills the group scrubs.
pub(super) async fn scrubbed_skills(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
) -> ApiResult {
    let id = path_id(&p, "groupId")?;
    let st = app.lock();
    let g = st
        .dnc_groups
        .iter()
        .find(|g| g.dnc_group_id == id)
        .ok_or_else(|| ApiError::not_found(format!("DNC group {id} not found")))?;
    let skills: Vec<Value> = g
        .scrubbed_skills
        .iter()
        .map(|s| {
            let name = st
                .skills
                .get(s)
                .map(|rt| rt.sc.skill_name.clone())
                .unwrap_or_default();
            json!({"skillId": s, "skillName": name})
        })
        .collect();
    ok(json!({"scrubbedSkills": skills}))
}

/// `POST /dnc-groups/{groupId}/scrubbed-skills` with `{"skills": [{"skillId"}]}`:
/// the group scrubs those skills too (one already scrubbed stays once).
pub(super) async fn add_scrubbed_skills(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let id = path_id(&p, "groupId")?;
    let v = json_body(&body)?;
    let items = v
        .get("skills")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("body must be {\"skills\": [{\"skillId\": ...}]}"))?;
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let skill = item
            .get("skillId")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::invalid("each skill needs an integer skillId"))?;
        ids.push(skill);
    }
    let mut st = app.lock();
    if let Some(unknown) = ids.iter().find(|s| !st.skills.contains_key(s)) {
        return Err(unknown_skill(*unknown));
    }
    let g = st
        .dnc_groups
        .iter_mut()
        .find(|g| g.dnc_group_id == id)
        .ok_or_else(|| ApiError::not_found(format!("DNC group {id} not found")))?;
    for skill in ids {
        if !g.scrubbed_skills.contains(&skill) {
            g.scrubbed_skills.push(skill);
        }
    }
    ok(json!({}))
}

/// The digits of a phone number, a leading `1` of an 11-digit North
/// American number dropped.
fn digits(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    d.strip_prefix('1')
        .filter(|r| r.len() == 10)
        .map(str::to_string)
        .unwrap_or(d)
}

/// `POST /dnc-groups/search?phoneNumber=`: the groups listing the number.
pub(super) async fn dnc_search(State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult {
    let q = query_map(&q);
    let number = q
        .get("phoneNumber")
        .map(|s| digits(s))
        .filter(|d| !d.is_empty());
    let Some(number) = number else {
        return Err(ApiError::invalid("phoneNumber is required"));
    };
    let st = app.lock();
    let hits: Vec<Value> = st
        .dnc_groups
        .iter()
        .filter(|g| g.phone_numbers.iter().any(|n| digits(n) == number))
        .map(|g| json!({"dncGroupId": g.dnc_group_id, "dncGroupName": g.dnc_group_name, "phoneNumber": number}))
        .collect();
    ok(json!({"searchResults": hits}))
}
