//! The operator HTTP API (API Gateway HTTP API): IAM-signed for scripts,
//! JWT-authorised under `/ui` for the dashboard in a browser.
//!
//! One file per resource: [`routes`] (the routing table), [`config`]
//! (`GET/PUT /campaigns/{skillId}/config`), [`health`] (`GET /campaigns`,
//! `GET /campaigns/{skillId}/health`), [`control`] (pause, resume,
//! failback), [`pacing`] (`PUT /campaigns/{skillId}/pacing`, simulated
//! first), [`audit_trail`] (`GET /campaigns/{skillId}/audit`), [`dashboard`]
//! (`GET /`), [`tenant`] (checks of skills in CXone), [`provisioning`]
//! (`POST /campaigns`, its body in [`provisioning_request`]), [`contacts`]
//! (`POST /campaigns/{skillId}/contacts` and the upload's status route, its
//! rows in [`contact_rows`], its rules in [`screening`] and
//! [`contact_checks`], the CXone load in [`contact_load`], large uploads
//! continued by the `contact-intake` function in [`contact_queue`]).
//! `main.rs` only builds
//! [`Api`] once per cold start and hands it requests.
//!
//! Every route that writes answers errors as JSON `{"error", "message",
//! "details"}` (400 malformed, 404 unknown campaign, 409 in progress, 422
//! refused by law or limits, 429 throttled, 502 CXone failed, 503 storage
//! failed). CXone calls get the invocation deadline less
//! [`shared::deadline::RECORD_RESERVE`].

pub mod api;
pub mod audit_trail;
pub mod config;
pub mod contact_checks;
pub mod contact_load;
pub mod contact_queue;
pub mod contact_rows;
pub mod contacts;
pub mod control;
pub mod dashboard;
pub mod health;
pub mod pacing;
pub mod provisioning;
pub mod provisioning_request;
pub mod routes;
pub mod screening;
pub mod tenant;

pub use api::Api;
pub use config::AUDIT_ACTION;
pub use routes::{parse_request, ApiRequest, Route, FUNCTION_NAME, MAX_BODY_BYTES};

use contact_queue::IntakeQueue;
use failover_checker::FailoverChecker;
use shared::store::events::EventStore;
use shared::store::failover::FailoverStore;
use shared::wiring::Deps;

impl Api {
    /// The API over clients built once per cold start.
    pub fn new(deps: &Deps) -> Self {
        Self {
            cxone: deps.cxone.clone(),
            state: deps.state(),
            audit: deps.audit(),
            events: EventStore::new(deps.dynamo.clone(), deps.config.state_table.clone()),
            failover: FailoverStore::new(deps.dynamo.clone(), deps.config.state_table.clone()),
            idempotency: deps.idempotency(),
            checker: FailoverChecker::new(deps),
            intake_queue: None,
        }
    }

    /// The API that queues large contact uploads on `queue`.
    pub fn with_intake_queue(mut self, queue: Option<IntakeQueue>) -> Self {
        self.intake_queue = queue;
        self
    }
}
