//! The outbound autopilot's common crate.
//!
//! One module per concern:
//! - [`config`]: the environment, read once per cold start;
//! - [`deadline`]: the invocation deadline every retry and lease is bounded by;
//! - [`secret`]: the bundle's secret (CXone credentials, webhook secrets), cached;
//! - [`cxone`]: the NICE CXone REST client (auth, retries, paging, typed calls);
//! - [`engine`]: pure decision code (dialler model, pacing, compliance): no I/O, no clock;
//! - [`store`]: DynamoDB stores (audit, state: configs, leases, last-written values);
//! - [`invocation`]: request id and deadline of the invocation being served;
//! - [`fanout`]: a periodic function's tick as one task per campaign on a queue;
//! - [`idempotency`]: the Powertools idempotency protocol on DynamoDB;
//! - [`api_error`]: the HTTP error body shared by every API function;
//! - [`gateway`]: what every operator route reads from an API Gateway request;
//! - [`campaign_config`]: the campaign config JSON, parsed and validated;
//! - [`safe_write`]: the lease-guarded, override-respecting write of CXone settings;
//! - [`guard`]: the window guard's reads and actions for the skill that dials;
//! - [`skill_reading`]: what the pacing engine reads from CXone for one skill;
//! - [`webhook`]: signed event intake (signature, body validation, counters);
//! - [`observability`]: JSON logs and CloudWatch embedded metrics;
//! - [`wiring`]: the clients a function builds once per cold start.

pub mod api_error;
pub mod campaign_config;
pub mod config;
pub mod cxone;
pub mod deadline;
pub mod engine;
pub mod fanout;
pub mod gateway;
pub mod guard;
pub mod idempotency;
pub mod invocation;
pub mod lambda_entry;
pub mod observability;
pub mod safe_write;
pub mod secret;
pub mod skill_reading;
pub mod store;
pub mod webhook;
pub mod wiring;
