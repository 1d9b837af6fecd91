//! The compliance holes of issue 13, end to end against the local stack:
//! the backup skill guarded and paced like the primary, failover and
//! failback that start a skill only when calling is lawful, ring time
//! raised to the legal minimum, the tuner's own write recognised after its
//! confirmation was lost, and the record kept when CXone is slow.

use std::time::{Duration, Instant};

use capacity_tuner::Tuner;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use cxone_sim::{Fault, Scenario};
use e2e_tests::{scheduled_event, TestStack};
use failover_checker::{FailbackOutcome, FailoverChecker};
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::invocation::Invocation;
use shared::store::audit::AuditRecord;
use shared::store::events::EventStore;
use shared::store::failover::{FailoverState, FailoverStore};
use shared::store::state::FieldRecord;
use shared::webhook::parse_body;

/// Campaign 1001 (running) with backup 1002 (stopped, ratio 1.6, and no
/// calling window of its own in CXone: nothing but the bundle keeps it lawful).
fn scenario(start: &str) -> Scenario {
    let mut s = Scenario::small_test();
    s.start = start.parse().unwrap();
    s.skills[0]
        .general_settings
        .insert("maximumRatio".into(), json!(2.0));
    s.skills[1]
        .general_settings
        .insert("maximumRatio".into(), json!(1.6));
    s.skills[1]
        .schedule_settings
        .insert("isScheduled".into(), json!(false));
    s
}

async fn configure(stack: &TestStack, zones: &[&str], states: &[&str]) {
    let body = json!({
        "enabled": true,
        "timeZone": "America/New_York",
        "recipientTimeZones": zones,
        "recipientStates": states,
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0},
        "failover": {"backupSkillId": 1002, "threshold": 0.15,
                     "windowMinutes": 30, "minSamples": 50, "autoFailback": false}
    });
    stack.put_config(1001, &body.to_string()).await;
}

fn invocation(id: &str, seconds: u64) -> Invocation {
    Invocation::new(id, Deadline::after(Duration::from_secs(seconds)))
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 60 outcomes of the primary at `when`, 3 of them successes: a collapsed rate.
async fn collapse(stack: &TestStack, when: DateTime<Utc>) {
    let events: Vec<Value> = (0..60)
        .map(|i| {
            json!({"eventId": format!("bad-{i}"), "type": "contact.completed",
                   "occurredAt": when.to_rfc3339(), "skillId": 1001,
                   "data": {"contactId": format!("c-{i}"),
                            "outcome": if i < 3 { "success" } else { "failure" },
                            "talkSeconds": 60, "wrapSeconds": 10}})
        })
        .collect();
    let body = json!({ "events": events }).to_string();
    let parsed = parse_body(body.as_bytes()).expect("valid events");
    EventStore::new(stack.dynamo.clone(), stack.tables.state.clone())
        .record(&parsed, when)
        .await
        .expect("record events");
}

/// Fails 1001 over with three checker ticks ending at `last`; returns the last report.
async fn fail_over(stack: &TestStack, last: DateTime<Utc>) -> Value {
    collapse(stack, last - TimeDelta::minutes(8)).await;
    let checker = FailoverChecker::new(&stack.deps());
    let mut report = Value::Null;
    for n in (0..3).rev() {
        let t = last - TimeDelta::minutes(n);
        report = checker
            .handle(
                &scheduled_event(&format!("chk-{}", t.timestamp()), t),
                &invocation("req-chk", 60),
            )
            .await
            .expect("checker tick");
    }
    assert_eq!(report["campaigns"][0]["outcome"], "failed_over", "{report}");
    assert_eq!(
        FailoverStore::new(stack.dynamo.clone(), stack.tables.state.clone())
            .get(1001)
            .await
            .unwrap()
            .state,
        FailoverState::OnBackup
    );
    report
}

async fn tune(stack: &TestStack, when: DateTime<Utc>) -> Value {
    Tuner::new(&stack.deps())
        .handle(
            &scheduled_event(&format!("tune-{}", when.timestamp()), when),
            &invocation("req-tune", 60),
        )
        .await
        .expect("tuner tick")
}

async fn running(stack: &TestStack, skill: i64) -> bool {
    stack.sim.admin().skill_state(skill).await.unwrap()["running"]
        .as_bool()
        .expect("running flag")
}

async fn setting(stack: &TestStack, skill: i64, field: &str) -> Value {
    stack.sim.admin().skill_state(skill).await.unwrap()["generalSettings"][field].clone()
}

async fn audit(stack: &TestStack, action: &str) -> Vec<AuditRecord> {
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

/// Records that the bundle last wrote (and confirmed) `value` to 1001's `field`.
async fn bundle_wrote(stack: &TestStack, field: &str, value: f64) {
    let state = stack.deps().state();
    let mut records = state.get_fields(1001).await.unwrap();
    records.insert(
        field.into(),
        FieldRecord {
            last_written: Some(json!(value)),
            ..FieldRecord::default()
        },
    );
    state.put_fields(1001, &records).await.unwrap();
}

/// Successful general-settings PUTs the simulator saw for `skill`.
async fn settings_puts(stack: &TestStack, skill: i64) -> usize {
    let suffix = format!("/skills/{skill}/parameters/general-settings");
    stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(&suffix) && r.status < 300)
        .count()
}

#[tokio::test]
async fn a_backup_started_at_20_58_is_stopped_at_21_00() {
    // Tuesday 20:50 in New York (EST, UTC-5).
    let stack = TestStack::start(scenario("2026-03-04T01:50:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    fail_over(&stack, at("2026-03-04T01:58:00Z")).await;
    assert!(
        running(&stack, 1002).await,
        "20:58 is lawful: the backup starts"
    );
    assert!(!running(&stack, 1001).await);

    // The tuner's 20:55 tick paced the backup (no history: progressive), not the primary.
    let report = tune(&stack, at("2026-03-04T01:59:00Z")).await;
    let c = &report["campaigns"][0];
    assert_eq!(c["diallingSkillId"], 1002, "{report}");
    assert_eq!(setting(&stack, 1002, "maximumRatio").await, 1.0);
    assert_eq!(
        settings_puts(&stack, 1001).await,
        0,
        "the stopped primary is left alone"
    );

    // 21:00: nobody may be called; the guard stops the backup.
    let report = tune(&stack, at("2026-03-04T02:00:00Z")).await;
    assert_eq!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert!(
        !running(&stack, 1002).await,
        "the backup must not dial after 21:00"
    );
    let stops = audit(&stack, "guard.stop").await;
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].details["skillId"], 1002);
    // No dials from the backup after 21:00 while the simulator runs on.
    stack
        .sim
        .admin()
        .advance_to(at("2026-03-04T02:10:00Z"))
        .await
        .unwrap();
    let truth = stack
        .sim
        .admin()
        .truth(1002, at("2026-03-04T02:00:30Z"), at("2026-03-04T02:10:00Z"))
        .await
        .unwrap();
    assert_eq!(truth.totals.dials, 0, "{truth:?}");

    // Next morning at 09:00 the guard starts the backup again, still the campaign's skill.
    let report = tune(&stack, at("2026-03-04T14:00:00Z")).await;
    assert!(running(&stack, 1002).await, "{report}");
    assert!(!running(&stack, 1001).await);
    assert_eq!(
        audit(&stack, "guard.start").await[0].details["skillId"],
        1002
    );
}

#[tokio::test]
async fn a_failover_outside_the_window_leaves_the_backup_stopped_until_lawful() {
    // Tuesday 21:10 in New York: the primary still dials (its own CXone
    // windows are someone else's problem here); the failover must not
    // start the backup.
    let stack = TestStack::start(scenario("2026-03-04T02:00:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    fail_over(&stack, at("2026-03-04T02:10:00Z")).await;
    assert!(!running(&stack, 1001).await);
    assert!(
        !running(&stack, 1002).await,
        "21:10 is not lawful: the backup stays stopped"
    );
    let complete = audit(&stack, "failover.complete").await;
    assert!(
        complete[0].why.contains("left stopped"),
        "{}",
        complete[0].why
    );
    // The tuner's guard starts it when the law allows, and not before.
    let report = tune(&stack, at("2026-03-04T02:15:00Z")).await;
    assert_eq!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert!(!running(&stack, 1002).await);
    tune(&stack, at("2026-03-04T13:05:00Z")).await;
    assert!(running(&stack, 1002).await, "08:05 is lawful");
}

#[tokio::test]
async fn a_sunday_in_alabama_stops_the_backup() {
    // Saturday 13:00 in Chicago (CST): lawful for Alabama; the campaign fails over.
    let stack = TestStack::start(scenario("2026-03-07T18:50:00Z")).await;
    configure(&stack, &["America/Chicago"], &["AL"]).await;
    fail_over(&stack, at("2026-03-07T19:00:00Z")).await;
    assert!(running(&stack, 1002).await);
    // Sunday 13:00 (CDT since 02:00): Alabama bans Sunday calls.
    let report = tune(&stack, at("2026-03-08T18:00:00Z")).await;
    assert_eq!(report["campaigns"][0]["outcome"], "stopped", "{report}");
    assert!(!running(&stack, 1002).await);
    let stop = &audit(&stack, "guard.stop").await[0];
    assert!(stop.why.contains("AL"), "{}", stop.why);
    assert_eq!(stop.details["skillId"], 1002);
    // Monday 10:00: the backup dials again.
    tune(&stack, at("2026-03-09T15:00:00Z")).await;
    assert!(running(&stack, 1002).await);
}

#[tokio::test]
async fn an_operators_failback_outside_the_window_leaves_the_primary_to_the_guard() {
    let stack = TestStack::start(scenario("2026-03-03T20:00:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    fail_over(&stack, at("2026-03-03T20:10:00Z")).await;
    assert!(running(&stack, 1002).await);
    // 21:30 New York: the operator fails back.
    let checker = FailoverChecker::new(&stack.deps());
    let outcome = checker
        .failback(
            1001,
            "arn:aws:iam::123456789012:user/ops-lead",
            at("2026-03-04T02:30:00Z"),
            &invocation("req-fb", 60),
        )
        .await
        .expect("failback");
    assert_eq!(
        outcome,
        FailbackOutcome::FailedBack {
            backup_skill_id: 1002
        }
    );
    assert!(!running(&stack, 1002).await);
    assert!(
        !running(&stack, 1001).await,
        "21:30 is not lawful: the primary waits"
    );
    tune(&stack, at("2026-03-04T13:00:00Z")).await;
    assert!(
        running(&stack, 1001).await,
        "08:00: the guard starts the primary"
    );
    assert!(!running(&stack, 1002).await);
}

#[tokio::test]
async fn a_12_second_ring_is_raised_to_15() {
    let mut s = scenario("2026-03-03T15:00:00Z");
    s.skills[0]
        .general_settings
        .insert("maximumRingingDuration".into(), json!(12));
    let stack = TestStack::start(s).await;
    configure(&stack, &["America/New_York"], &[]).await;
    let report = tune(&stack, at("2026-03-03T15:00:00Z")).await;
    assert_ne!(report["campaigns"][0]["outcome"], "failed", "{report}");
    assert_eq!(setting(&stack, 1001, "maximumRingingDuration").await, 15);
    let raised = audit(&stack, "ring.raise").await;
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].before["maximumRingingDuration"], 12.0);
    assert_eq!(raised[0].after["maximumRingingDuration"], 15.0);
    assert!(raised[0].why.contains("15"), "{}", raised[0].why);
}

#[tokio::test]
async fn a_ring_time_a_person_holds_under_15_seconds_makes_the_campaign_non_compliant() {
    let mut s = scenario("2026-03-03T15:00:00Z");
    s.skills[0]
        .general_settings
        .insert("maximumRingingDuration".into(), json!(12));
    let stack = TestStack::start(s).await;
    configure(&stack, &["America/New_York"], &[]).await;
    // The bundle last wrote 20 s: the live 12 s is a person's edit, held.
    bundle_wrote(&stack, "maximumRingingDuration", 20.0).await;
    let report = tune(&stack, at("2026-03-03T15:00:00Z")).await;
    let c = &report["campaigns"][0];
    assert_eq!(c["nonCompliant"], true, "{report}");
    assert_eq!(c["maximumRatio"], 1.0, "no safe harbor: progressive");
    assert_eq!(setting(&stack, 1001, "maximumRingingDuration").await, 12);
    assert_eq!(setting(&stack, 1001, "maximumRatio").await, 1.0);
    let marked = audit(&stack, "ring.non_compliant").await;
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].outcome, "non_compliant");
}

#[tokio::test]
async fn the_tuners_write_is_its_own_even_when_its_confirmation_was_lost() {
    let stack = TestStack::start(scenario("2026-03-03T15:00:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    // The bundle wrote 2.0 earlier (confirmed); it now wants 1.0 (thin data).
    bundle_wrote(&stack, "maximumRatio", 2.0).await;
    let state = stack.deps().state();
    // CXone applies the PUT but its answers never arrive in time.
    let fault: Fault = serde_json::from_value(json!({
        "kind": "answerLost", "delayMs": 20_000, "count": 10,
        "pathContains": "general-settings", "method": "PUT"
    }))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let first = Tuner::new(&stack.deps())
        .handle(
            &scheduled_event("lost-1", at("2026-03-03T15:00:00Z")),
            &invocation("req-lost-1", 12),
        )
        .await
        .expect("tick");
    assert_eq!(first["campaigns"][0]["outcome"], "failed", "{first}");
    assert_eq!(
        setting(&stack, 1001, "maximumRatio").await,
        1.0,
        "the write landed"
    );
    stack.sim.admin().clear_faults().await.unwrap();
    // The next tick knows 1.0 as its own: no override, no hold.
    let second = tune(&stack, at("2026-03-03T15:05:00Z")).await;
    let c = &second["campaigns"][0];
    assert_eq!(c["overrides"], 0, "{second}");
    assert_ne!(c["outcome"], "held", "{second}");
    let records = state.get_fields(1001).await.unwrap();
    assert_eq!(records["maximumRatio"].last_written, Some(json!(1.0)));
    assert_eq!(records["maximumRatio"].held_until, None);
}

#[tokio::test]
async fn a_slow_cxone_still_leaves_the_audit_record_before_the_deadline() {
    let stack = TestStack::start(scenario("2026-03-03T15:00:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    let fault: Fault = serde_json::from_value(json!({
        "kind": "slow", "delayMs": 30_000, "count": 50, "pathContains": "/skills/1001"
    }))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let deadline = Deadline::after(Duration::from_secs(10));
    let started = Instant::now();
    let report = Tuner::new(&stack.deps())
        .handle(
            &scheduled_event("slow-1", at("2026-03-03T15:00:00Z")),
            &Invocation::new("req-slow", deadline),
        )
        .await
        .expect("tick");
    let took = started.elapsed();
    assert!(
        !deadline.expired(),
        "answered after the deadline ({took:?})"
    );
    assert_eq!(report["campaigns"][0]["outcome"], "failed", "{report}");
    let failed: Vec<AuditRecord> = audit(&stack, "pacing.tune")
        .await
        .into_iter()
        .filter(|r| r.outcome == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "the failure is on the record");
    assert!(
        failed[0].why.contains("deadline") || failed[0].why.contains("timed out"),
        "{}",
        failed[0].why
    );
}

#[tokio::test]
async fn a_backup_that_is_a_campaign_of_its_own_is_tuned_once_as_itself() {
    let stack = TestStack::start(scenario("2026-03-03T17:00:00Z")).await;
    configure(&stack, &["America/New_York"], &[]).await;
    let own = json!({
        "enabled": true, "timeZone": "America/New_York",
        "recipientTimeZones": ["America/Los_Angeles"],
        "pacing": {"targetAbandonPct": 2.0, "minRatio": 1.0, "maxRatio": 2.0}
    });
    stack.put_config(1002, &own.to_string()).await;
    fail_over(&stack, at("2026-03-03T17:10:00Z")).await;
    let report = tune(&stack, at("2026-03-03T17:15:00Z")).await;
    let campaigns = report["campaigns"].as_array().unwrap();
    let primary = campaigns.iter().find(|c| c["skillId"] == 1001).unwrap();
    assert_eq!(primary["outcome"], "on_backup", "{report}");
    assert_eq!(primary["diallingSkillId"], 1002);
    let backup = campaigns.iter().find(|c| c["skillId"] == 1002).unwrap();
    assert_eq!(backup["diallingSkillId"], 1002, "{report}");
    assert_eq!(
        settings_puts(&stack, 1002).await,
        1,
        "one writer for one skill"
    );
}
