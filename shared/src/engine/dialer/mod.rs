//! Discrete-event model of the Personal Connection dialler and its agents.
//!
//! The model is pure: no I/O, no wall clock, and its only randomness is a
//! [`ChaCha8Rng`] seeded by the caller, so a seed and a sequence of calls give
//! the same result on every machine. Time is a plain `f64` number of seconds
//! from the model's own origin (0.0 when it is created).
//!
//! # Semantics (docs/cxone-api.md, "Dialler semantics")
//! - Staffed agents `S = available + working`; agents in ACW and paused
//!   (unavailable) agents are not staffed.
//! - Lines in progress are calls that are ringing, answered and waiting for an
//!   agent, or connected to an agent. While dialling is enabled the dialler
//!   places calls until the lines in progress reach the *target*:
//!   `round(maximumRatio * S)` under [`LinePolicy::Ratio`] (recomputed after
//!   every event, so whenever `S` changes or a call ends), or a number set by an
//!   external controller under [`LinePolicy::Fixed`].
//! - Each dial has an outcome drawn from the [`CallModel`]: a live answer or a
//!   machine after a sampled ring time (a ring reaching `ring_limit_s` is a
//!   no-answer instead), busy after a sampled ring time (capped at the limit),
//!   or no answer at the ring limit.
//! - A live answer takes an Available agent at once; if none is free it waits
//!   up to [`ABANDON_AFTER_S`] seconds (FIFO) for one and is abandoned otherwise.
//! - A connected call holds its agent for a sampled talk time, then ACW for a
//!   sampled wrap time; then the agent is Available again (or logs out /
//!   pauses if staffing asked for that).
//!
//! # Promised agents and progressive dialling
//! An Available agent is *promised* while calls are ringing or waiting:
//! `promised = min(available, ringing + waiting)`. Pauses and log-outs only
//! take unpromised Available agents at once; the rest happen when an agent
//! finishes ACW (or when an Available agent stops being promised). With this
//! rule the invariant `ringing + waiting <= available` holds for ever at
//! `maximumRatio = 1` (lines `<= S` means `ringing + waiting <= available`,
//! and nothing else can lower `available` below the calls it is promised to),
//! so a live answer always finds a free agent: progressive dialling abandons
//! nothing, exactly.
//!
//! # Staffing changes
//! [`Dialer::set_logged_in`] and [`Dialer::set_paused`] set targets. New
//! agents log in Available. Log-outs remove unpromised Available agents first,
//! then paused agents; agents on a call or in ACW leave when their wrap ends.
//!
//! # Users
//! The simulator advances one model per skill along a simulated day; the
//! pacing engine builds a warm model ([`Dialer::warm_start`]) and runs a short
//! horizon many times; policy benchmarks drive [`Dialer::set_target_lines`]
//! or [`Dialer::dial_now`] from their own controller.

mod events;
mod model;
mod stats;

#[cfg(test)]
mod tests;

use std::collections::{BinaryHeap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use events::{Event, EventKind};
pub use model::{CallModel, CallOutcome, CallRecord, DialerError, Dist};
pub use stats::{IntervalStats, Snapshot};

/// Seconds a live answer may wait for an agent before it counts as abandoned
/// (FTC TSR two-second rule).
pub const ABANDON_AFTER_S: f64 = 2.0;

/// Most agents a model holds (larger staffing requests are capped).
pub const MAX_AGENTS: u32 = 100_000;

/// Most lines a policy may ask for, and most calls one [`Dialer::dial_now`] places.
pub const MAX_LINES: u32 = 100_000;

/// The lawful minimum ring time before a call may be given up (seconds).
pub const MIN_RING_LIMIT_S: f64 = 15.0;

/// How the dialler decides how many lines to keep in progress.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LinePolicy {
    /// CXone Personal Connection: `round(ratio * staffed)`.
    Ratio {
        /// `maximumRatio`, lines per staffed agent.
        ratio: f64,
    },
    /// A fixed number of lines set by an external controller.
    Fixed {
        /// Lines in progress to keep.
        lines: u32,
    },
}

/// CXone's rule: the number of lines for a ratio and a staffed-agent count
/// (`round(ratio * staffed)`, never negative).
pub fn cxone_target_lines(ratio: f64, staffed: u32) -> u32 {
    let t = (ratio * f64::from(staffed)).round();
    if t.is_finite() && t > 0.0 {
        if t >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            t as u32
        }
    } else {
        0
    }
}

/// Agents already on a call or in ACW when a warm model starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmState {
    /// Agents logged in.
    pub logged_in: u32,
    /// Of those, agents paused.
    pub paused: u32,
    /// Of those, agents talking (given a residual talk time).
    pub working: u32,
    /// Of those, agents in ACW (given a residual wrap time).
    pub acw: u32,
}

/// The dialler and its agents for one skill.
#[derive(Debug, Clone)]
pub struct Dialer {
    model: CallModel,
    rng: ChaCha8Rng,
    now: f64,
    seq: u64,
    next_call: u64,
    events: BinaryHeap<Event>,
    waiting: VecDeque<(u64, f64)>,
    // Agent counts.
    available: u32,
    working: u32,
    acw: u32,
    unavailable: u32,
    ringing: u32,
    // Staffing targets.
    target_logged_in: u32,
    target_paused: u32,
    policy: LinePolicy,
    dialling: bool,
    stats: IntervalStats,
    record_calls: bool,
    records: Vec<CallRecord>,
    /// While set (only inside [`Dialer::warm_start`]), dials are placed as
    /// lines already in flight: see [`Dialer::dial`].
    in_flight_dials: bool,
}

/// Most draws when sampling a line already in flight (rejection sampling).
const IN_FLIGHT_DRAWS: u32 = 64;

impl Dialer {
    /// A model at time 0 with no agents, ratio 1, dialling enabled, call
    /// records off. The model is used as given; call [`CallModel::validate`]
    /// first if it comes from untrusted input.
    pub fn new(model: CallModel, seed: u64) -> Dialer {
        Dialer {
            model,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0.0,
            seq: 0,
            next_call: 0,
            events: BinaryHeap::with_capacity(256),
            waiting: VecDeque::new(),
            available: 0,
            working: 0,
            acw: 0,
            unavailable: 0,
            ringing: 0,
            target_logged_in: 0,
            target_paused: 0,
            policy: LinePolicy::Ratio { ratio: 1.0 },
            dialling: true,
            stats: IntervalStats::default(),
            record_calls: false,
            records: Vec::new(),
            in_flight_dials: false,
        }
    }

    /// A model at time 0 that starts warm: `warm.working` agents are mid-call
    /// and `warm.acw` agents mid-wrap, each with a residual time drawn as a
    /// uniform fraction of a fresh sample (a cheap stand-in for the
    /// stationary residual); the rest of the logged-in agents are paused
    /// (`warm.paused`) or Available. Counts that do not fit are trimmed
    /// (paused first, then ACW, then working). Dialling starts at once under
    /// `policy`.
    pub fn warm_start(model: CallModel, seed: u64, warm: WarmState, policy: LinePolicy) -> Dialer {
        let mut d = Dialer::new(model, seed);
        d.policy = policy;
        let logged_in = warm.logged_in.min(MAX_AGENTS);
        let working = warm.working.min(logged_in);
        let acw = warm.acw.min(logged_in - working);
        let paused = warm.paused.min(logged_in - working - acw);
        d.target_logged_in = logged_in;
        d.target_paused = paused;
        d.working = working;
        d.acw = acw;
        d.unavailable = paused;
        d.available = logged_in - working - acw - paused;
        for _ in 0..working {
            d.next_call += 1;
            let call = d.next_call;
            let talk = d.model.talk.sample(&mut d.rng) * d.rng.random::<f64>();
            d.push(
                talk,
                EventKind::TalkEnd {
                    call,
                    dialed_at: 0.0,
                    talk,
                },
            );
        }
        for _ in 0..acw {
            d.next_call += 1;
            let call = d.next_call;
            let wrap = d.model.wrap.sample(&mut d.rng) * d.rng.random::<f64>();
            d.push(
                wrap,
                EventKind::WrapEnd {
                    call,
                    dialed_at: 0.0,
                    talk: 0.0,
                    wrap,
                    counted: false,
                },
            );
        }
        // The lines the warm model starts with are calls already in flight,
        // not a wave dialled at one instant (a wave would ring out together
        // and redial together, clumping answers and abandons).
        d.in_flight_dials = true;
        d.settle();
        d.in_flight_dials = false;
        d
    }

    /// The call model in force.
    pub fn model(&self) -> &CallModel {
        &self.model
    }

    /// Replaces the random stream from now on (what-if replays of one state
    /// under many seeds: clone the dialler, reseed each copy).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Changes the call model for calls dialled from now on (calls already
    /// ringing or connected keep what they drew).
    pub fn set_model(&mut self, model: CallModel) {
        self.model = model;
    }

    /// Mutable access to the call model (same rule as [`Dialer::set_model`]).
    pub fn model_mut(&mut self) -> &mut CallModel {
        &mut self.model
    }

    /// Model time now, seconds.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Sets how many agents should be logged in. New agents arrive Available;
    /// leavers are unpromised Available agents first, then paused agents,
    /// then agents finishing ACW.
    pub fn set_logged_in(&mut self, n: u32) {
        let n = n.min(MAX_AGENTS);
        self.target_logged_in = n;
        self.target_paused = self.target_paused.min(n);
        self.settle();
    }

    /// Sets how many logged-in agents should be paused (Unavailable). Pauses
    /// take unpromised Available agents at once, otherwise agents finishing ACW.
    pub fn set_paused(&mut self, n: u32) {
        self.target_paused = n.min(self.target_logged_in);
        self.settle();
    }

    /// CXone pacing: keep `round(ratio * staffed)` lines in progress (a NaN or
    /// infinite ratio counts as 0: no new dials).
    pub fn set_max_ratio(&mut self, ratio: f64) {
        self.policy = LinePolicy::Ratio {
            ratio: if ratio.is_finite() {
                ratio.max(0.0)
            } else {
                0.0
            },
        };
        self.settle();
    }

    /// External controller: keep `lines` lines in progress.
    pub fn set_target_lines(&mut self, lines: u32) {
        self.policy = LinePolicy::Fixed { lines };
        self.settle();
    }

    /// Sets the line policy directly.
    pub fn set_policy(&mut self, policy: LinePolicy) {
        match policy {
            LinePolicy::Ratio { ratio } => self.set_max_ratio(ratio),
            LinePolicy::Fixed { lines } => self.set_target_lines(lines),
        }
    }

    /// The line policy in force.
    pub fn policy(&self) -> LinePolicy {
        self.policy
    }

    /// Switches dialling on or off. Calls in progress finish either way.
    pub fn set_dialling(&mut self, on: bool) {
        self.dialling = on;
        self.settle();
    }

    /// Sets the ring limit (`maximumRingingDuration`) for calls dialled from now on.
    pub fn set_ring_limit(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.model.ring_limit_s = seconds;
        }
    }

    /// Turns per-call completion records on or off (off by default, so fast
    /// repeated simulations allocate nothing per call).
    pub fn set_record_calls(&mut self, on: bool) {
        self.record_calls = on;
    }

    /// Takes the completion records gathered since the last call.
    pub fn drain_completed(&mut self) -> Vec<CallRecord> {
        std::mem::take(&mut self.records)
    }

    /// Places `n` calls now regardless of the line policy or the dialling
    /// switch (for controllers that decide dials, not lines).
    pub fn dial_now(&mut self, n: u32) {
        for _ in 0..n.min(MAX_LINES) {
            self.dial();
        }
    }

    /// Lines the policy asks for right now (at most [`MAX_LINES`]).
    pub fn target_lines(&self) -> u32 {
        let t = match self.policy {
            LinePolicy::Ratio { ratio } => cxone_target_lines(ratio, self.staffed()),
            LinePolicy::Fixed { lines } => lines,
        };
        t.min(MAX_LINES)
    }

    /// Current state counts.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            time: self.now,
            logged_in: self.logged_in(),
            available: self.available,
            working: self.working,
            acw: self.acw,
            unavailable: self.unavailable,
            staffed: self.staffed(),
            ringing: self.ringing,
            waiting: self.waiting_len(),
            lines: self.lines(),
            target_lines: if self.dialling {
                self.target_lines()
            } else {
                0
            },
            dialling: self.dialling,
        }
    }

    /// Runs the model up to time `t` (seconds; earlier times do nothing) and
    /// returns the stats accumulated since the previous `advance_to`.
    pub fn advance_to(&mut self, t: f64) -> IntervalStats {
        if t.is_finite() && t > self.now {
            while let Some(ev) = self.events.peek() {
                if ev.time > t {
                    break;
                }
                let Some(ev) = self.events.pop() else { break };
                self.integrate(ev.time);
                self.handle(ev);
                self.settle();
            }
            self.integrate(t);
        }
        std::mem::take(&mut self.stats)
    }
}
