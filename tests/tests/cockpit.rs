//! The operator's cockpit routes end to end (health, pause, resume,
//! failback, pacing with a dry run): API Gateway events into campaign-api,
//! the simulator as CXone, moto as DynamoDB.

use std::time::Duration;

use campaign_api::Api;
use capacity_tuner::Tuner;
use chrono::{DateTime, Utc};
use cxone_sim::{Fault, Scenario};
use e2e_tests::{http_event, scheduled_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::invocation::Invocation;
use shared::store::failover::{FailoverState, FailoverStore};

/// Tuesday 10:00 in New York: lawful.
const OPEN: &str = "2026-03-03T15:00:00Z";
/// Tuesday 22:00 in New York: nobody may be called.
const CLOSED: &str = "2026-03-04T03:00:00Z";

fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    s.start = OPEN.parse().unwrap();
    s.dnc_groups[0].scrubbed_skills.push(1002);
    s
}

async fn configure(stack: &TestStack, backup: bool) {
    let mut body = json!({
        "enabled": true, "timeZone": "America/New_York",
        "recipientTimeZones": ["America/New_York"],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    if backup {
        body["failover"] = json!({"backupSkillId": 1002});
    }
    stack.put_config(1001, &body.to_string()).await;
}

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

async fn call(
    api: &Api,
    method: &str,
    path: &str,
    body: Option<Value>,
    at: &str,
    key: Option<&str>,
) -> Answer {
    let time: DateTime<Utc> = at.parse().unwrap();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let body = body.map(|b| b.to_string());
    let mut event = http_event(
        method,
        path,
        path,
        None,
        body.as_deref(),
        time.timestamp_millis(),
    );
    event["rawQueryString"] = json!(query);
    if let Some(key) = key {
        event["headers"]["idempotency-key"] = json!(key);
    }
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(json!({"text": t})),
        _ => Value::Null,
    };
    Answer {
        status,
        body,
        replayed,
    }
}

fn reason(text: &str) -> Option<Value> {
    Some(json!({ "reason": text }))
}

async fn running(stack: &TestStack, skill: i64) -> bool {
    stack.sim.admin().skill_state(skill).await.unwrap()["running"]
        .as_bool()
        .unwrap()
}

async fn ratio(stack: &TestStack, skill: i64) -> f64 {
    stack.sim.admin().skill_state(skill).await.unwrap()["generalSettings"]["maximumRatio"]
        .as_f64()
        .unwrap()
}

async fn actions(stack: &TestStack, action: &str) -> Vec<shared::store::audit::AuditRecord> {
    stack
        .deps()
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

async fn fault(stack: &TestStack, v: Value) {
    let f: Fault = serde_json::from_value(v).unwrap();
    stack.sim.admin().set_faults(vec![f]).await.unwrap();
}

#[tokio::test]
async fn health_shows_the_campaign_and_the_list_every_campaign() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, true).await;
    let api = Api::new(&stack.deps());
    Tuner::new(&stack.deps())
        .handle(
            &scheduled_event("t1", OPEN.parse().unwrap()),
            &Invocation::new("req-t1", Deadline::after(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    let a = call(&api, "GET", "/campaigns/1001/health", None, OPEN, None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let h = &a.body;
    assert_eq!(h["skillId"], 1001);
    assert_eq!(h["dialling"]["skillId"], 1001);
    assert_eq!(h["dialling"]["running"], true);
    assert!(h["staffing"]["loggedIn"].as_u64().unwrap() > 0, "{h}");
    assert_eq!(h["settings"]["maximumRatio"], 1.0);
    assert_eq!(h["abandonment"]["limitPct"], 3.0);
    assert!(h["abandonment"]["today"]["liveAnswers"].is_u64(), "{h}");
    assert!(
        h["abandonment"]["period"]["days"].as_f64().unwrap() > 2.0,
        "{h}"
    );
    assert_eq!(h["successRate"]["windowMinutes"], 30);
    assert_eq!(h["failover"]["state"], "primary");
    assert_eq!(h["guard"]["stoppedByGuard"], false);
    assert_eq!(h["paused"]["paused"], false);
    assert_eq!(h["lastDecision"]["mode"], "progressive", "{h}");
    assert_eq!(h["nonCompliant"], false);

    let list = call(&api, "GET", "/campaigns", None, OPEN, None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["campaigns"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["campaigns"][0]["skillId"], 1001);

    // The dashboard's JWT routes reach the same handler.
    let ui = call(&api, "GET", "/ui/campaigns/1001/health", None, OPEN, None).await;
    assert_eq!(ui.status, 200, "{}", ui.body);
    assert_eq!(ui.body["skillId"], 1001);
}

#[tokio::test]
async fn health_refusals_and_cxone_faults() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, false).await;
    let api = Api::new(&stack.deps());
    assert_eq!(
        call(&api, "GET", "/campaigns/4242/health", None, OPEN, None)
            .await
            .status,
        404
    );
    assert_eq!(
        call(&api, "GET", "/campaigns/abc/health", None, OPEN, None)
            .await
            .status,
        400
    );
    assert_eq!(
        call(&api, "POST", "/campaigns/1001/health", None, OPEN, None)
            .await
            .status,
        405
    );
    assert_eq!(
        call(&api, "GET", "/campaigns/1001/nothing", None, OPEN, None)
            .await
            .status,
        404
    );
    fault(
        &stack,
        json!({"kind": "serverError", "status": 503, "count": 50, "pathContains": "/activity"}),
    )
    .await;
    let a = call(&api, "GET", "/campaigns/1001/health", None, OPEN, None).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(
        a.body["message"].as_str().unwrap().contains("staffing"),
        "{}",
        a.body
    );
    // The list still answers, with the row's error.
    let list = call(&api, "GET", "/campaigns", None, OPEN, None).await;
    assert_eq!(list.status, 200);
    assert!(
        list.body["campaigns"][0]["error"].is_string(),
        "{}",
        list.body
    );
    stack.sim.admin().clear_faults().await.unwrap();
    fault(
        &stack,
        json!({"kind": "rateLimit", "count": 50, "pathContains": "/activity"}),
    )
    .await;
    let a = call(&api, "GET", "/campaigns/1001/health", None, OPEN, None).await;
    assert_eq!(a.status, 429, "{}", a.body);
}

#[tokio::test]
async fn pause_stops_the_campaign_for_good_and_resume_obeys_the_law() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, false).await;
    let api = Api::new(&stack.deps());
    // Malformed or missing reasons are 400; an unknown campaign 404.
    assert_eq!(
        call(&api, "POST", "/campaigns/1001/pause", None, OPEN, None)
            .await
            .status,
        400
    );
    let bad = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        Some(json!({"reason": " "})),
        OPEN,
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["details"][0]["field"], "reason");
    assert_eq!(
        call(
            &api,
            "POST",
            "/campaigns/1001/pause",
            Some(json!({"why": "x"})),
            OPEN,
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(
            &api,
            "POST",
            "/campaigns/4242/pause",
            reason("x"),
            OPEN,
            None
        )
        .await
        .status,
        404
    );

    let a = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        reason("list quality"),
        OPEN,
        Some("k-pause-1"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["changed"], true);
    assert_eq!(a.body["before"]["isRunning"], true);
    assert_eq!(a.body["after"]["isRunning"], false);
    assert!(!running(&stack, 1001).await);
    let audit = actions(&stack, "campaign.pause").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "arn:aws:iam::123456789012:user/ops-lead");
    assert_eq!(audit[0].details["reason"], "list quality");

    // The same key replays the stored answer; the same key with another body is 422.
    let replay = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        reason("list quality"),
        OPEN,
        Some("k-pause-1"),
    )
    .await;
    assert_eq!(replay.status, 200);
    assert!(replay.replayed);
    assert_eq!(replay.body, a.body);
    let reused = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        reason("other"),
        OPEN,
        Some("k-pause-1"),
    )
    .await;
    assert_eq!(reused.status, 422);
    // Pausing again is a 200 that says so, with nothing new written.
    let again = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        reason("again"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["changed"], false);
    assert_eq!(actions(&stack, "campaign.pause").await.len(), 1);

    // The tuner leaves a paused campaign alone, even where the guard would start it.
    stack
        .deps()
        .state()
        .put_guard(
            1001,
            &shared::store::state::GuardRecord {
                stopped_at: Some(OPEN.parse().unwrap()),
                reason: None,
            },
        )
        .await
        .unwrap();
    let report = Tuner::new(&stack.deps())
        .handle(
            &scheduled_event("t-paused", OPEN.parse().unwrap()),
            &Invocation::new("req-tp", Deadline::after(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "paused", "{report}");
    assert!(
        !running(&stack, 1001).await,
        "the guard never restarts a paused campaign"
    );

    // Resume outside the lawful window: 422 with the rule; nothing changes.
    let closed = call(
        &api,
        "POST",
        "/campaigns/1001/resume",
        reason("back on"),
        CLOSED,
        None,
    )
    .await;
    assert_eq!(closed.status, 422, "{}", closed.body);
    assert!(
        closed.body["message"]
            .as_str()
            .unwrap()
            .contains("not lawful"),
        "{}",
        closed.body
    );
    assert!(!running(&stack, 1001).await);
    // Inside it: started, audited.
    let open = call(
        &api,
        "POST",
        "/campaigns/1001/resume",
        reason("back on"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(open.status, 200, "{}", open.body);
    assert_eq!(open.body["changed"], true);
    assert!(running(&stack, 1001).await);
    assert_eq!(actions(&stack, "campaign.resume").await.len(), 1);
    let again = call(
        &api,
        "POST",
        "/campaigns/1001/resume",
        reason("x"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(again.body["changed"], false);
}

#[tokio::test]
async fn resume_while_failed_over_is_refused_and_failback_is_exactly_once() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, true).await;
    let api = Api::new(&stack.deps());
    // Not failed over: failback is 409.
    let a = call(
        &api,
        "POST",
        "/campaigns/1001/failback",
        reason("test"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(a.status, 409, "{}", a.body);
    // Put the campaign on its backup (as the checker would have), then pause it.
    let store = FailoverStore::new(stack.dynamo.clone(), stack.tables.state.clone());
    let current = store.get(1001).await.unwrap();
    let mut next = current.clone();
    next.state = FailoverState::OnBackup;
    next.backup_skill_id = Some(1002);
    store.replace(&current, next).await.unwrap();
    let deadline = Deadline::after(Duration::from_secs(10));
    let cxone = stack.deps().cxone.clone();
    cxone.stop_skill(1001, false, &deadline).await.unwrap();
    cxone.start_skill(1002, &deadline).await.unwrap();
    let p = call(
        &api,
        "POST",
        "/campaigns/1001/pause",
        reason("hold"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["after"]["skillId"], 1002, "the backup is what dials");
    let r = call(
        &api,
        "POST",
        "/campaigns/1001/resume",
        reason("go"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("fail back first"),
        "{}",
        r.body
    );
    // Failback outside the lawful window: 422.
    let late = call(
        &api,
        "POST",
        "/campaigns/1001/failback",
        reason("late"),
        CLOSED,
        None,
    )
    .await;
    assert_eq!(late.status, 422, "{}", late.body);
    // Inside it: through the state machine, once, even when replayed by key.
    let fb = call(
        &api,
        "POST",
        "/campaigns/1001/failback",
        reason("fixed"),
        OPEN,
        Some("fb-1"),
    )
    .await;
    assert_eq!(fb.status, 200, "{}", fb.body);
    assert_eq!(fb.body["changed"], true);
    assert_eq!(store.get(1001).await.unwrap().state, FailoverState::Primary);
    let replay = call(
        &api,
        "POST",
        "/campaigns/1001/failback",
        reason("fixed"),
        OPEN,
        Some("fb-1"),
    )
    .await;
    assert!(replay.replayed);
    let completes: Vec<_> = stack
        .deps()
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "failback.complete")
        .collect();
    assert_eq!(completes.len(), 1);
    assert!(
        completes[0].actor.contains("ops-lead"),
        "{}",
        completes[0].actor
    );
    // Still paused: the primary was left stopped until the operator resumes.
    assert!(!running(&stack, 1001).await);
    let r = call(
        &api,
        "POST",
        "/campaigns/1001/resume",
        reason("go"),
        OPEN,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(running(&stack, 1001).await);
}

#[tokio::test]
async fn pacing_is_simulated_first_and_held_as_the_operators() {
    // A team of 60 at a 20 % answer rate: a modest ratio is lawful.
    let mut s = scenario();
    s.skills[0].agents = cxone_sim::scenario::Profile::constant(60.0);
    let stack = TestStack::start(s).await;
    configure(&stack, false).await;
    let api = Api::new(&stack.deps());
    // Shape and value refusals.
    assert_eq!(
        call(&api, "PUT", "/campaigns/1001/pacing", None, OPEN, None)
            .await
            .status,
        400
    );
    assert_eq!(
        call(
            &api,
            "PUT",
            "/campaigns/1001/pacing",
            Some(json!({})),
            OPEN,
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(
            &api,
            "PUT",
            "/campaigns/1001/pacing",
            Some(json!({"ratio": 2})),
            OPEN,
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(
            &api,
            "PUT",
            "/campaigns/1001/pacing?dryRun=maybe",
            Some(json!({"maximumRatio": 1.2})),
            OPEN,
            None
        )
        .await
        .status,
        400
    );
    let bad = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing",
        Some(json!({"maximumRatio": 3.5, "abandonRateThreshold": 4, "maximumRingingDuration": 12})),
        OPEN,
        None,
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let fields: Vec<&str> = bad.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "maximumRatio",
            "abandonRateThreshold",
            "maximumRingingDuration"
        ]
    );
    assert_eq!(
        call(
            &api,
            "PUT",
            "/campaigns/4242/pacing",
            Some(json!({"maximumRatio": 1.2})),
            OPEN,
            None
        )
        .await
        .status,
        404
    );

    // A dry run predicts and writes nothing.
    let dry = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing?dryRun=true",
        Some(json!({"maximumRatio": 1.15})),
        OPEN,
        None,
    )
    .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(dry.body["prediction"]["ratio"], 1.15);
    assert!(
        dry.body["prediction"]["utilisation"].is_f64(),
        "{}",
        dry.body
    );
    assert_eq!(ratio(&stack, 1001).await, 1.0);

    // Applied: written, read back, held for the hold so the tuner leaves it.
    let put = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing",
        Some(json!({"maximumRatio": 1.15, "maximumRingingDuration": 20})),
        OPEN,
        None,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(ratio(&stack, 1001).await, 1.15);
    assert_eq!(actions(&stack, "pacing.operator").await.len(), 1);
    let report = Tuner::new(&stack.deps())
        .handle(
            &scheduled_event("t-held", "2026-03-03T15:05:00Z".parse().unwrap()),
            &Invocation::new("req-th", Deadline::after(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "held", "{report}");
    assert_eq!(
        ratio(&stack, 1001).await,
        1.15,
        "the tuner does not undo the operator"
    );
}

#[tokio::test]
async fn a_pacing_change_that_would_break_the_law_is_refused_with_the_prediction() {
    let mut s = scenario();
    // A hot morning: ratio 3 on ten agents has been abandoning calls for an hour.
    s.skills[0]
        .general_settings
        .insert("maximumRatio".into(), json!(3.0));
    let stack = TestStack::start(s).await;
    configure(&stack, false).await;
    stack.sim.admin().advance_seconds(3600.0).await.unwrap();
    let now = stack.sim.admin().clock().await.unwrap().to_rfc3339();
    let api = Api::new(&stack.deps());
    let health = call(&api, "GET", "/campaigns/1001/health", None, &now, None).await;
    let period = health.body["abandonment"]["period"]["pct"]
        .as_f64()
        .unwrap();
    assert!(
        period > 3.0,
        "the scenario must be over the limit already: {period}"
    );
    let refused = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing",
        Some(json!({"maximumRatio": 3.0})),
        &now,
        None,
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body["details"][0]["prediction"]["periodPct"]
            .as_f64()
            .unwrap()
            > 3.0
    );
    // Progressive dialling abandons nothing: never refused.
    let down = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing",
        Some(json!({"maximumRatio": 1.0})),
        &now,
        None,
    )
    .await;
    assert_eq!(down.status, 200, "{}", down.body);
    assert_eq!(ratio(&stack, 1001).await, 1.0);
    // CXone failing: 502.
    fault(
        &stack,
        json!({"kind": "serverError", "status": 502, "count": 50, "pathContains": "/summary"}),
    )
    .await;
    let a = call(
        &api,
        "PUT",
        "/campaigns/1001/pacing?dryRun=true",
        Some(json!({"maximumRatio": 1.2})),
        &now,
        None,
    )
    .await;
    assert_eq!(a.status, 502, "{}", a.body);
}
