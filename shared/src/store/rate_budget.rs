//! A budget of calls per second to an outside API (CXone), shared by every
//! concurrent invocation of every function through the state table.
//!
//! # Items (state table)
//! - `pk = RATE#<name>`, `sk = SECOND#<Unix second>`: `calls`, the calls
//!   admitted in that UTC second, grown by a conditional `ADD` (condition:
//!   fewer than the limit so far), plus `ttl` (an hour later).
//! - `pk = RATE#<name>`, `sk = BLOCKED`: `untilMs`, the Unix time in
//!   milliseconds before which no call is admitted: set when the API answered
//!   429 (from its `Retry-After`), only ever moved later.
//!
//! # Why the limit holds across invocations
//! A call is admitted only by the conditional `ADD` on its second's item, and
//! DynamoDB applies a conditional update atomically: however many
//! invocations race for one second, at most `limit` of them succeed. The
//! others wait for the next second (with a little jitter, so that they do
//! not all come back at its first millisecond) and try again, until their
//! deadline. Seconds are UTC seconds of the invocations' clocks (Lambda's
//! hosts keep them within milliseconds of each other).
//!
//! # Backing off together
//! A 429 answer means the tenant's budget is spent, whoever spent it; the
//! caller records it with [`RateBudget::throttled`] and every invocation then
//! waits until that time before its next call, instead of each retrying on
//! its own. The block item is read at most once a second per process.
//!
//! One admitted call costs one DynamoDB write; the block check one read a
//! second per process.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;

use super::{is_condition_failure, StoreError};
use crate::deadline::Deadline;

/// How long the items of a second are kept.
const SECOND_TTL: i64 = 3600;
/// How long a process trusts what it last read of the block item.
const BLOCK_RECHECK: Duration = Duration::from_secs(1);
/// The longest block [`RateBudget::throttled`] records (a `Retry-After`
/// beyond it is capped).
pub const MAX_BLOCK: Duration = Duration::from_secs(300);

/// Why a call was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The deadline leaves no time to wait for a free second.
    #[error("no CXone call budget before the deadline (waited {waited_ms} ms)")]
    NoTime {
        /// How long this call waited before giving up.
        waited_ms: u64,
    },
    /// The state table could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A call admitted by the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The UTC second (Unix) the call was counted in.
    pub second: i64,
    /// How long it waited for a free second or for a block to end.
    pub waited: Duration,
}

/// A shared budget of `per_second` calls (see the module documentation).
#[derive(Debug)]
pub struct RateBudget {
    client: aws_sdk_dynamodb::Client,
    table: String,
    name: String,
    per_second: u32,
    /// The block last read: `(untilMs, read at)`.
    block: Mutex<Option<(i64, Instant)>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl RateBudget {
    /// A budget named `name` (e.g. `cxone`) of `per_second` calls (at least
    /// 1) in the state `table`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        name: impl Into<String>,
        per_second: u32,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            name: name.into(),
            per_second: per_second.max(1),
            block: Mutex::new(None),
        }
    }

    /// The calls admitted per second.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    fn pk(&self) -> String {
        format!("RATE#{}", self.name)
    }

    /// Waits for a call's place in the budget: until any recorded block ends
    /// and a second with room is found, within `deadline`.
    pub async fn admit(&self, deadline: &Deadline) -> Result<Admitted, BudgetError> {
        let started = Instant::now();
        loop {
            let now = now_ms();
            let until = self.blocked_until().await?;
            let wait = if until > now {
                Duration::from_millis(u64::try_from(until - now).unwrap_or(0))
            } else {
                let second = now.div_euclid(1000);
                if self.take(second).await? {
                    return Ok(Admitted {
                        second,
                        waited: started.elapsed(),
                    });
                }
                let jitter = rand::rng().random_range(0..50);
                Duration::from_millis(
                    u64::try_from(1000 - now.rem_euclid(1000) + jitter).unwrap_or(0),
                )
            };
            if !deadline.allows(wait, Duration::ZERO) {
                return Err(BudgetError::NoTime {
                    waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts one call in `second` if it has room; `false` when it is full.
    async fn take(&self, second: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.pk()))
            .key("sk", AttributeValue::S(format!("SECOND#{second}")))
            .update_expression("ADD calls :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(calls) OR calls < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(self.per_second)))
            .expression_attribute_values(":ttl", n(second + SECOND_TTL))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("UpdateItem", &self.table, e)),
        }
    }

    /// The recorded block's end (Unix ms; 0 when none), read at most once
    /// per [`BLOCK_RECHECK`].
    async fn blocked_until(&self) -> Result<i64, StoreError> {
        if let Some((until, read_at)) = *self.block.lock().unwrap_or_else(|e| e.into_inner()) {
            if read_at.elapsed() < BLOCK_RECHECK {
                return Ok(until);
            }
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.pk()))
            .key("sk", AttributeValue::S("BLOCKED".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        let until = out
            .item()
            .and_then(|i| i.get("untilMs"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        *self.block.lock().unwrap_or_else(|e| e.into_inner()) = Some((until, Instant::now()));
        Ok(until)
    }

    /// Records that the API answered 429: no call is admitted, by any
    /// invocation, for `retry_after` (at most [`MAX_BLOCK`]). A later block
    /// already recorded is kept. Returns the block's end (Unix ms).
    pub async fn throttled(&self, retry_after: Duration) -> Result<i64, StoreError> {
        let wait = i64::try_from(retry_after.min(MAX_BLOCK).as_millis()).unwrap_or(0);
        let until = now_ms() + wait;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.pk()))
            .key("sk", AttributeValue::S("BLOCKED".into()))
            .update_expression("SET untilMs = :until, #ttl = :ttl")
            .condition_expression("attribute_not_exists(untilMs) OR untilMs < :until")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":ttl", n(until / 1000 + SECOND_TTL))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(StoreError::dynamo("UpdateItem", &self.table, e)),
        }
        // Read it back on the next admit (a later block may be recorded).
        *self.block.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(until)
    }
}
