//! A second EventBridge delivery of a scheduled event that meets the first
//! one still in progress: a successful invocation that does nothing (no
//! failed invocation, so no dead letter and no `Errors` alarm), reported as
//! `duplicate delivery: in progress elsewhere`. Needs the local stack.

use std::time::Duration;

use campaign_api::Api;
use capacity_tuner::Tuner;
use cxone_sim::Scenario;
use e2e_tests::{config_body, http_event, scheduled_event, TestStack};
use failover_checker::FailoverChecker;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::idempotency::{payload_hash, unix_now_ms, Claim};
use shared::invocation::{Invocation, Tick};
use shared::observability::DUPLICATE_IN_PROGRESS;

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
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.body());
}

fn invocation(id: &str) -> Invocation {
    Invocation::new(id, Deadline::after(Duration::from_secs(60)))
}

/// Claims `function`'s idempotency record for `event` as the first delivery
/// would (in progress until a minute from now).
async fn first_delivery_in_flight(stack: &TestStack, function: &str, event: &Value) -> String {
    let tick = Tick::from_event(event).unwrap();
    let key = format!("{function}#{}", tick.event_id);
    let payload = json!({"id": tick.event_id, "time": tick.time});
    let claim = stack
        .deps()
        .idempotency()
        .claim(
            &key,
            &payload_hash(&payload),
            &Deadline::after(Duration::from_secs(60)),
            unix_now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(claim, Claim::Acquired);
    key
}

/// What the simulator has been asked, and what the audit trail holds.
async fn footprint(stack: &TestStack, skill: i64) -> (usize, usize) {
    let requests = stack.sim.admin().requests().await.unwrap().len();
    let audit = stack.deps().audit().all_for(skill).await.unwrap().len();
    (requests, audit)
}

async fn still_in_progress(stack: &TestStack, key: &str, event: &Value) {
    let tick = Tick::from_event(event).unwrap();
    let payload = json!({"id": tick.event_id, "time": tick.time});
    let claim = stack
        .deps()
        .idempotency()
        .claim(
            key,
            &payload_hash(&payload),
            &Deadline::after(Duration::from_secs(60)),
            unix_now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::InProgress,
        "the first delivery's claim is untouched"
    );
}

fn assert_duplicate_report(report: &Value, event_id: &str) {
    assert_eq!(report["duplicate"], DUPLICATE_IN_PROGRESS, "{report}");
    assert_eq!(report["eventId"], event_id, "{report}");
    assert_eq!(report["campaigns"], json!([]), "{report}");
}

#[tokio::test]
async fn tuner_duplicate_delivery_in_progress_is_ok_and_writes_nothing() {
    let stack = TestStack::start(Scenario::small_test()).await;
    configure(&stack, 1001).await;
    let now = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event("evt-dup", now);
    let key = first_delivery_in_flight(&stack, capacity_tuner::FUNCTION_NAME, &event).await;
    let before = footprint(&stack, 1001).await;

    let tuner = Tuner::new(&stack.deps());
    let report = tuner
        .handle(&event, &invocation("req-second"))
        .await
        .expect("a duplicate delivery is not a failure");
    assert_duplicate_report(&report, "evt-dup");
    assert_eq!(
        footprint(&stack, 1001).await,
        before,
        "nothing read or written"
    );
    still_in_progress(&stack, &key, &event).await;
}

#[tokio::test]
async fn tuner_binary_answers_a_duplicate_delivery_without_a_function_error() {
    let stack = TestStack::start(Scenario::small_test()).await;
    configure(&stack, 1001).await;
    let now = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event("evt-dup-bin", now);
    first_delivery_in_flight(&stack, capacity_tuner::FUNCTION_NAME, &event).await;
    let mut env = stack.function_env();
    env.retain(|(k, _)| k != "RUST_LOG");
    env.push(("RUST_LOG".into(), "info".into()));
    let function = local_stack::FunctionProcess::spawn(e2e_tests::binary("capacity-tuner"), env)
        .await
        .expect("start capacity-tuner");
    let before = footprint(&stack, 1001).await;
    let report = function
        .invoke(event, Duration::from_secs(60))
        .await
        .expect("a successful invocation (no dead letter, no Errors alarm)");
    assert_duplicate_report(&report, "evt-dup-bin");
    assert_eq!(footprint(&stack, 1001).await, before);
    let logs = function.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("duplicate delivery") && l.contains("\"INFO\"")),
        "logged at info: {logs:#?}"
    );
    let metric = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("DuplicateDeliveries").is_some())
        .unwrap_or_else(|| panic!("no DuplicateDeliveries EMF line in {logs:#?}"));
    assert_eq!(metric["DuplicateDeliveries"], 1.0);
    assert_eq!(metric["Function"], capacity_tuner::FUNCTION_NAME);
}

#[tokio::test]
async fn checker_duplicate_delivery_in_progress_is_ok_and_writes_nothing() {
    let stack = TestStack::start(Scenario::small_test()).await;
    configure(&stack, 1001).await;
    let now = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event("evt-dup-check", now);
    let key = first_delivery_in_flight(&stack, failover_checker::FUNCTION_NAME, &event).await;
    let before = footprint(&stack, 1001).await;

    let checker = FailoverChecker::new(&stack.deps());
    let report = checker
        .handle(&event, &invocation("req-second"))
        .await
        .expect("a duplicate delivery is not a failure");
    assert_duplicate_report(&report, "evt-dup-check");
    assert_eq!(
        footprint(&stack, 1001).await,
        before,
        "nothing read or written"
    );
    still_in_progress(&stack, &key, &event).await;
}
