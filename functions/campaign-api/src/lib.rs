//! The operator HTTP API (API Gateway HTTP API, IAM auth).
//!
//! Routes so far: `GET` and `PUT /campaigns/{skillId}/config`. `main.rs`
//! only builds [`Api`] once per cold start and hands it requests.

pub mod api;

pub use api::{parse_request, Api, ApiRequest, Route, FUNCTION_NAME, MAX_BODY_BYTES};

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
