//! DynamoDB stores.
//!
//! - [`audit`]: the append-only audit trail (one item per decision or change);
//! - [`state`]: campaign configs, per-campaign write leases, and the values the
//!   bundle last wrote to each CXone field (with human-override holds);
//! - [`rate_budget`]: the calls per second to CXone shared by every
//!   concurrent invocation.
//!
//! Table layouts are defined once, in `template.yaml`; local tables are made
//! from that file (see `infra/local-stack`). Keys used here:
//! audit `pk`/`sk`; state `pk`/`sk` with the sparse GSI `kind-index`
//! (`kind`, `pk`) over config items and a TTL attribute `ttl`.

pub mod audit;
pub mod events;
pub mod failover;
pub mod intake;
pub mod rate_budget;
pub mod state;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

/// A storage failure (the caller answers 503 or retries).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or refused the call.
    #[error("DynamoDB {operation} on {table} failed: {message}")]
    Dynamo {
        /// The API operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The SDK's error, with its context.
        message: String,
    },
    /// An item did not have the expected shape.
    #[error("item in {table} is corrupt: {reason}")]
    Corrupt {
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },
}

impl StoreError {
    pub(crate) fn dynamo<E, R>(operation: &'static str, table: &str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::Dynamo {
            operation,
            table: table.to_owned(),
            message: DisplayErrorContext(err).to_string(),
        }
    }

    pub(crate) fn corrupt(table: &str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            table: table.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Whether an SDK error is a failed condition check (someone else got there first).
pub(crate) fn is_condition_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// The partition key of everything about one campaign.
pub fn campaign_pk(skill_id: i64) -> String {
    format!("CAMPAIGN#{skill_id}")
}

/// Reads the JSON `body` attribute of the item `pk`/`sk` (consistent read):
/// the one reader of the state table's JSON-body items.
pub(crate) async fn get_json_body<T: serde::de::DeserializeOwned>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
    sk: String,
) -> Result<Option<T>, StoreError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("GetItem", table, e))?;
    match out
        .item
        .as_ref()
        .and_then(|i| i.get("body"))
        .and_then(|v| v.as_s().ok())
    {
        Some(body) => serde_json::from_str(body)
            .map(Some)
            .map_err(|e| StoreError::corrupt(table, e)),
        None => Ok(None),
    }
}

/// Replaces the item `pk`/`sk` with `value` as its JSON `body`: the one
/// writer of the state table's JSON-body items.
pub(crate) async fn put_json_body<T: serde::Serialize>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
    sk: String,
    value: &T,
) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let body = serde_json::to_string(value).map_err(|e| StoreError::corrupt(table, e))?;
    client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk))
        .item("sk", AttributeValue::S(sk))
        .item("body", AttributeValue::S(body))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("PutItem", table, e))?;
    Ok(())
}
