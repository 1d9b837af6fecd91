//! The capacity tuner: every 5 minutes, for every enabled campaign, the
//! window guard (stop outside every lawful window, restart when it opens) and
//! pacing decided by the engine, written safely, audited.
//!
//! `main.rs` only builds [`Tuner`] once per cold start and hands it events.
//!
//! Modules, each using only those below it: [`fanout`] (the tick as one
//! task per campaign on the tuner's queue: dispatch and tasks), [`tuner`]
//! (one tick worked through in place: both passes over the campaigns; the
//! guard and pacing steps a task runs too), [`pace`] (pacing one campaign),
//! [`run`] (the tick's context and its per-campaign report).

pub mod fanout;
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
            queue: deps.task_queue(),
            state: deps.state(),
            audit: deps.audit(),
            idempotency: deps.idempotency(),
        }
    }
}
