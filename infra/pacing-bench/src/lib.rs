//! The pacing benchmark's core: simulated days, the policies under test and
//! their metrics, shared by the `pacing-bench` binary and the test suite.
//!
//! Run it with `cargo run --release -p pacing-bench -- --out
//! docs/pacing-benchmark.md` (about two minutes on one core); it writes the
//! report and `docs/pacing-benchmark.svg`.
//!
//! Every policy drives the same [`Dialer`] (the model the CXone simulator
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

pub mod report;
pub mod vicidial;

use std::collections::VecDeque;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use shared::engine::dialer::{CallModel, Dialer, Dist, IntervalStats};
use shared::engine::pacing::{self, predict::mix, PacingInputs, Results, Staffing};
use shared::safe_write::Desired;

use crate::vicidial::{ViciDial, ViciMode};

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

/// How staffing and the answer rate move over the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Constant all day.
    Flat,
    /// Staffing falls to 60 % over lunch (12:00-14:00, 30-minute ramps).
    MiddayDip,
    /// The answer rate rises through the day, from 0.7x at 08:00 to 1.5x at 21:00.
    EveningRise,
    /// At 13:00 staffing steps down to 60 % and the answer rate up by half.
    StepAt13,
}

impl Profile {
    /// Short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Flat => "flat",
            Profile::MiddayDip => "midday dip",
            Profile::EveningRise => "evening rise",
            Profile::StepAt13 => "step 13:00",
        }
    }

    /// (staffing factor, answer-rate factor) at `clock` seconds after midnight.
    pub fn factors(&self, clock: u32) -> (f64, f64) {
        let h = f64::from(clock) / 3600.0;
        match self {
            Profile::Flat => (1.0, 1.0),
            Profile::MiddayDip => {
                let dip = if !(12.0..14.0).contains(&h) {
                    0.0
                } else if h < 12.5 {
                    (h - 12.0) / 0.5
                } else if h < 13.5 {
                    1.0
                } else {
                    (14.0 - h) / 0.5
                };
                (1.0 - 0.4 * dip, 1.0)
            }
            Profile::EveningRise => (1.0, 0.7 + 0.8 * ((h - 8.0) / 13.0).clamp(0.0, 1.0)),
            Profile::StepAt13 => {
                if h < 13.0 {
                    (1.0, 1.0)
                } else {
                    (0.6, 1.5)
                }
            }
        }
    }
}

/// One simulated campaign: its day and its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name for tables.
    pub name: String,
    /// Agents logged in at the profile's peak.
    pub agents: u32,
    /// Live-answer probability per dial at profile factor 1.
    pub live_rate: f64,
    /// Mean talk time (log-normal, CV [`TALK_CV`]), seconds.
    pub talk_mean: f64,
    /// Wrap times are uniform between these, seconds.
    pub wrap: (f64, f64),
    /// Ring limit (`maximumRingingDuration`), seconds (at least 15).
    pub ring_limit: f64,
    /// How the day moves.
    pub profile: Profile,
    /// Days simulated back to back (the 30-day period when 30).
    pub days: u32,
    /// When the calling window closes, seconds after midnight (normally
    /// [`WINDOW_CLOSE_S`]; shorter days keep debug-build tests quick).
    pub window_close_s: u32,
    /// Seeds: each is an independent run of the scenario.
    pub seeds: Vec<u64>,
}

/// Coefficient of variation of talk times.
pub const TALK_CV: f64 = 1.0;
/// Mean ring time (log-normal), seconds.
pub const RING_MEAN: f64 = 9.0;
/// Coefficient of variation of ring times.
pub const RING_CV: f64 = 0.6;
/// Share of dials answered by a machine.
pub const MACHINE_RATE: f64 = 0.18;
/// Share of dials that are busy.
pub const BUSY_RATE: f64 = 0.05;
/// Day-to-day and within-day drift of the answer rate (log scale, sd).
pub const ANSWER_DRIFT_SD: f64 = 0.10;
/// Drift of staffing around the profile (log scale, sd).
pub const STAFF_DRIFT_SD: f64 = 0.05;
/// Mean reversion time of both drifts, minutes.
pub const DRIFT_REVERSION_MIN: f64 = 45.0;

impl Scenario {
    /// The call model at answer-rate factor 1.
    pub fn call_model(&self) -> CallModel {
        CallModel {
            live_answer_rate: self.live_rate,
            machine_rate: MACHINE_RATE,
            busy_rate: BUSY_RATE,
            ring: Dist::LogNormal {
                mean: RING_MEAN,
                cv: RING_CV,
            },
            talk: Dist::LogNormal {
                mean: self.talk_mean,
                cv: TALK_CV,
            },
            wrap: Dist::Uniform {
                min: self.wrap.0,
                max: self.wrap.1,
            },
            ring_limit_s: self
                .ring_limit
                .max(shared::engine::dialer::MIN_RING_LIMIT_S),
            success_rate: 0.3,
        }
    }
}

/// A pacing policy under test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    /// CXone `maximumRatio` held all day.
    Fixed(f64),
    /// Every 5 minutes, lines = floor(0.8 x agents Available).
    Tutorial,
    /// ViciDial's adaptive dialling.
    ViciDial(ViciMode),
    /// This project's engine, every 5 minutes, as the tuner calls it.
    Engine,
}

impl Policy {
    /// Name for tables.
    pub fn name(&self) -> String {
        match self {
            Policy::Fixed(r) if *r == 1.0 => "progressive".into(),
            Policy::Fixed(r) => format!("fixed {r:.2}"),
            Policy::Tutorial => "tutorial 0.8xAvail".into(),
            Policy::ViciDial(ViciMode::Tapered) => "ViciDial TAPERED".into(),
            Policy::ViciDial(ViciMode::Average) => "ViciDial AVERAGE".into(),
            Policy::Engine => "engine".into(),
        }
    }
}

/// What one run (a scenario, a policy, a seed) measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Agent-seconds and counters inside the calling window.
    pub window: IntervalStats,
    /// Live answers, including calls that finished after the window.
    pub live_answers: u64,
    /// Abandons, including calls that finished after the window.
    pub abandons: u64,
    /// Highest single-day abandonment, percent.
    pub worst_day_pct: f64,
    /// Dials placed outside the calling window (must be 0).
    pub outside_window_dials: u64,
    /// Wall-clock milliseconds of each engine decision.
    pub decision_ms: Vec<f64>,
    /// Sum of the engine's predicted abandons over intervals it predicted.
    pub predicted_abandons: f64,
    /// Abandons that happened in those intervals.
    pub realized_abandons: u64,
    /// The fixed ratio used (hindsight-best runs).
    pub ratio: Option<f64>,
    /// Runs aggregated.
    pub runs: u32,
    /// Highest per-run abandonment over the aggregated runs, percent.
    pub worst_run_pct: f64,
}

impl Metrics {
    /// Adds another run.
    pub fn add(&mut self, o: &Metrics) {
        self.window.add(&o.window);
        self.live_answers += o.live_answers;
        self.abandons += o.abandons;
        self.worst_day_pct = self.worst_day_pct.max(o.worst_day_pct);
        self.outside_window_dials += o.outside_window_dials;
        self.predicted_abandons += o.predicted_abandons;
        self.realized_abandons += o.realized_abandons;
        self.decision_ms.extend_from_slice(&o.decision_ms);
        self.runs += o.runs.max(1);
        self.worst_run_pct = self.worst_run_pct.max(o.abandon_pct());
        self.ratio = match (self.ratio, o.ratio) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Abandoned share of live answers over the run(s), percent.
    pub fn abandon_pct(&self) -> f64 {
        if self.live_answers > 0 {
            100.0 * self.abandons as f64 / self.live_answers as f64
        } else {
            0.0
        }
    }

    /// Talk time / logged-in time, percent.
    pub fn talk_util(&self) -> f64 {
        pct(
            self.window.talk_seconds,
            self.window.logged_in_agent_seconds,
        )
    }

    /// (Talk + wrap) / logged-in time, percent.
    pub fn handle_util(&self) -> f64 {
        pct(
            self.window.talk_seconds + self.window.wrap_seconds,
            self.window.logged_in_agent_seconds,
        )
    }

    /// Idle agent-seconds per connected call.
    pub fn idle_per_call(&self) -> f64 {
        if self.window.connects > 0 {
            self.window.idle_agent_seconds / self.window.connects as f64
        } else {
            0.0
        }
    }

    /// Dials per live answer.
    pub fn dials_per_live(&self) -> f64 {
        if self.window.live_answers > 0 {
            self.window.dials as f64 / self.window.live_answers as f64
        } else {
            0.0
        }
    }

    /// Largest decision time, ms.
    pub fn max_decision_ms(&self) -> f64 {
        self.decision_ms.iter().copied().fold(0.0, f64::max)
    }

    /// 99th percentile decision time, ms.
    pub fn p99_decision_ms(&self) -> f64 {
        let mut v = self.decision_ms.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n => v[((n as f64) * 0.99).ceil() as usize - 1],
        }
    }
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        100.0 * a / b
    } else {
        0.0
    }
}

fn results_of(s: &IntervalStats) -> Results {
    let handled = s.successes + s.failures;
    let mean = |x: f64| if handled > 0 { x / handled as f64 } else { 0.0 };
    Results {
        dials: s.dials,
        connects: s.connects,
        abandons: s.abandons,
        mean_talk_seconds: mean(s.handled_talk_seconds),
        mean_wrap_seconds: mean(s.handled_wrap_seconds),
    }
}

/// What a controller sees each second.
pub struct Ctx<'a> {
    /// Seconds after midnight.
    pub clock: u32,
    /// Day index within the run.
    pub day: u32,
    /// Stats of the last 15 minutes (whole minutes plus the current one).
    pub recent: &'a IntervalStats,
    /// Stats of the run so far (the 30-day period).
    pub period: &'a IntervalStats,
    /// Stats of today so far.
    pub today: &'a IntervalStats,
    /// Live answers and abandons in the last 60 seconds.
    pub last_minute: (u64, u64),
}

/// A policy's running state.
enum Controller {
    Fixed,
    Tutorial,
    Vici(ViciDial),
    Engine {
        ratio: f64,
        target_pct: f64,
        /// Predicted abandons of the interval under way and the period's abandons when it began.
        pending: Option<(f64, u64)>,
    },
}

/// Runs `work(i)` for every index in `order` (each once, taken in that
/// order) on `threads` threads and returns the results by index, `None`
/// for an index `order` does not list. A panicking worker panics the
/// caller (the scoped threads are joined).
pub fn run_parallel<R: Send>(
    n: usize,
    order: &[usize],
    threads: usize,
    work: impl Fn(usize) -> R + Sync,
) -> Vec<Option<R>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&i) = order.get(k) else { break };
                let r = work(i);
                if let Some(Ok(mut slot)) = slots.get(i).map(|m| m.lock()) {
                    *slot = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
        .collect()
}

/// Runs one scenario under one policy with one seed.
pub fn run(sc: &Scenario, policy: Policy, seed: u64) -> Metrics {
    run_observed(sc, policy, seed, &mut |_: &Tick<'_>| {})
}

/// What an observer sees at every tuner tick (every 5 minutes inside the
/// window), after the policy has acted: for traces and calibration.
pub struct Tick<'a> {
    /// The run's context at the tick.
    pub ctx: &'a Ctx<'a>,
    /// The dialler.
    pub dialer: &'a Dialer,
    /// The inputs the engine gets (or would get) at this tick, with the
    /// ratio in force before the policy acted.
    pub inputs: PacingInputs,
    /// The engine's decision, when the policy is the engine.
    pub decision: Option<&'a pacing::PacingDecision>,
}

/// [`run`] with an observer called at every tuner tick.
pub fn run_observed(
    sc: &Scenario,
    policy: Policy,
    seed: u64,
    observe: &mut dyn FnMut(&Tick<'_>),
) -> Metrics {
    let base = sc.call_model();
    let mut d = Dialer::new(base, mix(seed, 0xD1A1));
    d.set_dialling(false);
    let mut ctl = match policy {
        Policy::Fixed(r) => {
            d.set_max_ratio(r);
            Controller::Fixed
        }
        Policy::Tutorial => {
            d.set_target_lines(0);
            Controller::Tutorial
        }
        Policy::ViciDial(mode) => Controller::Vici(ViciDial::new(mode)),
        Policy::Engine => {
            d.set_max_ratio(1.0);
            Controller::Engine {
                ratio: 1.0,
                target_pct: LEGAL_PCT,
                pending: None,
            }
        }
    };
    let mut env = ChaCha8Rng::seed_from_u64(mix(seed, 0xE1F));
    let pause_frac = env.random_range(0.05..=0.10);
    let decay = (-1.0 / DRIFT_REVERSION_MIN).exp();
    let shock = (1.0 - decay * decay).sqrt();
    let (mut x_answer, mut x_staff) = (0.0f64, 0.0f64);
    let mut m = Metrics {
        runs: 1,
        ..Metrics::default()
    };
    let mut period = IntervalStats::default();
    let mut minutes: VecDeque<IntervalStats> = VecDeque::with_capacity(RECENT_MINUTES + 1);
    let mut seconds: VecDeque<(u64, u64)> = VecDeque::with_capacity(61);
    for day in 0..sc.days {
        let day0 = f64::from(day) * 86_400.0;
        let mut today = IntervalStats::default();
        let mut minute = IntervalStats::default();
        let mut day_live = 0u64;
        let mut day_abandons = 0u64;
        // Overnight the drifts move on (a new day is a new draw, partly).
        let z: f64 = env.sample(StandardNormal);
        x_answer = 0.5 * x_answer + ANSWER_DRIFT_SD * 0.87 * z;
        let close = sc.window_close_s.clamp(WINDOW_OPEN_S + 60, WINDOW_CLOSE_S);
        let end = close + DRAIN_S;
        for clock in WINDOW_OPEN_S..end {
            let open = clock < close;
            if (clock - WINDOW_OPEN_S) % 60 == 0 && open {
                // Staffing and answer rate move every minute.
                let za: f64 = env.sample(StandardNormal);
                let zs: f64 = env.sample(StandardNormal);
                x_answer = decay * x_answer + shock * ANSWER_DRIFT_SD * za;
                x_staff = decay * x_staff + shock * STAFF_DRIFT_SD * zs;
                let (fs, fa) = sc.profile.factors(clock);
                let agents = (f64::from(sc.agents) * fs * x_staff.exp()).round().max(1.0) as u32;
                d.model_mut().live_answer_rate =
                    (sc.live_rate * fa * x_answer.exp()).clamp(0.0, 1.0 - MACHINE_RATE - BUSY_RATE);
                d.set_logged_in(agents);
                d.set_paused((pause_frac * f64::from(agents)).round() as u32);
            }
            if clock == WINDOW_OPEN_S {
                d.set_dialling(true);
            }
            if clock == close {
                d.set_dialling(false);
                d.set_logged_in(0);
            }
            if open {
                let recent = {
                    let mut r = minute;
                    for mm in &minutes {
                        r.add(mm);
                    }
                    r
                };
                let last_minute = seconds.iter().fold((0, 0), |a, s| (a.0 + s.0, a.1 + s.1));
                let ctx = Ctx {
                    clock,
                    day,
                    recent: &recent,
                    period: &period,
                    today: &today,
                    last_minute,
                };
                let tick = (clock - WINDOW_OPEN_S) % TUNER_PERIOD_S == 0;
                let before = tick.then(|| engine_inputs(&d, &ctx, seed));
                let decision = control(&mut ctl, &mut d, &ctx, seed, &mut m);
                if let Some(inputs) = before {
                    observe(&Tick {
                        ctx: &ctx,
                        dialer: &d,
                        inputs,
                        decision: decision.as_ref(),
                    });
                }
            }
            let s = d.advance_to(day0 + f64::from(clock - WINDOW_OPEN_S + 1));
            if open {
                m.window.add(&s);
            } else {
                m.outside_window_dials += s.dials;
            }
            m.live_answers += s.connects + s.abandons;
            m.abandons += s.abandons;
            day_live += s.connects + s.abandons;
            day_abandons += s.abandons;
            today.add(&s);
            period.add(&s);
            minute.add(&s);
            seconds.push_back((s.connects + s.abandons, s.abandons));
            if seconds.len() > 60 {
                seconds.pop_front();
            }
            if (clock + 1 - WINDOW_OPEN_S) % 60 == 0 {
                minutes.push_back(minute);
                minute = IntervalStats::default();
                if minutes.len() >= RECENT_MINUTES {
                    minutes.pop_front();
                }
            }
        }
        // Overnight: nothing runs; the model's clock jumps to the next day.
        d.advance_to(day0 + 86_400.0);
        minutes.clear();
        seconds.clear();
        if day_live > 0 {
            m.worst_day_pct = m
                .worst_day_pct
                .max(100.0 * day_abandons as f64 / day_live as f64);
        }
    }
    m.worst_run_pct = m.abandon_pct();
    if let Policy::Fixed(r) = policy {
        m.ratio = Some(r);
    }
    m
}

/// The inputs the capacity tuner would give the engine now: staffing
/// snapshot, the last 15 minutes and the period's results, the ratio in
/// force (for a ratio policy), target 3 %, bounds 1.0-[`GRID_MAX`], the ring
/// limit, a seed from the time and the campaign's age
/// ([`campaign_age_days`]).
pub fn engine_inputs(d: &Dialer, ctx: &Ctx<'_>, seed: u64) -> PacingInputs {
    let s = d.snapshot();
    let current_ratio = match d.policy() {
        shared::engine::dialer::LinePolicy::Ratio { ratio } => ratio,
        shared::engine::dialer::LinePolicy::Fixed { .. } => 1.0,
    };
    PacingInputs {
        staffing: Staffing {
            available: s.available,
            working: s.working,
            acw: s.acw,
            logged_in: s.logged_in,
        },
        recent: results_of(ctx.recent),
        period: results_of(ctx.period),
        // What the tuner passes: the window it asks CXone for, even when
        // the calling window opened inside it.
        recent_seconds: (RECENT_MINUTES * 60) as f64,
        current_ratio,
        target_abandon_pct: LEGAL_PCT,
        min_ratio: 1.0,
        max_ratio: GRID_MAX,
        ring_limit_seconds: d.model().ring_limit_s,
        seed: mix(seed, u64::from(ctx.day) * 86_400 + u64::from(ctx.clock)),
        campaign_age_days: Some(campaign_age_days(ctx)),
    }
}

/// The campaign's age at `ctx`, as the tuner would see it: every run is a
/// campaign that first dialled when the window opened on its first day, so
/// a one-day scenario is day 1 (age 0 to 0.54) and a 30-day run's day `d`
/// (from 0) is age `d` and a fraction.
pub fn campaign_age_days(ctx: &Ctx<'_>) -> f64 {
    f64::from(ctx.day) + f64::from(ctx.clock.saturating_sub(WINDOW_OPEN_S)) / 86_400.0
}

/// Lets the policy act for one second; returns the engine's decision on a tick.
fn control(
    ctl: &mut Controller,
    d: &mut Dialer,
    ctx: &Ctx<'_>,
    seed: u64,
    m: &mut Metrics,
) -> Option<pacing::PacingDecision> {
    let since_open = ctx.clock - WINDOW_OPEN_S;
    match ctl {
        Controller::Fixed => None,
        Controller::Tutorial => {
            if since_open % TUNER_PERIOD_S == 0 {
                let avail = d.snapshot().available;
                d.set_target_lines((0.8 * f64::from(avail)).floor() as u32);
            }
            None
        }
        Controller::Vici(v) => {
            v.second(d, ctx);
            None
        }
        Controller::Engine {
            ratio,
            target_pct,
            pending,
        } => {
            if since_open % TUNER_PERIOD_S == 0 {
                let mut inputs = engine_inputs(d, ctx, seed);
                inputs.current_ratio = *ratio;
                inputs.target_abandon_pct = *target_pct;
                let t0 = Instant::now();
                let decision = pacing::decide(&inputs);
                m.decision_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                if let Some((predicted, at)) = pending.take() {
                    m.predicted_abandons += predicted;
                    m.realized_abandons += ctx.period.abandons - at;
                }
                // The tuner's safe writer skips changes below the hysteresis
                // step, except a move to progressive dialling (1.0).
                if Desired::maximum_ratio(decision.maximum_ratio).worth_writing(*ratio) {
                    *ratio = decision.maximum_ratio;
                    d.set_max_ratio(*ratio);
                }
                // Calibration: what the engine predicted for the ratio in force.
                if let Some(p) = &decision.prediction {
                    if (p.chosen.ratio - *ratio).abs() < 1e-9 {
                        *pending = Some((p.chosen.abandons, ctx.period.abandons));
                    }
                }
                return Some(decision);
            }
            None
        }
    }
}

/// Runs every seed of a scenario under a policy and aggregates.
pub fn run_all(sc: &Scenario, policy: Policy) -> Metrics {
    let mut total = Metrics::default();
    for &seed in &sc.seeds {
        total.add(&run(sc, policy, seed));
    }
    total
}

/// One seed's scan of fixed ratios: 1.00, 1.05, ... up to [`GRID_MAX`] on
/// the same day(s), each run's metrics with its ratio. The scan stops after
/// two ratios in a row break 3 % (abandonment only grows with the ratio).
pub fn fixed_scan(sc: &Scenario, seed: u64) -> Vec<Metrics> {
    let mut scan = vec![run(sc, Policy::Fixed(1.0), seed)];
    let mut fails = 0;
    let steps = ((GRID_MAX - 1.0) / GRID_STEP).round() as u32;
    for i in 1..=steps {
        let r = ((1.0 + f64::from(i) * GRID_STEP) * 100.0).round() / 100.0;
        let m = run(sc, Policy::Fixed(r), seed);
        fails = if m.abandon_pct() <= LEGAL_PCT {
            0
        } else {
            fails + 1
        };
        scan.push(m);
        if fails >= 2 {
            break;
        }
    }
    scan
}

/// The hindsight-best fixed ratio of one seed's [`fixed_scan`]: the highest
/// talk utilisation whose whole-run abandonment is at most 3 % (ratio 1.0,
/// which abandons nothing, when none is).
pub fn hindsight_best(scan: &[Metrics]) -> Metrics {
    scan.iter()
        .filter(|m| m.abandon_pct() <= LEGAL_PCT)
        .fold(None::<&Metrics>, |best, m| match best {
            Some(b) if b.talk_util() >= m.talk_util() => Some(b),
            _ => Some(m),
        })
        .cloned()
        .unwrap_or_default()
}

/// The best fixed ratio chosen without seeing the day, leave-one-seed-out:
/// for each seed, the ratio that stayed at or below 3 % on every *other*
/// seed of the scenario with the highest mean utilisation over them, run on
/// the held-out seed. What a supervisor who knew the scenario perfectly
/// (but not the day's luck) could set; it shows how much of the hindsight
/// ratio's lead is the luck of the day it was fitted to. `None` with fewer
/// than two seeds. `scans[k]` is seed `k`'s [`fixed_scan`].
pub fn fixed_in_advance(sc: &Scenario, scans: &[Vec<Metrics>]) -> Option<Metrics> {
    if sc.seeds.len() < 2 || scans.len() != sc.seeds.len() {
        return None;
    }
    let mut total = Metrics::default();
    for (k, &seed) in sc.seeds.iter().enumerate() {
        let others: Vec<&Vec<Metrics>> = scans
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != k)
            .map(|(_, s)| s)
            .collect();
        // Ratios every other seed scanned, lawful on all of them.
        let Some(first) = others.first() else {
            continue;
        };
        let mut best: Option<(f64, f64)> = None;
        for m in first.iter() {
            let Some(r) = m.ratio else { continue };
            let runs: Option<Vec<&Metrics>> = others
                .iter()
                .map(|s| s.iter().find(|x| x.ratio == Some(r)))
                .collect();
            let Some(runs) = runs else { continue };
            if runs.iter().any(|x| x.abandon_pct() > LEGAL_PCT) {
                continue;
            }
            let util = runs.iter().map(|x| x.talk_util()).sum::<f64>() / runs.len() as f64;
            if best.is_none_or(|(_, u)| util > u) {
                best = Some((r, util));
            }
        }
        let r = best.map_or(1.0, |(r, _)| r);
        let held_out = scans[k]
            .iter()
            .find(|x| x.ratio == Some(r))
            .cloned()
            .unwrap_or_else(|| run(sc, Policy::Fixed(r), seed));
        total.add(&held_out);
    }
    Some(total)
}

/// The policies of the benchmark, in table order (the hindsight-best fixed
/// ratio is computed separately by [`hindsight_all`]).
pub fn policies() -> Vec<Policy> {
    vec![
        Policy::Fixed(1.0),
        Policy::Fixed(1.2),
        Policy::Fixed(1.5),
        Policy::Fixed(2.0),
        Policy::Tutorial,
        Policy::ViciDial(ViciMode::Tapered),
        Policy::ViciDial(ViciMode::Average),
        Policy::Engine,
    ]
}

/// One scenario's results: every policy plus the hindsight-best fixed ratio.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// (policy name, metrics) in table order, hindsight-best after the fixed ratios.
    pub rows: Vec<(String, Metrics)>,
    /// The best fixed ratio chosen on the other seeds ([`fixed_in_advance`];
    /// `None` with one seed).
    pub fixed_in_advance: Option<Metrics>,
}

impl ScenarioResult {
    /// The metrics of the policy with this name.
    pub fn get(&self, name: &str) -> Option<&Metrics> {
        self.rows.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }
}

/// Name of the hindsight-best row.
pub const HINDSIGHT: &str = "hindsight-best fixed";

/// Runs a scenario under every policy.
pub fn run_scenario(sc: &Scenario) -> ScenarioResult {
    let scans: Vec<Vec<Metrics>> = sc.seeds.iter().map(|&s| fixed_scan(sc, s)).collect();
    let mut rows = Vec::new();
    for p in policies() {
        rows.push((p.name(), run_all(sc, p)));
        if p == Policy::Fixed(2.0) {
            let mut hindsight = Metrics::default();
            for scan in &scans {
                hindsight.add(&hindsight_best(scan));
            }
            rows.push((HINDSIGHT.to_string(), hindsight));
        }
    }
    ScenarioResult {
        scenario: sc.clone(),
        rows,
        fixed_in_advance: fixed_in_advance(sc, &scans),
    }
}

/// The benchmark's scenario grid.
///
/// Every agent level (5, 10, 20, 50, 100, 200) meets every day profile once;
/// answer rate (5 / 15 / 30 %), talk mean (90 / 180 / 300 s), wrap range and
/// ring limit rotate so that each agent level sees every answer rate and
/// talk time (a fractional design: the full factorial of 216 days per seed
/// would not run in minutes). Two of them are also run as 30-day periods.
/// `seeds` independent runs each.
pub fn grid(seeds: u32, with_30_day: bool) -> Vec<Scenario> {
    let agents = [5u32, 10, 20, 50, 100, 200];
    let profiles = [
        Profile::Flat,
        Profile::MiddayDip,
        Profile::EveningRise,
        Profile::StepAt13,
    ];
    let answers = [0.05, 0.15, 0.30];
    let talks = [90.0, 180.0, 300.0];
    let wraps = [(10.0, 20.0), (15.0, 25.0), (20.0, 30.0)];
    let rings = [20.0, 15.0, 25.0];
    let mut out = Vec::new();
    for (i, &a) in agents.iter().enumerate() {
        for (j, &p) in profiles.iter().enumerate() {
            let live = answers[(i + j) % 3];
            let talk = talks[(i + 2 * j + 1) % 3];
            let wrap = wraps[(i + j + 2) % 3];
            let ring = rings[j % 3];
            out.push(Scenario {
                name: format!(
                    "{a} ag, {:.0} % ans, {talk:.0} s talk, {}",
                    100.0 * live,
                    p.name()
                ),
                agents: a,
                live_rate: live,
                talk_mean: talk,
                wrap,
                ring_limit: ring,
                profile: p,
                days: 1,
                window_close_s: WINDOW_CLOSE_S,
                seeds: (0..seeds)
                    .map(|k| mix(u64::from(a) * 1000 + j as u64, u64::from(k)))
                    .collect(),
            });
        }
    }
    if with_30_day {
        for (a, live, talk, p) in [
            (20u32, 0.15, 180.0, Profile::MiddayDip),
            (50u32, 0.30, 90.0, Profile::EveningRise),
        ] {
            out.push(Scenario {
                name: format!(
                    "{PERIOD_DAYS} days: {a} ag, {:.0} % ans, {talk:.0} s talk, {}",
                    100.0 * live,
                    p.name()
                ),
                agents: a,
                live_rate: live,
                talk_mean: talk,
                wrap: (10.0, 30.0),
                ring_limit: 20.0,
                profile: p,
                days: PERIOD_DAYS,
                window_close_s: WINDOW_CLOSE_S,
                seeds: vec![mix(u64::from(a), 30)],
            });
        }
    }
    out
}

/// One-day scenarios the grid never shows, drawn from wide ranges: agents
/// 6 to `max_agents` (at least 6), live-answer rate 2-45 % log-uniform,
/// talk 45-600 s, any wrap range, ring limit 15-30 s, any day profile; two
/// seeds each. The draw is seeded, so the same arguments give the same days
/// (the `unseen` example runs them; `calibrate --unseen` traces them).
pub fn unseen_scenarios(count: u32, seed: u64, max_agents: u32) -> Vec<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|k| {
            let agents = rng.random_range(6u32..=max_agents.max(6));
            let live_rate = (rng.random_range(0.02f64.ln()..=0.45f64.ln())).exp();
            let talk_mean = rng.random_range(45.0..=600.0);
            let wrap_lo = rng.random_range(0.0..=40.0);
            let wrap = (wrap_lo, wrap_lo + rng.random_range(5.0..=30.0));
            let ring_limit = rng.random_range(15.0..=30.0f64).round();
            let profile = [
                Profile::Flat,
                Profile::MiddayDip,
                Profile::EveningRise,
                Profile::StepAt13,
            ][rng.random_range(0..4)];
            Scenario {
                name: format!(
                    "{agents} ag, {:.1} % ans, {talk_mean:.0} s talk, {:.0}-{:.0} s wrap, ring {ring_limit:.0} s, {}",
                    100.0 * live_rate,
                    wrap.0,
                    wrap.1,
                    profile.name()
                ),
                agents,
                live_rate,
                talk_mean,
                wrap,
                ring_limit,
                profile,
                days: 1,
                window_close_s: WINDOW_CLOSE_S,
                seeds: vec![mix(u64::from(k), 0xA11), mix(u64::from(k), 0xB22)],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scan entry: `ratio`, talk share `util` %, `abandons` of 1000 live answers.
    fn entry(ratio: f64, util: f64, abandons: u64) -> Metrics {
        let mut m = Metrics {
            live_answers: 1000,
            abandons,
            ratio: Some(ratio),
            runs: 1,
            ..Metrics::default()
        };
        m.window.talk_seconds = util;
        m.window.logged_in_agent_seconds = 100.0;
        m.worst_run_pct = m.abandon_pct();
        m
    }

    fn scenario(seeds: u32) -> Scenario {
        grid(seeds, false).remove(0)
    }

    #[test]
    fn every_run_is_a_new_campaign_whose_age_counts_from_its_first_dial() {
        let stats = IntervalStats::default();
        let age = |day, clock| {
            campaign_age_days(&Ctx {
                clock,
                day,
                recent: &stats,
                period: &stats,
                today: &stats,
                last_minute: (0, 0),
            })
        };
        assert_eq!(age(0, WINDOW_OPEN_S), 0.0);
        // Day 1 at 20:00: half a day old, young.
        assert!((age(0, 20 * 3600) - 0.5).abs() < 1e-12);
        // Day 30 of a 30-day run, at 08:00: 29 days, still young.
        assert_eq!(age(PERIOD_DAYS - 1, WINDOW_OPEN_S), 29.0);
        assert!(age(PERIOD_DAYS - 1, WINDOW_CLOSE_S) < pacing::MATURE_AGE_DAYS);
    }

    #[test]
    fn hindsight_is_the_best_lawful_ratio_of_the_day() {
        let scan = [
            entry(1.0, 50.0, 0),
            entry(1.05, 55.0, 20),
            entry(1.1, 58.0, 30),
            entry(1.15, 60.0, 31),
        ];
        let best = hindsight_best(&scan);
        assert_eq!(best.ratio, Some(1.1));
        assert!((best.talk_util() - 58.0).abs() < 1e-9);
        // Nothing lawful (cannot happen with ratio 1.0 in the scan): empty metrics, no panic.
        assert_eq!(hindsight_best(&[entry(1.5, 70.0, 40)]).ratio, None);
    }

    #[test]
    fn the_ratio_chosen_in_advance_must_be_lawful_on_the_other_seeds() {
        let sc = scenario(3);
        // Seed 0 was lucky at 1.1; seeds 1 and 2 broke 3 % there.
        let scans = vec![
            vec![
                entry(1.0, 50.0, 0),
                entry(1.05, 55.0, 20),
                entry(1.1, 58.0, 25),
            ],
            vec![
                entry(1.0, 50.0, 0),
                entry(1.05, 54.0, 28),
                entry(1.1, 57.0, 35),
            ],
            vec![
                entry(1.0, 50.0, 0),
                entry(1.05, 56.0, 29),
                entry(1.1, 59.0, 33),
            ],
        ];
        let m = fixed_in_advance(&sc, &scans).expect("three seeds");
        // Every held-out seed runs 1.05, the best ratio lawful on both others.
        assert_eq!(m.runs, 3);
        assert_eq!(m.ratio, Some(1.05));
        assert_eq!(m.abandons, 20 + 28 + 29);
        assert!((m.talk_util() - 55.0).abs() < 1e-9, "{}", m.talk_util());
        // Hindsight, for the same scans, takes seed 0's lucky 1.1.
        assert_eq!(hindsight_best(&scans[0]).ratio, Some(1.1));
        // One seed: nothing to choose from.
        assert!(fixed_in_advance(&scenario(1), &scans[..1]).is_none());
    }
}
