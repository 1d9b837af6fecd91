//! Round trips of the webhook write path and of a tuner cycle, counted
//! against the local stack, so that a regression fails a test.
//!
//! DynamoDB calls are counted at a small HTTP proxy between the SDK and moto
//! ([`Proxy`]): one count per HTTP request, per operation (`X-Amz-Target`),
//! so the SDK's own retries count too. moto runs transactions one at a time
//! and never reports a transaction conflict, so the proxy also plays
//! DynamoDB's rule: a `TransactWriteItems` that touches an item another
//! transaction still in flight touches is cancelled with `TransactionConflict`
//! (without reaching moto). Its "in flight" runs from the request's arrival at
//! the proxy to moto's answer, queueing behind moto's lock included, so the
//! conflicts it reports are an upper bound of DynamoDB's.
//!
//! CXone calls are counted at the simulator's request log.
//!
//! Needs `AWS_ENDPOINT_URL` (run `make test`). The figures are printed
//! (`cargo test ... -- --nocapture`) and recorded in docs/performance.md,
//! "Webhook write path".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use shared::store::events::EventStore;
use shared::webhook::{parse_body, Event, Outcome};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");

fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => v.trim().trim_end_matches('/').to_owned(),
        None => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need the local stack (moto). \
             Run `make test`, or `eval \"$(bash infra/stack.sh env)\"` with the stack up."
        ),
    }
}

// ----- the counting proxy ------------------------------------------------------

/// An item a transaction touches: (table, pk, sk).
type ItemKey = (String, String, String);

/// What the proxy saw since the last [`Proxy::take`].
#[derive(Clone, Debug, Default)]
struct Seen {
    /// HTTP requests per DynamoDB operation (SDK retries included).
    ops: BTreeMap<String, usize>,
    /// `TransactWriteItems` cancelled by the conflict emulation.
    conflicts: usize,
    /// `TransactWriteItems` that moto cancelled (a failed condition).
    cancelled: usize,
    /// Campaign counter items (`COUNTS#...`) written by transactions.
    counter_items: BTreeSet<String>,
}

impl Seen {
    fn op(&self, name: &str) -> usize {
        self.ops.get(name).copied().unwrap_or(0)
    }

    fn writes(&self) -> usize {
        self.op("TransactWriteItems")
    }
}

#[derive(Default)]
struct ProxyState {
    seen: Seen,
    /// Items of the transactions in flight, with how many hold each.
    in_flight: HashMap<ItemKey, usize>,
}

/// A loopback HTTP/1.1 proxy in front of moto (see the module's documentation).
#[derive(Clone)]
struct Proxy {
    url: String,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let upstream = endpoint();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .expect("proxy client");
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (upstream, http, state) = (upstream.clone(), http.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &upstream, &http, &state).await;
                });
            }
        });
        Proxy { url, state }
    }

    /// What was seen since the last call, and a fresh count.
    fn take(&self) -> Seen {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }

    /// A DynamoDB client through the proxy: no attempt timeout (moto can take
    /// seconds for one big transaction, and moto ignores the client request
    /// token, so an SDK retry of a committed transaction would see its own
    /// events as duplicates).
    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        dynamo_at(&self.url)
    }
}

/// A DynamoDB client for `endpoint`, without an attempt timeout (see
/// [`Proxy::dynamo`]).
fn dynamo_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = local_stack::aws::local_sdk_config(endpoint)
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(300))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::new(&config)
}

/// The items of a `TransactWriteItems` request body.
fn transaction_keys(body: &Value) -> Vec<ItemKey> {
    let mut keys = Vec::new();
    for item in body["TransactItems"].as_array().into_iter().flatten() {
        for (kind, key_field) in [
            ("Put", "Item"),
            ("Update", "Key"),
            ("Delete", "Key"),
            ("ConditionCheck", "Key"),
        ] {
            let op = &item[kind];
            if op.is_object() {
                keys.push((
                    op["TableName"].as_str().unwrap_or_default().to_owned(),
                    op[key_field]["pk"]["S"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    op[key_field]["sk"]["S"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
        }
    }
    keys
}

/// Serves one connection: request after request (keep-alive).
async fn serve(
    stream: TcpStream,
    upstream: &str,
    http: &reqwest::Client,
    state: &Mutex<ProxyState>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("POST").to_owned();
        let path = parts.next().unwrap_or("/").to_owned();
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await?;

        let operation = header("x-amz-target")
            .and_then(|t| t.rsplit('.').next().map(str::to_owned))
            .unwrap_or_else(|| "other".to_owned());
        let mut held: Vec<ItemKey> = Vec::new();
        let mut conflict: Option<Value> = None;
        {
            let mut st = state.lock().unwrap();
            *st.seen.ops.entry(operation.clone()).or_default() += 1;
            if operation == "TransactWriteItems" {
                let keys = serde_json::from_slice::<Value>(&body)
                    .map(|b| transaction_keys(&b))
                    .unwrap_or_default();
                let busy: Vec<bool> = keys
                    .iter()
                    .map(|k| st.in_flight.get(k).copied().unwrap_or(0) > 0)
                    .collect();
                if busy.iter().any(|b| *b) {
                    st.seen.conflicts += 1;
                    let reasons: Vec<Value> = busy
                        .iter()
                        .map(|b| {
                            if *b {
                                json!({"Code": "TransactionConflict",
                                       "Message": "Transaction is ongoing for the item"})
                            } else {
                                json!({"Code": "None"})
                            }
                        })
                        .collect();
                    conflict = Some(json!({
                        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                        "CancellationReasons": reasons,
                    }));
                } else {
                    for key in &keys {
                        *st.in_flight.entry(key.clone()).or_default() += 1;
                        if key.2.starts_with("COUNTS#") {
                            st.seen.counter_items.insert(format!("{} {}", key.1, key.2));
                        }
                    }
                    held = keys;
                }
            }
        }

        let (status, answer_headers, answer) = match conflict {
            Some(reply) => (
                400u16,
                vec![(
                    "content-type".to_owned(),
                    "application/x-amz-json-1.0".to_owned(),
                )],
                reply.to_string().into_bytes(),
            ),
            None => {
                let mut request = http.request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST),
                    format!("{upstream}{path}"),
                );
                for (name, value) in &headers {
                    if !matches!(
                        name.as_str(),
                        "host" | "content-length" | "connection" | "expect" | "transfer-encoding"
                    ) {
                        request = request.header(name.as_str(), value.as_str());
                    }
                }
                let result = request.body(body).send().await;
                let reply = match result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers: Vec<(String, String)> = response
                            .headers()
                            .iter()
                            .filter(|(n, _)| {
                                !matches!(
                                    n.as_str(),
                                    "content-length" | "connection" | "transfer-encoding"
                                )
                            })
                            .map(|(n, v)| {
                                (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect();
                        let bytes = response.bytes().await.map(|b| b.to_vec());
                        bytes.map(|b| (status, headers, b))
                    }
                    Err(e) => Err(e),
                };
                let mut st = state.lock().unwrap();
                for key in &held {
                    if let Some(n) = st.in_flight.get_mut(key) {
                        *n -= 1;
                        if *n == 0 {
                            st.in_flight.remove(key);
                        }
                    }
                }
                match reply {
                    Ok((status, headers, bytes)) => {
                        if operation == "TransactWriteItems"
                            && status == 400
                            && String::from_utf8_lossy(&bytes).contains("TransactionCanceled")
                        {
                            st.seen.cancelled += 1;
                        }
                        (status, headers, bytes)
                    }
                    Err(_) => (502, Vec::new(), Vec::new()),
                }
            }
        };
        let mut out = format!("HTTP/1.1 {status} X\r\n");
        for (name, value) in &answer_headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("content-length: {}\r\n\r\n", answer.len()));
        write.write_all(out.as_bytes()).await?;
        write.write_all(&answer).await?;
        write.flush().await?;
    }
}

// ----- events -------------------------------------------------------------------

const SKILL: i64 = 7301;

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 12, 0, 0).unwrap()
}

/// A `contact.completed` event `i` (its own number, `+1617555` and 4 digits
/// of `i`), in one of 5 minutes before [`base_time`].
fn completed(id: &str, skill: i64, i: usize, with_number: bool) -> Value {
    let at = base_time() - chrono::Duration::minutes(1 + (i % 5) as i64)
        + chrono::Duration::seconds((i % 60) as i64);
    let mut data = json!({"contactId": format!("c-{id}"),
        "outcome": Outcome::ALL[i % Outcome::ALL.len()].as_str(),
        "talkSeconds": 60, "wrapSeconds": 5});
    if with_number {
        data["phoneNumber"] = json!(number(i));
    }
    json!({"eventId": id, "type": "contact.completed", "occurredAt": at.to_rfc3339(),
           "skillId": skill, "data": data})
}

fn number(i: usize) -> String {
    format!("+1617555{i:04}")
}

fn events(values: &[Value]) -> Vec<Event> {
    parse_body(json!({ "events": values }).to_string().as_bytes()).expect("valid events")
}

/// Tables made from `template.yaml` (directly in moto: not counted).
async fn tables() -> (aws_sdk_dynamodb::Client, String) {
    let direct = dynamo_at(&endpoint());
    let prefix = format!("rt-{}", uuid::Uuid::new_v4().simple());
    let names = local_stack::tables::TableNames::with_prefix(&prefix);
    local_stack::tables::create_tables(&direct, TEMPLATE, &names)
        .await
        .expect("create tables from template.yaml");
    (direct, names.state)
}

/// The tests of this file one at a time: each sends moto (which runs writes
/// one at a time) hundreds of events, and the counts they assert are of
/// their own round trips; in parallel they would slow each other past the
/// SDK's timeouts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

// ----- the tests ----------------------------------------------------------------

/// A 500-event body for one campaign, every event a different number, over 5
/// minutes: fresh, then mixed with redelivered events and duplicates inside
/// the body, then delivered again. Writes stay within one `TransactWriteItems`
/// per 25 events (in fact one per 49: each event is two items, its dedupe
/// record and its number's attempt counter), the duplicates' read is one
/// `BatchGetItem` per 100 distinct events, and the counts stay exact.
#[tokio::test]
async fn a_500_event_batch_writes_at_most_once_per_25_events() {
    let _one = ONE_AT_A_TIME.lock().await;
    let proxy = Proxy::start().await;
    let (direct, table) = tables().await;
    let store = EventStore::new(proxy.dynamo(), table.clone());
    let at = base_time();

    // 1. 500 new events, 500 numbers.
    let fresh: Vec<Value> = (0..500)
        .map(|i| completed(&format!("rt-{i}"), SKILL, i, true))
        .collect();
    proxy.take();
    let outcome = store.record(&events(&fresh), at).await.expect("record");
    let seen = proxy.take();
    eprintln!(
        "fresh 500: {outcome:?}, {:?}, conflicts {}, cancelled {}",
        seen.ops, seen.conflicts, seen.cancelled
    );
    assert_eq!((outcome.accepted, outcome.duplicates), (500, 0));
    assert!(
        seen.writes() <= ceil_div(500, 25),
        "{} writes for 500 events",
        seen.writes()
    );
    assert!(
        seen.writes() <= ceil_div(500, 49),
        "regression: {} writes for 500 events, designed {}",
        seen.writes(),
        ceil_div(500, 49)
    );
    assert_eq!(seen.op("BatchGetItem"), ceil_div(500, 100));
    assert_eq!(seen.cancelled, 0);
    assert_eq!(
        seen.ops.keys().cloned().collect::<Vec<_>>(),
        ["BatchGetItem", "TransactWriteItems"]
    );
    assert_eq!(
        outcome.transactions,
        seen.writes(),
        "the store counts them too"
    );
    assert_eq!(outcome.conflicts, 0);
    // One writer: one counter item per minute (its shard).
    assert_eq!(seen.counter_items.len(), 5, "{:?}", seen.counter_items);

    // 2. A 500-event body: 300 new events (new numbers), 150 redelivered
    //    from the first body, 50 repeated inside the body.
    let mut mixed: Vec<Value> = (500..800)
        .map(|i| completed(&format!("rt-{i}"), SKILL, i, true))
        .collect();
    mixed.extend(fresh[..150].iter().cloned());
    mixed.extend(mixed[..50].to_vec());
    assert_eq!(mixed.len(), 500);
    let outcome = store.record(&events(&mixed), at).await.expect("record");
    let seen = proxy.take();
    eprintln!(
        "mixed 500 (300 new): {outcome:?}, {:?}, conflicts {}, cancelled {}",
        seen.ops, seen.conflicts, seen.cancelled
    );
    assert_eq!((outcome.accepted, outcome.duplicates), (300, 200));
    assert!(seen.writes() <= ceil_div(500, 25));
    assert!(
        seen.writes() <= ceil_div(300, 49),
        "regression: {} writes for 300 new events",
        seen.writes()
    );
    assert_eq!(seen.op("BatchGetItem"), ceil_div(450, 100));
    assert_eq!(seen.cancelled, 0);

    // 3. The same body again: nothing new, no write.
    let outcome = store.record(&events(&mixed), at).await.expect("record");
    let seen = proxy.take();
    eprintln!("redelivered 500: {outcome:?}, {:?}", seen.ops);
    assert_eq!((outcome.accepted, outcome.duplicates), (0, 500));
    assert_eq!(seen.writes(), 0, "a redelivered batch writes nothing");
    assert_eq!(seen.op("BatchGetItem"), ceil_div(450, 100));

    // Counts are exact: 800 events, per outcome, per number.
    let reader = EventStore::new(direct, table);
    let counts = reader
        .window_counts(SKILL, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(counts.events, 800);
    assert_eq!(counts.success, 800 / 6 + u64::from(800 % 6 > 0));
    assert_eq!(counts.talk_seconds, 60.0 * 800.0);
    let minutes = reader
        .minute_counts(SKILL, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(minutes.len(), 5, "{minutes:?}");
    assert!(minutes.iter().all(|(_, c)| c.events == 160), "{minutes:?}");
    for i in [0, 1, 149, 150, 499, 500, 549, 799] {
        assert_eq!(
            reader.attempts_last_24h(&number(i), at).await.unwrap(),
            1,
            "number {i}"
        );
    }
}

/// Events that carry no number (`skill.metrics`, and `contact.completed`
/// without `phoneNumber`) are one item each: a transaction takes up to 100
/// items, less one counter update per campaign and minute, so 500 such
/// events are 6 `TransactWriteItems`.
#[tokio::test]
async fn events_without_numbers_fill_whole_transactions() {
    let _one = ONE_AT_A_TIME.lock().await;
    let proxy = Proxy::start().await;
    let (direct, table) = tables().await;
    let store = EventStore::new(proxy.dynamo(), table.clone());
    let at = base_time();
    let body: Vec<Value> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                completed(&format!("nn-{i}"), SKILL, i, false)
            } else {
                json!({"eventId": format!("nn-{i}"), "type": "skill.metrics",
                       "occurredAt": (at - chrono::Duration::minutes(1 + (i % 5) as i64)).to_rfc3339(),
                       "skillId": SKILL,
                       "data": {"intervalSeconds": 60, "dials": 10, "connects": 4, "abandons": 0,
                                "successes": 2, "failures": 1}})
            }
        })
        .collect();
    proxy.take();
    let outcome = store.record(&events(&body), at).await.expect("record");
    let seen = proxy.take();
    eprintln!("500 without numbers: {outcome:?}, {:?}", seen.ops);
    assert_eq!(outcome.accepted, 500);
    assert!(seen.writes() <= ceil_div(500, 25));
    // 98 or 99 events per transaction (one or two minutes in it); before,
    // at most 50 events per transaction made it 10.
    assert!(
        seen.writes() <= ceil_div(500, 98),
        "regression: {} writes",
        seen.writes()
    );
    let counts = EventStore::new(direct, table)
        .window_counts(SKILL, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(counts.events, 500);
    assert_eq!(counts.metrics_dials, 2500);
}

/// Runs `tasks` concurrent deliveries of `per_task` events each for one
/// campaign through the proxy (conflicts emulated), each through its own
/// store (as separate Lambda sandboxes), retrying a failed delivery as the
/// sender would; returns what the proxy saw and the deliveries' attempts.
async fn concurrent_deliveries(
    proxy: &Proxy,
    stores: Vec<EventStore>,
    skill: i64,
    per_task: usize,
) -> (Seen, usize) {
    let tasks = stores.len();
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    proxy.take();
    let mut handles = Vec::new();
    for (t, store) in stores.into_iter().enumerate() {
        let barrier = barrier.clone();
        let values: Vec<Value> = (0..per_task)
            .map(|k| {
                let i = t * per_task + k;
                let mut v = completed(&format!("cc-{skill}-{i}"), skill, i, true);
                // Two minutes, as a busy minute and its neighbour.
                let at = base_time() - chrono::Duration::minutes(1 + (i % 2) as i64)
                    + chrono::Duration::seconds((i % 60) as i64);
                v["occurredAt"] = json!(at.to_rfc3339());
                v
            })
            .collect();
        handles.push(tokio::spawn(async move {
            let batch = events(&values);
            barrier.wait().await;
            let mut accepted = 0;
            for attempt in 1..=10 {
                match store.record(&batch, base_time()).await {
                    Ok(outcome) => {
                        accepted += outcome.accepted;
                        return (accepted, attempt);
                    }
                    // A 503: the sender retries; what committed is now a duplicate.
                    Err(e) => eprintln!("task {t} attempt {attempt}: {e}"),
                }
            }
            panic!("task {t}: not stored after 10 deliveries");
        }));
    }
    let mut accepted = 0;
    let mut deliveries = 0;
    for handle in handles {
        let (a, d) = handle.await.expect("task");
        accepted += a;
        deliveries += d;
    }
    assert!(accepted <= tasks * per_task);
    (proxy.take(), deliveries)
}

/// 8 concurrent deliveries of 125 events for one campaign (two minutes,
/// every event a different number) commit without losing or doubling a
/// count, with conflicts emulated as DynamoDB makes them (see the module's
/// documentation). As 8 Lambda sandboxes (a store each), they write 8
/// different shards of each minute's counter, except when two draw the same
/// shard: then the first conflict moves one of them, so conflicts stay under
/// one per delivery. From one process (one store, concurrent calls) they
/// never share a shard: no conflict at all. Before sharding, the same run
/// made 288 conflicts in 298 transactions, and 3 of the 8 deliveries were
/// still not stored after 10 attempts of the sender.
#[tokio::test]
async fn concurrent_batches_for_one_campaign_do_not_lose_or_double_counts() {
    let _one = ONE_AT_A_TIME.lock().await;
    let proxy = Proxy::start().await;
    let (direct, table) = tables().await;
    let reader = EventStore::new(direct, table.clone());
    let at = base_time();
    let (tasks, per_task) = (8, 125);
    let total = (tasks * per_task) as u64;

    // As 8 sandboxes: a store each.
    let stores = (0..tasks)
        .map(|_| EventStore::new(proxy.dynamo(), table.clone()))
        .collect();
    let (seen, deliveries) = concurrent_deliveries(&proxy, stores, SKILL, per_task).await;
    eprintln!(
        "{tasks} x {per_task}, a store each: {:?}, conflicts {}, cancelled {}, deliveries {deliveries}, counter items {}",
        seen.ops,
        seen.conflicts,
        seen.cancelled,
        seen.counter_items.len()
    );
    let counts = reader
        .window_counts(SKILL, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(counts.events, total, "no count lost or doubled");
    assert_eq!(counts.talk_seconds, 60.0 * total as f64);
    let minutes = reader
        .minute_counts(SKILL, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(minutes.len(), 2);
    assert!(
        minutes.iter().all(|(_, c)| c.events == total / 2),
        "{minutes:?}"
    );
    for i in [0, 124, 125, 999] {
        assert_eq!(reader.attempts_last_24h(&number(i), at).await.unwrap(), 1);
    }
    assert_eq!(
        deliveries, tasks,
        "no delivery needed a retry of the sender"
    );
    assert!(
        seen.conflicts <= tasks,
        "{} conflicts for {tasks} concurrent deliveries",
        seen.conflicts
    );
    assert!(seen.writes() <= tasks * ceil_div(per_task, 25));
    assert!(
        seen.writes() <= tasks * ceil_div(per_task, 49) + seen.conflicts,
        "regression: {} writes",
        seen.writes()
    );

    // One process, 8 concurrent calls on one store: 8 different shards.
    // (A table of its own: on moto a transaction costs in proportion to
    // the items of its table.)
    let (direct, table) = tables().await;
    let reader = EventStore::new(direct, table.clone());
    let store = EventStore::new(proxy.dynamo(), table.clone());
    let stores = (0..tasks).map(|_| store.clone()).collect();
    let (seen, deliveries) = concurrent_deliveries(&proxy, stores, SKILL + 1, per_task).await;
    eprintln!(
        "{tasks} x {per_task}, one store: {:?}, conflicts {}, cancelled {}, deliveries {deliveries}, counter items {}",
        seen.ops,
        seen.conflicts,
        seen.cancelled,
        seen.counter_items.len()
    );
    assert_eq!(seen.conflicts, 0);
    assert_eq!(deliveries, tasks);
    assert_eq!(
        seen.writes(),
        tasks * ceil_div(per_task, 49),
        "3 transactions per delivery of 125"
    );
    let counts = reader
        .window_counts(SKILL + 1, at - chrono::Duration::hours(1), at)
        .await
        .unwrap();
    assert_eq!(counts.events, total);
}

/// Counter items written before sharding (`COUNTS#<minute>`, no shard) are
/// summed with the shards, so a deploy loses no minute.
#[tokio::test]
async fn unsharded_counters_of_earlier_versions_are_still_summed() {
    let _one = ONE_AT_A_TIME.lock().await;
    use aws_sdk_dynamodb::types::AttributeValue;
    let (direct, table) = tables().await;
    let at = base_time();
    let minute = at - chrono::Duration::minutes(1);
    let key = minute.format("%Y-%m-%dT%H:%M").to_string();
    // What the previous version wrote for that minute: 3 events, 2 successes.
    direct
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("CAMPAIGN#{SKILL}")))
        .key("sk", AttributeValue::S(format!("COUNTS#{key}")))
        .update_expression("ADD events :e, success :s, failure :f")
        .expression_attribute_values(":e", AttributeValue::N("3".into()))
        .expression_attribute_values(":s", AttributeValue::N("2".into()))
        .expression_attribute_values(":f", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    // Now two deliveries (two stores: two shards, or one by chance) for that
    // minute and the next.
    for (n, store) in [
        EventStore::new(direct.clone(), table.clone()),
        EventStore::new(direct.clone(), table.clone()),
    ]
    .into_iter()
    .enumerate()
    {
        let values: Vec<Value> = (0..4)
            .map(|i| {
                let mut v = completed(&format!("old-{n}-{i}"), SKILL, 6 * i, true);
                let t = if i < 3 { minute } else { at };
                v["occurredAt"] = json!(t.to_rfc3339());
                v["data"]["phoneNumber"] = json!(number(100 * n + i));
                v
            })
            .collect();
        let outcome = store.record(&events(&values), at).await.unwrap();
        assert_eq!(outcome.accepted, 4);
    }
    let reader = EventStore::new(direct, table);
    let minutes = reader
        .minute_counts(SKILL, minute, at + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(minutes.len(), 2, "{minutes:?}");
    assert_eq!(minutes[0].0, key);
    // 3 old + 2 x 3 new, all successes (outcome index 0).
    assert_eq!(
        (
            minutes[0].1.events,
            minutes[0].1.success,
            minutes[0].1.failure
        ),
        (9, 8, 1)
    );
    assert_eq!(minutes[1].1.events, 2);
    let window = reader
        .window_counts(SKILL, minute, at + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!((window.events, window.success), (11, 10));
    // A window of the old minute alone, and one starting after it.
    assert_eq!(
        reader
            .window_counts(SKILL, minute, at)
            .await
            .unwrap()
            .events,
        9
    );
    assert_eq!(
        reader
            .window_counts(SKILL, at, at + chrono::Duration::minutes(1))
            .await
            .unwrap()
            .events,
        2
    );
}

// ----- the tuner's CXone calls -------------------------------------------------------

async fn configure(stack: &e2e_tests::TestStack, skill: i64) {
    let api = campaign_api::Api::new(&stack.deps());
    let event = e2e_tests::http_event(
        "PUT",
        "/campaigns/{skillId}/config",
        &format!("/campaigns/{skill}/config"),
        Some(&skill.to_string()),
        Some(&e2e_tests::config_body(None)),
        1_795_000_000_000,
    );
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = api
        .handle(
            request,
            shared::deadline::Deadline::after(Duration::from_secs(20)),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.body());
}

/// CXone requests of one tuner tick: per skill, `METHOD skills/{id}...`
/// with their counts, and the requests about no skill (discovery, token).
async fn tick_requests(
    stack: &e2e_tests::TestStack,
    tuner: &capacity_tuner::Tuner,
    id: &str,
) -> (Value, BTreeMap<i64, BTreeMap<String, usize>>, Vec<String>) {
    stack.sim.admin().clear_requests().await.unwrap();
    let now = stack.sim.admin().clock().await.unwrap();
    let report = tuner
        .handle(
            &e2e_tests::scheduled_event(id, now),
            &shared::invocation::Invocation::new(
                id,
                shared::deadline::Deadline::after(Duration::from_secs(60)),
            ),
        )
        .await
        .expect("tick");
    let mut per_skill: BTreeMap<i64, BTreeMap<String, usize>> = BTreeMap::new();
    let mut other = Vec::new();
    for r in stack.sim.admin().requests().await.unwrap() {
        let mut parts = r.path.split('/').skip_while(|p| *p != "skills").skip(1);
        match parts.next().and_then(|p| p.parse::<i64>().ok()) {
            Some(skill) => {
                let rest: Vec<&str> = parts.collect();
                let call = if rest.is_empty() {
                    format!("{} skills/{{id}}", r.method)
                } else {
                    format!("{} skills/{{id}}/{}", r.method, rest.join("/"))
                };
                *per_skill.entry(skill).or_default().entry(call).or_default() += 1;
            }
            None => other.push(format!("{} {}", r.method, r.path)),
        }
    }
    (report, per_skill, other)
}

/// A tuner cycle's CXone calls per campaign, counted at the simulator's
/// request log, for two enabled campaigns.
///
/// **Reads per campaign per cycle: 6**, all `GET`: the window guard's 2
/// (`skills/{id}` for whether it runs, `skills/{id}/parameters/schedule-settings`
/// for its own window) and pacing's 4 (`skills/{id}/activity`,
/// `skills/{id}/summary` twice: the last 15 minutes and the 30-day period,
/// `skills/{id}/parameters/general-settings`). **No write when nothing
/// changes.** A cycle that changes a setting adds one `PUT
/// general-settings` and two more reads of it (the re-read just before the
/// write and the read-back). Discovery and the token are read once per
/// process (cached), not per cycle.
#[tokio::test]
async fn a_tuner_cycle_reads_6_per_campaign_and_writes_nothing_when_nothing_changes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let stack = e2e_tests::TestStack::start(cxone_sim::Scenario::small_test()).await;
    configure(&stack, 1001).await;
    configure(&stack, 1002).await;
    let deps = stack.deps();
    let tuner = capacity_tuner::Tuner::new(&deps);
    let steady: BTreeMap<String, usize> = [
        ("GET skills/{id}", 1),
        ("GET skills/{id}/parameters/schedule-settings", 1),
        ("GET skills/{id}/activity", 1),
        ("GET skills/{id}/summary", 2),
        ("GET skills/{id}/parameters/general-settings", 1),
    ]
    .into_iter()
    .map(|(call, n)| (call.to_owned(), n))
    .collect();

    // The first cycle writes each campaign's settings once (its threshold).
    let (report, per_skill, other) = tick_requests(&stack, &tuner, "rt-tick-1").await;
    eprintln!("first cycle: {per_skill:?}, other {other:?}");
    for (i, skill) in [1001, 1002].into_iter().enumerate() {
        assert_eq!(report["campaigns"][i]["outcome"], "written", "{report}");
        let mut written = steady.clone();
        written.insert("GET skills/{id}/parameters/general-settings".into(), 3);
        written.insert("PUT skills/{id}/parameters/general-settings".into(), 1);
        assert_eq!(per_skill[&skill], written, "skill {skill}");
    }
    assert_eq!(
        other.len(),
        3,
        "discovery (2) and the token, once per process: {other:?}"
    );

    // Then nothing changes: 6 reads per campaign, no write, no token.
    for id in ["rt-tick-2", "rt-tick-3"] {
        stack.sim.admin().advance_seconds(300.0).await.unwrap();
        let (report, per_skill, other) = tick_requests(&stack, &tuner, id).await;
        eprintln!("{id}: {per_skill:?}, other {other:?}");
        for (i, skill) in [1001, 1002].into_iter().enumerate() {
            assert_eq!(report["campaigns"][i]["outcome"], "unchanged", "{report}");
            assert_eq!(per_skill[&skill], steady, "{id}, skill {skill}");
            assert_eq!(per_skill[&skill].values().sum::<usize>(), 6);
        }
        assert_eq!(per_skill.len(), 2);
        assert!(other.is_empty(), "{other:?}");
    }
}
