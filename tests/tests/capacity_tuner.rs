//! The capacity tuner end to end: the simulator as CXone, moto as DynamoDB.

use std::time::Duration;

use campaign_api::Api;
use capacity_tuner::Tuner;
use chrono::{DateTime, Utc};
use cxone_sim::{Fault, Scenario};
use e2e_tests::{config_body, http_event, scheduled_event, TestStack};
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::invocation::Invocation;

/// A scenario whose skill 1001 starts at ratio 2.0 with no history, so the
/// tuner's first decision (progressive: data is thin) is a real change.
fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    s.skills[0]
        .general_settings
        .insert("maximumRatio".into(), json!(2.0));
    s
}

async fn configure(stack: &TestStack, skill: i64) {
    let api = Api::new(&stack.deps());
    let body = config_body(None);
    let event = http_event(
        "PUT",
        "/campaigns/{skillId}/config",
        &format!("/campaigns/{skill}/config"),
        Some(&skill.to_string()),
        Some(&body),
        1_795_000_000_000,
    );
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "config for {skill}: {:?}",
        response.body()
    );
}

fn invocation(id: &str) -> Invocation {
    Invocation::new(id, Deadline::after(Duration::from_secs(60)))
}

async fn live_ratio(stack: &TestStack, skill: i64) -> f64 {
    let state = stack.sim.admin().skill_state(skill).await.unwrap();
    state["generalSettings"]["maximumRatio"]
        .as_f64()
        .expect("maximumRatio in sim state")
}

async fn puts_of_general_settings(stack: &TestStack) -> usize {
    stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/general-settings"))
        .count()
}

fn fault(v: Value) -> Fault {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn writes_settings_audits_and_replays_nothing() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let tuner = Tuner::new(&deps);
    let now: DateTime<Utc> = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event("evt-1", now);

    let report = tuner
        .handle(&event, &invocation("req-1"))
        .await
        .expect("tick");
    assert_eq!(report["campaigns"][0]["skillId"], 1001);
    assert_eq!(report["campaigns"][0]["outcome"], "written", "{report}");
    assert_eq!(
        live_ratio(&stack, 1001).await,
        1.0,
        "progressive on thin data"
    );

    let audit: Vec<_> = deps
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "pacing.tune")
        .collect();
    assert_eq!(audit.len(), 1);
    let record = &audit[0];
    assert_eq!(record.outcome, "written");
    assert_eq!(record.at, now, "decisions carry the event's time");
    assert_eq!(record.before["maximumRatio"], 2.0);
    assert_eq!(record.after["maximumRatio"], 1.0);
    assert!(
        record.details["inputs"]["staffing"]["loggedIn"]
            .as_u64()
            .unwrap()
            > 0,
        "{}",
        record.details
    );
    assert_eq!(record.details["decision"]["mode"], "progressive");

    // The summary windows are computed from the event's time, not the wall clock.
    let requests = stack.sim.admin().requests().await.unwrap();
    let summary = requests
        .iter()
        .find(|r| r.path.ends_with("/summary"))
        .expect("summary read");
    let end = now.format("%Y-%m-%dT%H:%M").to_string();
    assert!(
        summary.query.contains(&end) || summary.query.contains(&end.replace(':', "%3A")),
        "{}",
        summary.query
    );

    // Replay of the same event: same report, no new write, no new audit record.
    let puts = puts_of_general_settings(&stack).await;
    let replay = tuner
        .handle(&event, &invocation("req-2"))
        .await
        .expect("replay");
    assert_eq!(replay, report);
    assert_eq!(puts_of_general_settings(&stack).await, puts);
    assert_eq!(
        deps.audit().all_for(1001).await.unwrap().len(),
        audit.len() + 1,
        "only the config.put record besides"
    );

    // A later tick with nothing to change writes nothing.
    stack.sim.admin().advance_seconds(300.0).await.unwrap();
    let later = scheduled_event("evt-2", now + chrono::Duration::minutes(5));
    let report = tuner.handle(&later, &invocation("req-3")).await.unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "unchanged", "{report}");
    assert_eq!(puts_of_general_settings(&stack).await, puts);
}

#[tokio::test]
async fn a_persons_edit_between_read_and_write_is_respected_and_audited() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let tuner = Tuner::new(&deps);
    let now = stack.sim.admin().clock().await.unwrap();
    stack
        .sim
        .admin()
        .set_faults(vec![fault(json!({"kind": "personEdit", "skillId": 1001, "fields": {"maximumRatio": 2.2}, "afterReads": 1}))])
        .await
        .unwrap();
    let report = tuner
        .handle(&scheduled_event("evt-p1", now), &invocation("req-p1"))
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "held", "{report}");
    assert_eq!(
        live_ratio(&stack, 1001).await,
        2.2,
        "the person's value stands"
    );
    let audit = deps.audit().all_for(1001).await.unwrap();
    let tune = audit.iter().find(|r| r.action == "pacing.tune").unwrap();
    assert_eq!(tune.outcome, "held");
    assert!(tune.why.contains("maximumRatio"), "{}", tune.why);
    let fields = tune.details["fields"].as_array().unwrap();
    let ratio = fields
        .iter()
        .find(|f| f["field"] == "maximumRatio")
        .unwrap();
    assert_eq!(ratio["status"], "changedDuringWrite", "{ratio}");

    // Within the hold, the next ticks leave it alone too.
    stack.sim.admin().advance_seconds(600.0).await.unwrap();
    let report = tuner
        .handle(
            &scheduled_event("evt-p2", now + chrono::Duration::minutes(10)),
            &invocation("req-p2"),
        )
        .await
        .unwrap();
    assert_eq!(live_ratio(&stack, 1001).await, 2.2, "{report}");
    let tunes = deps
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "pacing.tune")
        .count();
    assert_eq!(tunes, 2);
}

#[tokio::test]
async fn one_broken_campaign_does_not_block_another() {
    let mut s = scenario();
    s.skills[1]
        .general_settings
        .insert("maximumRatio".into(), json!(2.0));
    let stack = TestStack::start(s).await;
    configure(&stack, 1001).await;
    configure(&stack, 1002).await;
    let deps = stack.deps();
    let tuner = Tuner::new(&deps);
    stack
        .sim
        .admin()
        .set_faults(vec![fault(json!({"kind": "serverError", "status": 500, "count": 1000, "pathContains": "/skills/1001/"}))])
        .await
        .unwrap();
    let now = stack.sim.admin().clock().await.unwrap();
    let report = tuner
        .handle(&scheduled_event("evt-b", now), &invocation("req-b"))
        .await
        .unwrap();
    let campaigns = report["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 2);
    assert_eq!(campaigns[0]["outcome"], "failed", "{report}");
    assert_eq!(campaigns[1]["outcome"], "written", "{report}");
    assert_eq!(live_ratio(&stack, 1002).await, 1.0);
    let failed = deps.audit().all_for(1001).await.unwrap();
    assert!(
        failed
            .iter()
            .any(|r| r.action == "pacing.tune" && r.outcome == "failed"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_held_lease_skips_the_campaign() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let far = shared::idempotency::unix_now_ms() + 60_000;
    deps.state()
        .acquire_lease(
            1001,
            "someone-else",
            shared::idempotency::unix_now_ms(),
            far,
        )
        .await
        .unwrap();
    let now = stack.sim.admin().clock().await.unwrap();
    let report = Tuner::new(&deps)
        .handle(&scheduled_event("evt-l", now), &invocation("req-l"))
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "skipped", "{report}");
    assert_eq!(
        live_ratio(&stack, 1001).await,
        2.0,
        "nothing written without the lease"
    );
}

#[tokio::test]
async fn malformed_events_are_refused_clearly() {
    let stack = TestStack::start(scenario()).await;
    let tuner = Tuner::new(&stack.deps());
    for bad in [
        json!({}),
        json!({"id": "x"}),
        json!({"id": "x", "time": "yesterday"}),
        json!([1, 2]),
        json!(null),
    ] {
        let err = tuner.handle(&bad, &invocation("req")).await.unwrap_err();
        assert_eq!(err.kind(), "BadEvent", "{bad}: {err}");
    }
}

#[tokio::test]
async fn the_binary_tunes_under_the_runtime_api() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001).await;
    let function = local_stack::FunctionProcess::spawn(
        e2e_tests::binary("capacity-tuner"),
        stack.function_env(),
    )
    .await
    .expect("start capacity-tuner");
    let now = stack.sim.admin().clock().await.unwrap();
    let response = function
        .invoke(scheduled_event("evt-bin", now), Duration::from_secs(60))
        .await
        .expect("invoke");
    assert_eq!(response["campaigns"][0]["outcome"], "written", "{response}");
    assert_eq!(live_ratio(&stack, 1001).await, 1.0);
    // A malformed event is a function error, and the function survives it.
    let err = function
        .invoke(json!({"nothing": true}), Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BadEvent"), "{err}");
    let again = function
        .invoke(scheduled_event("evt-bin", now), Duration::from_secs(60))
        .await
        .expect("replay");
    assert_eq!(again, response);
}

#[tokio::test]
async fn the_window_guard_stops_after_hours_and_restarts_in_the_morning() {
    // CXone's static schedule says 07:00-23:00 every day: it would dial past
    // the law's 21:00 (isRunning is present only while dialling).
    let mut scenario = Scenario::small_test();
    for day in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ] {
        let settings = &mut scenario.skills[0].schedule_settings;
        settings.insert(format!("{day}StartTime"), json!("07:00"));
        settings.insert(format!("{day}EndTime"), json!("23:00"));
    }
    let stack = TestStack::start(scenario).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let tuner = Tuner::new(&deps);
    let admin = stack.sim.admin();
    let running = |v: Value| v["running"].as_bool().expect("running in sim state");
    assert!(running(admin.skill_state(1001).await.unwrap()));

    // 21:30 in New York is 20:30 in Chicago: still lawful there, keep dialling.
    let evening: DateTime<Utc> = "2026-03-04T02:30:00Z".parse().unwrap();
    admin.advance_to(evening).await.unwrap();
    let report = tuner
        .handle(
            &scheduled_event("evt-evening", evening),
            &invocation("req-e"),
        )
        .await
        .unwrap();
    assert_ne!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert!(running(admin.skill_state(1001).await.unwrap()));

    // 22:30 in New York, 21:30 in Chicago: nobody may be called.
    let night: DateTime<Utc> = "2026-03-04T03:30:00Z".parse().unwrap();
    admin.advance_to(night).await.unwrap();
    let report = tuner
        .handle(&scheduled_event("evt-night", night), &invocation("req-n"))
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert!(
        !running(admin.skill_state(1001).await.unwrap()),
        "the guard stopped the skill"
    );
    let audit = deps.audit().all_for(1001).await.unwrap();
    let stop = audit
        .iter()
        .find(|r| r.action == "guard.stop")
        .expect("guard.stop audited");
    assert_eq!(stop.before["isRunning"], true);
    assert_eq!(stop.after["isRunning"], false);
    assert_eq!(
        stop.details["guard"]["violations"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{}",
        stop.details
    );

    // Still night: it stays stopped, and nothing is started.
    let later = night + chrono::Duration::minutes(5);
    admin.advance_to(later).await.unwrap();
    tuner
        .handle(
            &scheduled_event("evt-night-2", later),
            &invocation("req-n2"),
        )
        .await
        .unwrap();
    assert!(!running(admin.skill_state(1001).await.unwrap()));

    // 09:05 in New York, 08:05 in Chicago: lawful and inside the campaign's window.
    let morning: DateTime<Utc> = "2026-03-04T14:05:00Z".parse().unwrap();
    admin.advance_to(morning).await.unwrap();
    let report = tuner
        .handle(
            &scheduled_event("evt-morning", morning),
            &invocation("req-m"),
        )
        .await
        .unwrap();
    assert!(running(admin.skill_state(1001).await.unwrap()), "{report}");
    let audit = deps.audit().all_for(1001).await.unwrap();
    assert!(audit
        .iter()
        .any(|r| r.action == "guard.start" && r.at == morning));
}

#[tokio::test]
async fn the_window_guard_never_starts_a_skill_someone_else_stopped() {
    let stack = TestStack::start(Scenario::small_test()).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let tuner = Tuner::new(&deps);
    let admin = stack.sim.admin();
    // An operator stops the skill through CXone.
    deps.cxone
        .stop_skill(1001, false, &Deadline::after(Duration::from_secs(10)))
        .await
        .unwrap();
    let now = admin.clock().await.unwrap();
    tuner
        .handle(&scheduled_event("evt-op", now), &invocation("req-op"))
        .await
        .unwrap();
    assert_eq!(admin.skill_state(1001).await.unwrap()["running"], false);
    assert!(!deps
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .iter()
        .any(|r| r.action.starts_with("guard.")));
}

#[tokio::test]
async fn the_window_guard_enforces_the_deployed_schedules_state_bans() {
    // Sunday 13:00 in New York: lawful for the config's zones, but the
    // deployed schedule also covers Alabama, where Sunday calls are banned.
    let mut scenario = Scenario::small_test();
    scenario.start = "2026-03-08T17:00:00Z".parse().unwrap();
    let stack = TestStack::start(scenario).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let deployed = shared::store::state::DeployedSchedule {
        recipient_time_zones: vec!["America/New_York".into(), "America/Chicago".into()],
        recipient_states: vec!["AL".into()],
        deployed_at: None,
    };
    deps.state()
        .put_deployed_schedule(1001, &deployed)
        .await
        .unwrap();
    let now = stack.sim.admin().clock().await.unwrap();
    let report = Tuner::new(&deps)
        .handle(&scheduled_event("evt-sun", now), &invocation("req-sun"))
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert_eq!(
        stack.sim.admin().skill_state(1001).await.unwrap()["running"],
        false
    );
    let audit = deps.audit().all_for(1001).await.unwrap();
    let stop = audit
        .iter()
        .find(|r| r.action == "guard.stop")
        .expect("guard.stop");
    assert!(stop.why.contains("AL"), "{}", stop.why);
}

#[tokio::test]
async fn a_campaign_on_its_backup_paces_the_backup_and_leaves_the_primary_alone() {
    let mut scenario = scenario();
    scenario.skills[1]
        .general_settings
        .insert("maximumRatio".into(), json!(1.6));
    let stack = TestStack::start(scenario).await;
    configure(&stack, 1001).await;
    let deps = stack.deps();
    let store = shared::store::failover::FailoverStore::new(
        deps.dynamo.clone(),
        stack.tables.state.clone(),
    );
    let current = store.get(1001).await.unwrap();
    let mut next = current.clone();
    next.state = shared::store::failover::FailoverState::OnBackup;
    next.backup_skill_id = Some(1002);
    store.replace(&current, next).await.unwrap();
    let now = stack.sim.admin().clock().await.unwrap();
    let report = Tuner::new(&deps)
        .handle(&scheduled_event("evt-fo", now), &invocation("req-fo"))
        .await
        .unwrap();
    assert_eq!(report["campaigns"][0]["diallingSkillId"], 1002, "{report}");
    assert_eq!(report["campaigns"][0]["outcome"], "written", "{report}");
    assert_eq!(
        live_ratio(&stack, 1001).await,
        2.0,
        "the stopped primary is left alone"
    );
    // The backup has no history: it is held at progressive dialling.
    assert_eq!(live_ratio(&stack, 1002).await, 1.0);
    let tune = deps
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action == "pacing.tune")
        .expect("pacing audited under the campaign");
    assert_eq!(tune.details["skillId"], 1002);
    assert_eq!(tune.details["decision"]["mode"], "progressive");
}
