//! The local stack: everything the bundle needs to run on a laptop or in CI
//! without AWS and without Docker.
//!
//! - [`aws`]: SDK configuration for moto's server (one loopback endpoint for
//!   DynamoDB and Secrets Manager, dummy credentials).
//! - [`tables`]: the DynamoDB tables, created from the `AWS::DynamoDB::Table`
//!   resources of `template.yaml` itself, so local and deployed tables cannot
//!   drift apart.
//! - [`secret`]: the CXone secret, created or updated.
//! - [`apigw`]: a local API Gateway (HTTP API, payload v2) in front of
//!   function binaries, with a settable request clock.
//! - [`event_source`]: a task queue with its dead-letter queue in moto, and
//!   Lambda's SQS poller over it (partial batch responses).
//! - [`runtime`]: a Lambda Runtime API emulator and [`runtime::FunctionProcess`],
//!   which runs a function binary under it.
//!
//! The scripts `infra/setup.sh` and `infra/stack.sh` install and start moto;
//! the `stack-init` binary creates the tables and the secret from the shell.

pub mod apigw;
pub mod aws;
pub mod error;
pub mod event_source;
pub mod runtime;
pub mod secret;
pub mod tables;

pub use error::StackError;
pub use runtime::{FunctionConfig, FunctionProcess, InvokeError, RuntimeApi};
pub use secret::put_secret;
pub use tables::{create_tables, TableNames};
