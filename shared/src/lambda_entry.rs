//! What a function's `main.rs` reads from the Lambda runtime before it
//! hands an event to its library: the invocation's id and deadline. Every
//! `main.rs` has the same shape: build the dependencies once per cold start
//! (`Deps::from_env`: [`crate::wiring::Deps`], or webhook-ingest's own
//! without a CXone client), build the function's handler from them, then
//! `run(service_fn(...))`.

use std::time::Duration;

use lambda_http::{Context, Request, RequestExt};

use crate::deadline::Deadline;
use crate::invocation::Invocation;

/// Time budget of an API request that carries no Lambda context (local
/// tools and tests); in Lambda the invocation's deadline is used.
pub const DEFAULT_REQUEST_BUDGET: Duration = Duration::from_secs(25);

/// The invocation a scheduled event runs as: Lambda's request id and deadline.
pub fn event_invocation(context: &Context) -> Invocation {
    Invocation::from_lambda(&context.request_id, context.deadline)
}

/// The deadline of an API Gateway request: the Lambda invocation's, or
/// [`DEFAULT_REQUEST_BUDGET`] from now when the request carries no Lambda
/// context.
pub fn request_deadline(request: &Request) -> Deadline {
    request
        .lambda_context_ref()
        .map(|c| Deadline::from_epoch_ms(c.deadline))
        .unwrap_or_else(|| Deadline::after(DEFAULT_REQUEST_BUDGET))
}
