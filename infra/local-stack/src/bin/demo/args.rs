//! The demo's command line.

use std::path::PathBuf;

use clap::Parser;

use crate::TICK_MINUTES;

/// The local hour at which a supervisor edits the first campaign's ratio in
/// CXone, unless `--no-person-edit`.
const PERSON_EDIT_HOUR: u32 = 13;

/// A simulated contact-centre day through the real functions (`make demo`).
#[derive(Parser, Debug)]
#[command(
    name = "demo",
    about = "A simulated contact-centre day through the real functions (run it with `make demo`: \
             it needs the local stack with the simulator).",
    args_override_self = true
)]
pub struct Args {
    /// The simulator scenario the stack runs.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "infra/scenarios/demo-day.json"
    )]
    pub scenario: PathBuf,
    /// Simulated hours from the scenario's start (1 to 24).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 13,
        value_parser = clap::value_parser!(i64).range(1..=24)
    )]
    pub hours: i64,
    /// No supervisor edit (by default one lowers the first campaign's
    /// maximumRatio in CXone at 13:00, between the tuner's read and write).
    #[arg(long)]
    pub no_person_edit: bool,
    /// No webhooks (simulator -> local API Gateway -> webhook-ingest).
    #[arg(long)]
    pub no_webhook: bool,
    /// Invoke failover-checker every MINUTES simulated minutes (1 to 5).
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 1,
        value_parser = clap::value_parser!(i64).range(1..=TICK_MINUTES)
    )]
    pub checker_every: i64,
    /// Also serve the dashboard (campaign-api behind a local front on the
    /// simulated clock) and keep serving after the day until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

impl Args {
    /// The local hour of the supervisor's edit, if any.
    pub fn person_edit_at(&self) -> Option<u32> {
        (!self.no_person_edit).then_some(PERSON_EDIT_HOUR)
    }

    /// Whether the day posts webhooks.
    pub fn webhook(&self) -> bool {
        !self.no_webhook
    }
}
