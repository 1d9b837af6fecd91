//! Errors of the local stack's set-up helpers.

use std::path::PathBuf;

/// A failure while preparing the local stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The template is not valid YAML, or a table definition in it cannot be
    /// used locally.
    #[error("template {path}: {message}")]
    Template { path: PathBuf, message: String },
    /// A DynamoDB call failed.
    #[error("DynamoDB {operation} on table {table}: {message}")]
    DynamoDb {
        operation: &'static str,
        table: String,
        message: String,
    },
    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} on secret {secret}: {message}")]
    SecretsManager {
        operation: &'static str,
        secret: String,
        message: String,
    },
    /// The secret's value is not a JSON object (the value itself is never
    /// shown).
    #[error("secret {secret}: the value is not a JSON object ({reason})")]
    InvalidSecret { secret: String, reason: String },
    /// An SQS call failed (the call and the SDK's error with its cause).
    #[error("{0}")]
    Sqs(String),
    /// Missing or invalid configuration (environment, arguments).
    #[error("{0}")]
    Config(String),
    /// The Runtime API emulator or a function process could not start.
    #[error("{0}")]
    Runtime(String),
}
