//! The shared CXone call budget against the local DynamoDB: many concurrent
//! "invocations" (each with its own `RateBudget`, as separate Lambda
//! instances would have) never admit more calls in one second than the
//! limit, a 429 recorded by one makes the others wait, and a deadline too
//! close to wait for a free second is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_tests::{unique, TestStack};
use shared::deadline::Deadline;
use shared::store::rate_budget::{BudgetError, RateBudget};

async fn stack() -> TestStack {
    TestStack::start(cxone_sim::Scenario::small_test()).await
}

fn budget(stack: &TestStack, name: &str, per_second: u32) -> RateBudget {
    RateBudget::new(
        stack.dynamo.clone(),
        stack.tables.state.clone(),
        name,
        per_second,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_invocations_never_pass_the_limit_in_any_second() {
    let stack = stack().await;
    let name = unique("cxone");
    let per_second = 20;
    let (invocations, calls_each) = (50usize, 2usize);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..invocations {
        let budget = Arc::new(budget(&stack, &name, per_second));
        tasks.push(tokio::spawn(async move {
            let deadline = Deadline::after(Duration::from_secs(60));
            let mut seconds = Vec::new();
            for _ in 0..calls_each {
                seconds.push(budget.admit(&deadline).await.expect("admitted").second);
            }
            seconds
        }));
    }
    let mut per_second_seen: BTreeMap<i64, u32> = BTreeMap::new();
    for task in tasks {
        for second in task.await.unwrap() {
            *per_second_seen.entry(second).or_default() += 1;
        }
    }
    let total: u32 = per_second_seen.values().sum();
    assert_eq!(
        total as usize,
        invocations * calls_each,
        "every call admitted"
    );
    let busiest = per_second_seen.values().copied().max().unwrap();
    assert!(
        busiest <= per_second,
        "at most {per_second} a second: {per_second_seen:?}"
    );
    // 100 calls at 20 a second need at least 5 distinct seconds, so more
    // than 3 s from the first to the last (first late in its second, last
    // early in its).
    assert!(per_second_seen.len() >= 5, "{per_second_seen:?}");
    assert!(started.elapsed() >= Duration::from_secs(3));
}

#[tokio::test]
async fn a_429_recorded_by_one_invocation_holds_back_the_others() {
    let stack = stack().await;
    let name = unique("cxone");
    let first = budget(&stack, &name, 100);
    let second = budget(&stack, &name, 100);
    // The second instance reads the (empty) block once and caches it.
    second
        .admit(&Deadline::after(Duration::from_secs(5)))
        .await
        .unwrap();
    first.throttled(Duration::from_secs(2)).await.unwrap();
    // Within the second's cache period it may not see the block yet; after
    // it, it must wait for the block's end.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let admitted = second
        .admit(&Deadline::after(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "waited {:?}",
        started.elapsed()
    );
    assert!(admitted.waited >= Duration::from_millis(700));
    // An earlier end does not shorten a recorded block.
    let until = first.throttled(Duration::from_secs(3)).await.unwrap();
    first.throttled(Duration::from_millis(10)).await.unwrap();
    let started = Instant::now();
    first
        .admit(&Deadline::after(Duration::from_secs(10)))
        .await
        .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(now_ms >= until, "admitted before the block's end");
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn no_room_before_the_deadline_is_refused_without_a_call() {
    let stack = stack().await;
    let name = unique("cxone");
    let budget = budget(&stack, &name, 1);
    budget.throttled(Duration::from_secs(30)).await.unwrap();
    let refused = budget
        .admit(&Deadline::after(Duration::from_secs(2)))
        .await
        .unwrap_err();
    assert!(matches!(refused, BudgetError::NoTime { .. }), "{refused}");
}

/// A CXone client as a function builds it at cold start with
/// `CXONE_CALLS_PER_SECOND` set: its own budget instance over this stack's
/// state table.
fn budgeted_client(stack: &TestStack, per_second: u32) -> Arc<shared::cxone::CxoneClient> {
    let mut config = stack.config.clone();
    config.cxone_calls_per_second = Some(per_second);
    shared::wiring::Deps::build(config, &stack.sdk)
        .expect("deps")
        .cxone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_of_two_invocations_share_the_budget_and_a_429() {
    let stack = stack().await;
    let (a, b) = (budgeted_client(&stack, 5), budgeted_client(&stack, 5));
    let deadline = Deadline::after(Duration::from_secs(60));
    // 15 reads between two "invocations" at 5 a second: at least 3 seconds
    // counted, so at least 2 s from the first to the last.
    let started = Instant::now();
    let calls = (0..15).map(|i| {
        let client = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { client.skill(1001, &deadline).await.map(|_| ()) }
    });
    for result in futures::future::join_all(calls).await {
        result.expect("read");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // CXone answers one 429 with Retry-After: 3 to `a`; `b`, calling after
    // it, holds back too instead of sending.
    let fault: cxone_sim::Fault = serde_json::from_value(serde_json::json!({
        "kind": "rateLimit", "retryAfterSeconds": 3, "count": 1,
        "pathContains": "dnc-groups"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await; // b's block cache expires
    let a_call = {
        let a = a.clone();
        tokio::spawn(async move { a.dnc_groups(&deadline).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    b.skill(1001, &deadline)
        .await
        .expect("read after the block");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "b waited only {:?}",
        started.elapsed()
    );
    a_call.await.unwrap().expect("retried after the 429");
    let log = stack.sim.admin().requests().await.unwrap();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    assert_eq!(throttled, 1, "one 429, then every caller waited");
}
