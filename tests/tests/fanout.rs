//! The tuner's and the checker's ticks fanned out (shared/src/fanout): a
//! real task queue in moto, Lambda's SQS poller played by
//! `local_stack::event_source`, the simulator as CXone. One campaign's
//! hanging CXone calls do not hold up the others; a task delivered twice
//! writes once; a poison message ends in the dead-letter queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capacity_tuner::Tuner;
use chrono::{DateTime, Utc};
use cxone_sim::{Fault, Scenario};
use e2e_tests::{config_body, scheduled_event, unique, TestStack};
use failover_checker::FailoverChecker;
use local_stack::event_source::{queue_depth, EventSource, TaskQueues};
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::fanout::queue::TaskQueue;
use shared::fanout::CampaignTask;
use shared::idempotency::unix_now_ms;
use shared::invocation::Invocation;

/// Skills 1001 and 1002 of the small scenario, and `extra` copies of 1001
/// as 2001, 2002, ...
fn fleet(extra: i64) -> Scenario {
    let mut s = Scenario::small_test();
    let template = s.skills[0].clone();
    for i in 1..=extra {
        let mut skill = template.clone();
        skill.skill_id = 2000 + i;
        s.skills.push(skill);
    }
    s
}

fn skills(extra: i64) -> Vec<i64> {
    let mut ids = vec![1001, 1002];
    ids.extend((1..=extra).map(|i| 2000 + i));
    ids
}

fn invocation(budget: Duration) -> Invocation {
    Invocation::new(unique("req"), Deadline::after(budget))
}

async fn queues(stack: &TestStack, max_receives: u32) -> (aws_sdk_sqs::Client, TaskQueues) {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queues = TaskQueues::create(&sqs, &unique("tasks"), max_receives, Duration::from_secs(1))
        .await
        .expect("task queues in moto");
    (sqs, queues)
}

fn source(sqs: &aws_sdk_sqs::Client, queues: &TaskQueues, concurrency: usize) -> EventSource {
    EventSource {
        sqs: sqs.clone(),
        queues: queues.clone(),
        batch_size: 10,
        max_concurrency: concurrency,
    }
}

async fn tune_records(stack: &TestStack, skill: i64, event_id: &str) -> Vec<Value> {
    stack
        .deps()
        .audit()
        .all_for(skill)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "pacing.tune" && r.details["eventId"] == event_id)
        .map(|r| json!({"outcome": r.outcome, "at": r.at}))
        .collect()
}

async fn general_settings_puts(stack: &TestStack, skill: i64) -> usize {
    let path = format!("/skills/{skill}/parameters/general-settings");
    stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(&path))
        .count()
}

/// The tuner with its task queue.
fn fanned_tuner(stack: &TestStack, sqs: &aws_sdk_sqs::Client, queues: &TaskQueues) -> Arc<Tuner> {
    let mut tuner = Tuner::new(&stack.deps());
    tuner.queue = Some(TaskQueue::new(sqs.clone(), queues.url.clone()));
    Arc::new(tuner)
}

#[tokio::test]
async fn a_dispatched_tick_decides_every_campaign_once_and_a_redelivery_writes_nothing() {
    let stack = TestStack::start(fleet(4)).await;
    let ids = skills(4);
    for &skill in &ids {
        stack.put_config(skill, &config_body(None)).await;
    }
    let (sqs, queues) = queues(&stack, 3).await;
    let tuner = fanned_tuner(&stack, &sqs, &queues);
    let now: DateTime<Utc> = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event(&unique("evt"), now);
    let event_id = event["id"].as_str().unwrap().to_owned();

    let dispatch = tuner
        .handle(&event, &invocation(Duration::from_secs(30)))
        .await
        .expect("dispatch");
    assert_eq!(dispatch["dispatched"], ids.len(), "{dispatch}");
    assert_eq!(
        queue_depth(&sqs, &queues.url).await.unwrap(),
        ids.len() as u64
    );
    // The dispatch is idempotent per event id: a redelivered event sends nothing.
    let again = tuner
        .handle(&event, &invocation(Duration::from_secs(30)))
        .await
        .expect("redelivered event");
    assert_eq!(again, dispatch);
    assert_eq!(
        queue_depth(&sqs, &queues.url).await.unwrap(),
        ids.len() as u64
    );

    let drained = source(&sqs, &queues, 2)
        .drain(
            |batch| {
                let tuner = tuner.clone();
                async move {
                    tuner
                        .handle(&batch, &invocation(Duration::from_secs(30)))
                        .await
                        .map_err(|e| e.to_string())
                }
            },
            Duration::from_secs(120),
        )
        .await
        .expect("drain");
    assert_eq!(drained.deliveries, ids.len(), "{drained:?}");
    assert_eq!(drained.failures, 0, "{drained:?}");
    assert_eq!(queue_depth(&sqs, &queues.url).await.unwrap(), 0);
    for &skill in &ids {
        let records = tune_records(&stack, skill, &event_id).await;
        assert_eq!(records.len(), 1, "skill {skill}: {records:?}");
        assert_eq!(records[0]["outcome"], "written", "skill {skill}");
        assert_eq!(
            general_settings_puts(&stack, skill).await,
            1,
            "skill {skill}"
        );
    }

    // SQS delivers at least once: the same task again, twice, writes nothing.
    let task = CampaignTask::new(
        &shared::invocation::Tick::from_event(&event).unwrap(),
        1001,
        unix_now_ms(),
    );
    let twice = TaskQueue::new(sqs.clone(), queues.url.clone());
    twice
        .send(&[task.clone(), task])
        .await
        .expect("send duplicates");
    let drained = source(&sqs, &queues, 2)
        .drain(
            |batch| {
                let tuner = tuner.clone();
                async move {
                    tuner
                        .handle(&batch, &invocation(Duration::from_secs(30)))
                        .await
                        .map_err(|e| e.to_string())
                }
            },
            Duration::from_secs(60),
        )
        .await
        .expect("drain duplicates");
    assert_eq!(drained.failures, 0, "{drained:?}");
    assert_eq!(tune_records(&stack, 1001, &event_id).await.len(), 1);
    assert_eq!(general_settings_puts(&stack, 1001).await, 1);
}

#[tokio::test]
async fn a_campaign_whose_cxone_calls_hang_does_not_delay_the_others() {
    let stack = TestStack::start(fleet(3)).await;
    let ids = skills(3);
    for &skill in &ids {
        stack.put_config(skill, &config_body(None)).await;
    }
    let hung = 2002;
    let fault: Fault = serde_json::from_value(json!({"kind": "slow", "delayMs": 60_000,
        "count": 1000, "pathContains": format!("/skills/{hung}")}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let (sqs, queues) = queues(&stack, 3).await;
    let tuner = fanned_tuner(&stack, &sqs, &queues);
    let now: DateTime<Utc> = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event(&unique("evt"), now);
    let event_id = event["id"].as_str().unwrap().to_owned();
    tuner
        .handle(&event, &invocation(Duration::from_secs(30)))
        .await
        .expect("dispatch");

    // Every task in one batch, as Lambda may hand them over.
    let poller = source(&sqs, &queues, 1);
    let messages = poller.receive().await.unwrap();
    assert_eq!(messages.len(), ids.len());
    let batch = poller.event(&messages);
    let started = Instant::now();
    let working = {
        let tuner = tuner.clone();
        tokio::spawn(async move {
            tuner
                .handle(&batch, &invocation(Duration::from_secs(25)))
                .await
        })
    };
    let others: Vec<i64> = ids.iter().copied().filter(|&s| s != hung).collect();
    loop {
        let mut done = 0;
        for &skill in &others {
            done += usize::from(!tune_records(&stack, skill, &event_id).await.is_empty());
        }
        if done == others.len() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "only {done} of {} campaigns decided while {hung} hangs",
            others.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let others_done = started.elapsed();
    assert!(
        !working.is_finished(),
        "the hung campaign is still waiting on CXone"
    );
    assert!(tune_records(&stack, hung, &event_id).await.is_empty());

    // The hung campaign ends at its deadline, audited as failed, not retried.
    let response = working.await.unwrap().expect("batch");
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let hung_records = tune_records(&stack, hung, &event_id).await;
    assert_eq!(hung_records.len(), 1, "{hung_records:?}");
    assert_eq!(hung_records[0]["outcome"], "failed");
    assert!(others_done < Duration::from_secs(15), "{others_done:?}");
    stack.sim.admin().clear_faults().await.unwrap();
}

#[tokio::test]
async fn poison_messages_end_in_the_dead_letter_queue() {
    let stack = TestStack::start(fleet(0)).await;
    stack.put_config(1001, &config_body(None)).await;
    let (sqs, queues) = queues(&stack, 2).await;
    let tuner = fanned_tuner(&stack, &sqs, &queues);
    sqs.send_message()
        .queue_url(&queues.url)
        .message_body(r#"{"eventId":"e","skillId":"one"}"#)
        .send()
        .await
        .unwrap();
    let drained = source(&sqs, &queues, 1)
        .drain(
            |batch| {
                let tuner = tuner.clone();
                async move {
                    tuner
                        .handle(&batch, &invocation(Duration::from_secs(10)))
                        .await
                        .map_err(|e| e.to_string())
                }
            },
            Duration::from_secs(30),
        )
        .await
        .expect("drain");
    assert!(drained.failures >= 2, "{drained:?}");
    let dead = sqs
        .receive_message()
        .queue_url(&queues.dead_letter_url)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), 1, "{drained:?}");
    assert_eq!(dead[0].body(), Some(r#"{"eventId":"e","skillId":"one"}"#));
    assert_eq!(queue_depth(&sqs, &queues.url).await.unwrap(), 0);
}

#[tokio::test]
async fn the_checker_fans_out_one_task_per_campaign_with_a_failover_config() {
    let stack = TestStack::start(fleet(2)).await;
    // 1001 and 2001 fail over to 1002; 2002 has no failover config.
    stack.put_config(1001, &config_body(Some(1002))).await;
    stack.put_config(2001, &config_body(Some(1002))).await;
    stack.put_config(2002, &config_body(None)).await;
    let (sqs, queues) = queues(&stack, 3).await;
    let deps = stack.deps();
    let mut checker = FailoverChecker::new(&deps);
    checker.queue = Some(TaskQueue::new(sqs.clone(), queues.url.clone()));
    let checker = Arc::new(checker);
    let now: DateTime<Utc> = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event(&unique("evt"), now);
    let event_id = event["id"].as_str().unwrap().to_owned();
    let dispatch = checker
        .handle(&event, &invocation(Duration::from_secs(30)))
        .await
        .expect("dispatch");
    assert_eq!(dispatch["dispatched"], 2, "{dispatch}");
    let drained = source(&sqs, &queues, 2)
        .drain(
            |batch| {
                let checker = checker.clone();
                async move {
                    checker
                        .handle(&batch, &invocation(Duration::from_secs(30)))
                        .await
                        .map_err(|e| e.to_string())
                }
            },
            Duration::from_secs(60),
        )
        .await
        .expect("drain");
    assert_eq!(
        (drained.deliveries, drained.failures),
        (2, 0),
        "{drained:?}"
    );
    for skill in [1001, 2001] {
        let key = format!("failover-checker#{event_id}#{skill}");
        let report = deps
            .idempotency()
            .stored(&key, unix_now_ms())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no report for {skill}"));
        assert_eq!(report["skillId"], skill);
        assert_eq!(report["state"], "primary", "{report}");
        assert_ne!(report["outcome"], "failed", "{report}");
    }
}
