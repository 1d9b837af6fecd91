//! Webhook intake per event, on a full 500-event body: the `X-Signature`
//! check (header parse, time window, HMAC-SHA256 of the whole body) and the
//! body's parse and validation, as `webhook-ingest` does them before storage;
//! then the same plus the per-event work of the store (counter deltas, the
//! minute bucket, the raw JSON kept with the dedupe record).
//!
//! Target: at least 50,000 events/s on one core (20 µs per event).
//!
//! `cargo bench -p shared --bench webhook`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::webhook::{parse_body, signature_header, Counts, SignatureHeader, MAX_EVENTS};

const T: i64 = 1_773_151_392;
const SECRET: &str = "whsec-bench-1";

/// A body of `n` events as CXone sends them: mostly `contact.completed`
/// (every outcome, some with the dialled number), a few `skill.metrics` and
/// `skill.state`.
fn body(n: usize) -> Vec<u8> {
    let outcomes = [
        "success",
        "failure",
        "abandoned",
        "no_answer",
        "machine",
        "busy",
    ];
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let at = format!("2026-03-10T14:{:02}:{:02}Z", (i / 60) % 60, i % 60);
            match i % 50 {
                0 => json!({
                    "eventId": format!("evt-4711-metrics-{i}"), "type": "skill.metrics",
                    "occurredAt": at, "skillId": 4711,
                    "data": {"intervalSeconds": 60, "dials": 120, "connects": 18,
                             "abandons": 0, "successes": 7, "failures": 11}
                }),
                25 => json!({
                    "eventId": format!("evt-4711-state-{i}"), "type": "skill.state",
                    "occurredAt": at, "skillId": 4711, "data": {"running": true}
                }),
                _ => {
                    let mut data = json!({
                        "contactId": 88_310_000 + i,
                        "outcome": outcomes[i % outcomes.len()],
                        "talkSeconds": 60 + (i * 7) % 400,
                        "wrapSeconds": 22.5,
                    });
                    if i % 3 == 0 {
                        data["phoneNumber"] = json!(format!("+1212555{:04}", i % 10_000));
                    }
                    json!({
                        "eventId": format!("evt-4711-{}-completed", 88_310_000 + i),
                        "type": "contact.completed",
                        "occurredAt": at, "skillId": 4711, "data": data
                    })
                }
            }
        })
        .collect();
    serde_json::to_vec(&json!({ "events": events })).expect("serialise")
}

fn intake(c: &mut Criterion) {
    let body = body(MAX_EVENTS);
    let header = signature_header(&[SECRET], T, &body);
    let secrets = vec![SecretString::from(SECRET.to_owned())];
    let request_ms = T * 1000 + 417;
    // The body must pass, or the bench times the error path.
    let parsed = parse_body(&body).expect("the bench body parses");
    assert_eq!(parsed.len(), MAX_EVENTS);
    SignatureHeader::parse(&header)
        .and_then(|h| h.verify(&body, &secrets, request_ms))
        .expect("the bench signature verifies");
    eprintln!(
        "webhook: {} events in a {} byte body",
        parsed.len(),
        body.len()
    );

    let mut group = c.benchmark_group("webhook/500-event body");
    group.throughput(Throughput::Elements(MAX_EVENTS as u64));
    group.bench_function("verify", |b| {
        b.iter(|| {
            SignatureHeader::parse(black_box(&header))
                .and_then(|h| h.verify(black_box(&body), &secrets, request_ms))
                .expect("verifies")
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| parse_body(black_box(&body)).expect("parses"))
    });
    group.bench_function("verify + parse", |b| {
        b.iter(|| {
            SignatureHeader::parse(black_box(&header))
                .and_then(|h| h.verify(black_box(&body), &secrets, request_ms))
                .expect("verifies");
            parse_body(black_box(&body)).expect("parses")
        })
    });
    group.bench_function("verify + parse + per-event store prep", |b| {
        b.iter(|| {
            SignatureHeader::parse(black_box(&header))
                .and_then(|h| h.verify(black_box(&body), &secrets, request_ms))
                .expect("verifies");
            let events = parse_body(black_box(&body)).expect("parses");
            let mut total = Counts::default();
            let mut bytes = 0usize;
            for event in &events {
                total.add(&Counts::of_event(event));
                bytes += event.minute().len() + event.raw_json().len();
            }
            (total, bytes)
        })
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
