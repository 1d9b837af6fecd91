//! Agent states: every agent of every skill's roster, paged, optionally
//! only those changed since a time.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use serde_json::{json, Value};

use super::{ok, paging, parse_time, query_map, rfc3339, ApiError, ApiResult, App, Page};
use crate::state::{Agent, AgentState, SkillRt};

/// `GET /agents/states?updatedSince=&top=&skip=`: a page of agent states,
/// by agent id.
pub(super) async fn agent_states(
    State(app): State<App>,
    Path(p): Path<HashMap<String, String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = query_map(&q);
    let (top, skip) = paging(&q)?;
    let since = match q.get("updatedSince") {
        Some(s) => Some(
            parse_time(s)
                .ok_or_else(|| ApiError::invalid("updatedSince must be an ISO 8601 date-time"))?,
        ),
        None => None,
    };
    let st = app.lock();
    let mut all = Vec::new();
    for rt in st.skills.values() {
        for a in &rt.agents {
            if since.is_some_and(|s| a.last_update <= s) {
                continue;
            }
            all.push((a.agent_id, agent_json(rt, a)));
        }
    }
    all.sort_by_key(|x| x.0);
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(skip).take(top).map(|x| x.1).collect();
    let version = p.get("version").cloned().unwrap_or_default();
    let links = Page {
        base: &st.base_url,
        version: &version,
        path: "/agents/states",
        top,
        skip,
        total,
    }
    .links(&q);
    ok(json!({
        "totalRecords": total.to_string(),
        "lastPollTime": rfc3339(st.now),
        "_links": links,
        "agentStates": page,
    }))
}

/// One agent of a skill's roster as CXone reports its state.
fn agent_json(rt: &SkillRt, a: &Agent) -> Value {
    let (name, acw, desc) = match a.state {
        AgentState::LoggedOut => ("LoggedOut", false, ""),
        AgentState::Available => ("Available", false, ""),
        AgentState::Working => ("OutboundContact", false, ""),
        AgentState::Acw => ("Unavailable", true, "ACW"),
        AgentState::Unavailable => ("Unavailable", false, "Break"),
    };
    json!({
        "agentId": a.agent_id,
        "agentStateName": name,
        "isACW": acw,
        "outStateDescription": desc,
        "isOutbound": a.state == AgentState::Working,
        "skillId": rt.sc.skill_id,
        "skillName": rt.sc.skill_name,
        "teamId": a.team_id,
        "lastUpdateTime": rfc3339(a.last_update),
        "startDate": rfc3339(a.last_update),
    })
}
