//! Webhook events in the state table: dedupe records, per-minute campaign
//! counters (sharded) and per-number attempt counters.
//!
//! # Items (state table)
//! - `pk = EVENT#<eventId>`, `sk = EVENT`: the dedupe record of one event:
//!   `body` (the event object as received, JSON; its `type`, `skillId`,
//!   `occurredAt` are in there), `receivedAt` (RFC 3339, the request time) and
//!   `ttl` (Unix seconds).
//! - `pk = CAMPAIGN#<skillId>`, `sk = COUNTS#<YYYY-MM-DDTHH:MM>#<shard>` (the
//!   UTC minute of `occurredAt`; the shard two digits, `00` to `63`, see "No
//!   hot item"): numeric attributes [`Counts::FIELDS`] (`events`, `success`,
//!   `failure`, `abandoned`, `no_answer`, `machine`, `busy`, `other`,
//!   `talk_seconds`, `wrap_seconds`, `s_started`, `s_stopped`, `m_reports`,
//!   `m_interval_seconds`, `m_dials`, `m_connects`, `m_abandons`,
//!   `m_successes`, `m_failures`), each present once non-zero and grown only by
//!   atomic `ADD`, plus `ttl`. A minute's counts are the **sum of its items**:
//!   its shards, and the unsharded `COUNTS#<YYYY-MM-DDTHH:MM>` that versions
//!   before sharding wrote (still read and summed, never written again), so a
//!   deploy loses no minute. [`EventStore::minute_counts`] and
//!   [`EventStore::window_counts`] sum them; every reader goes through them.
//! - `pk = PHONE#<E.164>`, `sk = ATTEMPTS#<YYYY-MM-DDTHH:MM>` (the UTC minute
//!   of `occurredAt`): `attempts`, the `contact.completed` events that carried
//!   this `phoneNumber` in that minute (every outcome is a call made), grown
//!   by `ADD`, plus `ttl`. [`EventStore::attempts_between`] sums them over a
//!   window: the states that cap calls per 24 hours are checked against it.
//!
//! # Why every event is counted exactly once
//! Each event's dedupe record is created by a `Put` conditioned on
//! `attribute_not_exists(pk)`, and its contributions to its minute's counter
//! (one shard item) and to its number's attempt counter are `ADD`s in the
//! **same `TransactWriteItems`**. A transaction is atomic and serialisable:
//! either the record is created and the counters grow, or nothing happens.
//! Hence, at every instant, *the sum of a minute's counter items holds exactly
//! the contributions of the events whose records exist*, and so does each
//! number's attempt counter:
//! - a duplicate (a retry, the same event in another batch, or twice in one
//!   batch) finds its record, its condition fails, and it is dropped before
//!   the transaction is retried without it, so it adds nothing (duplicates
//!   inside one body are dropped before any write);
//! - a crash or timeout before the commit leaves nothing; after it, both: the
//!   sender's retry then sees duplicates. There is no window in which the
//!   record exists without the counter (or the reverse), unlike a
//!   put-then-update design;
//! - two deliveries of the same event racing each other: the transactions
//!   serialise, one commits, the other is cancelled (condition failed, or a
//!   transaction conflict that is retried and then fails the condition);
//! - an SDK-level retry of a transaction that did commit carries the same
//!   client request token (the SDK fills it in), so DynamoDB answers success
//!   without applying it twice;
//! - order does not matter: `ADD` commutes;
//! - sharding moves a contribution, never doubles or drops it: a transaction
//!   adds to one shard per (campaign, minute), chosen before it is sent; one
//!   retried after a cancellation (which applied nothing) may choose another;
//!   readers sum every item of the minute, so the choice never changes a
//!   count. A transaction's contribution to one minute is one item, so a
//!   reader sees it whole or not at all.
//!
//! The answer to the sender (202) is given only after every transaction of the
//! body committed; on any storage failure the handler answers 503, and the
//! sender's retry counts the already-committed events as duplicates.
//!
//! The guarantee lasts as long as the dedupe record: its TTL is the later of
//! the counter's expiry and 7 days after receipt, so a record never expires
//! while the counter it was added to can still be read.
//!
//! # What a transaction holds, and the round trips
//! At most [`MAX_TRANSACTION_ITEMS`] (100, DynamoDB's limit) items, each
//! touched once: one conditional `Put` per event, one `ADD` per distinct
//! (campaign, minute) on the transaction's shard, and one `ADD` per distinct
//! (number, minute) of its `contact.completed` events with a `phoneNumber`.
//! Events sorted by campaign and minute fill transactions greedily (no other
//! cap on events; the body's 256 KiB keeps a transaction far under
//! DynamoDB's 4 MB). An event is two items when it brings a new number (the
//! realistic case: every event of a batch a different number), one
//! otherwise, so a transaction takes 49 such events (in one minute or two),
//! 98 or 99 without numbers, and 33 in the worst case (every event its own
//! campaign, minute and number). A 500-event body of distinct numbers
//! is `ceil(500 / 49)` = 11 `TransactWriteItems`, within the bound of one per
//! 25 events, plus one consistent `BatchGetItem` per 100 distinct events
//! (below); a redelivered body is those reads and no write. Each cancelled
//! transaction (a duplicate that raced past the read, a conflict) costs one
//! more round trip. `tests/tests/webhook_round_trips.rs` counts them.
//!
//! The attempt counters stay one item per number and minute: the per-state
//! caps on calls per 24 hours need one number's exact count from one
//! strongly consistent `Query` ([`EventStore::attempts_between`]); an item
//! holding several numbers would make that read carry other numbers' counts
//! (and a busy item again), and a transaction could still touch it only once.
//!
//! A cancelled transaction's `CancellationReasons` say which puts failed
//! their condition; those events are duplicates and the rest is retried. Known
//! duplicates are dropped before writing (one consistent `BatchGetItem` per
//! 100 events) so that retried batches do not cancel transaction after
//! transaction; that read is an optimisation, never the guarantee.
//!
//! # No hot item
//! Concurrent transactions that touch one item conflict (DynamoDB cancels one
//! with `TransactionConflict`), so one counter item per campaign and minute
//! would serialise a busy campaign's deliveries. The counter is split in
//! [`COUNTER_SHARDS`] items. Each store draws a preferred shard at random when
//! it is made (in Lambda, once per sandbox, whose invocations run one at a
//! time), and each of its transactions takes that shard, or the next one no
//! other transaction of the same process has in flight. A transaction
//! cancelled by a conflict means another writer (another sandbox) uses the
//! shard: the store draws another preferred shard before retrying. So
//! concurrent deliveries for one campaign write different items, and a quiet
//! campaign still writes one item per minute, which keeps reads small (a
//! minute is read as one item per sandbox that wrote in it, at most 64).
//! 64 shards: more than webhook-ingest's reserved concurrency (50), so even
//! every sandbox writing one campaign at once can hold a shard of its own.
//! The partition `CAMPAIGN#<skillId>` stays cool too: 1,000 events/s in
//! deliveries of 25 or more are at most 40 transactions a second, each
//! adding to one or two counter items (2 write units each), far within a
//! partition's 1,000 write units a second.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use super::{campaign_pk, StoreError};
use crate::webhook::event::{minute_key, rfc3339, Event};
pub use crate::webhook::Counts;

mod attempts;
mod reads;
mod shards;

use shards::{ShardLease, ShardPicker};

/// Items per `TransactWriteItems` at most (DynamoDB's limit): puts, campaign
/// counter updates and per-number attempt updates together.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Items a campaign's counter of one minute is split in (see the module's
/// "No hot item"). At most 64 (the in-flight bookkeeping is per shard).
pub const COUNTER_SHARDS: u32 = 64;
/// How long a number's per-minute attempt counter lives after that minute:
/// longer than the 24-hour window the state caps are counted over.
pub const ATTEMPT_RETENTION: TimeDelta = TimeDelta::days(2);
/// How long a dedupe record lives at least after receipt.
pub const EVENT_RETENTION: TimeDelta = TimeDelta::days(7);
/// How long a minute's counter lives after that minute.
pub const COUNTER_RETENTION: TimeDelta = TimeDelta::days(40);
/// Keys per `BatchGetItem` (DynamoDB's limit).
const BATCH_GET_KEYS: usize = 100;
/// Attempts of one transaction that fail for transient reasons (conflicts,
/// throttling inside the transaction) before the body is answered 503.
pub const MAX_TRANSIENT_ATTEMPTS: u32 = 5;

/// Sort key of a minute's unsharded counter item, written by versions before
/// sharding and still read; also the prefix of the minute's shards.
pub fn counter_sk(minute: &str) -> String {
    format!("COUNTS#{minute}")
}

/// Sort key of one shard of a minute's counter.
pub fn counter_shard_sk(minute: &str, shard: u32) -> String {
    format!("COUNTS#{minute}#{shard:02}")
}

/// The minute (`YYYY-MM-DDTHH:MM`) of a counter item's sort key, sharded or
/// not; `None` for any other sort key.
pub fn counter_minute(sk: &str) -> Option<&str> {
    let rest = sk.strip_prefix("COUNTS#")?;
    Some(rest.split_once('#').map_or(rest, |(minute, _)| minute))
}

/// Partition key of a number's attempt counters.
pub fn phone_pk(e164: &str) -> String {
    format!("PHONE#{e164}")
}

/// Sort key of a number's attempt counter for one minute.
pub fn attempts_sk(minute: &str) -> String {
    format!("ATTEMPTS#{minute}")
}

/// The number an event counts an attempt for: a `contact.completed` with a `phoneNumber`.
fn attempted_number(event: &Event) -> Option<&str> {
    match &event.kind {
        crate::webhook::event::EventKind::ContactCompleted(c) => c.phone_number.as_deref(),
        _ => None,
    }
}

/// Splits `events` (sorted by campaign and minute) into transactions of at
/// most [`MAX_TRANSACTION_ITEMS`] items (see the module's documentation).
fn transaction_chunks<'a>(events: &[&'a Event]) -> Vec<Vec<&'a Event>> {
    let mut chunks = Vec::new();
    let mut current: Vec<&'a Event> = Vec::new();
    let mut buckets: HashSet<(i64, String)> = HashSet::new();
    let mut phones: HashSet<(String, String)> = HashSet::new();
    for &event in events {
        let minute = event.minute();
        let bucket = (event.skill_id, minute.clone());
        let phone = attempted_number(event).map(|p| (p.to_owned(), minute));
        let added = 1
            + usize::from(!buckets.contains(&bucket))
            + phone
                .as_ref()
                .map_or(0, |p| usize::from(!phones.contains(p)));
        let items = current.len() + buckets.len() + phones.len();
        if !current.is_empty() && items + added > MAX_TRANSACTION_ITEMS {
            chunks.push(std::mem::take(&mut current));
            buckets.clear();
            phones.clear();
        }
        current.push(event);
        buckets.insert(bucket);
        if let Some(p) = phone {
            phones.insert(p);
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Partition key of an event's dedupe record.
pub fn event_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

/// Sort key of an event's dedupe record.
pub const EVENT_SK: &str = "EVENT";

/// What storing a body did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Events stored and counted now.
    pub accepted: usize,
    /// Events already stored (earlier delivery, or twice in this body): not counted again.
    pub duplicates: usize,
    /// `TransactWriteItems` sent (the write round trips), cancelled ones included.
    pub transactions: usize,
    /// Of those, cancelled by a transaction conflict (another writer on an item).
    pub conflicts: usize,
}

/// Dedupe records and per-minute counters of webhook events.
#[derive(Clone, Debug)]
pub struct EventStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    precheck: bool,
    shards: Arc<ShardPicker>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Unix seconds, for a TTL attribute.
fn epoch(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// The counter bucket of an event: (skill, minute).
type Bucket = (i64, String);

/// Expiry of a minute's counter: [`COUNTER_RETENTION`] after the minute, but at
/// least a day after receipt (an item whose TTL is far in the past is never
/// deleted by DynamoDB).
fn counter_expiry(occurred_at: DateTime<Utc>, received_at: DateTime<Utc>) -> DateTime<Utc> {
    let by_minute = occurred_at
        .checked_add_signed(COUNTER_RETENTION)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let floor = received_at
        .checked_add_signed(TimeDelta::days(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    by_minute.max(floor)
}

/// Expiry of a dedupe record: never before its counter's.
fn event_expiry(occurred_at: DateTime<Utc>, received_at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = received_at
        .checked_add_signed(EVENT_RETENTION)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    counter_expiry(occurred_at, received_at).max(floor)
}

fn build_err(table: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Dynamo {
        operation: "TransactWriteItems",
        table: table.to_owned(),
        message: format!("could not build request: {e}"),
    }
}

impl EventStore {
    /// A store on the state `table`, with a preferred counter shard of its own.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            precheck: true,
            shards: Arc::new(ShardPicker::new()),
        }
    }

    /// Without the up-front duplicate read: every duplicate is then found by
    /// its transaction's failed condition (the path a concurrent delivery
    /// takes). Correctness is the same; only the number of cancelled
    /// transactions differs. For tests and measurements.
    pub fn without_precheck(mut self) -> Self {
        self.precheck = false;
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every item of partition `pk` with `first <= sk <= last`, strongly
    /// consistent, over every page; only the `projection` attributes when
    /// given. The one reader behind the counters and the attempt counts.
    async fn items_between(
        &self,
        pk: String,
        first: &str,
        last: &str,
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":first", AttributeValue::S(first.to_owned()))
                .expression_attribute_values(":last", AttributeValue::S(last.to_owned()))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Stores and counts `events` received at `received_at`, each exactly once
    /// (see the module's documentation). Returns only when every event is
    /// durably stored (or found already stored); an error means some may have
    /// been stored and the rest not: retrying the same events is safe.
    pub async fn record(
        &self,
        events: &[Event],
        received_at: DateTime<Utc>,
    ) -> Result<RecordOutcome, StoreError> {
        let mut outcome = RecordOutcome::default();
        // Duplicates inside the body: first occurrence wins.
        let mut seen = HashSet::with_capacity(events.len());
        let mut unique: Vec<&Event> = Vec::with_capacity(events.len());
        for event in events {
            if seen.insert(event.event_id.as_str()) {
                unique.push(event);
            } else {
                outcome.duplicates += 1;
            }
        }
        // Known duplicates (a sender's retry of a whole batch) are dropped up
        // front with one consistent read per 100 events, so that transactions
        // are rarely cancelled and redone. This is only an optimisation: the
        // condition inside each transaction is what guarantees exactly-once,
        // also against a concurrent delivery racing past this read. A single
        // event skips it (a cancelled one-event transaction costs no more).
        if self.precheck && unique.len() > 1 {
            let mut existing = HashSet::new();
            for (n, group) in unique.chunks(BATCH_GET_KEYS).enumerate() {
                for i in self.existing_records(group).await? {
                    existing.insert(n * BATCH_GET_KEYS + i);
                }
            }
            if !existing.is_empty() {
                outcome.duplicates += existing.len();
                unique = unique
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !existing.contains(i))
                    .map(|(_, e)| e)
                    .collect();
            }
        }
        if unique.is_empty() {
            return Ok(outcome);
        }
        // Events of one campaign and minute together: fewer counter updates per transaction.
        unique.sort_by_cached_key(|e| (e.skill_id, e.minute()));
        let mut shard = self.shards.take(None);
        for chunk in transaction_chunks(&unique) {
            self.record_chunk(&chunk, received_at, &mut shard, &mut outcome)
                .await?;
        }
        Ok(outcome)
    }

    /// One transaction's worth, added to `outcome`.
    async fn record_chunk(
        &self,
        chunk: &[&Event],
        received_at: DateTime<Utc>,
        shard: &mut ShardLease,
        outcome: &mut RecordOutcome,
    ) -> Result<(), StoreError> {
        let mut pending: Vec<&Event> = chunk.to_vec();
        let mut transient_failures = 0u32;
        while !pending.is_empty() {
            let items = self.transaction_items(&pending, received_at, shard.shard)?;
            outcome.transactions += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => {
                    outcome.accepted += pending.len();
                    return Ok(());
                }
                Err(err) => err,
            };
            let cancelled = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(tce)) => Some(
                    tce.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            };
            let Some(reasons) = cancelled else {
                // Not a cancellation (the SDK already retried throttling and
                // transient network errors): storage failed.
                return Err(StoreError::dynamo("TransactWriteItems", &self.table, err));
            };
            // The puts are the first pending.len() items, in order.
            let mut existing: HashSet<usize> = reasons
                .iter()
                .take(pending.len())
                .enumerate()
                .filter(|(_, code)| code.as_str() == "ConditionalCheckFailed")
                .map(|(i, _)| i)
                .collect();
            if reasons.is_empty() {
                // No reasons given (some emulators): ask which records exist.
                existing = self.existing_records(&pending).await?;
            }
            if !existing.is_empty() {
                outcome.duplicates += existing.len();
                pending = pending
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !existing.contains(i))
                    .map(|(_, e)| e)
                    .collect();
                continue;
            }
            let codes: Vec<&str> = reasons
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "None")
                .collect();
            if codes.contains(&"ValidationError") {
                // The request itself is wrong: retrying cannot help.
                return Err(StoreError::Dynamo {
                    operation: "TransactWriteItems",
                    table: self.table.clone(),
                    message: format!("transaction refused: {codes:?}"),
                });
            }
            // Cancelled for another reason (a transaction conflict with a
            // concurrent writer, throttling): nothing was applied; back off
            // and try again, within bounds. A conflict most likely means
            // another writer uses this counter shard: move to another.
            if codes.contains(&"TransactionConflict") {
                outcome.conflicts += 1;
                shard.move_on();
            }
            transient_failures += 1;
            tracing::warn!(attempt = transient_failures, reasons = ?codes, "event transaction cancelled");
            if transient_failures >= MAX_TRANSIENT_ATTEMPTS {
                return Err(StoreError::Dynamo {
                    operation: "TransactWriteItems",
                    table: self.table.clone(),
                    message: format!("transaction cancelled {transient_failures} times: {codes:?}"),
                });
            }
            let base = 50u64 << transient_failures.min(6);
            let jitter = rand::random::<u64>() % base;
            tokio::time::sleep(Duration::from_millis(base + jitter)).await;
        }
        Ok(())
    }

    /// The transaction for `events`: one conditional put per event (first, in
    /// order), then one `ADD` per distinct (campaign, minute) on counter shard
    /// `shard`, then one per distinct (number, minute) of the
    /// `contact.completed` events with a `phoneNumber`.
    fn transaction_items(
        &self,
        events: &[&Event],
        received_at: DateTime<Utc>,
        shard: u32,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(events.len() * 2);
        let mut buckets: BTreeMap<Bucket, (Counts, DateTime<Utc>)> = BTreeMap::new();
        let mut attempts: BTreeMap<(String, String), (u64, DateTime<Utc>)> = BTreeMap::new();
        for event in events {
            if let Some(phone) = attempted_number(event) {
                let slot = attempts
                    .entry((phone.to_owned(), event.minute()))
                    .or_insert((0, event.occurred_at));
                slot.0 += 1;
            }
            let minute = event.minute();
            let mut item = key(event_pk(&event.event_id), EVENT_SK.to_owned());
            // Few attributes: everything else about the event is in `body`.
            item.insert("receivedAt".into(), s(rfc3339(received_at)));
            item.insert("body".into(), s(event.raw_json()));
            item.insert(
                "ttl".into(),
                n(epoch(event_expiry(event.occurred_at, received_at))),
            );
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| build_err(&self.table, e))?;
            items.push(TransactWriteItem::builder().put(put).build());

            let slot = buckets
                .entry((event.skill_id, minute))
                .or_insert_with(|| (Counts::default(), event.occurred_at));
            slot.0.add(&Counts::of_event(event));
        }
        for ((skill_id, minute), (counts, any_time)) in buckets {
            let mut expression = String::from("SET #ttl = :ttl ADD ");
            let mut names = HashMap::from([("#ttl".to_owned(), "ttl".to_owned())]);
            let minute_start = any_time
                .duration_trunc(TimeDelta::minutes(1))
                .unwrap_or(any_time);
            let mut values = HashMap::from([(
                ":ttl".to_owned(),
                n(epoch(counter_expiry(minute_start, received_at))),
            )]);
            for (i, (field, value)) in counts.nonzero().into_iter().enumerate() {
                if i > 0 {
                    expression.push_str(", ");
                }
                expression.push_str(&format!("#c{i} :c{i}"));
                names.insert(format!("#c{i}"), field.to_owned());
                values.insert(format!(":c{i}"), n(value.to_number()));
            }
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    campaign_pk(skill_id),
                    counter_shard_sk(&minute, shard),
                )))
                .update_expression(expression)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(|e| build_err(&self.table, e))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for ((phone, minute), (count, any_time)) in attempts {
            let expiry = any_time
                .checked_add_signed(ATTEMPT_RETENTION)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
                .max(
                    received_at
                        .checked_add_signed(TimeDelta::days(1))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC),
                );
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(phone_pk(&phone), attempts_sk(&minute))))
                .update_expression("SET #ttl = :ttl ADD attempts :n")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", n(epoch(expiry)))
                .expression_attribute_values(":n", n(count))
                .build()
                .map_err(|e| build_err(&self.table, e))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(items)
    }

    /// Positions in `events` whose dedupe records exist (consistent read).
    async fn existing_records(&self, events: &[&Event]) -> Result<HashSet<usize>, StoreError> {
        let mut keys = Vec::with_capacity(events.len());
        for event in events {
            keys.push(key(event_pk(&event.event_id), EVENT_SK.to_owned()));
        }
        let mut found: HashSet<String> = HashSet::new();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("pk")
                .build()
                .map_err(|e| build_err(&self.table, e))?,
        );
        let mut rounds = 0;
        while let Some(req) = request.take() {
            rounds += 1;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("BatchGetItem", &self.table, e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                if let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) {
                    found.insert(pk.clone());
                }
            }
            request = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .filter(|k| !k.keys().is_empty())
                .cloned();
            if request.is_some() {
                if rounds >= MAX_TRANSIENT_ATTEMPTS {
                    return Err(StoreError::Dynamo {
                        operation: "BatchGetItem",
                        table: self.table.clone(),
                        message: "unprocessed keys remained".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50 << rounds)).await;
            }
        }
        Ok(events
            .iter()
            .enumerate()
            .filter(|(_, e)| found.contains(&event_pk(&e.event_id)))
            .map(|(i, _)| i)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(event_pk("abc"), "EVENT#abc");
        assert_eq!(counter_sk("2025-01-01T00:00"), "COUNTS#2025-01-01T00:00");
        assert_eq!(
            counter_shard_sk("2025-01-01T00:00", 7),
            "COUNTS#2025-01-01T00:00#07"
        );
        assert_eq!(
            counter_shard_sk("2025-01-01T00:00", COUNTER_SHARDS - 1),
            "COUNTS#2025-01-01T00:00#63"
        );
        for sk in ["COUNTS#2025-01-01T00:00", "COUNTS#2025-01-01T00:00#07"] {
            assert_eq!(counter_minute(sk), Some("2025-01-01T00:00"));
        }
        assert_eq!(counter_minute("CONFIG"), None);
        // A minute's items (unsharded first, then its shards) sort together,
        // before the next minute's, inside the readers' query range.
        let mut sks = [
            counter_shard_sk("2025-01-01T00:01", 0),
            counter_shard_sk("2025-01-01T00:00", 63),
            counter_sk("2025-01-01T00:01"),
            counter_shard_sk("2025-01-01T00:00", 0),
            counter_sk("2025-01-01T00:00"),
        ];
        sks.sort();
        let minutes: Vec<&str> = sks.iter().filter_map(|sk| counter_minute(sk)).collect();
        assert_eq!(
            minutes,
            [
                "2025-01-01T00:00",
                "2025-01-01T00:00",
                "2025-01-01T00:00",
                "2025-01-01T00:01",
                "2025-01-01T00:01"
            ]
        );
        assert!(
            counter_shard_sk("2025-01-01T00:00", 63) < reads::last_counter_sk("2025-01-01T00:00")
        );
        assert!(reads::last_counter_sk("2025-01-01T00:00") < counter_sk("2025-01-01T00:01"));
    }

    fn completed(id: &str, skill: i64, minute: u32, phone: Option<&str>) -> Event {
        let mut data = serde_json::json!({"contactId": id, "outcome": "success",
            "talkSeconds": 1, "wrapSeconds": 1});
        if let Some(p) = phone {
            data["phoneNumber"] = serde_json::json!(p);
        }
        let body = serde_json::json!({"eventId": id, "type": "contact.completed",
            "occurredAt": format!("2026-03-03T15:{minute:02}:00Z"), "skillId": skill, "data": data});
        crate::webhook::event::parse_body(body.to_string().as_bytes())
            .unwrap()
            .remove(0)
    }

    fn sizes(events: &[Event]) -> Vec<usize> {
        let mut refs: Vec<&Event> = events.iter().collect();
        refs.sort_by_cached_key(|e| (e.skill_id, e.minute()));
        transaction_chunks(&refs).iter().map(Vec::len).collect()
    }

    #[test]
    fn transactions_never_exceed_100_items() {
        // Worst case: each event its own minute and number (3 items each).
        let events: Vec<Event> = (0..50)
            .map(|i| completed(&format!("e{i}"), 1, i, Some(&format!("+1617555{:04}", i))))
            .collect();
        assert_eq!(sizes(&events), vec![33, 17]);
        // Without numbers, one minute: 99 events and their counter.
        let events: Vec<Event> = (0..150)
            .map(|i| completed(&format!("f{i}"), 1, 0, None))
            .collect();
        assert_eq!(sizes(&events), vec![99, 51]);
    }

    #[test]
    fn a_500_event_batch_of_distinct_numbers_is_11_transactions() {
        // One campaign, five minutes, every event a different number: two
        // items per event, one counter per minute in the transaction.
        let events: Vec<Event> = (0..500)
            .map(|i| {
                completed(
                    &format!("g{i}"),
                    1,
                    i % 5,
                    Some(&format!("+1617555{:04}", i)),
                )
            })
            .collect();
        let sizes = sizes(&events);
        assert_eq!(sizes.len(), 11, "{sizes:?}");
        assert!(sizes.len() <= 500usize.div_ceil(25));
        assert!(sizes[..10].iter().all(|n| *n >= 48), "{sizes:?}");
        // The same number twice in a minute is one attempts item.
        let events: Vec<Event> = (0..100)
            .map(|i| completed(&format!("h{i}"), 1, 0, Some("+16175550000")))
            .collect();
        assert_eq!(self::sizes(&events), vec![98, 2]);
    }

    #[test]
    fn record_outlives_its_counter() {
        let received = DateTime::parse_from_rfc3339("2025-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for occurred in [
            "2025-03-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
        ] {
            let occurred = DateTime::parse_from_rfc3339(occurred)
                .unwrap()
                .with_timezone(&Utc);
            assert!(event_expiry(occurred, received) >= counter_expiry(occurred, received));
            assert!(event_expiry(occurred, received) >= received + EVENT_RETENTION);
            assert!(counter_expiry(occurred, received) > received);
        }
        let max = DateTime::<Utc>::MAX_UTC;
        assert_eq!(counter_expiry(max, max), max);
    }
}
