//! `make demo`: a simulated contact-centre day through the real functions.
//!
//! Needs the local stack (`infra/with-stack.sh --scenario FILE` starts moto
//! and the CXone simulator and exports their addresses). It creates fresh
//! tables and the secret, configures every campaign of the scenario through
//! the real `campaign-api` binary, then drives the day in 5-minute ticks: the
//! simulator's clock advances, and the real `capacity-tuner` binary is invoked
//! under the Lambda Runtime API emulator with an EventBridge event at that
//! time. It prints an hourly table per campaign from the simulator's ground
//! truth and the tuner's decisions, and the audit trail's size.
//!
//! Events flow as in production: the real `webhook-ingest` binary runs behind
//! a local API Gateway ([`local_stack::apigw`]) whose request clock is kept
//! equal to the simulator's, and the simulator posts signed
//! `contact.completed` batches to it during every clock advance (a few
//! batches are posted twice, to show de-duplication). The hourly tables show
//! the events the intake counted next to the tuner's decisions.
//!
//! Campaigns whose scenario entry under `autopilot.configs` names a
//! `failover` get it through campaign-api; the real `failover-checker` binary
//! is invoked every simulated minute (`--checker-every N` to thin it out), and
//! the demo prints when the failover happened, with the rate and samples that
//! caused it, and checks against the simulator that it happened exactly once.
//! Without a built `failover-checker` the day still runs and says so.
//!
//! With `--serve`, campaign-api also runs behind a second local front with
//! every route of the template (the operator routes, the dashboard's `/ui`
//! routes with a fixed local identity, the page and its assets) on the
//! simulated clock: the dashboard's address is printed at the start and
//! after the day, and the front and the functions keep serving until Ctrl-C.
//!
//! The steps live in submodules: [`args`] (the command line), [`setup`]
//! (tables, secret, functions, fronts, campaign configs), [`day`] (the
//! minute-by-minute loop), [`report`] (the tables and checks after it),
//! [`events`] (the Lambda events sent) and [`hours`] (local hours).

// A crate root's `mod` files sit beside it; these live in `demo/`.
#[path = "demo/args.rs"]
mod args;
#[path = "demo/day.rs"]
mod day;
#[path = "demo/events.rs"]
mod events;
#[path = "demo/fanout.rs"]
mod fanout;
#[path = "demo/hours.rs"]
mod hours;
#[path = "demo/report.rs"]
mod report;
#[path = "demo/setup.rs"]
mod setup;

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use clap::Parser;
use shared::store::audit::AuditStore;

use crate::args::Args;
use crate::setup::{DayServices, Stack};

/// Simulated minutes between two tuner invocations (its 5-minute schedule).
const TICK_MINUTES: i64 = 5;
/// How long one function invocation may take.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// Processes per fanned-out function (the event source mapping's maximum
/// concurrency, locally).
const TASK_WORKERS: usize = 2;
/// The webhook signing secret `make demo` puts in its webhook secret
/// (`{"webhookSecrets": [...]}`) and the simulator signs with (webhook-ingest
/// refuses one under 32 bytes).
const WEBHOOK_SECRET: &str = "demo-webhook-secret-0123456789abcdef";
/// Events per webhook batch.
const WEBHOOK_BATCH: usize = 250;
/// Local time at which webhooks are switched on, and off. The local
/// DynamoDB (moto) copies the whole table for every item of a transaction,
/// so the intake slows down as the table grows: the demo posts the events of
/// the failover campaigns' live conversations during these hours only.
const WEBHOOK_ON: (u32, u32) = (12, 0);
/// See [`WEBHOOK_ON`].
const WEBHOOK_OFF: (u32, u32) = (16, 0);
/// The outcomes posted (the ones a success rate uses).
const WEBHOOK_OUTCOMES: [&str; 3] = ["success", "failure", "abandoned"];
/// Local time at which a few batches are posted twice (de-duplication shown).
const DUPLICATE_AT: (u32, u32) = (13, 30);
/// How many batches are posted twice then.
const DUPLICATE_BATCHES: u32 = 3;

/// The demo: set up, configure the campaigns, run the day, report, replay
/// the last events, and serve the dashboard until Ctrl-C with `--serve`.
async fn run(args: Args) -> Result<(), String> {
    let stack = Stack::start(&args).await?;
    stack.print_header(&args);
    let mut services = DayServices::start(&stack, &args).await?;
    setup::configure_campaigns(&stack).await?;

    let end = stack.start + ChronoDuration::hours(args.hours);
    let mut log = day::run_day(&stack, &mut services, &args, end).await?;

    let audit = AuditStore::new(stack.dynamo.clone(), stack.tables.audit.clone());
    let totals = report::print_campaigns(&stack, &log, &audit, end).await?;
    if let Some(gw) = &services.gateway {
        report::print_webhooks(&stack, &services, gw, &mut log, &totals.stored, end).await?;
    }
    if services.checker.is_some() {
        report::print_failovers(&stack, &log, &audit).await?;
    }
    // Replaying the day's last event must change nothing.
    let (replay, after) = report::replay_last_events(&stack, &services, &log, &audit).await?;
    report::print_closing(&log, totals.audit, &replay, after);
    serve_until_ctrl_c(services, &stack, end).await
}

/// With `--serve`, keeps the dashboard's front (and the functions) serving
/// until Ctrl-C; then stops the fronts.
async fn serve_until_ctrl_c(
    services: DayServices,
    stack: &Stack,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    if let Some(front) = services.dashboard {
        println!();
        println!(
            "Dashboard: {}/dashboard (the simulated day as of {}); serving until Ctrl-C",
            front.base_url(),
            end.with_timezone(&stack.zone).format("%H:%M")
        );
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
        println!("demo: stopping the dashboard");
        front.shutdown().await;
    }
    if let Some(gw) = services.gateway {
        gw.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
