//! Simulated days: one scenario under one policy with one seed ([`run`],
//! [`run_observed`]), every seed of it ([`run_all`]), and the thread pool
//! the benchmark and the examples spread their runs over ([`run_parallel`]).
//!
//! A run steps the dialler one second at a time from the window's opening
//! to the end of the drain: every minute the drifts move staffing and the
//! answer rate, every second inside the window the policy acts, and every
//! second's stats go to the run's metrics and to the recent windows the
//! policies read.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use shared::engine::dialer::{Dialer, IntervalStats};
use shared::engine::pacing::{self, predict::mix, PacingInputs};

use crate::policy::{control, Controller};
use crate::{
    engine_inputs, Metrics, Policy, Scenario, ANSWER_DRIFT_SD, BUSY_RATE, DRAIN_S,
    DRIFT_REVERSION_MIN, MACHINE_RATE, RECENT_MINUTES, STAFF_DRIFT_SD, TUNER_PERIOD_S,
    WINDOW_CLOSE_S, WINDOW_OPEN_S,
};

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
    let ctl = Controller::new(policy, &mut d);
    let mut state = RunState {
        d,
        ctl,
        drift: Drift::new(seed),
        m: Metrics {
            runs: 1,
            ..Metrics::default()
        },
        period: IntervalStats::default(),
        recent: RecentWindows::default(),
    };
    for day in 0..sc.days {
        run_day(&mut state, sc, day, seed, observe);
    }
    let mut m = state.m;
    m.worst_run_pct = m.abandon_pct();
    if let Policy::Fixed(r) = policy {
        m.ratio = Some(r);
    }
    m
}

/// What a run carries from second to second and from day to day.
struct RunState {
    /// The dialler the policy drives.
    d: Dialer,
    /// The policy's running state.
    ctl: Controller,
    /// Pauses and the drifts of staffing and the answer rate.
    drift: Drift,
    /// What the run has measured so far.
    m: Metrics,
    /// Stats of the run so far (the 30-day period).
    period: IntervalStats,
    /// The last minutes and seconds of today.
    recent: RecentWindows,
}

/// Today's stats, and its live answers and abandons including calls that
/// finish after the window.
#[derive(Default)]
struct Today {
    stats: IntervalStats,
    live: u64,
    abandons: u64,
}

/// One day: the overnight drift, the window second by second, the drain,
/// then the night.
fn run_day(
    st: &mut RunState,
    sc: &Scenario,
    day: u32,
    seed: u64,
    observe: &mut dyn FnMut(&Tick<'_>),
) {
    let day0 = f64::from(day) * 86_400.0;
    let mut today = Today::default();
    // Overnight the drifts move on (a new day is a new draw, partly).
    st.drift.overnight();
    let close = sc.window_close_s.clamp(WINDOW_OPEN_S + 60, WINDOW_CLOSE_S);
    let end = close + DRAIN_S;
    for clock in WINDOW_OPEN_S..end {
        let open = clock < close;
        if (clock - WINDOW_OPEN_S) % 60 == 0 && open {
            // Staffing and answer rate move every minute.
            st.drift.minute(sc, clock, &mut st.d);
        }
        if clock == WINDOW_OPEN_S {
            st.d.set_dialling(true);
        }
        if clock == close {
            st.d.set_dialling(false);
            st.d.set_logged_in(0);
        }
        if open {
            act(st, &today, clock, day, seed, observe);
        }
        let s = st.d.advance_to(day0 + f64::from(clock - WINDOW_OPEN_S + 1));
        record_second(st, &mut today, &s, open);
        if (clock + 1 - WINDOW_OPEN_S) % 60 == 0 {
            st.recent.end_minute();
        }
    }
    // Overnight: nothing runs; the model's clock jumps to the next day.
    st.d.advance_to(day0 + 86_400.0);
    st.recent.clear();
    if today.live > 0 {
        st.m.worst_day_pct =
            st.m.worst_day_pct
                .max(100.0 * today.abandons as f64 / today.live as f64);
    }
}

/// One second inside the window: the policy acts, and on a tuner tick the
/// observer sees the engine's inputs from before it acted and its decision.
fn act(
    st: &mut RunState,
    today: &Today,
    clock: u32,
    day: u32,
    seed: u64,
    observe: &mut dyn FnMut(&Tick<'_>),
) {
    let recent = st.recent.recent();
    let ctx = Ctx {
        clock,
        day,
        recent: &recent,
        period: &st.period,
        today: &today.stats,
        last_minute: st.recent.last_minute(),
    };
    let tick = (clock - WINDOW_OPEN_S) % TUNER_PERIOD_S == 0;
    let before = tick.then(|| engine_inputs(&st.d, &ctx, seed));
    let decision = control(&mut st.ctl, &mut st.d, &ctx, seed, &mut st.m);
    if let Some(inputs) = before {
        observe(&Tick {
            ctx: &ctx,
            dialer: &st.d,
            inputs,
            decision: decision.as_ref(),
        });
    }
}

/// Adds one second's stats to the run's metrics (inside the window, or as
/// dials outside it), to today, the period and the recent windows.
fn record_second(st: &mut RunState, today: &mut Today, s: &IntervalStats, open: bool) {
    if open {
        st.m.window.add(s);
    } else {
        st.m.outside_window_dials += s.dials;
    }
    st.m.live_answers += s.connects + s.abandons;
    st.m.abandons += s.abandons;
    today.live += s.connects + s.abandons;
    today.abandons += s.abandons;
    today.stats.add(s);
    st.period.add(s);
    st.recent.add_second(s);
}

/// The pauses and the mean-reverting drifts (log scale) of the answer rate
/// and of staffing, drawn from the run's environment seed.
struct Drift {
    env: ChaCha8Rng,
    /// Share of the logged-in agents on pause (per seed).
    pause_frac: f64,
    /// Per-minute decay of both drifts.
    decay: f64,
    /// Per-minute shock scale that keeps the drifts' variance stationary.
    shock: f64,
    /// The answer rate's drift.
    answer: f64,
    /// Staffing's drift.
    staff: f64,
}

impl Drift {
    fn new(seed: u64) -> Drift {
        let mut env = ChaCha8Rng::seed_from_u64(mix(seed, 0xE1F));
        let pause_frac = env.random_range(0.05..=0.10);
        let decay = (-1.0 / DRIFT_REVERSION_MIN).exp();
        let shock = (1.0 - decay * decay).sqrt();
        Drift {
            env,
            pause_frac,
            decay,
            shock,
            answer: 0.0,
            staff: 0.0,
        }
    }

    /// The night's move of the answer rate's drift.
    fn overnight(&mut self) {
        let z: f64 = self.env.sample(StandardNormal);
        self.answer = 0.5 * self.answer + ANSWER_DRIFT_SD * 0.87 * z;
    }

    /// A minute's move of both drifts, applied with the profile at `clock`
    /// to the dialler's staffing, pauses and live-answer rate.
    fn minute(&mut self, sc: &Scenario, clock: u32, d: &mut Dialer) {
        let za: f64 = self.env.sample(StandardNormal);
        let zs: f64 = self.env.sample(StandardNormal);
        self.answer = self.decay * self.answer + self.shock * ANSWER_DRIFT_SD * za;
        self.staff = self.decay * self.staff + self.shock * STAFF_DRIFT_SD * zs;
        let (fs, fa) = sc.profile.factors(clock);
        let agents = (f64::from(sc.agents) * fs * self.staff.exp())
            .round()
            .max(1.0) as u32;
        d.model_mut().live_answer_rate =
            (sc.live_rate * fa * self.answer.exp()).clamp(0.0, 1.0 - MACHINE_RATE - BUSY_RATE);
        d.set_logged_in(agents);
        d.set_paused((self.pause_frac * f64::from(agents)).round() as u32);
    }
}

/// Today's recent history: the current minute, the whole minutes before it
/// (fewer than [`RECENT_MINUTES`]) and the last 60 seconds' live answers
/// and abandons.
#[derive(Default)]
struct RecentWindows {
    minute: IntervalStats,
    minutes: VecDeque<IntervalStats>,
    seconds: VecDeque<(u64, u64)>,
}

impl RecentWindows {
    /// The stats of the current minute and the whole minutes before it.
    fn recent(&self) -> IntervalStats {
        let mut r = self.minute;
        for mm in &self.minutes {
            r.add(mm);
        }
        r
    }

    /// Live answers and abandons of the last 60 seconds.
    fn last_minute(&self) -> (u64, u64) {
        self.seconds
            .iter()
            .fold((0, 0), |a, s| (a.0 + s.0, a.1 + s.1))
    }

    /// Adds one second's stats.
    fn add_second(&mut self, s: &IntervalStats) {
        self.minute.add(s);
        self.seconds
            .push_back((s.connects + s.abandons, s.abandons));
        if self.seconds.len() > 60 {
            self.seconds.pop_front();
        }
    }

    /// Closes the current minute.
    fn end_minute(&mut self) {
        self.minutes.push_back(self.minute);
        self.minute = IntervalStats::default();
        if self.minutes.len() >= RECENT_MINUTES {
            self.minutes.pop_front();
        }
    }

    /// Forgets the day (overnight).
    fn clear(&mut self) {
        self.minute = IntervalStats::default();
        self.minutes.clear();
        self.seconds.clear();
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
