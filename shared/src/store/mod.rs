//! DynamoDB stores.
//!
//! - [`audit`]: the append-only audit trail (one item per decision or change);
//! - [`state`]: campaign configs, per-campaign write leases, and the values the
//!   bundle last wrote to each CXone field (with human-override holds).
//!
//! Table layouts are defined once, in `template.yaml`; local tables are made
//! from that file (see `infra/local-stack`). Keys used here:
//! audit `pk`/`sk`; state `pk`/`sk` with the sparse GSI `kind-index`
//! (`kind`, `pk`) over config items and a TTL attribute `ttl`.

pub mod audit;
pub mod events;
pub mod failover;
pub mod intake;
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
