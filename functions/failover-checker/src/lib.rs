//! The failover checker: every minute (EventBridge schedule), for each
//! campaign whose config names a backup skill, the success rate over the
//! configured window from the webhook counters; when it has collapsed, stop
//! the primary skill and start the backup through CXone, **exactly once**.
//! `main.rs` only builds [`FailoverChecker`] once per cold start and hands it
//! events; the campaign API calls [`FailoverChecker::failback`].
//!
//! # Per tick
//! For each configured campaign with `failover` (enabled ones are evaluated;
//! disabled ones only have interrupted transitions completed):
//! success rate = success / (success + failure + abandoned) over the
//! `windowMinutes` ending at the event's `time` (never the wall clock), from
//! [`shared::store::events::EventStore::window_counts`]. It fails over only
//! when the rate is below `threshold` with at least `minSamples` outcomes,
//! confirmed by hysteresis (see [`decide`]). Idempotent per EventBridge event
//! id (a replay returns the stored report and does nothing). One campaign's
//! failure is reported and audited; the others go on. EMF metrics:
//! `Failovers`, `Failbacks`, `FailoverResumes`, `CampaignsChecked`,
//! `CampaignFailures`, `AuditFailures`, `CxoneRetries`.
//!
//! # Fan-out
//! With a task queue (`TASK_QUEUE_URL`), a scheduled event only dispatches
//! one task per campaign; each task checks its campaign on its own
//! ([`fanout`]), so a slow campaign never delays another's failover.
//!
//! # The state machine (item `CAMPAIGN#<id>` / `FAILOVER`)
//! `primary -> failing_over[stop_requested] -> failing_over[stop_done] ->
//! on_backup -> failing_back[stop_requested] -> failing_back[stop_done] ->
//! primary` ([`shared::store::failover`]). Every write is a compare-and-swap
//! on the state **and** version read before, writing version + 1.
//!
//! ## Why ten concurrent invocations fail over exactly once
//! All of them read `primary` at some version *v* and decide to fail over.
//! Only one `primary@v -> failing_over@v+1` put can satisfy its condition;
//! the others fail theirs and do nothing (they report `in_progress`). Only
//! the winner, as the record's `owner`, calls CXone, and it advances the
//! record step by step, each again conditioned on the version it wrote last.
//! Before acting it also takes the campaign's write lease (shared with the
//! tuner's window guard), so no other writer of the bundle stops or starts
//! the campaign's skills meanwhile; the lease is a courtesy, the
//! compare-and-swap is the guarantee.
//!
//! ## Why a crash between "stop" and "start" is completed
//! A transition's record names its owner and the owner's invocation
//! deadline. If the owner crashes or times out, the record stays
//! `failing_over` (or `failing_back`); once that deadline (plus a clock
//! margin) has passed, the next tick takes the record over with a
//! compare-and-swap (so only one resumer wins), repeats the stop if it was not
//! recorded as done, starts the other skill and settles. Repeating a stop or a
//! start is harmless (docs/cxone-api.md, "Skills: read, start, stop,
//! create"). When CXone fails during a transition the owner gives up
//! ownership at once (deadline 0), so the next tick resumes without waiting.
//! Without a crash each skill is stopped and started once; after a crash,
//! the repeated call is the harmless one.
//!
//! # Failback
//! By an operator through [`FailoverChecker::failback`] (the campaign API
//! route calls it), or, with `autoFailback`, automatically under the rule in
//! [`decide`]: only on fresh primary results after the failover, above a
//! recovery level higher than the trigger, after a cool-down, confirmed.

pub mod checker;
pub mod context;
pub mod decide;
pub mod failback;
pub mod fanout;
pub mod transition;

pub use checker::{
    CampaignReport, CheckError, CheckOutcome, CheckReport, FailoverChecker, Tick, FUNCTION_NAME,
    OWNER_CLOCK_MARGIN_MS,
};
pub use failback::{FailbackError, FailbackOutcome};

use shared::store::events::EventStore;
use shared::store::failover::FailoverStore;
use shared::wiring::Deps;

impl FailoverChecker {
    /// The checker over clients built once per cold start.
    pub fn new(deps: &Deps) -> Self {
        Self {
            cxone: deps.cxone.clone(),
            state: deps.state(),
            events: EventStore::new(deps.dynamo.clone(), deps.config.state_table.clone()),
            failover: FailoverStore::new(deps.dynamo.clone(), deps.config.state_table.clone()),
            audit: deps.audit(),
            idempotency: deps.idempotency(),
            queue: deps.task_queue(),
        }
    }
}
