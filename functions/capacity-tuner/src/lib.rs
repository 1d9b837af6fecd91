//! The capacity tuner: every 5 minutes, for every enabled campaign, the
//! window guard (stop outside every lawful window, restart when it opens) and
//! pacing decided by the engine, written safely, audited.
//!
//! `main.rs` only builds [`Tuner`] once per cold start and hands it events.
//!
//! Modules, each using only those below it: [`tuner`] (one tick: both
//! passes over the campaigns), [`pace`] (pacing one campaign), [`run`] (the
//! tick's context and its per-campaign report).

pub mod pace;
pub mod run;
pub mod tuner;

pub use tuner::{CampaignReport, Tick, TickError, TickReport, Tuner, FUNCTION_NAME};

use shared::wiring::Deps;

impl Tuner {
    /// The tuner over clients built once per cold start.
    pub fn new(deps: &Deps) -> Self {
        Self {
            cxone: deps.cxone.clone(),
            state: deps.state(),
            audit: deps.audit(),
            idempotency: deps.idempotency(),
        }
    }
}
