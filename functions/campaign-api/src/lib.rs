//! The operator HTTP API (API Gateway HTTP API, IAM auth).
//!
//! Routes so far: `GET` and `PUT /campaigns/{skillId}/config`. `main.rs`
//! only builds [`Api`] once per cold start and hands it requests.
//!
//! A `PUT` is checked in order: the body ([`shared::campaign_config`]: 400
//! for shape, 422 for values); the campaign's skill in CXone ([`tenant`]:
//! 404 unknown, 422 not outbound Personal Connection); the failover backup,
//! if any (422 naming `failover.backupSkillId` when it does not exist, is not
//! outbound Personal Connection or is not scrubbed by an active DNC group).
//! CXone calls get the invocation deadline less
//! [`shared::deadline::RECORD_RESERVE`]; the config and its audit record are
//! then written in one DynamoDB transaction (409 when the config changed in
//! between, 503 when storage fails; either way nothing is written).

pub mod api;
pub mod tenant;

pub use api::{parse_request, Api, ApiRequest, Route, AUDIT_ACTION, FUNCTION_NAME, MAX_BODY_BYTES};

use shared::wiring::Deps;

impl Api {
    /// The API over clients built once per cold start.
    pub fn new(deps: &Deps) -> Self {
        Self {
            cxone: deps.cxone.clone(),
            state: deps.state(),
            audit: deps.audit(),
        }
    }
}
