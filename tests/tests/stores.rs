//! The DynamoDB stores against moto: append-only audit, leases, configs, idempotency.

use chrono::{DateTime, Duration, Utc};
use e2e_tests::{endpoint, unique, TEMPLATE};
use local_stack::TableNames;
use serde_json::json;
use shared::campaign_config::CampaignConfig;
use shared::deadline::Deadline;
use shared::idempotency::{Claim, IdempotencyError, IdempotencyStore};
use shared::store::audit::{Appended, AuditRecord, AuditStore};
use shared::store::state::{LeaseError, StateStore, StoredConfig};

async fn tables() -> (aws_sdk_dynamodb::Client, TableNames) {
    let sdk = local_stack::aws::local_sdk_config(&endpoint());
    let dynamo = local_stack::aws::dynamodb(&sdk);
    let names = TableNames::with_prefix(&unique("store"));
    local_stack::create_tables(&dynamo, TEMPLATE, &names)
        .await
        .expect("tables");
    (dynamo, names)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn record(skill_id: i64, time: &str, request: &str) -> AuditRecord {
    AuditRecord {
        skill_id,
        at: at(time),
        actor: "test".into(),
        action: "pacing.tune".into(),
        before: json!({"maximumRatio": 1.0}),
        after: json!({"maximumRatio": 1.4}),
        why: "because".into(),
        outcome: "written".into(),
        request_id: request.into(),
        details: json!({"inputs": {"staffed": 12}}),
    }
}

#[tokio::test]
async fn audit_append_is_conditional_and_queries_newest_first() {
    let (dynamo, names) = tables().await;
    let audit = AuditStore::new(dynamo, names.audit);
    let first = record(7, "2026-11-23T10:00:00Z", "req-1");
    assert_eq!(audit.append(&first).await.unwrap(), Appended::New);
    // The same decision again (a replay) never overwrites or duplicates.
    let mut replay = first.clone();
    replay.why = "an attempt to rewrite history".into();
    assert_eq!(
        audit.append(&replay).await.unwrap(),
        Appended::AlreadyRecorded
    );
    audit
        .append(&record(7, "2026-11-23T10:05:00Z", "req-2"))
        .await
        .unwrap();
    audit
        .append(&record(7, "2026-11-23T10:10:00Z", "req-3"))
        .await
        .unwrap();
    audit
        .append(&record(8, "2026-11-23T10:07:00Z", "req-4"))
        .await
        .unwrap();

    let all = audit.all_for(7).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].request_id, "req-3", "newest first");
    assert_eq!(all[2].why, "because", "the original record was kept");

    // from <= at < to, paged.
    let page = audit
        .query(
            7,
            at("2026-11-23T10:00:00Z"),
            at("2026-11-23T10:10:00Z"),
            1,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].request_id, "req-2");
    let next = page.next.expect("a second page");
    let page = audit
        .query(
            7,
            at("2026-11-23T10:00:00Z"),
            at("2026-11-23T10:10:00Z"),
            1,
            Some(&next),
        )
        .await
        .unwrap();
    assert_eq!(page.records[0].request_id, "req-1");
}

#[tokio::test]
async fn lease_contention_between_two_writers() {
    let (dynamo, names) = tables().await;
    let state = StateStore::new(dynamo, names.state);
    let now = 1_800_000_000_000u64;
    let a = state
        .acquire_lease(42, "writer-a", now, now + 60_000)
        .await
        .unwrap();
    match state
        .acquire_lease(42, "writer-b", now + 1_000, now + 61_000)
        .await
    {
        Err(LeaseError::Held {
            owner,
            expires_at_ms,
            ..
        }) => {
            assert_eq!(owner, "writer-a");
            assert_eq!(expires_at_ms, now + 60_000);
        }
        other => panic!("writer-b must not get the lease: {other:?}"),
    }
    // Another campaign is independent.
    state
        .acquire_lease(43, "writer-b", now, now + 60_000)
        .await
        .unwrap();
    // After A's deadline the lease is free (checked in code, not by TTL).
    let b = state
        .acquire_lease(42, "writer-b", now + 60_001, now + 120_000)
        .await
        .unwrap();
    // A's late release must not free B's lease.
    state.release_lease(&a).await.unwrap();
    assert!(matches!(
        state
            .acquire_lease(42, "writer-c", now + 70_000, now + 130_000)
            .await,
        Err(LeaseError::Held { .. })
    ));
    state.release_lease(&b).await.unwrap();
    state
        .acquire_lease(42, "writer-c", now + 70_000, now + 130_000)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_lease_attempts_have_one_winner() {
    let (dynamo, names) = tables().await;
    let state = StateStore::new(dynamo, names.state);
    let now = 1_800_000_000_000u64;
    let attempts = (0..8).map(|i| {
        let state = state.clone();
        async move {
            state
                .acquire_lease(9, &format!("w{i}"), now, now + 60_000)
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

#[tokio::test]
async fn configs_are_versioned_and_listed() {
    let (dynamo, names) = tables().await;
    let state = StateStore::new(dynamo, names.state);
    let body = e2e_tests::config_body(None);
    let config = CampaignConfig::parse(body.as_bytes(), 5).unwrap();
    let t = at("2026-11-23T10:00:00Z");
    let v1 = state
        .put_config(5, &config, None, "ops", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.version, 1);
    // A second creator loses.
    assert!(state
        .put_config(5, &config, None, "ops2", t)
        .await
        .unwrap()
        .is_none());
    let v2 = state
        .put_config(5, &config, Some(1), "ops", t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v2.version, 2);
    // A writer holding a stale version loses.
    assert!(state
        .put_config(5, &config, Some(1), "ops", t)
        .await
        .unwrap()
        .is_none());
    state
        .put_config(3, &config, None, "ops", t)
        .await
        .unwrap()
        .unwrap();
    let listed: Vec<i64> = state
        .list_configs()
        .await
        .unwrap()
        .iter()
        .map(|c| c.skill_id)
        .collect();
    assert_eq!(listed, vec![3, 5]);
    assert_eq!(state.get_config(5).await.unwrap().unwrap().version, 2);
    assert!(state.get_config(6).await.unwrap().is_none());
}

#[tokio::test]
async fn the_first_write_sets_created_at_and_later_writes_keep_it() {
    let (dynamo, names) = tables().await;
    let state = StateStore::new(dynamo, names.state);
    let config = CampaignConfig::parse(e2e_tests::config_body(None).as_bytes(), 5).unwrap();
    let first = at("2026-11-23T10:00:00Z");
    let later = at("2026-11-24T08:30:00Z");
    let v1 = state
        .put_config(5, &config, None, "ops", first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.created_at, Some(first));
    let v2 = state
        .put_config(5, &config, Some(1), "ops", later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v2.created_at, v2.updated_at), (Some(first), later));
    let read = state.get_config(5).await.unwrap().unwrap();
    assert_eq!(read.created_at, Some(first));
    let next = StoredConfig::next(5, &config, Some(&read), "ops", later);
    assert_eq!((next.version, next.created_at), (3, Some(first)));
    // A config stored before created_at existed reads without one.
    let mut old = serde_json::to_value(&read).unwrap();
    old.as_object_mut().unwrap().remove("createdAt");
    let old: StoredConfig = serde_json::from_value(old).unwrap();
    assert_eq!(old.created_at, None);
}

fn config_record(skill_id: i64, time: &str, request: &str, version: u64) -> AuditRecord {
    AuditRecord {
        action: "config.put".into(),
        details: json!({"version": version}),
        ..record(skill_id, time, request)
    }
}

#[tokio::test]
async fn a_config_and_its_audit_record_are_written_together_or_not_at_all() {
    let (dynamo, names) = tables().await;
    let state = StateStore::new(dynamo.clone(), names.state);
    let audit = AuditStore::new(dynamo, names.audit);
    let config = CampaignConfig::parse(e2e_tests::config_body(None).as_bytes(), 5).unwrap();
    let t = at("2026-11-23T10:00:00Z");

    // First write: one config version, one audit record.
    let next = StoredConfig::next(5, &config, None, "ops", t);
    let put = audit
        .put_request(&config_record(5, "2026-11-23T10:00:00Z", "req-1", 1))
        .unwrap();
    let v1 = state
        .put_config_with_audit(&next, put)
        .await
        .unwrap()
        .expect("written");
    assert_eq!((v1.version, v1.created_at), (1, Some(t)));
    assert_eq!(state.get_config(5).await.unwrap(), Some(v1.clone()));
    assert_eq!(audit.all_for(5).await.unwrap().len(), 1);

    // A second creator (no previous version) conflicts: neither is written.
    let racing = StoredConfig::next(5, &config, None, "ops2", t);
    let put = audit
        .put_request(&config_record(5, "2026-11-23T10:01:00Z", "req-2", 1))
        .unwrap();
    assert!(state
        .put_config_with_audit(&racing, put)
        .await
        .unwrap()
        .is_none());

    // A writer holding a stale version conflicts: neither is written.
    let v2 = state
        .put_config_with_audit(
            &StoredConfig::next(5, &config, Some(&v1), "ops", t),
            audit
                .put_request(&config_record(5, "2026-11-23T10:02:00Z", "req-3", 2))
                .unwrap(),
        )
        .await
        .unwrap()
        .expect("written");
    assert_eq!(v2.version, 2);
    let stale = StoredConfig::next(5, &config, Some(&v1), "late", t);
    let put = audit
        .put_request(&config_record(5, "2026-11-23T10:03:00Z", "req-4", 2))
        .unwrap();
    assert!(state
        .put_config_with_audit(&stale, put)
        .await
        .unwrap()
        .is_none());
    assert_eq!(state.get_config(5).await.unwrap(), Some(v2.clone()));
    let records = audit.all_for(5).await.unwrap();
    let requests: Vec<&str> = records.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(
        requests,
        vec!["req-3", "req-1"],
        "only the written configs' records"
    );

    // An audit record that already exists (the same decision) cancels the config write too.
    let put = audit
        .put_request(&config_record(5, "2026-11-23T10:02:00Z", "req-3", 3))
        .unwrap();
    assert!(state
        .put_config_with_audit(&StoredConfig::next(5, &config, Some(&v2), "ops", t), put)
        .await
        .unwrap()
        .is_none());
    assert_eq!(state.get_config(5).await.unwrap(), Some(v2));
    assert_eq!(audit.all_for(5).await.unwrap().len(), 2);
}

#[tokio::test]
async fn idempotency_protocol() {
    let (dynamo, names) = tables().await;
    let store = IdempotencyStore::new(dynamo, names.idempotency)
        .with_expires_after(std::time::Duration::from_secs(600));
    let now = 1_800_000_000_000u64;
    let deadline = Deadline::after(std::time::Duration::from_secs(30));
    let payload = json!({"a": 1});

    // First run does the work; a duplicate replays the stored response.
    let first = store
        .run("k1", &payload, &deadline, now, || async {
            Ok::<_, String>(json!({"n": 1}))
        })
        .await
        .unwrap();
    assert!(!first.replayed);
    let again = store
        .run("k1", &payload, &deadline, now + 1_000, || async {
            Ok::<_, String>(json!({"n": 2}))
        })
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.response, json!({"n": 1}));

    // Same key, other payload: refused.
    let other = store
        .run("k1", &json!({"a": 2}), &deadline, now + 2_000, || async {
            Ok::<_, String>(json!(null))
        })
        .await;
    assert!(matches!(other, Err(IdempotencyError::PayloadMismatch)));

    // Expired record (checked in code; moto never expires): the work runs again.
    let later = store
        .run("k1", &payload, &deadline, now + 601_000, || async {
            Ok::<_, String>(json!({"n": 3}))
        })
        .await
        .unwrap();
    assert!(!later.replayed);
    assert_eq!(later.response, json!({"n": 3}));

    // In flight: a duplicate gets InProgress until the holder's deadline passes.
    let hash = shared::idempotency::payload_hash(&payload);
    let short = Deadline::from_epoch_ms(now + 5_000);
    assert_eq!(
        store.claim("k2", &hash, &short, now).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        store.claim("k2", &hash, &short, now + 1_000).await.unwrap(),
        Claim::InProgress
    );
    assert_eq!(
        store.claim("k2", &hash, &short, now + 6_000).await.unwrap(),
        Claim::Acquired
    );

    // Failure deletes the claim so a retry runs.
    let failed = store
        .run("k3", &payload, &deadline, now, || async {
            Err::<serde_json::Value, _>("boom".to_owned())
        })
        .await;
    assert!(matches!(failed, Err(IdempotencyError::Work(ref m)) if m == "boom"));
    let retried = store
        .run("k3", &payload, &deadline, now + 1, || async {
            Ok::<_, String>(json!("ok"))
        })
        .await
        .unwrap();
    assert!(!retried.replayed);
}

#[tokio::test]
async fn storage_failure_is_an_error_not_a_panic() {
    let sdk = local_stack::aws::local_sdk_config(&endpoint());
    let audit = AuditStore::new(local_stack::aws::dynamodb(&sdk), "no-such-table");
    let err = audit
        .append(&record(1, "2026-11-23T10:00:00Z", "r"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-table"), "{err}");
    let _ = Duration::zero();
}
