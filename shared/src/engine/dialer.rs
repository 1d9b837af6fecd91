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

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Seconds a live answer may wait for an agent before it counts as abandoned
/// (FTC TSR two-second rule).
pub const ABANDON_AFTER_S: f64 = 2.0;

/// Most agents a model holds (larger staffing requests are capped).
pub const MAX_AGENTS: u32 = 100_000;

/// Most lines a policy may ask for, and most calls one [`Dialer::dial_now`] places.
pub const MAX_LINES: u32 = 100_000;

/// The lawful minimum ring time before a call may be given up (seconds).
pub const MIN_RING_LIMIT_S: f64 = 15.0;

/// A non-negative duration distribution, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Dist {
    /// Log-normal with the given mean and coefficient of variation (sd / mean).
    LogNormal {
        /// Mean in seconds.
        mean: f64,
        /// Coefficient of variation (standard deviation divided by mean).
        cv: f64,
    },
    /// Uniform between `min` and `max` seconds.
    Uniform {
        /// Lower bound in seconds.
        min: f64,
        /// Upper bound in seconds.
        max: f64,
    },
    /// Always the same value.
    Fixed {
        /// The value in seconds.
        value: f64,
    },
}

impl Dist {
    /// Draws one value (never negative, never NaN: bad parameters give 0).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match *self {
            Dist::LogNormal { mean, cv } => {
                if mean.is_nan() || mean <= 0.0 {
                    0.0
                } else if cv.is_nan() || cv <= 0.0 {
                    mean
                } else {
                    let s2 = (cv * cv).ln_1p();
                    let mu = mean.ln() - s2 / 2.0;
                    let z: f64 = rng.sample(StandardNormal);
                    (mu + s2.sqrt() * z).exp()
                }
            }
            Dist::Uniform { min, max } => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                lo + (hi - lo) * rng.random::<f64>()
            }
            Dist::Fixed { value } => value,
        };
        if v.is_finite() && v > 0.0 {
            v
        } else {
            0.0
        }
    }

    /// The distribution's mean in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::LogNormal { mean, .. } => mean.max(0.0),
            Dist::Uniform { min, max } => ((min + max) / 2.0).max(0.0),
            Dist::Fixed { value } => value.max(0.0),
        }
    }

    /// Checks that the parameters are finite and non-negative.
    pub fn validate(&self) -> Result<(), DialerError> {
        let ok = match *self {
            Dist::LogNormal { mean, cv } => {
                mean.is_finite() && mean >= 0.0 && cv.is_finite() && cv >= 0.0
            }
            Dist::Uniform { min, max } => {
                min.is_finite() && max.is_finite() && min >= 0.0 && max >= min
            }
            Dist::Fixed { value } => value.is_finite() && value >= 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(DialerError::InvalidDist(*self))
        }
    }
}

/// Errors from validating a [`CallModel`] or [`Dist`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DialerError {
    /// A distribution has negative, infinite or NaN parameters.
    #[error("invalid distribution {0:?}")]
    InvalidDist(Dist),
    /// A probability is outside 0..=1 or the outcome probabilities sum above 1.
    #[error("invalid probability: {0}")]
    InvalidProbability(String),
    /// The ring limit is not a finite positive number.
    #[error("invalid ring limit {0}")]
    InvalidRingLimit(f64),
}

/// What happens to dials and connected calls.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallModel {
    /// Probability that a dial is answered by a person.
    pub live_answer_rate: f64,
    /// Probability that a dial is answered by a machine.
    pub machine_rate: f64,
    /// Probability that a dial gets a busy signal (the rest is no answer).
    pub busy_rate: f64,
    /// Time from dial to answer / busy signal.
    pub ring: Dist,
    /// Talk time of a connected call.
    pub talk: Dist,
    /// After-call work time.
    pub wrap: Dist,
    /// Ring limit (CXone `maximumRingingDuration`), seconds.
    pub ring_limit_s: f64,
    /// Probability that a connected call ends in success (disposition).
    pub success_rate: f64,
}

impl Default for CallModel {
    fn default() -> Self {
        CallModel {
            live_answer_rate: 0.2,
            machine_rate: 0.15,
            busy_rate: 0.05,
            ring: Dist::LogNormal { mean: 9.0, cv: 0.5 },
            talk: Dist::LogNormal {
                mean: 150.0,
                cv: 0.7,
            },
            wrap: Dist::LogNormal {
                mean: 25.0,
                cv: 0.5,
            },
            ring_limit_s: 20.0,
            success_rate: 0.3,
        }
    }
}

impl CallModel {
    /// Checks probabilities (each in 0..=1, answer outcomes summing to at most
    /// 1), distributions and the ring limit.
    pub fn validate(&self) -> Result<(), DialerError> {
        for (name, p) in [
            ("liveAnswerRate", self.live_answer_rate),
            ("machineRate", self.machine_rate),
            ("busyRate", self.busy_rate),
            ("successRate", self.success_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(DialerError::InvalidProbability(format!(
                    "{name} = {p} is outside 0..=1"
                )));
            }
        }
        let sum = self.live_answer_rate + self.machine_rate + self.busy_rate;
        if sum > 1.0 + 1e-9 {
            return Err(DialerError::InvalidProbability(format!(
                "liveAnswerRate + machineRate + busyRate = {sum} exceeds 1"
            )));
        }
        self.ring.validate()?;
        self.talk.validate()?;
        self.wrap.validate()?;
        if !(self.ring_limit_s.is_finite() && self.ring_limit_s > 0.0) {
            return Err(DialerError::InvalidRingLimit(self.ring_limit_s));
        }
        Ok(())
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Connected, talked, wrapped: a successful disposition.
    Success,
    /// Connected, talked, wrapped: an unsuccessful disposition.
    Failure,
    /// A live answer that found no agent within two seconds.
    Abandoned,
    /// Nobody answered within the ring limit.
    NoAnswer,
    /// An answering machine.
    Machine,
    /// Busy signal.
    Busy,
}

impl CallOutcome {
    /// The outcome's wire name (`success`, `failure`, `abandoned`, `no_answer`, `machine`, `busy`).
    pub fn as_str(&self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::Failure => "failure",
            CallOutcome::Abandoned => "abandoned",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Machine => "machine",
            CallOutcome::Busy => "busy",
        }
    }
}

/// One finished call (recorded only when [`Dialer::set_record_calls`] is on).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Sequence number of the dial in this model (1-based, unique).
    pub contact_id: u64,
    /// How the call ended.
    pub outcome: CallOutcome,
    /// Model time of the dial, seconds.
    pub dialed_at: f64,
    /// Model time the contact completed (ring end, abandon, or wrap end), seconds.
    pub ended_at: f64,
    /// Talk time (0 unless connected).
    pub talk_seconds: f64,
    /// Wrap time (0 unless connected).
    pub wrap_seconds: f64,
}

/// Counters and time-weighted agent seconds over an interval.
///
/// Agent-second fields integrate the number of agents in a state over time, so
/// `logged_in = idle + talk + wrap + unavailable` and
/// `staffed = idle + talk` hold for every interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalStats {
    /// Calls placed.
    pub dials: u64,
    /// Dials answered by a person.
    pub live_answers: u64,
    /// Live answers connected to an agent.
    pub connects: u64,
    /// Live answers abandoned (no agent within two seconds).
    pub abandons: u64,
    /// Dials answered by a machine.
    pub machines: u64,
    /// Dials that were busy.
    pub busy: u64,
    /// Dials nobody answered within the ring limit.
    pub no_answers: u64,
    /// Connected calls that finished wrap with a successful disposition.
    pub successes: u64,
    /// Connected calls that finished wrap with an unsuccessful disposition.
    pub failures: u64,
    /// Talk time of the calls that finished wrap in the interval, seconds.
    pub handled_talk_seconds: f64,
    /// Wrap time of the calls that finished wrap in the interval, seconds.
    pub handled_wrap_seconds: f64,
    /// Agent-seconds spent talking.
    pub talk_seconds: f64,
    /// Agent-seconds spent in ACW.
    pub wrap_seconds: f64,
    /// Agent-seconds spent Available (idle).
    pub idle_agent_seconds: f64,
    /// Agent-seconds staffed (Available or talking).
    pub staffed_agent_seconds: f64,
    /// Agent-seconds paused (Unavailable, not ACW).
    pub unavailable_agent_seconds: f64,
    /// Agent-seconds logged in.
    pub logged_in_agent_seconds: f64,
    /// Line-seconds of calls in progress (ringing, waiting or connected).
    pub line_seconds: f64,
}

impl IntervalStats {
    /// Adds another interval's counters into this one.
    pub fn add(&mut self, o: &IntervalStats) {
        self.dials += o.dials;
        self.live_answers += o.live_answers;
        self.connects += o.connects;
        self.abandons += o.abandons;
        self.machines += o.machines;
        self.busy += o.busy;
        self.no_answers += o.no_answers;
        self.successes += o.successes;
        self.failures += o.failures;
        self.handled_talk_seconds += o.handled_talk_seconds;
        self.handled_wrap_seconds += o.handled_wrap_seconds;
        self.talk_seconds += o.talk_seconds;
        self.wrap_seconds += o.wrap_seconds;
        self.idle_agent_seconds += o.idle_agent_seconds;
        self.staffed_agent_seconds += o.staffed_agent_seconds;
        self.unavailable_agent_seconds += o.unavailable_agent_seconds;
        self.logged_in_agent_seconds += o.logged_in_agent_seconds;
        self.line_seconds += o.line_seconds;
    }

    /// Share of staffed time spent talking (0 when nobody was staffed).
    pub fn utilisation(&self) -> f64 {
        if self.staffed_agent_seconds > 0.0 {
            self.talk_seconds / self.staffed_agent_seconds
        } else {
            0.0
        }
    }

    /// Abandons per live answer that reached an outcome (`abandons / (connects + abandons)`).
    pub fn abandon_rate(&self) -> f64 {
        let live = self.connects + self.abandons;
        if live > 0 {
            self.abandons as f64 / live as f64
        } else {
            0.0
        }
    }
}

/// Current state counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Model time, seconds.
    pub time: f64,
    /// Agents logged in (available + working + acw + unavailable).
    pub logged_in: u32,
    /// Agents Available (idle).
    pub available: u32,
    /// Agents talking on a call.
    pub working: u32,
    /// Agents in after-call work.
    pub acw: u32,
    /// Agents paused (Unavailable, not ACW).
    pub unavailable: u32,
    /// Staffed agents (available + working).
    pub staffed: u32,
    /// Calls ringing.
    pub ringing: u32,
    /// Live answers waiting for an agent.
    pub waiting: u32,
    /// Lines in progress (ringing + waiting + working).
    pub lines: u32,
    /// Lines the dialler aims at now.
    pub target_lines: u32,
    /// Whether the dialler is placing calls.
    pub dialling: bool,
}

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

#[derive(Debug, Clone, Copy)]
enum EventKind {
    RingEnd {
        call: u64,
        dialed_at: f64,
        outcome: RingOutcome,
    },
    AbandonCheck {
        call: u64,
        dialed_at: f64,
    },
    TalkEnd {
        call: u64,
        dialed_at: f64,
        talk: f64,
    },
    /// `counted` is false for warm-start ACW agents, which have no call behind them.
    WrapEnd {
        call: u64,
        dialed_at: f64,
        talk: f64,
        wrap: f64,
        counted: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RingOutcome {
    Live,
    Machine,
    Busy,
    NoAnswer,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    time: f64,
    seq: u64,
    kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest event,
    /// ties broken by scheduling order.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
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

    // ----- internals -------------------------------------------------------

    fn logged_in(&self) -> u32 {
        self.available + self.working + self.acw + self.unavailable
    }

    fn staffed(&self) -> u32 {
        self.available + self.working
    }

    fn waiting_len(&self) -> u32 {
        u32::try_from(self.waiting.len()).unwrap_or(u32::MAX)
    }

    fn lines(&self) -> u32 {
        self.ringing + self.waiting_len() + self.working
    }

    /// Available agents not promised to a ringing or waiting call.
    fn free_available(&self) -> u32 {
        self.available
            .saturating_sub(self.ringing + self.waiting_len())
    }

    fn push(&mut self, delay: f64, kind: EventKind) {
        self.seq += 1;
        self.events.push(Event {
            time: self.now + delay.max(0.0),
            seq: self.seq,
            kind,
        });
    }

    fn integrate(&mut self, t: f64) {
        let dt = t - self.now;
        if dt > 0.0 {
            let logged_in = f64::from(self.logged_in());
            let lines = f64::from(self.lines());
            let s = &mut self.stats;
            s.talk_seconds += dt * f64::from(self.working);
            s.wrap_seconds += dt * f64::from(self.acw);
            s.idle_agent_seconds += dt * f64::from(self.available);
            s.staffed_agent_seconds += dt * f64::from(self.available + self.working);
            s.unavailable_agent_seconds += dt * f64::from(self.unavailable);
            s.logged_in_agent_seconds += dt * logged_in;
            s.line_seconds += dt * lines;
            self.now = t;
        }
    }

    fn record(&mut self, rec: CallRecord) {
        if self.record_calls {
            self.records.push(rec);
        }
    }

    /// One dial's ring time and outcome under the model.
    fn draw_ring(&mut self) -> (f64, RingOutcome) {
        let m = self.model;
        let u: f64 = self.rng.random();
        let limit = m.ring_limit_s.max(f64::MIN_POSITIVE);
        if u < m.live_answer_rate + m.machine_rate {
            let ring = m.ring.sample(&mut self.rng);
            let kind = if u < m.live_answer_rate {
                RingOutcome::Live
            } else {
                RingOutcome::Machine
            };
            if ring >= limit {
                (limit, RingOutcome::NoAnswer)
            } else {
                (ring, kind)
            }
        } else if u < m.live_answer_rate + m.machine_rate + m.busy_rate {
            (m.ring.sample(&mut self.rng).min(limit), RingOutcome::Busy)
        } else {
            (limit, RingOutcome::NoAnswer)
        }
    }

    /// Places a call. A line already in flight (warm start) is a
    /// length-biased draw (a line seen at a random instant is more likely a
    /// long one: accepted with probability ring time / limit) with a uniform
    /// share of its ring time left, the stationary state of a line that has
    /// been redialling for a while.
    fn dial(&mut self) {
        self.next_call += 1;
        let call = self.next_call;
        self.stats.dials += 1;
        self.ringing += 1;
        let (delay, outcome) = if self.in_flight_dials {
            let limit = self.model.ring_limit_s.max(f64::MIN_POSITIVE);
            let mut drawn = self.draw_ring();
            for _ in 1..IN_FLIGHT_DRAWS {
                if self.rng.random::<f64>() * limit < drawn.0 {
                    break;
                }
                drawn = self.draw_ring();
            }
            (drawn.0 * self.rng.random::<f64>(), drawn.1)
        } else {
            self.draw_ring()
        };
        let dialed_at = self.now;
        self.push(
            delay,
            EventKind::RingEnd {
                call,
                dialed_at,
                outcome,
            },
        );
    }

    fn simple_end(&mut self, call: u64, dialed_at: f64, outcome: CallOutcome) {
        self.record(CallRecord {
            contact_id: call,
            outcome,
            dialed_at,
            ended_at: self.now,
            talk_seconds: 0.0,
            wrap_seconds: 0.0,
        });
    }

    fn connect(&mut self, call: u64, dialed_at: f64) {
        self.available -= 1;
        self.working += 1;
        self.stats.connects += 1;
        let talk = self.model.talk.sample(&mut self.rng);
        self.push(
            talk,
            EventKind::TalkEnd {
                call,
                dialed_at,
                talk,
            },
        );
    }

    fn handle(&mut self, ev: Event) {
        match ev.kind {
            EventKind::RingEnd {
                call,
                dialed_at,
                outcome,
            } => {
                self.ringing = self.ringing.saturating_sub(1);
                match outcome {
                    RingOutcome::Live => {
                        self.stats.live_answers += 1;
                        if self.waiting.is_empty() && self.available > 0 {
                            self.connect(call, dialed_at);
                        } else {
                            self.waiting.push_back((call, dialed_at));
                            self.push(ABANDON_AFTER_S, EventKind::AbandonCheck { call, dialed_at });
                        }
                    }
                    RingOutcome::Machine => {
                        self.stats.machines += 1;
                        self.simple_end(call, dialed_at, CallOutcome::Machine);
                    }
                    RingOutcome::Busy => {
                        self.stats.busy += 1;
                        self.simple_end(call, dialed_at, CallOutcome::Busy);
                    }
                    RingOutcome::NoAnswer => {
                        self.stats.no_answers += 1;
                        self.simple_end(call, dialed_at, CallOutcome::NoAnswer);
                    }
                }
            }
            EventKind::AbandonCheck { call, dialed_at } => {
                // Waiting calls are served and abandoned in FIFO order, so the
                // call is still waiting exactly when it is at the front.
                if self.waiting.front().map(|w| w.0) == Some(call) {
                    self.waiting.pop_front();
                    self.stats.abandons += 1;
                    self.simple_end(call, dialed_at, CallOutcome::Abandoned);
                }
            }
            EventKind::TalkEnd {
                call,
                dialed_at,
                talk,
            } => {
                self.working = self.working.saturating_sub(1);
                self.acw += 1;
                let wrap = self.model.wrap.sample(&mut self.rng);
                self.push(
                    wrap,
                    EventKind::WrapEnd {
                        call,
                        dialed_at,
                        talk,
                        wrap,
                        counted: true,
                    },
                );
            }
            EventKind::WrapEnd {
                call,
                dialed_at,
                talk,
                wrap,
                counted,
            } => {
                self.acw = self.acw.saturating_sub(1);
                // `logged_in()` no longer includes this agent.
                if self.logged_in() >= self.target_logged_in {
                    // Staffing is at or above target without this agent: it logs out.
                } else if self.unavailable < self.target_paused {
                    self.unavailable += 1;
                } else {
                    self.available += 1;
                }
                if counted {
                    let success = self.rng.random::<f64>() < self.model.success_rate;
                    if success {
                        self.stats.successes += 1;
                    } else {
                        self.stats.failures += 1;
                    }
                    self.stats.handled_talk_seconds += talk;
                    self.stats.handled_wrap_seconds += wrap;
                    self.record(CallRecord {
                        contact_id: call,
                        outcome: if success {
                            CallOutcome::Success
                        } else {
                            CallOutcome::Failure
                        },
                        dialed_at,
                        ended_at: self.now,
                        talk_seconds: talk,
                        wrap_seconds: wrap,
                    });
                }
            }
        }
    }

    /// Brings staffing towards its targets, serves waiting calls, then dials
    /// up to the target lines.
    fn settle(&mut self) {
        // Log-ins and log-outs.
        let logged_in = self.logged_in();
        if logged_in < self.target_logged_in {
            self.available += self.target_logged_in - logged_in;
        } else if logged_in > self.target_logged_in {
            let mut excess = logged_in - self.target_logged_in;
            let take = excess.min(self.free_available());
            self.available -= take;
            excess -= take;
            let take = excess.min(self.unavailable);
            self.unavailable -= take;
        }
        // Pauses and un-pauses.
        if self.unavailable > self.target_paused {
            let back = self.unavailable - self.target_paused;
            self.unavailable -= back;
            self.available += back;
        } else if self.unavailable < self.target_paused {
            let take = (self.target_paused - self.unavailable).min(self.free_available());
            self.available -= take;
            self.unavailable += take;
        }
        // Waiting calls take any Available agent.
        while self.available > 0 {
            let Some((call, dialed_at)) = self.waiting.pop_front() else {
                break;
            };
            self.connect(call, dialed_at);
        }
        // Dial up to the target.
        if self.dialling {
            let target = self.target_lines();
            while self.lines() < target {
                self.dial();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(live: f64) -> CallModel {
        CallModel {
            live_answer_rate: live,
            ..CallModel::default()
        }
    }

    /// Drives a model through a busy staffing pattern: log-ins, log-outs and
    /// pauses changing every 30 s, checking the progressive invariant.
    fn busy_day(seed: u64, ratio: f64, check_invariant: bool) -> IntervalStats {
        let mut d = Dialer::new(model(0.3), seed);
        d.set_max_ratio(ratio);
        let mut total = IntervalStats::default();
        let mut staff_rng = ChaCha8Rng::seed_from_u64(seed ^ 0xABCD);
        for step in 0..240u32 {
            let n = staff_rng.random_range(3..30u32);
            d.set_logged_in(n);
            d.set_paused(staff_rng.random_range(0..=n / 3));
            if step % 17 == 0 {
                d.set_dialling(step % 34 != 0);
            }
            for k in 1..=30u32 {
                total.add(&d.advance_to(f64::from(step * 30 + k)));
                if check_invariant {
                    let s = d.snapshot();
                    assert!(
                        s.ringing + s.waiting <= s.available,
                        "invariant broken at {s:?}"
                    );
                }
            }
        }
        total
    }

    #[test]
    fn ratio_one_never_abandons() {
        for seed in [1, 2, 3, 42, 1234, 99_999] {
            let s = busy_day(seed, 1.0, true);
            assert!(s.dials > 500, "seed {seed}: only {} dials", s.dials);
            assert!(s.connects > 50, "seed {seed}: only {} connects", s.connects);
            assert_eq!(
                s.abandons, 0,
                "seed {seed}: progressive dialling abandoned calls"
            );
            assert_eq!(s.live_answers, s.connects, "seed {seed}");
        }
    }

    #[test]
    fn higher_ratio_gives_more_utilisation_and_abandons() {
        let run = |ratio: f64| {
            let mut total = IntervalStats::default();
            for seed in 0..4 {
                let mut d = Dialer::new(model(0.2), seed);
                d.set_logged_in(20);
                d.set_max_ratio(ratio);
                total.add(&d.advance_to(3600.0));
            }
            total
        };
        let low = run(1.0);
        let high = run(3.0);
        assert_eq!(low.abandons, 0);
        assert!(high.abandons > 0);
        assert!(
            high.utilisation() > low.utilisation() + 0.05,
            "{} vs {}",
            high.utilisation(),
            low.utilisation()
        );
        assert!(high.dials > low.dials);
    }

    #[test]
    fn same_seed_same_result() {
        let a = busy_day(7, 2.0, false);
        let b = busy_day(7, 2.0, false);
        let c = busy_day(8, 2.0, false);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn agent_seconds_add_up() {
        let s = busy_day(5, 2.0, false);
        let sum =
            s.idle_agent_seconds + s.talk_seconds + s.wrap_seconds + s.unavailable_agent_seconds;
        assert!(
            (s.logged_in_agent_seconds - sum).abs() < 1e-6 * s.logged_in_agent_seconds.max(1.0)
        );
        let staffed = s.idle_agent_seconds + s.talk_seconds;
        assert!((s.staffed_agent_seconds - staffed).abs() < 1e-6 * staffed.max(1.0));

        // Constant staffing: logged-in agent-seconds are exactly agents x time.
        let mut d = Dialer::new(model(0.25), 11);
        d.set_dialling(false);
        d.set_logged_in(12);
        d.set_paused(2);
        d.set_max_ratio(1.8);
        d.set_dialling(true);
        let mut total = IntervalStats::default();
        for minute in 1..=30 {
            total.add(&d.advance_to(f64::from(minute) * 60.0));
        }
        assert!((total.logged_in_agent_seconds - 12.0 * 1800.0).abs() < 1e-6);
        assert!((total.unavailable_agent_seconds - 2.0 * 1800.0).abs() < 1e-6);
    }

    #[test]
    fn records_cover_every_dial_once_calls_drain() {
        let mut d = Dialer::new(model(0.3), 3);
        d.set_record_calls(true);
        d.set_logged_in(10);
        d.set_max_ratio(2.0);
        let mut total = d.advance_to(1800.0);
        d.set_dialling(false);
        total.add(&d.advance_to(1800.0 + 4.0 * 3600.0));
        let recs = d.drain_completed();
        assert_eq!(recs.len() as u64, total.dials);
        let mut ids: Vec<u64> = recs.iter().map(|r| r.contact_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), recs.len());
        let count = |o: CallOutcome| recs.iter().filter(|r| r.outcome == o).count() as u64;
        assert_eq!(count(CallOutcome::Abandoned), total.abandons);
        assert_eq!(
            count(CallOutcome::Success) + count(CallOutcome::Failure),
            total.connects
        );
        assert_eq!(total.connects + total.abandons, total.live_answers);
        let s = d.snapshot();
        assert_eq!((s.ringing, s.waiting, s.working, s.acw), (0, 0, 0, 0));
        assert_eq!(s.available, 10);
    }

    #[test]
    fn logouts_take_idle_agents_first_and_talkers_after_their_call() {
        let m = CallModel {
            machine_rate: 0.0,
            busy_rate: 0.0,
            ring: Dist::Fixed { value: 5.0 },
            talk: Dist::Fixed { value: 100.0 },
            wrap: Dist::Fixed { value: 10.0 },
            ..model(1.0)
        };
        let mut d = Dialer::new(m, 1);
        d.set_target_lines(4);
        d.set_logged_in(10);
        d.advance_to(50.0);
        let s = d.snapshot();
        assert_eq!(s.working, 4);
        d.set_dialling(false);
        d.set_logged_in(2);
        let s = d.snapshot();
        assert_eq!(
            s.logged_in, 4,
            "idle agents leave at once, talkers stay: {s:?}"
        );
        assert_eq!(s.working, 4);
        d.advance_to(500.0);
        let s = d.snapshot();
        assert_eq!(s.logged_in, 2);
        assert_eq!(s.available, 2);
    }

    #[test]
    fn absurd_requests_are_capped() {
        let mut d = Dialer::new(model(0.2), 1);
        d.set_logged_in(u32::MAX);
        d.set_paused(u32::MAX);
        assert_eq!(d.snapshot().logged_in, MAX_AGENTS);
        d.set_paused(0);
        d.set_target_lines(u32::MAX);
        assert_eq!(d.snapshot().lines, MAX_LINES);
        d.set_max_ratio(f64::INFINITY);
        assert_eq!(d.snapshot().lines, MAX_LINES);
    }

    #[test]
    fn fixed_lines_policy_keeps_lines() {
        let mut d = Dialer::new(model(0.1), 9);
        d.set_logged_in(5);
        d.set_target_lines(12);
        for t in 1..100 {
            d.advance_to(f64::from(t) * 7.0);
            assert_eq!(d.snapshot().lines, 12);
        }
        assert_eq!(cxone_target_lines(1.5, 3), 5);
        assert_eq!(cxone_target_lines(1.0, 0), 0);
        assert_eq!(cxone_target_lines(f64::NAN, 4), 0);
    }

    #[test]
    fn warm_start_and_validation() {
        let m = CallModel::default();
        assert!(m.validate().is_ok());
        assert!(CallModel {
            live_answer_rate: 0.9,
            machine_rate: 0.2,
            ..m
        }
        .validate()
        .is_err());
        assert!(CallModel {
            talk: Dist::Fixed { value: -1.0 },
            ..m
        }
        .validate()
        .is_err());
        let warm = WarmState {
            logged_in: 200,
            paused: 10,
            working: 150,
            acw: 20,
        };
        let mut d = Dialer::warm_start(m, 4, warm, LinePolicy::Ratio { ratio: 2.0 });
        let s = d.snapshot();
        assert_eq!(
            (s.logged_in, s.unavailable, s.working, s.acw),
            (200, 10, 150, 20)
        );
        assert_eq!(s.lines, cxone_target_lines(2.0, s.staffed));
        let stats = d.advance_to(300.0);
        assert!(stats.connects > 100);
    }

    #[test]
    fn dist_samples_are_sane() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let d = Dist::LogNormal {
            mean: 100.0,
            cv: 0.5,
        };
        let n = 20_000;
        let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / f64::from(n);
        assert!((mean - 100.0).abs() < 3.0, "{mean}");
        let u = Dist::Uniform { min: 5.0, max: 6.0 };
        assert!((0..100)
            .map(|_| u.sample(&mut rng))
            .all(|v| (5.0..=6.0).contains(&v)));
        assert_eq!(Dist::Fixed { value: 3.0 }.sample(&mut rng), 3.0);
        let j: Dist = serde_json::from_str(r#"{"kind":"logNormal","mean":120,"cv":0.6}"#).unwrap();
        assert_eq!(
            j,
            Dist::LogNormal {
                mean: 120.0,
                cv: 0.6
            }
        );
    }
}
