//! `webhook-ingest` end to end, in-process: real API Gateway v2 events
//! (`lambda_http::request::from_str`), real HMAC signatures, a static (or
//! rotating) secret, and DynamoDB tables made from `template.yaml` in the
//! local stack's moto. Needs `AWS_ENDPOINT_URL` (run `make test`).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::{json, Value};
use shared::secret::{SecretError, SecretSource, StaticSecret, WebhookSecrets};
use shared::store::events::EventStore;
use shared::webhook::{signature_header, Counts, Outcome, MAX_BODY_BYTES};
use webhook_ingest::WebhookIngest;

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
const SECRET: &str = "whsec-test-current";
const SKILL: i64 = 4242;

/// The request time of every test request: a fixed day, far from the wall
/// clock, so the 300 s window can only be checked against `timeEpoch`.
fn request_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 12, 0, 0).unwrap()
}

fn t0() -> i64 {
    request_time().timestamp()
}

fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => v,
        None => panic!(
            "AWS_ENDPOINT_URL is not set: the webhook-ingest tests need the local stack (moto). \
             Run `make test`, or `bash infra/stack.sh up && source infra/.stack/env` first."
        ),
    }
}

fn bundle(webhook_secrets: &[&str]) -> Arc<WebhookSecrets> {
    Arc::new(WebhookSecrets {
        webhook_secrets: webhook_secrets
            .iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect(),
    })
}

struct Stack {
    dynamo: aws_sdk_dynamodb::Client,
    state_table: String,
}

impl Stack {
    async fn new() -> Self {
        // moto can take seconds for one big transaction: no attempt timeout
        // (an SDK retry of a committed transaction would see its own events as
        // duplicates, because moto ignores the client request token).
        let config = local_stack::aws::local_sdk_config(&endpoint())
            .to_builder()
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(3))
                    .operation_timeout(std::time::Duration::from_secs(300))
                    .build(),
            )
            .build();
        let dynamo = aws_sdk_dynamodb::Client::new(&config);
        let prefix = format!("wh-{}", uuid::Uuid::new_v4().simple());
        let names = local_stack::tables::TableNames::with_prefix(&prefix);
        local_stack::tables::create_tables(&dynamo, TEMPLATE, &names)
            .await
            .expect("create tables from template.yaml");
        Self {
            dynamo,
            state_table: names.state,
        }
    }

    fn store(&self) -> EventStore {
        EventStore::new(self.dynamo.clone(), self.state_table.clone())
    }

    fn app(&self, secrets: &[&str]) -> WebhookIngest {
        WebhookIngest::new(Arc::new(StaticSecret(bundle(secrets))), self.store())
    }
}

/// An API Gateway HTTP API (payload v2) event for `POST /webhooks/cxone`.
fn api_event(body: &str, base64: bool, signature: Option<&str>, time_ms: i64) -> String {
    let mut headers = json!({
        "content-type": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "CXone-Studio/1.0",
    });
    if let Some(sig) = signature {
        headers["x-signature"] = json!(sig);
    }
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/cxone",
        "rawPath": "/webhooks/cxone",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": "/webhooks/cxone",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "CXone-Studio/1.0"
            },
            "requestId": "req-test",
            "routeKey": "POST /webhooks/cxone",
            "stage": "$default",
            "time": "04/Mar/2025:12:00:00 +0000",
            "timeEpoch": time_ms
        },
        "body": if base64 { b64(body.as_bytes()) } else { body.to_owned() },
        "isBase64Encoded": base64
    })
    .to_string()
}

fn request_at(body: &str, signature: Option<&str>, time: DateTime<Utc>) -> Request {
    lambda_http::request::from_str(&api_event(body, false, signature, time.timestamp_millis()))
        .expect("API Gateway v2 event")
}

/// A request signed with `secrets` at `t`, arriving at the fixed request time.
fn signed(body: &str, secrets: &[&str], t: i64) -> Request {
    let sig = signature_header(secrets, t, body.as_bytes());
    request_at(body, Some(&sig), request_time())
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn status_and_json(response: &Response<Body>) -> (u16, Value) {
    let text = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    (
        response.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn send(app: &WebhookIngest, request: Request) -> (u16, Value) {
    status_and_json(&app.handle(request).await)
}

fn contact(id: &str, skill: i64, at: DateTime<Utc>, outcome: Outcome) -> Value {
    json!({
        "eventId": id,
        "type": "contact.completed",
        "occurredAt": at.to_rfc3339(),
        "skillId": skill,
        "data": {"contactId": format!("c-{id}"), "outcome": outcome.as_str(), "talkSeconds": 90, "wrapSeconds": 10}
    })
}

fn batch(events: &[Value]) -> String {
    json!({ "events": events }).to_string()
}

fn minute(m: i64) -> DateTime<Utc> {
    request_time() + TimeDelta::minutes(m)
}

async fn counts(store: &EventStore, skill: i64) -> Counts {
    store
        .window_counts(skill, minute(-24 * 60), minute(24 * 60))
        .await
        .expect("window counts")
}

/// A small deterministic PRNG (splitmix64), so the shuffles are seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[tokio::test]
async fn single_event_and_batch_are_accepted_and_counted() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);

    let one = contact("single-1", SKILL, minute(-3), Outcome::Success).to_string();
    let (status, body) = send(&app, signed(&one, &[SECRET], t0())).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 1, "duplicates": 0}));

    let events = vec![
        contact("b-1", SKILL, minute(-3), Outcome::Failure),
        contact("b-2", SKILL, minute(-2), Outcome::Abandoned),
        contact("b-3", SKILL, minute(-2), Outcome::NoAnswer),
        json!({"eventId": "b-4", "type": "skill.state", "occurredAt": minute(-1).to_rfc3339(),
               "skillId": SKILL, "data": {"running": true}}),
        json!({"eventId": "b-5", "type": "skill.metrics", "occurredAt": minute(-1).to_rfc3339(),
               "skillId": SKILL, "data": {"intervalSeconds": 60, "dials": 40, "connects": 12,
               "abandons": 1, "successes": 5, "failures": 3}}),
        json!({"eventId": "b-6", "type": "skill.metrics", "occurredAt": minute(-1).to_rfc3339(),
               "skillId": SKILL, "data": {"intervalSeconds": 60, "dials": 2, "connects": 1,
               "abandons": 0, "successes": 1, "failures": 0}}),
        // The same event twice in one body: counted once.
        contact("b-1", SKILL, minute(-3), Outcome::Failure),
    ];
    let body_text = batch(&events);
    let (status, body) = send(&app, signed(&body_text, &[SECRET], t0())).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 6, "duplicates": 1}));

    // A retry of the whole batch changes nothing.
    let (status, body) = send(&app, signed(&body_text, &[SECRET], t0() + 5)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 0, "duplicates": 7}));

    let store = stack.store();
    let c = counts(&store, SKILL).await;
    assert_eq!(c.events, 7);
    assert_eq!(
        (c.success, c.failure, c.abandoned, c.no_answer),
        (1, 1, 1, 1)
    );
    assert_eq!(c.started, 1);
    assert_eq!(c.metrics_reports, 2);
    assert_eq!(c.metrics_dials, 42);
    assert_eq!(c.metrics_connects, 13);
    assert_eq!(c.metrics_interval_seconds, 120.0);
    assert_eq!(c.talk_seconds, 360.0);
    assert_eq!(c.other, 0);

    // The event is stored as received, under EVENT#<id>.
    let stored = store.get_event("b-2").await.unwrap().expect("stored event");
    assert_eq!(stored["data"]["outcome"], "abandoned");
    assert!(store.get_event("never-sent").await.unwrap().is_none());

    // Item layout: the counter of minute(-2) under CAMPAIGN#<skill>, in one
    // shard `COUNTS#<minute>#<shard>` (one delivery wrote that minute).
    let items = stack
        .dynamo
        .query()
        .table_name(&stack.state_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :minute)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CAMPAIGN#{SKILL}")),
        )
        .expression_attribute_values(
            ":minute",
            aws_sdk_dynamodb::types::AttributeValue::S("COUNTS#2025-03-04T11:58#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["abandoned"].as_n().unwrap(), "1");
    assert_eq!(item["no_answer"].as_n().unwrap(), "1");
    assert_eq!(item["events"].as_n().unwrap(), "2");
    assert!(item.contains_key("ttl"));
    let record = stack
        .dynamo
        .get_item()
        .table_name(&stack.state_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("EVENT#b-2".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("EVENT".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("event record");
    let ttl: i64 = record["ttl"].as_n().unwrap().parse().unwrap();
    assert!(ttl >= (request_time() + TimeDelta::days(7)).timestamp());
}

#[tokio::test]
async fn bad_signatures_are_401_with_one_generic_answer() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let body = contact("sig-1", SKILL, minute(0), Outcome::Success).to_string();
    let sig_at = |t: i64| signature_header(&[SECRET], t, body.as_bytes());

    let cases: Vec<(&str, Request)> = vec![
        ("forged", signed(&body, &["not-the-secret"], t0())),
        ("missing header", request_at(&body, None, request_time())),
        ("stale", signed(&body, &[SECRET], t0() - 301)),
        ("future", signed(&body, &[SECRET], t0() + 301)),
        (
            "malformed",
            request_at(&body, Some("t=abc,v1=zz"), request_time()),
        ),
        ("empty", request_at(&body, Some(""), request_time())),
        (
            "tampered body",
            request_at(
                &body.replace("success", "failure"),
                Some(&sig_at(t0())),
                request_time(),
            ),
        ),
        // Fresh by the wall clock, but not by the request's own time.
        (
            "wall clock",
            signed(&body, &[SECRET], Utc::now().timestamp()),
        ),
        // A signature that would be fresh if the function used its clock, sent late.
        (
            "late delivery",
            request_at(
                &body,
                Some(&sig_at(t0())),
                request_time() + TimeDelta::seconds(301),
            ),
        ),
    ];
    let mut answers = Vec::new();
    for (name, request) in cases {
        let (status, answer) = send(&app, request).await;
        assert_eq!(status, 401, "{name}: {answer}");
        answers.push(answer);
    }
    // The same generic message whatever failed.
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["error"], "unauthorized");
    assert!(!answers[0].to_string().contains("stale"));
    assert!(!answers[0].to_string().contains("timestamp"));

    // Nothing was stored.
    assert!(stack.store().get_event("sig-1").await.unwrap().is_none());

    // The edges of the window pass: exactly 300 s either way.
    let (status, _) = send(&app, signed(&body, &[SECRET], t0() - 300)).await;
    assert_eq!(status, 202);
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0() + 300)).await;
    assert_eq!(status, 202);
    assert_eq!(answer, json!({"accepted": 0, "duplicates": 1}));
}

/// `current()` serves what is cached; `refresh()` reads the rotated secret.
struct RotatedSource {
    cached: Mutex<Arc<WebhookSecrets>>,
    stored: Arc<WebhookSecrets>,
    refreshes: AtomicUsize,
}

type SecretFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<WebhookSecrets>, SecretError>> + Send + 'a>>;

// `SecretSource` is an `async_trait`; this is its desugared form.
impl SecretSource<WebhookSecrets> for RotatedSource {
    fn current<'a, 'b>(&'a self) -> SecretFuture<'b>
    where
        'a: 'b,
        Self: 'b,
    {
        let secret = self.cached.lock().unwrap().clone();
        Box::pin(async move { Ok(secret) })
    }
    fn refresh<'a, 'b>(&'a self) -> SecretFuture<'b>
    where
        'a: 'b,
        Self: 'b,
    {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        *self.cached.lock().unwrap() = self.stored.clone();
        let secret = self.stored.clone();
        Box::pin(async move { Ok(secret) })
    }
}

#[tokio::test]
async fn rotated_secrets_pass() {
    let stack = Stack::new().await;

    // The sender signs with the old and the new secret; only the new one is configured.
    let app = stack.app(&["whsec-new"]);
    let body = contact("rot-1", SKILL, minute(0), Outcome::Success).to_string();
    let (status, answer) = send(&app, signed(&body, &["whsec-old", "whsec-new"], t0())).await;
    assert_eq!(status, 202, "{answer}");

    // Two secrets configured; the sender still signs with the old one only, or the new one.
    let app = stack.app(&["whsec-old", "whsec-new"]);
    let body = contact("rot-2", SKILL, minute(0), Outcome::Success).to_string();
    assert_eq!(send(&app, signed(&body, &["whsec-old"], t0())).await.0, 202);
    let body = contact("rot-3", SKILL, minute(0), Outcome::Success).to_string();
    assert_eq!(send(&app, signed(&body, &["whsec-new"], t0())).await.0, 202);
    let body = contact("rot-4", SKILL, minute(0), Outcome::Success).to_string();
    assert_eq!(
        send(&app, signed(&body, &["whsec-retired"], t0())).await.0,
        401
    );

    // Rotated in Secrets Manager after the function cached the secret: one
    // re-read picks it up; forgeries cannot force a re-read per request.
    let source = Arc::new(RotatedSource {
        cached: Mutex::new(bundle(&["whsec-old"])),
        stored: bundle(&["whsec-new"]),
        refreshes: AtomicUsize::new(0),
    });
    let app = WebhookIngest::new(source.clone(), stack.store());
    let forged = contact("rot-5", SKILL, minute(0), Outcome::Success).to_string();
    let body = contact("rot-6", SKILL, minute(0), Outcome::Success).to_string();
    assert_eq!(send(&app, signed(&body, &["whsec-new"], t0())).await.0, 202);
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    for _ in 0..20 {
        assert_eq!(send(&app, signed(&forged, &["guess"], t0())).await.0, 401);
    }
    assert_eq!(
        source.refreshes.load(Ordering::SeqCst),
        1,
        "re-reads are rate-limited"
    );
    assert_eq!(counts(&stack.store(), SKILL).await.success, 4);
}

#[tokio::test]
async fn oversized_bodies_are_413_before_anything_else() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let mut events = Vec::new();
    let mut i = 0;
    while batch(&events).len() <= MAX_BODY_BYTES {
        events.push(contact(
            &format!("big-{i}-{}", "x".repeat(100)),
            SKILL,
            minute(0),
            Outcome::Success,
        ));
        i += 1;
    }
    let body = batch(&events);
    assert!(body.len() > MAX_BODY_BYTES);
    // Properly signed: still refused for its size.
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0())).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], "payload_too_large");
    // Unsigned: 413, not 401 (size is checked first).
    assert_eq!(
        send(&app, request_at(&body, None, request_time())).await.0,
        413
    );
    // Base64-encoded by API Gateway: the decoded size counts.
    let sig = signature_header(&[SECRET], t0(), body.as_bytes());
    let request = lambda_http::request::from_str(&api_event(
        &body,
        true,
        Some(&sig),
        request_time().timestamp_millis(),
    ))
    .unwrap();
    assert_eq!(send(&app, request).await.0, 413);
    // Exactly at the limit is fine (padding with spaces keeps it valid JSON).
    let small = batch(&events[..2]);
    let at_limit = format!("{small}{}", " ".repeat(MAX_BODY_BYTES - small.len()));
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    let (status, answer) = send(&app, signed(&at_limit, &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(counts(&stack.store(), SKILL).await.events, 2);
}

#[tokio::test]
async fn base64_encoded_bodies_are_verified_on_the_decoded_bytes() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let body = contact("b64-1", SKILL, minute(0), Outcome::Busy).to_string();
    let sig = signature_header(&[SECRET], t0(), body.as_bytes());
    let request = lambda_http::request::from_str(&api_event(
        &body,
        true,
        Some(&sig),
        request_time().timestamp_millis(),
    ))
    .unwrap();
    let (status, answer) = send(&app, request).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(counts(&stack.store(), SKILL).await.busy, 1);
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);

    let (status, answer) = send(&app, signed("{\"events\": [", &[SECRET], t0())).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "bad_request");
    assert!(
        answer["message"].as_str().unwrap().contains("JSON"),
        "{answer}"
    );

    let mut missing = contact("m-2", SKILL, minute(0), Outcome::Success);
    missing["data"].as_object_mut().unwrap().remove("outcome");
    let body = batch(&[contact("m-1", SKILL, minute(0), Outcome::Success), missing]);
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0())).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("event 1") && message.contains("data.outcome"),
        "{message}"
    );
    assert_eq!(
        answer["details"][0],
        json!({"index": 1, "field": "data.outcome", "problem": "is required"})
    );

    let cases = [
        (
            json!({"eventId": "x", "type": "contact.completed", "occurredAt": "not a time", "skillId": 1, "data": {}}),
            "occurredAt",
        ),
        (
            json!({"eventId": "x", "type": "contact.completed", "occurredAt": "2025-03-04T12:00:00Z", "skillId": -1,
                "data": {"contactId": "c", "outcome": "success", "talkSeconds": 1, "wrapSeconds": 1}}),
            "skillId",
        ),
        (
            json!({"eventId": "x".repeat(129), "type": "contact.completed", "occurredAt": "2025-03-04T12:00:00Z", "skillId": 1,
                "data": {"contactId": "c", "outcome": "success", "talkSeconds": 1, "wrapSeconds": 1}}),
            "eventId",
        ),
        (
            json!({"eventId": "x", "occurredAt": "2025-03-04T12:00:00Z", "skillId": 1, "data": {}}),
            "type",
        ),
        (
            json!({"eventId": "x", "type": "skill.state", "occurredAt": "2025-03-04T12:00:00Z", "skillId": 1, "data": {"running": 1}}),
            "data.running",
        ),
        (json!({"events": []}), "events"),
        (json!([1, 2, 3]), "body"),
    ];
    for (event, field) in cases {
        let (status, answer) = send(&app, signed(&event.to_string(), &[SECRET], t0())).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{field}: {answer}"
        );
    }

    // Garbage of every kind is an answer, never a panic.
    for garbage in [
        "",
        "null",
        "\"x\"",
        "{}",
        "{\"events\": null}",
        "[[[[[[",
        "\u{0}\u{1}",
    ] {
        let (status, _) = send(&app, signed(garbage, &[SECRET], t0())).await;
        assert_eq!(status, 400, "{garbage:?}");
    }
    // Nothing from the refused bodies was stored.
    assert_eq!(counts(&stack.store(), SKILL).await.events, 0);
    assert!(stack.store().get_event("m-1").await.unwrap().is_none());
}

#[tokio::test]
async fn unknown_types_are_stored_and_counted_as_other() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let body =
        json!({"eventId": "u-1", "type": "agent.state", "occurredAt": minute(0).to_rfc3339(),
                      "skillId": SKILL, "data": {"agentId": 7, "state": "Available"}})
        .to_string();
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 1, "duplicates": 0}));
    let c = counts(&stack.store(), SKILL).await;
    assert_eq!((c.events, c.other, c.completed()), (1, 1, 0));
    let stored = stack.store().get_event("u-1").await.unwrap().unwrap();
    assert_eq!(stored["data"]["state"], "Available");
}

#[tokio::test]
async fn a_thousand_events_with_duplicates_in_any_order_count_once() {
    let stack = Stack::new().await;
    // moto copies the whole table for every item of a transaction, so big
    // batches are slow there: give requests more time than Lambda would.
    let app = stack
        .app(&[SECRET])
        .with_default_budget(std::time::Duration::from_secs(600));
    let mut rng = Rng(0x5EED_CAFE);
    let skills = [SKILL, 4243, 4244];

    // 1,000 distinct events over 3 campaigns and 10 minutes (moto's cost
    // grows with the number of counter items a transaction touches).
    let mut distinct = Vec::new();
    let mut expected: HashMap<i64, BTreeMap<&'static str, u64>> = HashMap::new();
    for i in 0..1000 {
        let skill = skills[rng.below(skills.len())];
        let outcome = Outcome::ALL[rng.below(Outcome::ALL.len())];
        let at = minute(-(rng.below(10) as i64)) + TimeDelta::seconds(rng.below(60) as i64);
        *expected
            .entry(skill)
            .or_default()
            .entry(outcome.as_str())
            .or_default() += 1;
        distinct.push(contact(&format!("evt-{i:04}"), skill, at, outcome));
    }
    // 30 % duplicates: 300 extra deliveries of already-chosen events.
    let mut deliveries = distinct.clone();
    for _ in 0..300 {
        deliveries.push(distinct[rng.below(distinct.len())].clone());
    }
    rng.shuffle(&mut deliveries);

    // Batches of 1 to 500 events.
    let (mut accepted, mut duplicates, mut sent) = (0u64, 0u64, 0usize);
    while sent < deliveries.len() {
        let size = (1 + rng.below(500)).min(deliveries.len() - sent);
        let body = batch(&deliveries[sent..sent + size]);
        let (status, answer) = send(&app, signed(&body, &[SECRET], t0())).await;
        assert_eq!(status, 202, "{answer}");
        accepted += answer["accepted"].as_u64().unwrap();
        duplicates += answer["duplicates"].as_u64().unwrap();
        sent += size;
    }
    assert_eq!(accepted, 1000);
    assert_eq!(duplicates, 300);

    // Everything again, in another order: all duplicates, totals unchanged.
    rng.shuffle(&mut deliveries);
    for chunk in deliveries.chunks(500) {
        let (status, answer) = send(&app, signed(&batch(chunk), &[SECRET], t0())).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["accepted"], 0);
    }

    let store = stack.store();
    let mut total = 0;
    for skill in skills {
        let c = counts(&store, skill).await;
        let want = &expected[&skill];
        for outcome in Outcome::ALL {
            assert_eq!(
                c.outcome(outcome),
                want.get(outcome.as_str()).copied().unwrap_or(0),
                "skill {skill} {}",
                outcome.as_str()
            );
        }
        assert_eq!(c.events, want.values().sum::<u64>());
        assert_eq!(c.talk_seconds, 90.0 * c.events as f64);
        total += c.events;
    }
    assert_eq!(total, 1000);
}

#[tokio::test]
async fn storage_failure_is_503_and_the_retry_counts_once() {
    let stack = Stack::new().await;
    let events: Vec<Value> = (0..120)
        .map(|i| {
            contact(
                &format!("sf-{i}"),
                SKILL,
                minute(-(i % 7)),
                Outcome::ALL[i as usize % 6],
            )
        })
        .collect();
    let body = batch(&events);

    // The state table does not exist: nothing can be stored.
    let broken = WebhookIngest::new(
        Arc::new(StaticSecret(bundle(&[SECRET]))),
        EventStore::new(
            stack.dynamo.clone(),
            format!("{}-missing", stack.state_table),
        ),
    );
    let (status, answer) = send(&broken, signed(&body, &[SECRET], t0())).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "storage_unavailable");
    assert!(
        !answer.to_string().contains("missing"),
        "no internals: {answer}"
    );

    // The sender retries against the working function: counted once.
    let app = stack.app(&[SECRET]);
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0() + 30)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 120, "duplicates": 0}));
    let (status, answer) = send(&app, signed(&body, &[SECRET], t0() + 60)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 0, "duplicates": 120}));
    assert_eq!(counts(&stack.store(), SKILL).await.events, 120);

    // A failure part-way (some transactions committed, then 503): the retry
    // finds the committed events and counts only the rest.
    let more: Vec<Value> = (0..150)
        .map(|i| {
            contact(
                &format!("pf-{i}"),
                SKILL,
                minute(-(i % 5)),
                Outcome::Success,
            )
        })
        .collect();
    let (status, _) = send(&app, signed(&batch(&more[..60]), &[SECRET], t0())).await;
    assert_eq!(status, 202);
    let (status, answer) = send(&app, signed(&batch(&more), &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 90, "duplicates": 60}));
    let c = counts(&stack.store(), SKILL).await;
    assert_eq!(c.events, 270);
    assert_eq!(c.success, 20 + 150);
}

#[tokio::test]
async fn window_counts_and_success_rate() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let at = |m: i64, s: i64| minute(m) + TimeDelta::seconds(s);
    let events = vec![
        contact("w-1", SKILL, at(-30, 0), Outcome::Success), // 11:30:00
        contact("w-2", SKILL, at(-20, 59), Outcome::Success), // 11:40:59
        contact("w-3", SKILL, at(-20, 1), Outcome::Failure), // 11:40:01
        contact("w-4", SKILL, at(-5, 30), Outcome::Abandoned), // 11:55:30
        contact("w-5", SKILL, at(-5, 31), Outcome::NoAnswer), // not a sample
        contact("w-6", SKILL, at(-1, 0), Outcome::Machine),  // not a sample
        contact("w-7", SKILL, at(0, 0), Outcome::Failure),   // 12:00:00: outside [.., 12:00)
        contact("w-8", 999, at(-10, 0), Outcome::Failure),   // another campaign
        json!({"eventId": "w-9", "type": "skill.metrics", "occurredAt": at(-2, 0).to_rfc3339(), "skillId": SKILL,
               "data": {"intervalSeconds": 60, "dials": 10, "connects": 4, "abandons": 0, "successes": 2, "failures": 1}}),
    ];
    let (status, answer) = send(&app, signed(&batch(&events), &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");

    let store = stack.store();
    // The failover checker's 30-minute window ending at the request time.
    let c = store
        .window_counts(SKILL, minute(-30), minute(0))
        .await
        .unwrap();
    assert_eq!(
        (c.success, c.failure, c.abandoned, c.no_answer, c.machine),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(c.samples(), 4);
    assert_eq!(c.success_rate(), Some(0.5));
    assert_eq!(c.metrics_dials, 10, "metrics are kept apart from outcomes");
    assert_eq!(c.events, 7);

    // Minutes overlapping the window count whole; `to` is exclusive.
    let c = store
        .window_counts(SKILL, at(-20, 30), at(-5, 0))
        .await
        .unwrap();
    assert_eq!((c.success, c.failure, c.abandoned), (1, 1, 0));
    let c = store
        .window_counts(SKILL, minute(0), minute(1))
        .await
        .unwrap();
    assert_eq!((c.failure, c.events), (1, 1));
    let c = store
        .window_counts(SKILL, minute(-29), minute(0))
        .await
        .unwrap();
    assert_eq!(c.success_rate(), Some(1.0 / 3.0));
    // Empty and inverted windows, campaigns without events.
    assert_eq!(
        store
            .window_counts(SKILL, minute(-100), minute(-90))
            .await
            .unwrap(),
        Counts::default()
    );
    assert_eq!(
        store
            .window_counts(SKILL, minute(0), minute(-10))
            .await
            .unwrap(),
        Counts::default()
    );
    assert_eq!(
        store
            .window_counts(1, minute(-60), minute(60))
            .await
            .unwrap()
            .success_rate(),
        None
    );
    assert_eq!(
        store
            .window_counts(999, minute(-60), minute(0))
            .await
            .unwrap()
            .failure,
        1
    );

    let minutes = store
        .minute_counts(SKILL, minute(-30), minute(0))
        .await
        .unwrap();
    let keys: Vec<&str> = minutes.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        keys,
        [
            "2025-03-04T11:30",
            "2025-03-04T11:40",
            "2025-03-04T11:55",
            "2025-03-04T11:58",
            "2025-03-04T11:59"
        ]
    );
}

#[tokio::test]
async fn other_methods_and_missing_request_time_are_refused() {
    let stack = Stack::new().await;
    let app = stack.app(&[SECRET]);
    let body = contact("x-1", SKILL, minute(0), Outcome::Success).to_string();
    let sig = signature_header(&[SECRET], t0(), body.as_bytes());
    let event = api_event(&body, false, Some(&sig), request_time().timestamp_millis())
        .replace("\"POST\"", "\"GET\"");
    let (status, _) = send(&app, lambda_http::request::from_str(&event).unwrap()).await;
    assert_eq!(status, 405);
    // No timeEpoch: the replay window cannot be checked, so the request is refused.
    let event = api_event(&body, false, Some(&sig), 0);
    let (status, _) = send(&app, lambda_http::request::from_str(&event).unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn duplicates_found_by_a_cancelled_transaction_are_dropped_and_the_rest_counted() {
    // Without the up-front read, duplicates are found the way a concurrent
    // delivery's are: the transaction is cancelled by their failed
    // conditions, and retried without them.
    let stack = Stack::new().await;
    let store = stack.store().without_precheck();
    let app = WebhookIngest::new(Arc::new(StaticSecret(bundle(&[SECRET]))), store.clone());
    let events: Vec<Value> = (0..80)
        .map(|i| {
            contact(
                &format!("cx-{i}"),
                SKILL,
                minute(-(i as i64 % 3)),
                Outcome::ALL[i % 6],
            )
        })
        .collect();
    let first: Vec<Value> = events.iter().step_by(3).cloned().collect();
    let (status, answer) = send(&app, signed(&batch(&first), &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 27, "duplicates": 0}));

    let (status, answer) = send(&app, signed(&batch(&events), &[SECRET], t0())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({"accepted": 53, "duplicates": 27}));

    let c = counts(&store, SKILL).await;
    assert_eq!(c.events, 80);
    for (k, outcome) in Outcome::ALL.iter().enumerate() {
        let want = (0..80).filter(|i| i % 6 == k).count() as u64;
        assert_eq!(c.outcome(*outcome), want, "{}", outcome.as_str());
    }
}
