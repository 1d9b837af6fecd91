//! The pacing benchmark's core: simulated days, the policies under test and
//! their metrics, shared by the `pacing-bench` binary and the test suite.
//!
//! Run it with `cargo run --release -p pacing-bench -- --out
//! docs/pacing-benchmark.md` (about two minutes on one core); it writes the
//! report and `docs/pacing-benchmark.svg`.
//!
//! Every policy drives the same [`Dialer`](shared::engine::dialer::Dialer) (the model the CXone simulator
//! runs) through the same day: staffing, pauses, answer-rate drift and the
//! dialler's own randomness all come from the scenario's seed. The harness
//! steps the model one second at a time, opens dialling at 08:00 and closes
//! it at 21:00 (the calling window), lets calls in progress finish, and
//! counts every dial placed outside the window (it must be 0).
//!
//! Policies ([`Policy`]): progressive (ratio 1.0); fixed ratios; the
//! hindsight-best fixed ratio ([`hindsight_best`]: grid search in 0.05 steps
//! on the same day, the best that still meets 3 %; [`fixed_in_advance`]
//! is the same search on the other seeds, for comparison); the seed tutorials' rule
//! (every 5 minutes, lines = floor(0.8 x agents Available)); ViciDial's
//! ADAPT_TAPERED and ADAPT_AVERAGE ([`vicidial`]); and this project's engine,
//! called every 5 minutes from the inputs the capacity tuner gives it.
//!
//! The plot is written as hand-made SVG ([`report::svg_plot`]): a scatter of a
//! few dozen points needs no plotting library, and `plotters` would add a
//! font/raster stack to a shared 2-core build for no gain.
//!
//! Modules: [`scenario`] (the simulated days), [`policy`] (the policies and
//! what they do each second), [`run`](mod@run) (a simulated day, second by second),
//! [`metrics`] (what a run measured), [`hindsight`] (the fixed-ratio
//! baselines), [`benchmark`] (every policy on a scenario), [`report`] (the
//! Markdown and SVG report) and [`vicidial`] (ViciDial's adaptive modes).
//! Everything a caller uses is re-exported here.

pub mod benchmark;
pub mod hindsight;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod vicidial;

pub use benchmark::{policies, run_scenario, ScenarioResult, HINDSIGHT};
pub use hindsight::{fixed_in_advance, fixed_scan, hindsight_best};
pub use metrics::Metrics;
pub use policy::{campaign_age_days, engine_inputs, Policy};
pub use run::{run, run_all, run_observed, run_parallel, Ctx, Tick};
pub use scenario::{
    grid, unseen_scenarios, Profile, Scenario, ANSWER_DRIFT_SD, BUSY_RATE, DRIFT_REVERSION_MIN,
    MACHINE_RATE, RING_CV, RING_MEAN, STAFF_DRIFT_SD, TALK_CV,
};

/// The calling window opens at 08:00 (seconds after midnight).
pub const WINDOW_OPEN_S: u32 = 8 * 3600;
/// The calling window closes at 21:00 (seconds after midnight).
pub const WINDOW_CLOSE_S: u32 = 21 * 3600;
/// Seconds after the window closes during which calls in progress finish.
pub const DRAIN_S: u32 = 1800;
/// The legal ceiling on abandonment, percent.
pub const LEGAL_PCT: f64 = 3.0;
/// Days of the period the abandonment rule measures (the 30-day runs).
pub const PERIOD_DAYS: u32 = 30;
/// The tuner's period, seconds.
pub const TUNER_PERIOD_S: u32 = 300;
/// The tuner's recent window, minutes.
pub const RECENT_MINUTES: usize = 15;
/// The hindsight grid's step.
pub const GRID_STEP: f64 = 0.05;
/// The hindsight grid's top.
pub const GRID_MAX: f64 = 3.0;
