//! The simulator's `contact.completed` webhook against a tiny receiver that
//! verifies every signature with `shared::webhook::signature`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use cxone_sim::{spawn, Fault, FaultKind, Scenario, SimHandle, WebhookConfig};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::webhook::signature::SignatureHeader;

const SECRET: &str = "sim-test-secret";

/// One request the receiver saw.
#[derive(Clone, Debug)]
struct Seen {
    /// `t` of the signature.
    t: i64,
    /// Whether the signature verified against [`SECRET`].
    valid: bool,
    /// The event objects.
    events: Vec<Value>,
    /// The status answered.
    status: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Answer this many requests 503 before accepting.
    fail_next: Arc<Mutex<u32>>,
    /// Ids accepted so far (the receiver's own de-duplication).
    ids: Arc<Mutex<BTreeSet<String>>>,
}

impl Receiver {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn fail(&self, n: u32) {
        if let Ok(mut f) = self.fail_next.lock() {
            *f = n;
        }
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let sig = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| SignatureHeader::parse(v).ok());
    let (t, valid) = match &sig {
        Some(h) => (
            h.timestamp(),
            h.verify(&body, &[SecretString::from(SECRET)], h.timestamp() * 1000)
                .is_ok(),
        ),
        None => (0, false),
    };
    let events = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["events"].as_array().cloned())
        .unwrap_or_default();
    let failing = {
        let mut f = r.fail_next.lock().unwrap_or_else(|e| e.into_inner());
        if *f > 0 {
            *f -= 1;
            true
        } else {
            false
        }
    };
    let status = if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else if !valid {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::ACCEPTED
    };
    let (mut accepted, mut duplicates) = (0, 0);
    if status == StatusCode::ACCEPTED {
        let mut ids = r.ids.lock().unwrap_or_else(|e| e.into_inner());
        for e in &events {
            if ids.insert(e["eventId"].as_str().unwrap_or_default().to_owned()) {
                accepted += 1;
            } else {
                duplicates += 1;
            }
        }
    }
    r.seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
        t,
        valid,
        events,
        status: status.as_u16(),
    });
    (
        status,
        Json(json!({"accepted": accepted, "duplicates": duplicates})),
    )
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = Router::new()
        .route("/webhooks/cxone", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, format!("http://{addr}/webhooks/cxone"))
}

fn config(url: &str, batch: usize) -> WebhookConfig {
    let mut c = WebhookConfig::new(url, SECRET);
    c.batch_size = batch;
    c
}

async fn all_contacts(sim: &SimHandle, now: DateTime<Utc>) -> Vec<cxone_sim::ContactRecord> {
    let admin = sim.admin();
    let start = now - chrono::Duration::days(1);
    let mut all = admin.contacts(1001, start, now).await.unwrap();
    all.extend(admin.contacts(1002, start, now).await.unwrap());
    all
}

#[tokio::test]
async fn contacts_become_signed_batched_events() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let status = admin.set_webhook(&config(&url, 40)).await.unwrap();
    assert!(status.enabled);
    assert_eq!(status.config.unwrap()["secret"], "***");

    let mut posted_at = Vec::new();
    for _ in 0..3 {
        posted_at.push(admin.advance_seconds(600.0).await.unwrap().timestamp());
    }
    let now = admin.clock().await.unwrap();
    let seen = rx.seen();
    assert!(!seen.is_empty());
    // Every request is validly signed, with t = the simulated time of the advance that posted it.
    assert!(seen.iter().all(|s| s.valid && s.status == 202));
    assert!(seen.iter().all(|s| posted_at.contains(&s.t)));
    // Batches are at most batchSize, and only the last one of an advance is partial.
    assert!(seen
        .iter()
        .all(|s| !s.events.is_empty() && s.events.len() <= 40));
    assert!(seen.iter().filter(|s| s.events.len() < 40).count() <= 3);

    // Exactly one event per completed contact, ids unique and stable.
    let contacts = all_contacts(&sim, now).await;
    let events: Vec<&Value> = seen.iter().flat_map(|s| s.events.iter()).collect();
    assert_eq!(events.len(), contacts.len());
    let by_id: HashMap<&str, &Value> = events
        .iter()
        .map(|e| (e["eventId"].as_str().unwrap(), *e))
        .collect();
    assert_eq!(by_id.len(), events.len(), "event ids are unique");
    for c in &contacts {
        let id = format!("sim-{}-{}", c.skill_id, c.contact_id);
        let e = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("no event {id}"));
        assert_eq!(e["type"], "contact.completed");
        assert_eq!(e["skillId"], c.skill_id);
        let at = DateTime::parse_from_rfc3339(e["occurredAt"].as_str().unwrap()).unwrap();
        assert_eq!(at.with_timezone(&Utc), c.occurred_at);
        assert_eq!(e["data"]["contactId"], c.contact_id.to_string());
        assert_eq!(e["data"]["outcome"], c.outcome.as_str());
        assert!((e["data"]["talkSeconds"].as_f64().unwrap() - c.talk_seconds).abs() < 0.001);
        assert!((e["data"]["wrapSeconds"].as_f64().unwrap() - c.wrap_seconds).abs() < 0.001);
    }
    // Every body parses as a valid webhook body for the bundle.
    let status = admin.webhook().await.unwrap();
    assert_eq!(status.queued, 0);
    assert_eq!(status.stats.events_delivered as usize, contacts.len());
    assert_eq!(status.stats.accepted_reported as usize, contacts.len());
    assert_eq!(status.stats.retries, 0);
}

#[tokio::test]
async fn bodies_parse_as_bundle_events() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    admin.set_webhook(&config(&url, 500)).await.unwrap();
    admin.advance_seconds(1200.0).await.unwrap();
    let seen = rx.seen();
    assert!(!seen.is_empty());
    for s in seen {
        let body = serde_json::to_vec(&json!({"events": s.events})).unwrap();
        let parsed = shared::webhook::parse_body(&body);
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}

#[tokio::test]
async fn failures_are_retried_and_requeued() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let mut cfg = config(&url, 500);
    cfg.max_attempts = 3;
    admin.set_webhook(&cfg).await.unwrap();

    // Two 503s, then success: the same batch three times, counted once.
    rx.fail(2);
    admin.advance_seconds(600.0).await.unwrap();
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].events, seen[2].events);
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        [503, 503, 202]
    );
    let st = admin.webhook().await.unwrap();
    assert_eq!(st.stats.retries, 2);
    assert_eq!(st.stats.failed_attempts, 2);
    assert_eq!(st.stats.batches_delivered, 1);

    // Down for more than maxAttempts: the events stay queued and go out at the next advance.
    rx.fail(3);
    let r = reqwest::Client::new()
        .post(format!("{}/admin/clock/advance", sim.base_url()))
        .json(&json!({"seconds": 600}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let undelivered = r["webhook"]["undelivered"].as_u64().unwrap();
    assert!(undelivered > 0);
    let st = admin.webhook().await.unwrap();
    assert_eq!(st.queued as u64, undelivered);
    assert_eq!(st.stats.batches_requeued, 1);
    admin.advance_seconds(60.0).await.unwrap();
    assert_eq!(admin.webhook().await.unwrap().queued, 0);

    let now = admin.clock().await.unwrap();
    let accepted: BTreeSet<String> = rx.ids.lock().unwrap().clone();
    let contacts = all_contacts(&sim, now).await;
    assert_eq!(
        accepted.len(),
        contacts.len(),
        "every contact delivered at least once"
    );
}

#[tokio::test]
async fn switching_off_and_on() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();

    // Not configured: nothing is posted.
    admin.advance_seconds(300.0).await.unwrap();
    assert!(rx.seen().is_empty());

    // Configured but disabled: nothing queued or posted.
    let mut cfg = config(&url, 100);
    cfg.enabled = false;
    admin.set_webhook(&cfg).await.unwrap();
    admin.advance_seconds(300.0).await.unwrap();
    assert!(rx.seen().is_empty());
    assert_eq!(admin.webhook().await.unwrap().queued, 0);

    // Enabled: only contacts completed from now on.
    let on_at = admin.clock().await.unwrap();
    cfg.enabled = true;
    admin.set_webhook(&cfg).await.unwrap();
    admin.advance_seconds(300.0).await.unwrap();
    let off_at = admin.clock().await.unwrap();
    let seen = rx.seen();
    assert!(!seen.is_empty());
    let n_on: usize = seen.iter().map(|s| s.events.len()).sum();
    let mut expected = admin.contacts(1001, on_at, off_at).await.unwrap().len();
    expected += admin.contacts(1002, on_at, off_at).await.unwrap().len();
    assert_eq!(n_on, expected);

    // Deleted: nothing more.
    let st = admin.clear_webhook().await.unwrap();
    assert!(!st.configured);
    admin.advance_seconds(600.0).await.unwrap();
    assert_eq!(rx.seen().len(), seen.len());
}

#[tokio::test]
async fn partial_batches_wait_for_max_delay_and_flush() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let mut cfg = config(&url, 500);
    cfg.max_batch_delay_seconds = 3600;
    admin.set_webhook(&cfg).await.unwrap();
    admin.advance_seconds(300.0).await.unwrap();
    assert!(
        rx.seen().is_empty(),
        "a partial batch younger than the delay waits"
    );
    let queued = admin.webhook().await.unwrap().queued;
    assert!(queued > 0);
    let st = admin.flush_webhook().await.unwrap();
    assert_eq!(st.queued, 0);
    let n: usize = rx.seen().iter().map(|s| s.events.len()).sum();
    assert_eq!(n, queued);
}

#[tokio::test]
async fn duplicate_fault_reposts_batches() {
    let (rx, url) = receiver().await;
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    admin.set_webhook(&config(&url, 20)).await.unwrap();
    admin
        .set_faults(vec![Fault {
            kind: FaultKind::WebhookDuplicate,
            count: Some(2),
            path_contains: None,
            method: None,
        }])
        .await
        .unwrap();
    admin.advance_seconds(900.0).await.unwrap();
    let seen = rx.seen();
    let total: usize = seen.iter().map(|s| s.events.len()).sum();
    let unique = rx.ids.lock().unwrap().len();
    assert_eq!(
        seen[0].events, seen[1].events,
        "the first batch is posted twice"
    );
    assert_eq!(seen[2].events, seen[3].events, "and the second");
    assert_eq!(total - unique, seen[0].events.len() + seen[2].events.len());
    let st = admin.webhook().await.unwrap();
    assert_eq!(st.stats.batches_reposted, 2);
    assert_eq!(st.stats.duplicates_reported as usize, total - unique);
}

#[tokio::test]
async fn scenario_block_and_success_profile() {
    let (rx, url) = receiver().await;
    let mut sc = Scenario::small_test();
    let mut cfg = config(&url, 100);
    cfg.skill_ids = Some(vec![1001]);
    sc.webhook = Some(cfg);
    // Success collapses to zero at 10:30 local (the clock starts at 10:00).
    sc.skills[0].success_rate = serde_json::from_value(json!({
        "interpolation": "step",
        "points": [{"time": "00:00", "value": 0.5}, {"time": "10:30", "value": 0.0}]
    }))
    .unwrap();
    let sim = spawn(sc).await.unwrap();
    let admin = sim.admin();
    let start = admin.clock().await.unwrap();
    admin.advance_seconds(3600.0).await.unwrap();
    let seen = rx.seen();
    let events: Vec<&Value> = seen.iter().flat_map(|s| s.events.iter()).collect();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e["skillId"] == 1001),
        "skillIds filter"
    );
    let half = start + chrono::Duration::minutes(30);
    let successes = |from: DateTime<Utc>, to: DateTime<Utc>| {
        events
            .iter()
            .filter(|e| e["data"]["outcome"] == "success")
            .filter(|e| {
                let at = DateTime::parse_from_rfc3339(e["occurredAt"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc);
                at >= from && at < to
            })
            .count()
    };
    assert!(successes(start, half) > 10);
    // Outcomes are drawn at connect or wrap end: allow the calls in progress at 10:30 to finish.
    let settled = half + chrono::Duration::minutes(10);
    assert_eq!(successes(settled, start + chrono::Duration::hours(1)), 0);

    // A number is still accepted, and out-of-range values are refused.
    assert!(Scenario::from_json(&scenario_json(json!(0.4))).is_ok());
    assert!(Scenario::from_json(&scenario_json(json!(1.5))).is_err());
    assert!(Scenario::from_json(&scenario_json(
        json!({"points": [{"time": "09:00", "value": -0.1}]})
    ))
    .is_err());
}

fn scenario_json(success: Value) -> String {
    let mut v = serde_json::to_value(Scenario::small_test()).unwrap();
    v["skills"][0]["successRate"] = success;
    v.to_string()
}
