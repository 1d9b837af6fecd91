//! The failover checker end to end: the simulator as CXone, moto as DynamoDB,
//! counters fed through the real webhook intake (signed events) or the event
//! store, the state machine driven by ticks one minute apart.

use std::time::Duration;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use cxone_sim::scenario::SkillScenario;
use cxone_sim::{Fault, Scenario};
use e2e_tests::{http_event, scheduled_event, TestStack};
use failover_checker::{FailbackError, FailbackOutcome, FailoverChecker};
use serde_json::{json, Value};
use shared::campaign_config::CampaignConfig;
use shared::deadline::Deadline;
use shared::invocation::Invocation;
use shared::store::audit::AuditRecord;
use shared::store::events::EventStore;
use shared::store::failover::{FailoverRecord, FailoverState, FailoverStore, Swap, TransitionStep};
use shared::webhook::{parse_body, signature_header};
use webhook_ingest::WebhookIngest;

/// Campaign 1001 (running) backs up to 1002 (stopped); campaign 1003
/// (running) to 1004 (stopped).
fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    let mut c = SkillScenario::basic(1003, "Second Campaign", 10.0, 0.2, true);
    c.campaign_id = 503;
    s.skills.push(c);
    let mut d = SkillScenario::basic(1004, "Second Backup", 10.0, 0.2, false);
    d.campaign_id = 504;
    s.skills.push(d);
    s
}

async fn configure(stack: &TestStack, skill: i64, backup: i64, auto_failback: bool) {
    let body = json!({
        "enabled": true,
        "timeZone": "America/New_York",
        "recipientTimeZones": ["America/New_York"],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0},
        "failover": {"backupSkillId": backup, "threshold": 0.15,
                     "windowMinutes": 30, "minSamples": 50, "autoFailback": auto_failback}
    });
    let config = CampaignConfig::parse(body.to_string().as_bytes(), skill).expect("valid config");
    let t = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    stack
        .deps()
        .state()
        .put_config(skill, &config, None, "test", t)
        .await
        .expect("put config")
        .expect("config written");
}

fn invocation(id: &str) -> Invocation {
    Invocation::new(id, Deadline::after(Duration::from_secs(60)))
}

/// `contact.completed` events of `skill` at `at`: `success` successes and `failure` failures.
fn outcomes(
    skill: i64,
    success: usize,
    failure: usize,
    at: DateTime<Utc>,
    tag: &str,
) -> Vec<Value> {
    (0..success + failure)
        .map(|i| {
            json!({
                "eventId": format!("{tag}-{skill}-{i}"),
                "type": "contact.completed",
                "occurredAt": at.to_rfc3339(),
                "skillId": skill,
                "data": {"contactId": format!("c-{tag}-{i}"),
                         "outcome": if i < success { "success" } else { "failure" },
                         "talkSeconds": 60, "wrapSeconds": 10}
            })
        })
        .collect()
}

/// Stores events straight into the counters (the intake's store).
async fn record(stack: &TestStack, events: Vec<Value>, at: DateTime<Utc>) {
    let store = EventStore::new(stack.dynamo.clone(), stack.tables.state.clone());
    for chunk in events.chunks(500) {
        let body = json!({"events": chunk}).to_string();
        let parsed = parse_body(body.as_bytes()).expect("valid events");
        store.record(&parsed, at).await.expect("record events");
    }
}

/// Posts events through the real webhook-ingest handler, signed with the
/// stack's webhook secret; asserts 202.
async fn post_signed(stack: &TestStack, events: Vec<Value>, at: DateTime<Utc>) {
    let deps = stack.deps();
    let ingest = WebhookIngest::new(
        stack.webhook_secrets(),
        EventStore::new(deps.dynamo.clone(), deps.config.state_table.clone()),
    );
    for chunk in events.chunks(500) {
        let body = json!({"events": chunk}).to_string();
        let mut event = http_event(
            "POST",
            "/webhooks/cxone",
            "/webhooks/cxone",
            None,
            Some(&body),
            at.timestamp_millis(),
        );
        event["headers"]["x-signature"] = json!(signature_header(
            &[e2e_tests::WEBHOOK_SECRET],
            at.timestamp(),
            body.as_bytes()
        ));
        let request = lambda_http::request::from_str(&event.to_string()).expect("http event");
        let response = ingest.handle(request).await;
        assert_eq!(response.status().as_u16(), 202, "{:?}", response.body());
    }
}

async fn running(stack: &TestStack, skill: i64) -> bool {
    let state = stack.sim.admin().skill_state(skill).await.unwrap();
    state["running"]
        .as_bool()
        .unwrap_or_else(|| panic!("no running flag in {state}"))
}

/// Successful `POST .../skills/{skill}/{action}` calls seen by the simulator.
async fn calls(stack: &TestStack, skill: i64, action: &str) -> usize {
    let suffix = format!("/skills/{skill}/{action}");
    stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.path.ends_with(&suffix) && (200..300).contains(&r.status)
        })
        .count()
}

async fn audit(stack: &TestStack, skill: i64, prefix: &str) -> Vec<AuditRecord> {
    stack
        .deps()
        .audit()
        .all_for(skill)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with(prefix))
        .collect()
}

fn failover_store(stack: &TestStack) -> FailoverStore {
    FailoverStore::new(stack.dynamo.clone(), stack.tables.state.clone())
}

async fn tick(checker: &FailoverChecker, id: &str, at: DateTime<Utc>) -> Value {
    checker
        .handle(&scheduled_event(id, at), &invocation(&format!("req-{id}")))
        .await
        .unwrap_or_else(|e| panic!("tick {id}: {e}"))
}

fn campaign(report: &Value, skill: i64) -> &Value {
    report["campaigns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["skillId"] == skill))
        .unwrap_or_else(|| panic!("no campaign {skill} in {report}"))
}

/// The start of every test's day (the simulator's clock).
async fn t0(stack: &TestStack) -> DateTime<Utc> {
    stack.sim.admin().clock().await.unwrap()
}

fn minute(t: DateTime<Utc>, n: i64) -> DateTime<Utc> {
    t + TimeDelta::minutes(n)
}

#[tokio::test]
async fn below_minimum_samples_nothing_happens() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    // 49 outcomes, all failures: a rate of 0, but one short of the minimum.
    record(
        &stack,
        outcomes(1001, 0, 49, minute(t, -10), "few"),
        minute(t, -10),
    )
    .await;
    let checker = FailoverChecker::new(&stack.deps());
    for n in 0..5 {
        let report = tick(&checker, &format!("few-{n}"), minute(t, n)).await;
        let c = campaign(&report, 1001);
        assert_eq!(c["outcome"], "insufficient_samples", "{report}");
        assert_eq!(c["evidence"]["samples"], 49);
        assert_eq!(c["evidence"]["rate"], 0.0);
    }
    assert!(running(&stack, 1001).await);
    assert!(!running(&stack, 1002).await);
    assert_eq!(
        calls(&stack, 1001, "stop").await + calls(&stack, 1002, "start").await,
        0
    );
    assert_eq!(
        failover_store(&stack).get(1001).await.unwrap().state,
        FailoverState::Primary
    );
    assert!(audit(&stack, 1001, "fail").await.is_empty());
}

#[tokio::test]
async fn a_healthy_rate_does_nothing() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    // Exactly at the threshold is not below it: 9 / 60 = 0.15.
    record(
        &stack,
        outcomes(1001, 9, 51, minute(t, -5), "ok"),
        minute(t, -5),
    )
    .await;
    let checker = FailoverChecker::new(&stack.deps());
    for n in 0..5 {
        let report = tick(&checker, &format!("ok-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, 1001)["outcome"], "healthy", "{report}");
    }
    assert!(running(&stack, 1001).await);
    assert_eq!(calls(&stack, 1001, "stop").await, 0);
    assert!(audit(&stack, 1001, "fail").await.is_empty());
}

#[tokio::test]
async fn a_collapsed_rate_fails_over_once_after_confirmation_and_replays_nothing() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    // Through the real intake: 3 successes in 60 outcomes (0.05), signed.
    post_signed(
        &stack,
        outcomes(1001, 3, 57, minute(t, -10), "bad"),
        minute(t, -1),
    )
    .await;
    let checker = FailoverChecker::new(&stack.deps());

    // Hysteresis: low on the first two ticks is only watched.
    for n in 0..2 {
        let report = tick(&checker, &format!("bad-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, 1001)["outcome"], "watching", "{report}");
        assert!(running(&stack, 1001).await);
    }
    let report = tick(&checker, "bad-2", minute(t, 2)).await;
    let c = campaign(&report, 1001);
    assert_eq!(c["outcome"], "failed_over", "{report}");
    assert_eq!(c["state"], "on_backup");
    assert!(!running(&stack, 1001).await, "primary stopped");
    assert!(running(&stack, 1002).await, "backup started");
    assert_eq!(calls(&stack, 1001, "stop").await, 1);
    assert_eq!(calls(&stack, 1002, "start").await, 1);

    let record = failover_store(&stack).get(1001).await.unwrap();
    assert_eq!(record.state, FailoverState::OnBackup);
    assert_eq!(record.backup_skill_id, Some(1002));
    assert_eq!(record.since, Some(minute(t, 2)));
    assert_eq!(
        record.version, 5,
        "two streak writes, then begin, stopped, settled"
    );

    // Audited with the numbers that caused it, at the event's time.
    let begin = audit(&stack, 1001, "failover.begin").await;
    assert_eq!(begin.len(), 1);
    let b = &begin[0];
    assert_eq!(b.at, minute(t, 2));
    assert_eq!(b.actor, "failover-checker");
    assert_eq!(b.before["state"], "primary");
    assert_eq!(b.after["state"], "failing_over");
    let e = &b.details["evidence"];
    assert_eq!(e["samples"], 60);
    assert_eq!(e["success"], 3);
    assert!((e["rate"].as_f64().unwrap() - 0.05).abs() < 1e-9, "{e}");
    assert_eq!(e["windowMinutes"], 30);
    assert_eq!(e["threshold"], 0.15);
    assert_eq!(e["minSamples"], 50);
    assert_eq!(b.details["eventId"], "bad-2");
    assert!(
        b.why.contains("0.0500") && b.why.contains("0.15"),
        "{}",
        b.why
    );
    let actions: Vec<String> = audit(&stack, 1001, "failover.")
        .await
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    for action in [
        "failover.begin",
        "failover.primary_stopped",
        "failover.complete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }

    // A replayed event: the stored report, nothing new.
    let replay = tick(&checker, "bad-2", minute(t, 2)).await;
    assert_eq!(replay, report);
    // Later ticks: on backup, nothing (automatic failback is off).
    let later = tick(&checker, "bad-3", minute(t, 3)).await;
    assert_eq!(campaign(&later, 1001)["outcome"], "on_backup", "{later}");
    assert_eq!(calls(&stack, 1001, "stop").await, 1);
    assert_eq!(calls(&stack, 1002, "start").await, 1);
    assert_eq!(audit(&stack, 1001, "failover.").await.len(), 3);
}

#[tokio::test]
async fn one_good_tick_resets_the_confirmation() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    record(
        &stack,
        outcomes(1001, 3, 57, minute(t, -10), "noisy"),
        minute(t, -10),
    )
    .await;
    let checker = FailoverChecker::new(&stack.deps());
    tick(&checker, "n-0", minute(t, 0)).await;
    tick(&checker, "n-1", minute(t, 1)).await;
    // A burst of successes lifts the rate above the threshold for one tick ...
    record(
        &stack,
        outcomes(1001, 20, 0, minute(t, 1), "burst"),
        minute(t, 1),
    )
    .await;
    let report = tick(&checker, "n-2", minute(t, 2)).await;
    assert_eq!(campaign(&report, 1001)["outcome"], "healthy", "{report}");
    // ... and the streak starts again once it falls back.
    record(
        &stack,
        outcomes(1001, 0, 200, minute(t, 2), "slump"),
        minute(t, 2),
    )
    .await;
    for n in 3..5 {
        let report = tick(&checker, &format!("n-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, 1001)["outcome"], "watching", "{report}");
    }
    assert!(running(&stack, 1001).await);
    let report = tick(&checker, "n-5", minute(t, 5)).await;
    assert_eq!(
        campaign(&report, 1001)["outcome"],
        "failed_over",
        "{report}"
    );
}

/// Three low ticks' worth of streak: two ticks run, the decisive one is left to the caller.
async fn low_and_watched(
    stack: &TestStack,
    checker: &FailoverChecker,
    skill: i64,
    t: DateTime<Utc>,
) {
    record(
        stack,
        outcomes(skill, 2, 58, minute(t, -10), "low"),
        minute(t, -10),
    )
    .await;
    for n in 0..2 {
        let report = tick(checker, &format!("w{skill}-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, skill)["outcome"], "watching", "{report}");
    }
}

#[tokio::test]
async fn ten_concurrent_checkers_fail_over_exactly_once() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    let warmup = FailoverChecker::new(&stack.deps());
    low_and_watched(&stack, &warmup, 1001, t).await;

    // Ten Lambda instances (own clients), ten request ids; five got the same
    // EventBridge event (a duplicate delivery), five got distinct events of the
    // same minute (overlapping schedules).
    let checkers: Vec<FailoverChecker> = (0..10)
        .map(|_| FailoverChecker::new(&stack.deps()))
        .collect();
    let events: Vec<Value> = (0..10)
        .map(|i| {
            let id = if i < 5 {
                "same-event".to_owned()
            } else {
                format!("other-event-{i}")
            };
            scheduled_event(&id, minute(t, 2))
        })
        .collect();
    let invocations: Vec<Invocation> = (0..10)
        .map(|i| invocation(&format!("conc-req-{i}")))
        .collect();
    let results = futures::future::join_all(
        checkers
            .iter()
            .zip(&events)
            .zip(&invocations)
            .map(|((c, e), inv)| c.handle(e, inv)),
    )
    .await;

    assert_eq!(calls(&stack, 1001, "stop").await, 1, "exactly one stop");
    assert_eq!(calls(&stack, 1002, "start").await, 1, "exactly one start");
    assert!(!running(&stack, 1001).await);
    assert!(running(&stack, 1002).await);
    // A delivery that meets the same event in flight is a success that does
    // nothing (no failed invocation, so no dead letter and no alarm).
    for r in &results {
        let r = r.as_ref().unwrap_or_else(|e| panic!("{e}"));
        if let Some(note) = r.get("duplicate") {
            assert_eq!(note, shared::observability::DUPLICATE_IN_PROGRESS, "{r}");
            assert_eq!(r["campaigns"], json!([]), "{r}");
        }
    }
    let failed_over = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter(|r| r.get("duplicate").is_none())
        .filter(|r| campaign(r, 1001)["outcome"] == "failed_over")
        .count();
    let replays_or_busy = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.get("duplicate").is_some()))
        .count();
    assert!(failed_over >= 1, "{results:?}");
    // The same event id can only be reported as failed over by its one
    // execution (and its replays); distinct events: at most one.
    assert!(replays_or_busy <= 4, "{results:?}");
    assert_eq!(audit(&stack, 1001, "failover.begin").await.len(), 1);
    assert_eq!(audit(&stack, 1001, "failover.complete").await.len(), 1);
    let record = failover_store(&stack).get(1001).await.unwrap();
    assert_eq!(record.state, FailoverState::OnBackup);
}

#[tokio::test]
async fn a_crash_between_stop_and_start_is_completed_by_the_next_run() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    let store = failover_store(&stack);
    // A checker that began the failover and died before stopping anything.
    let mut crashed = FailoverRecord::initial(1001);
    crashed.state = FailoverState::FailingOver;
    crashed.step = Some(TransitionStep::StopRequested);
    crashed.backup_skill_id = Some(1002);
    crashed.since = Some(minute(t, -1));
    crashed.owner = Some("dead-request".into());
    // Still within its deadline: nobody else touches it.
    crashed.owner_deadline_ms = Some(shared::idempotency::unix_now_ms() + 600_000);
    let Swap::Written(live) = store
        .replace(&FailoverRecord::initial(1001), crashed.clone())
        .await
        .unwrap()
    else {
        panic!("seed record not written")
    };
    let checker = FailoverChecker::new(&stack.deps());
    let report = tick(&checker, "crash-0", minute(t, 0)).await;
    assert_eq!(
        campaign(&report, 1001)["outcome"],
        "in_progress",
        "{report}"
    );
    assert!(running(&stack, 1001).await);

    // Its deadline passed: the next run completes the failover.
    let mut expired = (*live).clone();
    expired.owner_deadline_ms = Some(shared::idempotency::unix_now_ms() - 60_000);
    let Swap::Written(_) = store.replace(&live, expired).await.unwrap() else {
        panic!("not written")
    };
    let report = tick(&checker, "crash-1", minute(t, 1)).await;
    let c = campaign(&report, 1001);
    assert_eq!(c["outcome"], "resumed", "{report}");
    assert_eq!(c["state"], "on_backup");
    assert!(!running(&stack, 1001).await);
    assert!(running(&stack, 1002).await);
    assert_eq!(calls(&stack, 1001, "stop").await, 1);
    assert_eq!(calls(&stack, 1002, "start").await, 1);
    let resume = audit(&stack, 1001, "failover.resume").await;
    assert_eq!(resume.len(), 1);
    assert!(resume[0].why.contains("dead-request"), "{}", resume[0].why);
    assert_eq!(audit(&stack, 1001, "failover.complete").await.len(), 1);
}

#[tokio::test]
async fn a_failed_start_after_the_stop_is_completed_by_the_next_run() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    let checker = FailoverChecker::new(&stack.deps());
    low_and_watched(&stack, &checker, 1001, t).await;
    let fault: Fault = serde_json::from_value(json!({
        "kind": "serverError", "status": 500, "count": 1000, "pathContains": "/skills/1002/start"
    }))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let report = tick(&checker, "start-fails", minute(t, 2)).await;
    let c = campaign(&report, 1001);
    assert_eq!(c["outcome"], "failed", "{report}");
    assert_eq!(c["state"], "failing_over");
    assert!(!running(&stack, 1001).await, "the primary was stopped");
    assert!(!running(&stack, 1002).await, "the backup did not start");
    let record = failover_store(&stack).get(1001).await.unwrap();
    assert_eq!(record.state, FailoverState::FailingOver);
    assert_eq!(record.step, Some(TransitionStep::StopDone));
    let failed = audit(&stack, 1001, "failover.failed").await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].why.contains("starting skill 1002"),
        "{}",
        failed[0].why
    );

    stack.sim.admin().clear_faults().await.unwrap();
    let report = tick(&checker, "after-fault", minute(t, 3)).await;
    assert_eq!(campaign(&report, 1001)["outcome"], "resumed", "{report}");
    assert!(running(&stack, 1002).await);
    assert_eq!(
        calls(&stack, 1001, "stop").await,
        1,
        "the recorded stop is not repeated"
    );
    assert_eq!(calls(&stack, 1002, "start").await, 1);
    assert_eq!(
        failover_store(&stack).get(1001).await.unwrap().state,
        FailoverState::OnBackup
    );
}

#[tokio::test]
async fn an_operator_fails_back() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    let checker = FailoverChecker::new(&stack.deps());
    let operator = "arn:aws:sts::123456789012:assumed-role/ContactCentreOperator/jane";

    // On the primary: a success that says so, nothing done.
    let outcome = checker
        .failback(1001, operator, t, &invocation("fb-0"))
        .await
        .unwrap();
    assert_eq!(outcome, FailbackOutcome::AlreadyOnPrimary);

    low_and_watched(&stack, &checker, 1001, t).await;
    tick(&checker, "fb-fail-over", minute(t, 2)).await;
    assert!(running(&stack, 1002).await);

    let outcome = checker
        .failback(1001, operator, minute(t, 10), &invocation("fb-1"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        FailbackOutcome::FailedBack {
            backup_skill_id: 1002
        }
    );
    assert!(running(&stack, 1001).await, "primary started");
    assert!(!running(&stack, 1002).await, "backup stopped");
    let record = failover_store(&stack).get(1001).await.unwrap();
    assert_eq!(record.state, FailoverState::Primary);
    assert_eq!(record.streak_since, None, "the old streak is gone");
    let done = audit(&stack, 1001, "failback.complete").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].actor, operator);
    assert_eq!(done[0].at, minute(t, 10));
    assert_eq!(audit(&stack, 1001, "failback.").await.len(), 3);

    // Again: idempotent.
    let again = checker
        .failback(1001, operator, minute(t, 11), &invocation("fb-2"))
        .await
        .unwrap();
    assert_eq!(again, FailbackOutcome::AlreadyOnPrimary);
    assert_eq!(calls(&stack, 1002, "stop").await, 1);

    // The old low window (still within 30 minutes) must be confirmed anew
    // before another failover.
    let report = tick(&checker, "fb-after", minute(t, 12)).await;
    assert_eq!(campaign(&report, 1001)["outcome"], "watching", "{report}");
}

#[tokio::test]
async fn failback_during_a_failover_is_refused_as_in_progress() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let store = failover_store(&stack);
    let mut moving = FailoverRecord::initial(1001);
    moving.state = FailoverState::FailingOver;
    moving.step = Some(TransitionStep::StopRequested);
    moving.backup_skill_id = Some(1002);
    moving.owner = Some("someone".into());
    moving.owner_deadline_ms = Some(shared::idempotency::unix_now_ms() + 60_000);
    store
        .replace(&FailoverRecord::initial(1001), moving)
        .await
        .unwrap();
    let checker = FailoverChecker::new(&stack.deps());
    let err = checker
        .failback(1001, "ops", t0(&stack).await, &invocation("fb-busy"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FailbackError::InProgress {
                state: FailoverState::FailingOver,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.status(), 409);
}

#[tokio::test]
async fn automatic_failback_needs_fresh_recovered_primary_results() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, true).await;
    let t = t0(&stack).await;
    let checker = FailoverChecker::new(&stack.deps());
    low_and_watched(&stack, &checker, 1001, t).await;
    let report = tick(&checker, "af-over", minute(t, 2)).await;
    assert_eq!(
        campaign(&report, 1001)["outcome"],
        "failed_over",
        "{report}"
    );

    // Within the cool-down, and past it without fresh primary results
    // (the primary is stopped): stays on the backup.
    for n in [10, 32, 33] {
        let report = tick(&checker, &format!("af-{n}"), minute(t, n)).await;
        let c = campaign(&report, 1001);
        assert_eq!(c["outcome"], "on_backup", "{report}");
        assert_eq!(c["state"], "on_backup");
    }
    // An operator's trial of the primary brings fresh, recovered results
    // (40 / 60 = 0.67, above the recovery level 0.20): confirmed over three
    // ticks, then the failback.
    record(
        &stack,
        outcomes(1001, 40, 20, minute(t, 33), "trial"),
        minute(t, 33),
    )
    .await;
    for n in 34..36 {
        let report = tick(&checker, &format!("af-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, 1001)["outcome"], "on_backup", "{report}");
        assert!(running(&stack, 1002).await);
    }
    let report = tick(&checker, "af-36", minute(t, 36)).await;
    let c = campaign(&report, 1001);
    assert_eq!(c["outcome"], "failed_back", "{report}");
    assert_eq!(c["state"], "primary");
    assert!(running(&stack, 1001).await);
    assert!(!running(&stack, 1002).await);
    let done = audit(&stack, 1001, "failback.begin").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].actor, "failover-checker");
    assert!(
        done[0].why.contains("automatic failback"),
        "{}",
        done[0].why
    );
    assert_eq!(done[0].details["evidence"]["samples"], 60);
}

#[tokio::test]
async fn results_from_before_the_failover_never_trigger_a_failback() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, true).await;
    let t = t0(&stack).await;
    let checker = FailoverChecker::new(&stack.deps());
    // Good results long ago, then a collapse: the failover happens ...
    record(
        &stack,
        outcomes(1001, 60, 0, minute(t, -25), "before"),
        minute(t, -25),
    )
    .await;
    record(
        &stack,
        outcomes(1001, 0, 600, minute(t, -5), "collapse"),
        minute(t, -5),
    )
    .await;
    for n in 0..3 {
        tick(&checker, &format!("pre-{n}"), minute(t, n)).await;
    }
    assert_eq!(
        failover_store(&stack).get(1001).await.unwrap().state,
        FailoverState::OnBackup
    );
    // ... and the pre-failover successes, though inside a 30-minute window at
    // minute 32, are not "fresh": nothing happens.
    for n in 32..36 {
        let report = tick(&checker, &format!("pre-{n}"), minute(t, n)).await;
        assert_eq!(campaign(&report, 1001)["outcome"], "on_backup", "{report}");
    }
    assert!(running(&stack, 1002).await);
}

#[tokio::test]
async fn one_broken_campaign_does_not_block_another() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    configure(&stack, 1003, 1004, false).await;
    let t = t0(&stack).await;
    record(
        &stack,
        outcomes(1001, 1, 59, minute(t, -10), "a"),
        minute(t, -10),
    )
    .await;
    record(
        &stack,
        outcomes(1003, 1, 59, minute(t, -10), "b"),
        minute(t, -10),
    )
    .await;
    let fault: Fault = serde_json::from_value(json!({
        "kind": "serverError", "status": 500, "count": 1000, "pathContains": "/skills/1001/"
    }))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let checker = FailoverChecker::new(&stack.deps());
    tick(&checker, "iso-0", minute(t, 0)).await;
    tick(&checker, "iso-1", minute(t, 1)).await;
    let report = tick(&checker, "iso-2", minute(t, 2)).await;
    assert_eq!(campaign(&report, 1001)["outcome"], "failed", "{report}");
    assert_eq!(
        campaign(&report, 1003)["outcome"],
        "failed_over",
        "{report}"
    );
    assert!(
        running(&stack, 1001).await,
        "the broken campaign's stop failed"
    );
    assert!(!running(&stack, 1003).await);
    assert!(running(&stack, 1004).await);
    assert_eq!(audit(&stack, 1001, "failover.failed").await.len(), 1);
    // The broken one is retried (resumed) on the next tick once CXone answers.
    stack.sim.admin().clear_faults().await.unwrap();
    let report = tick(&checker, "iso-3", minute(t, 3)).await;
    assert_eq!(campaign(&report, 1001)["outcome"], "resumed", "{report}");
    assert!(running(&stack, 1002).await);
}

#[tokio::test]
async fn malformed_events_are_refused_clearly() {
    let stack = TestStack::start(scenario()).await;
    let checker = FailoverChecker::new(&stack.deps());
    for bad in [
        json!({}),
        json!({"id": "x"}),
        json!({"id": "x", "time": "yesterday"}),
        json!({"id": 12, "time": "2026-03-03T15:00:00Z"}),
        json!({"id": "", "time": "2026-03-03T15:00:00Z"}),
        json!([1, 2]),
        json!(null),
        json!("Scheduled Event"),
    ] {
        let err = checker
            .handle(&bad, &invocation("req-bad"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "BadEvent", "{bad}: {err}");
    }
    // The same event id with another time is refused, not run.
    let t = t0(&stack).await;
    tick(&checker, "reused", t).await;
    let err = checker
        .handle(
            &scheduled_event("reused", minute(t, 1)),
            &invocation("req-reused"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "BadEvent", "{err}");
}

#[tokio::test]
async fn the_binary_fails_over_under_the_runtime_api() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001, 1002, false).await;
    let t = t0(&stack).await;
    record(
        &stack,
        outcomes(1001, 0, 80, minute(t, -3), "bin"),
        minute(t, -3),
    )
    .await;
    let function = local_stack::FunctionProcess::spawn(
        e2e_tests::binary("failover-checker"),
        stack.function_env(),
    )
    .await
    .expect("start failover-checker");
    let mut last = Value::Null;
    for n in 0..3 {
        last = function
            .invoke(
                scheduled_event(&format!("bin-{n}"), minute(t, n)),
                Duration::from_secs(60),
            )
            .await
            .expect("invoke");
    }
    assert_eq!(campaign(&last, 1001)["outcome"], "failed_over", "{last}");
    assert!(!running(&stack, 1001).await);
    assert!(running(&stack, 1002).await);
    // A malformed event is a function error, and the function survives it.
    let err = function
        .invoke(json!({"nothing": true}), Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BadEvent"), "{err}");
    let again = function
        .invoke(
            scheduled_event("bin-2", minute(t, 2)),
            Duration::from_secs(60),
        )
        .await
        .expect("replay");
    assert_eq!(again, last);
}

#[tokio::test]
async fn the_compare_and_swap_lets_exactly_one_of_ten_writers_win() {
    // The guarantee without the lease: ten writers that read the same record.
    let stack = TestStack::start(scenario()).await;
    let store = failover_store(&stack);
    let initial = FailoverRecord::initial(1001);
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        let current = initial.clone();
        async move {
            let mut next = current.clone();
            next.state = FailoverState::FailingOver;
            next.owner = Some(format!("writer-{i}"));
            store.replace(&current, next).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let won: Vec<_> = results
        .iter()
        .filter_map(|r| match r.as_ref().expect("no storage error") {
            Swap::Written(record) => Some(record.owner.clone()),
            Swap::Conflict => None,
        })
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let stored = store.get(1001).await.unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.owner, won[0]);
    // The same again from version 1 (a conditional put on state and version).
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        let current = stored.clone();
        async move {
            let mut next = current.clone();
            next.step = Some(TransitionStep::StopDone);
            next.owner = Some(format!("second-{i}"));
            store.replace(&current, next).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results
        .iter()
        .filter(|r| matches!(r, Ok(Swap::Written(_))))
        .count();
    assert_eq!(wins, 1, "{results:?}");
    assert_eq!(store.get(1001).await.unwrap().version, 2);
}
