//! The schedule deployer: `PUT /campaigns/{skillId}/schedule` (API Gateway
//! HTTP API, IAM auth), the one place where the bundle guarantees that a
//! campaign never dials at an unlawful hour or without DNC protection.
//!
//! A request goes through, in order:
//! 1. the envelope ([`parse_call`]): route, `skillId`, the required
//!    `Idempotency-Key` header, body size (400 / 404 / 405 / 413);
//! 2. the idempotency layer ([`shared::idempotency::http`]): a duplicate gets
//!    the stored answer with `Idempotent-Replayed: true`, an in-flight
//!    duplicate 409, a reused key with another body 422;
//! 3. the body's shape ([`request`]): 400 naming every bad field; a recipient
//!    zone with no CXone name is 422;
//! 4. the law ([`shared::engine::compliance::check_schedule`]) over the 366
//!    days starting at the request's date in the campaign's zone: refuse (422
//!    with every violation) or clip (keep the lawful part);
//! 5. the tenant: the skill exists (else 404) and is outbound Personal
//!    Connection (else 422); DNC protection: an active, non-removed DNC group
//!    scrubs it (else 422);
//! 6. the writes ([`plan`]), under the campaign's write lease: CXone
//!    `schedule-settings` (all seven days active: days off become one-minute
//!    placeholders closed in every recipient zone, see [`plan`]) and
//!    `time-zones` windows per recipient zone, both read back and compared,
//!    one audit record (`schedule.put`, actor the IAM principal, before and
//!    after); 200 with what was written, what was clipped and the blackout
//!    dates the window guard keeps dark.
//!
//! If anything fails after a write that may have reached CXone (the time-zone
//! write, a read-back, a read-back that differs), the deployer writes back
//! what it read before and reads it back ([`rollback`]): the answer is 502
//! saying the change was rolled back, or exactly what is left in CXone when
//! the rollback itself failed; the audit record's outcome is `rolled_back`
//! or `rollback_failed`, with the same report. CXone calls get the
//! invocation deadline less [`shared::deadline::RECORD_RESERVE`]; the
//! idempotency layer, the lease and the DynamoDB writes keep the full one.
//!
//! CXone failures answer 502, storage failures 503 (the idempotency claim is
//! released, so a retry with the same key runs again).

pub mod handler;
pub mod plan;
pub mod request;
pub mod rollback;

pub use handler::{
    check_request, parse_call, to_lambda, violation_detail, Deployer, ScheduleCall, AUDIT_ACTION,
    FUNCTION_NAME, MAX_BODY_BYTES, ROUTE,
};

use shared::idempotency::http::HttpIdempotency;
use shared::idempotency::unix_now_ms;
use shared::wiring::Deps;

impl Deployer {
    /// The deployer over clients built once per cold start.
    pub fn new(deps: &Deps) -> Self {
        Self {
            cxone: deps.cxone.clone(),
            state: deps.state(),
            audit: deps.audit(),
            idempotency: HttpIdempotency::new(deps.idempotency(), FUNCTION_NAME),
            clock: unix_now_ms,
        }
    }
}
