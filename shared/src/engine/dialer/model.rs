//! The call model: duration distributions, outcome probabilities, and
//! what one finished call looks like.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

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
