//! The Powertools for AWS Lambda idempotency protocol, on DynamoDB.
//!
//! 1. A conditional put claims the key as `INPROGRESS` with
//!    `in_progress_expiration` = the invocation deadline (Unix ms). It
//!    succeeds when no record exists, the record has expired, or an
//!    in-progress claim outlived its deadline (a crashed invocation).
//! 2. On success the record becomes `COMPLETED` with the response in `data`
//!    and `expiration` (Unix s) set `expires_after` from now.
//! 3. On failure the record is deleted so a retry can run.
//! 4. A duplicate gets the stored response; an in-flight duplicate is told
//!    so (HTTP 409); the same key with another payload hash is refused (422).
//!
//! Expiry is checked here, in code: DynamoDB's TTL (and moto, which never
//! expires anything) may keep an expired record for days.
//!
//! [`http`] builds the HTTP form on top (the `Idempotency-Key` header, request
//! fingerprints, stored status and body replayed with `Idempotent-Replayed:
//! true`), for any function that serves API Gateway routes.

pub mod http;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::deadline::Deadline;
use crate::store::{is_condition_failure, StoreError};

/// How long a completed record answers duplicates, by default.
pub const DEFAULT_EXPIRES_AFTER: Duration = Duration::from_secs(3600);

const STATUS_IN_PROGRESS: &str = "INPROGRESS";
const STATUS_COMPLETED: &str = "COMPLETED";

/// The outcome of claiming a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// The key is ours: run the work, then [`IdempotencyStore::complete`] or [`IdempotencyStore::release`].
    Acquired,
    /// The work was done before: here is its stored response.
    Completed(Value),
    /// Another invocation is doing the work right now.
    InProgress,
    /// The key was used before with a different payload.
    PayloadMismatch,
}

/// What [`IdempotencyStore::run`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    /// The response (fresh or stored).
    pub response: Value,
    /// Whether it is a stored response replayed for a duplicate.
    pub replayed: bool,
}

/// Why [`IdempotencyStore::run`] did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// A request with the same key is still in progress (HTTP 409).
    #[error("a request with this idempotency key is still in progress")]
    InProgress,
    /// The key was used with a different payload (HTTP 422).
    #[error("this idempotency key was already used with a different payload")]
    PayloadMismatch,
    /// The idempotency table failed (HTTP 503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work itself failed; the claim was released so a retry can run.
    #[error("{0}")]
    Work(E),
}

/// The SHA-256 hex digest of a payload's canonical JSON.
pub fn payload_hash(payload: &impl Serialize) -> String {
    // serde_json serialises maps in key order for `Value` (BTreeMap), so
    // converting first makes the hash independent of field order.
    let canonical = serde_json::to_value(payload)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    hex::encode(Sha256::digest(canonical))
}

/// The idempotency table.
#[derive(Clone, Debug)]
pub struct IdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    expires_after: Duration,
}

impl IdempotencyStore {
    /// A store on `table` whose completed records last [`DEFAULT_EXPIRES_AFTER`].
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            expires_after: DEFAULT_EXPIRES_AFTER,
        }
    }

    /// Sets how long completed records answer duplicates.
    pub fn with_expires_after(mut self, expires_after: Duration) -> Self {
        self.expires_after = expires_after;
        self
    }

    /// Claims `key` for work on a payload with `hash` until `deadline`; `now_ms` is Unix ms.
    pub async fn claim(
        &self,
        key: &str,
        hash: &str,
        deadline: &Deadline,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        let now_s = now_ms / 1000;
        let item = HashMap::from([
            ("id".to_owned(), AttributeValue::S(key.to_owned())),
            (
                "status".to_owned(),
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            ),
            ("validation".to_owned(), AttributeValue::S(hash.to_owned())),
            (
                "in_progress_expiration".to_owned(),
                AttributeValue::N(deadline.epoch_ms().to_string()),
            ),
            (
                "expiration".to_owned(),
                AttributeValue::N((now_s + self.expires_after.as_secs()).to_string()),
            ),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(id) OR expiration < :now_s \
                 OR (#status = :inprogress AND in_progress_expiration < :now_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", AttributeValue::N(now_s.to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if is_condition_failure(&e) => self.existing(key, hash, now_ms).await,
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e)),
        }
    }

    async fn existing(&self, key: &str, hash: &str, now_ms: u64) -> Result<Claim, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        let Some(item) = out.item else {
            // Deleted between our put and read (the holder failed): it is free now,
            // but let the caller retry rather than loop here.
            return Ok(Claim::InProgress);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
        };
        if text("validation").as_deref() != Some(hash) {
            return Ok(Claim::PayloadMismatch);
        }
        match text("status").as_deref() {
            Some(STATUS_COMPLETED) => {
                if number("expiration").is_some_and(|exp| exp < now_ms / 1000) {
                    // Expired between the put and the read; treat as in flight.
                    return Ok(Claim::InProgress);
                }
                let data = text("data").unwrap_or_else(|| "null".into());
                let value =
                    serde_json::from_str(&data).map_err(|e| StoreError::corrupt(&self.table, e))?;
                Ok(Claim::Completed(value))
            }
            _ => Ok(Claim::InProgress),
        }
    }

    /// Stores the response of claimed work and marks the key completed.
    pub async fn complete(
        &self,
        key: &str,
        response: &Value,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let expiration = now_ms / 1000 + self.expires_after.as_secs();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .update_expression("SET #status = :completed, #data = :data, expiration = :exp REMOVE in_progress_expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#data", "data")
            .expression_attribute_values(":completed", AttributeValue::S(STATUS_COMPLETED.into()))
            .expression_attribute_values(":data", AttributeValue::S(response.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expiration.to_string()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", &self.table, e))?;
        Ok(())
    }

    /// The stored response of completed work under `key` (`None` while in
    /// progress, expired or never claimed): what a tool reads back, e.g. a
    /// fanned-out task's report.
    pub async fn stored(&self, key: &str, now_ms: u64) -> Result<Option<Value>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let completed = item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some(STATUS_COMPLETED);
        let expired = item
            .get("expiration")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|exp| exp < now_ms / 1000);
        if !completed || expired {
            return Ok(None);
        }
        let data = item
            .get("data")
            .and_then(|v| v.as_s().ok())
            .map_or("null", String::as_str);
        serde_json::from_str(data)
            .map(Some)
            .map_err(|e| StoreError::corrupt(&self.table, e))
    }

    /// Deletes the claim after failed work so that a retry can run.
    pub async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", &self.table, e))?;
        Ok(())
    }

    /// Runs `work` at most once per `key` and payload: claim, work, complete (or release).
    pub async fn run<E, F, Fut>(
        &self,
        key: &str,
        payload: &impl Serialize,
        deadline: &Deadline,
        now_ms: u64,
        work: F,
    ) -> Result<Execution, IdempotencyError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, E>>,
    {
        let hash = payload_hash(payload);
        match self.claim(key, &hash, deadline, now_ms).await? {
            Claim::Completed(response) => Ok(Execution {
                response,
                replayed: true,
            }),
            Claim::InProgress => Err(IdempotencyError::InProgress),
            Claim::PayloadMismatch => Err(IdempotencyError::PayloadMismatch),
            Claim::Acquired => match work().await {
                Ok(response) => {
                    let done_ms = now_ms.max(unix_now_ms());
                    self.complete(key, &response, done_ms).await?;
                    Ok(Execution {
                        response,
                        replayed: false,
                    })
                }
                Err(e) => {
                    if let Err(release) = self.release(key).await {
                        tracing::error!(error = %release, "could not release idempotency claim after a failure");
                    }
                    Err(IdempotencyError::Work(e))
                }
            },
        }
    }
}

/// The wall clock in Unix ms (record expiry is about real time, not event time).
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_field_order() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":[1,2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        assert_eq!(payload_hash(&a), payload_hash(&b));
        let c: Value = serde_json::from_str(r#"{"b":[2,1],"a":1}"#).unwrap();
        assert_ne!(payload_hash(&a), payload_hash(&c));
    }
}
