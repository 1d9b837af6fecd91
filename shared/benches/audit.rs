//! Audit item mapping (`store::audit`): a `pacing.tune` record as the
//! capacity tuner writes it (inputs, prediction and decision in `details`)
//! to its DynamoDB item and conditional put (`AuditStore::put_request`, the
//! same item `append` sends), and an item back to the record (what the audit
//! route's queries do per item). No network: the client is never called.
//!
//! `cargo bench -p shared --bench audit`

use std::collections::HashMap;
use std::hint::black_box;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use shared::engine::pacing::decide;
use shared::store::audit::{AuditRecord, AuditStore};

mod common;

fn record() -> AuditRecord {
    let inputs = common::pacing_inputs(50);
    let decision = decide(&inputs);
    AuditRecord {
        skill_id: 4711,
        at: Utc.with_ymd_and_hms(2026, 3, 10, 14, 5, 0).unwrap(),
        actor: "capacity-tuner".into(),
        action: "pacing.tune".into(),
        before: json!({"maximumRatio": 1.5, "abandonRateThreshold": 3.0}),
        after: json!({
            "maximumRatio": decision.maximum_ratio,
            "abandonRateThreshold": decision.abandon_rate_threshold
        }),
        why: decision.reason.clone(),
        outcome: "written".into(),
        request_id: "c0ffee00-1234-4abc-9def-0123456789ab".into(),
        details: json!({"inputs": inputs, "decision": decision, "skill": "primary"}),
    }
}

fn store() -> AuditStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    AuditStore::new(aws_sdk_dynamodb::Client::from_conf(config), "bench-audit")
}

fn mapping(c: &mut Criterion) {
    let record = record();
    let store = store();
    let put = store.put_request(&record).expect("maps");
    let item: HashMap<String, AttributeValue> = put.item().clone();
    eprintln!(
        "audit: {} attributes, details of {} JSON bytes",
        item.len(),
        record.details.to_string().len()
    );
    let back = AuditRecord::from_item(item.clone()).expect("reads back");
    // DynamoDB numbers do not keep JSON's 3 / 3.0 distinction: compare the
    // record's own fields and the JSON as numbers.
    assert_eq!(
        (
            back.skill_id,
            back.at,
            &back.action,
            &back.request_id,
            &back.why
        ),
        (
            record.skill_id,
            record.at,
            &record.action,
            &record.request_id,
            &record.why
        ),
        "the mapping round-trips"
    );
    assert_eq!(
        back.after["maximumRatio"].as_f64(),
        record.after["maximumRatio"].as_f64()
    );

    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record to conditional put", |b| {
        b.iter(|| store.put_request(black_box(&record)).expect("maps"))
    });
    group.bench_function("item to record", |b| {
        b.iter(|| AuditRecord::from_item(black_box(item.clone())).expect("reads"))
    });
    group.finish();
}

criterion_group!(benches, mapping);
criterion_main!(benches);
